package eval

import (
	"strings"

	"github.com/ramphq/ramp/flag"
)

// path is a compiled attribute path.
type path struct {
	full string   // the path as written: also tried as a literal top-level key first
	segs []string // split on '.', for walking nested objects; nil when the path has no dot
	tk   bool     // addresses the targeting key
}

func compilePath(p string) path {
	if p == "" || p == flag.TargetingKeyAttribute {
		return path{full: flag.TargetingKeyAttribute, tk: true}
	}
	c := path{full: p}
	if strings.IndexByte(p, '.') >= 0 {
		c.segs = strings.Split(p, ".")
	}
	return c
}

// lookup returns the attribute's value. It never reports the targeting key (callers test p.tk first, so the
// string is not boxed into an interface). A nil value counts as missing.
func (p *path) lookup(c *flag.Context) (any, bool) {
	if p.segs == nil {
		return c.Lookup(p.full)
	}
	return p.lookupNested(c)
}

func (p *path) lookupNested(c *flag.Context) (any, bool) {
	v, ok := c.Lookup(p.full)
	if ok {
		return v, ok
	}
	if v, ok = c.Lookup(p.segs[0]); !ok {
		return nil, false
	}
	for _, s := range p.segs[1:] {
		m, isMap := v.(map[string]any)
		if !isMap {
			return nil, false
		}
		if v, ok = m[s]; !ok || v == nil {
			return nil, false
		}
	}
	return v, true
}
