package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ramphq/ramp/flag"
	"github.com/ramphq/ramp/internal/control"
	"github.com/ramphq/ramp/internal/store"
)

type auditEntry struct {
	ID          int64           `json:"id"`
	At          time.Time       `json:"at"`
	Actor       string          `json:"actor"`
	Action      string          `json:"action"`
	Environment string          `json:"environment"`
	Resource    string          `json:"resource"`
	Key         string          `json:"key"`
	Version     int64           `json:"version"`
	Before      json.RawMessage `json:"before"`
	After       json.RawMessage `json:"after"`
}

func TestAuditLog(t *testing.T) {
	h := newHarness(t)
	h.createFlag(boolFlag("a"))
	h.travel(time.Hour)
	mark := h.now().UTC()
	h.travel(time.Minute)
	h.as("POST", flagsPath+"/a/toggle", map[string]any{"enabled": false}).want(200, nil)
	h.createFlag(boolFlag("b"))

	entries := func(query string) []auditEntry {
		t.Helper()
		var out struct{ Entries []auditEntry }
		h.as("GET", "/api/v1/audit"+query, nil).want(200, &out)
		return out.Entries
	}
	// One flag's history, newest first, with who, when, what and the before/after diff.
	es := entries("?resource=flag&key=a&environment=production")
	if len(es) != 2 || es[0].Action != "flag.disable" || es[1].Action != "flag.create" {
		t.Fatalf("history of a: %+v", es)
	}
	toggle, create := es[0], es[1]
	if !strings.HasPrefix(toggle.Actor, "key:ramp_adm_") || toggle.Version != 2 || toggle.ID <= create.ID || !toggle.At.After(create.At) {
		t.Fatalf("toggle entry %+v", toggle)
	}
	var before, after map[string]any
	if json.Unmarshal(toggle.Before, &before) != nil || json.Unmarshal(toggle.After, &after) != nil || before["enabled"] != true || after["enabled"] != false {
		t.Fatalf("toggle diff: before %s after %s", toggle.Before, toggle.After)
	}
	if len(create.Before) != 0 && string(create.Before) != "null" {
		t.Fatalf("a create has a before: %s", create.Before)
	}
	// Time filters.
	since := url.QueryEscape(mark.Format(time.RFC3339))
	for _, e := range entries("?since=" + since) {
		if e.At.Before(mark) {
			t.Fatalf("since %v returned %+v", mark, e)
		}
	}
	if got := entries("?resource=flag&key=a&since=" + since); len(got) != 1 || got[0].Action != "flag.disable" {
		t.Fatalf("a since the mark: %+v", got)
	}
	if got := entries("?resource=flag&key=a&until=" + since); len(got) != 3 { // created in three environments
		t.Fatalf("a until the mark: %+v", got)
	}
	// Paging backwards.
	all := entries("?limit=1000")
	page := entries(fmt.Sprintf("?limit=2&before=%d", all[0].ID))
	if len(page) != 2 || page[0].ID != all[1].ID {
		t.Fatalf("page %+v", page)
	}
	if got := entries("?resource=project"); len(got) != 1 || got[0].Actor != "system:bootstrap" {
		t.Fatalf("project entries %+v", got)
	}
}

const importYAML = `flags:
  - key: dark-mode
    type: boolean
    enabled: true
    tags: [ui]
    variations: [{key: on, value: true}, {key: off, value: false}]
    offVariation: off
    rules:
      - id: beta
        clauses: [{op: in_segment, values: [beta-users]}]
        serve: {variation: on}
    fallthrough: {variation: off}
  - key: page-size
    type: number
    enabled: true
    variations: [{key: small, value: 10}, {key: large, value: 50}]
    offVariation: small
    fallthrough:
      split:
        weights: [{variation: small, weight: 50}, {variation: large, weight: 50}]
segments:
  - key: beta-users
    included: [u1, u2]
`

