package folder

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Kustomize fetches anything that looks like a URL by itself: it clones
// git URLs with the git binary onto the real disk, and reads http(s) files
// with a default HTTP client, with no timeout or size limit. krusty offers
// no way to give it another loader, and an in-memory file system stops
// neither. So every kustomization is checked at the moment kustomize reads
// it (guardFS), before it acts on any of its entries: a build that names
// anything remote never starts the fetch.
//
// What is checked is every string of a kustomization, and of each plugin
// configuration it names, except under keys known to hold values rather
// than paths (labels, literals, inline patches, selectors): a field that a
// future kustomize adds is checked too. Plugin configurations must be
// files or inline: a directory of them is a kustomization whose output
// (patched, or filled in by replacements) is computed during the build,
// where no check can see it.

// RefusedError is a kustomization entry that krt will not build, located
// in the file that holds it.
type RefusedError struct {
	File   string
	Line   int
	Reason string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Reason)
}

// userAtRE is kustomize's test for an SCP-style git URL (user@host:path).
var userAtRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]*@`)

// isRemote reports whether kustomize could treat ref as a URL. It is
// deliberately broader than kustomize's own parser: refusing an odd local
// name is harmless, following a URL is not.
func isRemote(ref string) bool {
	s := strings.ToLower(strings.TrimSpace(ref))
	return strings.Contains(s, "://") ||
		strings.HasPrefix(s, "git::") ||
		strings.HasPrefix(s, "github.com/") ||
		strings.HasPrefix(s, "github.com:") ||
		userAtRE.MatchString(strings.TrimSpace(ref))
}

// valueKeys hold values kustomize never loads anything from. A URL there
// is data (an annotation, a literal, an inline patch's value).
var valueKeys = map[string]bool{
	"apiVersion": true, "kind": true, "metadata": true,
	"namespace": true, "namePrefix": true, "nameSuffix": true,
	"commonLabels": true, "commonAnnotations": true, "labels": true, "annotations": true, "pairs": true,
	"images": true, "replicas": true, "literals": true,
	"patch": true, "jsonOp": true, "target": true, "options": true, "generatorOptions": true,
	"source": true, "targets": true, "select": true, "reject": true, "fieldPath": true, "fieldPaths": true,
	"fieldSpecs": true, "vars": true, "buildMetadata": true, "sortOptions": true,
}

// pluginKeys list plugin configurations: paths, or configurations inline.
var pluginKeys = map[string]bool{"generators": true, "transformers": true, "validators": true}

// maxNodes bounds the walk, which follows YAML aliases.
const maxNodes = 100000

// guardFS checks each kustomization as kustomize reads it, and remembers
// the first refusal: kustomize takes a failed read for a missing file, so
// its own error would not say why.
type guardFS struct {
	filesys.FileSystem
	files   map[string][]byte
	refused *RefusedError
}

func (g *guardFS) ReadFile(name string) ([]byte, error) {
	data, err := g.FileSystem.ReadFile(name)
	if err != nil || !isKustomizationName(path.Base(name)) {
		return data, err
	}
	if rerr := checkKustomization(g.files, strings.TrimPrefix(path.Clean(name), "/"), data); rerr != nil {
		if g.refused == nil {
			g.refused = rerr
		}
		return nil, rerr
	}
	return data, nil
}

// checkKustomization refuses a kustomization that names anything remote,
// or a plugin configuration that does, or a directory of them.
func checkKustomization(files map[string][]byte, kfile string, data []byte) *RefusedError {
	s := &scan{files: files, file: kfile, dir: path.Dir(kfile), kustomization: true}
	return s.document(data)
}

// scan walks one file's YAML.
type scan struct {
	files map[string][]byte
	file  string
	dir   string
	// kustomization is set for a kustomization, whose plugin lists are
	// followed; a plugin configuration's are not.
	kustomization bool
	// line, when set, is where every refusal is reported: the entry of
	// an inline plugin configuration.
	line  int
	nodes int
}

func (s *scan) document(data []byte) *RefusedError {
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return s.refuse(nil, fmt.Sprintf("cannot be checked for remote references: %v", err))
		}
		if rerr := s.walk(&doc); rerr != nil {
			return rerr
		}
	}
}

func (s *scan) refuse(n *yaml.Node, reason string) *RefusedError {
	line := s.line
	if line == 0 && n != nil {
		line = n.Line
	}
	return &RefusedError{File: s.file, Line: max(line, 1), Reason: reason}
}

func (s *scan) walk(n *yaml.Node) *RefusedError {
	if s.nodes++; s.nodes > maxNodes {
		return s.refuse(n, fmt.Sprintf("more than %d YAML nodes to check", maxNodes))
	}
	switch n.Kind {
	case yaml.AliasNode:
		return s.walk(n.Alias)
	case yaml.ScalarNode:
		return s.scalar(n)
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i], n.Content[i+1]
			var rerr *RefusedError
			switch {
			case valueKeys[key.Value]:
				continue
			case s.kustomization && pluginKeys[key.Value] && val.Kind == yaml.SequenceNode:
				rerr = s.plugins(key.Value, val)
			default:
				rerr = s.walk(val)
			}
			if rerr != nil {
				return rerr
			}
		}
	default: // documents and sequences
		for _, c := range n.Content {
			if rerr := s.walk(c); rerr != nil {
				return rerr
			}
		}
	}
	return nil
}

// scalar refuses a one-line string kustomize could take for a URL, whole
// or after "key=" (generator file sources). A multi-line string is
// content, never a path.
func (s *scan) scalar(n *yaml.Node) *RefusedError {
	v := n.Value
	if n.Tag == "!!binary" {
		if b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(v), "")); err == nil {
			v = string(b)
		}
	}
	if strings.Contains(v, "\n") {
		return nil
	}
	_, after, _ := strings.Cut(v, "=")
	if isRemote(v) || isRemote(after) {
		return s.refuse(n, fmt.Sprintf("remote reference %q is not allowed: kustomize builds only from the repository's own files, never from the network", v))
	}
	return nil
}

// plugins checks a kustomization's generators, transformers or validators:
// each inline configuration, and each file of them, as a configuration.
func (s *scan) plugins(key string, list *yaml.Node) *RefusedError {
	for _, item := range list.Content {
		entry := item
		if entry.Kind == yaml.AliasNode {
			entry = entry.Alias
		}
		if entry.Kind != yaml.ScalarNode {
			if rerr := s.walk(entry); rerr != nil {
				return rerr
			}
			continue
		}
		if inlineConfig(entry.Value) {
			// Reported at the entry: its own lines start anywhere.
			inner := &scan{files: s.files, file: s.file, line: item.Line}
			if rerr := inner.document([]byte(entry.Value)); rerr != nil {
				return rerr
			}
			continue
		}
		if rerr := s.scalar(entry); rerr != nil {
			return rerr
		}
		if rerr := s.pluginFile(key, item, entry.Value); rerr != nil {
			return rerr
		}
	}
	return nil
}

// pluginFile checks a file of plugin configurations, and refuses a
// directory of them.
func (s *scan) pluginFile(key string, item *yaml.Node, ref string) *RefusedError {
	p := path.Join(s.dir, ref)
	if path.IsAbs(ref) {
		p = strings.TrimPrefix(path.Clean(ref), "/")
	}
	if data, ok := s.files[p]; ok {
		return (&scan{files: s.files, file: p}).document(data)
	}
	for name := range s.files {
		if strings.HasPrefix(name, p+"/") || p == "." {
			return s.refuse(item, fmt.Sprintf("%s entry %q is a directory: plugin configurations built by a kustomization "+
				"are computed during the build, where no check can see what they fetch; list the configuration files, or write them inline", key, ref))
		}
	}
	return nil // missing: kustomize says so
}

// inlineConfig reports whether a plugin list entry is a configuration
// rather than a path, as kustomize decides it: it parses as an object.
func inlineConfig(v string) bool {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(v), &doc); err != nil {
		return strings.Contains(v, "\n") // unparseable content is refused by kustomize
	}
	return len(doc.Content) > 0 && doc.Content[0].Kind == yaml.MappingNode
}

func isKustomizationName(base string) bool {
	return slices.Contains(konfig.RecognizedKustomizationFileNames(), base)
}
