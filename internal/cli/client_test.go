package cli

import (
	"encoding/json"
	"testing"
)

// FuzzReadFlagFile: the CLI's reader of flag files for create/update/put never panics, and whatever it accepts is
// a list of JSON values to send to the server as they are.
func FuzzReadFlagFile(f *testing.F) {
	f.Add([]byte("key: a\ntype: boolean\nvariations: [{key: on, value: true}]\n"))
	f.Add([]byte(`{"flags": [{"key": "a"}, {"key": "b"}]}`))
	f.Add([]byte(`{"flags": {"a": {"state": "ENABLED"}}}`))
	f.Add([]byte("flags:\n  - key: a\nsegments: []\n"))
	f.Add([]byte("- 1\n- 2\n"))
	f.Add([]byte(`{"flags": []}`))
	f.Add([]byte("\xff\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		items, err := readFlagFile(data, "f")
		if err != nil {
			return
		}
		if len(items) == 0 {
			t.Fatalf("%q: accepted with no flags", data)
		}
		for _, it := range items {
			if !json.Valid(it) {
				t.Fatalf("%q: item %q is not JSON", data, it)
			}
		}
	})
}
