package flag

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Context is what a flag is evaluated for: a targeting key (usually the user id) and attributes.
//
// Attribute values are JSON-like: string, bool, float64 (any Go integer or float type is accepted too), []any,
// []string, and map[string]any for nested objects. Attributes are addressed by path: "country", "team.id",
// "account.type", "geo.country". A path first looks for a top-level attribute of exactly that name
// ({"geo.country": "BR"}) and then walks nested objects ({"geo": {"country": "BR"}}). A null value counts as
// missing, and so does an empty targeting key.
//
// Build a Context once per request with [NewContext] (or [Context.With]) and share it freely: it is immutable,
// and evaluation reads it without allocating. Attributes are kept in a slice sorted by name, which for the
// handful of attributes a context usually has is several times faster to search than a map.
type Context struct {
	TargetingKey string
	attrs        []Attribute    // sorted by Name, names unique
	index        map[string]int // position by name, only for contexts with more than linearAttrs attributes
}

// linearAttrs is the number of attributes up to which a linear search beats a map lookup: the search compares
// lengths first, so it rarely touches string bytes.
const linearAttrs = 12

// Attribute is one top-level context attribute.
type Attribute struct {
	Name  string
	Value any
	str   string // Value unboxed when it is a string: the evaluator reads it without chasing the interface
	isStr bool
}

func newAttribute(name string, value any) Attribute {
	a := Attribute{Name: name, Value: value}
	a.str, a.isStr = value.(string)
	return a
}

// String returns the value and true when it is a string.
func (a *Attribute) String() (string, bool) { return a.str, a.isStr }

// NewContext returns a context with the given targeting key and attributes. An attribute named "targetingKey"
// sets the targeting key when targetingKey is empty and it is a string.
func NewContext(targetingKey string, attributes map[string]any) Context {
	c := Context{TargetingKey: targetingKey, attrs: make([]Attribute, 0, len(attributes))}
	for k, v := range attributes {
		if k == TargetingKeyAttribute {
			if s, ok := v.(string); ok && c.TargetingKey == "" {
				c.TargetingKey = s
			}
			continue
		}
		c.attrs = append(c.attrs, newAttribute(k, v))
	}
	slices.SortFunc(c.attrs, func(a, b Attribute) int { return strings.Compare(a.Name, b.Name) })
	c.buildIndex()
	return c
}

func (c *Context) buildIndex() {
	c.index = nil
	if len(c.attrs) > linearAttrs {
		c.index = make(map[string]int, len(c.attrs))
		for i, a := range c.attrs {
			c.index[a.Name] = i
		}
	}
}

// With returns a copy of c with the attribute name set to value (nil removes it). c is unchanged.
func (c Context) With(name string, value any) Context {
	i, found := c.search(name)
	attrs := make([]Attribute, 0, len(c.attrs)+1)
	attrs = append(attrs, c.attrs[:i]...)
	if value != nil {
		attrs = append(attrs, newAttribute(name, value))
	}
	if found {
		i++
	}
	attrs = append(attrs, c.attrs[i:]...)
	c.attrs = attrs
	c.buildIndex()
	return c
}

func (c *Context) search(name string) (int, bool) {
	return slices.BinarySearchFunc(c.attrs, name, func(a Attribute, n string) int { return strings.Compare(a.Name, n) })
}

// Attr returns the top-level attribute name, or nil when there is none. The result points into the context:
// read it, never write it. A nil Value counts as missing.
func (c *Context) Attr(name string) *Attribute {
	if c.index != nil {
		return c.attrIndexed(name)
	}
	for i := range c.attrs {
		if c.attrs[i].Name == name {
			return &c.attrs[i]
		}
	}
	return nil
}

func (c *Context) attrIndexed(name string) *Attribute {
	if i, ok := c.index[name]; ok {
		return &c.attrs[i]
	}
	return nil
}

// Lookup returns the top-level attribute name. A nil value counts as missing. It is small enough to be inlined
// into the evaluator.
func (c *Context) Lookup(name string) (any, bool) {
	if c.index != nil {
		return c.lookupIndexed(name)
	}
	for i := range c.attrs {
		if c.attrs[i].Name == name {
			v := c.attrs[i].Value
			return v, v != nil
		}
	}
	return nil, false
}

func (c *Context) lookupIndexed(name string) (any, bool) {
	i, ok := c.index[name]
	if !ok {
		return nil, false
	}
	v := c.attrs[i].Value
	return v, v != nil
}

// Len returns the number of attributes (the targeting key not included).
func (c Context) Len() int { return len(c.attrs) }

// Attributes returns a copy of the attributes as a map.
func (c Context) Attributes() map[string]any {
	m := make(map[string]any, len(c.attrs))
	for _, a := range c.attrs {
		m[a.Name] = a.Value
	}
	return m
}

// MarshalJSON encodes the context in OpenFeature's flat form: {"targetingKey": "...", "attr": ...}.
func (c Context) MarshalJSON() ([]byte, error) {
	m := c.Attributes()
	if c.TargetingKey != "" {
		m[TargetingKeyAttribute] = c.TargetingKey
	}
	return json.Marshal(m)
}

// UnmarshalJSON decodes OpenFeature's flat form. targetingKey, when present and not null, must be a string.
func (c *Context) UnmarshalJSON(b []byte) error {
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(&m); err != nil {
		return fmt.Errorf("context: %w", err)
	}
	if m == nil {
		return fmt.Errorf("context: must be a JSON object")
	}
	tk := ""
	if v, ok := m[TargetingKeyAttribute]; ok && v != nil {
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("context: targetingKey must be a string, got %s", jsonKind(v))
		}
		tk = s
	}
	*c = NewContext(tk, m)
	return nil
}

// jsonKind names the JSON type of a decoded value for error messages.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64, float32, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, json.Number:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	default:
		return fmt.Sprintf("%T", v)
	}
}
