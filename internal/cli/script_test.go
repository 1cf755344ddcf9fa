package cli

import (
	"context"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ramphq/ramp/internal/control"
	"github.com/ramphq/ramp/internal/httpapi"
	"github.com/ramphq/ramp/internal/store/sqlite"
)

// The CLI's behaviour (output, errors, exit codes) is pinned by the txtar scripts in testdata/script, run
// against the real command tree: `exec ramp ...` in a script calls Run.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"ramp": func() { os.Exit(Run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{Dir: "testdata/script", Setup: startScriptServer, Cmds: map[string]func(*testscript.TestScript, bool, []string){
		// envfile NAME FILE sets NAME to FILE's content, trimmed: a key printed by `ramp keys create` becomes a token.
		"envfile": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) != 2 {
				ts.Fatalf("usage: envfile NAME FILE")
			}
			ts.Setenv(args[0], strings.TrimSpace(ts.ReadFile(args[1])))
		},
		// capture NAME REGEXP FILE sets NAME to the first group of REGEXP's first match in FILE (stdout for the
		// last command's output): a key id from a listing, for revoke and rotate.
		"capture": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) != 3 {
				ts.Fatalf("usage: capture NAME REGEXP FILE")
			}
			m := regexp.MustCompile("(?m)" + args[1]).FindStringSubmatch(ts.ReadFile(args[2]))
			if len(m) < 2 {
				ts.Fatalf("capture: no match for %q in %s", args[1], args[2])
			}
			ts.Setenv(args[0], m[1])
		},
	}})
}

// scriptAdminToken is the admin token of the server every script gets.
const scriptAdminToken = "script-admin-token-0123456789"

// startScriptServer gives each script its own ramp server on 127.0.0.1:0 over a temp SQLite store, as a fresh
// `ramp serve` would be (project default with development, staging and production; one admin token), and
// points the CLI at it: RAMP_SERVER, RAMP_TOKEN (and ADMIN_TOKEN, to restore it after a script changes it).
func startScriptServer(env *testscript.Env) error {
	dir, err := os.MkdirTemp("", "ramp-script-")
	if err != nil {
		return err
	}
	st, err := sqlite.Open(context.Background(), dir)
	if err != nil {
		os.RemoveAll(dir)
		return err
	}
	ctl := control.New(control.Options{Store: st})
	if _, _, err := ctl.Bootstrap(context.Background(), scriptAdminToken); err != nil {
		st.Close()
		os.RemoveAll(dir)
		return err
	}
	srv := httptest.NewServer(httpapi.New(httpapi.Options{Control: ctl}))
	env.Defer(func() {
		srv.Close()
		st.Close()
		os.RemoveAll(dir)
	})
	env.Setenv("RAMP_SERVER", srv.URL)
	env.Setenv("RAMP_TOKEN", scriptAdminToken)
	env.Setenv("ADMIN_TOKEN", scriptAdminToken)
	return nil
}
