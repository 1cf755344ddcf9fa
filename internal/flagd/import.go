// Package flagd converts between flagd's flag-definition format (https://flagd.dev/reference/flag-definitions/)
// and ramp's model: [Import] reads a flagd file (JSON or YAML) into a [flag.Set], [Export] writes a set as a
// flagd file. The mapping, what has no counterpart and the bucketing guarantee are in docs/flagd.md.
//
// A flagd flag becomes a ramp flag whose [flag.Flag.Targeting] holds the flagd targeting expression (with every
// $ref to $evaluators resolved), so ramp's evaluator serves it exactly as flagd does, fractional bucketing
// included. Going the other way, ramp's targets, rules and segments are translated into equivalent JsonLogic.
//
// The package imports only the domain model. The CLI (ramp flags convert, ramp eval) and the conformance test
// over flagd's own testbed are its users.
package flagd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/ramphq/ramp/flag"
)

// maxRefDepth bounds $ref chains ($evaluators that use other $evaluators).
const maxRefDepth = 32

// document is a flagd file's top level.
type document struct {
	Flags      json.RawMessage            `json:"flags"`
	Evaluators map[string]json.RawMessage `json:"$evaluators"`
	Metadata   map[string]any             `json:"metadata"`
	Schema     string                     `json:"$schema"`
}

// definition is one flagd flag.
type definition struct {
	Key            string          `json:"key"` // only in the array form of "flags"
	State          string          `json:"state"`
	Variants       map[string]any  `json:"variants"`
	DefaultVariant *string         `json:"defaultVariant"`
	Targeting      json.RawMessage `json:"targeting"`
	Metadata       map[string]any  `json:"metadata"`
}

// Import converts a flagd flag file (JSON or YAML) into a ramp flag set. Any problem fails the whole file: the
// error is a *flag.Error whose problems name the flag and the path, for example
// flags["new-ui"].targeting.if[0]: unknown operator "foo". The set is validated.
//
// Flags are sorted by key (a flagd file's flags are an object, which has no order) and each flag's variations
// by variation key.
func Import(data []byte) (*flag.Set, error) {
	set, problems, err := convert(data)
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		return nil, &flag.Error{Kind: flag.KindInvalid, Message: "invalid flagd flag file", Problems: problems}
	}
	return set, nil
}

// ImportPartial converts what it can, the way flagd loads a file: a flag whose definition has a problem is
// left out of the set, and its key is listed in skipped with the problems in err (a *flag.Error). flagd
// answers PARSE_ERROR when such a flag is evaluated. Problems with the file itself (not JSON or YAML, no
// flags) return a nil set.
func ImportPartial(data []byte) (set *flag.Set, skipped []string, err error) {
	set, problems, err := convert(data)
	if err != nil {
		return nil, nil, err
	}
	if len(problems) == 0 {
		return set, nil, nil
	}
	bad := map[string]bool{}
	for _, p := range problems {
		if k, ok := problemFlag(p.Path); ok {
			bad[k] = true
		}
	}
	kept := set.Flags[:0]
	for _, f := range set.Flags {
		if !bad[f.Key] {
			kept = append(kept, f)
		}
	}
	set.Flags = kept
	for k := range bad {
		skipped = append(skipped, k)
	}
	sort.Strings(skipped)
	return set, skipped, &flag.Error{Kind: flag.KindInvalid, Message: "invalid flags left out", Problems: problems}
}

// problemFlag extracts the flag key from a path of the form flags["key"]....
func problemFlag(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, "flags[")
	if !ok || !strings.HasPrefix(rest, `"`) {
		return "", false
	}
	end := strings.Index(rest, `"]`)
	for end >= 0 {
		if k, err := strconv.Unquote(rest[:end+1]); err == nil {
			return k, true
		}
		next := strings.Index(rest[end+1:], `"]`)
		if next < 0 {
			break
		}
		end += 1 + next
	}
	return "", false
}

func flagPath(key string) string { return "flags[" + strconv.Quote(key) + "]" }

