package eval

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ramphq/ramp/flag"
)

// lstate is what one evaluation of an expression reads. It lives on the evaluating goroutine's stack.
type lstate struct {
	ctx     *flag.Context
	flagKey string
	scope   *lscope // the current element inside map, filter, reduce, all, some and none
}

// lscope is the data a var reads inside an array operator: the element, or for reduce the element and the
// accumulator ("current" and "accumulator").
type lscope struct {
	cur, acc val
	reduce   bool
}

func (n *lnode) arg(st *lstate, i int) val {
	if i < len(n.args) {
		return n.args[i].eval(st)
	}
	return nullVal
}

// eval evaluates the node. It never panics: arguments of the wrong type or number give the result flagd's
// evaluator gives, usually null or false.
func (n *lnode) eval(st *lstate) val {
	switch n.op {
	case lLit:
		return n.lit
	case lArr:
		out := make([]any, len(n.args))
		for i, a := range n.args {
			out[i] = a.eval(st).toAny()
		}
		return arrVal(out)
	case lVar:
		v := n.resolveVar(st)
		if v.k == kNull && n.def != nil {
			return n.def.eval(st)
		}
		return v
	case lMissing:
		return n.evalMissing(st)
	case lMissingSome:
		return n.evalMissingSome(st)
	case lIf:
		i := 0
		for ; i+1 < len(n.args); i += 2 {
			if truthy(n.args[i].eval(st)) {
				return n.args[i+1].eval(st)
			}
		}
		if i < len(n.args) {
			return n.args[i].eval(st)
		}
		return nullVal
	case lEq, lNe, lStrictEq, lStrictNe:
		if len(n.args) < 2 {
			return boolVal(n.op == lNe || n.op == lStrictNe)
		}
		a, b := n.args[0].eval(st), n.args[1].eval(st)
		var eq bool
		if n.op == lEq || n.op == lNe {
			eq = looseEq(a, b)
		} else {
			eq = strictEq(a, b)
		}
		return boolVal(eq == (n.op == lEq || n.op == lStrictEq))
	case lNot:
		return boolVal(len(n.args) == 0 || !truthy(n.args[0].eval(st)))
	case lTruthy:
		return boolVal(len(n.args) > 0 && truthy(n.args[0].eval(st)))
	case lAnd, lOr:
		last := nullVal
		for _, a := range n.args {
			last = a.eval(st)
			if truthy(last) == (n.op == lOr) {
				return last
			}
		}
		return last
	case lLT, lLTE, lGT, lGTE:
		return boolVal(n.compare(st))
	case lIn:
		return boolVal(evalIn(n.arg(st, 0), n.arg(st, 1)))
	case lCat:
		return n.evalCat(st)
	case lSubstr:
		return n.evalSubstr(st)
	case lMerge:
		var out []any
		for _, a := range n.args {
			v := a.eval(st)
			if v.k == kArr {
				for i := 0; i < v.arrLen(); i++ {
					out = append(out, v.arrAt(i).toAny())
				}
			} else {
				out = append(out, v.toAny())
			}
		}
		if out == nil {
			out = []any{}
		}
		return arrVal(out)
	case lAdd, lSub, lMul, lDiv, lMod, lMin, lMax:
		return n.arith(st)
	case lMap, lFilter, lReduce, lAll, lSome, lNone:
		return n.evalArrayOp(st)
	case lFractional:
		return n.evalFractional(st)
	case lStartsWith, lEndsWith:
		if len(n.args) != 2 {
			return nullVal
		}
		s, prefix := n.args[0].eval(st), n.args[1].eval(st)
		if s.k != kStr || prefix.k != kStr {
			return nullVal
		}
		if n.op == lStartsWith {
			return boolVal(strings.HasPrefix(s.s, prefix.s))
		}
		return boolVal(strings.HasSuffix(s.s, prefix.s))
	case lSemver:
		return n.evalSemver(st)
	}
	return nullVal
}

