package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestUnauthorized(t *testing.T) {
	h := newHarness(t)
	check := func(name string, r *response) {
		t.Helper()
		e := r.fail(401, "unauthorized")
		if r.Header.Get("WWW-Authenticate") != `Bearer realm="ramp"` {
			t.Errorf("%s: WWW-Authenticate %q", name, r.Header.Get("WWW-Authenticate"))
		}
		_ = e
	}
	check("no key", h.do("GET", "/api/v1/projects", "", nil))
	check("unknown key", h.do("GET", "/api/v1/projects", "ramp_adm_not-a-real-key", nil))
	check("not Bearer", h.do("GET", "/api/v1/projects", "", nil, "Authorization", "Basic "+adminToken))
	// X-API-Key works as well as Bearer.
	h.do("GET", "/api/v1/projects", "", nil, "X-API-Key", adminToken).want(200, nil)

	viewer := h.key(map[string]any{"kind": "admin", "role": "viewer", "name": "ci"})
	h.do("GET", "/api/v1/projects", viewer, nil).want(200, nil)
	var keys struct {
		Keys []struct {
			ID, Name, Secret string
		}
	}
	h.as("GET", "/api/v1/keys", nil).want(200, &keys)
	id := ""
	for _, k := range keys.Keys {
		if k.Secret != "" {
			t.Fatalf("a key list shows a secret: %+v", k)
		}
		if k.Name == "ci" {
			id = k.ID
		}
	}
	h.as("POST", "/api/v1/keys/"+id+"/revoke", nil).want(200, nil)
	r := h.do("GET", "/api/v1/projects", viewer, nil)
	check("revoked key", r)
	if e := r.fail(401, "unauthorized"); !strings.Contains(e.Error.Message, "revoked") {
		t.Errorf("revoked key message %q", e.Error.Message)
	}
	h.as("POST", "/api/v1/keys/nope/revoke", nil).fail(404, "not_found")
}

func TestForbidden(t *testing.T) {
	h := newHarness(t)
	h.as("POST", "/api/v1/projects", map[string]any{"key": "shop"}).want(201, nil)
	h.createFlag(boolFlag("f"))
	viewer := h.key(map[string]any{"kind": "admin", "role": "viewer"})
	editor := h.key(map[string]any{"kind": "admin", "role": "editor", "project": "shop"})
	scopedAdmin := h.key(map[string]any{"kind": "admin", "role": "admin", "project": "shop"})
	server := h.key(map[string]any{"kind": "server", "project": "default", "environment": "production"})
	client := h.key(map[string]any{"kind": "client", "project": "default", "environment": "production"})

	for _, c := range []struct {
		name, token, method, path string
		body                      any
	}{
		{"viewer creates a flag", viewer, "POST", flagsPath, boolFlag("g")},
		{"viewer toggles", viewer, "POST", flagsPath + "/f/toggle", map[string]any{"enabled": false}},
		{"viewer deletes", viewer, "DELETE", flagsPath + "/f", nil},
		{"viewer creates a key", viewer, "POST", "/api/v1/keys", map[string]any{"kind": "admin", "role": "admin"}},
		{"editor scoped to shop reads default", editor, "GET", flagsPath, nil},
		{"editor scoped to shop writes default", editor, "POST", flagsPath, boolFlag("g")},
		{"editor creates a key", editor, "POST", "/api/v1/keys", map[string]any{"kind": "server", "project": "shop", "environment": "production"}},
		{"editor creates an environment", editor, "POST", "/api/v1/projects/shop/environments", map[string]any{"key": "qa"}},
		{"scoped admin creates a project", scopedAdmin, "POST", "/api/v1/projects", map[string]any{"key": "x"}},
		{"scoped admin deletes its project", scopedAdmin, "DELETE", "/api/v1/projects/shop", nil},
		{"scoped admin creates an unscoped key", scopedAdmin, "POST", "/api/v1/keys", map[string]any{"kind": "admin", "role": "viewer"}},
		{"scoped admin lists default's keys", scopedAdmin, "GET", "/api/v1/keys?project=default", nil},
		{"server key lists flags", server, "GET", flagsPath, nil},
		{"server key reads a flag", server, "GET", flagsPath + "/f", nil},
		{"client key lists flags", client, "GET", flagsPath, nil},
		{"client key explains", client, "POST", envPath("default", "production") + "/explain", map[string]any{"flag": "f"}},
		{"server key reads the audit log", server, "GET", "/api/v1/audit", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			h.t = t
			h.do(c.method, c.path, c.token, c.body).fail(403, "forbidden")
		})
	}
	h.t = t
	// What they may do.
	h.do("GET", flagsPath, viewer, nil).want(200, nil)
	h.do("POST", envPath("shop", "production")+"/flags", editor, boolFlag("g")).want(201, nil)
	h.do("POST", "/api/v1/keys", scopedAdmin, map[string]any{"kind": "server", "project": "shop", "environment": "production"}).want(201, nil)
	var ps struct{ Projects []struct{ Key string } }
	h.do("GET", "/api/v1/projects", editor, nil).want(200, &ps)
	if len(ps.Projects) != 1 || ps.Projects[0].Key != "shop" {
		t.Fatalf("a scoped token sees %+v", ps)
	}
	var audit struct{ Entries []struct{ Project string } }
	h.do("GET", "/api/v1/audit", editor, nil).want(200, &audit)
	for _, e := range audit.Entries {
		if e.Project != "shop" {
			t.Fatalf("a token scoped to shop reads audit entries of %q", e.Project)
		}
	}
}

