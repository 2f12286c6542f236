//go:build tools

// Package deps pins modules that code being written in parallel will use;
// it goes once they are imported for real.
package deps

import (
	_ "github.com/Masterminds/semver/v3"
	_ "github.com/fluxcd/source-controller/api/v1"
	_ "github.com/go-git/go-git/v5"
	_ "github.com/google/cel-go/cel"
	_ "github.com/google/go-github/v75/github"
	_ "github.com/robfig/cron/v3"
	_ "gopkg.in/yaml.v3"
	_ "sigs.k8s.io/kustomize/api/krusty"
	_ "sigs.k8s.io/kustomize/kyaml/filesys"
)
