package eval

// Compiled JsonLogic for flagd targeting expressions.
//
// flagd (and go-feature-flag) marshal the evaluation context to JSON and hand expression and context to a
// JsonLogic library on every evaluation, which parses both again each time. ramp compiles the expression once,
// when the flag set changes, into a tree of nodes: operators become opcodes, literal arrays become constant
// values, attribute paths are split, and fractional distributions made only of literals are parsed and summed.
// Evaluation walks that tree with the context where it is, reading attributes through flag.Context; values
// travel as the small [val] struct on the stack instead of boxed interfaces, so the common expressions (var,
// comparisons, if, and/or, starts_with, sem_ver, fractional on an attribute) do not allocate. Operators that
// build new strings or arrays (cat, merge, map, filter, substr, missing) allocate what they build.
//
// The semantics follow flagd's evaluator, which uses JavaScript's rules through its JsonLogic library: loose
// equality and ordering convert to numbers, truthiness treats 0, "", [], {} and null as false, and flagd's
// operators return null when their arguments are wrong, which makes the flag serve its default.

import (
	"math"
	"strconv"
	"strings"

	"github.com/ramphq/ramp/flag"
)

// kind is the JSON type of a value.
type kind uint8

const (
	kNull kind = iota
	kBool
	kNum
	kStr
	kArr // x holds []any or []string
	kObj // x holds map[string]any
)

// val is a JSON value during evaluation. Scalars live in the struct itself; arrays and objects keep the
// context's (or the literal's) Go value in x, unconverted.
type val struct {
	k kind
	b bool
	n float64
	s string
	x any
}

var nullVal = val{}

func boolVal(b bool) val   { return val{k: kBool, b: b} }
func numVal(n float64) val { return val{k: kNum, n: n} }
func strVal(s string) val  { return val{k: kStr, s: s} }
func arrVal(a []any) val   { return val{k: kArr, x: a} }

// fromAny converts a context or literal value. Numbers of any Go type become float64; values of types JSON
// has no place for count as null.
func fromAny(x any) val {
	switch t := x.(type) {
	case nil:
		return nullVal
	case string:
		return val{k: kStr, s: t}
	case bool:
		return val{k: kBool, b: t}
	case float64:
		return val{k: kNum, n: t}
	case []any:
		return val{k: kArr, x: t}
	case []string:
		return val{k: kArr, x: t}
	case map[string]any:
		return val{k: kObj, x: t}
	}
	if n, ok := flag.AsNumber(x); ok {
		return val{k: kNum, n: n}
	}
	return nullVal
}

// toAny converts a value back to a generic JSON value (allocating for numbers).
func (v val) toAny() any {
	switch v.k {
	case kBool:
		return v.b
	case kNum:
		return v.n
	case kStr:
		return v.s
	case kArr, kObj:
		return v.x
	}
	return nil
}

// arrLen and arrAt read an array value of either representation.
func (v val) arrLen() int {
	switch a := v.x.(type) {
	case []any:
		return len(a)
	case []string:
		return len(a)
	}
	return 0
}

func (v val) arrAt(i int) val {
	switch a := v.x.(type) {
	case []any:
		if i >= 0 && i < len(a) {
			return fromAny(a[i])
		}
	case []string:
		if i >= 0 && i < len(a) {
			return val{k: kStr, s: a[i]}
		}
	}
	return nullVal
}

// lop is a JsonLogic operator as a small integer.
type lop uint8

const (
	lLit lop = iota // a constant value
	lArr            // an array literal with at least one non-constant element
	lVar
	lMissing
	lMissingSome
	lIf
	lEq
	lStrictEq
	lNe
	lStrictNe
	lNot
	lTruthy
	lAnd
	lOr
	lLT
	lLTE
	lGT
	lGTE
	lIn
	lCat
	lSubstr
	lMerge
	lAdd
	lSub
	lMul
	lDiv
	lMod
	lMin
	lMax
	lMap
	lFilter
	lReduce
	lAll
	lSome
	lNone
	lFractional
	lStartsWith
	lEndsWith
	lSemver
)

var lops = map[string]lop{
	"var": lVar, "missing": lMissing, "missing_some": lMissingSome,
	"if": lIf, "?:": lIf, "==": lEq, "===": lStrictEq, "!=": lNe, "!==": lStrictNe, "!": lNot, "!!": lTruthy,
	"and": lAnd, "or": lOr, "<": lLT, "<=": lLTE, ">": lGT, ">=": lGTE,
	"in": lIn, "cat": lCat, "substr": lSubstr, "merge": lMerge,
	"+": lAdd, "-": lSub, "*": lMul, "/": lDiv, "%": lMod, "min": lMin, "max": lMax,
	"map": lMap, "filter": lFilter, "reduce": lReduce, "all": lAll, "some": lSome, "none": lNone,
	"fractional": lFractional, "starts_with": lStartsWith, "ends_with": lEndsWith, "sem_ver": lSemver,
}

// varKind says where a var with a constant path reads from.
type varKind uint8

const (
	varPath      varKind = iota // a context attribute path (or, inside map/filter/reduce, a path in the element)
	varTK                       // targetingKey
	varFlagKey                  // $flagd.flagKey
	varTimestamp                // $flagd.timestamp
	varWhole                    // "": the whole data
	varDynamic                  // the path is computed by an expression
)

