package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ramphq/ramp/flag"
)

func init() {
	subcommands = append(subcommands, newAuditCmd, newExplainCmd)
}

type auditJSON struct {
	ID          int64           `json:"id"`
	At          time.Time       `json:"at"`
	Actor       string          `json:"actor"`
	Action      string          `json:"action"`
	Project     string          `json:"project"`
	Environment string          `json:"environment"`
	Resource    string          `json:"resource"`
	Key         string          `json:"key"`
	Version     int64           `json:"version"`
	Before      json.RawMessage `json:"before"`
	After       json.RawMessage `json:"after"`
}

// parseSince reads --since/--until: an RFC 3339 time, a date, or a duration back from now (90m, 24h, 7d).
func parseSince(name, v string, now time.Time) (string, error) {
	if v == "" {
		return "", nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC().Format(time.RFC3339), nil
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t.UTC().Format(time.RFC3339), nil
	}
	if days, ok := strings.CutSuffix(v, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 {
			return now.Add(-time.Duration(n) * 24 * time.Hour).UTC().Format(time.RFC3339), nil
		}
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(-d).UTC().Format(time.RFC3339), nil
	}
	return "", fmt.Errorf("--%s: %q is not an RFC 3339 time, a date or a duration such as 24h or 7d", name, v)
}

