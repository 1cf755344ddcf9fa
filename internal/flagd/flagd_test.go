package flagd_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/ramphq/ramp/flag"
	"github.com/ramphq/ramp/internal/eval"
	"github.com/ramphq/ramp/internal/flagd"
)

func TestImportMapping(t *testing.T) {
	set, err := flagd.Import([]byte(`{
	  "$schema": "https://flagd.dev/schema/v0/flags.json",
	  "flags": {
	    "new-ui": {
	      "state": "ENABLED",
	      "variants": {"on": true, "off": false},
	      "defaultVariant": "off",
	      "targeting": {"if": [{"$ref": "staff"}, "on", null]},
	      "metadata": {"description": "The new UI", "team": "web"}
	    },
	    "colors": {"state": "DISABLED", "variants": {"red": "#f00", "blue": "#00f"}, "defaultVariant": "blue", "targeting": {}},
	    "limits": {"state": "ENABLED", "variants": {"low": 10, "high": 1000}},
	    "layout": {"state": "ENABLED", "variants": {"a": {"cols": 2}, "b": "plain"}, "defaultVariant": "a"}
	  },
	  "$evaluators": {"staff": {"ends_with": [{"var": "email"}, "@example.com"]}}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, f := range set.Flags {
		keys = append(keys, f.Key)
	}
	if want := []string{"colors", "layout", "limits", "new-ui"}; !reflect.DeepEqual(keys, want) {
		t.Fatalf("flags %v, want sorted %v", keys, want)
	}
	colors, layout, limits, ui := set.Flags[0], set.Flags[1], set.Flags[2], set.Flags[3]
	if colors.Enabled || colors.Type != flag.TypeString || colors.OffVariation != "blue" || colors.Fallthrough.Variation != "blue" || colors.HasTargeting() {
		t.Errorf("colors: %+v", colors)
	}
	if colors.Variations[0].Key != "blue" || colors.Variations[1].Key != "red" {
		t.Errorf("variations not sorted by key: %+v", colors.Variations)
	}
	if layout.Type != flag.TypeJSON {
		t.Errorf("mixed variants: type %s, want json", layout.Type)
	}
	if limits.Type != flag.TypeNumber || limits.Fallthrough != (flag.Serve{}) || string(limits.Targeting) != "null" {
		t.Errorf("limits (no default variant): %+v", limits)
	}
	if ui.Description != "The new UI" || !strings.Contains(string(ui.Targeting), `"ends_with"`) || strings.Contains(string(ui.Targeting), "$ref") {
		t.Errorf("new-ui: %+v, targeting %s", ui, ui.Targeting)
	}
	snap, err := eval.Compile(set)
	if err != nil {
		t.Fatal(err)
	}
	staff := flag.NewContext("u", map[string]any{"email": "ana@example.com"})
	if d := snap.Evaluate("new-ui", &staff); d.Value != true || d.Reason != flag.ReasonTargetingMatch {
		t.Errorf("new-ui for staff: %+v", d)
	}
	if d := snap.Evaluate("limits", &staff); d.Reason != flag.ReasonDefault || d.Variant != "" {
		t.Errorf("limits: %+v, want DEFAULT without a variant", d)
	}
	if d := snap.Evaluate("colors", &staff); d.Reason != flag.ReasonDisabled || d.Value != "#00f" {
		t.Errorf("colors: %+v", d)
	}
}

func TestImportForms(t *testing.T) {
	yamlDoc := `
flags:
  - key: beta
    state: ENABLED
    variants: {"on": true, "off": false}
    defaultVariant: "off"
    targeting:
      fractional:
        - ["on", 50]
        - ["off", 50]
`
	set, err := flagd.Import([]byte(yamlDoc))
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Flags) != 1 || set.Flags[0].Key != "beta" || !set.Flags[0].HasTargeting() {
		t.Fatalf("YAML array form: %+v", set.Flags)
	}
}

func TestImportErrors(t *testing.T) {
	cases := []struct{ doc, want string }{
		{`{"flags": {"x": {"state": "ON", "variants": {"a": 1}, "defaultVariant": "a"}}}`, `flags["x"].state: "ON" is not ENABLED or DISABLED`},
		{`{"flags": {"x": {"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": "b"}}}`, `flags["x"].defaultVariant: "b" is not one of the flag's variants`},
		{`{"flags": {"x": {"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": "a", "targeting": {"if": [{"foo": 1}, "a"]}}}}`, `flags["x"].targeting.if[0]: unknown operator "foo"`},
		{`{"flags": {"x": {"state": "ENABLED", "variants": {"a": 1}, "targeting": {"$ref": "nope"}}}}`, `flags["x"].targeting: $ref "nope": no such evaluator in $evaluators`},
		{`{"flags": {"x": {"state": "ENABLED", "variants": {}, "defaultVariant": null}}}`, `flags["x"].variants: at least one variant is required`},
		{`{"flags": {"x": {"state": "ENABLED", "variants": {"a b": 1}, "defaultVariant": "a b"}}}`, `flags["x"].variants[0].key: "a b" is not a valid key`},
		{`{"flags": {"x": {"state": "ENABLED", "variants": {"a": 1}, "defautVariant": "a"}}}`, `flags["x"]: unknown field "defautVariant"`},
		{`{"flags": {"x": {"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": 3}}}`, `flags["x"].defaultVariant: expected string, got JSON number`},
		{`{"flagz": {}}`, `flagz: unknown field`},
		{`{}`, `flags: is required`},
		{`[1, 2]`, `not a JSON object`},
		{`{"flags": {"x": `, `not a JSON object`},
		{"flags:\n  - [", `invalid YAML`},
	}
	for _, c := range cases {
		_, err := flagd.Import([]byte(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n  error %v\n  want  %q", c.doc, err, c.want)
		}
		if err != nil && flag.KindOf(err) != flag.KindInvalid {
			t.Errorf("%s: error kind %s, want invalid", c.doc, flag.KindOf(err))
		}
	}
}

func TestImportPartial(t *testing.T) {
	set, skipped, err := flagd.ImportPartial([]byte(`{"flags": {
		"good": {"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": "a"},
		"bad": {"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": "a", "targeting": {"$ref": "missing"}}}}`))
	if set == nil || len(set.Flags) != 1 || set.Flags[0].Key != "good" {
		t.Fatalf("set %+v", set)
	}
	if !reflect.DeepEqual(skipped, []string{"bad"}) || err == nil || !strings.Contains(err.Error(), `flags["bad"].targeting`) {
		t.Fatalf("skipped %v, err %v", skipped, err)
	}
}

// exportSet exercises every native construct Export translates.
const exportSet = `
flags:
  - key: assistant
    type: boolean
    variations: [{key: "on", value: true}, {key: "off", value: false}]
    enabled: true
    offVariation: "off"
    targets:
      - {values: [staff-1, staff-2], variation: "on"}
      - {attribute: account.id, values: ["acct-9"], variation: "off"}
    rules:
      - id: beta
        clauses: [{op: in_segment, values: [beta]}]
        serve: {variation: "on"}
      - id: br
        clauses:
          - {attribute: country, op: in, values: [BR, PT]}
          - {attribute: appVersion, op: semver_gte, values: ["4.2.0"]}
        serve: {variation: "on"}
      - id: not-us
        clauses: [{attribute: country, op: not_in, values: [US]}, {attribute: age, op: gte, values: [18]}]
        serve: {variation: "on"}
      - id: mail
        clauses: [{attribute: email, op: ends_with, values: ["@corp.example", "@corp2.example"]}, {attribute: email, op: contains, values: [admin], negate: true}]
        serve: {variation: "on"}
      - id: nameless
        clauses: [{attribute: name, op: exists, negate: true}, {attribute: plan, op: starts_with, values: [ent]}]
        serve: {variation: "on"}
    fallthrough: {variation: "off"}
  - key: rollout
    type: string
    variations: [{key: a, value: A}, {key: b, value: B}]
    enabled: true
    offVariation: a
    rules:
      - clauses: [{attribute: tier, op: lt, values: [3]}]
        serve: {variation: b}
    fallthrough:
      split: {bucketBy: account.id, weights: [{variation: a, weight: 25.5}, {variation: b, weight: 74.5}]}
  - key: paused
    type: string
    variations: [{key: a, value: A}, {key: b, value: B}]
    enabled: false
    offVariation: b
    rules:
      - clauses: [{attribute: tier, op: gt, values: [3]}]
        serve: {variation: a}
    fallthrough: {variation: a}
segments:
  - key: beta
    excluded: [banned]
    included: [u-beta]
    rules:
      - clauses: [{attribute: groups, op: in, values: [beta]}]
`

// TestExportEquivalence: a native set and its flagd export, imported again, serve the same values to a grid
// of contexts (splits aside, which flagd re-buckets).
func TestExportEquivalence(t *testing.T) {
	native, err := flag.Decode([]byte(exportSet))
	if err != nil {
		t.Fatal(err)
	}
	out, err := flagd.Export(native)
	if err != nil {
		t.Fatal(err)
	}
	back, err := flagd.Import(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	a, err := eval.Compile(native)
	if err != nil {
		t.Fatal(err)
	}
	b, err := eval.Compile(back)
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"staff-1", "u-beta", "banned", "user-7", ""}
	values := map[string][]any{
		"country":    {nil, "BR", "US", "FR"},
		"appVersion": {nil, "4.1.0", "4.2.0"},
		"age":        {nil, 17, 30},
		"email":      {nil, "x@corp.example", "admin@corp.example"},
		"name":       {nil, "Ana"},
		"plan":       {nil, "enterprise"},
		"groups":     {nil, "beta"},
		"tier":       {nil, 1, 5},
	}
	compared := 0
	hit := map[string]bool{}
	for _, tk := range keys {
		for round := 0; round < 48; round++ {
			attrs := map[string]any{"account": map[string]any{"id": fmt.Sprintf("acct-%d", round)}}
			i := round
			for _, name := range []string{"country", "appVersion", "age", "email", "name", "plan", "groups", "tier"} {
				vs := values[name]
				if v := vs[i%len(vs)]; v != nil {
					attrs[name] = v
				}
				i = i/len(vs) + round
			}
			if round%7 == 0 {
				attrs["account"] = map[string]any{"id": "acct-9"}
			}
			ctx := flag.NewContext(tk, attrs)
			for _, key := range []string{"assistant", "rollout", "paused"} {
				da, db := a.Evaluate(key, &ctx), b.Evaluate(key, &ctx)
				hit[key+"/"+da.RuleID] = true
				if da.Reason == flag.ReasonSplit {
					if db.IsError() {
						t.Errorf("%s %v: exported split failed: %+v", key, attrs, db)
					}
					continue
				}
				if da.Reason == flag.ReasonDisabled {
					// flagd has one default variant for both: a client gets its own default anyway.
					if db.Reason != flag.ReasonDisabled {
						t.Errorf("%s: exported %+v, want DISABLED", key, db)
					}
					continue
				}
				if da.Value != db.Value {
					t.Errorf("%s tk=%q %v: native %+v, exported %+v", key, tk, attrs, da, db)
				}
				compared++
			}
		}
	}
	if compared < 300 {
		t.Fatalf("only %d comparisons", compared)
	}
	for _, want := range []string{"assistant/target:targetingKey", "assistant/target:account.id", "assistant/beta", "assistant/br",
		"assistant/not-us", "assistant/mail", "assistant/nameless", "assistant/", "rollout/rule-1", "rollout/"} {
		if !hit[want] {
			t.Errorf("the context grid never reached %s: %v", want, hit)
		}
	}
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil || doc["$schema"] != flagd.SchemaURL {
		t.Fatalf("export is not a flagd document: %v", err)
	}
	if notes := flagd.Notes(native); len(notes) != 2 || !strings.Contains(notes[0], "rollout") || !strings.Contains(notes[1], "paused") {
		t.Errorf("notes %q", notes)
	}
}

func TestExportRefusals(t *testing.T) {
	base := func(extra string) string {
		return `flags:
  - key: f
    type: boolean
    variations: [{key: "on", value: true}, {key: "off", value: false}]
    enabled: true
    offVariation: "off"
    fallthrough: {variation: "off"}
` + extra
	}
	cases := []struct{ doc, want string }{
		{base("    prerequisites: [{flag: g, variation: \"on\"}]\n  - {key: g, type: boolean, variations: [{key: \"on\", value: true}], offVariation: \"on\", fallthrough: {variation: \"on\"}}\n"), `flag "f": prerequisites[0]: flagd has no prerequisites`},
		{base("    rules: [{clauses: [{attribute: email, op: matches, values: [\"^a\"]}], serve: {variation: \"on\"}}]\n"), `flag "f": rules[0].clauses[0]: op: matches has no flagd equivalent`},
		{base("    rules: [{clauses: [{attribute: email, op: in, values: [a], caseInsensitive: true}], serve: {variation: \"on\"}}]\n"), `flag "f": rules[0].clauses[0]: caseInsensitive has no flagd equivalent`},
	}
	for _, c := range cases {
		set, err := flag.Decode([]byte(c.doc))
		if err != nil {
			t.Fatal(err)
		}
		if err := set.Validate(); err != nil {
			t.Fatal(err)
		}
		_, err = flagd.Export(set)
		if err == nil || err.Error() != c.want {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
}

// TestTestkitRoundTrip: flagd's own testkit flags survive import → export → import unchanged.
func TestTestkitRoundTrip(t *testing.T) {
	data := readFile(t, testbedDir+"/flags/testkit-flags.json")
	set, _, _ := flagd.ImportPartial(data)
	out, err := flagd.Export(set)
	if err != nil {
		t.Fatal(err)
	}
	again, err := flagd.Import(out)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := flag.EncodeJSON(set)
	b, _ := flag.EncodeJSON(again)
	if string(a) != string(b) {
		t.Fatalf("round trip changed the set:\n%s\n---\n%s", a, b)
	}
}

// FuzzImport: Import never panics; whatever it accepts compiles, exports, and imports again to the same set.
func FuzzImport(f *testing.F) {
	f.Add(readFileF(f, testbedDir+"/flags/testkit-flags.json"))
	f.Add(readFileF(f, "../../testdata/flagd/flagd-testbed-custom-ops.json"))
	f.Add([]byte(`{"flags": {"x": {"state": "ENABLED", "variants": {"a": 1, "b": 2}, "defaultVariant": "a", "targeting": {"if": [{"$ref": "e"}, "b"]}}}, "$evaluators": {"e": {"var": "z"}}}`))
	f.Add([]byte("flags:\n  - key: y\n    state: DISABLED\n    variants: {a: true}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := flagd.Import(data)
		if err != nil {
			return
		}
		if _, err := eval.Compile(set); err != nil {
			t.Fatalf("imported set does not compile: %v", err)
		}
		out, err := flagd.Export(set)
		if err != nil {
			t.Fatalf("imported set does not export: %v", err)
		}
		again, err := flagd.Import(out)
		if err != nil {
			t.Fatalf("export does not import: %v\n%s", err, out)
		}
		a, _ := flag.EncodeJSON(set)
		b, _ := flag.EncodeJSON(again)
		if string(a) != string(b) {
			t.Fatalf("round trip changed the set:\n%s\n---\n%s", a, b)
		}
	})
}

func TestIsFlagd(t *testing.T) {
	cases := map[string]bool{
		`{"flags": {"x": {"state": "ENABLED"}}}`:                         true,
		"flags:\n  - key: x\n    state: ENABLED\n":                       true,
		`{"$evaluators": {}, "flags": []}`:                               true,
		`{"flags": [{"key": "x", "type": "boolean", "variations": []}]}`: false,
		exportSet:     false,
		`not: [valid`: false,
		``:            false,
	}
	for doc, want := range cases {
		if got := flagd.IsFlagd([]byte(doc)); got != want {
			t.Errorf("IsFlagd(%.40q) = %v, want %v", doc, got, want)
		}
	}
}
