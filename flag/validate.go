package flag

import (
	"fmt"
	"math"
	"regexp/syntax"
	"strconv"
	"strings"
)

// Limits enforced by validation. They keep a hostile or mistaken flag file from making evaluation slow.
const (
	MaxKeyLength     = 128
	MaxPatternLength = 1024 // bytes of a "matches" pattern
	MaxRegexpProgram = 5000 // instructions of a compiled "matches" pattern
	MaxPathDepth     = 16   // segments of an attribute path
)

// validKey reports whether k matches ^[A-Za-z0-9][A-Za-z0-9_.-]*$ (written out: validation runs on every
// write of every flag in an environment, and a regexp match per key was a measurable part of that).
func validKey(k string) bool {
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case i > 0 && (c == '_' || c == '.' || c == '-'):
		default:
			return false
		}
	}
	return k != ""
}

// Normalize fills in defaults so that the stored and encoded form of a set is explicit: the kind ("release"),
// rule ids ("rule-N"), target and segment attributes ("targetingKey"), split algorithms ([BucketingV1]), and the
// operator alias "equals" ("in"); an empty targeting expression ({}) is dropped. It is idempotent and does not
// validate.
func (s *Set) Normalize() {
	for i := range s.Flags {
		f := &s.Flags[i]
		if f.Kind == "" {
			f.Kind = KindRelease
		}
		normalizeTargeting(f)
		for j := range f.Targets {
			if f.Targets[j].Attribute == "" {
				f.Targets[j].Attribute = TargetingKeyAttribute
			}
		}
		normalizeServe(&f.Fallthrough)
		for j := range f.Rules {
			r := &f.Rules[j]
			if r.ID == "" {
				r.ID = "rule-" + strconv.Itoa(j+1)
			}
			normalizeClauses(r.Clauses)
			normalizeServe(&r.Serve)
		}
	}
	for i := range s.Segments {
		g := &s.Segments[i]
		if g.Attribute == "" {
			g.Attribute = TargetingKeyAttribute
		}
		for j := range g.Rules {
			if g.Rules[j].ID == "" {
				g.Rules[j].ID = "rule-" + strconv.Itoa(j+1)
			}
			normalizeClauses(g.Rules[j].Clauses)
		}
	}
}

func normalizeServe(s *Serve) {
	if s.Split == nil {
		return
	}
	if s.Split.Algorithm == "" {
		s.Split.Algorithm = BucketingV1
	}
	if s.Split.BucketBy == "" {
		s.Split.BucketBy = TargetingKeyAttribute
	}
}

func normalizeClauses(cs []Clause) {
	for k := range cs {
		if cs[k].Op == "equals" {
			cs[k].Op = OpIn
		}
	}
}

// validator collects problems with their paths.
type validator struct {
	problems []Problem
	segments map[string]int
	flags    map[string]int
	set      *Set
}

