package httpapi

import (
	"bytes"

	"github.com/ramphq/ramp/flag"
)

// decodeSet reads an imported flag file. format is "ramp", "flagd" or "" to detect it.
func decodeSet(data []byte, format string) (*flag.Set, error) {
	switch format {
	case "", "ramp":
		return flag.Decode(data)
	}
	return nil, &flag.Error{Kind: flag.KindInvalid, Message: "unknown format", Problems: []flag.Problem{{Path: "format", Message: "must be ramp or flagd, not " + format}}}
}

// encodeSet writes an exported flag set in format ("ramp" as YAML by default, "ramp-json", or "flagd").
func encodeSet(set *flag.Set, format string) ([]byte, string, error) {
	switch format {
	case "", "ramp", "yaml":
		b, err := flag.EncodeYAML(set)
		return b, "application/yaml", err
	case "json", "ramp-json":
		b, err := flag.EncodeJSON(set)
		return bytes.TrimSpace(b), "application/json", err
	}
	return nil, "", &flag.Error{Kind: flag.KindInvalid, Message: "unknown format", Problems: []flag.Problem{{Path: "format", Message: "must be ramp, ramp-json or flagd, not " + format}}}
}
