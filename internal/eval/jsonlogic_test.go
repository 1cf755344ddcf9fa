package eval

import (
	"encoding/json"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/ramphq/ramp/flag"
)

// logicFlag builds a string flag whose variations are named after their values, with a targeting expression.
func logicFlag(key, expr string, variations ...string) flag.Flag {
	f := flag.Flag{Key: key, Type: flag.TypeString, Enabled: true, OffVariation: variations[0],
		Fallthrough: flag.Serve{Variation: variations[0]}, Targeting: json.RawMessage(expr)}
	for _, v := range variations {
		f.Variations = append(f.Variations, flag.Variation{Key: v, Value: v})
	}
	return f
}

// evalExpr compiles one expression and evaluates it against a context given as JSON, returning the result as
// a generic JSON value.
func evalExpr(t *testing.T, expr, ctxJSON string) any {
	t.Helper()
	var tree any
	if err := json.Unmarshal([]byte(expr), &tree); err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	var ctx flag.Context
	if err := json.Unmarshal([]byte(ctxJSON), &ctx); err != nil {
		t.Fatalf("%s: %v", ctxJSON, err)
	}
	st := lstate{ctx: &ctx, flagKey: "my-flag"}
	return compileLogic(tree).eval(&st).toAny()
}

func TestJsonLogicOperators(t *testing.T) {
	const ctx = `{"targetingKey": "user-1", "email": "ana@example.com", "age": 42, "tier": "pro",
		"user": {"name": "jack", "tags": ["a", "b"]}, "nums": [1, 2, 3], "zero": 0, "empty": "", "flag": true}`
	cases := []struct {
		expr string
		want any
	}{
		{`{"var": "email"}`, "ana@example.com"},
		{`{"var": "user.name"}`, "jack"},
		{`{"var": "user.tags.1"}`, "b"},
		{`{"var": ["missing", "dflt"]}`, "dflt"},
		{`{"var": "missing"}`, nil},
		{`{"var": "targetingKey"}`, "user-1"},
		{`{"var": "$flagd.flagKey"}`, "my-flag"},
		{`{"var": {"cat": ["user", ".", "name"]}}`, "jack"},
		{`{"if": [{"==": [{"var": "tier"}, "pro"]}, "yes", "no"]}`, "yes"},
		{`{"if": [false, "a", false, "b", "c"]}`, "c"},
		{`{"if": [false, "a"]}`, nil},
		{`{"?:": [true, "a", "b"]}`, "a"},
		{`{"==": [1, "1"]}`, true},
		{`{"==": [null, 0]}`, false},
		{`{"===": [1, "1"]}`, false},
		{`{"!=": [1, "2"]}`, true},
		{`{"!==": [1, 1]}`, false},
		{`{"!": [{"var": "zero"}]}`, true},
		{`{"!!": [{"var": "user.tags"}]}`, true},
		{`{"!!": [[]]}`, false},
		{`{"and": [true, "x", 0, "never"]}`, 0.0},
		{`{"or": [false, "", "first", "second"]}`, "first"},
		{`{"<": [{"var": "age"}, 50]}`, true},
		{`{"<": [1, {"var": "age"}, 40]}`, false},
		{`{"<=": [42, {"var": "age"}, 42]}`, true},
		{`{">": ["b", "a"]}`, true},
		{`{">=": [{"var": "age"}, "42"]}`, true},
		{`{"in": ["example", {"var": "email"}]}`, true},
		{`{"in": [{"var": "tier"}, ["free", "pro"]]}`, true},
		{`{"in": [2, {"var": "nums"}]}`, true},
		{`{"cat": ["a", 1, true, null]}`, "a1true"},
		{`{"cat": [" a ", "b "]}`, "a b"},
		{`{"substr": ["jsonlogic", 4]}`, "logic"},
		{`{"substr": ["jsonlogic", -5, 2]}`, "lo"},
		{`{"substr": ["jsonlogic", 1, -2]}`, "sonlog"},
		{`{"merge": [[1, 2], 3, [4]]}`, []any{1.0, 2.0, 3.0, 4.0}},
		{`{"+": [1, "2", 3.5]}`, 6.5},
		{`{"-": [10, 4, 1]}`, 5.0},
		{`{"-": [3]}`, -3.0},
		{`{"*": [2, 3]}`, 6.0},
		{`{"/": [9, 2]}`, 4.5},
		{`{"%": [9, 4]}`, 1.0},
		{`{"min": [3, 1, 2]}`, 1.0},
		{`{"max": [3, 1, 2]}`, 3.0},
		{`{"map": [{"var": "nums"}, {"*": [{"var": ""}, 2]}]}`, []any{2.0, 4.0, 6.0}},
		{`{"filter": [{"var": "nums"}, {">": [{"var": ""}, 1]}]}`, []any{2.0, 3.0}},
		{`{"reduce": [{"var": "nums"}, {"+": [{"var": "current"}, {"var": "accumulator"}]}, 10]}`, 16.0},
		{`{"all": [{"var": "nums"}, {">": [{"var": ""}, 0]}]}`, true},
		{`{"all": [[], true]}`, false},
		{`{"some": [{"var": "user.tags"}, {"==": [{"var": ""}, "b"]}]}`, true},
		{`{"none": [{"var": "nums"}, {">": [{"var": ""}, 5]}]}`, true},
		{`{"missing": ["email", "nope", "empty"]}`, []any{"nope", "empty"}},
		{`{"missing_some": [1, ["email", "nope"]]}`, []any{}},
		{`{"missing_some": [2, ["email", "nope"]]}`, []any{"nope"}},
		{`{"starts_with": [{"var": "email"}, "ana"]}`, true},
		{`{"ends_with": [{"var": "email"}, ".org"]}`, false},
		{`{"starts_with": [{"var": "age"}, "4"]}`, nil},
		{`{"starts_with": ["abc"]}`, nil},
		{`{"sem_ver": ["1.2.3", ">", "1.2.0"]}`, true},
		{`{"sem_ver": ["v2.0.0-alpha", "<", "2.0.0"]}`, true},
		{`{"sem_ver": ["V1.0.0", "=", "1.0.0+build"]}`, true},
		{`{"sem_ver": ["3.1.0", "^", "3.0.0"]}`, true},
		{`{"sem_ver": ["3.1.0", "~", "3.0.0"]}`, false},
		{`{"sem_ver": [1.2, ">", "1.1"]}`, true},
		{`{"sem_ver": ["1.0", "=", "1.0.0"]}`, true},
		{`{"sem_ver": ["1.0-beta", "=", "1.0.0-beta"]}`, nil},
		{`{"sem_ver": ["2.0.0.0", "=", "2.0.0"]}`, nil},
		{`{"sem_ver": ["1.0.0", "===", "1.0.0"]}`, nil},
		{`{"sem_ver": ["1.0.0", "="]}`, nil},
		{`{"fractional": [["only", 1]]}`, "only"},
		{`{"fractional": [{"var": "missing"}, ["a", 0], ["b", 0]]}`, nil},
		{`{"fractional": [["a", 1.5], ["b", 1]]}`, nil},
		{`{"fractional": [["a", -5], ["b", 1]]}`, "b"},
		{`{"fractional": [[true, 0], [false, 1]]}`, false},
		{`{"fractional": [["x", {"if": [{"==": [{"var": "tier"}, "pro"]}, 1, 0]}], ["y", 0]]}`, "x"},
	}
	for _, c := range cases {
		got := evalExpr(t, c.expr, ctx)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.expr, got, c.want)
		}
	}
}

