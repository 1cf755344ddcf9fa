package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"

	"github.com/ramphq/ramp/flag"
	"github.com/ramphq/ramp/internal/flagd"
)

func init() {
	flagsSubcommands = append(flagsSubcommands, newFlagsListCmd, newFlagsGetCmd, newFlagsCreateCmd, newFlagsUpdateCmd,
		newFlagsToggleCmd, newFlagsDeleteCmd, newFlagsImportCmd, newFlagsExportCmd)
}

// flagRecordJSON is a flag record as the API returns it.
type flagRecordJSON struct {
	Project     string    `json:"project"`
	Environment string    `json:"environment"`
	Flag        flag.Flag `json:"flag"`
	Version     int64     `json:"version"`
	Archived    bool      `json:"archived"`
	UpdatedAt   time.Time `json:"updatedAt"`
	UpdatedBy   string    `json:"updatedBy"`
	Status      string    `json:"status"`
}

// scope is the --project/--env pair of a command working in one environment.
type scope struct{ project, env string }

func addScopeFlags(cmd *cobra.Command, s *scope) {
	cmd.Flags().StringVar(&s.project, "project", "default", "project key")
	cmd.Flags().StringVar(&s.env, "env", "", "environment key (required)")
}

// serverCmd builds a command that works in one environment of a server: it gets the client options and
// --project/--env, and run receives a ready client.
func serverCmd(e *env, c *cobra.Command, s *scope, run func(cmd *cobra.Command, c *client, args []string) error) *cobra.Command {
	var o clientOpts
	addClientFlags(c, &o)
	if s != nil {
		addScopeFlags(c, s)
	}
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if s != nil {
			if err := needEnv(s.env); err != nil {
				return err
			}
		}
		cl, err := newClient(e, &o)
		if err != nil {
			return err
		}
		return run(cmd, cl, args)
	}
	return c
}