func TestBadRequests(t *testing.T) {
	h := newHarness(t)
	h.createFlag(boolFlag("f"))
	audits := h.auditCount()

	// Strict decoding: an unknown field is named.
	f := boolFlag("g")
	f["colour"] = "red"
	if e := h.as("POST", flagsPath, f).fail(400, "invalid"); !strings.Contains(e.Error.Message, `unknown field "colour"`) {
		t.Fatalf("unknown field: %+v", e)
	}
	if e := h.as("POST", flagsPath+"/f/toggle", map[string]any{"enabled": true, "force": true}).fail(400, "invalid"); !strings.Contains(e.Error.Message, `"force"`) {
		t.Fatalf("unknown toggle field: %+v", e)
	}
	// Wrong types name the field.
	f = boolFlag("g")
	f["enabled"] = "yes"
	if e := h.as("POST", flagsPath, f).fail(400, "invalid"); !e.problem("enabled", "bool") {
		t.Fatalf("wrong type: %+v", e)
	}
	h.as("POST", flagsPath, `{"key": "g",`).fail(400, "invalid")
	h.as("POST", flagsPath, "").fail(400, "invalid")
	h.as("POST", flagsPath, `{"key":"a"} {"key":"b"}`).fail(400, "invalid")

	// Validation: every problem, path-qualified, in one machine-readable list.
	f = boolFlag("g")
	f["offVariation"] = "maybe"
	f["rules"] = []any{map[string]any{"clauses": []any{map[string]any{"attribute": "email", "op": "regexx", "values": []any{"a"}}}, "serve": map[string]any{"variation": "on"}}}
	e := h.as("POST", flagsPath, f).fail(400, "invalid")
	if !e.problem("offVariation", `unknown variation "maybe"`) || !e.problem("rules[0].clauses[0].op", `unknown operator "regexx"`) {
		t.Fatalf("validation problems: %+v", e)
	}
	// Bad queries and headers name the parameter.
	if e := h.as("GET", "/api/v1/audit?since=yesterday", nil).fail(400, "invalid"); !e.problem("since", "RFC 3339") {
		t.Fatalf("bad since: %+v", e)
	}
	if e := h.as("GET", "/api/v1/audit?limit=-1", nil).fail(400, "invalid"); !e.problem("limit", "") {
		t.Fatalf("bad limit: %+v", e)
	}
	upd := boolFlag("f")
	if e := h.as("PUT", flagsPath+"/f", upd, "If-Match", "W/\"x\"").fail(400, "invalid"); !e.problem("If-Match", "") {
		t.Fatalf("bad If-Match: %+v", e)
	}
	if e := h.as("POST", "/api/v1/keys", map[string]any{"kind": "server"}).fail(400, "invalid"); !e.problem("project", "required") || !e.problem("environment", "required") {
		t.Fatalf("bad key request: %+v", e)
	}
	if e := h.as("POST", "/api/v1/keys", map[string]any{"kind": "root"}).fail(400, "invalid"); !e.problem("kind", "") {
		t.Fatalf("bad key kind: %+v", e)
	}
	if h.auditCount() != audits {
		t.Fatal("a rejected request left an audit row")
	}
}

func TestBodyTooLarge(t *testing.T) {
	h := newHarness(t)
	audits := h.auditCount()
	f := boolFlag("big")
	f["description"] = strings.Repeat("x", 1<<20)
	h.as("POST", flagsPath, f).fail(http.StatusRequestEntityTooLarge, "too_large")
	h.as("POST", envPath("default", "production")+"/import", "flags:\n  - key: x\n    description: "+strings.Repeat("y", 1<<20)+"\n").fail(413, "too_large")
	h.as("GET", flagsPath+"/big", nil).fail(404, "not_found")
	if h.auditCount() != audits {
		t.Fatal("a rejected body left an audit row")
	}
	// Just under the cap is fine (the flag-size limit is 1 MiB of canonical JSON, so this passes both).
	f["description"] = strings.Repeat("x", 1<<19)
	h.as("POST", flagsPath, f).want(201, nil)
}