func TestJsonLogicTimestamp(t *testing.T) {
	got, ok := evalExpr(t, `{"var": "$flagd.timestamp"}`, `{}`).(float64)
	if !ok || got < 1.7e9 || got != math.Trunc(got) {
		t.Fatalf("$flagd.timestamp = %v, want Unix seconds", got)
	}
}

// TestTargetingResults: how an expression's result becomes a detail.
func TestTargetingResults(t *testing.T) {
	set := &flag.Set{Flags: []flag.Flag{
		logicFlag("by-email", `{"if": [{"ends_with": [{"var": "email"}, "@example.com"]}, "staff", null]}`, "public", "staff"),
		logicFlag("bad-result", `{"var": "color"}`, "red", "blue"),
		logicFlag("numeric", `{"if": [{"var": "n"}, 1, true]}`, "1", "true"),
		func() flag.Flag {
			f := logicFlag("no-default", `{"if": [{"var": "vip"}, "gold"]}`, "gold", "silver")
			f.Fallthrough = flag.Serve{}
			return f
		}(),
		func() flag.Flag {
			f := logicFlag("off", `"gold"`, "gold", "silver")
			f.Enabled = false
			f.OffVariation = "silver"
			return f
		}(),
	}}
	snap := mustCompile(t, set)
	check := func(key, ctxJSON string, want flag.Detail) {
		t.Helper()
		var ctx flag.Context
		if err := json.Unmarshal([]byte(ctxJSON), &ctx); err != nil {
			t.Fatal(err)
		}
		got := snap.Evaluate(key, &ctx)
		got.ErrorMessage = ""
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s %s = %+v, want %+v", key, ctxJSON, got, want)
		}
	}
	check("by-email", `{"email": "a@example.com"}`, flag.Detail{Value: "staff", Variant: "staff", Reason: flag.ReasonTargetingMatch})
	check("by-email", `{"email": "a@else.com"}`, flag.Detail{Value: "public", Variant: "public", Reason: flag.ReasonDefault})
	check("bad-result", `{"color": "red"}`, flag.Detail{Value: "red", Variant: "red", Reason: flag.ReasonTargetingMatch})
	check("bad-result", `{"color": "green"}`, flag.Detail{Reason: flag.ReasonError, ErrorCode: flag.ErrorGeneral})
	check("bad-result", `{"color": ["red"]}`, flag.Detail{Reason: flag.ReasonError, ErrorCode: flag.ErrorGeneral})
	check("numeric", `{"n": 1}`, flag.Detail{Value: "1", Variant: "1", Reason: flag.ReasonTargetingMatch})
	check("numeric", `{}`, flag.Detail{Value: "true", Variant: "true", Reason: flag.ReasonTargetingMatch})
	check("no-default", `{"vip": true}`, flag.Detail{Value: "gold", Variant: "gold", Reason: flag.ReasonTargetingMatch})
	check("no-default", `{}`, flag.Detail{Reason: flag.ReasonDefault})
	check("off", `{}`, flag.Detail{Value: "silver", Variant: "silver", Reason: flag.ReasonDisabled})
}