// resolveVar reads a var's path from the context, or from the current element inside an array operator.
func (n *lnode) resolveVar(st *lstate) val {
	vk, segs := n.vk, n.segs
	if vk == varDynamic {
		p := n.args[0].eval(st)
		switch p.k {
		case kStr:
			vk, segs = classifyPath(p.s)
		case kNum:
			vk, segs = classifyPath(strconv.FormatFloat(p.n, 'f', -1, 64))
		case kNull:
			vk, segs = varWhole, nil
		default:
			return nullVal
		}
	}
	if st.scope != nil {
		return st.scope.lookup(segs)
	}
	switch vk {
	case varTK:
		if st.ctx.TargetingKey == "" {
			return nullVal
		}
		return strVal(st.ctx.TargetingKey)
	case varFlagKey:
		return strVal(st.flagKey)
	case varTimestamp:
		return numVal(float64(time.Now().Unix()))
	case varWhole:
		return wholeContext(st)
	}
	if len(segs) == 0 {
		return wholeContext(st)
	}
	v, ok := st.ctx.Lookup(segs[0])
	if !ok {
		return nullVal
	}
	return walk(fromAny(v), segs[1:])
}

func (s *lscope) lookup(segs []string) val {
	if !s.reduce {
		return walk(s.cur, segs)
	}
	if len(segs) == 0 {
		return val{k: kObj, x: map[string]any{"current": s.cur.toAny(), "accumulator": s.acc.toAny()}}
	}
	switch segs[0] {
	case "current":
		return walk(s.cur, segs[1:])
	case "accumulator":
		return walk(s.acc, segs[1:])
	}
	return nullVal
}

// wholeContext is {"var": ""}: the context as an object, with the targeting key and flagd's $flagd
// properties. It allocates.
func wholeContext(st *lstate) val {
	m := st.ctx.Attributes()
	if st.ctx.TargetingKey != "" {
		m[flag.TargetingKeyAttribute] = st.ctx.TargetingKey
	}
	m["$flagd"] = map[string]any{"flagKey": st.flagKey, "timestamp": float64(time.Now().Unix())}
	return val{k: kObj, x: m}
}

// walk follows path segments through objects (by key) and arrays (by index). Anything else, a missing key or
// a null on the way makes the result null.
func walk(v val, segs []string) val {
	for _, s := range segs {
		switch v.k {
		case kObj:
			e, ok := v.x.(map[string]any)[s]
			if !ok {
				return nullVal
			}
			v = fromAny(e)
		case kArr:
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nullVal
			}
			v = v.arrAt(int(f))
		default:
			return nullVal
		}
		if v.k == kNull {
			return nullVal
		}
	}
	return v
}

// keysOf returns the keys a missing or missing_some operator asks about: its arguments, or the elements of
// its first argument when that is an array.
func keysOf(vals []val) []val {
	if len(vals) > 0 && vals[0].k == kArr {
		a := vals[0]
		out := make([]val, a.arrLen())
		for i := range out {
			out[i] = a.arrAt(i)
		}
		return out
	}
	return vals
}

func (n *lnode) isMissing(st *lstate, key val) bool {
	var p string
	switch key.k {
	case kStr:
		p = key.s
	case kNum:
		p = strconv.FormatFloat(key.n, 'f', -1, 64)
	default:
		return true
	}
	probe := lnode{op: lVar}
	probe.vk, probe.segs = classifyPath(p)
	v := probe.resolveVar(st)
	return v.k == kNull || (v.k == kStr && v.s == "")
}

func (n *lnode) evalMissing(st *lstate) val {
	vals := make([]val, len(n.args))
	for i, a := range n.args {
		vals[i] = a.eval(st)
	}
	out := []any{}
	for _, k := range keysOf(vals) {
		if n.isMissing(st, k) {
			out = append(out, k.toAny())
		}
	}
	return arrVal(out)
}

