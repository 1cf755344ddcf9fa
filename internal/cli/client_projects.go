package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func init() {
	subcommands = append(subcommands, newProjectsCmd, newEnvsCmd)
}

type projectJSON struct {
	Key         string    `json:"key"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"createdAt"`
}

type environmentJSON struct {
	Project   string    `json:"project"`
	Key       string    `json:"key"`
	Name      string    `json:"name"`
	Revision  int64     `json:"revision"`
	CreatedAt time.Time `json:"createdAt"`
}

func newProjectsCmd(e *env) *cobra.Command {
	var o clientOpts
	list := func(cmd *cobra.Command, _ []string) error {
		c, err := newClient(e, &o)
		if err != nil {
			return err
		}
		var out struct{ Projects []projectJSON }
		data, err := c.call(cmd.Context(), request{method: "GET", path: apiPath("projects")}, &out)
		if err != nil {
			return err
		}
		return c.show(data, func(w io.Writer) {
			row(w, "KEY", "NAME", "CREATED")
			for _, p := range out.Projects {
				row(w, p.Key, p.Name, when(p.CreatedAt))
			}
		})
	}
	cmd := &cobra.Command{
		Use:   "projects [list|create|get|delete]",
		Short: "List and manage projects on a ramp server",
		Long: `projects talks to a ramp server (--server or RAMP_SERVER, --token or RAMP_TOKEN).
Without a subcommand it lists the projects the token may see.`,
		Example: `  ramp projects
  ramp projects create shop --name "Web shop" --env dev --env prod
  ramp projects get shop -o json
  ramp projects delete shop`,
		Args: cobra.NoArgs,
		RunE: list,
	}
	addClientFlags(cmd, &o)

	cmd.AddCommand(&cobra.Command{Use: "list", Short: "List projects", Args: cobra.NoArgs, RunE: list})

	var name, desc string
	var envs []string
	create := &cobra.Command{
		Use:   "create KEY",
		Short: "Create a project (with environments development, staging and production unless --env is given)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newClient(e, &o)
			if err != nil {
				return err
			}
			var p projectJSON
			data, err := c.call(cmd.Context(), request{method: "POST", path: apiPath("projects"),
				body: map[string]any{"key": args[0], "name": name, "description": desc, "environments": envs}}, &p)
			if err != nil {
				return err
			}
			if c.output == "json" {
				return c.printJSON(data)
			}
			if len(envs) == 0 {
				envs = []string{"development", "staging", "production"}
			}
			fmt.Fprintf(e.stdout, "created project %s with environments %s\n", p.Key, strings.Join(envs, ", "))
			return nil
		},
	}
	create.Flags().StringVar(&name, "name", "", "display name (default: the key)")
	create.Flags().StringVar(&desc, "description", "", "description")
	create.Flags().StringSliceVar(&envs, "env", nil, "environment to create (repeatable; default development, staging, production)")
	cmd.AddCommand(create)

	cmd.AddCommand(&cobra.Command{
		Use:   "get KEY",
		Short: "Show a project and its environments",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newClient(e, &o)
			if err != nil {
				return err
			}
			var p projectJSON
			data, err := c.call(cmd.Context(), request{method: "GET", path: apiPath("projects", args[0])}, &p)
			if err != nil {
				return err
			}
			if c.output == "json" {
				return c.printJSON(data)
			}
			var envs struct{ Environments []environmentJSON }
			if _, err := c.call(cmd.Context(), request{method: "GET", path: apiPath("projects", args[0], "environments")}, &envs); err != nil {
				return err
			}
			return c.show(data, func(w io.Writer) {
				row(w, "key:", p.Key)
				row(w, "name:", p.Name)
				if p.Description != "" {
					row(w, "description:", p.Description)
				}
				row(w, "created:", when(p.CreatedAt))
				var keys []string
				for _, e := range envs.Environments {
					keys = append(keys, fmt.Sprintf("%s (revision %d)", e.Key, e.Revision))
				}
				row(w, "environments:", strings.Join(keys, ", "))
			})
		},
	})

	cmd.AddCommand(&cobra.Command{
		Use:   "delete KEY",
		Short: "Delete a project with its environments, flags, segments and keys (its audit trail stays)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newClient(e, &o)
			if err != nil {
				return err
			}
			if _, err := c.call(cmd.Context(), request{method: "DELETE", path: apiPath("projects", args[0])}, nil); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "deleted project %s\n", args[0])
			return nil
		},
	})
	return cmd
}

