package flag

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestTargetingNormalizeAndTree(t *testing.T) {
	for raw, has := range map[string]bool{"": false, " { } ": false, "null": true, `{"var": "x"}`: true, `"on"`: true} {
		f := Flag{Targeting: json.RawMessage(raw)}
		s := Set{Flags: []Flag{f}}
		s.Normalize()
		if got := s.Flags[0].HasTargeting(); got != has {
			t.Errorf("targeting %q: HasTargeting %v, want %v", raw, got, has)
		}
	}
	f := Flag{Targeting: json.RawMessage(`{"if": [true, "a"]}`)}
	tree, err := f.TargetingTree()
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := tree.(map[string]any); !ok || len(m["if"].([]any)) != 2 {
		t.Fatalf("tree %#v", tree)
	}
	if _, err := (&Flag{Targeting: json.RawMessage(`{"a": 1} 2`)}).TargetingTree(); err == nil || !strings.Contains(err.Error(), "after the expression") {
		t.Fatalf("trailing data: %v", err)
	}
}

// TestTargetingFlagIsNeverStale: a flag with a targeting expression varies by context, like one with rules.
func TestTargetingFlagIsNeverStale(t *testing.T) {
	old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	f := Flag{Kind: KindRelease, Enabled: true, Fallthrough: Serve{Variation: "a"}, UpdatedAt: &old}
	if f.Status(time.Now()) != StatusStale {
		t.Fatal("the plain flag should be stale")
	}
	f.Targeting = json.RawMessage(`{"fractional": [["a", 1], ["b", 1]]}`)
	if got := f.Status(time.Now()); got != StatusActive {
		t.Fatalf("targeted flag: status %s, want active", got)
	}
}

// TestTargetingDecodesFromYAML: a targeting expression written in YAML reaches the flag as JSON.
func TestTargetingDecodesFromYAML(t *testing.T) {
	s, err := Decode([]byte(`flags:
  - key: f
    type: string
    variations: [{key: a, value: A}, {key: b, value: B}]
    enabled: true
    offVariation: a
    fallthrough: {}
    targeting:
      if: [{starts_with: [{var: email}, admin]}, b]
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	tree, err := s.Flags[0].TargetingTree()
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(tree)
	if string(js) != `{"if":[{"starts_with":[{"var":"email"},"admin"]},"b"]}` {
		t.Fatalf("tree %s", js)
	}
}
