package load

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Templates use ${name} references, parsed once when the plan is compiled:
//
//	${token}            a variable of the plan or a value extracted by an earlier step
//	${vars.token}       the same, explicitly
//	${users.email}      column email of the current row of feed users
//	${env.HOME}         an environment variable, read when the run starts
//	${secret.password}  a secret (redacted from every output)
//	${vu} ${iteration} ${timestamp_ms} ${random}  built-ins
//
// $$ writes a literal $.

type segKind uint8

const (
	segLit segKind = iota
	segVar
	segFeed
	segBuiltin
)

var builtins = map[string]bool{"vu": true, "iteration": true, "timestamp_ms": true, "random": true}

type segment struct {
	kind segKind
	lit  string
	name string // raw reference as written
	feed int    // feed index for segFeed
	col  string // feed column
}

type tmpl struct {
	segs []segment
	// jsonEscape escapes substituted values for use inside a JSON string.
	jsonEscape bool
}

// literal reports whether the template has no references, and its text.
func (t *tmpl) literal() (string, bool) {
	switch len(t.segs) {
	case 0:
		return "", true
	case 1:
		if t.segs[0].kind == segLit {
			return t.segs[0].lit, true
		}
	}
	return "", false
}

func parseTemplate(s string) (*tmpl, error) {
	t := &tmpl{}
	var lit strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' || i+1 >= len(s) {
			lit.WriteByte(c)
			i++
			continue
		}
		switch s[i+1] {
		case '$':
			lit.WriteByte('$')
			i += 2
			continue
		case '{':
		default:
			lit.WriteByte(c)
			i++
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return nil, fmt.Errorf("unclosed ${ at offset %d in %q", i, s)
		}
		name := strings.TrimSpace(s[i+2 : i+2+end])
		if name == "" {
			return nil, fmt.Errorf("empty ${} at offset %d", i)
		}
		if lit.Len() > 0 {
			t.segs = append(t.segs, segment{kind: segLit, lit: lit.String()})
			lit.Reset()
		}
		t.segs = append(t.segs, segment{kind: segVar, name: name})
		i += 2 + end + 1
	}
	if lit.Len() > 0 {
		t.segs = append(t.segs, segment{kind: segLit, lit: lit.String()})
	}
	return t, nil
}

// resolveStatic binds env, secret, feed and builtin references. Variables stay dynamic.
func (t *tmpl) resolveStatic(c *compiler) error {
	out := t.segs[:0]
	for _, seg := range t.segs {
		if seg.kind != segVar {
			out = append(out, seg)
			continue
		}
		prefix, rest, dotted := strings.Cut(seg.name, ".")
		switch {
		case !dotted && builtins[seg.name]:
			seg.kind = segBuiltin
		case !dotted:
		case prefix == "vars":
			seg.name = rest
		case prefix == "env":
			v, ok := c.lookupEnv(rest)
			if !ok {
				return fmt.Errorf("${%s}: environment variable %s is not set", seg.name, rest)
			}
			seg = segment{kind: segLit, lit: v}
		case prefix == "secret":
			v, ok := c.secrets[rest]
			if !ok {
				return fmt.Errorf("${%s}: no secret named %q", seg.name, rest)
			}
			seg = segment{kind: segLit, lit: v}
		default:
			fi, ok := c.feedIndex[prefix]
			if !ok {
				return fmt.Errorf("${%s}: %q is not a feed, env, secret or vars", seg.name, prefix)
			}
			if !c.feeds[fi].hasColumn(rest) {
				return fmt.Errorf("${%s}: feed %s has no column %q (columns: %s)", seg.name, prefix, rest, strings.Join(c.feeds[fi].columns, ", "))
			}
			seg.kind, seg.feed, seg.col = segFeed, fi, rest
		}
		if seg.kind == segLit && t.jsonEscape {
			seg.lit = jsonEscape(seg.lit)
		}
		// merge adjacent literals
		if seg.kind == segLit && len(out) > 0 && out[len(out)-1].kind == segLit {
			out[len(out)-1].lit += seg.lit
			continue
		}
		out = append(out, seg)
	}
	t.segs = out
	return nil
}

// feedsUsed adds the feed indexes the template reads to set.
func (t *tmpl) feedsUsed(set map[int]bool) {
	for _, s := range t.segs {
		if s.kind == segFeed {
			set[s.feed] = true
		}
	}
}

// render appends the template's value for the VU to dst.
func (t *tmpl) render(dst []byte, v *vu) []byte {
	for i := range t.segs {
		s := &t.segs[i]
		var val string
		switch s.kind {
		case segLit:
			dst = append(dst, s.lit...)
			continue
		case segVar:
			val = v.lookup(s.name)
		case segFeed:
			val = v.feedValue(s.feed, s.col)
		case segBuiltin:
			switch s.name {
			case "vu":
				dst = strconv.AppendInt(dst, int64(v.id), 10)
			case "iteration":
				dst = strconv.AppendInt(dst, v.iteration, 10)
			case "timestamp_ms":
				dst = strconv.AppendInt(dst, time.Now().UnixMilli(), 10)
			case "random":
				dst = strconv.AppendUint(dst, v.rng.Uint64(), 36)
			}
			continue
		}
		if t.jsonEscape {
			val = jsonEscape(val)
		}
		dst = append(dst, val...)
	}
	return dst
}

// renderString renders to a string, without allocating for literal templates.
func (t *tmpl) renderString(v *vu) string {
	if s, ok := t.literal(); ok {
		return s
	}
	return string(t.render(v.scratch[:0], v))
}

func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// compileJSONBody marshals a YAML value to JSON text; templates inside its strings survive marshalling
// because ${...} contains no characters JSON escapes.
func compileJSONBody(v any) (string, error) {
	b, err := json.Marshal(normalizeYAML(v))
	if err != nil {
		return "", fmt.Errorf("cannot encode as JSON: %v", err)
	}
	return string(b), nil
}

// normalizeYAML turns map[any]any (possible from YAML) into map[string]any.
func normalizeYAML(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = normalizeYAML(e)
		}
		return m
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[fmt.Sprint(k)] = normalizeYAML(e)
		}
		return m
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = normalizeYAML(e)
		}
		return out
	}
	return v
}