func TestNotFound(t *testing.T) {
	h := newHarness(t)
	for _, p := range []string{
		"/api/v1/projects/nope",
		"/api/v1/projects/nope/environments",
		envPath("default", "nope"),
		envPath("default", "nope") + "/flags",
		envPath("default", "nope") + "/segments",
		flagsPath + "/nope",
		envPath("default", "production") + "/segments/nope",
		envPath("default", "nope") + "/export",
	} {
		h.as("GET", p, nil).fail(404, "not_found")
	}
	h.as("DELETE", "/api/v1/projects/nope", nil).fail(404, "not_found")
	h.as("POST", envPath("nope", "production")+"/flags", boolFlag("x")).fail(404, "not_found")
	h.as("POST", "/api/v1/keys/nope/rotate", nil).fail(404, "not_found")
	h.as("POST", "/api/v1/keys", map[string]any{"kind": "server", "project": "default", "environment": "nope"}).fail(404, "not_found")
}

func TestKeyRotationGracePeriod(t *testing.T) {
	h := newHarness(t)
	var created struct{ ID, Secret, Kind, Project, Environment string }
	h.as("POST", "/api/v1/keys", map[string]any{"kind": "admin", "role": "editor", "project": "default", "name": "deploy"}).want(201, &created)
	if !strings.HasPrefix(created.Secret, "ramp_adm_") || len(created.Secret) < len("ramp_adm_")+22 {
		t.Fatalf("secret %q: want a prefixed 128+ bit key", created.Secret)
	}
	var rotated struct {
		ID, Secret, Name, Role, Project string
	}
	h.as("POST", "/api/v1/keys/"+created.ID+"/rotate", map[string]any{"grace": "1h"}).want(201, &rotated)
	if rotated.ID == created.ID || rotated.Secret == "" || rotated.Name != "deploy" || rotated.Role != "editor" || rotated.Project != "default" {
		t.Fatalf("rotated %+v", rotated)
	}
	// Both work during the grace period...
	h.do("GET", flagsPath, created.Secret, nil).want(200, nil)
	h.do("GET", flagsPath, rotated.Secret, nil).want(200, nil)
	var keys struct {
		Keys []struct {
			ID        string
			ExpiresAt *time.Time
		}
	}
	h.as("GET", "/api/v1/keys?project=default", nil).want(200, &keys)
	for _, k := range keys.Keys {
		if k.ID == created.ID && (k.ExpiresAt == nil || k.ExpiresAt.Sub(time.Now()) > time.Hour+time.Minute) {
			t.Fatalf("old key expiry %v", k.ExpiresAt)
		}
	}
	// ... and only the new one after it.
	h.travel(61 * time.Minute)
	h.do("GET", flagsPath, created.Secret, nil).fail(401, "unauthorized")
	h.do("GET", flagsPath, rotated.Secret, nil).want(200, nil)
	// An expired key cannot be rotated again; a bad grace is named.
	h.as("POST", "/api/v1/keys/"+created.ID+"/rotate", nil).fail(409, "conflict")
	if e := h.as("POST", "/api/v1/keys/"+rotated.ID+"/rotate", map[string]any{"grace": "soon"}).fail(400, "invalid"); !e.problem("grace", "duration") {
		t.Fatalf("bad grace: %+v", e)
	}
	// Without a body the grace is 24h.
	var again struct{ ID, Secret string }
	h.as("POST", "/api/v1/keys/"+rotated.ID+"/rotate", nil).want(201, &again)
	h.travel(23 * time.Hour)
	h.do("GET", flagsPath, rotated.Secret, nil).want(200, nil)
	h.travel(2 * time.Hour)
	h.do("GET", flagsPath, rotated.Secret, nil).fail(401, "unauthorized")
	h.do("GET", flagsPath, again.Secret, nil).want(200, nil)
}

// TestRotationNeverExtendsAKey: rotating a key that is already in its grace period (or revoking and rotating)
// must not give it a longer life than it had.
func TestRotationNeverExtendsAKey(t *testing.T) {
	h := newHarness(t)
	var k struct{ ID, Secret string }
	h.as("POST", "/api/v1/keys", map[string]any{"kind": "server", "project": "default", "environment": "production"}).want(201, &k)
	h.as("POST", "/api/v1/keys/"+k.ID+"/rotate", map[string]any{"grace": "1h"}).want(201, nil)
	h.as("POST", "/api/v1/keys/"+k.ID+"/rotate", map[string]any{"grace": "48h"}).want(201, nil)
	var keys struct {
		Keys []struct {
			ID        string
			ExpiresAt *time.Time
		}
	}
	h.as("GET", "/api/v1/keys?project=default", nil).want(200, &keys)
	for _, x := range keys.Keys {
		if x.ID == k.ID && (x.ExpiresAt == nil || x.ExpiresAt.After(time.Now().Add(time.Hour+time.Minute))) {
			t.Fatalf("the second rotation moved the old key's expiry to %v", x.ExpiresAt)
		}
	}
	h.travel(2 * time.Hour)
	// Server keys cannot use the admin API (403 while valid), so a 401 shows the key is no longer valid.
	h.do("GET", "/api/v1/projects", k.Secret, nil).fail(401, "unauthorized")
}
