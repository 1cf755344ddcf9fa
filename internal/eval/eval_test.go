package eval

import (
	"strconv"
	"testing"

	"github.com/ramphq/ramp/flag"
)

// TestEvaluateNoAlloc holds the evaluation path to zero allocations for every kind of result.
func TestEvaluateNoAlloc(t *testing.T) {
	set := rulesSet()
	set.Segments = []flag.Segment{{Key: "beta", Included: []string{"user-3"},
		Rules: []flag.SegmentRule{{Clauses: []flag.Clause{{Attribute: "plan.tier", Op: flag.OpIn, Values: []any{"pro"}}}}}}}
	set.Flags = append(set.Flags, flag.Flag{
		Key: "rich", Type: flag.TypeString, Enabled: true, OffVariation: "a",
		Variations:    []flag.Variation{{Key: "a", Value: "A"}, {Key: "b", Value: "B"}, {Key: "c", Value: "C"}},
		Prerequisites: []flag.Prerequisite{{Flag: "static", Variation: "on"}},
		Targets:       []flag.Target{{Attribute: "team.id", Values: []string{"t1", "t2"}, Variation: "b"}},
		Rules: []flag.Rule{
			{ID: "beta", Clauses: []flag.Clause{{Op: flag.OpInSegment, Values: []any{"beta"}}}, Serve: flag.Serve{Variation: "c"}},
			{ID: "version", Clauses: []flag.Clause{{Attribute: "app.version", Op: flag.OpSemverGTE, Values: []any{"2.1.0"}}}, Serve: flag.Serve{Variation: "b"}},
			{ID: "seats", Clauses: []flag.Clause{{Attribute: "seats", Op: flag.OpGT, Values: []any{100}}}, Serve: flag.Serve{Variation: "c"}},
			{ID: "mail", Clauses: []flag.Clause{{Attribute: "email", Op: flag.OpMatches, Values: []any{`@corp\.example$`}, CaseInsensitive: true}}, Serve: flag.Serve{Variation: "c"}},
		},
		Fallthrough: flag.Serve{Split: &flag.Split{BucketBy: "account.id", Weights: []flag.WeightedServe{{Variation: "a", Weight: 50}, {Variation: "b", Weight: 50}}}},
	})
	snap := mustCompile(t, set)
	contexts := map[string]flag.Context{
		"team target": flag.NewContext("u", map[string]any{"team": map[string]any{"id": "t2"}}),
		"segment":     flag.NewContext("u", map[string]any{"plan": map[string]any{"tier": "pro"}}),
		"semver":      flag.NewContext("u", map[string]any{"app.version": "2.3.0-beta.1"}),
		"number":      flag.NewContext("u", map[string]any{"seats": 250}),
		"regexp":      flag.NewContext("u", map[string]any{"email": "Ana@Corp.Example"}),
		"split":       flag.NewContext("u", map[string]any{"account": map[string]any{"id": "acct-9"}}),
		"numeric key": flag.NewContext("u", map[string]any{"account": map[string]any{"id": 12345}}),
		"missing key": flag.NewContext("u", nil),
	}
	for name, ctx := range contexts {
		d := snap.Evaluate("rich", &ctx)
		if d.IsError() {
			t.Fatalf("%s: %+v", name, d)
		}
		if n := testing.AllocsPerRun(100, func() { sink = snap.Evaluate("rich", &ctx) }); n != 0 {
			t.Errorf("%s (%s): %v allocs per evaluation, want 0", name, d.Reason, n)
		}
	}
	ctxs := rulesContexts()
	for _, key := range []string{"static", "ai-assistant", "missing"} {
		if n := testing.AllocsPerRun(100, func() { sink = snap.Evaluate(key, &ctxs[7]) }); n != 0 {
			t.Errorf("%s: %v allocs per evaluation, want 0", key, n)
		}
	}
}

func TestRulesBenchmarkFlag(t *testing.T) {
	snap := mustCompile(t, rulesSet())
	ctxs := rulesContexts()
	counts := map[string]int{}
	for i := range ctxs {
		d := snap.Evaluate("ai-assistant", &ctxs[i])
		counts[string(d.Reason)+"/"+d.Variant+"/"+d.RuleID]++
		if i%4 == 0 && (d.RuleID != "staff" || d.Value != true) {
			t.Fatalf("user-%d: %+v, want the staff rule", i, d)
		}
	}
	// 250 staff; of the other 750, 300 are in BR/PT and about 10 % of those get true; 450 fall through.
	if counts["TARGETING_MATCH/on/staff"] != 250 || counts["DEFAULT/off/"] != 450 {
		t.Fatalf("unexpected distribution %v", counts)
	}
	if on := counts["SPLIT/on/br-pt"]; on < 15 || on > 50 {
		t.Fatalf("%d of 300 BR/PT users in the 10 %% split, want about 30: %v", on, counts)
	}
}