func newFlagsListCmd(e *env) *cobra.Command {
	var s scope
	var tag, kind, status, enabled, text string
	var archived bool
	cmd := serverCmd(e, &cobra.Command{
		Use:   "list --env E [--project P]",
		Short: "List an environment's flags on a ramp server",
		Example: `  ramp flags list --env production
  ramp flags list --env production --status stale
  ramp flags list --env staging --tag checkout --enabled true -o json`,
		Args: cobra.NoArgs,
	}, &s, func(cmd *cobra.Command, c *client, _ []string) error {
		q := url.Values{}
		for k, v := range map[string]string{"tag": tag, "kind": kind, "status": status, "enabled": enabled, "q": text} {
			if v != "" {
				q.Set(k, v)
			}
		}
		if archived {
			q.Set("archived", "true")
		}
		var out struct{ Flags []flagRecordJSON }
		data, err := c.call(cmd.Context(), request{method: "GET", path: envAPIPath(s.project, s.env, "flags"), query: q}, &out)
		if err != nil {
			return err
		}
		return c.show(data, func(w io.Writer) {
			row(w, "KEY", "TYPE", "KIND", "ENABLED", "STATUS", "VERSION", "TAGS")
			for _, r := range out.Flags {
				row(w, r.Flag.Key, r.Flag.Type, r.Flag.Kind, onOff(r.Flag.Enabled), r.Status, r.Version, strings.Join(r.Flag.Tags, ","))
			}
		})
	})
	cmd.Flags().StringVar(&tag, "tag", "", "only flags with this tag")
	cmd.Flags().StringVar(&kind, "kind", "", "only flags of this kind: release, experiment, operational, permission")
	cmd.Flags().StringVar(&status, "status", "", "only flags with this status: active, stale, expired")
	cmd.Flags().StringVar(&enabled, "enabled", "", "only enabled (true) or disabled (false) flags")
	cmd.Flags().StringVarP(&text, "query", "q", "", "only flags whose key, name or description contains this text")
	cmd.Flags().BoolVar(&archived, "archived", false, "list archived flags instead of live ones")
	return cmd
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func newFlagsGetCmd(e *env) *cobra.Command {
	var s scope
	return serverCmd(e, &cobra.Command{
		Use:   "get KEY --env E [--project P]",
		Short: "Show a flag as configured in one environment",
		Args:  cobra.ExactArgs(1),
	}, &s, func(cmd *cobra.Command, c *client, args []string) error {
		var r flagRecordJSON
		data, err := c.call(cmd.Context(), request{method: "GET", path: envAPIPath(s.project, s.env, "flags", args[0])}, &r)
		if err != nil {
			return err
		}
		return c.show(data, func(w io.Writer) { flagTable(w, &r) })
	})
}

func flagTable(w io.Writer, r *flagRecordJSON) {
	f := &r.Flag
	row(w, "key:", f.Key)
	if f.Name != "" {
		row(w, "name:", f.Name)
	}
	if f.Description != "" {
		row(w, "description:", f.Description)
	}
	row(w, "environment:", r.Project+"/"+r.Environment)
	row(w, "type:", fmt.Sprintf("%s (%s)", f.Type, f.Kind))
	row(w, "enabled:", onOff(f.Enabled))
	row(w, "version:", r.Version)
	row(w, "status:", r.Status)
	if r.Archived {
		row(w, "archived:", "yes")
	}
	var vs []string
	for _, v := range f.Variations {
		js, _ := json.Marshal(v.Value)
		vs = append(vs, v.Key+"="+string(js))
	}
	row(w, "variations:", strings.Join(vs, ", "))
	row(w, "off variation:", f.OffVariation)
	row(w, "fallthrough:", serveString(f.Fallthrough))
	if len(f.Targets) > 0 {
		n := 0
		for _, t := range f.Targets {
			n += len(t.Values)
		}
		row(w, "targets:", fmt.Sprintf("%d ids in %d lists", n, len(f.Targets)))
	}
	if len(f.Rules) > 0 {
		var ids []string
		for _, rule := range f.Rules {
			ids = append(ids, rule.ID+" → "+serveString(rule.Serve))
		}
		row(w, "rules:", strings.Join(ids, "; "))
	}
	if f.HasTargeting() {
		row(w, "targeting:", "flagd expression")
	}
	if len(f.Tags) > 0 {
		row(w, "tags:", strings.Join(f.Tags, ", "))
	}
	if f.ExpiresAt != nil {
		row(w, "expires:", when(*f.ExpiresAt))
	}
	row(w, "updated:", when(r.UpdatedAt)+" by "+r.UpdatedBy)
}

func serveString(s flag.Serve) string {
	if s.Split == nil {
		return s.Variation
	}
	var parts []string
	for _, w := range s.Split.Weights {
		parts = append(parts, fmt.Sprintf("%s %s%%", w.Variation, strconv.FormatFloat(w.Weight, 'f', -1, 64)))
	}
	return "split " + strings.Join(parts, " / ")
}

// readFlagFile reads a flag file for create/update: one flag object, or a ramp flag set ({flags: [...]}) of
// flags only, in YAML or JSON. It returns each flag as a JSON object, as the API takes it.
func readFlagFile(data []byte, file string) ([]json.RawMessage, error) {
	js := bytes.TrimSpace(data)
	if len(js) == 0 || js[0] != '{' {
		var err error
		if js, err = yaml.YAMLToJSON(data); err != nil {
			return nil, fmt.Errorf("%s: invalid YAML: %s", file, strings.TrimSpace(yaml.FormatError(err, false, false)))
		}
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(js, &top); err != nil || top == nil {
		return nil, fmt.Errorf("%s: not a flag (a JSON or YAML object)", file)
	}
	raw, ok := top["flags"]
	if !ok {
		return []json.RawMessage{js}, nil
	}
	if flagd.IsFlagd(data) {
		return nil, fmt.Errorf("%s is a flagd file: use ramp flags import", file)
	}
	if _, ok := top["segments"]; ok {
		return nil, fmt.Errorf("%s has segments: use ramp flags import, which writes flags and segments in one change", file)
	}
	var flags []json.RawMessage
	if err := json.Unmarshal(raw, &flags); err != nil {
		return nil, fmt.Errorf("%s: flags must be a list", file)
	}
	if len(flags) == 0 {
		return nil, fmt.Errorf("%s holds no flags", file)
	}
	return flags, nil
}

func newFlagsCreateCmd(e *env) *cobra.Command {
	var s scope
	var file string
	cmd := serverCmd(e, &cobra.Command{
		Use:   "create -f FILE --env E [--project P]",
		Short: "Create flags on a ramp server from a flag file",
		Long: `create reads one flag (or a flag file of several) in YAML or JSON and creates it in every
environment of the project. It is enabled only in --env, and only if the file says enabled: true.`,
		Example: `  ramp flags create -f checkout.yaml --env production
  cat flag.json | ramp flags create -f - --env staging --project shop`,
		Args: cobra.NoArgs,
	}, &s, func(cmd *cobra.Command, c *client, _ []string) error {
		data, err := readInput(e, file)
		if err != nil {
			return err
		}
		flags, err := readFlagFile(data, file)
		if err != nil {
			return err
		}
		var all []json.RawMessage
		for _, f := range flags {
			var r flagRecordJSON
			out, err := c.call(cmd.Context(), request{method: "POST", path: envAPIPath(s.project, s.env, "flags"), body: []byte(f), ctype: "application/json"}, &r)
			if err != nil {
				return err
			}
			all = append(all, out)
			if c.output != "json" {
				fmt.Fprintf(e.stdout, "created flag %s in %s (%s in %s, version %d)\n", r.Flag.Key, s.project, onOff(r.Flag.Enabled), s.env, r.Version)
			}
		}
		if c.output == "json" {
			return c.printJSON(jsonList(all))
		}
		return nil
	})
	cmd.Flags().StringVarP(&file, "file", "f", "", "flag file, YAML or JSON; - for standard input")
	return cmd
}

// jsonList returns one JSON value as it is, several as an array.
func jsonList(items []json.RawMessage) []byte {
	if len(items) == 1 {
		return items[0]
	}
	b, _ := json.Marshal(items)
	return b
}

// currentVersion reads a record's version (its ETag) for an update that did not name one.
func currentVersion(cmd *cobra.Command, c *client, path string) (int64, error) {
	var r struct {
		Version int64 `json:"version"`
	}
	if _, err := c.call(cmd.Context(), request{method: "GET", path: path}, &r); err != nil {
		return 0, err
	}
	return r.Version, nil
}

func newFlagsUpdateCmd(e *env) *cobra.Command {
	var s scope
	var file string
	var version int64
	cmd := serverCmd(e, &cobra.Command{
		Use:   "update [KEY] -f FILE --env E [--project P] [--version N]",
		Short: "Replace a flag's configuration in one environment from a flag file",
		Long: `update replaces the flag's configuration in --env with the file's (one flag, YAML or JSON).
The file is the whole configuration: a file without "enabled: true" turns the flag off in
--env. Definition fields (name, description, tags, kind, type, variations, expiry) reach
every environment; targeting stays per environment.

The update names the version it replaces: --version N, or else the version it reads
just before writing. With --version, a concurrent change makes it fail with 409
instead of overwriting that change.`,
		Example: `  ramp flags update checkout -f checkout.yaml --env production --version 4`,
		Args:    cobra.MaximumNArgs(1),
	}, &s, func(cmd *cobra.Command, c *client, args []string) error {
		data, err := readInput(e, file)
		if err != nil {
			return err
		}
		flags, err := readFlagFile(data, file)
		if err != nil {
			return err
		}
		var body json.RawMessage
		var key string
		for _, f := range flags {
			var k struct {
				Key string `json:"key"`
			}
			json.Unmarshal(f, &k)
			if len(args) == 0 || k.Key == args[0] || (len(flags) == 1 && k.Key == "") {
				if body != nil {
					return fmt.Errorf("%s holds several flags: name the one to update", file)
				}
				body, key = f, k.Key
			}
		}
		if len(args) == 1 {
			key = args[0]
		}
		if body == nil {
			return fmt.Errorf("%s has no flag %q", file, key)
		}
		if key == "" {
			return errors.New("name the flag: ramp flags update KEY -f FILE, or a key in the file")
		}
		path := envAPIPath(s.project, s.env, "flags", key)
		v := version
		if v == 0 {
			if v, err = currentVersion(cmd, c, path); err != nil {
				return err
			}
		}
		var r flagRecordJSON
		out, err := c.call(cmd.Context(), request{method: "PUT", path: path, body: []byte(body), ctype: "application/json",
			header: map[string]string{"If-Match": strconv.Quote(strconv.FormatInt(v, 10))}}, &r)
		if err != nil {
			return err
		}
		if c.output == "json" {
			return c.printJSON(out)
		}
		fmt.Fprintf(e.stdout, "updated flag %s in %s/%s: version %d → %d\n", key, s.project, s.env, v, r.Version)
		return nil
	})
	cmd.Flags().StringVarP(&file, "file", "f", "", "flag file, YAML or JSON; - for standard input")
	cmd.Flags().Int64Var(&version, "version", 0, "the version being replaced (default: the current one)")
	return cmd
}

func newFlagsToggleCmd(e *env) *cobra.Command {
	var s scope
	var on, off bool
	var version int64
	cmd := serverCmd(e, &cobra.Command{
		Use:   "toggle KEY --on|--off --env E [--project P]",
		Short: "Turn a flag on or off in one environment (the kill switch)",
		Example: `  ramp flags toggle payments --off --env production
  ramp flags toggle payments --on --env production --version 7`,
		Args: cobra.ExactArgs(1),
	}, &s, func(cmd *cobra.Command, c *client, args []string) error {
		if on == off {
			return errors.New("say --on or --off")
		}
		body := map[string]any{"enabled": on}
		if version > 0 {
			body["version"] = version
		}
		var r flagRecordJSON
		out, err := c.call(cmd.Context(), request{method: "POST", path: envAPIPath(s.project, s.env, "flags", args[0], "toggle"), body: body}, &r)
		if err != nil {
			return err
		}
		if c.output == "json" {
			return c.printJSON(out)
		}
		fmt.Fprintf(e.stdout, "flag %s is %s in %s/%s (version %d)\n", args[0], onOff(r.Flag.Enabled), s.project, s.env, r.Version)
		return nil
	})
	cmd.Flags().BoolVar(&on, "on", false, "enable the flag")
	cmd.Flags().BoolVar(&off, "off", false, "disable the flag: it serves its off variation")
	cmd.Flags().Int64Var(&version, "version", 0, "toggle only if the flag is at this version")
	return cmd
}

func newFlagsDeleteCmd(e *env) *cobra.Command {
	var s scope
	return serverCmd(e, &cobra.Command{
		Use:   "delete KEY --env E [--project P]",
		Short: "Delete a flag from every environment of the project",
		Long:  "delete removes the flag from every environment (--env names any one of them). Its audit trail stays.",
		Args:  cobra.ExactArgs(1),
	}, &s, func(cmd *cobra.Command, c *client, args []string) error {
		if _, err := c.call(cmd.Context(), request{method: "DELETE", path: envAPIPath(s.project, s.env, "flags", args[0])}, nil); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "deleted flag %s from every environment of %s\n", args[0], s.project)
		return nil
	})
}

func newFlagsImportCmd(e *env) *cobra.Command {
	var s scope
	var format string
	cmd := serverCmd(e, &cobra.Command{
		Use:   "import FILE --project P --env E [--format ramp|flagd]",
		Short: "Import a flag file (ramp or flagd format) into one environment, in one change",
		Long: `import writes a flag file into --env in a single change: new flags are created in
every environment (enabled only in --env), existing flags take the file's configuration,
and segments are created or replaced. Nothing is written if any part is invalid.

The format is detected when --format is omitted: a flagd file has its flags as an
object keyed by flag key. FILE - reads standard input.`,
		Example: `  ramp flags import flags.yaml --project default --env staging
  ramp flags import flagd.json --env production --format flagd`,
		Args: cobra.ExactArgs(1),
	}, &s, func(cmd *cobra.Command, c *client, args []string) error {
		data, err := readInput(e, args[0])
		if err != nil {
			return err
		}
		switch format {
		case "":
			format = formatRamp
			if flagd.IsFlagd(data) {
				format = formatFlagd
			}
		case formatRamp, formatFlagd:
		default:
			return fmt.Errorf("--format: %q is not ramp or flagd", format)
		}
		ctype := "application/yaml"
		if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' {
			ctype = "application/json"
		}
		var res struct{ Created, Updated, Segments []string }
		out, err := c.call(cmd.Context(), request{method: "POST", path: envAPIPath(s.project, s.env, "import"),
			query: url.Values{"format": {format}}, body: data, ctype: ctype}, &res)
		if err != nil {
			return err
		}
		if c.output == "json" {
			return c.printJSON(out)
		}
		fmt.Fprintf(e.stdout, "imported %s into %s/%s (%s format)\n", args[0], s.project, s.env, format)
		tw := c.e.stdout
		for _, l := range []struct {
			what string
			keys []string
		}{{"created", res.Created}, {"updated", res.Updated}, {"segments", res.Segments}} {
			if len(l.keys) > 0 {
				fmt.Fprintf(tw, "  %s: %s\n", l.what, strings.Join(l.keys, ", "))
			}
		}
		return nil
	})
	cmd.Flags().StringVar(&format, "format", "", "ramp or flagd (default: detected)")
	return cmd
}