func newEnvsCmd(e *env) *cobra.Command {
	var o clientOpts
	var project string
	list := func(cmd *cobra.Command, _ []string) error {
		c, err := newClient(e, &o)
		if err != nil {
			return err
		}
		var out struct{ Environments []environmentJSON }
		data, err := c.call(cmd.Context(), request{method: "GET", path: apiPath("projects", project, "environments")}, &out)
		if err != nil {
			return err
		}
		return c.show(data, func(w io.Writer) {
			row(w, "KEY", "NAME", "REVISION", "CREATED")
			for _, v := range out.Environments {
				row(w, v.Key, v.Name, v.Revision, when(v.CreatedAt))
			}
		})
	}
	cmd := &cobra.Command{
		Use:     "envs [list|create|delete|resync]",
		Aliases: []string{"environments"},
		Short:   "List and manage a project's environments on a ramp server",
		Example: `  ramp envs --project shop
  ramp envs create qa --project shop --from staging
  ramp envs delete qa --project shop`,
		Args: cobra.NoArgs,
		RunE: list,
	}
	addClientFlags(cmd, &o)
	cmd.PersistentFlags().StringVar(&project, "project", "default", "project key")
	cmd.AddCommand(&cobra.Command{Use: "list", Short: "List environments", Args: cobra.NoArgs, RunE: list})

	var name, from string
	create := &cobra.Command{
		Use:   "create KEY",
		Short: "Create an environment; flags and segments are copied from --from (default: the first environment), disabled",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newClient(e, &o)
			if err != nil {
				return err
			}
			var v environmentJSON
			data, err := c.call(cmd.Context(), request{method: "POST", path: apiPath("projects", project, "environments"),
				body: map[string]any{"key": args[0], "name": name, "from": from}}, &v)
			if err != nil {
				return err
			}
			if c.output == "json" {
				return c.printJSON(data)
			}
			fmt.Fprintf(e.stdout, "created environment %s/%s\n", project, v.Key)
			return nil
		},
	}
	create.Flags().StringVar(&name, "name", "", "display name (default: the key)")
	create.Flags().StringVar(&from, "from", "", "environment to copy flags and segments from")
	cmd.AddCommand(create)

	cmd.AddCommand(&cobra.Command{
		Use:   "delete KEY",
		Short: "Delete an environment with its flags, segments and keys",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newClient(e, &o)
			if err != nil {
				return err
			}
			if _, err := c.call(cmd.Context(), request{method: "DELETE", path: envAPIPath(project, args[0])}, nil); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "deleted environment %s/%s\n", project, args[0])
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "resync KEY",
		Short: "Make every SDK streaming from an environment reload its full configuration",
		Long: `resync sends every SDK connected to the environment's stream a full put of its flags, as if each had
reconnected: the cache-bust for an SDK that may hold stale flags. Editors and admins may use it.`,
		Example: `  ramp envs resync production --project shop`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newClient(e, &o)
			if err != nil {
				return err
			}
			var out struct{ Revision int64 }
			data, err := c.call(cmd.Context(), request{method: "POST", path: envAPIPath(project, args[0]) + "/resync"}, &out)
			if err != nil {
				return err
			}
			if c.output == "json" {
				return c.printJSON(data)
			}
			fmt.Fprintf(e.stdout, "resync sent to the SDKs of %s/%s (revision %d)\n", project, args[0], out.Revision)
			return nil
		},
	})
	return cmd
}
