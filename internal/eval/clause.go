package eval

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/ramphq/ramp/flag"
)

// opcode is a clause operator as a small integer, so that dispatch is a jump, not a string comparison.
type opcode uint8

const (
	opIn opcode = iota + 1
	opNotIn
	opContains
	opStartsWith
	opEndsWith
	opMatches
	opLT
	opLTE
	opGT
	opGTE
	opSemverEQ
	opSemverLT
	opSemverLTE
	opSemverGT
	opSemverGTE
	opBefore
	opAfter
	opExists
	opInSegment
)

var opcodes = map[flag.Operator]opcode{
	flag.OpIn: opIn, "equals": opIn, flag.OpNotIn: opNotIn, flag.OpContains: opContains,
	flag.OpStartsWith: opStartsWith, flag.OpEndsWith: opEndsWith, flag.OpMatches: opMatches,
	flag.OpLT: opLT, flag.OpLTE: opLTE, flag.OpGT: opGT, flag.OpGTE: opGTE,
	flag.OpSemverEQ: opSemverEQ, flag.OpSemverLT: opSemverLT, flag.OpSemverLTE: opSemverLTE,
	flag.OpSemverGT: opSemverGT, flag.OpSemverGTE: opSemverGTE,
	flag.OpBefore: opBefore, flag.OpAfter: opAfter, flag.OpExists: opExists, flag.OpInSegment: opInSegment,
}

// smallSet is the size up to which string in-lists are scanned linearly: comparing a few short strings beats
// hashing one.
const smallSet = 8

// clause is a compiled clause. Only the fields its operator needs are set.
type clause struct {
	path   path
	op     opcode
	negate bool
	fold   bool // case-insensitive

	strs    []string            // in/not_in (folded when fold), contains, starts_with, ends_with
	strSet  map[string]struct{} // in/not_in with more than smallSet strings and no folding
	nums    []float64           // in/not_in numbers, numeric comparisons, dates (Unix seconds)
	boolT   bool                // in/not_in lists true
	boolF   bool                // in/not_in lists false
	res     []*regexp.Regexp
	vers    []flag.Semver
	segment []*segment
}

func compileClause(c *flag.Clause, segs map[string]*segment) clause {
	cc := clause{path: compilePath(c.Attribute), op: opcodes[c.Op], negate: c.Negate, fold: c.CaseInsensitive}
	for _, v := range c.Values {
		switch cc.op {
		case opIn, opNotIn:
			switch x := v.(type) {
			case string:
				if cc.fold {
					x = strings.ToLower(x)
				}
				cc.strs = append(cc.strs, x)
			case bool:
				if x {
					cc.boolT = true
				} else {
					cc.boolF = true
				}
			default:
				if n, ok := flag.AsNumber(v); ok {
					cc.nums = append(cc.nums, n)
				}
			}
		case opContains, opStartsWith, opEndsWith:
			if s, ok := v.(string); ok {
				if cc.fold {
					s = strings.ToLower(s)
				}
				cc.strs = append(cc.strs, s)
			}
		case opMatches:
			if s, ok := v.(string); ok {
				if cc.fold {
					s = "(?i)" + s
				}
				if re, err := regexp.Compile(s); err == nil {
					cc.res = append(cc.res, re)
				}
			}
		case opLT, opLTE, opGT, opGTE:
			if n, ok := flag.AsNumber(v); ok {
				cc.nums = append(cc.nums, n)
			}
		case opSemverEQ, opSemverLT, opSemverLTE, opSemverGT, opSemverGTE:
			if s, ok := v.(string); ok {
				if sv, ok := flag.ParseSemver(s); ok {
					cc.vers = append(cc.vers, sv)
				}
			}
		case opBefore, opAfter:
			if t, ok := flag.AsTime(v); ok {
				cc.nums = append(cc.nums, t)
			}
		case opInSegment:
			if s, ok := v.(string); ok && segs[s] != nil {
				cc.segment = append(cc.segment, segs[s])
			}
		}
	}
	if (cc.op == opIn || cc.op == opNotIn) && !cc.fold && len(cc.strs) > smallSet {
		cc.strSet = make(map[string]struct{}, len(cc.strs))
		for _, s := range cc.strs {
			cc.strSet[s] = struct{}{}
		}
	}
	return cc
}

