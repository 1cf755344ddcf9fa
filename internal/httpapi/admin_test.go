package httpapi_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestProjectsAndEnvironments(t *testing.T) {
	h := newHarness(t)
	var list struct {
		Projects []struct{ Key string } `json:"projects"`
	}
	h.as("GET", "/api/v1/projects", nil).want(200, &list)
	if len(list.Projects) != 1 || list.Projects[0].Key != "default" {
		t.Fatalf("a fresh server: projects %+v, want default", list.Projects)
	}

	var pr struct{ Key, Name string }
	h.as("POST", "/api/v1/projects", map[string]any{"key": "shop", "name": "Shop"}).want(201, &pr)
	if pr.Key != "shop" || pr.Name != "Shop" {
		t.Fatalf("created %+v", pr)
	}
	h.as("GET", "/api/v1/projects/shop", nil).want(200, &pr)
	h.as("POST", "/api/v1/projects", map[string]any{"key": "shop"}).fail(409, "conflict")
	e := h.as("POST", "/api/v1/projects", map[string]any{"key": "Bad Key"}).fail(400, "invalid")
	if !e.problem("key", "lower-case") {
		t.Fatalf("bad project key: %+v", e)
	}

	var envs struct {
		Environments []struct {
			Key      string
			Revision int64
		} `json:"environments"`
	}
	h.as("GET", "/api/v1/projects/shop/environments", nil).want(200, &envs)
	if len(envs.Environments) != 3 {
		t.Fatalf("default environments: %+v", envs)
	}

	// A new environment copies the flags of the one named by from, disabled.
	h.as("POST", "/api/v1/projects/shop/environments/production/flags", boolFlag("beta")).want(201, nil)
	var env struct {
		Key, Name string
		Revision  int64
	}
	h.as("POST", "/api/v1/projects/shop/environments", map[string]any{"key": "qa", "name": "QA", "from": "production"}).want(201, &env)
	if env.Key != "qa" || env.Revision != 1 {
		t.Fatalf("created environment %+v", env)
	}
	var f flagView
	h.as("GET", envPath("shop", "qa")+"/flags/beta", nil).want(200, &f)
	if f.Flag["enabled"] != false {
		t.Fatalf("copied flag %+v: want it disabled", f.Flag)
	}
	h.as("GET", envPath("shop", "qa"), nil).want(200, &env)
	h.as("POST", "/api/v1/projects/shop/environments", map[string]any{"key": "qa"}).fail(409, "conflict")
	h.as("DELETE", envPath("shop", "qa"), nil).want(204, nil)
	h.as("GET", envPath("shop", "qa"), nil).fail(404, "not_found")
	h.as("DELETE", envPath("shop", "qa"), nil).fail(404, "not_found")

	h.as("DELETE", "/api/v1/projects/shop", nil).want(204, nil)
	h.as("GET", "/api/v1/projects/shop", nil).fail(404, "not_found")
	h.as("GET", "/api/v1/projects/shop/environments", nil).fail(404, "not_found")
}