func TestImportExportRoundTrip(t *testing.T) {
	h := newHarness(t)
	prod := envPath("default", "production")
	if exp := h.as("GET", prod+"/export", nil).want(200, nil); string(exp.Body) != "flags: []\n" {
		t.Fatalf("export of an empty environment: %q", exp.Body)
	}
	var res struct{ Created, Updated, Segments []string }
	h.as("POST", prod+"/import", importYAML, "Content-Type", "application/yaml").want(200, &res)
	if !slices.Equal(res.Created, []string{"dark-mode", "page-size"}) || len(res.Updated) != 0 || !slices.Equal(res.Segments, []string{"beta-users"}) {
		t.Fatalf("import result %+v", res)
	}
	if ex := h.explain("production", "dark-mode", map[string]any{"targetingKey": "u2"}); ex.Detail.RuleID != "beta" {
		t.Fatalf("imported flag: %+v", ex.Detail)
	}
	// Importing again updates.
	h.as("POST", prod+"/import", importYAML).want(200, &res)
	if len(res.Created) != 0 || !slices.Equal(res.Updated, []string{"dark-mode", "page-size"}) {
		t.Fatalf("re-import %+v", res)
	}

	// Export (YAML by default) → import into a fresh project → the same export.
	exp := h.as("GET", prod+"/export", nil).want(200, nil)
	if ct := exp.Header.Get("Content-Type"); ct != "application/yaml" {
		t.Fatalf("export content type %q", ct)
	}
	h.as("POST", "/api/v1/projects", map[string]any{"key": "copy"}).want(201, nil)
	h.as("POST", envPath("copy", "production")+"/import?format=ramp", exp.Body).want(200, nil)
	again := h.as("GET", envPath("copy", "production")+"/export", nil).want(200, nil)
	if normalizeTimes(string(again.Body)) != normalizeTimes(string(exp.Body)) {
		t.Fatalf("round trip changed the export:\n%s\n---\n%s", exp.Body, again.Body)
	}
	js := h.as("GET", prod+"/export?format=ramp-json", nil).want(200, nil)
	set, err := flag.Decode(js.Body)
	if err != nil || len(set.Flags) != 2 || len(set.Segments) != 1 {
		t.Fatalf("JSON export %v: %s", err, js.Body)
	}

	// flagd: export, detect on import, same evaluation.
	fd := h.as("GET", prod+"/export?format=flagd", nil).want(200, nil)
	var doc struct{ Flags map[string]any }
	if err := json.Unmarshal(fd.Body, &doc); err != nil || len(doc.Flags) != 2 {
		t.Fatalf("flagd export %v: %s", err, fd.Body)
	}
	h.as("POST", "/api/v1/projects", map[string]any{"key": "fd"}).want(201, nil)
	h.as("POST", envPath("fd", "production")+"/import", fd.Body).want(200, &res)
	if !slices.Equal(res.Created, []string{"dark-mode", "page-size"}) {
		t.Fatalf("flagd import %+v", res)
	}
	var ex explainResult
	h.as("POST", envPath("fd", "production")+"/explain", map[string]any{"flag": "dark-mode", "context": map[string]any{"targetingKey": "u1"}}).want(200, &ex)
	if ex.Detail.Value != true {
		t.Fatalf("flagd-imported flag for u1: %+v", ex.Detail)
	}
	h.as("POST", envPath("fd", "production")+"/import?format=flagd", `{"flags": {"x": {"state": "ON", "variants": {"a": 1}, "defaultVariant": "b"}}}`).fail(400, "invalid")

	// What flagd cannot express is the request's problem (400), named by flag.
	pre := boolFlag("needs-dark-mode")
	pre["prerequisites"] = []any{map[string]any{"flag": "dark-mode", "variation": "on"}}
	h.createFlag(pre)
	if e := h.as("GET", prod+"/export?format=flagd", nil).fail(400, "invalid"); !e.problem("format", `flag "needs-dark-mode": prerequisites[0]`) {
		t.Fatalf("flagd export of a prerequisite: %+v", e)
	}

	// Invalid files write nothing and name the path.
	audits := h.auditCount()
	bad := strings.Replace(importYAML, "op: in_segment", "op: in_segmentt", 1)
	if e := h.as("POST", prod+"/import", bad).fail(400, "invalid"); !e.problem("flags[0].rules[0].clauses[0].op", "in_segmentt") {
		t.Fatalf("bad import: %+v", e)
	}
	if e := h.as("POST", prod+"/import?format=csv", importYAML).fail(400, "invalid"); !e.problem("format", "csv") {
		t.Fatalf("bad format: %+v", e)
	}
	h.as("GET", prod+"/export?format=csv", nil).fail(400, "invalid")
	if h.auditCount() != audits {
		t.Fatal("a rejected import wrote audit rows")
	}
}

