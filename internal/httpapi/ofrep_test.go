package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ramphq/ramp/internal/control"
	"github.com/ramphq/ramp/internal/httpapi"
	"github.com/ramphq/ramp/internal/store"
)

func TestOFREPEvaluateBodies(t *testing.T) {
	e := newDV(t, dvOption{})
	staff := `{"context":{"targetingKey":"user-4","email":"user-4@example.com","country":"US"}}`
	for _, c := range []struct {
		name, key, body string
		status          int
		want            string
	}{
		{"rule match", "rules-flag", staff, 200, `{"key":"rules-flag","value":true,"reason":"TARGETING_MATCH","variant":"on","metadata":{"ruleId":"staff"}}`},
		{"fallthrough", "rules-flag", `{"context":{"targetingKey":"u","country":"US"}}`, 200, `{"key":"rules-flag","value":false,"reason":"DEFAULT","variant":"off","metadata":{}}`},
		{"split", "rules-flag", `{"context":{"targetingKey":"user-1","country":"BR"}}`, 200, `{"key":"rules-flag","value":true,"reason":"SPLIT","variant":"on","metadata":{"ruleId":"br-pt"}}`},
		{"static", "static", staff, 200, `{"key":"static","value":true,"reason":"STATIC","variant":"on","metadata":{}}`},
		{"disabled", "disabled", staff, 200, `{"key":"disabled","value":false,"reason":"DISABLED","variant":"off","metadata":{}}`},
		{"string", "color", staff, 200, `{"key":"color","value":"blue \"sky\" <b>","reason":"STATIC","variant":"blue","metadata":{}}`},
		{"number", "ratio", staff, 200, `{"key":"ratio","value":3.5,"reason":"STATIC","variant":"high","metadata":{}}`},
		{"json", "limits", staff, 200, `{"key":"limits","value":{"a":null,"b":[1,"x"]},"reason":"STATIC","variant":"some","metadata":{}}`},
		{"code default: no value, no variant", "no-default", staff, 200, `{"key":"no-default","reason":"DEFAULT","metadata":{}}`},
		{"not found", "nope", staff, 404, `{"key":"nope","errorCode":"FLAG_NOT_FOUND","errorDetails":"flag \"nope\" was not found"}`},
		{"malformed JSON", "static", `{"context":`, 400, `{"key":"static","errorCode":"PARSE_ERROR","errorDetails":"the request body is not valid JSON: unexpected end of JSON input"}`},
		{"body not an object", "static", `[1]`, 400, `{"key":"static","errorCode":"PARSE_ERROR","errorDetails":"the request body must be a JSON object, got JSON array"}`},
		{"context not an object", "static", `{"context":5}`, 400, `{"key":"static","errorCode":"INVALID_CONTEXT","errorDetails":"context must be a JSON object, got JSON number"}`},
		{"targetingKey not a string", "static", `{"context":{"targetingKey":7}}`, 400, `{"key":"static","errorCode":"INVALID_CONTEXT","errorDetails":"targetingKey must be a string"}`},
		{"bucketing attribute of the wrong type", "by-org", `{"context":{"org":true}}`, 400, ``},

		// Leniency, as flagd: no body, no context, no targetingKey, unknown fields.
		{"empty body", "static", ``, 200, `{"key":"static","value":true,"reason":"STATIC","variant":"on","metadata":{}}`},
		{"null body", "static", `null`, 200, `{"key":"static","value":true,"reason":"STATIC","variant":"on","metadata":{}}`},
		{"no context", "rules-flag", `{}`, 200, `{"key":"rules-flag","value":false,"reason":"DEFAULT","variant":"off","metadata":{}}`},
		{"null context", "rules-flag", `{"context":null}`, 200, `{"key":"rules-flag","value":false,"reason":"DEFAULT","variant":"off","metadata":{}}`},
		{"unknown field", "static", `{"context":{},"flagKey":"x"}`, 200, `{"key":"static","value":true,"reason":"STATIC","variant":"on","metadata":{}}`},
		{"no targetingKey where a split needs it", "rules-flag", `{"context":{"country":"BR"}}`, 200, `{"key":"rules-flag","value":false,"reason":"BUCKETING_KEY_MISSING","variant":"off","metadata":{"ruleId":"br-pt"}}`},
		{"null targetingKey", "static", `{"context":{"targetingKey":null}}`, 200, `{"key":"static","value":true,"reason":"STATIC","variant":"on","metadata":{}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.ofrep(c.key, e.server, c.body)
			r.want(t, c.status, c.want)
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type %q", ct)
			}
			if c.want == "" && !strings.Contains(r.body, `"errorCode":"INVALID_CONTEXT"`) {
				t.Fatalf("body %s, want INVALID_CONTEXT", r.body)
			}
		})
	}
}

func TestOFREPAuth(t *testing.T) {
	e := newDV(t, dvOption{})
	ok := `{"key":"static","value":true,"reason":"STATIC","variant":"on","metadata":{}}`
	path := "/ofrep/v1/evaluate/flags/static"
	e.do("POST", path, "bearer", e.server, "").want(t, 200, ok)
	e.do("POST", path, "x-api-key", e.server, "").want(t, 200, ok)
	e.do("POST", path, "bearer", e.client, "").want(t, 200, ok)
	e.do("POST", path, "x-api-key", e.client, "").want(t, 200, ok)

	r := e.do("POST", path, "", "", "")
	r.want(t, 401, `{"errorDetails":"an API key is required"}`)
	if r.header.Get("WWW-Authenticate") == "" {
		t.Fatal("401 without WWW-Authenticate")
	}
	e.do("POST", path, "bearer", "ramp_srv_made-up", "").want(t, 401, `{"errorDetails":"unknown API key"}`)
	e.do("POST", path, "", "", "", "Authorization", "Basic "+e.server).want(t, 401, `{"errorDetails":"an API key is required"}`)
	e.do("POST", path, "bearer", e.admin, "").want(t, 403, `{"errorDetails":"admin keys cannot receive flags; use a server or client key"}`)
	e.do("POST", "/ofrep/v1/evaluate/flags", "bearer", e.admin, "").want(t, 403, `{"errorDetails":"admin keys cannot receive flags; use a server or client key"}`)

	// A key revoked through this process stops working at once, though the cache knew it.
	keys, err := e.ctl.ListKeys(context.Background(), dvSys, "default")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.Kind == store.KeyClient {
			if _, err := e.ctl.RevokeKey(context.Background(), dvSys, k.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	r = e.do("POST", path, "bearer", e.client, "")
	if r.status != 401 || !strings.Contains(r.body, "revoked") {
		t.Fatalf("revoked key: %d %s", r.status, r.body)
	}
}

func TestOFREPRequireTargetingKey(t *testing.T) {
	e := newDV(t, dvOption{opts: httpapi.DeliveryOptions{RequireTargetingKey: true}})
	want := `{"key":"static","errorCode":"TARGETING_KEY_MISSING","errorDetails":"the context has no targetingKey"}`
	e.ofrep("static", e.server, `{"context":{"country":"BR"}}`).want(t, 400, want)
	e.ofrep("static", e.server, ``).want(t, 400, want)
	e.ofrep("static", e.server, `{"context":{"targetingKey":""}}`).want(t, 400, want)
	e.ofrep("static", e.server, `{"context":{"targetingKey":"u"}}`).want(t, 200, "")
	e.do("POST", "/ofrep/v1/evaluate/flags", "bearer", e.server, `{}`).want(t, 400, `{"errorCode":"TARGETING_KEY_MISSING","errorDetails":"the context has no targetingKey"}`)
}

func TestOFREPRateLimit(t *testing.T) {
	e := newDV(t, dvOption{opts: httpapi.DeliveryOptions{RateLimit: 0.5, RateBurst: 2}})
	e.ofrep("static", e.server, "").want(t, 200, "")
	e.ofrep("static", e.server, "").want(t, 200, "")
	r := e.ofrep("static", e.server, "")
	r.want(t, 429, `{"errorDetails":"rate limit exceeded; retry after 2 s"}`)
	if ra := r.header.Get("Retry-After"); ra != "2" {
		t.Fatalf("Retry-After %q, want 2 (whole seconds until a token at 0.5/s)", ra)
	}
	e.do("POST", "/ofrep/v1/evaluate/flags", "bearer", e.server, "").want(t, 429, "")
	e.do("GET", "/sdk/v1/flags", "bearer", e.server, "").want(t, 429, `{"error":{"code":"rate_limited","message":"rate limit exceeded; retry after 2 s"}}`)
	// Buckets are per key.
	e.ofrep("static", e.client, "").want(t, 200, "")
}

func TestOFREPServerErrors(t *testing.T) {
	e := newDV(t, dvOption{maxBody: 1024})
	r := e.ofrep("static", e.server, `{"context":{"pad":"`+strings.Repeat("x", 2000)+`"}}`)
	r.want(t, 413, `{"errorDetails":"request body larger than 1024 bytes"}`)

	fresh := e.newKey(store.KeyServer) // not cached yet: authenticating it reads the store
	e.store.fail.Store(true)
	defer e.store.fail.Store(false)
	e.ofrep("static", fresh, "").want(t, 500, `{"errorDetails":"internal error"}`)
	e.do("POST", "/ofrep/v1/evaluate/flags", "bearer", fresh, "").want(t, 500, `{"errorDetails":"internal error"}`)
	e.ofrep("static", e.server, "").want(t, 200, "") // cached keys and compiled snapshots keep serving
}

func TestOFREPBulk(t *testing.T) {
	e := newDV(t, dvOption{})
	body := `{"context":{"targetingKey":"user-4","email":"user-4@example.com","country":"US"}}`
	r := e.do("POST", "/ofrep/v1/evaluate/flags", "x-api-key", e.client, body)
	// The bulk body is the single evaluations, in key order, and the set's metadata.
	var parts []string
	for _, k := range []string{"by-org", "color", "disabled", "limits", "no-default", "ratio", "rules-flag", "static"} {
		parts = append(parts, e.ofrep(k, e.server, body).body)
	}
	r.want(t, 200, `{"flags":[`+strings.Join(parts, ",")+`],"metadata":{"project":"default","environment":"production","revision":8}}`)
	tag := r.header.Get("ETag")
	if !strings.HasPrefix(tag, `"8-`) || len(tag) != len(`"8-0123456789abcdef"`) {
		t.Fatalf("ETag %q, want \"REVISION-HASH\"", tag)
	}
	// Same context (attributes in another order): 304, with the tag again.
	same := `{"context":{"country":"US","email":"user-4@example.com","targetingKey":"user-4"}}`
	r = e.do("POST", "/ofrep/v1/evaluate/flags", "bearer", e.server, same, "If-None-Match", tag)
	if r.status != 304 || r.body != "" || r.header.Get("ETag") != tag {
		t.Fatalf("If-None-Match: %d %q %q", r.status, r.header.Get("ETag"), r.body)
	}
	// Another context, or another revision: a new tag.
	r = e.do("POST", "/ofrep/v1/evaluate/flags", "bearer", e.server, `{"context":{"targetingKey":"user-5"}}`, "If-None-Match", tag)
	if r.status != 200 || r.header.Get("ETag") == tag {
		t.Fatalf("other context: %d %q", r.status, r.header.Get("ETag"))
	}
	if _, err := e.ctl.Toggle(context.Background(), dvSys, "default", "production", "static", false, 0); err != nil {
		t.Fatal(err)
	}
	r = e.do("POST", "/ofrep/v1/evaluate/flags", "bearer", e.server, body, "If-None-Match", tag)
	if r.status != 200 || !strings.HasPrefix(r.header.Get("ETag"), `"9-`) || !strings.Contains(r.body, `{"key":"static","value":false,"reason":"DISABLED","variant":"off","metadata":{}}`) {
		t.Fatalf("after a change: %d %q %s", r.status, r.header.Get("ETag"), r.body)
	}

	// Failures of the whole request have no key; a failing flag is one item of a 200.
	e.do("POST", "/ofrep/v1/evaluate/flags", "bearer", e.server, `{"context":"x"}`).want(t, 400, `{"errorCode":"INVALID_CONTEXT","errorDetails":"context must be a JSON object, got JSON string"}`)
	e.do("POST", "/ofrep/v1/evaluate/flags", "bearer", e.server, `{`).want(t, 400, `{"errorCode":"PARSE_ERROR","errorDetails":"the request body is not valid JSON: unexpected end of JSON input"}`)
	r = e.do("POST", "/ofrep/v1/evaluate/flags", "bearer", e.server, `{"context":{"org":true}}`)
	if r.status != 200 || !strings.Contains(r.body, `{"key":"by-org","errorCode":"INVALID_CONTEXT","errorDetails":`) {
		t.Fatalf("bulk with a failing flag: %d %s", r.status, r.body)
	}
	// No body at all is an empty context, as flagd.
	e.do("POST", "/ofrep/v1/evaluate/flags", "bearer", e.server, ``).want(t, 200, "")
}

// A key whose environment is deleted is refused (401), even while the cache still knows it.
func TestOFREPEnvironmentDeleted(t *testing.T) {
	e := newDV(t, dvOption{})
	ctx := context.Background()
	if _, err := e.ctl.CreateEnvironment(ctx, dvSys, store.Environment{Project: "default", Key: "preview"}, ""); err != nil {
		t.Fatal(err)
	}
	_, secret, err := e.ctl.CreateKey(ctx, dvSys, control.NewKey{Kind: store.KeyServer, Project: "default", Environment: "preview"})
	if err != nil {
		t.Fatal(err)
	}
	e.ofrep("static", secret, "").want(t, 200, `{"key":"static","value":false,"reason":"DISABLED","variant":"off","metadata":{}}`)
	if err := e.ctl.DeleteEnvironment(ctx, dvSys, "default", "preview"); err != nil {
		t.Fatal(err)
	}
	r := e.ofrep("static", secret, "")
	if r.status != 401 || !strings.Contains(r.body, "no longer exists") {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if r := e.do("GET", "/sdk/v1/flags", "bearer", secret, ""); r.status != 401 {
		t.Fatalf("sdk flags: %d %s", r.status, r.body)
	}
}

// Bodies without a Content-Length (chunked) are read to the end.
func TestOFREPBodyFraming(t *testing.T) {
	e := newDV(t, dvOption{})
	body := `{"context":{"targetingKey":"user-4","email":"user-4@example.com"}}`
	req, err := http.NewRequest("POST", e.ts.URL+"/ofrep/v1/evaluate/flags/rules-flag", io.MultiReader(strings.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.server)
	res, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if req.ContentLength != 0 || res.StatusCode != 200 || !strings.Contains(string(data), `"ruleId":"staff"`) {
		t.Fatalf("chunked: %d %s (request length %d)", res.StatusCode, data, req.ContentLength)
	}
}
