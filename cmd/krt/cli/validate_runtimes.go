package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// readRuntimes reads the Runtime manifests of a file; other kinds are
// skipped, so a whole install manifest will do.
func readRuntimes(path string) ([]krtv1.Runtime, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []krtv1.Runtime
	for {
		var rt krtv1.Runtime
		err := dec.Decode(&rt)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		if rt.Kind == "Runtime" {
			out = append(out, rt)
		}
	}
}
