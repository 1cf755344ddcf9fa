package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/spf13/cobra"
)

func init() {
	subcommands = append(subcommands, newKeysCmd, newSegmentsCmd)
}

type keyJSON struct {
	ID          string     `json:"id"`
	Kind        string     `json:"kind"`
	Role        string     `json:"role"`
	Project     string     `json:"project"`
	Environment string     `json:"environment"`
	Name        string     `json:"name"`
	CreatedAt   time.Time  `json:"createdAt"`
	CreatedBy   string     `json:"createdBy"`
	ExpiresAt   *time.Time `json:"expiresAt"`
	RevokedAt   *time.Time `json:"revokedAt"`
	LastUsedAt  *time.Time `json:"lastUsedAt"`
	Secret      string     `json:"secret"`
}

func (k *keyJSON) state(now time.Time) string {
	switch {
	case k.RevokedAt != nil && !now.Before(*k.RevokedAt):
		return "revoked"
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return "expired"
	case k.ExpiresAt != nil:
		return "expires " + when(*k.ExpiresAt)
	}
	return "active"
}

func newKeysCmd(e *env) *cobra.Command {
	var o clientOpts
	cmd := &cobra.Command{
		Use:   "keys create|list|revoke|rotate",
		Short: "Manage API keys on a ramp server: admin tokens, server and client SDK keys",
		Long: `keys manages API keys. Admin tokens carry a role (viewer, editor or admin) and an
optional project scope; server keys (per environment) read full flag configuration;
client keys (per environment) get evaluated values only. A key's secret is shown
once, when it is created or rotated: create and rotate print it alone on stdout.`,
		Example: `  ramp keys create --project default --env production --kind server
  ramp keys create --kind admin --role viewer --name grafana
  ramp keys list --project default
  ramp keys rotate ramp_srv_AbCdEfGh --grace 1h
  ramp keys revoke ramp_srv_AbCdEfGh`,
	}
	addClientFlags(cmd, &o)

	var kind, role, project, envKey, name string
	create := &cobra.Command{
		Use:   "create --kind server|client --project P --env E | --kind admin --role R [--project P]",
		Short: "Create a key and print its secret alone on stdout",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if kind == "" {
				return errors.New("--kind is required: server, client or admin")
			}
			c, err := newClient(e, &o)
			if err != nil {
				return err
			}
			var k keyJSON
			data, err := c.call(cmd.Context(), request{method: "POST", path: apiPath("keys"), body: map[string]any{
				"kind": kind, "role": role, "project": project, "environment": envKey, "name": name}}, &k)
			if err != nil {
				return err
			}
			if c.output == "json" {
				return c.printJSON(data)
			}
			fmt.Fprintln(e.stdout, k.Secret)
			fmt.Fprintf(e.stderr, "created %s key %s; the secret above is shown only once\n", k.Kind, k.ID)
			return nil
		},
	}
	create.Flags().StringVar(&kind, "kind", "", "server, client or admin")
	create.Flags().StringVar(&role, "role", "", "admin tokens: viewer, editor or admin")
	create.Flags().StringVar(&project, "project", "", "project (required for server and client keys; scopes an admin token)")
	create.Flags().StringVar(&envKey, "env", "", "environment (required for server and client keys)")
	create.Flags().StringVar(&name, "name", "", "a name to recognise the key by")
	cmd.AddCommand(create)

	var listProject string
	list := &cobra.Command{
		Use:   "list [--project P]",
		Short: "List keys (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newClient(e, &o)
			if err != nil {
				return err
			}
			q := url.Values{}
			if listProject != "" {
				q.Set("project", listProject)
			}
			var out struct{ Keys []keyJSON }
			data, err := c.call(cmd.Context(), request{method: "GET", path: apiPath("keys"), query: q}, &out)
			if err != nil {
				return err
			}
			now := time.Now()
			return c.show(data, func(w io.Writer) {
				row(w, "ID", "KIND", "ROLE", "PROJECT", "ENV", "NAME", "CREATED", "STATE")
				for _, k := range out.Keys {
					row(w, k.ID, k.Kind, k.Role, k.Project, k.Environment, k.Name, when(k.CreatedAt), k.state(now))
				}
			})
		},
	}
	list.Flags().StringVar(&listProject, "project", "", "only keys scoped to this project")
	cmd.AddCommand(list)

	cmd.AddCommand(&cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a key at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newClient(e, &o)
			if err != nil {
				return err
			}
			data, err := c.call(cmd.Context(), request{method: "POST", path: apiPath("keys", args[0], "revoke")}, nil)
			if err != nil {
				return err
			}
			if c.output == "json" {
				return c.printJSON(data)
			}
			fmt.Fprintf(e.stdout, "revoked key %s\n", args[0])
			return nil
		},
	})

	var grace time.Duration
	rotate := &cobra.Command{
		Use:   "rotate ID [--grace 24h]",
		Short: "Replace a key: print the new secret alone on stdout; the old key works for --grace more",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newClient(e, &o)
			if err != nil {
				return err
			}
			var k keyJSON
			data, err := c.call(cmd.Context(), request{method: "POST", path: apiPath("keys", args[0], "rotate"),
				body: map[string]any{"grace": grace.String()}}, &k)
			if err != nil {
				return err
			}
			if c.output == "json" {
				return c.printJSON(data)
			}
			fmt.Fprintln(e.stdout, k.Secret)
			fmt.Fprintf(e.stderr, "rotated %s into %s; the old key works for %s more\n", args[0], k.ID, grace)
			return nil
		},
	}
	rotate.Flags().DurationVar(&grace, "grace", 24*time.Hour, "how long the old key keeps working")
	cmd.AddCommand(rotate)
	return cmd
}