// lnode is a compiled JsonLogic node.
type lnode struct {
	op   lop
	lit  val      // lLit
	args []*lnode // operands (lArr: the elements)

	// var
	vk   varKind
	segs []string // the path split on '.', empty segments dropped
	def  *lnode   // default when the path resolves to null

	frac *fracStatic // fractional with constant distributions
}

// compileLogic compiles a decoded targeting tree. The tree has been validated (flag.Set.Validate), so every
// operator is known; compileLogic still never panics on a malformed tree.
func compileLogic(tree any) *lnode {
	switch t := tree.(type) {
	case []any:
		n := &lnode{op: lArr, args: make([]*lnode, len(t))}
		constant := true
		for i, e := range t {
			n.args[i] = compileLogic(e)
			constant = constant && n.args[i].op == lLit
		}
		if constant {
			return &lnode{op: lLit, lit: arrVal(t)}
		}
		return n
	case map[string]any:
		if len(t) != 1 {
			return &lnode{op: lLit, lit: val{k: kObj, x: t}}
		}
		for name, raw := range t {
			op, ok := lops[name]
			if !ok {
				return &lnode{op: lLit} // unreachable after validation: evaluates to null
			}
			var argv []any
			if a, ok := raw.([]any); ok {
				argv = a
			} else {
				argv = []any{raw}
			}
			n := &lnode{op: op, args: make([]*lnode, len(argv))}
			for i, a := range argv {
				n.args[i] = compileLogic(a)
			}
			switch op {
			case lVar:
				compileVar(n, argv)
			case lFractional:
				n.frac = compileFractional(n.args)
			}
			return n
		}
	}
	return &lnode{op: lLit, lit: fromAny(tree)}
}

func compileVar(n *lnode, argv []any) {
	if len(argv) == 0 {
		n.vk = varWhole
		return
	}
	if len(n.args) > 1 {
		n.def = n.args[1]
	}
	var p string
	switch x := argv[0].(type) {
	case string:
		p = x
	case float64:
		p = strconv.FormatFloat(x, 'f', -1, 64)
	case nil:
		n.vk = varWhole
		return
	default:
		n.vk = varDynamic
		return
	}
	n.vk, n.segs = classifyPath(p)
}

// classifyPath splits a var path and recognises the paths flagd fills in itself. The segments are kept for
// every kind: inside map, filter and reduce a path reads the current element, where "targetingKey" is just a
// key.
func classifyPath(p string) (varKind, []string) {
	segs := splitPath(p)
	switch p {
	case "":
		return varWhole, segs
	case flag.TargetingKeyAttribute:
		return varTK, segs
	case "$flagd.flagKey":
		return varFlagKey, segs
	case "$flagd.timestamp":
		return varTimestamp, segs
	}
	return varPath, segs
}

func splitPath(p string) []string {
	parts := strings.Split(p, ".")
	out := parts[:0]
	for _, s := range parts {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// logic is a flag's compiled targeting expression with every result it can produce precomputed.
type logic struct {
	root      *lnode
	flagKey   string
	variants  map[string]*flag.Detail // TARGETING_MATCH by variation key
	fallback  *serve                  // null: the flag's fallthrough
	noVariant flag.Detail             // the result named no variation: ERROR/GENERAL
}

// resolve evaluates the expression and maps its result to a detail. A string result is the variation key;
// other scalars are read as flagd reads them, by their JSON text without quotes (true → "true", 2 → "2").
func (l *logic) resolve(ctx *flag.Context) *flag.Detail {
	st := lstate{ctx: ctx, flagKey: l.flagKey}
	v := l.root.eval(&st)
	var d *flag.Detail
	switch v.k {
	case kNull:
		return l.fallback.resolve(ctx)
	case kStr:
		d = l.variants[v.s]
	case kBool:
		d = l.variants[strconv.FormatBool(v.b)]
	case kNum:
		var buf [32]byte
		d = l.variants[string(appendJSONNumber(buf[:0], v.n))]
	}
	if d == nil {
		return &l.noVariant
	}
	return d
}

// appendJSONNumber formats a number as encoding/json does (flagd reads numeric results in that form).
func appendJSONNumber(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		b = strconv.AppendFloat(b, f, 'e', -1, 64)
		// clean up e-09 to e-9, as encoding/json does
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
		return b
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

func compileTargeting(f *flag.Flag, result func(variation string, reason flag.Reason) flag.Detail, fallback *serve) (*logic, error) {
	tree, err := f.TargetingTree()
	if err != nil {
		return nil, err
	}
	l := &logic{
		root:     compileLogic(tree),
		flagKey:  f.Key,
		variants: make(map[string]*flag.Detail, len(f.Variations)),
		fallback: fallback,
		noVariant: flag.Detail{Reason: flag.ReasonError, ErrorCode: flag.ErrorGeneral,
			ErrorMessage: "the targeting expression returned a value that names no variation of the flag"},
	}
	for _, v := range f.Variations {
		d := result(v.Key, flag.ReasonTargetingMatch)
		l.variants[v.Key] = &d
	}
	return l, nil
}
