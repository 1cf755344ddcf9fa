package eval

import (
	"testing"

	"github.com/ramphq/ramp/flag"
)

func TestExplainShowsEveryStep(t *testing.T) {
	set := rulesSet()
	snap := mustCompile(t, set)
	ctx := flag.NewContext("user-7", map[string]any{"email": "a@mail.test", "country": "US"})
	ex := Explain(snap, set, "ai-assistant", &ctx)
	if ex.Detail.Reason != flag.ReasonDefault {
		t.Fatalf("detail %+v", ex.Detail)
	}
	if len(ex.Steps) != 3 || ex.Steps[0].ID != "staff" || ex.Steps[0].Matched || ex.Steps[1].ID != "br-pt" || ex.Steps[2].Kind != "fallthrough" {
		t.Fatalf("steps %+v", ex.Steps)
	}
	c := ex.Steps[1].Clauses[0]
	if c.Actual != "US" || !c.Present || c.Matched {
		t.Fatalf("clause trace %+v", c)
	}
	ctx = flag.NewContext("user-8", map[string]any{"email": "b@example.com"})
	ex = Explain(snap, set, "ai-assistant", &ctx)
	if len(ex.Steps) != 1 || !ex.Steps[0].Matched || ex.Detail.RuleID != "staff" {
		t.Fatalf("staff: %+v", ex)
	}
}
