package flag

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecodeValidate: decoding and validating arbitrary bytes never panics, and a valid set survives a round
// trip through its canonical JSON and YAML encodings unchanged.
func FuzzDecodeValidate(f *testing.F) {
	seeds, _ := filepath.Glob("../examples/*.yaml")
	more, _ := filepath.Glob("../testdata/spec/invalid/*.json")
	for _, p := range append(seeds, more...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"flags":[{"key":"a","type":"boolean","variations":[{"key":"on","value":true}],"offVariation":"on","fallthrough":{"variation":"on"}}]}`))
	f.Add([]byte("flags:\n- key: x\n  type: json\n"))
	f.Add([]byte(`{"flags":[{"key":"a","rules":[{"clauses":[{"attribute":"x","op":"matches","values":["(a*)*"]}]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Decode(data)
		if err != nil {
			if KindOf(err) != KindInvalid {
				t.Fatalf("decode error of kind %q: %v", KindOf(err), err)
			}
			return
		}
		if err := s.Validate(); err != nil {
			if len(ProblemsOf(err)) == 0 {
				t.Fatalf("validation error without problems: %v", err)
			}
			return
		}
		js, err := EncodeJSON(s)
		if err != nil {
			t.Fatal(err)
		}
		s2, err := Decode(js)
		if err != nil {
			t.Fatalf("canonical JSON does not decode: %v\n%s", err, js)
		}
		js2, _ := EncodeJSON(s2)
		if !bytes.Equal(js, js2) {
			t.Fatalf("JSON round trip changed the set:\n%s\n%s", js, js2)
		}
		ys, err := EncodeYAML(s)
		if err != nil {
			t.Fatal(err)
		}
		s3, err := Decode(ys)
		if err != nil {
			t.Fatalf("canonical YAML does not decode: %v\n%s", err, ys)
		}
		if js3, _ := EncodeJSON(s3); !bytes.Equal(js, js3) {
			t.Fatalf("YAML round trip changed the set:\n%s\n%s\n%s", js, ys, js3)
		}
	})
}

// FuzzContextJSON: any JSON object decodes into a context without panicking.
func FuzzContextJSON(f *testing.F) {
	f.Add([]byte(`{"targetingKey":"u1","country":"BR","team":{"id":"t"}}`))
	f.Add([]byte(`{"targetingKey":5}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Context
		if err := c.UnmarshalJSON(data); err != nil {
			return
		}
		if _, err := c.MarshalJSON(); err != nil {
			t.Fatal(err)
		}
	})
}