func (n *lnode) evalMissingSome(st *lstate) val {
	need := toNumber(n.arg(st, 0))
	keys := keysOf([]val{n.arg(st, 1)})
	out := []any{}
	for _, k := range keys {
		if n.isMissing(st, k) {
			out = append(out, k.toAny())
		}
	}
	if float64(len(keys)-len(out)) >= need {
		return arrVal([]any{})
	}
	return arrVal(out)
}

// truthy is JsonLogic's truthiness as flagd evaluates it: false, 0, "", null, empty arrays and empty objects
// are false.
func truthy(v val) bool {
	switch v.k {
	case kBool:
		return v.b
	case kNum:
		return v.n != 0
	case kStr:
		return v.s != ""
	case kArr:
		return v.arrLen() > 0
	case kObj:
		return len(v.x.(map[string]any)) > 0
	}
	return false
}

// toNumber is JavaScript's ToNumber: null is 0, booleans 1 and 0, strings are parsed ("" and blanks are 0,
// anything unparsable NaN), arrays and objects NaN.
func toNumber(v val) float64 {
	switch v.k {
	case kNull:
		return 0
	case kBool:
		if v.b {
			return 1
		}
		return 0
	case kNum:
		return v.n
	case kStr:
		s := strings.TrimSpace(v.s)
		if s == "" {
			return 0
		}
		f, err := strconv.ParseFloat(s, 64)
		if ne, ok := err.(*strconv.NumError); ok && ne.Err != strconv.ErrRange {
			return math.NaN()
		}
		return f
	}
	return math.NaN()
}

// appendString appends a value's string form: what cat, in and substr see.
func appendString(b []byte, v val) []byte {
	switch v.k {
	case kStr:
		return append(b, v.s...)
	case kNum:
		return strconv.AppendFloat(b, v.n, 'f', -1, 64)
	case kBool:
		return strconv.AppendBool(b, v.b)
	case kArr:
		for i := 0; i < v.arrLen(); i++ {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, v.arrAt(i))
		}
		return b
	case kObj:
		return append(b, "[object Object]"...)
	}
	return b
}

func toString(v val) string {
	if v.k == kStr {
		return v.s
	}
	return string(appendString(nil, v))
}

// looseEq is ==: null equals only null, two strings compare as strings, anything else as numbers.
func looseEq(a, b val) bool {
	if a.k == kNull || b.k == kNull {
		return a.k == b.k
	}
	if a.k == kStr && b.k == kStr {
		return a.s == b.s
	}
	return toNumber(a) == toNumber(b)
}

// strictEq is ===: the same type and the same value; arrays and objects are never equal.
func strictEq(a, b val) bool {
	if a.k != b.k {
		return false
	}
	switch a.k {
	case kNull:
		return true
	case kBool:
		return a.b == b.b
	case kNum:
		return a.n == b.n
	case kStr:
		return a.s == b.s
	}
	return false
}

// less is JavaScript's <: two strings compare by code unit order, anything else as numbers.
func less(a, b val) bool {
	if a.k == kStr && b.k == kStr {
		return a.s < b.s
	}
	return toNumber(a) < toNumber(b)
}

func lessEq(a, b val) bool { return less(a, b) || looseEq(a, b) }

// compare evaluates <, <=, > and >=, including the three-argument "between" forms.
func (n *lnode) compare(st *lstate) bool {
	if len(n.args) < 2 {
		return false
	}
	a, b := n.args[0].eval(st), n.args[1].eval(st)
	if len(n.args) >= 3 {
		c := n.args[2].eval(st)
		switch n.op {
		case lLT:
			return less(a, b) && less(b, c)
		case lLTE:
			return lessEq(a, b) && lessEq(b, c)
		case lGT:
			return less(c, b) && less(b, a)
		default:
			return lessEq(c, b) && lessEq(b, a)
		}
	}
	switch n.op {
	case lLT:
		return less(a, b)
	case lLTE:
		return lessEq(a, b)
	case lGT:
		return less(b, a)
	default:
		return lessEq(b, a)
	}
}

