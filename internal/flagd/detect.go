package flagd

import (
	"bytes"
	"encoding/json"
)

// IsFlagd reports whether data (JSON or YAML) looks like a flagd flag file rather than a ramp one: it has
// $evaluators, or its flags are an object keyed by flag key, or its flags carry flagd's state or variants.
// Data that is neither JSON nor YAML is not flagd.
func IsFlagd(data []byte) bool {
	js, err := toJSON(data)
	if err != nil {
		return false
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(js, &top) != nil {
		return false
	}
	if _, ok := top["$evaluators"]; ok {
		return true
	}
	flags := bytes.TrimSpace(top["flags"])
	if len(flags) == 0 {
		return false
	}
	if flags[0] == '{' {
		return true
	}
	var list []map[string]json.RawMessage
	if json.Unmarshal(flags, &list) != nil {
		return false
	}
	for _, f := range list {
		_, state := f["state"]
		_, variants := f["variants"]
		if state || variants {
			return true
		}
	}
	return false
}
