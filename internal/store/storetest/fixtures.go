package storetest

import (
	"time"

	"github.com/ramphq/ramp/flag"
	"github.com/ramphq/ramp/internal/store"
)

// richFlag uses every field of the model, JSON values of every shape, awkward numbers and times in a zone
// other than UTC, so a backend that drops or reshapes anything fails the round trip.
func richFlag(key string) flag.Flag {
	expires := time.Date(2027, 3, 4, 5, 6, 7, 891011121, time.FixedZone("", -7*3600-30*60))
	created := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	updated := at
	return flag.Flag{
		Key:         key,
		Name:        "Checkout v2 ✓",
		Description: "line 1\nline 2 \"quoted\" <b>&amp;</b> \\ back\tslash é 鍵 🚀",
		Owner:       "team-payments",
		Tags:        []string{"payments", "beta", "Ünïcode"},
		Kind:        flag.KindExperiment,
		Type:        flag.TypeJSON,
		Variations: []flag.Variation{
			{Key: "control", Name: "Control", Description: "the old page", Value: map[string]any{
				"color":  "blue",
				"sizes":  []any{1.0, 2.5, -3e-7, 0.1},
				"nested": map[string]any{"ok": true, "none": nil, "empty": map[string]any{}, "list": []any{}},
			}},
			{Key: "treatment", Value: []any{"a", 1e300, 5e-324, 9007199254740993.0, -0.5, false, nil}},
			{Key: "scalar", Value: "just a string"},
			{Key: "number", Value: 42.0},
			{Key: "null", Value: nil},
		},
		Enabled:      true,
		OffVariation: "control",
		Fallthrough: flag.Serve{Split: &flag.Split{
			Algorithm: flag.BucketingV1, BucketBy: "account.id", Salt: "salt-1",
			Weights: []flag.WeightedServe{{Variation: "control", Weight: 33.333}, {Variation: "treatment", Weight: 66.667}},
		}},
		Prerequisites: []flag.Prerequisite{{Flag: "base", Variation: "on"}},
		Targets: []flag.Target{
			{Attribute: "targetingKey", Values: []string{"user-1", "user-2"}, Variation: "treatment"},
			{Attribute: "team.id", Values: []string{"t-9"}, Variation: "control"},
		},
		Rules: []flag.Rule{
			{ID: "beta", Description: "beta users", Clauses: []flag.Clause{
				{Attribute: "email", Op: flag.OpEndsWith, Values: []any{"@example.com"}, CaseInsensitive: true},
				{Attribute: "plan", Op: flag.OpIn, Values: []any{"pro", 3.0, true}, Negate: true},
				{Attribute: "signup", Op: flag.OpBefore, Values: []any{"2026-01-31T00:00:00Z", 1767225600.0}},
				{Attribute: "beta", Op: flag.OpExists},
			}, Serve: flag.Serve{Variation: "treatment"}},
			{ID: "vip", Clauses: []flag.Clause{{Op: flag.OpInSegment, Values: []any{"vip"}}}, Serve: flag.Serve{
				Split: &flag.Split{Algorithm: flag.BucketingV1, Weights: []flag.WeightedServe{{Variation: "control", Weight: 0.001}, {Variation: "treatment", Weight: 99.999}}},
			}},
		},
		ExpiresAt: &expires,
		CreatedAt: &created,
		UpdatedAt: &updated,
	}
}

// simpleFlag is the smallest flag a control plane would store.
func simpleFlag(key string) flag.Flag {
	return flag.Flag{
		Key:          key,
		Kind:         flag.KindRelease,
		Type:         flag.TypeBoolean,
		Variations:   []flag.Variation{{Key: "on", Value: true}, {Key: "off", Value: false}},
		OffVariation: "off",
		Fallthrough:  flag.Serve{Variation: "on"},
	}
}

func richSegment(key string) flag.Segment {
	return flag.Segment{
		Key:         key,
		Name:        "VIP «customers»",
		Description: "hand-picked\n\"quoted\"",
		Attribute:   "account.id",
		Included:    []string{"a-1", "a-2", "ü"},
		Excluded:    []string{"a-3"},
		Rules: []flag.SegmentRule{
			{ID: "big", Clauses: []flag.Clause{{Attribute: "seats", Op: flag.OpGTE, Values: []any{100.0}}}},
			{ID: "emea", Clauses: []flag.Clause{{Attribute: "country", Op: flag.OpIn, Values: []any{"DE", "FR"}, CaseInsensitive: true}}},
		},
	}
}

func utc(t *time.Time) {
	if t != nil && !t.IsZero() {
		*t = t.UTC()
	}
}

func utcp(p **time.Time) {
	if *p != nil {
		v := (*p).UTC()
		*p = &v
	}
}

// normFlag returns r with every time in UTC (and without a monotonic reading), so reflect.DeepEqual compares
// instants.
func normFlag(r store.FlagRecord) store.FlagRecord {
	utc(&r.UpdatedAt)
	utcp(&r.Flag.ExpiresAt)
	utcp(&r.Flag.CreatedAt)
	utcp(&r.Flag.UpdatedAt)
	return r
}

func normFlags(rs []store.FlagRecord) []store.FlagRecord {
	out := make([]store.FlagRecord, len(rs))
	for i, r := range rs {
		out[i] = normFlag(r)
	}
	return out
}

func normSegment(r store.SegmentRecord) store.SegmentRecord {
	utc(&r.UpdatedAt)
	return r
}

func normProject(p store.Project) store.Project {
	utc(&p.CreatedAt)
	return p
}

func normEnv(e store.Environment) store.Environment {
	utc(&e.CreatedAt)
	return e
}

func normKey(k store.APIKey) store.APIKey {
	utc(&k.CreatedAt)
	utcp(&k.ExpiresAt)
	utcp(&k.RevokedAt)
	utcp(&k.LastUsedAt)
	return k
}

func normKeys(ks []store.APIKey) []store.APIKey {
	out := make([]store.APIKey, len(ks))
	for i, k := range ks {
		out[i] = normKey(k)
	}
	return out
}

func ptr[T any](v T) *T { return &v }