func newFlagsExportCmd(e *env) *cobra.Command {
	var s scope
	var format string
	cmd := serverCmd(e, &cobra.Command{
		Use:   "export --project P --env E [--format ramp|flagd]",
		Short: "Write an environment's flags to standard output (ramp YAML or flagd JSON)",
		Long: `export writes the environment's flags and segments (archived flags left out) to standard
output: ramp's format as YAML (ramp-json for JSON), or flagd's flag-definition format as JSON.`,
		Example: `  ramp flags export --env production > flags.yaml
  ramp flags export --env production --format flagd > flagd.json`,
		Args: cobra.NoArgs,
	}, &s, func(cmd *cobra.Command, c *client, _ []string) error {
		switch format {
		case formatRamp, formatFlagd, "ramp-json":
		default:
			return fmt.Errorf("--format: %q is not ramp, ramp-json or flagd", format)
		}
		data, _, err := c.do(cmd.Context(), request{method: "GET", path: envAPIPath(s.project, s.env, "export"), query: url.Values{"format": {format}}})
		if err != nil {
			return err
		}
		if len(data) > 0 && data[len(data)-1] != '\n' {
			data = append(data, '\n')
		}
		_, err = e.stdout.Write(data)
		return err
	})
	cmd.Flags().StringVar(&format, "format", formatRamp, "ramp (YAML), ramp-json or flagd")
	return cmd
}