func TestFlagLifecycle(t *testing.T) {
	h := newHarness(t)
	created := h.as("POST", flagsPath, boolFlag("checkout")).want(201, nil)
	if created.Header.Get("ETag") != `"1"` {
		t.Fatalf("ETag %q", created.Header.Get("ETag"))
	}
	var f flagView
	h.as("GET", flagsPath+"/checkout", nil).want(200, &f)
	if f.Version != 1 || f.Flag["enabled"] != true || f.Status != "active" || f.Flag["kind"] != "release" {
		t.Fatalf("created flag %+v", f)
	}
	// Enabled only where it was created.
	h.as("GET", envPath("default", "staging")+"/flags/checkout", nil).want(200, &f)
	if f.Flag["enabled"] != false {
		t.Fatalf("staging: %+v", f.Flag)
	}
	h.as("POST", flagsPath, boolFlag("checkout")).fail(409, "conflict")

	// Update with the version field.
	upd := boolFlag("checkout")
	upd["name"] = "Checkout v2"
	upd["version"] = 1
	h.as("PUT", flagsPath+"/checkout", upd).want(200, &f)
	if f.Version != 2 || f.Flag["name"] != "Checkout v2" {
		t.Fatalf("updated %+v", f)
	}
	// The definition reached the other environments.
	var st flagView
	h.as("GET", envPath("default", "staging")+"/flags/checkout", nil).want(200, &st)
	if st.Flag["name"] != "Checkout v2" || st.Flag["enabled"] != false {
		t.Fatalf("staging after the update: %+v", st.Flag)
	}

	// Without a version: 400 that says where to put it.
	delete(upd, "version")
	e := h.as("PUT", flagsPath+"/checkout", upd).fail(400, "invalid")
	if !e.problem("version", "If-Match") {
		t.Fatalf("update without a version: %+v", e)
	}

	// If-Match wins over the body: a stale body version with a current If-Match succeeds...
	upd["name"] = "by If-Match"
	upd["version"] = 1
	h.as("PUT", flagsPath+"/checkout", upd, "If-Match", `"2"`).want(200, &f)
	if f.Version != 3 || f.Flag["name"] != "by If-Match" {
		t.Fatalf("If-Match update: %+v", f)
	}
	// ... and a current body version with a stale If-Match is a conflict that names the current version.
	audits, revs := h.auditCount(), h.revisions("default")
	upd["name"] = "lost"
	upd["version"] = 3
	e = h.as("PUT", flagsPath+"/checkout", upd, "If-Match", "2").fail(409, "conflict")
	if !strings.Contains(e.Error.Message, "version 3") || !e.problem("version", "current version is 3") {
		t.Fatalf("stale If-Match: %+v", e)
	}
	h.as("GET", flagsPath+"/checkout", nil).want(200, &f)
	if f.Version != 3 || f.Flag["name"] != "by If-Match" {
		t.Fatalf("the stale update wrote something: %+v", f)
	}
	if h.auditCount() != audits || fmt.Sprint(h.revisions("default")) != fmt.Sprint(revs) {
		t.Fatal("the stale update left an audit row or bumped a revision")
	}
	h.as("PUT", flagsPath+"/checkout", upd, "If-Match", "two").fail(400, "invalid")

	// The key cannot change.
	bad := boolFlag("other")
	bad["version"] = 3
	if e := h.as("PUT", flagsPath+"/checkout", bad).fail(400, "invalid"); !e.problem("key", "cannot change") {
		t.Fatalf("key change: %+v", e)
	}

	h.as("GET", flagsPath+"/nope", nil).fail(404, "not_found")
	h.as("DELETE", flagsPath+"/checkout", nil).want(204, nil)
	h.as("GET", flagsPath+"/checkout", nil).fail(404, "not_found")
	h.as("GET", envPath("default", "staging")+"/flags/checkout", nil).fail(404, "not_found")
	h.as("DELETE", flagsPath+"/checkout", nil).fail(404, "not_found")
}

func TestKillSwitch(t *testing.T) {
	h := newHarness(t)
	h.createFlag(boolFlag("payments"))
	if ex := h.explain("production", "payments", map[string]any{"targetingKey": "u1"}); ex.Detail.Value != true {
		t.Fatalf("before the toggle: %+v", ex.Detail)
	}
	var f flagView
	r := h.as("POST", flagsPath+"/payments/toggle", map[string]any{"enabled": false}).want(200, &f)
	if f.Flag["enabled"] != false || f.Version != 2 || r.Header.Get("ETag") != `"2"` {
		t.Fatalf("toggled %+v", f)
	}
	ex := h.explain("production", "payments", map[string]any{"targetingKey": "u1"})
	if ex.Detail.Value != false || ex.Detail.Reason != "DISABLED" || len(ex.Steps) != 1 || ex.Steps[0].Kind != "disabled" {
		t.Fatalf("after the kill switch: %+v", ex)
	}
	// A version, when given, guards the toggle.
	h.as("POST", flagsPath+"/payments/toggle", map[string]any{"enabled": true, "version": 1}).fail(409, "conflict")
	h.as("POST", flagsPath+"/payments/toggle", map[string]any{"enabled": true}, "If-Match", "1").fail(409, "conflict")
	h.as("POST", flagsPath+"/payments/toggle", map[string]any{"enabled": true}, "If-Match", "2").want(200, &f)
	if f.Flag["enabled"] != true {
		t.Fatalf("toggled back: %+v", f)
	}
	if e := h.as("POST", flagsPath+"/payments/toggle", map[string]any{}).fail(400, "invalid"); !e.problem("enabled", "required") {
		t.Fatalf("toggle without enabled: %+v", e)
	}
	// Other environments are untouched.
	if ex := h.explain("staging", "payments", nil); ex.Detail.Reason != "DISABLED" {
		t.Fatalf("staging %+v", ex.Detail)
	}
	h.as("POST", flagsPath+"/nope/toggle", map[string]any{"enabled": true}).fail(404, "not_found")
}

