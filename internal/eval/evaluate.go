package eval

import (
	"github.com/ramphq/ramp/flag"
)

// Results for errors that do not depend on the flag. They are values, so returning them never allocates.
var (
	notFound = flag.Detail{Reason: flag.ReasonError, ErrorCode: flag.ErrorFlagNotFound, ErrorMessage: "flag not found"}
	noFlags  = flag.Detail{Reason: flag.ReasonError, ErrorCode: flag.ErrorGeneral, ErrorMessage: "no flags loaded"}
	mismatch = flag.Detail{Reason: flag.ReasonError, ErrorCode: flag.ErrorTypeMismatch, ErrorMessage: "flag has a different value type"}
	emptyCtx flag.Context
)

// Evaluate evaluates the flag key for ctx (nil means an empty context). It never fails: errors are reported in
// the detail's ErrorCode, with Reason ERROR and a nil Value.
func (s *Snapshot) Evaluate(key string, ctx *flag.Context) flag.Detail {
	if s == nil {
		return noFlags
	}
	f := s.table.get(key)
	if f == nil {
		return notFound
	}
	if f.static != nil {
		return *f.static
	}
	if ctx == nil {
		ctx = &emptyCtx
	}
	return *f.eval(ctx)
}

// EvaluateAs is Evaluate for a caller that expects a value of type t: a flag of another type yields
// TYPE_MISMATCH.
func (s *Snapshot) EvaluateAs(key string, t flag.ValueType, ctx *flag.Context) flag.Detail {
	if s == nil {
		return noFlags
	}
	f := s.table.get(key)
	if f == nil {
		return notFound
	}
	if f.typ != t {
		return mismatch
	}
	if f.static != nil {
		return *f.static
	}
	if ctx == nil {
		ctx = &emptyCtx
	}
	return *f.eval(ctx)
}

// All evaluates every flag for ctx, keyed by flag key. It allocates the map; use Evaluate on hot paths.
func (s *Snapshot) All(ctx *flag.Context) map[string]flag.Detail {
	out := make(map[string]flag.Detail, len(s.keys))
	for _, k := range s.keys {
		out[k] = s.Evaluate(k, ctx)
	}
	return out
}

// eval returns a pointer to one of the flag's precomputed results: evaluation copies a result once, in the
// exported methods, and never builds one.
func (f *cflag) eval(ctx *flag.Context) *flag.Detail {
	if !f.enabled {
		return &f.off
	}
	for i := range f.prereqs {
		p := &f.prereqs[i]
		if !p.flag.enabled {
			return &p.failed
		}
		if d := p.flag.eval(ctx); d.ErrorCode != "" || d.Variant != p.variant {
			return &p.failed
		}
	}
	if f.logic != nil {
		return f.logic.resolve(ctx)
	}
	for i := range f.targets {
		t := &f.targets[i]
		if hasID(&t.by, ctx, t.ids) {
			return &t.detail
		}
	}
	for i := range f.rules {
		r := &f.rules[i]
		if allMatch(r.clauses, ctx) {
			return r.serve.resolve(ctx)
		}
	}
	return f.fallback.resolve(ctx)
}

func (s *serve) resolve(ctx *flag.Context) *flag.Detail {
	sp := s.split
	if sp == nil {
		return &s.detail
	}
	if sp.by.tk {
		if ctx.TargetingKey == "" {
			return &s.missing
		}
		return &s.byIndex[sp.pick(sp.bucket(ctx.TargetingKey))]
	}
	v, ok := sp.by.lookup(ctx)
	if !ok {
		return &s.missing
	}
	if str, ok := v.(string); ok {
		return &s.byIndex[sp.pick(sp.bucket(str))]
	}
	if n, ok := flag.AsNumber(v); ok {
		var buf [32]byte
		d := sp.prefix
		return &s.byIndex[sp.pick(bucketOfBytes(&d, numberKey(buf[:0], n)))]
	}
	return &s.invalid
}
