package eval

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/ramphq/ramp/flag"
)

// FuzzEvaluate evaluates every flag of every spec file against arbitrary contexts: evaluation never panics and
// always returns a well-formed detail.
func FuzzEvaluate(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(specDir, "*.json"))
	var snaps []*Snapshot
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		var sf specFile
		if json.Unmarshal(data, &sf) != nil || sf.Set == nil {
			continue
		}
		set, err := flag.Decode(sf.Set)
		if err != nil {
			f.Fatal(err)
		}
		snap, err := Compile(set)
		if err != nil {
			f.Fatal(err)
		}
		snaps = append(snaps, snap)
		for _, c := range sf.Cases {
			if len(c.Context) > 0 {
				f.Add([]byte(c.Context))
			}
		}
	}
	f.Add([]byte(`{"targetingKey":"","a":{"b":{"c":[1,"x",null,{"d":true}]}},"app.version":"v1.2.3-rc.1+b"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var ctx flag.Context
		if err := json.Unmarshal(data, &ctx); err != nil {
			return
		}
		for _, s := range snaps {
			for _, k := range s.keys {
				d := s.Evaluate(k, &ctx)
				switch {
				case d.Reason == "":
					t.Fatalf("%s: empty reason", k)
				case d.IsError() != (d.Reason == flag.ReasonError):
					t.Fatalf("%s: error code %q with reason %q", k, d.ErrorCode, d.Reason)
				case !d.IsError() && d.Variant == "":
					t.Fatalf("%s: no variant: %+v", k, d)
				}
			}
		}
	})
}

// FuzzCompile: decoding, validating and compiling arbitrary flag files never panics, and whatever compiles
// evaluates.
func FuzzCompile(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(specDir, "*", "*.json"))
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			var inv struct {
				Set json.RawMessage `json:"set"`
			}
			if json.Unmarshal(data, &inv) == nil && inv.Set != nil {
				f.Add([]byte(inv.Set))
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := flag.Decode(data)
		if err != nil {
			return
		}
		snap, err := Compile(set)
		if err != nil {
			return
		}
		ctx := flag.NewContext("user-1", map[string]any{"country": "BR"})
		for _, k := range snap.keys {
			snap.Evaluate(k, &ctx)
		}
	})
}
