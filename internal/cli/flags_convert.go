package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/ramphq/ramp/flag"
	"github.com/ramphq/ramp/internal/flagd"
)

func init() {
	flagsSubcommands = append(flagsSubcommands, newFlagsConvertCmd)
}

// The flag file formats ramp reads and writes.
const (
	formatAuto  = "auto"
	formatRamp  = "ramp"
	formatFlagd = "flagd"
)

func newFlagsConvertCmd(e *env) *cobra.Command {
	var from, to, out string
	cmd := &cobra.Command{
		Use:   "convert --to ramp|flagd FILE",
		Short: "Convert a flag file between ramp's format and flagd's",
		Long: `convert reads a flag file in ramp's format or flagd's flag-definition format
(JSON or YAML; --from auto detects which) and writes it in the format named by
--to: ramp as canonical YAML (or JSON with --output json), flagd as JSON.

flagd targeting is kept as a ramp targeting expression, with $ref resolved;
ramp's targets, rules and segments become JsonLogic, and splits become flagd's
fractional, which re-buckets contexts (a note on standard error names the
flags). What flagd cannot express (prerequisites, matches, before/after,
case-insensitive clauses) is an error naming the flag. See docs/flagd.md.`,
		Example: `  ramp flags convert --from flagd --to ramp flagd-flags.json > flags.yaml
  ramp flags convert --to flagd flags.yaml > flagd-flags.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			file := args[0]
			switch to {
			case formatRamp, formatFlagd:
			default:
				return fmt.Errorf("--to: %q is not ramp or flagd", to)
			}
			if out != "yaml" && out != "json" {
				return fmt.Errorf("--output: %q is not yaml or json", out)
			}
			set, err := loadSetFormat(e, file, from)
			if err != nil {
				printProblems(e.stderr, file, err)
				return &ExitError{Code: 1}
			}
			var data []byte
			switch {
			case to == formatFlagd:
				data, err = flagd.Export(set)
				if err == nil {
					for _, note := range flagd.Notes(set) {
						fmt.Fprintf(e.stderr, "%s: note: %s\n", file, note)
					}
				}
			case out == "json":
				data, err = flag.EncodeJSON(set)
			default:
				data, err = flag.EncodeYAML(set)
			}
			if err != nil {
				printProblems(e.stderr, file, err)
				return &ExitError{Code: 1}
			}
			_, err = e.stdout.Write(data)
			return err
		},
	}
	cmd.Flags().StringVar(&from, "from", formatAuto, "input format: auto, ramp or flagd")
	cmd.Flags().StringVar(&to, "to", "", "output format: ramp or flagd (required)")
	cmd.Flags().StringVar(&out, "output", "yaml", "encoding of ramp output: yaml or json")
	_ = cmd.MarkFlagRequired("to")
	return cmd
}

// loadSetFormat reads a flag file ("-" is standard input) in the given format (auto: detected), and returns
// it validated. Errors carry problems with paths where possible.
func loadSetFormat(e *env, file, format string) (*flag.Set, error) {
	var data []byte
	var err error
	if file == "-" {
		data, err = io.ReadAll(e.stdin)
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, err
	}
	if format == formatAuto {
		format = formatRamp
		if flagd.IsFlagd(data) {
			format = formatFlagd
		}
	}
	switch format {
	case formatFlagd:
		return flagd.Import(data)
	case formatRamp:
		set, err := flag.Decode(data)
		if err != nil {
			return nil, err
		}
		return set, set.Validate()
	}
	return nil, fmt.Errorf("format %q is not auto, ramp or flagd", format)
}
