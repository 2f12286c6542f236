package parse

import (
	"reflect"
	"strconv"

	"gopkg.in/yaml.v3"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

var environmentType = reflect.TypeOf(krtv1.Environment(nil))

// environment reads a tool's environment: a list of NAME=VALUE, each
// checked where it is written, or a mapping NAME: VALUE, kept in file
// order.
func (w *walker) environment(n *yaml.Node, path string) any {
	if n.Kind == yaml.MappingNode {
		m, _ := w.mapping(n, reflect.TypeOf(map[string]string{}), path).(map[string]any)
		out := []any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			v, ok := m[k].(string)
			if !ok {
				continue
			}
			entry := k + "=" + v
			if _, _, err := krtv1.EnvironmentEntry(entry); err != nil {
				w.fail(n.Content[i].Line, join(path, k), "%v", err)
				continue
			}
			out = append(out, entry)
		}
		return out
	}
	list, _ := w.list(n, environmentType, path).([]any)
	for i, item := range list {
		s, ok := item.(string)
		if !ok {
			continue
		}
		if _, _, err := krtv1.EnvironmentEntry(s); err != nil {
			w.fail(n.Content[i].Line, path+"["+strconv.Itoa(i)+"]", "%v", err)
		}
	}
	return list
}