func TestTargetingCopyAndExplain(t *testing.T) {
	h := newHarness(t)
	f := boolFlag("new-ui")
	f["fallthrough"] = map[string]any{"variation": "off"}
	h.as("POST", envPath("default", "staging")+"/flags", f).want(201, nil)

	targeting := map[string]any{
		"enabled": true, "offVariation": "off", "fallthrough": map[string]any{"variation": "off"},
		"targets": []any{map[string]any{"values": []any{"vip-1"}, "variation": "on"}},
		"rules": []any{
			map[string]any{"id": "staff", "clauses": []any{map[string]any{"attribute": "email", "op": "ends_with", "values": []any{"@example.com"}}}, "serve": map[string]any{"variation": "on"}},
			map[string]any{"id": "br-pro", "clauses": []any{
				map[string]any{"attribute": "country", "op": "in", "values": []any{"BR"}},
				map[string]any{"attribute": "plan", "op": "in", "values": []any{"pro"}}}, "serve": map[string]any{"variation": "on"}},
		},
	}
	staging := envPath("default", "staging") + "/flags/new-ui"
	// A version is required, and rules are validated with paths.
	h.as("PUT", staging+"/targeting", targeting).fail(400, "invalid")
	broken := map[string]any{"enabled": true, "offVariation": "off", "fallthrough": map[string]any{"variation": "nope"}, "version": 1}
	if e := h.as("PUT", staging+"/targeting", broken).fail(400, "invalid"); !e.problem("fallthrough.variation", "nope") {
		t.Fatalf("bad targeting: %+v", e)
	}
	targeting["version"] = 1
	var rec flagView
	h.as("PUT", staging+"/targeting", targeting).want(200, &rec)
	if rec.Version != 2 || len(rec.Flag["rules"].([]any)) != 2 {
		t.Fatalf("targeting %+v", rec)
	}
	h.as("PUT", staging+"/targeting", targeting).fail(409, "conflict")

	// Explain: which rule matched, and why the others did not.
	ex := h.explain("staging", "new-ui", map[string]any{"targetingKey": "u7", "email": "ana@gmail.com", "country": "BR", "plan": "pro"})
	if ex.Detail.Value != true || ex.Detail.Reason != "TARGETING_MATCH" || ex.Detail.RuleID != "br-pro" || ex.Revision < 2 {
		t.Fatalf("explain detail %+v", ex)
	}
	var kinds []string
	for _, s := range ex.Steps {
		kinds = append(kinds, fmt.Sprintf("%s:%s:%v", s.Kind, s.ID, s.Matched))
	}
	if want := []string{"target:target:targetingKey:false", "rule:staff:false", "rule:br-pro:true"}; !slices.Equal(kinds, want) {
		t.Fatalf("steps %v, want %v", kinds, want)
	}
	staff := ex.Steps[1]
	if len(staff.Clauses) != 1 || staff.Clauses[0].Matched || staff.Clauses[0].Actual != "ana@gmail.com" || !staff.Clauses[0].Present {
		t.Fatalf("the staff rule's clause trace: %+v", staff.Clauses)
	}
	ex = h.explain("staging", "new-ui", map[string]any{"targetingKey": "u8"})
	if ex.Detail.Reason != "DEFAULT" || ex.Steps[len(ex.Steps)-1].Kind != "fallthrough" {
		t.Fatalf("fallthrough explain %+v", ex)
	}
	if ex = h.explain("staging", "missing", nil); ex.Detail.ErrorCode != "FLAG_NOT_FOUND" {
		t.Fatalf("unknown flag: %+v", ex.Detail)
	}
	if e := h.as("POST", envPath("default", "staging")+"/explain", map[string]any{"context": map[string]any{}}).fail(400, "invalid"); !e.problem("flag", "required") {
		t.Fatalf("explain without a flag: %+v", e)
	}
	h.as("POST", envPath("default", "nope")+"/explain", map[string]any{"flag": "new-ui"}).fail(404, "not_found")

	// Copy staging's targeting to production (promotion); a stale destination version is a conflict.
	h.as("POST", staging+"/copy", map[string]any{"to": "production", "version": 7}).fail(409, "conflict")
	var prod flagView
	h.as("POST", staging+"/copy", map[string]any{"to": "production", "version": 1}).want(200, &prod)
	if prod.Environment != "production" || prod.Version != 2 || prod.Flag["enabled"] != true || len(prod.Flag["rules"].([]any)) != 2 {
		t.Fatalf("copied %+v", prod)
	}
	if ex := h.explain("production", "new-ui", map[string]any{"targetingKey": "vip-1"}); ex.Detail.RuleID != "target:targetingKey" {
		t.Fatalf("production after the copy: %+v", ex.Detail)
	}
	h.as("POST", staging+"/copy", map[string]any{}).fail(400, "invalid")
	h.as("POST", staging+"/copy", map[string]any{"to": "nowhere"}).fail(404, "not_found")
}