// evalIn is "in": a substring of a string, or an element of an array (numbers compare numerically, other
// values by type and value; an element that is itself a two-element array is an inclusive numeric range).
func evalIn(a, b val) bool {
	switch b.k {
	case kStr:
		if a.k == kStr {
			return strings.Contains(b.s, a.s)
		}
		return strings.Contains(b.s, toString(a))
	case kArr:
		for i := 0; i < b.arrLen(); i++ {
			e := b.arrAt(i)
			switch {
			case e.k == kArr && e.arrLen() >= 2:
				x := toNumber(a)
				if x >= toNumber(e.arrAt(0)) && toNumber(e.arrAt(1)) >= x {
					return true
				}
			case a.k == kNum:
				if toNumber(e) == a.n {
					return true
				}
			case strictEq(a, e):
				return true
			}
		}
	}
	return false
}

// evalCat joins the string forms of its arguments. Like flagd's JsonLogic library it trims surrounding white
// space from the result when there are two or more arguments.
func (n *lnode) evalCat(st *lstate) val {
	switch len(n.args) {
	case 0:
		return strVal("")
	case 1:
		return strVal(toString(n.args[0].eval(st)))
	}
	var buf [128]byte
	b := buf[:0]
	for _, a := range n.args {
		b = appendString(b, a.eval(st))
	}
	return strVal(strings.TrimSpace(string(b)))
}

// evalSubstr is substr(string, start[, length]) over characters (runes): a negative start counts from the end,
// a negative length leaves that many characters off the end.
func (n *lnode) evalSubstr(st *lstate) val {
	s := toString(n.arg(st, 0))
	count := utf8.RuneCountInString(s)
	from := int(toNumber(n.arg(st, 1)))
	if from < 0 {
		from += count
	}
	if from < 0 || from > count {
		return strVal(s)
	}
	to := count
	if len(n.args) >= 3 {
		l := int(toNumber(n.args[2].eval(st)))
		if l < 0 {
			to = count + l
		} else {
			to = from + l
		}
	}
	if to > count {
		to = count
	}
	if to <= from {
		return strVal("")
	}
	return strVal(runeSlice(s, from, to))
}

func runeSlice(s string, from, to int) string {
	start, end, i := len(s), len(s), 0
	for pos := range s {
		if i == from {
			start = pos
		}
		if i == to {
			end = pos
			break
		}
		i++
	}
	return s[start:end]
}

func (n *lnode) arith(st *lstate) val {
	switch n.op {
	case lAdd:
		sum := 0.0
		for _, a := range n.args {
			sum += toNumber(a.eval(st))
		}
		return numVal(sum)
	case lMul:
		p := 1.0
		for _, a := range n.args {
			p *= toNumber(a.eval(st))
		}
		return numVal(p)
	case lSub, lDiv:
		if len(n.args) == 0 {
			return numVal(0)
		}
		r := toNumber(n.args[0].eval(st))
		if len(n.args) == 1 && n.op == lSub {
			return numVal(-r)
		}
		for _, a := range n.args[1:] {
			if n.op == lSub {
				r -= toNumber(a.eval(st))
			} else {
				r /= toNumber(a.eval(st))
			}
		}
		return numVal(r)
	case lMod:
		if len(n.args) < 2 {
			return nullVal
		}
		return numVal(math.Mod(toNumber(n.args[0].eval(st)), toNumber(n.args[1].eval(st))))
	default: // min, max
		if len(n.args) == 0 {
			return nullVal
		}
		r := toNumber(n.args[0].eval(st))
		for _, a := range n.args[1:] {
			x := toNumber(a.eval(st))
			if (n.op == lMin && x < r) || (n.op == lMax && x > r) {
				r = x
			}
		}
		return numVal(r)
	}
}

