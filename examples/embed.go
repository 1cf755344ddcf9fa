// Package examples holds ramp's sample files and embeds the ones the binary uses as defaults: FlagsYAML is
// what `ramp eval` evaluates when no --file is given.
package examples

import _ "embed"

// FlagsYAML is examples/flags.yaml.
//
//go:embed flags.yaml
var FlagsYAML []byte