func TestArchiveRestore(t *testing.T) {
	h := newHarness(t)
	h.createFlag(boolFlag("old"))
	h.createFlag(boolFlag("keep"))
	var f flagView
	h.as("POST", flagsPath+"/old/archive", nil).want(200, &f)
	if !f.Archived {
		t.Fatalf("archived %+v", f)
	}
	if ex := h.explain("production", "old", nil); ex.Detail.ErrorCode != "FLAG_NOT_FOUND" {
		t.Fatalf("an archived flag still evaluates: %+v", ex.Detail)
	}
	var list struct{ Flags []flagView }
	h.as("GET", flagsPath, nil).want(200, &list)
	if len(list.Flags) != 1 || list.Flags[0].Flag["key"] != "keep" {
		t.Fatalf("live list %+v", list)
	}
	h.as("GET", flagsPath+"?archived=true", nil).want(200, &list)
	if len(list.Flags) != 1 || list.Flags[0].Flag["key"] != "old" {
		t.Fatalf("archived list %+v", list)
	}
	// Archived everywhere, exported nowhere.
	exp := h.as("GET", envPath("default", "staging")+"/export", nil).want(200, nil)
	if strings.Contains(string(exp.Body), "key: old") {
		t.Fatalf("export holds the archived flag:\n%s", exp.Body)
	}
	h.as("POST", flagsPath+"/old/restore", nil).want(200, &f)
	if f.Archived {
		t.Fatalf("restored %+v", f)
	}
	if ex := h.explain("production", "old", nil); ex.Detail.Value != true {
		t.Fatalf("restored flag: %+v", ex.Detail)
	}
	h.as("POST", flagsPath+"/nope/archive", nil).fail(404, "not_found")
}

func TestFlagFilters(t *testing.T) {
	h := newHarness(t)
	// Flags written 60 days ago: temporary flags that serve one variation are stale by now.
	h.travel(-60 * 24 * time.Hour)
	old := boolFlag("old-release")
	old["tags"] = []any{"checkout"}
	h.createFlag(old)
	ops := boolFlag("ops-switch")
	ops["kind"] = "operational"
	ops["description"] = "Turns the Payments provider off"
	h.createFlag(ops)
	h.travel(60 * 24 * time.Hour)
	exp := boolFlag("expired-exp")
	exp["kind"] = "experiment"
	exp["expiresAt"] = time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	exp["enabled"] = false
	exp["tags"] = []any{"checkout", "growth"}
	h.createFlag(exp)
	split := boolFlag("fresh-split")
	split["fallthrough"] = map[string]any{"split": map[string]any{"weights": []any{
		map[string]any{"variation": "on", "weight": 50}, map[string]any{"variation": "off", "weight": 50}}}}
	h.createFlag(split)

	keys := func(query string) []string {
		t.Helper()
		var list struct{ Flags []flagView }
		h.as("GET", flagsPath+query, nil).want(200, &list)
		var out []string
		for _, f := range list.Flags {
			out = append(out, f.Flag["key"].(string))
		}
		return out
	}
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"", []string{"expired-exp", "fresh-split", "old-release", "ops-switch"}},
		{"?tag=checkout", []string{"expired-exp", "old-release"}},
		{"?tag=growth", []string{"expired-exp"}},
		{"?kind=operational", []string{"ops-switch"}},
		{"?kind=experiment", []string{"expired-exp"}},
		{"?status=stale", []string{"old-release"}},
		{"?status=expired", []string{"expired-exp"}},
		{"?status=active", []string{"fresh-split", "ops-switch"}},
		{"?enabled=false", []string{"expired-exp"}},
		{"?enabled=true&tag=checkout", []string{"old-release"}},
		{"?q=PAYMENTS", []string{"ops-switch"}},
		{"?q=split", []string{"fresh-split"}},
		{"?q=nothing-like-it", nil},
	} {
		if got := keys(c.query); !slices.Equal(got, c.want) {
			t.Errorf("GET flags%s = %v, want %v", c.query, got, c.want)
		}
	}
	var list struct{ Flags []flagView }
	h.as("GET", flagsPath+"?status=stale", nil).want(200, &list)
	if list.Flags[0].Status != "stale" {
		t.Errorf("status field %q", list.Flags[0].Status)
	}
	if e := h.as("GET", flagsPath+"?enabled=maybe", nil).fail(400, "invalid"); !e.problem("enabled", "maybe") {
		t.Fatalf("bad enabled: %+v", e)
	}
	h.as("GET", envPath("default", "nope")+"/flags", nil).fail(404, "not_found")
}