// convert decodes the file and converts every flag it can. File-level problems are returned as err; problems
// with single flags are returned in problems (with paths naming the flag), and such flags are still in the
// set, possibly incomplete.
func convert(data []byte) (*flag.Set, []flag.Problem, error) {
	js, err := toJSON(data)
	if err != nil {
		return nil, nil, err
	}
	fileErr := func(path, format string, args ...any) error {
		return &flag.Error{Kind: flag.KindInvalid, Message: "invalid flagd flag file",
			Problems: []flag.Problem{{Path: path, Message: fmt.Sprintf(format, args...)}}}
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(js, &top); err != nil {
		return nil, nil, fileErr("", "not a JSON object: %v", strings.TrimPrefix(err.Error(), "json: "))
	}
	for k := range top {
		switch k {
		case "flags", "$evaluators", "metadata", "$schema":
		default:
			return nil, nil, fileErr(k, "unknown field (a flagd file has flags, $evaluators, metadata and $schema)")
		}
	}
	var doc document
	if err := json.Unmarshal(js, &doc); err != nil {
		return nil, nil, fileErr("", "%v", strings.TrimPrefix(err.Error(), "json: "))
	}
	defs, err := decodeFlags(doc.Flags)
	if err != nil {
		return nil, nil, err
	}
	evaluators := map[string]any{}
	for name, raw := range doc.Evaluators {
		var tree any
		if err := json.Unmarshal(raw, &tree); err != nil {
			return nil, nil, fileErr("$evaluators."+name, "%v", err)
		}
		evaluators[name] = tree
	}
	set := &flag.Set{Flags: make([]flag.Flag, 0, len(defs))}
	var problems []flag.Problem
	for _, d := range defs {
		f, ps := convertFlag(d, evaluators)
		set.Flags = append(set.Flags, f)
		problems = append(problems, ps...)
	}
	set.Normalize()
	if err := set.Validate(); err != nil {
		for _, p := range flag.ProblemsOf(err) {
			problems = append(problems, renamePath(p, set))
		}
	}
	return set, problems, nil
}

// renamePath turns ramp's flags[N] into flags["key"] and names ramp's fields by their flagd names.
func renamePath(p flag.Problem, set *flag.Set) flag.Problem {
	rest, ok := strings.CutPrefix(p.Path, "flags[")
	if !ok {
		return p
	}
	end := strings.IndexByte(rest, ']')
	if end < 0 {
		return p
	}
	i, err := strconv.Atoi(rest[:end])
	if err != nil || i < 0 || i >= len(set.Flags) {
		return p
	}
	field := rest[end+1:]
	for ramp, flagd := range map[string]string{".variations": ".variants", ".offVariation": ".defaultVariant", ".fallthrough": ".defaultVariant"} {
		if strings.HasPrefix(field, ramp) {
			field = flagd + strings.TrimPrefix(strings.TrimPrefix(field, ramp), ".variation")
			break
		}
	}
	return flag.Problem{Path: flagPath(set.Flags[i].Key) + field, Message: p.Message}
}

// toJSON returns data as JSON, converting YAML.
func toJSON(data []byte) ([]byte, error) {
	t := bytes.TrimLeft(data, " \t\r\n")
	if len(t) > 0 && t[0] == '{' {
		return data, nil
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, &flag.Error{Kind: flag.KindInvalid, Message: "invalid YAML",
			Problems: []flag.Problem{{Message: strings.TrimSpace(yaml.FormatError(err, false, false))}}}
	}
	return js, nil
}

// decodeFlags reads "flags" in either of flagd's forms, an object keyed by flag key or an array of flags
// with "key", and returns the definitions sorted by key.
func decodeFlags(raw json.RawMessage) ([]definition, error) {
	bad := func(path, format string, args ...any) error {
		return &flag.Error{Kind: flag.KindInvalid, Message: "invalid flagd flag file",
			Problems: []flag.Problem{{Path: path, Message: fmt.Sprintf(format, args...)}}}
	}
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return nil, bad("flags", "is required")
	}
	var defs []definition
	switch t[0] {
	case '{':
		var m map[string]json.RawMessage
		if err := json.Unmarshal(t, &m); err != nil {
			return nil, bad("flags", "%v", strings.TrimPrefix(err.Error(), "json: "))
		}
		for k, v := range m {
			d, err := decodeDefinition(k, v)
			if err != nil {
				return nil, err
			}
			d.Key = k
			defs = append(defs, d)
		}
	case '[':
		var list []json.RawMessage
		if err := json.Unmarshal(t, &list); err != nil {
			return nil, bad("flags", "%v", strings.TrimPrefix(err.Error(), "json: "))
		}
		seen := map[string]bool{}
		for i, v := range list {
			d, err := decodeDefinition(fmt.Sprintf("#%d", i), v)
			if err != nil {
				return nil, err
			}
			if d.Key == "" {
				return nil, bad(fmt.Sprintf("flags[%d].key", i), "is required in the array form of flags")
			}
			if seen[d.Key] {
				return nil, bad(fmt.Sprintf("flags[%d].key", i), "duplicate flag key %q", d.Key)
			}
			seen[d.Key] = true
			defs = append(defs, d)
		}
	default:
		return nil, bad("flags", "must be an object of flags keyed by flag key")
	}
	slices.SortFunc(defs, func(a, b definition) int { return strings.Compare(a.Key, b.Key) })
	return defs, nil
}

func decodeDefinition(key string, raw json.RawMessage) (definition, error) {
	var d definition
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		msg := strings.TrimPrefix(err.Error(), "json: ")
		if te, ok := err.(*json.UnmarshalTypeError); ok && te.Field != "" {
			return d, &flag.Error{Kind: flag.KindInvalid, Message: "invalid flagd flag file",
				Problems: []flag.Problem{{Path: flagPath(key) + "." + te.Field, Message: "expected " + te.Type.String() + ", got JSON " + te.Value}}}
		}
		return d, &flag.Error{Kind: flag.KindInvalid, Message: "invalid flagd flag file",
			Problems: []flag.Problem{{Path: flagPath(key), Message: msg}}}
	}
	return d, nil
}

