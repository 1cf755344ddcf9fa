package eval

import (
	"github.com/ramphq/ramp/flag"
)

// Explanation is an evaluation with its working shown: every step the evaluator took, in order, and why each
// matched or not. It is for people (the admin API's explain endpoint, the UI), not for hot paths: it allocates.
type Explanation struct {
	Detail flag.Detail `json:"detail"`
	Steps  []Step      `json:"steps"`
}

// Step is one stage of an evaluation.
type Step struct {
	Kind    string        `json:"kind"` // disabled, prerequisite, target, rule, fallthrough
	ID      string        `json:"id,omitempty"`
	Matched bool          `json:"matched"`
	Note    string        `json:"note,omitempty"`
	Clauses []ClauseTrace `json:"clauses,omitempty"`
}

// ClauseTrace shows one clause against the context.
type ClauseTrace struct {
	Clause  flag.Clause `json:"clause"`
	Actual  any         `json:"actual"`
	Present bool        `json:"present"`
	Matched bool        `json:"matched"`
}

// Explain evaluates key for ctx against set and records every step. set must be the set snap was compiled from
// (Compile normalizes it in place); the returned Detail is exactly what snap.Evaluate returns.
func Explain(snap *Snapshot, set *flag.Set, key string, ctx *flag.Context) Explanation {
	if ctx == nil {
		ctx = &emptyCtx
	}
	ex := Explanation{Detail: snap.Evaluate(key, ctx)}
	var f *flag.Flag
	for i := range set.Flags {
		if set.Flags[i].Key == key {
			f = &set.Flags[i]
		}
	}
	if f == nil {
		return ex
	}
	if !f.Enabled {
		ex.Steps = append(ex.Steps, Step{Kind: "disabled", Matched: true, Note: "the flag is disabled: it serves its off variation"})
		return ex
	}
	for _, p := range f.Prerequisites {
		d := snap.Evaluate(p.Flag, ctx)
		enabled := false
		for i := range set.Flags {
			if set.Flags[i].Key == p.Flag {
				enabled = set.Flags[i].Enabled
			}
		}
		ok := enabled && !d.IsError() && d.Variant == p.Variation
		note := "served " + d.Variant + ", required " + p.Variation
		if !enabled {
			note = "the prerequisite is disabled"
		}
		ex.Steps = append(ex.Steps, Step{Kind: "prerequisite", ID: p.Flag, Matched: ok, Note: note})
		if !ok {
			return ex
		}
	}
	for _, t := range f.Targets {
		p := compilePath(t.Attribute)
		hit := hasID(&p, ctx, idSet(t.Values))
		ex.Steps = append(ex.Steps, Step{Kind: "target", ID: "target:" + t.Attribute, Matched: hit, Note: "serves " + t.Variation})
		if hit {
			return ex
		}
	}
	segs := compileSegments(set.Segments)
	for _, r := range f.Rules {
		st := Step{Kind: "rule", ID: r.ID, Matched: true}
		for i := range r.Clauses {
			c := compileClause(&r.Clauses[i], segs)
			tr := ClauseTrace{Clause: r.Clauses[i], Matched: c.match(ctx)}
			if c.path.tk {
				tr.Actual, tr.Present = ctx.TargetingKey, ctx.TargetingKey != ""
			} else if c.op != opInSegment {
				tr.Actual, tr.Present = c.path.lookup(ctx)
			}
			st.Clauses = append(st.Clauses, tr)
			if !tr.Matched {
				st.Matched = false
			}
		}
		if !st.Matched {
			st.Note = "not every clause matched"
		}
		ex.Steps = append(ex.Steps, st)
		if st.Matched {
			return ex
		}
	}
	ex.Steps = append(ex.Steps, Step{Kind: "fallthrough", Matched: true, Note: "no target or rule matched"})
	return ex
}
