package v1alpha1

import "strings"

// SameImage is true when two image references name the same image once
// Docker's defaults are filled in: kubiya/kubectl is
// docker.io/kubiya/kubectl:latest.
func SameImage(a, b string) bool {
	return a != "" && NormalizeImage(a) == NormalizeImage(b)
}

// NormalizeImage spells an image reference out in full.
func NormalizeImage(ref string) string {
	ref = strings.TrimSpace(ref)
	name, digest, hasDigest := strings.Cut(ref, "@")
	repo, tag := name, ""
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		repo, tag = name[:i], name[i+1:]
	}
	first, _, _ := strings.Cut(repo, "/")
	if !strings.Contains(repo, "/") || (!strings.ContainsAny(first, ".:") && first != "localhost") {
		repo = "docker.io/" + repo
	}
	if rest, ok := strings.CutPrefix(repo, "docker.io/"); ok && !strings.Contains(rest, "/") {
		repo = "docker.io/library/" + rest
	}
	if hasDigest {
		return repo + "@" + digest
	}
	if tag == "" {
		tag = "latest"
	}
	return repo + ":" + tag
}