func TestSegments(t *testing.T) {
	h := newHarness(t)
	segs := envPath("default", "production") + "/segments"
	seg := map[string]any{"key": "beta", "included": []any{"u1", "u2"},
		"rules": []any{map[string]any{"clauses": []any{map[string]any{"attribute": "plan", "op": "in", "values": []any{"pro"}}}}}}
	var rec struct {
		Segment map[string]any
		Version int64
	}
	r := h.as("POST", segs, seg).want(201, &rec)
	if rec.Version != 1 || r.Header.Get("ETag") != `"1"` || rec.Segment["attribute"] != "targetingKey" {
		t.Fatalf("created segment %+v", rec)
	}
	h.as("POST", segs, seg).fail(409, "conflict")
	if e := h.as("POST", segs, map[string]any{"key": "x", "rules": []any{map[string]any{"clauses": []any{map[string]any{"attribute": "a", "op": "nope", "values": []any{1}}}}}}).fail(400, "invalid"); !e.problem("rules[0].clauses[0].op", "nope") {
		t.Fatalf("invalid segment: %+v", e)
	}

	// A flag that uses it.
	f := boolFlag("beta-ui")
	f["rules"] = []any{map[string]any{"clauses": []any{map[string]any{"op": "in_segment", "values": []any{"beta"}}}, "serve": map[string]any{"variation": "on"}}}
	f["fallthrough"] = map[string]any{"variation": "off"}
	// Segments live per environment and the flag is created in all of them: the error names the one that lacks it.
	if e := h.as("POST", flagsPath, f).fail(400, "invalid"); !e.problem("environments.development.flags.beta-ui.rules[0].clauses[0].values[0]", `unknown segment "beta"`) {
		t.Fatalf("flag using a segment missing elsewhere: %+v", e)
	}
	delete(seg, "version")
	for _, env := range []string{"development", "staging"} {
		h.as("POST", envPath("default", env)+"/segments", seg).want(201, nil)
	}
	h.createFlag(f)
	if ex := h.explain("production", "beta-ui", map[string]any{"targetingKey": "u2"}); ex.Detail.Value != true {
		t.Fatalf("segment member: %+v", ex.Detail)
	}

	seg["included"] = []any{"u1"}
	h.as("PUT", segs+"/beta", seg).fail(400, "invalid") // no version
	seg["version"] = 1
	h.as("PUT", segs+"/beta", seg).want(200, &rec)
	if rec.Version != 2 {
		t.Fatalf("updated %+v", rec)
	}
	h.as("PUT", segs+"/beta", seg).fail(409, "conflict")
	seg["key"] = "other"
	h.as("PUT", segs+"/beta", seg, "If-Match", "2").fail(400, "invalid")
	if ex := h.explain("production", "beta-ui", map[string]any{"targetingKey": "u2"}); ex.Detail.Value != false {
		t.Fatalf("u2 left the segment: %+v", ex.Detail)
	}

	var list struct{ Segments []map[string]any }
	h.as("GET", segs, nil).want(200, &list)
	if len(list.Segments) != 1 {
		t.Fatalf("segments %+v", list)
	}
	h.as("GET", segs+"/beta", nil).want(200, &rec)
	h.as("GET", segs+"/nope", nil).fail(404, "not_found")

	// Still used by a flag: the delete is rejected whole.
	if e := h.as("DELETE", segs+"/beta", nil).fail(400, "invalid"); !e.problem("environments.production.flags.beta-ui.rules[0].clauses[0].values[0]", `unknown segment "beta"`) {
		t.Fatalf("deleting a used segment: %+v", e)
	}
	h.as("DELETE", flagsPath+"/beta-ui", nil).want(204, nil)
	h.as("DELETE", segs+"/beta", nil, "If-Match", "1").fail(409, "conflict")
	h.as("DELETE", segs+"/beta", nil, "If-Match", "2").want(204, nil)
	h.as("GET", segs+"/beta", nil).fail(404, "not_found")
}

