package parse

import (
	"strconv"
	"strings"
)

// seedStepFields maps a seed step field to the native field(s) it fills.
// runner fills both runtime and cluster; retries fills retries.limit.
var seedStepFields = map[string][]string{
	"name":        {"name"},
	"runner":      {"runner", "runtime", "cluster"},
	"tool":        {"uses"},
	"inputs":      {"with"},
	"depends_on":  {"needs"},
	"condition":   {"if"},
	"outputs":     {"outputs"},
	"script":      {"run"},
	"run":         {"run"},
	"command":     {"run"},
	"env":         {"env"},
	"environment": {"env"},
	"timeout":     {"timeout"},
	"retries":     {"retries", "retries.limit"},
}

// seedPositions re-keys the positions the walker recorded under seed paths
// by the native paths they became, keeping the seed path as the user's.
// params lists the user path of each spec.params entry, in order; list is
// the key the steps were written under.
func seedPositions(seen map[string]position, params []string, list string) map[string]position {
	paramIndex := make(map[string]int, len(params))
	for i, p := range params {
		paramIndex[p] = i
	}
	out := make(map[string]position, len(seen))
	for user, p := range seen {
		for _, native := range nativeSeedPaths(user, paramIndex, list) {
			out[native] = position{line: p.line, user: user, block: p.block}
		}
	}
	return out
}

// nativeSeedPaths gives the native paths a seed path became.
func nativeSeedPaths(user string, paramIndex map[string]int, list string) []string {
	switch user {
	case "":
		return []string{""}
	case "name":
		return []string{"metadata.name"}
	case "description":
		return []string{"metadata.annotations." + AnnotationDescription}
	case "params", "env":
		return []string{"spec.params"}
	case list:
		return []string{"spec.steps"}
	}
	if i, ok := paramIndex[user]; ok {
		p := "spec.params[" + strconv.Itoa(i) + "]"
		return []string{p, p + ".name", p + ".default"}
	}
	if strings.HasPrefix(user, list+"[") {
		return nativeStepPaths("steps" + strings.TrimPrefix(user, list))
	}
	return nil
}

// nativeStepPaths maps "steps[i].field<rest>" onto "spec.steps[i].<native
// field><rest>"; what follows the field (list indexes, map keys) keeps its
// shape.
func nativeStepPaths(user string) []string {
	end := strings.IndexByte(user, ']')
	if end < 0 {
		return nil
	}
	head, tail := "spec."+user[:end+1], user[end+1:]
	if tail == "" {
		return []string{head}
	}
	if tail[0] != '.' {
		return nil
	}
	field, rest := tail[1:], ""
	if i := strings.IndexAny(field, ".["); i >= 0 {
		field, rest = field[:i], field[i:]
	}
	var out []string
	for _, native := range seedStepFields[field] {
		out = append(out, head+"."+native+rest)
	}
	return out
}