// TestTargetingValidation: bad expressions are reported with their path, and a flag cannot have both kinds of
// targeting.
func TestTargetingValidation(t *testing.T) {
	cases := []struct {
		expr string
		want string
	}{
		{`{"foo": [1]}`, `flags[0].targeting: unknown operator "foo"`},
		{`{"if": [{"bar": []}, "a"]}`, `flags[0].targeting.if[0]: unknown operator "bar"`},
		{`{"if": [{"$ref": "shared"}, "a"]}`, `flags[0].targeting.if[0]: unresolved $ref "shared"`},
		{`{"==": [1, 2], "!=": [1, 2]}`, `flags[0].targeting: an operation has exactly one operator, got 2 keys`},
		{`{"if": [true, "a"`, `flags[0].targeting: invalid JSON`},
		{strings.Repeat(`[`, 70) + strings.Repeat(`]`, 70), `nested deeper than 64 levels`},
	}
	for _, c := range cases {
		set := &flag.Set{Flags: []flag.Flag{logicFlag("f", c.expr, "a", "b")}}
		_, err := Compile(set)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.expr, err, c.want)
		}
	}
	both := logicFlag("f", `"a"`, "a", "b")
	both.Rules = []flag.Rule{{Clauses: []flag.Clause{{Attribute: "x", Op: flag.OpExists}}, Serve: flag.Serve{Variation: "a"}}}
	if _, err := Compile(&flag.Set{Flags: []flag.Flag{both}}); err == nil || !strings.Contains(err.Error(), "flags[0].targeting: a flag has either a targeting expression or targets and rules") {
		t.Errorf("targeting with rules: %v", err)
	}
	noDefault := flag.Flag{Key: "f", Type: flag.TypeString, Enabled: true, OffVariation: "a", Variations: []flag.Variation{{Key: "a", Value: "a"}}}
	if _, err := Compile(&flag.Set{Flags: []flag.Flag{noDefault}}); err == nil || !strings.Contains(err.Error(), "flags[0].fallthrough: set a variation or a split") {
		t.Errorf("an empty fallthrough without targeting must stay invalid: %v", err)
	}
}

// TestEveryTargetingOperatorCompiles keeps the validator's list and the evaluator's table in step.
func TestEveryTargetingOperatorCompiles(t *testing.T) {
	for _, op := range flag.TargetingOperators {
		if _, ok := lops[op]; !ok {
			t.Errorf("operator %q is accepted by validation but not compiled", op)
		}
	}
	if len(lops) != len(flag.TargetingOperators) {
		t.Errorf("%d compiled operators, %d validated", len(lops), len(flag.TargetingOperators))
	}
}

