package flagd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ramphq/ramp/flag"
)

// SchemaURL is the JSON schema of flagd's flag-definition format, written into exported files.
const SchemaURL = "https://flagd.dev/schema/v0/flags.json"

// exported is one flagd flag as Export writes it.
type exported struct {
	State          string          `json:"state"`
	Variants       map[string]any  `json:"variants"`
	DefaultVariant *string         `json:"defaultVariant"`
	Targeting      json.RawMessage `json:"targeting,omitempty"`
	Metadata       map[string]any  `json:"metadata,omitempty"`
}

// Export writes a ramp flag set as a flagd flag file (JSON, two-space indent, flags by key).
//
// A flag's targeting expression is copied as it is. A disabled flag keeps its targeting, for when it is enabled
// again (flagd then serves the caller's default, not the off variation). Native targeting is translated into one JsonLogic "if"
// chain: targets become "in" tests, rules "and"s of their clauses, segments are inlined, and percentage splits
// become fractional. Two things change on the way:
//   - splits are re-bucketed: flagd hashes with MurmurHash3, not ramp-v1's xxHash, so contexts land in other
//     variations (in the same proportions); the weights keep ramp's 0.001 % resolution;
//   - flagd has no reasons SPLIT and BUCKETING_KEY_MISSING: such results come back as TARGETING_MATCH.
//
// What flagd cannot express is refused with an error naming the flag: prerequisites, the matches, before and
// after operators, case-insensitive clauses, and a split fallthrough behind a targeting expression.
func Export(set *flag.Set) ([]byte, error) {
	segs := make(map[string]*flag.Segment, len(set.Segments))
	for i := range set.Segments {
		segs[set.Segments[i].Key] = &set.Segments[i]
	}
	flags := make(map[string]exported, len(set.Flags))
	for i := range set.Flags {
		f := &set.Flags[i]
		e, err := exportFlag(f, segs)
		if err != nil {
			return nil, fmt.Errorf("flag %q: %w", f.Key, err)
		}
		flags[f.Key] = e
	}
	out := struct {
		Schema string              `json:"$schema"`
		Flags  map[string]exported `json:"flags"`
	}{SchemaURL, flags}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func exportFlag(f *flag.Flag, segs map[string]*flag.Segment) (exported, error) {
	e := exported{State: "DISABLED", Variants: make(map[string]any, len(f.Variations))}
	if f.Enabled {
		e.State = "ENABLED"
	}
	for _, v := range f.Variations {
		e.Variants[v.Key] = v.Value
	}
	meta := map[string]any{}
	for k, v := range map[string]string{"name": f.Name, "description": f.Description, "owner": f.Owner} {
		if v != "" {
			meta[k] = v
		}
	}
	if len(meta) > 0 {
		e.Metadata = meta
	}
	if len(f.Prerequisites) > 0 {
		return e, fmt.Errorf("prerequisites[0]: flagd has no prerequisites")
	}
	def := func(key string) *string { return &key }
	if f.HasTargeting() {
		switch {
		case f.Fallthrough.Split != nil:
			return e, fmt.Errorf("fallthrough: a split behind a targeting expression has no flagd equivalent")
		case f.Fallthrough.Variation != "":
			e.DefaultVariant = def(f.Fallthrough.Variation)
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, f.Targeting); err != nil {
			return e, fmt.Errorf("targeting: %v", err)
		}
		if buf.String() != "null" {
			e.Targeting = buf.Bytes()
		}
		return e, nil
	}
	x := translator{flag: f, segs: segs}
	var chain []any
	for _, t := range f.Targets {
		ids := make([]any, len(t.Values))
		for k, id := range t.Values {
			ids[k] = id
		}
		chain = append(chain, map[string]any{"in": []any{varOf(t.Attribute), ids}}, t.Variation)
	}
	for i, r := range f.Rules {
		cond, err := x.clauses(r.Clauses)
		if err != nil {
			return e, fmt.Errorf("rules[%d].%v", i, err)
		}
		serve, err := x.serve(r.Serve)
		if err != nil {
			return e, fmt.Errorf("rules[%d].serve: %v", i, err)
		}
		chain = append(chain, cond, serve)
	}
	if f.Fallthrough.Split != nil {
		serve, err := x.serve(f.Fallthrough)
		if err != nil {
			return e, fmt.Errorf("fallthrough: %v", err)
		}
		// The split decides everyone the targets and rules leave; the default variant is what flagd serves
		// when the expression returns null, which it then never does.
		chain = append(chain, serve)
		e.DefaultVariant = def(f.OffVariation)
	} else if f.Fallthrough.Variation != "" {
		e.DefaultVariant = def(f.Fallthrough.Variation)
	}
	switch len(chain) {
	case 0:
		return e, nil
	case 1:
		e.Targeting = mustJSON(chain[0])
	default:
		e.Targeting = mustJSON(map[string]any{"if": chain})
	}
	return e, nil
}

func mustJSON(v any) json.RawMessage {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // unreachable: the tree holds only JSON values
	}
	return bytes.TrimSpace(buf.Bytes())
}

