package eval

import (
	"fmt"

	"github.com/ramphq/ramp/flag"
)

// Snapshot is a compiled, immutable flag set. It is safe for concurrent use; to change flags, compile a new one.
type Snapshot struct {
	table table
	keys  []string
}

// cflag is a compiled flag.
type cflag struct {
	key     string
	typ     flag.ValueType
	enabled bool
	static  *flag.Detail // set when the result cannot depend on the context: disabled, or no targeting at all

	off      flag.Detail // DISABLED
	prereqs  []prereq
	targets  []target
	rules    []rule
	logic    *logic // a flagd targeting expression, in place of targets and rules
	fallback serve
}

type prereq struct {
	flag    *cflag
	variant string
	failed  flag.Detail // PREREQUISITE_FAILED
}

type target struct {
	by     path
	ids    map[string]struct{}
	detail flag.Detail // TARGETING_MATCH
}

type rule struct {
	clauses []clause
	serve   serve
}

// serve is a compiled variation or split with every possible result precomputed.
type serve struct {
	detail  flag.Detail   // the result when there is no split
	split   *split        // nil for a plain variation
	byIndex []flag.Detail // split results by variation index
	missing flag.Detail   // BUCKETING_KEY_MISSING
	invalid flag.Detail   // INVALID_CONTEXT
}

// Compile validates set and compiles it into a Snapshot. It returns the validation error (a *flag.Error listing
// every problem, including prerequisite cycles) when the set is invalid. set is normalized in place.
func Compile(set *flag.Set) (*Snapshot, error) {
	set.Normalize()
	if err := set.Validate(); err != nil {
		return nil, err
	}
	segs := compileSegments(set.Segments)
	flags := make(map[string]*cflag, len(set.Flags))
	snap := &Snapshot{table: newTable(len(set.Flags)), keys: make([]string, 0, len(set.Flags))}
	for i := range set.Flags {
		f := &set.Flags[i]
		flags[f.Key] = &cflag{key: f.Key, typ: f.Type, enabled: f.Enabled}
		snap.table.put(f.Key, flags[f.Key])
		snap.keys = append(snap.keys, f.Key)
	}
	for i := range set.Flags {
		if err := compileFlag(&set.Flags[i], flags[set.Flags[i].Key], flags, segs); err != nil {
			return nil, &flag.Error{Kind: flag.KindInvalid, Message: "invalid flag set",
				Problems: []flag.Problem{{Path: fmt.Sprintf("flags[%d].targeting", i), Message: err.Error()}}}
		}
	}
	return snap, nil
}

// compileSegments compiles segments in two passes, so that in_segment clauses can refer to any of them.
func compileSegments(gs []flag.Segment) map[string]*segment {
	segs := make(map[string]*segment, len(gs))
	for i := range gs {
		g := &gs[i]
		segs[g.Key] = &segment{by: compilePath(g.Attribute), included: idSet(g.Included), excluded: idSet(g.Excluded)}
	}
	for i := range gs {
		g := &gs[i]
		s := segs[g.Key]
		for _, r := range g.Rules {
			s.rules = append(s.rules, compileClauses(r.Clauses, segs))
		}
	}
	return segs
}

func idSet(ids []string) map[string]struct{} {
	if len(ids) == 0 {
		return nil
	}
	m := make(map[string]struct{}, len(ids))
	for _, id := range ids {
		m[id] = struct{}{}
	}
	return m
}

func compileClauses(cs []flag.Clause, segs map[string]*segment) []clause {
	out := make([]clause, len(cs))
	for i := range cs {
		out[i] = compileClause(&cs[i], segs)
	}
	return out
}

func compileFlag(f *flag.Flag, c *cflag, flags map[string]*cflag, segs map[string]*segment) error {
	index := make(map[string]int, len(f.Variations))
	for i, v := range f.Variations {
		index[v.Key] = i
	}
	result := func(variation string, reason flag.Reason, ruleID string) flag.Detail {
		v := f.Variations[index[variation]]
		return flag.Detail{Value: boxValue(f.Type, v.Value), Variant: v.Key, Reason: reason, RuleID: ruleID}
	}
	c.off = result(f.OffVariation, flag.ReasonDisabled, "")
	for _, p := range f.Prerequisites {
		failed := result(f.OffVariation, flag.ReasonPrerequisiteFailed, "")
		failed.PrerequisiteKey = p.Flag
		c.prereqs = append(c.prereqs, prereq{flag: flags[p.Flag], variant: p.Variation, failed: failed})
	}
	for _, t := range f.Targets {
		c.targets = append(c.targets, target{
			by:     compilePath(t.Attribute),
			ids:    idSet(t.Values),
			detail: result(t.Variation, flag.ReasonTargetingMatch, "target:"+t.Attribute),
		})
	}
	compileServe := func(s *flag.Serve, reason flag.Reason, ruleID string) serve {
		if s.Split == nil && s.Variation == "" {
			return serve{detail: flag.Detail{Reason: flag.ReasonDefault}} // no default: the caller's own
		}
		if s.Split == nil {
			return serve{detail: result(s.Variation, reason, ruleID)}
		}
		sv := serve{
			split:   compileSplit(s.Split, f.Key, index),
			byIndex: make([]flag.Detail, len(f.Variations)),
			missing: result(f.OffVariation, flag.ReasonBucketingKeyMissing, ruleID),
			invalid: flag.Detail{Reason: flag.ReasonError, ErrorCode: flag.ErrorInvalidContext,
				ErrorMessage: "the split's bucketing attribute " + s.Split.BucketBy + " is not a string or number"},
		}
		for _, v := range f.Variations {
			sv.byIndex[index[v.Key]] = result(v.Key, flag.ReasonSplit, ruleID)
		}
		return sv
	}
	for i := range f.Rules {
		r := &f.Rules[i]
		c.rules = append(c.rules, rule{clauses: compileClauses(r.Clauses, segs), serve: compileServe(&r.Serve, flag.ReasonTargetingMatch, r.ID)})
	}
	reason := flag.ReasonDefault
	if len(f.Prerequisites) == 0 && len(f.Targets) == 0 && len(f.Rules) == 0 && !f.HasTargeting() {
		reason = flag.ReasonStatic
	}
	c.fallback = compileServe(&f.Fallthrough, reason, "")
	if f.HasTargeting() {
		l, err := compileTargeting(f, func(variation string, reason flag.Reason) flag.Detail {
			return result(variation, reason, "")
		}, &c.fallback)
		if err != nil {
			return err
		}
		c.logic = l
	}
	switch {
	case !f.Enabled:
		c.static = &c.off
	case reason == flag.ReasonStatic && c.fallback.split == nil:
		c.static = &c.fallback.detail
	}
	return nil
}

// boxValue converts a variation value to the form evaluation returns: float64 for numbers, the JSON value as
// decoded otherwise. It runs at compile time so evaluation never boxes.
func boxValue(t flag.ValueType, v any) any {
	if t == flag.TypeNumber {
		if n, ok := flag.AsNumber(v); ok {
			return n
		}
	}
	return v
}

// Len returns the number of flags.
func (s *Snapshot) Len() int { return len(s.keys) }

// Keys returns the flag keys in the order of the set they were compiled from.
func (s *Snapshot) Keys() []string { return append([]string(nil), s.keys...) }

// Type returns a flag's value type, and false when there is no such flag.
func (s *Snapshot) Type(key string) (flag.ValueType, bool) {
	f := s.table.get(key)
	if f == nil {
		return "", false
	}
	return f.typ, true
}