// TestSplitDistribution: over 1,000,000 keys every variation's share lands within ±0.2 percentage points of
// its weight (six standard deviations for a 10 % share: a failure means a biased hash, not bad luck).
func TestSplitDistribution(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000,000 evaluations")
	}
	for _, weights := range [][]float64{{10, 90}, {33.333, 33.333, 33.334}, {0.5, 49.5, 25, 25}} {
		f := flag.Flag{Key: "dist", Type: flag.TypeString, Enabled: true, OffVariation: "v0"}
		sp := &flag.Split{}
		for i, w := range weights {
			k := "v" + strconv.Itoa(i)
			f.Variations = append(f.Variations, flag.Variation{Key: k, Value: k})
			sp.Weights = append(sp.Weights, flag.WeightedServe{Variation: k, Weight: w})
		}
		f.Fallthrough.Split = sp
		snap := mustCompile(t, &flag.Set{Flags: []flag.Flag{f}})
		const n = 1_000_000
		counts := make(map[string]int)
		for i := 0; i < n; i++ {
			ctx := flag.Context{TargetingKey: "user-" + strconv.Itoa(i)}
			counts[snap.Evaluate("dist", &ctx).Variant]++
		}
		for i, w := range weights {
			got := 100 * float64(counts["v"+strconv.Itoa(i)]) / n
			if got < w-0.2 || got > w+0.2 {
				t.Errorf("weights %v: v%d got %.3f %%, want %.3f ± 0.2", weights, i, got, w)
			}
		}
	}
}

// TestSplitMonotonic: raising the first variation's weight only ever moves contexts into it.
func TestSplitMonotonic(t *testing.T) {
	const users = 20_000
	prev := make([]bool, users)
	for pct := 0.0; pct <= 100; pct += 2.5 {
		f := flag.Flag{Key: "ramp", Type: flag.TypeBoolean, Enabled: true, OffVariation: "off",
			Variations: []flag.Variation{{Key: "on", Value: true}, {Key: "off", Value: false}},
			Fallthrough: flag.Serve{Split: &flag.Split{Weights: []flag.WeightedServe{
				{Variation: "on", Weight: pct}, {Variation: "off", Weight: 100 - pct}}}}}
		snap := mustCompile(t, &flag.Set{Flags: []flag.Flag{f}})
		on := 0
		for i := 0; i < users; i++ {
			ctx := flag.Context{TargetingKey: "u" + strconv.Itoa(i)}
			now := snap.Evaluate("ramp", &ctx).Value == true
			if prev[i] && !now {
				t.Fatalf("user u%d left the rollout when it grew to %.1f %%", i, pct)
			}
			prev[i] = now
			if now {
				on++
			}
		}
		if pct == 100 && on != users {
			t.Fatalf("at 100 %% only %d of %d users are on", on, users)
		}
		if pct == 0 && on != 0 {
			t.Fatalf("at 0 %% %d users are on", on)
		}
	}
}

func TestSaltChangesAssignment(t *testing.T) {
	if Bucket("a", "user-1") == Bucket("b", "user-1") && Bucket("a", "user-2") == Bucket("b", "user-2") {
		t.Fatal("salt does not affect buckets")
	}
	if Bucket("ab", "c") == Bucket("a", "bc") {
		t.Fatal("length prefixes fail to separate salt and value")
	}
}

func TestPrerequisiteCycleRejected(t *testing.T) {
	mk := func(key, pre string) flag.Flag {
		return flag.Flag{Key: key, Type: flag.TypeBoolean, Enabled: true, OffVariation: "off",
			Variations:    []flag.Variation{{Key: "on", Value: true}, {Key: "off", Value: false}},
			Prerequisites: []flag.Prerequisite{{Flag: pre, Variation: "on"}},
			Fallthrough:   flag.Serve{Variation: "on"}}
	}
	_, err := Compile(&flag.Set{Flags: []flag.Flag{mk("a", "b"), mk("b", "c"), mk("c", "a")}})
	if err == nil {
		t.Fatal("compiled a prerequisite cycle")
	}
	if flag.KindOf(err) != flag.KindInvalid {
		t.Fatalf("kind %q", flag.KindOf(err))
	}
	t.Log(err)
}

func TestNilSnapshotAndContext(t *testing.T) {
	var s *Snapshot
	if d := s.Evaluate("x", nil); d.ErrorCode != flag.ErrorGeneral {
		t.Fatalf("nil snapshot: %+v", d)
	}
	snap := mustCompile(t, rulesSet())
	if d := snap.Evaluate("ai-assistant", nil); d.Reason != flag.ReasonDefault || d.Value != false {
		t.Fatalf("nil context: %+v", d)
	}
}

func TestCompileLargeSet(t *testing.T) {
	snap := mustCompile(t, manyFlags(10_000))
	if snap.Len() != 10_000 {
		t.Fatal(snap.Len())
	}
	for i := 0; i < 10_000; i += 997 {
		if _, ok := snap.Type("flag-" + strconv.Itoa(i)); !ok {
			t.Fatalf("flag-%d missing", i)
		}
	}
	if _, ok := snap.Type("flag-10000"); ok {
		t.Fatal("found a flag that does not exist")
	}
}