// match reports whether the clause matches the context. A missing attribute never matches, except that a
// negated exists does.
func (c *clause) match(ctx *flag.Context) bool {
	if c.op == opInSegment {
		for _, s := range c.segment {
			if s.contains(ctx) {
				return !c.negate
			}
		}
		return c.negate
	}
	if c.path.tk {
		if ctx.TargetingKey == "" {
			return c.op == opExists && c.negate
		}
		if c.op == opExists {
			return !c.negate
		}
		return c.holdsString(ctx.TargetingKey) != c.negate
	}
	if c.path.segs == nil { // the common case: a top-level attribute, strings read unboxed
		a := ctx.Attr(c.path.full)
		if a == nil || a.Value == nil {
			return c.op == opExists && c.negate
		}
		if s, ok := a.String(); ok && c.op != opExists {
			return c.holdsString(s) != c.negate
		}
		return c.holds(a.Value) != c.negate
	}
	v, ok := c.path.lookup(ctx)
	if !ok {
		return c.op == opExists && c.negate
	}
	return c.holds(v) != c.negate
}

// holds applies the operator, before negation, to a present value.
func (c *clause) holds(v any) bool {
	if c.op == opExists {
		return true
	}
	if s, ok := v.(string); ok { // the common case, tested before the type switch
		return c.holdsString(s)
	}
	switch x := v.(type) {
	case bool:
		return c.holdsBool(x)
	case []any:
		if c.op == opNotIn {
			for _, e := range x {
				if c.holdsElem(e, opIn) {
					return false
				}
			}
			return true
		}
		for _, e := range x {
			if c.holdsElem(e, c.op) {
				return true
			}
		}
		return false
	case []string:
		if c.op == opNotIn {
			for _, e := range x {
				if c.inString(e) {
					return false
				}
			}
			return true
		}
		for _, e := range x {
			if c.holdsString(e) {
				return true
			}
		}
		return false
	case map[string]any:
		return c.op == opNotIn
	}
	if n, ok := flag.AsNumber(v); ok {
		return c.holdsNumber(n)
	}
	return c.op == opNotIn
}

// holdsElem applies op to one element of a list attribute (nested lists are not searched).
func (c *clause) holdsElem(e any, op opcode) bool {
	switch x := e.(type) {
	case string:
		if op == opIn {
			return c.inString(x)
		}
		return c.holdsString(x)
	case bool:
		if op == opIn {
			return c.inBool(x)
		}
		return c.holdsBool(x)
	case nil, []any, map[string]any:
		return false
	}
	if n, ok := flag.AsNumber(e); ok {
		if op == opIn {
			return c.inNumber(n)
		}
		return c.holdsNumber(n)
	}
	return false
}

func (c *clause) holdsString(s string) bool {
	switch c.op {
	case opIn:
		return c.inString(s)
	case opNotIn:
		return !c.inString(s)
	case opContains, opStartsWith, opEndsWith:
		if c.fold {
			s = lower(s)
		}
		for _, w := range c.strs {
			var ok bool
			switch c.op {
			case opContains:
				ok = strings.Contains(s, w)
			case opStartsWith:
				ok = strings.HasPrefix(s, w)
			default:
				ok = strings.HasSuffix(s, w)
			}
			if ok {
				return true
			}
		}
	case opMatches:
		for _, re := range c.res {
			if re.MatchString(s) {
				return true
			}
		}
	case opSemverEQ, opSemverLT, opSemverLTE, opSemverGT, opSemverGTE:
		v, ok := flag.ParseSemver(s)
		if !ok {
			return false
		}
		for _, w := range c.vers {
			if cmpHolds(c.op, v.Compare(w)) {
				return true
			}
		}
	case opBefore, opAfter:
		t, ok := flag.AsTime(s)
		if !ok {
			return false
		}
		return c.holdsTime(t)
	}
	return false
}

