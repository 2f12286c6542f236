package gitserver

import (
	"fmt"
	"os/exec"
	"sort"
	"strings"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// CreateRepo creates the bare repository <Root>/<name>.git, whose default
// branch is main, and returns its directory. name may hold slashes
// ("org/app"); it is served at /<name>.git. Creating an existing repository
// again leaves its content alone.
func (s *Server) CreateRepo(name string) (string, error) {
	if !repoName.MatchString(name) || strings.HasSuffix(name, ".git") {
		return "", fmt.Errorf("gitserver: bad repository name %q", name)
	}
	dir := s.repoDir(name)
	cmd := exec.Command(s.opts.Git, "init", "--quiet", "--bare", "--initial-branch=main", dir)
	cmd.Env = []string{"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null"}
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("gitserver: creating %s: %v: %s", name, err, out)
	}
	return dir, nil
}

// readRefs maps every direct ref of the bare repository at dir to its hash.
// Symbolic refs such as HEAD never move by themselves in a push.
func readRefs(dir string) (map[string]string, error) {
	repo, err := gogit.PlainOpen(dir)
	if err != nil {
		return nil, err
	}
	iter, err := repo.References()
	if err != nil {
		return nil, err
	}
	refs := map[string]string{}
	err = iter.ForEach(func(ref *plumbing.Reference) error {
		if ref.Type() == plumbing.HashReference {
			refs[ref.Name().String()] = ref.Hash().String()
		}
		return nil
	})
	return refs, err
}

// movedRefs lists the refs that differ between two reads, by name, so
// events come out in a stable order.
func movedRefs(repo string, before, after map[string]string) []PushEvent {
	var events []PushEvent
	for name, hash := range after {
		if before[name] != hash {
			events = append(events, PushEvent{Repo: repo, Ref: name, Before: before[name], After: hash})
		}
	}
	for name, hash := range before {
		if _, ok := after[name]; !ok {
			events = append(events, PushEvent{Repo: repo, Ref: name, Before: hash})
		}
	}
	sort.Slice(events, func(i, j int) bool { return events[i].Ref < events[j].Ref })
	return events
}
