package cli

import (
	"context"
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// The CLI's behaviour (output, errors, exit codes) is pinned by the txtar scripts in testdata/script, run
// against the real command tree: `exec ramp ...` in a script calls Run.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"ramp": func() { os.Exit(Run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{Dir: "testdata/script"})
}
