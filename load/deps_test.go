package load_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyDirection holds the load engine to its imports: the standard library, third-party
// packages, its own subpackages and internal/stats; never the feature-flag half of ramp.
func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/ramphq/ramp/load/...").CombinedOutput()
	if err != nil {
		t.Skipf("go list unavailable: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if !strings.HasPrefix(pkg, "github.com/ramphq/ramp/") {
			continue
		}
		if strings.HasPrefix(pkg, "github.com/ramphq/ramp/load") || pkg == "github.com/ramphq/ramp/internal/stats" {
			continue
		}
		t.Errorf("load depends on %s", pkg)
	}
}
