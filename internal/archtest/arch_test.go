package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/ramphq/ramp"

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func listPackages(t *testing.T) map[string]pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps=false", "-json", module+"/...")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(out)
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs[strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")] = p
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	return pkgs
}

// project returns the project packages (relative paths) among paths.
func project(paths []string) []string {
	var out []string
	for _, p := range paths {
		if p == module || strings.HasPrefix(p, module+"/") {
			out = append(out, strings.TrimPrefix(strings.TrimPrefix(p, module), "/"))
		}
	}
	return out
}

func under(p string, roots ...string) bool {
	for _, r := range roots {
		if p == r || strings.HasPrefix(p, r+"/") {
			return true
		}
	}
	return false
}

func TestDependencyDirection(t *testing.T) {
	pkgs := listPackages(t)
	if _, ok := pkgs["flag"]; !ok {
		t.Fatalf("package flag not found among %d packages", len(pkgs))
	}
	if !slices.Contains(project(pkgs["internal/eval"].Deps), "flag") {
		t.Fatal("go list reported no dependencies: the test would check nothing")
	}
	concrete := []string{"internal/store/sqlite", "internal/store/postgres"}
	drivers := []string{"modernc.org/sqlite", "github.com/jackc/pgx", "github.com/lib/pq", "github.com/mattn/go-sqlite3"}
	for name, p := range pkgs {
		deps := project(p.Deps)
		switch {
		case name == "flag" || name == "internal/stats":
			if len(deps) > 0 {
				t.Errorf("%s must import nothing of the project, imports %v", name, deps)
			}
		case name == "internal/eval":
			for _, d := range deps {
				if d != "flag" {
					t.Errorf("internal/eval may import only flag, imports %s", d)
				}
			}
			for _, banned := range []string{"log", "log/slog", "context", "encoding/json", "sync", "net", "net/http", "os"} {
				if slices.Contains(p.Imports, banned) {
					t.Errorf("internal/eval must not import %s", banned)
				}
			}
		case under(name, "load"):
			for _, d := range deps {
				if !under(d, "load", "internal/stats") {
					t.Errorf("%s (load half) imports %s", name, d)
				}
			}
		}
		if under(name, "sdk", "middleware") {
			for _, d := range deps {
				if under(d, "internal/store", "internal/httpapi") {
					t.Errorf("%s must not reach %s", name, d)
				}
			}
			for _, d := range p.Deps {
				if under(d, drivers...) {
					t.Errorf("%s must not pull in the driver %s", name, d)
				}
			}
		}
		if name != "internal/cli" && !under(name, concrete...) && !strings.HasSuffix(name, "_test") {
			for _, imp := range project(p.Imports) {
				if under(imp, concrete...) {
					t.Errorf("%s imports the concrete store %s; only internal/cli may", name, imp)
				}
			}
		}
	}
}