// evalArrayOp evaluates map, filter, reduce, all, some and none: the second argument runs once per element of
// the first, with var reading the element.
func (n *lnode) evalArrayOp(st *lstate) val {
	arr := n.arg(st, 0)
	var logic *lnode
	if len(n.args) > 1 {
		logic = n.args[1]
	}
	if arr.k != kArr || logic == nil {
		switch n.op {
		case lMap, lFilter:
			return arrVal([]any{})
		case lReduce:
			return n.arg(st, 2)
		case lNone:
			return boolVal(true)
		}
		return boolVal(false)
	}
	count := arr.arrLen()
	inner := lstate{ctx: st.ctx, flagKey: st.flagKey, scope: &lscope{}}
	switch n.op {
	case lMap, lFilter:
		out := make([]any, 0, count)
		for i := 0; i < count; i++ {
			e := arr.arrAt(i)
			inner.scope.cur = e
			r := logic.eval(&inner)
			if n.op == lMap {
				out = append(out, r.toAny())
			} else if truthy(r) {
				out = append(out, e.toAny())
			}
		}
		return arrVal(out)
	case lReduce:
		inner.scope.reduce = true
		inner.scope.acc = n.arg(st, 2)
		for i := 0; i < count; i++ {
			inner.scope.cur = arr.arrAt(i)
			inner.scope.acc = logic.eval(&inner)
		}
		return inner.scope.acc
	case lAll:
		if count == 0 {
			return boolVal(false)
		}
		for i := 0; i < count; i++ {
			inner.scope.cur = arr.arrAt(i)
			if !truthy(logic.eval(&inner)) {
				return boolVal(false)
			}
		}
		return boolVal(true)
	default: // some, none
		for i := 0; i < count; i++ {
			inner.scope.cur = arr.arrAt(i)
			if truthy(logic.eval(&inner)) {
				return boolVal(n.op == lSome)
			}
		}
		return boolVal(n.op == lNone)
	}
}

// evalSemver is flagd's sem_ver: [version, operator, target]. Versions may have a "v" or "V" prefix; numbers
// are read in their shortest form (1.2 is "1.2"). A wrong number of arguments, an invalid version or an
// unknown operator gives null.
func (n *lnode) evalSemver(st *lstate) val {
	if len(n.args) != 3 {
		return nullVal
	}
	a, ok := flagdSemver(n.args[0].eval(st))
	if !ok {
		return nullVal
	}
	opv := n.args[1].eval(st)
	b, ok := flagdSemver(n.args[2].eval(st))
	if !ok || opv.k != kStr {
		return nullVal
	}
	switch opv.s {
	case "=":
		return boolVal(a.Compare(b) == 0)
	case "!=":
		return boolVal(a.Compare(b) != 0)
	case "<":
		return boolVal(a.Compare(b) < 0)
	case "<=":
		return boolVal(a.Compare(b) <= 0)
	case ">":
		return boolVal(a.Compare(b) > 0)
	case ">=":
		return boolVal(a.Compare(b) >= 0)
	case "^":
		return boolVal(a.Major == b.Major)
	case "~":
		return boolVal(a.Major == b.Major && a.Minor == b.Minor)
	}
	return nullVal
}

// flagdSemver reads a version the way flagd does: strings as they are, other values in Go's %v form, an
// optional "v" or "V" prefix; the short forms "1" and "1.2" are valid only without pre-release or build parts.
func flagdSemver(v val) (flag.Semver, bool) {
	var s string
	switch v.k {
	case kStr:
		s = v.s
	case kNum:
		s = strconv.FormatFloat(v.n, 'g', -1, 64)
	case kBool:
		s = strconv.FormatBool(v.b)
	default:
		return flag.Semver{}, false
	}
	if len(s) > 0 && (s[0] == 'v' || s[0] == 'V') {
		s = s[1:]
	}
	if s == "" || s[0] < '0' || s[0] > '9' {
		return flag.Semver{}, false
	}
	core := s
	if i := strings.IndexAny(s, "-+"); i >= 0 {
		core = s[:i]
		if strings.Count(core, ".") != 2 {
			return flag.Semver{}, false
		}
	}
	if strings.Count(core, ".") > 2 {
		return flag.Semver{}, false
	}
	return flag.ParseSemver(s)
}