// TestTargetingNoAlloc: the common flagd expressions (var, comparisons, if, string operators, sem_ver,
// fractional on the targeting key or an attribute) evaluate without allocating.
func TestTargetingNoAlloc(t *testing.T) {
	set := &flag.Set{Flags: []flag.Flag{
		logicFlag("rules", `{"if": [{"starts_with": [{"var": "email"}, "admin"]}, "b",
			{"and": [{"==": [{"var": "plan.tier"}, "pro"]}, {"sem_ver": [{"var": "version"}, ">=", "2.1.0"]}]}, "c",
			{"in": [{"var": "country"}, ["BR", "PT"]]}, "b", null]}`, "a", "b", "c"),
		logicFlag("split", `{"fractional": [["a", 50], ["b", 30], ["c", 20]]}`, "a", "b", "c"),
		logicFlag("split-attr", `{"fractional": [{"var": "account"}, ["a", 1], ["b", 1]]}`, "a", "b"),
	}}
	snap := mustCompile(t, set)
	ctxs := []flag.Context{
		flag.NewContext("u1", map[string]any{"email": "admin@x.com"}),
		flag.NewContext("u2", map[string]any{"plan": map[string]any{"tier": "pro"}, "version": "2.3.0"}),
		flag.NewContext("u3", map[string]any{"country": "PT", "account": "acct-1"}),
		flag.NewContext("u4", nil),
	}
	for _, key := range []string{"rules", "split", "split-attr"} {
		for i := range ctxs {
			ctx := &ctxs[i]
			if n := testing.AllocsPerRun(100, func() { sink = snap.Evaluate(key, ctx) }); n != 0 {
				t.Errorf("%s with context %d: %v allocs per evaluation, want 0", key, i, n)
			}
		}
	}
}

// TestFlagdHashVectors checks the MurmurHash3 values of flagd-testbed's fractional vectors
// (testdata/flagd/flagd-fractional-vectors.json) and the buckets flagd's current scheme derives from them.
// The full vectors, variants included, run through the importer in internal/flagd.
func TestFlagdHashVectors(t *testing.T) {
	data, err := os.ReadFile("../../testdata/flagd/flagd-fractional-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Vectors []struct {
			Hashed string `json:"hashedStringV1V2"`
			Hash   *int64 `json:"murmur3_32_v1v2"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, v := range file.Vectors {
		if v.Hash == nil {
			continue
		}
		_, h := FlagdBucket(v.Hashed, []int{1})
		if int64(h) != *v.Hash {
			t.Errorf("murmur3(%q) = %d, want %d", v.Hashed, h, *v.Hash)
		}
		checked++
	}
	if checked != 53 {
		t.Fatalf("%d vectors carry a v1/v2 hash, want the file's 53", checked)
	}
	// The bucket arithmetic at the edges: hash 0 is the first bucket, hash 2^32-1 the last.
	for _, c := range []struct {
		value string
		want  int
	}{{"ejOoVL", 0}, {"SI7p-", 0}, {"6LvT0", 1}, {"ceQdGm", 1}} {
		if got, _ := FlagdBucket(c.value, []int{50, 50}); got != c.want {
			t.Errorf("FlagdBucket(%q, 50/50) = %d, want %d", c.value, got, c.want)
		}
	}
}

func BenchmarkEvaluateTargetingNoAlloc(b *testing.B) {
	set := &flag.Set{Flags: []flag.Flag{logicFlag("rules", `{"if": [{"ends_with": [{"var": "email"}, "@example.com"]}, "on",
		{"in": [{"var": "country"}, ["BR", "PT"]]}, {"fractional": [["on", 10], ["off", 90]]}, null]}`, "off", "on")}}
	snap := mustCompile(b, set)
	ctxs := rulesContexts()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sink = snap.Evaluate("rules", &ctxs[i%len(ctxs)])
	}
}

// FuzzTargeting: compiling and evaluating any valid expression never panics, whatever the context.
func FuzzTargeting(f *testing.F) {
	for _, s := range []string{
		`{"if": [{"==": [{"var": "a"}, 1]}, "x", null]}`,
		`{"fractional": [{"var": "a"}, ["x", 1], ["y", {"var": "b"}]]}`,
		`{"sem_ver": [{"var": "a"}, {"var": "b"}, "1.0.0"]}`,
		`{"reduce": [{"var": "a"}, {"+": [{"var": "current"}, {"var": "accumulator"}]}, 0]}`,
		`{"substr": [{"var": "a"}, {"var": "b"}, -1]}`,
		`{"var": [{"var": "a"}, {"missing": ["b"]}]}`,
	} {
		f.Add(s, `{"targetingKey": "k", "a": [1, "2", {"x": null}], "b": 3}`)
	}
	f.Fuzz(func(t *testing.T, expr, ctxJSON string) {
		fl := logicFlag("f", expr, "x", "y")
		snap, err := Compile(&flag.Set{Flags: []flag.Flag{fl}})
		if err != nil {
			return
		}
		var ctx flag.Context
		if json.Unmarshal([]byte(ctxJSON), &ctx) != nil {
			return
		}
		d := snap.Evaluate("f", &ctx)
		if d.Reason == "" {
			t.Fatalf("no reason for %s with %s", expr, ctxJSON)
		}
	})
}