func varOf(attr string) map[string]any {
	if attr == "" {
		attr = flag.TargetingKeyAttribute
	}
	return map[string]any{"var": attr}
}

// translator turns native targeting into JsonLogic.
type translator struct {
	flag  *flag.Flag
	segs  map[string]*flag.Segment
	depth int // segment nesting, bounded by validation's cycle check
}

func (x *translator) clauses(cs []flag.Clause) (any, error) {
	terms := make([]any, 0, len(cs))
	for i := range cs {
		t, err := x.clause(&cs[i])
		if err != nil {
			return nil, fmt.Errorf("clauses[%d]: %v", i, err)
		}
		terms = append(terms, t)
	}
	if len(terms) == 1 {
		return terms[0], nil
	}
	return map[string]any{"and": terms}, nil
}

// clause translates one clause. ramp's rule that a clause on a missing attribute never matches, negated or not,
// becomes an explicit presence test where the JsonLogic operator alone would say otherwise.
func (x *translator) clause(c *flag.Clause) (any, error) {
	if c.CaseInsensitive {
		return nil, fmt.Errorf("caseInsensitive has no flagd equivalent")
	}
	v := varOf(c.Attribute)
	present := map[string]any{"!=": []any{v, nil}}
	anyOf := func(build func(val any) any) any {
		terms := make([]any, len(c.Values))
		for i, val := range c.Values {
			terms[i] = build(val)
		}
		if len(terms) == 1 {
			return terms[0]
		}
		return map[string]any{"or": terms}
	}
	var holds any
	switch c.Op {
	case flag.OpIn, "equals", flag.OpNotIn:
		vals := append([]any(nil), c.Values...)
		holds = map[string]any{"in": []any{v, vals}}
		if c.Op == flag.OpNotIn {
			holds = map[string]any{"!": holds}
		}
	case flag.OpContains:
		holds = anyOf(func(val any) any { return map[string]any{"in": []any{val, v}} })
	case flag.OpStartsWith:
		holds = anyOf(func(val any) any { return map[string]any{"starts_with": []any{v, val}} })
	case flag.OpEndsWith:
		holds = anyOf(func(val any) any { return map[string]any{"ends_with": []any{v, val}} })
	case flag.OpLT, flag.OpLTE, flag.OpGT, flag.OpGTE:
		op := map[flag.Operator]string{flag.OpLT: "<", flag.OpLTE: "<=", flag.OpGT: ">", flag.OpGTE: ">="}[c.Op]
		holds = anyOf(func(val any) any { return map[string]any{op: []any{v, val}} })
	case flag.OpSemverEQ, flag.OpSemverLT, flag.OpSemverLTE, flag.OpSemverGT, flag.OpSemverGTE:
		op := map[flag.Operator]string{flag.OpSemverEQ: "=", flag.OpSemverLT: "<", flag.OpSemverLTE: "<=",
			flag.OpSemverGT: ">", flag.OpSemverGTE: ">="}[c.Op]
		holds = anyOf(func(val any) any { return map[string]any{"sem_ver": []any{v, op, val}} })
	case flag.OpExists:
		if c.Negate {
			return map[string]any{"==": []any{v, nil}}, nil
		}
		return present, nil
	case flag.OpInSegment:
		terms := make([]any, 0, len(c.Values))
		for _, val := range c.Values {
			key, _ := val.(string)
			t, err := x.segment(key)
			if err != nil {
				return nil, err
			}
			terms = append(terms, t)
		}
		holds = terms[0]
		if len(terms) > 1 {
			holds = map[string]any{"or": terms}
		}
		if c.Negate {
			return map[string]any{"!": holds}, nil
		}
		return holds, nil
	default:
		return nil, fmt.Errorf("op: %s has no flagd equivalent", c.Op)
	}
	if c.Negate {
		holds = map[string]any{"!": holds}
	}
	switch {
	case c.Negate, c.Op == flag.OpNotIn, c.Op == flag.OpLT, c.Op == flag.OpLTE, c.Op == flag.OpGT, c.Op == flag.OpGTE:
		// JsonLogic reads a missing attribute as null (0 in comparisons); in ramp such a clause never matches.
		return map[string]any{"and": []any{present, holds}}, nil
	}
	return holds, nil
}