// normalizeTimes blanks createdAt/updatedAt lines, which differ between two imports.
func normalizeTimes(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if t := strings.TrimSpace(l); strings.HasPrefix(t, "createdAt:") || strings.HasPrefix(t, "updatedAt:") {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

func TestEntityLimits(t *testing.T) {
	h := newHarness(t, withLimits(control.Limits{FlagsPerProject: 3, RulesPerFlag: 2, ClausesPerRule: 2, ValuesPerClause: 3, TargetIDsPerFlag: 3, SegmentIDs: 3, FlagBytes: 4096}))
	clause := func(values int) map[string]any {
		vs := make([]any, values)
		for i := range vs {
			vs[i] = fmt.Sprintf("v%d", i)
		}
		return map[string]any{"attribute": "country", "op": "in", "values": vs}
	}
	rule := func(clauses, values int) map[string]any {
		cs := make([]any, clauses)
		for i := range cs {
			cs[i] = clause(values)
		}
		return map[string]any{"clauses": cs, "serve": map[string]any{"variation": "on"}}
	}
	withRules := func(key string, n, clauses, values int) map[string]any {
		f := boolFlag(key)
		rs := make([]any, n)
		for i := range rs {
			rs[i] = rule(clauses, values)
		}
		f["rules"] = rs
		return f
	}
	for _, c := range []struct {
		name   string
		atMax  map[string]any
		over   map[string]any
		path   string
		phrase string
	}{
		{"rules per flag", withRules("r", 2, 1, 1), withRules("r", 3, 1, 1), "rules", "3 rules, more than the limit of 2"},
		{"clauses per rule", withRules("c", 1, 2, 1), withRules("c", 1, 3, 1), "rules[0].clauses", "3 clauses"},
		{"values per clause", withRules("v", 1, 1, 3), withRules("v", 1, 1, 4), "rules[0].clauses[0].values", "4 values"},
		{"target ids", func() map[string]any {
			f := boolFlag("t")
			f["targets"] = []any{map[string]any{"values": []any{"a", "b"}, "variation": "on"}, map[string]any{"values": []any{"c"}, "variation": "off"}}
			return f
		}(), func() map[string]any {
			f := boolFlag("t")
			f["targets"] = []any{map[string]any{"values": []any{"a", "b"}, "variation": "on"}, map[string]any{"values": []any{"c", "d"}, "variation": "off"}}
			return f
		}(), "targets", "4 target ids"},
		{"flag size", func() map[string]any {
			f := boolFlag("s")
			f["description"] = strings.Repeat("x", 3000)
			return f
		}(), func() map[string]any {
			f := boolFlag("s")
			f["description"] = strings.Repeat("x", 4096)
			return f
		}(), "", "more than the limit of 4096"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h.t = t
			defer func() { h.t = nil }()
			e := h.as("POST", flagsPath, c.over).fail(400, "invalid")
			if !e.problem(c.path, c.phrase) {
				t.Fatalf("limit+1: %+v", e)
			}
			h.as("POST", flagsPath, c.atMax).want(201, nil)
			h.as("DELETE", flagsPath+"/"+c.atMax["key"].(string), nil).want(204, nil)
		})
	}
	h.t = t
	// Targeting updates are held to the same limits.
	h.createFlag(boolFlag("tgt"))
	over := map[string]any{"enabled": true, "offVariation": "off", "fallthrough": map[string]any{"variation": "on"}, "rules": []any{rule(1, 1), rule(1, 1), rule(1, 1)}, "version": 1}
	if e := h.as("PUT", flagsPath+"/tgt/targeting", over).fail(400, "invalid"); !e.problem("rules", "limit of 2") {
		t.Fatalf("targeting over the limit: %+v", e)
	}
	// Segment ids.
	segs := envPath("default", "production") + "/segments"
	if e := h.as("POST", segs, map[string]any{"key": "s", "included": []any{"a", "b"}, "excluded": []any{"c", "d"}}).fail(400, "invalid"); !e.problem("included", "4 ids") {
		t.Fatalf("segment over the limit: %+v", e)
	}
	h.as("POST", segs, map[string]any{"key": "s", "included": []any{"a", "b"}, "excluded": []any{"c"}}).want(201, nil)
	// Flags per project: tgt is one; two more reach the limit, a fourth is refused, by create and by import.
	h.createFlag(boolFlag("f2"))
	h.createFlag(boolFlag("f3"))
	if e := h.as("POST", flagsPath, boolFlag("f4")).fail(400, "invalid"); !e.problem("flags", "limit") {
		t.Fatalf("flags per project: %+v", e)
	}
	imp := "flags:\n  - {key: f4, type: boolean, variations: [{key: on, value: true}], offVariation: on, fallthrough: {variation: on}}\n"
	if e := h.as("POST", envPath("default", "production")+"/import", imp).fail(400, "invalid"); !e.problem("flags", "limit of 3") {
		t.Fatalf("import past flags per project: %+v", e)
	}
	h.as("GET", flagsPath+"/f4", nil).fail(404, "not_found")
}

// TestDefaultRulesLimit uses the documented default: 200 rules per flag pass, 201 do not.
func TestDefaultRulesLimit(t *testing.T) {
	h := newHarness(t)
	if control.DefaultLimits.RulesPerFlag != 200 {
		t.Fatalf("DefaultLimits.RulesPerFlag = %d; docs/api.md says 200", control.DefaultLimits.RulesPerFlag)
	}
	mk := func(n int) map[string]any {
		f := boolFlag("many-rules")
		rs := make([]any, n)
		for i := range rs {
			rs[i] = map[string]any{"clauses": []any{map[string]any{"attribute": "n", "op": "in", "values": []any{float64(i)}}}, "serve": map[string]any{"variation": "on"}}
		}
		f["rules"] = rs
		return f
	}
	if e := h.as("POST", flagsPath, mk(201)).fail(400, "invalid"); !e.problem("rules", "201 rules, more than the limit of 200") {
		t.Fatalf("201 rules: %+v", e)
	}
	var f flagView
	h.as("POST", flagsPath, mk(200)).want(201, &f)
	if len(f.Flag["rules"].([]any)) != 200 {
		t.Fatalf("200 rules stored as %d", len(f.Flag["rules"].([]any)))
	}
	if ex := h.explain("production", "many-rules", map[string]any{"n": 199}); ex.Detail.RuleID != "rule-200" {
		t.Fatalf("the 200th rule: %+v", ex.Detail)
	}
}

// failingStore is the real store with one failure injected: the failOn-th PutFlag of a transaction fails.
type failingStore struct {
	store.Store
	failOn int
	armed  atomic.Bool
}

func (s *failingStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.Update(ctx, func(tx store.Tx) error {
		if s.armed.Load() {
			tx = &failingTx{Tx: tx, failOn: s.failOn}
		}
		return fn(tx)
	})
}

type failingTx struct {
	store.Tx
	failOn, puts int
}

func (tx *failingTx) PutFlag(rec *store.FlagRecord, ifVersion int64) error {
	tx.puts++
	if tx.puts == tx.failOn {
		return fmt.Errorf("injected failure on PutFlag %d (%s/%s)", tx.puts, rec.Environment, rec.Flag.Key)
	}
	return tx.Tx.PutFlag(rec, ifVersion)
}

// TestInjectedFailureLeavesNothing: a write that fails half-way (the third environment of a create, the second
// of a definition change) leaves no flag, no audit row and no revision bump behind, and the server answers 500
// with no detail.
func TestInjectedFailureLeavesNothing(t *testing.T) {
	var fs *failingStore
	h := newHarness(t, withStore(func(s store.Store) store.Store {
		fs = &failingStore{Store: s, failOn: 3}
		return fs
	}))
	h.createFlag(boolFlag("existing"))
	audits, revs := h.auditCount(), h.revisions("default")
	before := h.as("GET", envPath("default", "production")+"/export", nil).want(200, nil).Body

	fs.armed.Store(true)
	e := h.as("POST", flagsPath, boolFlag("half")).fail(500, "internal")
	if e.Error.Message != "internal error" || len(e.Error.Problems) != 0 {
		t.Fatalf("the 500 leaks detail: %+v", e)
	}
	// A definition change propagates to three environments: fail on the second write.
	fs.failOn = 2
	upd := boolFlag("existing")
	upd["name"] = "renamed"
	upd["version"] = 1
	h.as("PUT", flagsPath+"/existing", upd).fail(500, "internal")
	fs.armed.Store(false)

	for _, env := range []string{"development", "staging", "production"} {
		h.as("GET", envPath("default", env)+"/flags/half", nil).fail(404, "not_found")
		var f flagView
		h.as("GET", envPath("default", env)+"/flags/existing", nil).want(200, &f)
		if f.Version != 1 || f.Flag["name"] != nil {
			t.Fatalf("%s: the failed update left %+v", env, f)
		}
	}
	if got := h.auditCount(); got != audits {
		t.Fatalf("audit rows: %d, want %d", got, audits)
	}
	if got := h.revisions("default"); fmt.Sprint(got) != fmt.Sprint(revs) {
		t.Fatalf("revisions %v, want %v", got, revs)
	}
	if ex := h.explain("production", "half", nil); ex.Detail.ErrorCode != "FLAG_NOT_FOUND" {
		t.Fatalf("the snapshot serves a flag that was never committed: %+v", ex.Detail)
	}
	after := h.as("GET", envPath("default", "production")+"/export", nil).want(200, nil).Body
	if string(after) != string(before) {
		t.Fatalf("export changed:\n%s\n---\n%s", before, after)
	}
	// The same writes succeed once the failure is gone.
	h.createFlag(boolFlag("half"))
	h.as("PUT", flagsPath+"/existing", upd).want(200, nil)
}

// TestAuditLimitClamps: a limit above the maximum gets the maximum (1000), not the default (100).
func TestAuditLimitClamps(t *testing.T) {
	h := newHarness(t)
	for i := range 40 {
		h.createFlag(boolFlag(fmt.Sprintf("f%02d", i))) // three audit rows each
	}
	var out struct{ Entries []auditEntry }
	h.as("GET", "/api/v1/audit?limit=5000", nil).want(200, &out)
	if len(out.Entries) != h.auditCount() || len(out.Entries) <= 100 {
		t.Fatalf("limit=5000 returned %d of %d entries", len(out.Entries), h.auditCount())
	}
	h.as("GET", "/api/v1/audit", nil).want(200, &out)
	if len(out.Entries) != 100 {
		t.Fatalf("the default page has %d entries, want 100", len(out.Entries))
	}
}

// TestConcurrentEditsOneWins: editors racing on the same version: exactly one update lands, every other gets a
// 409, and the audit log holds exactly one update.
func TestConcurrentEditsOneWins(t *testing.T) {
	h := newHarness(t)
	h.createFlag(boolFlag("race"))
	const n = 8
	codes := make(chan int, n)
	for i := range n {
		go func() {
			f := boolFlag("race")
			f["name"] = fmt.Sprintf("editor %d", i)
			req, _ := json.Marshal(f)
			r, err := h.ts.Client().Do(mustRequest(t, "PUT", h.ts.URL+flagsPath+"/race", req, "If-Match", `"1"`, "Authorization", "Bearer "+h.admin))
			if err != nil {
				codes <- 0
				return
			}
			r.Body.Close()
			codes <- r.StatusCode
		}()
	}
	got := map[int]int{}
	for range n {
		got[<-codes]++
	}
	if got[200] != 1 || got[409] != n-1 {
		t.Fatalf("statuses %v: want one 200 and %d 409s", got, n-1)
	}
	var es struct{ Entries []auditEntry }
	h.as("GET", "/api/v1/audit?resource=flag&key=race&environment=production", nil).want(200, &es)
	if len(es.Entries) != 2 || es.Entries[0].Action != "flag.update" {
		t.Fatalf("audit %+v", es.Entries)
	}
}

func mustRequest(t *testing.T, method, url string, body []byte, headers ...string) *http.Request {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Error(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return req
}
