package load_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/ramphq/ramp/load"
)

// TestExamplePlansMatchSchema validates every example plan against schema/plan.schema.json and
// checks that the schema rejects what the decoder rejects.
func TestExamplePlansMatchSchema(t *testing.T) {
	c := jsonschema.NewCompiler()
	sch, err := c.Compile("../schema/plan.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	plans, _ := filepath.Glob("../examples/load/*.yaml")
	if len(plans) == 0 {
		t.Fatal("no example plans")
	}
	t.Setenv("SHOP_URL", "http://127.0.0.1:8080")
	for _, path := range plans {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(doc); err != nil {
			t.Errorf("%s: %v", path, err)
		}
		p, err := load.LoadPlanFile(path, nil)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if err := load.CheckPlan(p); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
	for _, bad := range []string{
		"name: x\nscenarios: [{name: a, steps: [{url: /}]}]\nbogus: 1\n",
		"name: x\nload: {type: warp}\nscenarios: [{name: a, steps: [{url: /}]}]\n",
		"name: x\nscenarios: [{name: a, steps: [{url: /, checks: [{status: 200, json: $.a}]}]}]\n",
	} {
		var doc any
		yaml.Unmarshal([]byte(bad), &doc)
		if err := sch.Validate(doc); err == nil {
			t.Errorf("schema accepted %q", strings.TrimSpace(bad))
		}
	}
}