// segment inlines a segment's membership test: excluded → false, included → true, else any rule.
func (x *translator) segment(key string) (any, error) {
	g := x.segs[key]
	if g == nil {
		return nil, fmt.Errorf("unknown segment %q", key)
	}
	if x.depth > 32 {
		return nil, fmt.Errorf("segments nested too deeply")
	}
	x.depth++
	defer func() { x.depth-- }()
	var chain []any
	idList := func(ids []string) []any {
		out := make([]any, len(ids))
		for i, id := range ids {
			out[i] = id
		}
		return out
	}
	v := varOf(g.Attribute)
	if len(g.Excluded) > 0 {
		chain = append(chain, map[string]any{"in": []any{v, idList(g.Excluded)}}, false)
	}
	if len(g.Included) > 0 {
		chain = append(chain, map[string]any{"in": []any{v, idList(g.Included)}}, true)
	}
	rules := make([]any, 0, len(g.Rules))
	for i, r := range g.Rules {
		t, err := x.clauses(r.Clauses)
		if err != nil {
			return nil, fmt.Errorf("segment %q: rules[%d].%v", key, i, err)
		}
		rules = append(rules, t)
	}
	var last any = false
	switch len(rules) {
	case 0:
	case 1:
		last = map[string]any{"!!": []any{rules[0]}}
	default:
		last = map[string]any{"!!": []any{map[string]any{"or": rules}}}
	}
	if len(chain) == 0 {
		return last, nil
	}
	return map[string]any{"if": append(chain, last)}, nil
}

// serve translates a serve: a variation key, or a split as fractional over the split's bucketing attribute.
// A context without that attribute gets the off variation, as in ramp (there with BUCKETING_KEY_MISSING).
func (x *translator) serve(s flag.Serve) (any, error) {
	if s.Split == nil {
		return s.Variation, nil
	}
	sp := s.Split
	dists := make([]any, 0, len(sp.Weights)+1)
	by := sp.BucketBy
	if by == "" {
		by = flag.TargetingKeyAttribute
	}
	salt := sp.Salt
	if by != flag.TargetingKeyAttribute || (salt != "" && salt != x.flag.Key) {
		if salt == "" {
			salt = x.flag.Key
		}
		dists = append(dists, map[string]any{"cat": []any{salt, varOf(by)}})
	}
	for _, w := range sp.Weights {
		dists = append(dists, []any{w.Variation, w.Units()})
	}
	frac := map[string]any{"fractional": dists}
	return map[string]any{"if": []any{map[string]any{"==": []any{varOf(by), nil}}, x.flag.OffVariation, frac}}, nil
}

// Notes returns what a user should know before relying on an export of set: the flags whose splits flagd will
// re-bucket, and the disabled flags, for which flagd serves the caller's default instead of the off variation.
func Notes(set *flag.Set) []string {
	var splits, disabled []string
	for i := range set.Flags {
		f := &set.Flags[i]
		if !f.Enabled {
			disabled = append(disabled, f.Key)
		}
		has := f.Fallthrough.Split != nil
		for _, r := range f.Rules {
			has = has || r.Serve.Split != nil
		}
		if has {
			splits = append(splits, f.Key)
		}
	}
	var notes []string
	if len(splits) > 0 {
		notes = append(notes, "splits become flagd fractional, which buckets with MurmurHash3: contexts are re-bucketed (same weights, other members): "+strings.Join(splits, ", "))
	}
	if len(disabled) > 0 {
		notes = append(notes, "flagd serves the caller's default value for disabled flags, not the off variation: "+strings.Join(disabled, ", "))
	}
	return notes
}
