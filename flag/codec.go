package flag

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/goccy/go-yaml"
)

// Decode reads a flag set from JSON or YAML (YAML 1.2: "on" and "off" stay strings). Unknown fields are errors.
// The result is normalized but not validated: call [Set.Validate].
func Decode(data []byte) (*Set, error) {
	js := data
	if !looksLikeJSON(data) {
		var err error
		js, err = yaml.YAMLToJSON(data)
		if err != nil {
			return nil, &Error{Kind: KindInvalid, Message: "invalid YAML", Problems: []Problem{{Message: strings.TrimSpace(yaml.FormatError(err, false, false))}}}
		}
	}
	var s Set
	d := json.NewDecoder(bytes.NewReader(js))
	d.DisallowUnknownFields()
	if err := d.Decode(&s); err != nil {
		return nil, jsonError(js, err)
	}
	if d.More() {
		return nil, &Error{Kind: KindInvalid, Message: "invalid JSON", Problems: []Problem{{Message: "unexpected data after the flag set"}}}
	}
	s.Normalize()
	return &s, nil
}

// DecodeFile reads and decodes a flag file; errors name the file.
func DecodeFile(path string) (*Set, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

func looksLikeJSON(data []byte) bool {
	t := bytes.TrimLeft(data, " \t\r\n")
	return len(t) > 0 && t[0] == '{'
}

// jsonError turns encoding/json's errors into problems with a path or a line and column.
func jsonError(data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var p Problem
	switch {
	case errors.As(err, &syn):
		line, col := lineCol(data, syn.Offset)
		p = Problem{Path: fmt.Sprintf("line %d, column %d", line, col), Message: syn.Error()}
	case errors.As(err, &typ):
		p = Problem{Path: typ.Field, Message: fmt.Sprintf("expected %s, got JSON %s", goTypeName(typ.Type.String()), typ.Value)}
	case errors.Is(err, io.EOF):
		p = Problem{Message: "empty document"}
	case errors.Is(err, io.ErrUnexpectedEOF):
		p = Problem{Message: "unexpected end of document"}
	default:
		msg := strings.TrimPrefix(err.Error(), "json: ")
		p = Problem{Message: msg}
	}
	return &Error{Kind: KindInvalid, Message: "cannot decode flag set", Problems: []Problem{p}}
}

func goTypeName(t string) string {
	switch {
	case t == "bool":
		return "a boolean"
	case t == "string" || strings.HasSuffix(t, "Kind") || strings.HasSuffix(t, "Type") || strings.HasSuffix(t, "Operator"):
		return "a string"
	case t == "float64" || t == "int":
		return "a number"
	case strings.HasPrefix(t, "[]"):
		return "an array"
	case strings.HasPrefix(t, "time."):
		return "an RFC 3339 date string"
	default:
		return "an object"
	}
}

func lineCol(data []byte, off int64) (int, int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	line, col := 1, 1
	for _, c := range data[:off] {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

// EncodeJSON writes the canonical JSON form of s: fields in schema order, two-space indent. It normalizes s in
// place first, so the output always names its defaults.
func EncodeJSON(s *Set) ([]byte, error) {
	s.Normalize()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// EncodeYAML writes the canonical YAML form of s (normalizing it in place): the canonical JSON, re-emitted as block YAML in the same order.
func EncodeYAML(s *Set) ([]byte, error) {
	js, err := EncodeJSON(s)
	if err != nil {
		return nil, err
	}
	var node any
	if err := yaml.UnmarshalWithOptions(js, &node, yaml.UseOrderedMap()); err != nil {
		return nil, err
	}
	return yaml.MarshalWithOptions(node, yaml.Indent(2), yaml.IndentSequence(true))
}
