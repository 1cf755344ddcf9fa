package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ramphq/ramp/examples"
	"github.com/ramphq/ramp/flag"
	"github.com/ramphq/ramp/internal/eval"
)

func init() {
	subcommands = append(subcommands, newFlagsCmd, newEvalCmd)
}

func newFlagsCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "flags",
		Short: "Work with flag files offline: validate, format",
	}
	cmd.AddCommand(newFlagsValidateCmd(e), newFlagsFmtCmd(e))
	for _, add := range flagsSubcommands {
		cmd.AddCommand(add(e))
	}
	return cmd
}

// flagsSubcommands lets other files add commands to the flags group (the server commands, the converters)
// from their init functions.
var flagsSubcommands []func(*env) *cobra.Command

func newFlagsValidateCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check flag files and print every problem with its path",
		Long: `validate decodes each flag file (ramp's format or flagd's, JSON or YAML; detected),
checks it, and prints every problem as FILE: PATH: MESSAGE. It exits 1 when any
file is invalid.`,
		Example: `  ramp flags validate examples/flags.yaml
  ramp flags validate flags/*.yaml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			bad := 0
			for _, file := range files {
				set, err := loadSetFormat(e, file, formatAuto)
				if err != nil {
					bad++
					printProblems(e.stderr, file, err)
					continue
				}
				fmt.Fprintf(e.stdout, "%s: ok (%d flags, %d segments)\n", file, len(set.Flags), len(set.Segments))
			}
			if bad > 0 {
				return &ExitError{Code: 1, Err: fmt.Errorf("%d of %d files invalid", bad, len(files))}
			}
			return nil
		},
	}
}

func newFlagsFmtCmd(e *env) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "fmt FILE",
		Short: "Print a flag file in canonical form (defaults filled in)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			set, err := loadSetFormat(e, args[0], formatAuto)
			if err != nil {
				printProblems(e.stderr, args[0], err)
				return &ExitError{Code: 1}
			}
			var out []byte
			switch format {
			case "yaml":
				out, err = flag.EncodeYAML(set)
			case "json":
				out, err = flag.EncodeJSON(set)
			default:
				return fmt.Errorf("--format: %q is not yaml or json", format)
			}
			if err != nil {
				return err
			}
			_, err = e.stdout.Write(out)
			return err
		},
	}
	cmd.Flags().StringVar(&format, "format", "yaml", "output format: yaml or json")
	return cmd
}

// printProblems prints one line per problem, prefixed by the file name.
func printProblems(w io.Writer, file string, err error) {
	ps := flag.ProblemsOf(err)
	if len(ps) == 0 {
		var pe *os.PathError
		if errors.As(err, &pe) {
			fmt.Fprintf(w, "%s: %v\n", file, pe.Err)
			return
		}
		fmt.Fprintf(w, "%s: %v\n", file, err)
		return
	}
	for _, p := range ps {
		fmt.Fprintf(w, "%s: %s\n", file, p)
	}
}

func newEvalCmd(e *env) *cobra.Command {
	var file, key, ctxJSON, typ, format string
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Evaluate flags from a flag file for one context",
		Long: `eval compiles a flag file and evaluates one flag (--flag) or every flag for the
context given as OpenFeature-style JSON: {"targetingKey": "...", "attr": ...}.
The file may be in ramp's format or flagd's (detected; --format overrides).

It prints the evaluation detail as JSON: value, variant, reason, and ruleId,
prerequisiteKey or errorCode where they apply. Without --file it evaluates the
embedded sample, examples/flags.yaml. It exits 1 when the file is invalid or the
evaluation reports an error code.`,
		Example: `  ramp eval --flag new-ai-assistant --context '{"targetingKey":"user-7","country":"BR"}'
  ramp eval --file flags.yaml --flag checkout-layout --context '{"targetingKey":"u1","account":{"id":"a9"}}'
  ramp eval --file flags.yaml --context @context.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var set *flag.Set
			var err error
			source := file
			if file == "" {
				source = "examples/flags.yaml (embedded)"
				set, err = flag.Decode(examples.FlagsYAML)
			} else {
				set, err = loadSetFormat(e, file, format)
			}
			if err != nil {
				printProblems(e.stderr, source, err)
				return &ExitError{Code: 1}
			}
			snap, err := eval.Compile(set)
			if err != nil {
				printProblems(e.stderr, source, err)
				return &ExitError{Code: 1}
			}
			ctx, err := parseContextArg(ctxJSON)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(e.stdout)
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			if key == "" {
				return enc.Encode(snap.All(&ctx))
			}
			var d flag.Detail
			if typ != "" {
				d = snap.EvaluateAs(key, flag.ValueType(typ), &ctx)
			} else {
				d = snap.Evaluate(key, &ctx)
			}
			if err := enc.Encode(d); err != nil {
				return err
			}
			if d.IsError() {
				return &ExitError{Code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "flag file, JSON or YAML (default: the embedded examples/flags.yaml); - for stdin")
	cmd.Flags().StringVar(&key, "flag", "", "flag key to evaluate (default: every flag)")
	cmd.Flags().StringVarP(&ctxJSON, "context", "c", "{}", "evaluation context as JSON, or @FILE to read it from a file")
	cmd.Flags().StringVar(&format, "format", formatAuto, "format of --file: auto (detect), ramp or flagd")
	cmd.Flags().StringVar(&typ, "type", "", "expected value type (boolean, string, number, json): a different type is TYPE_MISMATCH")
	return cmd
}

func parseContextArg(s string) (flag.Context, error) {
	var ctx flag.Context
	data := []byte(s)
	where := "--context"
	if strings.HasPrefix(s, "@") {
		var err error
		where = "--context " + s
		if data, err = os.ReadFile(s[1:]); err != nil {
			return ctx, fmt.Errorf("%s: %w", where, err)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&ctx); err != nil {
		return ctx, fmt.Errorf("%s: not a JSON object: %v", where, strings.TrimPrefix(err.Error(), "context: "))
	}
	if dec.More() {
		return ctx, fmt.Errorf("%s: unexpected data after the JSON object", where)
	}
	return ctx, nil
}