func (c *clause) inString(s string) bool {
	if c.strSet != nil {
		_, ok := c.strSet[s]
		return ok
	}
	if c.fold {
		for _, w := range c.strs {
			if strings.EqualFold(s, w) {
				return true
			}
		}
		return false
	}
	for _, w := range c.strs {
		if s == w {
			return true
		}
	}
	return false
}

func (c *clause) inBool(b bool) bool { return (b && c.boolT) || (!b && c.boolF) }

func (c *clause) inNumber(n float64) bool {
	for _, w := range c.nums {
		if n == w {
			return true
		}
	}
	return false
}

func (c *clause) holdsBool(b bool) bool {
	switch c.op {
	case opIn:
		return c.inBool(b)
	case opNotIn:
		return !c.inBool(b)
	}
	return false
}

func (c *clause) holdsNumber(n float64) bool {
	switch c.op {
	case opIn:
		return c.inNumber(n)
	case opNotIn:
		return !c.inNumber(n)
	case opLT, opLTE, opGT, opGTE:
		for _, w := range c.nums {
			var ok bool
			switch c.op {
			case opLT:
				ok = n < w
			case opLTE:
				ok = n <= w
			case opGT:
				ok = n > w
			default:
				ok = n >= w
			}
			if ok {
				return true
			}
		}
	case opBefore, opAfter:
		return c.holdsTime(n)
	}
	return false
}

func (c *clause) holdsTime(t float64) bool {
	for _, w := range c.nums {
		if (c.op == opBefore && t < w) || (c.op == opAfter && t > w) {
			return true
		}
	}
	return false
}

func cmpHolds(op opcode, cmp int) bool {
	switch op {
	case opSemverEQ:
		return cmp == 0
	case opSemverLT:
		return cmp < 0
	case opSemverLTE:
		return cmp <= 0
	case opSemverGT:
		return cmp > 0
	default:
		return cmp >= 0
	}
}

// lower folds s to lower case. ASCII strings that are already lower case come back unchanged and without
// allocating, which is the common case for emails, countries and ids.
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			return strings.ToLower(s)
		}
	}
	return s
}

// segment is a compiled segment.
type segment struct {
	by       path
	included map[string]struct{}
	excluded map[string]struct{}
	rules    [][]clause
}

func (s *segment) contains(ctx *flag.Context) bool {
	if hasID(&s.by, ctx, s.excluded) {
		return false
	}
	if hasID(&s.by, ctx, s.included) {
		return true
	}
	for _, r := range s.rules {
		if allMatch(r, ctx) {
			return true
		}
	}
	return false
}

func allMatch(cs []clause, ctx *flag.Context) bool {
	for i := range cs {
		if !cs[i].match(ctx) {
			return false
		}
	}
	return true
}

// hasID reports whether the context's id at p is in set. An id is a string or a number in its decimal form;
// for a list attribute any element counts. Lookups are constant time whatever the size of set.
func hasID(p *path, ctx *flag.Context, set map[string]struct{}) bool {
	if len(set) == 0 {
		return false
	}
	if p.tk {
		_, ok := set[ctx.TargetingKey]
		return ok && ctx.TargetingKey != ""
	}
	v, ok := p.lookup(ctx)
	if !ok {
		return false
	}
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if idIn(e, set) {
				return true
			}
		}
		return false
	case []string:
		for _, e := range x {
			if _, ok := set[e]; ok {
				return true
			}
		}
		return false
	}
	return idIn(v, set)
}

func idIn(v any, set map[string]struct{}) bool {
	if s, ok := v.(string); ok {
		_, ok := set[s]
		return ok
	}
	if n, ok := flag.AsNumber(v); ok {
		var buf [32]byte
		_, ok := set[string(numberKey(buf[:0], n))]
		return ok
	}
	return false
}
