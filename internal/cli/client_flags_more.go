package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

func init() {
	flagsSubcommands = append(flagsSubcommands, newFlagsArchiveCmd(true), newFlagsArchiveCmd(false), newFlagsCopyCmd)
}

// newFlagsArchiveCmd builds ramp flags archive (archive true) or ramp flags restore.
func newFlagsArchiveCmd(archive bool) func(e *env) *cobra.Command {
	use, short, action, verb := "restore", "Restore an archived flag in every environment", "restore", "restored"
	if archive {
		use, short, action, verb = "archive", "Archive a flag in every environment: it stops evaluating (FLAG_NOT_FOUND) but keeps its configuration", "archive", "archived"
	}
	return func(e *env) *cobra.Command {
		var s scope
		return serverCmd(e, &cobra.Command{
			Use:   use + " KEY --env E [--project P]",
			Short: short,
			Args:  cobra.ExactArgs(1),
		}, &s, func(cmd *cobra.Command, c *client, args []string) error {
			out, err := c.call(cmd.Context(), request{method: "POST", path: envAPIPath(s.project, s.env, "flags", args[0], action)}, nil)
			if err != nil {
				return err
			}
			if c.output == "json" {
				return c.printJSON(out)
			}
			fmt.Fprintf(e.stdout, "%s flag %s in every environment of %s\n", verb, args[0], s.project)
			return nil
		})
	}
}

func newFlagsCopyCmd(e *env) *cobra.Command {
	var s scope
	var to string
	var version int64
	cmd := serverCmd(e, &cobra.Command{
		Use:   "copy KEY --env FROM --to TO [--project P] [--version N]",
		Short: "Copy a flag's targeting from one environment to another (promotion)",
		Long: `copy replaces the flag's targeting in --to (enabled, off variation, fallthrough,
prerequisites, targets, rules) with its targeting in --env. --version guards the
destination: a concurrent change there makes it fail with 409.`,
		Example: `  ramp flags copy checkout --env staging --to production`,
		Args:    cobra.ExactArgs(1),
	}, &s, func(cmd *cobra.Command, c *client, args []string) error {
		if to == "" {
			return errors.New("--to is required: the destination environment")
		}
		body := map[string]any{"to": to}
		if version > 0 {
			body["version"] = version
		}
		var r flagRecordJSON
		out, err := c.call(cmd.Context(), request{method: "POST", path: envAPIPath(s.project, s.env, "flags", args[0], "copy"), body: body}, &r)
		if err != nil {
			return err
		}
		if c.output == "json" {
			return c.printJSON(out)
		}
		fmt.Fprintf(e.stdout, "copied flag %s's targeting from %s to %s/%s (%s there, version %d)\n", args[0], s.env, s.project, to, onOff(r.Flag.Enabled), r.Version)
		return nil
	})
	cmd.Flags().StringVar(&to, "to", "", "destination environment (required)")
	cmd.Flags().Int64Var(&version, "version", 0, "the destination's current version")
	return cmd
}
