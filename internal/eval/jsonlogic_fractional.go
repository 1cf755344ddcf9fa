package eval

import (
	"math"

	"github.com/twmb/murmur3"
)

// flagd's fractional operator, bucketing exactly as flagd does (docs/flagd.md):
//
//	value  = the first argument when it evaluates to a string, else flagKey ‖ targetingKey
//	hash   = MurmurHash3 x86 32-bit, seed 0, over value's UTF-8 bytes
//	bucket = (uint64(hash) · totalWeight) >> 32
//
// and the first distribution whose cumulative weight exceeds bucket wins. Weights are integers; a negative
// weight counts as 0; a distribution without a weight weighs 1. An invalid distribution, a total weight of 0
// or above 2^31-1, or no bucketing value (no string first argument and no targeting key) gives null, which
// serves the flag's default.
//
// Distributions made only of literals are parsed once at compile time; distributions holding expressions (a
// variant or a weight computed from the context) are evaluated per call, as flagd does.

// maxFractionalWeight bounds single weights and their sum, as flagd does.
const maxFractionalWeight = math.MaxInt32

// fracStatic is a fractional operator's compile-time analysis.
type fracStatic struct {
	firstIsDist bool // the first argument is a distribution: the bucketing value is flagKey ‖ targetingKey
	parsed      bool // the distributions are constant and parsed below
	invalid     bool // ... and invalid, so the operator always gives null
	variants    []val
	bounds      []uint64 // cumulative weights
	total       uint64
}

func isArrayNode(n *lnode) bool { return n.op == lArr || (n.op == lLit && n.lit.k == kArr) }

func compileFractional(args []*lnode) *fracStatic {
	f := &fracStatic{}
	if len(args) == 0 {
		f.parsed, f.invalid = true, true
		return f
	}
	f.firstIsDist = isArrayNode(args[0])
	dists := args
	if !f.firstIsDist {
		dists = args[1:]
	}
	for _, d := range dists {
		if d.op != lLit {
			return f // computed distributions: parsed per evaluation
		}
	}
	vals := make([]val, len(dists))
	for i, d := range dists {
		vals[i] = d.lit
	}
	f.parsed = true
	f.variants, f.bounds, f.total, f.invalid = parseDistributions(vals, f.variants, f.bounds)
	return f
}

// parseDistributions checks distributions the way flagd does and returns the variants with their cumulative
// weights, appended to the given slices. invalid is true when flagd would reject them (its result is null).
func parseDistributions(dists []val, variants []val, bounds []uint64) (_ []val, _ []uint64, total uint64, invalid bool) {
	for _, d := range dists {
		if d.k != kArr || d.arrLen() == 0 {
			return variants, bounds, 0, true
		}
		v := d.arrAt(0)
		switch v.k {
		case kStr, kBool, kNum, kNull:
		default:
			return variants, bounds, 0, true
		}
		weight := int64(1)
		if d.arrLen() >= 2 {
			w := d.arrAt(1)
			switch w.k {
			case kNum:
				if w.n != math.Trunc(w.n) || math.IsNaN(w.n) || math.IsInf(w.n, 0) {
					return variants, bounds, 0, true
				}
				if w.n > maxFractionalWeight {
					return variants, bounds, 0, true
				}
				weight = int64(w.n)
			case kNull:
			default:
				return variants, bounds, 0, true
			}
		}
		if weight < 0 {
			weight = 0
		}
		total += uint64(weight)
		variants = append(variants, v)
		bounds = append(bounds, total)
	}
	if total > maxFractionalWeight {
		return variants, bounds, 0, true
	}
	return variants, bounds, total, false
}

func (n *lnode) evalFractional(st *lstate) val {
	f := n.frac
	if f == nil || len(n.args) == 0 {
		return nullVal
	}
	dists := n.args
	var bucketBy string
	byKey := true
	var first val // a distribution computed by the first argument, when there is one
	hasFirst := false
	if !f.firstIsDist {
		dists = n.args[1:]
		switch v := n.args[0].eval(st); v.k {
		case kStr:
			bucketBy, byKey = v.s, false
		case kNull:
		case kArr:
			first, hasFirst = v, true // the first argument turned out to be a distribution
		default:
			return nullVal
		}
	}
	if byKey && st.ctx.TargetingKey == "" {
		return nullVal
	}
	var variants []val
	var bounds []uint64
	var total uint64
	if f.parsed && !hasFirst {
		if f.invalid {
			return nullVal
		}
		variants, bounds, total = f.variants, f.bounds, f.total
	} else {
		var vbuf [8]val
		vals := vbuf[:0]
		if hasFirst {
			vals = append(vals, first)
		}
		for _, d := range dists {
			vals = append(vals, d.eval(st))
		}
		var varBuf [8]val
		var boundBuf [8]uint64
		var invalid bool
		variants, bounds, total, invalid = parseDistributions(vals, varBuf[:0], boundBuf[:0])
		if invalid {
			return nullVal
		}
	}
	if total == 0 {
		return nullVal
	}
	var h uint32
	if byKey {
		h = hashConcat(st.flagKey, st.ctx.TargetingKey)
	} else {
		h = hashConcat("", bucketBy)
	}
	return variants[pickWeighted(h, bounds, total)]
}

// pickWeighted maps a hash to [0, total) and returns the index of the distribution that holds it.
func pickWeighted(h uint32, bounds []uint64, total uint64) int {
	bucket := (uint64(h) * total) >> 32
	for i, ub := range bounds {
		if bucket < ub {
			return i
		}
	}
	return len(bounds) - 1 // unreachable: bucket < total = the last bound
}

// hashConcat is MurmurHash3 x86 32-bit (seed 0) of a ‖ b, laid out in a stack buffer when it fits.
func hashConcat(a, b string) uint32 {
	var buf [256]byte
	if len(a)+len(b) <= len(buf) {
		k := copy(buf[:], a)
		k += copy(buf[k:], b)
		return murmur3.Sum32(buf[:k])
	}
	return murmur3.Sum32([]byte(a + b))
}

// FlagdBucket returns the distribution index flagd's fractional operator picks for the bucketing value (the
// string it hashes: by default flagKey ‖ targetingKey) among integer weights, and the MurmurHash3 value it
// used. Tools and tests use it to reproduce flagd's assignments.
func FlagdBucket(value string, weights []int) (index int, hash uint32) {
	bounds := make([]uint64, len(weights))
	var total uint64
	for i, w := range weights {
		if w > 0 {
			total += uint64(w)
		}
		bounds[i] = total
	}
	hash = hashConcat("", value)
	if total == 0 {
		return -1, hash
	}
	return pickWeighted(hash, bounds, total), hash
}
