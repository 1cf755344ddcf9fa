package httpapi

import (
	"bytes"

	"github.com/ramphq/ramp/flag"
	"github.com/ramphq/ramp/internal/flagd"
)

// decodeSet reads an imported flag file. format is "ramp", "flagd" or "" to detect it (a flagd file has its
// flags as an object keyed by flag key, $evaluators, or flags with state or variants).
func decodeSet(data []byte, format string) (*flag.Set, error) {
	if format == "" {
		format = "ramp"
		if flagd.IsFlagd(data) {
			format = "flagd"
		}
	}
	switch format {
	case "ramp":
		return flag.Decode(data)
	case "flagd":
		return flagd.Import(data)
	}
	return nil, &flag.Error{Kind: flag.KindInvalid, Message: "unknown format", Problems: []flag.Problem{{Path: "format", Message: "must be ramp or flagd, not " + format}}}
}

// encodeSet writes an exported flag set in format ("ramp" as YAML by default, "ramp-json", or "flagd").
func encodeSet(set *flag.Set, format string) ([]byte, string, error) {
	if set.Flags == nil {
		set.Flags = []flag.Flag{} // an empty environment exports "flags: []", not "flags: null"
	}
	switch format {
	case "", "ramp", "yaml":
		b, err := flag.EncodeYAML(set)
		return b, "application/yaml", err
	case "json", "ramp-json":
		b, err := flag.EncodeJSON(set)
		return bytes.TrimSpace(b), "application/json", err
	case "flagd":
		b, err := flagd.Export(set)
		if err != nil && flag.KindOf(err) == flag.KindInternal {
			// What flagd cannot express (prerequisites, some operators) is the request's problem, not the server's.
			err = &flag.Error{Kind: flag.KindInvalid, Message: "these flags cannot be exported in flagd's format", Problems: []flag.Problem{{Path: "format", Message: err.Error()}}}
		}
		return b, "application/json", err
	}
	return nil, "", &flag.Error{Kind: flag.KindInvalid, Message: "unknown format", Problems: []flag.Problem{{Path: "format", Message: "must be ramp, ramp-json or flagd, not " + format}}}
}
