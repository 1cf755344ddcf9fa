package flag

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
)

// Limits on a flagd targeting expression, so that a hostile or mistaken file cannot make compilation or
// evaluation slow.
const (
	MaxTargetingDepth = 64     // nesting of operations and arrays
	MaxTargetingNodes = 10_000 // operations, arrays and literals in one expression
)

// TargetingOperators lists the JsonLogic operators a flagd targeting expression may use: the standard ones
// flagd's evaluator supports plus flagd's own (fractional, sem_ver, starts_with, ends_with). The evaluator
// compiles every one of them; docs/flagd.md describes their semantics.
var TargetingOperators = []string{
	"var", "missing", "missing_some",
	"if", "?:", "==", "===", "!=", "!==", "!", "!!", "and", "or",
	"<", "<=", ">", ">=",
	"in", "cat", "substr", "merge",
	"+", "-", "*", "/", "%", "min", "max",
	"map", "filter", "reduce", "all", "some", "none",
	"fractional", "starts_with", "ends_with", "sem_ver",
}

// HasTargeting reports whether the flag has a flagd targeting expression.
func (f *Flag) HasTargeting() bool { return len(bytes.TrimSpace(f.Targeting)) > 0 }

// TargetingTree decodes the targeting expression into a generic JSON tree: map[string]any for operations and
// objects, []any, string, float64, bool and nil. It returns nil, nil when the flag has no targeting. The
// evaluator compiles this tree; it never sees JSON text.
func (f *Flag) TargetingTree() (any, error) {
	if !f.HasTargeting() {
		return nil, nil
	}
	d := json.NewDecoder(bytes.NewReader(f.Targeting))
	var tree any
	if err := d.Decode(&tree); err != nil {
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	if d.More() {
		return nil, fmt.Errorf("invalid JSON: unexpected data after the expression")
	}
	return tree, nil
}

// normalizeTargeting drops an empty object, which flagd treats as no targeting at all.
func normalizeTargeting(f *Flag) {
	if !f.HasTargeting() {
		f.Targeting = nil
		return
	}
	var buf bytes.Buffer
	if json.Compact(&buf, f.Targeting) == nil && buf.String() == "{}" {
		f.Targeting = nil
	}
}

// targeting validates a flag's targeting expression: valid JSON, known operators, one operator per object,
// no unresolved $ref, within the size limits. Problems carry the path inside the expression, for example
// flags[3].targeting.if[0]: unknown operator "foo".
func (v *validator) targeting(p string, f *Flag) {
	if len(f.Targets) > 0 || len(f.Rules) > 0 {
		v.addf(p+".targeting", "a flag has either a targeting expression or targets and rules, not both")
	}
	tree, err := f.TargetingTree()
	if err != nil {
		v.addf(p+".targeting", "%v", err)
		return
	}
	w := targetingWalker{v: v}
	w.walk(p+".targeting", tree, 0)
}

type targetingWalker struct {
	v     *validator
	nodes int
	full  bool // the node limit was reported
}

func (w *targetingWalker) walk(p string, node any, depth int) {
	w.nodes++
	if w.nodes > MaxTargetingNodes {
		if !w.full {
			w.v.addf(p, "the expression has more than %d nodes", MaxTargetingNodes)
			w.full = true
		}
		return
	}
	if depth > MaxTargetingDepth {
		w.v.addf(p, "the expression is nested deeper than %d levels", MaxTargetingDepth)
		return
	}
	switch x := node.(type) {
	case []any:
		for i, e := range x {
			w.walk(p+"["+strconv.Itoa(i)+"]", e, depth+1)
		}
	case map[string]any:
		if len(x) == 0 {
			return // an empty object is a literal
		}
		if len(x) > 1 {
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, strconv.Quote(k))
			}
			slices.Sort(keys)
			w.v.addf(p, "an operation has exactly one operator, got %d keys (%s)", len(x), joinComma(keys))
			return
		}
		for op, args := range x {
			switch {
			case op == "$ref":
				w.v.addf(p, "unresolved $ref %s: shared evaluators ($evaluators) are resolved when a flagd file is imported", describe(args))
				return
			case !slices.Contains(TargetingOperators, op):
				w.v.addf(p, "unknown operator %q", op)
				return
			}
			if p == "" {
				p = op
			} else {
				p = p + "." + op
			}
			if arr, ok := args.([]any); ok {
				for i, e := range arr {
					w.walk(p+"["+strconv.Itoa(i)+"]", e, depth+1)
				}
			} else {
				w.walk(p, args, depth+1)
			}
		}
	}
}

func joinComma(s []string) string {
	var b bytes.Buffer
	for i, x := range s {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(x)
	}
	return b.String()
}
