package eval

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/ramphq/ramp/flag"
)

// rulesFlag is the flag of the rules benchmark: rule 1 email ends_with @example.com → true; rule 2
// country in [BR, PT] → 10 % true / 90 % false on targetingKey; default false.
func rulesSet() *flag.Set {
	return &flag.Set{Flags: []flag.Flag{
		{
			Key: "static", Type: flag.TypeBoolean, Enabled: true, OffVariation: "off",
			Variations:  []flag.Variation{{Key: "on", Value: true}, {Key: "off", Value: false}},
			Fallthrough: flag.Serve{Variation: "on"},
		},
		{
			Key: "ai-assistant", Type: flag.TypeBoolean, Enabled: true, OffVariation: "off",
			Variations: []flag.Variation{{Key: "on", Value: true}, {Key: "off", Value: false}},
			Rules: []flag.Rule{
				{ID: "staff", Clauses: []flag.Clause{{Attribute: "email", Op: flag.OpEndsWith, Values: []any{"@example.com"}}}, Serve: flag.Serve{Variation: "on"}},
				{ID: "br-pt", Clauses: []flag.Clause{{Attribute: "country", Op: flag.OpIn, Values: []any{"BR", "PT"}}},
					Serve: flag.Serve{Split: &flag.Split{Weights: []flag.WeightedServe{{Variation: "on", Weight: 10}, {Variation: "off", Weight: 90}}}}},
			},
			Fallthrough: flag.Serve{Variation: "off"},
		},
	}}
}

func rulesContexts() []flag.Context {
	countries := []string{"BR", "PT", "US", "FR", "DE"}
	ctxs := make([]flag.Context, 1000)
	for i := range ctxs {
		key := "user-" + strconv.Itoa(i)
		email := key + "@mail.test"
		if i%4 == 0 {
			email = key + "@example.com"
		}
		ctxs[i] = flag.NewContext(key, map[string]any{"email": email, "country": countries[i%5]})
	}
	return ctxs
}

func mustCompile(tb testing.TB, s *flag.Set) *Snapshot {
	tb.Helper()
	snap, err := Compile(s)
	if err != nil {
		tb.Fatal(err)
	}
	return snap
}

var sink flag.Detail

func BenchmarkEvaluateStaticNoAlloc(b *testing.B) {
	snap := mustCompile(b, rulesSet())
	ctx := &flag.Context{TargetingKey: "user-1"}
	b.ReportAllocs()
	for b.Loop() {
		sink = snap.Evaluate("static", ctx)
	}
}

func BenchmarkEvaluateRulesNoAlloc(b *testing.B) {
	snap := mustCompile(b, rulesSet())
	ctxs := rulesContexts()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		sink = snap.Evaluate("ai-assistant", &ctxs[i])
		i++
		if i == len(ctxs) {
			i = 0
		}
	}
}

// BenchmarkEvaluateFlagCount shows that evaluation cost does not grow with the number of flags.
func BenchmarkEvaluateFlagCount(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprintf("flags=%d", n), func(b *testing.B) {
			snap := mustCompile(b, manyFlags(n))
			ctxs := rulesContexts()
			key := "flag-" + strconv.Itoa(n/2)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				sink = snap.Evaluate(key, &ctxs[i])
				i++
				if i == len(ctxs) {
					i = 0
				}
			}
		})
	}
}

func manyFlags(n int) *flag.Set {
	base := rulesSet().Flags[1]
	s := &flag.Set{Flags: make([]flag.Flag, n)}
	for i := range s.Flags {
		f := base
		f.Key = "flag-" + strconv.Itoa(i)
		f.Rules = append([]flag.Rule(nil), base.Rules...)
		s.Flags[i] = f
	}
	return s
}

// BenchmarkCompile10000 compiles a 10,000-flag set (the budget is under 1 s per op).
func BenchmarkCompile10000(b *testing.B) {
	for b.Loop() {
		if _, err := Compile(manyFlags(10_000)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTargetLookup shows individual-target lookups cost the same for 10 and 100,000 ids.
func BenchmarkTargetLookup(b *testing.B) {
	for _, n := range []int{10, 100_000} {
		b.Run(fmt.Sprintf("ids=%d", n), func(b *testing.B) {
			ids := make([]string, n)
			for i := range ids {
				ids[i] = "user-" + strconv.Itoa(i*2) // even users are targeted
			}
			set := &flag.Set{Flags: []flag.Flag{{
				Key: "beta", Type: flag.TypeBoolean, Enabled: true, OffVariation: "off",
				Variations:  []flag.Variation{{Key: "on", Value: true}, {Key: "off", Value: false}},
				Targets:     []flag.Target{{Values: ids, Variation: "on"}},
				Fallthrough: flag.Serve{Variation: "off"},
			}}}
			snap := mustCompile(b, set)
			ctxs := make([]flag.Context, 1024)
			for i := range ctxs {
				ctxs[i] = flag.Context{TargetingKey: "user-" + strconv.Itoa(i%20)}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				sink = snap.Evaluate("beta", &ctxs[i&1023])
				i++
			}
		})
	}
}