// TestCopyHonoursIfMatch: like every other edit, a copy takes the destination's version from If-Match as well
// as from the body (the header wins).
func TestCopyHonoursIfMatch(t *testing.T) {
	h := newHarness(t)
	h.createFlag(boolFlag("promo"))
	from := envPath("default", "production") + "/flags/promo/copy"
	h.as("POST", from, map[string]any{"to": "staging"}, "If-Match", `"9"`).fail(409, "conflict")
	var f flagView
	h.as("GET", envPath("default", "staging")+"/flags/promo", nil).want(200, &f)
	if f.Version != 1 || f.Flag["enabled"] != false {
		t.Fatalf("a copy with a stale If-Match wrote %+v", f)
	}
	h.as("POST", from, map[string]any{"to": "staging", "version": 9}, "If-Match", `"1"`).want(200, &f)
	if f.Version != 2 || f.Flag["enabled"] != true {
		t.Fatalf("copied %+v", f)
	}
}

// TestListFiltersRejectUnknownValues: a misspelt filter is a 400 naming it, not an empty list that reads as
// "no such flags".
func TestListFiltersRejectUnknownValues(t *testing.T) {
	h := newHarness(t)
	h.createFlag(boolFlag("f"))
	if e := h.as("GET", flagsPath+"?status=stael", nil).fail(400, "invalid"); !e.problem("status", "active, stale or expired") {
		t.Fatalf("unknown status: %+v", e)
	}
	if e := h.as("GET", flagsPath+"?kind=releases", nil).fail(400, "invalid"); !e.problem("kind", "release, experiment, operational or permission") {
		t.Fatalf("unknown kind: %+v", e)
	}
	if e := h.as("GET", "/api/v1/audit?resource=flags", nil).fail(400, "invalid"); !e.problem("resource", "project, environment, flag, segment or key") {
		t.Fatalf("unknown resource: %+v", e)
	}
}

// TestTargetingExpression: a flagd targeting expression goes through the targeting endpoint and evaluates.
func TestTargetingExpression(t *testing.T) {
	h := newHarness(t)
	h.createFlag(boolFlag("fd"))
	expr := map[string]any{"if": []any{map[string]any{"==": []any{map[string]any{"var": "country"}, "BR"}}, "on", "off"}}
	var f flagView
	h.as("PUT", flagsPath+"/fd/targeting", map[string]any{"version": 1, "enabled": true, "offVariation": "off",
		"fallthrough": map[string]any{"variation": "off"}, "targeting": expr}).want(200, &f)
	if f.Flag["targeting"] == nil {
		t.Fatalf("the expression was not stored: %+v", f.Flag)
	}
	if ex := h.explain("production", "fd", map[string]any{"targetingKey": "u", "country": "BR"}); ex.Detail.Value != true || ex.Detail.Reason != "TARGETING_MATCH" {
		t.Fatalf("BR: %+v", ex.Detail)
	}
	if ex := h.explain("production", "fd", map[string]any{"targetingKey": "u", "country": "PT"}); ex.Detail.Value != false {
		t.Fatalf("PT: %+v", ex.Detail)
	}
	// An expression and rules together are refused.
	e := h.as("PUT", flagsPath+"/fd/targeting", map[string]any{"version": 2, "enabled": true, "offVariation": "off",
		"fallthrough": map[string]any{"variation": "off"}, "targeting": expr,
		"rules": []any{map[string]any{"clauses": []any{map[string]any{"attribute": "a", "op": "exists"}}, "serve": map[string]any{"variation": "on"}}}}).fail(400, "invalid")
	if len(e.Error.Problems) == 0 {
		t.Fatalf("expression with rules: %+v", e)
	}
}