// convertFlag maps one flagd flag. It always returns a flag (possibly incomplete) and the problems found.
func convertFlag(d definition, evaluators map[string]any) (flag.Flag, []flag.Problem) {
	p := flagPath(d.Key)
	var problems []flag.Problem
	addf := func(path, format string, args ...any) {
		problems = append(problems, flag.Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	f := flag.Flag{Key: d.Key}
	switch d.State {
	case "ENABLED":
		f.Enabled = true
	case "DISABLED":
	case "":
		addf(p+".state", "is required (ENABLED or DISABLED)")
	default:
		addf(p+".state", "%q is not ENABLED or DISABLED", d.State)
	}
	keys := make([]string, 0, len(d.Variants))
	for k := range d.Variants {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		addf(p+".variants", "at least one variant is required")
	}
	for _, k := range keys {
		f.Variations = append(f.Variations, flag.Variation{Key: k, Value: d.Variants[k]})
	}
	f.Type = inferType(d.Variants)
	def := ""
	if d.DefaultVariant != nil {
		def = *d.DefaultVariant
		if _, ok := d.Variants[def]; !ok {
			addf(p+".defaultVariant", "%q is not one of the flag's variants", def)
		}
	}
	switch {
	case def != "":
		f.OffVariation = def
		f.Fallthrough = flag.Serve{Variation: def}
	case len(keys) > 0:
		// No default variant: flagd serves the caller's default. The empty fallthrough says so; the off
		// variation is required by ramp and only served to ramp clients of a disabled flag.
		f.OffVariation = keys[0]
	}
	if tree, present, err := decodeTargeting(d.Targeting); err != nil {
		addf(p+".targeting", "%v", err)
	} else if present {
		resolved, err := resolveRefs(tree, evaluators, 0)
		if err != nil {
			addf(p+".targeting", "%v", err)
		} else if js, err := json.Marshal(resolved); err != nil {
			addf(p+".targeting", "%v", err)
		} else {
			f.Targeting = js
		}
	}
	if def == "" && len(f.Targeting) == 0 {
		// flagd: no targeting and no default variant → the caller's default, reason DEFAULT. The null
		// expression always falls through to the empty fallthrough, which says exactly that.
		f.Targeting = json.RawMessage("null")
	}
	for _, field := range []struct {
		name string
		dst  *string
	}{{"name", &f.Name}, {"description", &f.Description}, {"owner", &f.Owner}} {
		if s, ok := d.Metadata[field.name].(string); ok {
			*field.dst = s
		}
	}
	return f, problems
}

// inferType picks the ramp type that holds every variant value: boolean, string or number when they all are,
// json otherwise.
func inferType(variants map[string]any) flag.ValueType {
	var bools, strs, nums int
	for _, v := range variants {
		switch v.(type) {
		case bool:
			bools++
		case string:
			strs++
		case float64:
			nums++
		}
	}
	switch n := len(variants); {
	case n == 0:
		return flag.TypeString
	case bools == n:
		return flag.TypeBoolean
	case strs == n:
		return flag.TypeString
	case nums == n:
		return flag.TypeNumber
	}
	return flag.TypeJSON
}

// decodeTargeting decodes a targeting expression. Absent and {} mean no targeting (flagd serves the default
// variant with reason STATIC); null is an expression that always returns null (reason DEFAULT).
func decodeTargeting(raw json.RawMessage) (tree any, present bool, err error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return nil, false, nil
	}
	if err := json.Unmarshal(t, &tree); err != nil {
		return nil, false, err
	}
	if m, ok := tree.(map[string]any); ok && len(m) == 0 {
		return nil, false, nil
	}
	return tree, true, nil
}

// resolveRefs replaces every {"$ref": "name"} with the shared evaluator of that name, recursively.
func resolveRefs(node any, evaluators map[string]any, depth int) (any, error) {
	if depth > maxRefDepth {
		return nil, fmt.Errorf("$ref chain deeper than %d levels (is there a cycle in $evaluators?)", maxRefDepth)
	}
	switch x := node.(type) {
	case map[string]any:
		if ref, ok := x["$ref"]; ok && len(x) == 1 {
			name, ok := ref.(string)
			if !ok {
				return nil, fmt.Errorf("$ref must name an evaluator, got %v", ref)
			}
			ev, ok := evaluators[name]
			if !ok {
				return nil, fmt.Errorf("$ref %q: no such evaluator in $evaluators", name)
			}
			return resolveRefs(ev, evaluators, depth+1)
		}
		out := make(map[string]any, len(x))
		for k, v := range x {
			r, err := resolveRefs(v, evaluators, depth)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, v := range x {
			r, err := resolveRefs(v, evaluators, depth)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return node, nil
}
