package httpapi

// The OFREP request decoder. Almost every request is {"context": {...}} with a flat object of strings, numbers
// and booleans; fastContext reads exactly that shape in one pass without reflection, and hands anything else
// (nested values, escapes, other fields, malformed input) to encoding/json, which is then the only decoder the
// request sees. FuzzOFREPDecode checks that both paths agree on every input the fast one accepts.

import (
	"strconv"
	"unicode/utf8"
)

// scratch is what a pooled buffer lends the decoder: attribute names interned across requests (the handful of
// names an application uses are allocated once per buffer, not once per request; past maxNames the table starts
// over), and a map to collect attributes in, emptied after each request.
type scratch struct {
	names map[string]string
	attrs map[string]any
}

// fastContext decodes body when it is {"context": null} or {"context": {flat object}}, returning the context's
// attributes and true; otherwise it returns false and the caller decodes with encoding/json. With sc not nil the
// attributes are collected in sc.attrs, which the caller empties when it is done with them.
func fastContext(body []byte, sc *scratch) (map[string]any, bool) {
	var names map[string]string
	if sc != nil {
		names = sc.names
	}
	p := jsonScan{b: body}
	if !p.lit('{') || !p.str("context") || !p.lit(':') {
		return nil, false
	}
	p.ws()
	if p.i+4 <= len(p.b) && string(p.b[p.i:p.i+4]) == "null" {
		p.i += 4
		return nil, p.lit('}') && p.end()
	}
	if !p.lit('{') {
		return nil, false
	}
	var m map[string]any
	if sc != nil && sc.attrs != nil {
		m = sc.attrs
	} else {
		m = make(map[string]any, 8)
	}
	if p.lit('}') {
		return m, p.lit('}') && p.end()
	}
	for {
		p.ws()
		k, ok := p.name(names)
		if !ok || !p.lit(':') {
			return nil, false
		}
		p.ws()
		v, ok := p.scalar()
		if !ok {
			return nil, false
		}
		m[k] = v
		if p.lit(',') {
			continue
		}
		if p.lit('}') {
			break
		}
		return nil, false
	}
	return m, p.lit('}') && p.end()
}

type jsonScan struct {
	b []byte
	i int
}

func (p *jsonScan) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// lit skips white space and then c.
func (p *jsonScan) lit(c byte) bool {
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *jsonScan) end() bool {
	p.ws()
	return p.i == len(p.b)
}

// str skips white space and then the JSON string "s" (s has no characters that need escaping).
func (p *jsonScan) str(s string) bool {
	p.ws()
	if p.i+len(s)+2 <= len(p.b) && p.b[p.i] == '"' && string(p.b[p.i+1:p.i+1+len(s)]) == s && p.b[p.i+1+len(s)] == '"' {
		p.i += len(s) + 2
		return true
	}
	return false
}

const maxNames = 256

// name reads an attribute name (a plain string), interned in names.
func (p *jsonScan) name(names map[string]string) (string, bool) {
	if names == nil {
		return p.plainString()
	}
	start := p.i
	s, ok := p.plainBytes()
	if !ok {
		return "", false
	}
	if n, ok := names[string(s)]; ok {
		return n, true
	}
	if len(names) >= maxNames {
		clear(names)
	}
	n := string(p.b[start+1 : p.i-1])
	names[n] = n
	return n, true
}

// plainString reads a string without escapes or control characters, in valid UTF-8.
func (p *jsonScan) plainString() (string, bool) {
	s, ok := p.plainBytes()
	return string(s), ok
}

// plainBytes is plainString's text, not copied.
func (p *jsonScan) plainBytes() ([]byte, bool) {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return nil, false
	}
	start := p.i + 1
	ascii := true
	for j := start; j < len(p.b); j++ {
		c := p.b[j]
		switch {
		case c == '"':
			s := p.b[start:j]
			if !ascii && !utf8.Valid(s) {
				return nil, false
			}
			p.i = j + 1
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false
}

// scalar reads a plain string, a number, true, false or null.
func (p *jsonScan) scalar() (any, bool) {
	if p.i >= len(p.b) {
		return nil, false
	}
	switch c := p.b[p.i]; {
	case c == '"':
		return p.plainString()
	case c == 't' && p.word("true"):
		return true, true
	case c == 'f' && p.word("false"):
		return false, true
	case c == 'n' && p.word("null"):
		return nil, true
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	}
	return nil, false
}

func (p *jsonScan) word(w string) bool {
	if p.i+len(w) <= len(p.b) && string(p.b[p.i:p.i+len(w)]) == w {
		p.i += len(w)
		return true
	}
	return false
}

// number reads a number in JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *jsonScan) number() (any, bool) {
	b, start := p.b, p.i
	i := p.i
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else if digits() == 0 {
		return nil, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return nil, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return nil, false
		}
	}
	f, err := strconv.ParseFloat(string(b[start:i]), 64)
	if err != nil { // out of range: encoding/json reports it
		return nil, false
	}
	p.i = i
	return f, true
}