func newAuditCmd(e *env) *cobra.Command {
	var o clientOpts
	var project, envKey, resource, key, flagKey, since, until string
	var limit int
	var diff bool
	cmd := &cobra.Command{
		Use:   "audit [--project P] [--env E] [--flag K] [--since T] [--until T]",
		Short: "Read a ramp server's audit log: who changed what, when, newest first",
		Long: `audit lists audit entries, newest first. --since and --until take an RFC 3339 time,
a date (2026-01-31) or a duration back from now (90m, 24h, 7d). --diff prints each
entry's record before and after the change.`,
		Example: `  ramp audit --flag checkout --since 7d
  ramp audit --project shop --env production --diff
  ramp audit --resource key -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newClient(e, &o)
			if err != nil {
				return err
			}
			q := url.Values{}
			if flagKey != "" {
				resource, key = "flag", flagKey
			}
			now := time.Now()
			s, err := parseSince("since", since, now)
			if err != nil {
				return err
			}
			u, err := parseSince("until", until, now)
			if err != nil {
				return err
			}
			for k, v := range map[string]string{"project": project, "environment": envKey, "resource": resource, "key": key, "since": s, "until": u} {
				if v != "" {
					q.Set(k, v)
				}
			}
			if limit > 0 {
				q.Set("limit", strconv.Itoa(limit))
			}
			var out struct{ Entries []auditJSON }
			data, err := c.call(cmd.Context(), request{method: "GET", path: apiPath("audit"), query: q}, &out)
			if err != nil {
				return err
			}
			if diff && c.output != "json" {
				for _, a := range out.Entries {
					fmt.Fprintf(e.stdout, "#%d %s %s %s %s %s/%s v%d\n", a.ID, when(a.At), a.Actor, a.Action, a.Key, a.Project, a.Environment, a.Version)
					printDiff(e.stdout, a.Before, a.After)
				}
				return nil
			}
			return c.show(data, func(w io.Writer) {
				row(w, "ID", "AT", "ACTOR", "ACTION", "PROJECT", "ENV", "RESOURCE", "KEY", "VERSION")
				for _, a := range out.Entries {
					v := ""
					if a.Version > 0 {
						v = strconv.FormatInt(a.Version, 10)
					}
					row(w, a.ID, when(a.At), a.Actor, a.Action, a.Project, a.Environment, a.Resource, a.Key, v)
				}
			})
		},
	}
	addClientFlags(cmd, &o)
	fs := cmd.Flags()
	fs.StringVar(&project, "project", "", "only this project")
	fs.StringVar(&envKey, "env", "", "only this environment")
	fs.StringVar(&flagKey, "flag", "", "only this flag's history")
	fs.StringVar(&resource, "resource", "", "only this kind of resource: project, environment, flag, segment, key")
	fs.StringVar(&key, "key", "", "only this resource key")
	fs.StringVar(&since, "since", "", "only entries at or after this time")
	fs.StringVar(&until, "until", "", "only entries before this time")
	fs.IntVar(&limit, "limit", 0, "at most this many entries (server default 100, at most 1000)")
	fs.BoolVar(&diff, "diff", false, "print each entry's before and after")
	return cmd
}

// printDiff prints what a change did: the fields that differ (top level) when both sides are objects, else
// both sides whole.
func printDiff(w io.Writer, before, after json.RawMessage) {
	var b, a map[string]json.RawMessage
	if json.Unmarshal(before, &b) != nil || json.Unmarshal(after, &a) != nil || b == nil || a == nil {
		fmt.Fprintf(w, "  before: %s\n  after:  %s\n", compact(before), compact(after))
		return
	}
	keys := map[string]bool{}
	for k := range b {
		keys[k] = true
	}
	for k := range a {
		keys[k] = true
	}
	var names []string
	for k := range keys {
		if string(b[k]) != string(a[k]) {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	for _, k := range names {
		fmt.Fprintf(w, "  %s: %s → %s\n", k, compact(b[k]), compact(a[k]))
	}
}

func compact(js json.RawMessage) string {
	if len(js) == 0 || string(js) == "null" {
		return "(none)"
	}
	return string(js)
}

func newExplainCmd(e *env) *cobra.Command {
	var s scope
	var key, ctxArg string
	cmd := serverCmd(e, &cobra.Command{
		Use:   "explain --env E --flag K [--project P] [--context JSON]",
		Short: "Evaluate a flag on a ramp server and show why: which rule matched and why the others did not",
		Long: `explain evaluates a flag in an environment of a server for one context, exactly as SDKs
would, and prints every step: the disabled check, prerequisites, individual targets, each
rule with each clause against what the context held, and the fallthrough.`,
		Example: `  ramp explain --env production --flag new-ui --context '{"targetingKey":"user-7","country":"BR"}'
  ramp explain --env production --flag new-ui --context @ctx.json -o json`,
		Args: cobra.NoArgs,
	}, &s, func(cmd *cobra.Command, c *client, _ []string) error {
		if key == "" {
			return fmt.Errorf("--flag is required")
		}
		ctx, err := parseContextArg(ctxArg)
		if err != nil {
			return err
		}
		var out struct {
			Revision int64       `json:"revision"`
			Detail   flag.Detail `json:"detail"`
			Steps    []struct {
				Kind    string `json:"kind"`
				ID      string `json:"id"`
				Matched bool   `json:"matched"`
				Note    string `json:"note"`
				Clauses []struct {
					Clause  flag.Clause `json:"clause"`
					Actual  any         `json:"actual"`
					Present bool        `json:"present"`
					Matched bool        `json:"matched"`
				} `json:"clauses"`
			} `json:"steps"`
		}
		data, err := c.call(cmd.Context(), request{method: "POST", path: envAPIPath(s.project, s.env, "explain"),
			body: map[string]any{"flag": key, "context": ctx}}, &out)
		if err != nil {
			return err
		}
		if c.output == "json" {
			return c.printJSON(data)
		}
		d := out.Detail
		val, _ := json.Marshal(d.Value)
		fmt.Fprintf(e.stdout, "%s in %s/%s (revision %d): %s", key, s.project, s.env, out.Revision, val)
		if d.Variant != "" {
			fmt.Fprintf(e.stdout, " (variant %s)", d.Variant)
		}
		fmt.Fprintf(e.stdout, ", reason %s", d.Reason)
		if d.RuleID != "" {
			fmt.Fprintf(e.stdout, ", rule %s", d.RuleID)
		}
		if d.PrerequisiteKey != "" {
			fmt.Fprintf(e.stdout, ", prerequisite %s", d.PrerequisiteKey)
		}
		if d.ErrorCode != "" {
			fmt.Fprintf(e.stdout, ", error %s", d.ErrorCode)
			if d.ErrorMessage != "" {
				fmt.Fprintf(e.stdout, ": %s", d.ErrorMessage)
			}
		}
		fmt.Fprintln(e.stdout)
		for _, st := range out.Steps {
			mark := "no match"
			if st.Matched {
				mark = "MATCH"
			}
			name := st.Kind
			if st.ID != "" {
				name += " " + st.ID
			}
			line := fmt.Sprintf("  %-8s %s", mark, name)
			if st.Note != "" {
				line += ": " + st.Note
			}
			fmt.Fprintln(e.stdout, line)
			for _, ct := range st.Clauses {
				m := "✗"
				if ct.Matched {
					m = "✓"
				}
				vals, _ := json.Marshal(ct.Clause.Values)
				actual := "missing"
				if ct.Present {
					b, _ := json.Marshal(ct.Actual)
					actual = string(b)
				}
				op := string(ct.Clause.Op)
				if ct.Clause.Negate {
					op = "not " + op
				}
				if ct.Clause.Attribute != "" {
					op = ct.Clause.Attribute + " " + op
				}
				fmt.Fprintf(e.stdout, "      %s %s %s (context: %s)\n", m, op, vals, actual)
			}
		}
		return nil
	})
	cmd.Flags().StringVar(&key, "flag", "", "flag key (required)")
	cmd.Flags().StringVarP(&ctxArg, "context", "c", "{}", "evaluation context as JSON, or @FILE")
	return cmd
}