func (v *validator) addf(path, format string, args ...any) {
	v.problems = append(v.problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// Validate checks the whole set and reports every problem it finds, each with its path, as an *Error of kind
// [KindInvalid]. It accepts both normalized and unnormalized sets. Prerequisite and segment cycles are problems.
func (s *Set) Validate() error {
	v := &validator{set: s, segments: map[string]int{}, flags: map[string]int{}}
	for i, g := range s.Segments {
		p := "segments[" + strconv.Itoa(i) + "]"
		if !v.key(p+".key", g.Key) {
			continue
		}
		if j, dup := v.segments[g.Key]; dup {
			v.addf(p+".key", "duplicate segment key %q (also segments[%d])", g.Key, j)
			continue
		}
		v.segments[g.Key] = i
	}
	for i, f := range s.Flags {
		p := "flags[" + strconv.Itoa(i) + "]"
		if !v.key(p+".key", f.Key) {
			continue
		}
		if j, dup := v.flags[f.Key]; dup {
			v.addf(p+".key", "duplicate flag key %q (also flags[%d])", f.Key, j)
			continue
		}
		v.flags[f.Key] = i
	}
	for i := range s.Segments {
		v.segment("segments["+strconv.Itoa(i)+"]", &s.Segments[i])
	}
	for i := range s.Flags {
		v.flag("flags["+strconv.Itoa(i)+"]", &s.Flags[i])
	}
	v.cycles()
	if len(v.problems) == 0 {
		return nil
	}
	return &Error{Kind: KindInvalid, Message: "invalid flag set", Problems: v.problems}
}

func (v *validator) key(path, k string) bool {
	switch {
	case k == "":
		v.addf(path, "is required")
	case len(k) > MaxKeyLength:
		v.addf(path, "longer than %d characters", MaxKeyLength)
	case !validKey(k):
		v.addf(path, "%q is not a valid key: use letters, digits, '-', '_' and '.', starting with a letter or digit", k)
	default:
		return true
	}
	return false
}

func (v *validator) path(p, attr string) {
	if attr == "" {
		v.addf(p, "is required")
		return
	}
	segs := strings.Split(attr, ".")
	if len(segs) > MaxPathDepth {
		v.addf(p, "attribute path %q is deeper than %d levels", attr, MaxPathDepth)
		return
	}
	for _, s := range segs {
		if s == "" {
			v.addf(p, "attribute path %q has an empty segment", attr)
			return
		}
	}
}

func (v *validator) flag(p string, f *Flag) {
	switch f.Kind {
	case "", KindRelease, KindExperiment, KindOperational, KindPermission:
	default:
		v.addf(p+".kind", "unknown kind %q (want release, experiment, operational or permission)", f.Kind)
	}
	typeOK := true
	switch f.Type {
	case TypeBoolean, TypeString, TypeNumber, TypeJSON:
	case "":
		v.addf(p+".type", "is required (boolean, string, number or json)")
		typeOK = false
	default:
		v.addf(p+".type", "unknown type %q (want boolean, string, number or json)", f.Type)
		typeOK = false
	}
	variations := map[string]bool{}
	if len(f.Variations) == 0 {
		v.addf(p+".variations", "at least one variation is required")
	}
	for i, vr := range f.Variations {
		vp := p + ".variations[" + strconv.Itoa(i) + "]"
		if v.key(vp+".key", vr.Key) {
			if variations[vr.Key] {
				v.addf(vp+".key", "duplicate variation key %q", vr.Key)
			}
			variations[vr.Key] = true
		}
		if typeOK {
			if msg := checkValue(f.Type, vr.Value); msg != "" {
				v.addf(vp+".value", "%s", msg)
			}
		}
	}
	if f.OffVariation == "" {
		v.addf(p+".offVariation", "is required")
	} else if !variations[f.OffVariation] {
		v.addf(p+".offVariation", "unknown variation %q", f.OffVariation)
	}
	if f.HasTargeting() {
		v.targeting(p, f)
	}
	if !(f.HasTargeting() && f.Fallthrough.Variation == "" && f.Fallthrough.Split == nil) {
		// A flag with a targeting expression may leave its fallthrough empty: no default (flagd).
		v.serve(p+".fallthrough", f.Fallthrough, variations)
	}
	seenPre := map[string]bool{}
	for i, pr := range f.Prerequisites {
		pp := fmt.Sprintf("%s.prerequisites[%d]", p, i)
		if pr.Flag == f.Key {
			v.addf(pp+".flag", "a flag cannot be its own prerequisite")
			continue
		}
		if seenPre[pr.Flag] {
			v.addf(pp+".flag", "duplicate prerequisite %q", pr.Flag)
		}
		seenPre[pr.Flag] = true
		j, ok := v.flags[pr.Flag]
		if !ok {
			v.addf(pp+".flag", "unknown flag %q", pr.Flag)
			continue
		}
		if !hasVariation(&v.set.Flags[j], pr.Variation) {
			v.addf(pp+".variation", "flag %q has no variation %q", pr.Flag, pr.Variation)
		}
	}
	targeted := map[string]map[string]int{}
	for i, t := range f.Targets {
		tp := fmt.Sprintf("%s.targets[%d]", p, i)
		attr := t.Attribute
		if attr == "" {
			attr = TargetingKeyAttribute
		}
		v.path(tp+".attribute", attr)
		if !variations[t.Variation] {
			v.addf(tp+".variation", "unknown variation %q", t.Variation)
		}
		if len(t.Values) == 0 {
			v.addf(tp+".values", "at least one id is required")
		}
		ids := targeted[attr]
		if ids == nil {
			ids = map[string]int{}
			targeted[attr] = ids
		}
		for k, id := range t.Values {
			if id == "" {
				v.addf(fmt.Sprintf("%s.values[%d]", tp, k), "empty id")
				continue
			}
			if prev, dup := ids[id]; dup {
				if prev != i {
					v.addf(fmt.Sprintf("%s.values[%d]", tp, k), "%s %q is also targeted by targets[%d]", attr, id, prev)
				}
				continue
			}
			ids[id] = i
		}
	}
	ruleIDs := map[string]int{}
	for i, r := range f.Rules {
		rp := p + ".rules[" + strconv.Itoa(i) + "]"
		if r.ID != "" && v.key(rp+".id", r.ID) {
			if j, dup := ruleIDs[r.ID]; dup {
				v.addf(rp+".id", "duplicate rule id %q (also rules[%d])", r.ID, j)
			}
			ruleIDs[r.ID] = i
		}
		if len(r.Clauses) == 0 {
			v.addf(rp+".clauses", "at least one clause is required")
		}
		v.clauses(rp, r.Clauses)
		v.serve(rp+".serve", r.Serve, variations)
	}
}

func hasVariation(f *Flag, key string) bool {
	for _, vr := range f.Variations {
		if vr.Key == key {
			return true
		}
	}
	return false
}

func checkValue(t ValueType, val any) string {
	switch t {
	case TypeBoolean:
		if _, ok := val.(bool); !ok {
			return fmt.Sprintf("a boolean flag needs a boolean value, got %s", jsonKind(val))
		}
	case TypeString:
		if _, ok := val.(string); !ok {
			return fmt.Sprintf("a string flag needs a string value, got %s", jsonKind(val))
		}
	case TypeNumber:
		n, ok := AsNumber(val)
		if !ok {
			return fmt.Sprintf("a number flag needs a number value, got %s", jsonKind(val))
		}
		if math.IsNaN(n) || math.IsInf(n, 0) {
			return "a number value must be finite"
		}
	case TypeJSON:
		return checkJSON(val, 0)
	}
	return ""
}

func checkJSON(val any, depth int) string {
	if depth > 64 {
		return "JSON value nested deeper than 64 levels"
	}
	switch x := val.(type) {
	case nil, bool, string:
	case map[string]any:
		for _, e := range x {
			if m := checkJSON(e, depth+1); m != "" {
				return m
			}
		}
	case []any:
		for _, e := range x {
			if m := checkJSON(e, depth+1); m != "" {
				return m
			}
		}
	default:
		n, ok := AsNumber(val)
		if !ok {
			return fmt.Sprintf("not a JSON value: %T", val)
		}
		if math.IsNaN(n) || math.IsInf(n, 0) {
			return "a number value must be finite"
		}
	}
	return ""
}

func (v *validator) serve(p string, s Serve, variations map[string]bool) {
	switch {
	case s.Variation != "" && s.Split != nil:
		v.addf(p, "set either variation or split, not both")
	case s.Variation == "" && s.Split == nil:
		v.addf(p, "set a variation or a split")
	case s.Variation != "":
		if !variations[s.Variation] {
			v.addf(p+".variation", "unknown variation %q", s.Variation)
		}
	default:
		v.split(p+".split", s.Split, variations)
	}
}

func (v *validator) split(p string, s *Split, variations map[string]bool) {
	switch s.Algorithm {
	case "", BucketingV1:
	default:
		v.addf(p+".algorithm", "unknown bucketing algorithm %q (want %q)", s.Algorithm, BucketingV1)
	}
	if s.BucketBy != "" {
		v.path(p+".bucketBy", s.BucketBy)
	}
	if len(s.Weights) == 0 {
		v.addf(p+".weights", "at least one weight is required")
		return
	}
	seen := map[string]bool{}
	total := 0
	for i, w := range s.Weights {
		wp := p + ".weights[" + strconv.Itoa(i) + "]"
		if !variations[w.Variation] {
			v.addf(wp+".variation", "unknown variation %q", w.Variation)
		} else if seen[w.Variation] {
			v.addf(wp+".variation", "variation %q appears twice in the split", w.Variation)
		}
		seen[w.Variation] = true
		switch {
		case math.IsNaN(w.Weight) || w.Weight < 0 || w.Weight > 100:
			v.addf(wp+".weight", "%v is not a percentage between 0 and 100", w.Weight)
			continue
		case math.Abs(w.Weight*1000-math.Round(w.Weight*1000)) > 1e-6:
			v.addf(wp+".weight", "%v has more than three decimals (the finest step is 0.001 %%)", w.Weight)
			continue
		}
		total += w.Units()
	}
	if total != Buckets {
		v.addf(p+".weights", "weights add up to %s %%, want 100", strconv.FormatFloat(float64(total)/1000, 'f', -1, 64))
	}
}

func (v *validator) clauses(p string, cs []Clause) {
	for i := range cs {
		v.clause(p+".clauses["+strconv.Itoa(i)+"]", &cs[i])
	}
}

func (v *validator) clause(p string, c *Clause) {
	op := c.Op
	if op == "equals" {
		op = OpIn
	}
	if op != OpInSegment {
		v.path(p+".attribute", c.Attribute)
	}
	known := false
	for _, o := range Operators {
		if o == op {
			known = true
		}
	}
	if !known {
		if op == "" {
			v.addf(p+".op", "is required")
		} else {
			v.addf(p+".op", "unknown operator %q", c.Op)
		}
		return
	}
	if c.CaseInsensitive {
		switch op {
		case OpIn, OpNotIn, OpContains, OpStartsWith, OpEndsWith, OpMatches:
		default:
			v.addf(p+".caseInsensitive", "applies only to string operators, not %s", op)
		}
	}
	if op == OpExists {
		if len(c.Values) > 0 {
			v.addf(p+".values", "exists takes no values")
		}
		return
	}
	if len(c.Values) == 0 {
		v.addf(p+".values", "%s needs at least one value", op)
		return
	}
	for i, val := range c.Values {
		vp := p + ".values[" + strconv.Itoa(i) + "]"
		switch op {
		case OpIn, OpNotIn:
			switch val.(type) {
			case string, bool:
			default:
				if _, ok := AsNumber(val); !ok {
					v.addf(vp, "%s compares strings, numbers and booleans, got %s", op, jsonKind(val))
				}
			}
		case OpContains, OpStartsWith, OpEndsWith:
			if _, ok := val.(string); !ok {
				v.addf(vp, "%s needs a string, got %s", op, jsonKind(val))
			}
		case OpMatches:
			s, ok := val.(string)
			if !ok {
				v.addf(vp, "matches needs a string pattern, got %s", jsonKind(val))
				continue
			}
			if msg := checkPattern(s); msg != "" {
				v.addf(vp, "%s", msg)
			}
		case OpLT, OpLTE, OpGT, OpGTE:
			if n, ok := AsNumber(val); !ok || math.IsNaN(n) {
				v.addf(vp, "%s needs a number, got %s", op, jsonKind(val))
			}
		case OpSemverEQ, OpSemverLT, OpSemverLTE, OpSemverGT, OpSemverGTE:
			s, ok := val.(string)
			if !ok {
				v.addf(vp, "%s needs a version string, got %s", op, jsonKind(val))
			} else if _, ok := ParseSemver(s); !ok {
				v.addf(vp, "%q is not a semantic version (MAJOR.MINOR.PATCH[-pre][+build])", s)
			}
		case OpBefore, OpAfter:
			if _, ok := AsTime(val); !ok {
				v.addf(vp, "%s needs an RFC 3339 date or Unix seconds, got %s", op, describe(val))
			}
		case OpInSegment:
			s, ok := val.(string)
			if !ok {
				v.addf(vp, "in_segment needs a segment key, got %s", jsonKind(val))
			} else if _, ok := v.segments[s]; !ok {
				v.addf(vp, "unknown segment %q", s)
			}
		}
	}
}

func describe(val any) string {
	if s, ok := val.(string); ok {
		return strconv.Quote(s)
	}
	return jsonKind(val)
}

// checkPattern rejects patterns that are not RE2, too long, or compile to an oversized program.
func checkPattern(s string) string {
	if len(s) > MaxPatternLength {
		return fmt.Sprintf("pattern is %d bytes, longer than the limit of %d", len(s), MaxPatternLength)
	}
	re, err := syntax.Parse(s, syntax.Perl)
	if err != nil {
		return fmt.Sprintf("invalid RE2 pattern %q: %v", s, err)
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return fmt.Sprintf("invalid RE2 pattern %q: %v", s, err)
	}
	if len(prog.Inst) > MaxRegexpProgram {
		return fmt.Sprintf("pattern %q compiles to %d instructions, more than the limit of %d", s, len(prog.Inst), MaxRegexpProgram)
	}
	return ""
}

func (v *validator) segment(p string, g *Segment) {
	if g.Attribute != "" {
		v.path(p+".attribute", g.Attribute)
	}
	in := map[string]bool{}
	for i, id := range g.Included {
		if id == "" {
			v.addf(fmt.Sprintf("%s.included[%d]", p, i), "empty id")
		}
		in[id] = true
	}
	for i, id := range g.Excluded {
		if id == "" {
			v.addf(fmt.Sprintf("%s.excluded[%d]", p, i), "empty id")
		} else if in[id] {
			v.addf(fmt.Sprintf("%s.excluded[%d]", p, i), "%q is both included and excluded", id)
		}
	}
	for i, r := range g.Rules {
		rp := p + ".rules[" + strconv.Itoa(i) + "]"
		if len(r.Clauses) == 0 {
			v.addf(rp+".clauses", "at least one clause is required")
		}
		v.clauses(rp, r.Clauses)
	}
}

// cycles reports prerequisite cycles between flags and in_segment cycles between segments.
func (v *validator) cycles() {
	s := v.set
	flagEdges := func(i int) []int {
		var out []int
		for _, pr := range s.Flags[i].Prerequisites {
			if j, ok := v.flags[pr.Flag]; ok && j != i {
				out = append(out, j)
			}
		}
		return out
	}
	for _, cyc := range findCycles(len(s.Flags), flagEdges) {
		names := make([]string, len(cyc))
		for k, i := range cyc {
			names[k] = s.Flags[i].Key
		}
		v.addf(fmt.Sprintf("flags[%d].prerequisites", cyc[0]), "prerequisite cycle: %s", strings.Join(append(names, names[0]), " → "))
	}
	segEdges := func(i int) []int {
		var out []int
		for _, r := range s.Segments[i].Rules {
			for _, c := range r.Clauses {
				if c.Op != OpInSegment {
					continue
				}
				for _, val := range c.Values {
					if k, ok := val.(string); ok {
						if j, ok := v.segments[k]; ok {
							out = append(out, j)
						}
					}
				}
			}
		}
		return out
	}
	for _, cyc := range findCycles(len(s.Segments), segEdges) {
		names := make([]string, len(cyc))
		for k, i := range cyc {
			names[k] = s.Segments[i].Key
		}
		v.addf(fmt.Sprintf("segments[%d].rules", cyc[0]), "segment cycle: %s", strings.Join(append(names, names[0]), " → "))
	}
}

// findCycles returns one cycle per strongly connected group reachable by depth-first search, as node lists.
func findCycles(n int, edges func(int) []int) [][]int {
	const (
		white = iota
		grey
		black
	)
	color := make([]int, n)
	var stack []int
	var cycles [][]int
	var visit func(int)
	visit = func(u int) {
		color[u] = grey
		stack = append(stack, u)
		for _, w := range edges(u) {
			switch color[w] {
			case white:
				visit(w)
			case grey:
				for k := len(stack) - 1; k >= 0; k-- {
					if stack[k] == w {
						cycles = append(cycles, append([]int(nil), stack[k:]...))
						break
					}
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[u] = black
	}
	for u := 0; u < n; u++ {
		if color[u] == white {
			visit(u)
		}
	}
	return cycles
}