type segmentRecordJSON struct {
	Project     string          `json:"project"`
	Environment string          `json:"environment"`
	Segment     json.RawMessage `json:"segment"`
	Version     int64           `json:"version"`
	UpdatedAt   time.Time       `json:"updatedAt"`
	UpdatedBy   string          `json:"updatedBy"`
}

type segmentJSON struct {
	Key      string            `json:"key"`
	Name     string            `json:"name"`
	Included []string          `json:"included"`
	Excluded []string          `json:"excluded"`
	Rules    []json.RawMessage `json:"rules"`
}

func newSegmentsCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "segments list|get|put|delete",
		Short: "Manage an environment's segments on a ramp server",
		Example: `  ramp segments list --env production
  ramp segments put -f beta-users.yaml --env production
  ramp segments delete beta-users --env production`,
	}
	var s scope
	list := serverCmd(e, &cobra.Command{Use: "list --env E [--project P]", Short: "List segments", Args: cobra.NoArgs}, &s,
		func(cmd *cobra.Command, c *client, _ []string) error {
			var out struct{ Segments []segmentRecordJSON }
			data, err := c.call(cmd.Context(), request{method: "GET", path: envAPIPath(s.project, s.env, "segments")}, &out)
			if err != nil {
				return err
			}
			return c.show(data, func(w io.Writer) {
				row(w, "KEY", "NAME", "INCLUDED", "EXCLUDED", "RULES", "VERSION")
				for _, r := range out.Segments {
					var g segmentJSON
					json.Unmarshal(r.Segment, &g)
					row(w, g.Key, g.Name, len(g.Included), len(g.Excluded), len(g.Rules), r.Version)
				}
			})
		})
	var gs scope
	get := serverCmd(e, &cobra.Command{Use: "get KEY --env E [--project P]", Short: "Show a segment (as JSON)", Args: cobra.ExactArgs(1)}, &gs,
		func(cmd *cobra.Command, c *client, args []string) error {
			var r segmentRecordJSON
			data, err := c.call(cmd.Context(), request{method: "GET", path: envAPIPath(gs.project, gs.env, "segments", args[0])}, &r)
			if err != nil {
				return err
			}
			if c.output == "json" {
				return c.printJSON(data)
			}
			fmt.Fprintf(e.stdout, "segment in %s/%s, version %d, updated %s by %s\n", r.Project, r.Environment, r.Version, when(r.UpdatedAt), r.UpdatedBy)
			return c.printJSON(r.Segment)
		})
	var ps scope
	var file string
	var version int64
	put := serverCmd(e, &cobra.Command{
		Use:   "put -f FILE --env E [--project P] [--version N]",
		Short: "Create a segment, or replace it (at --version, or the version it reads first)",
		Args:  cobra.NoArgs,
	}, &ps, func(cmd *cobra.Command, c *client, _ []string) error {
		data, err := readInput(e, file)
		if err != nil {
			return err
		}
		items, err := readFlagFile(data, file)
		if err != nil {
			return err
		}
		if len(items) != 1 {
			return fmt.Errorf("%s: put takes one segment", file)
		}
		var g segmentJSON
		if err := json.Unmarshal(items[0], &g); err != nil || g.Key == "" {
			return fmt.Errorf("%s: the segment needs a key", file)
		}
		path := envAPIPath(ps.project, ps.env, "segments", g.Key)
		v := version
		if v == 0 {
			v, err = currentVersion(cmd, c, path)
			var ae *apiError
			if errors.As(err, &ae) && ae.Status == 404 {
				err, v = nil, 0
			}
			if err != nil {
				return err
			}
		}
		req := request{method: "PUT", path: path, body: []byte(items[0]), ctype: "application/json",
			header: map[string]string{"If-Match": fmt.Sprintf("%q", fmt.Sprint(v))}}
		if v == 0 {
			req = request{method: "POST", path: envAPIPath(ps.project, ps.env, "segments"), body: []byte(items[0]), ctype: "application/json"}
		}
		var r segmentRecordJSON
		out, err := c.call(cmd.Context(), req, &r)
		if err != nil {
			return err
		}
		if c.output == "json" {
			return c.printJSON(out)
		}
		verb := "updated"
		if v == 0 {
			verb = "created"
		}
		fmt.Fprintf(e.stdout, "%s segment %s in %s/%s (version %d)\n", verb, g.Key, ps.project, ps.env, r.Version)
		return nil
	})
	put.Flags().StringVarP(&file, "file", "f", "", "segment file, YAML or JSON; - for standard input")
	put.Flags().Int64Var(&version, "version", 0, "the version being replaced (default: the current one)")
	var ds scope
	del := serverCmd(e, &cobra.Command{Use: "delete KEY --env E [--project P]", Short: "Delete a segment (refused while a flag uses it)", Args: cobra.ExactArgs(1)}, &ds,
		func(cmd *cobra.Command, c *client, args []string) error {
			if _, err := c.call(cmd.Context(), request{method: "DELETE", path: envAPIPath(ds.project, ds.env, "segments", args[0])}, nil); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "deleted segment %s from %s/%s\n", args[0], ds.project, ds.env)
			return nil
		})
	cmd.AddCommand(list, get, put, del)
	return cmd
}
