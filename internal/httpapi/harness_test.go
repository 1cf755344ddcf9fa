package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ramphq/ramp/internal/control"
	"github.com/ramphq/ramp/internal/httpapi"
	"github.com/ramphq/ramp/internal/store"
	"github.com/ramphq/ramp/internal/store/sqlite"
)

// harness is the admin API over a real SQLite store in a temp dir, served by httptest on loopback. Every
// response it sees is checked against openapi.json (specCheck).
type harness struct {
	t     testing.TB
	ts    *httptest.Server
	ctl   *control.Service
	store store.Store
	admin string // the bootstrap admin token

	mu     sync.Mutex
	offset time.Duration // added to the wall clock: the service's notion of now

	noSpec bool // benchmarks: skip the openapi.json checks
}

type harnessOption func(*control.Options)

func withLimits(l control.Limits) harnessOption {
	return func(o *control.Options) { o.Limits = l }
}

// withStore wraps the SQLite store (to inject failures).
func withStore(wrap func(store.Store) store.Store) harnessOption {
	return func(o *control.Options) { o.Store = wrap(o.Store) }
}

const adminToken = "test-admin-token-0123456789"

func newHarness(t testing.TB, opts ...harnessOption) *harness {
	t.Helper()
	st, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := &harness{t: t}
	o := control.Options{Store: st, Now: h.now}
	for _, opt := range opts {
		opt(&o)
	}
	h.store = o.Store
	h.ctl = control.New(o)
	if _, _, err := h.ctl.Bootstrap(context.Background(), adminToken); err != nil {
		t.Fatal(err)
	}
	h.admin = adminToken
	h.ts = httptest.NewServer(httpapi.New(httpapi.Options{Control: h.ctl}))
	t.Cleanup(h.ts.Close)
	return h
}

func (h *harness) now() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return time.Now().Add(h.offset)
}

// travel moves the service's clock by d.
func (h *harness) travel(d time.Duration) {
	h.mu.Lock()
	h.offset += d
	h.mu.Unlock()
}

// response is one HTTP exchange's result.
type response struct {
	t      testing.TB
	req    string
	Status int
	Header http.Header
	Body   []byte
}

// apiError is the documented error body.
type apiError struct {
	Error struct {
		Code     string `json:"code"`
		Message  string `json:"message"`
		Problems []struct {
			Path    string `json:"path"`
			Message string `json:"message"`
		} `json:"problems"`
	} `json:"error"`
}

// do sends a request with token (none when ""). body is sent as is when it is a string or []byte, else as
// JSON. headers are name, value pairs.
func (h *harness) do(method, path, token string, body any, headers ...string) *response {
	h.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		js, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		raw = js
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, h.ts.URL+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := h.ts.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	if h.noSpec {
		return &response{t: h.t, req: method + " " + path, Status: res.StatusCode, Header: res.Header, Body: data}
	}
	specCheck(h.t, method, req.URL.Path, res.StatusCode, res.Header.Get("Content-Type"), data)
	if res.StatusCode < 300 {
		specCheckRequest(h.t, method, req.URL.Path, raw)
	}
	return &response{t: h.t, req: method + " " + path, Status: res.StatusCode, Header: res.Header, Body: data}
}

// as is do with the admin token.
func (h *harness) as(method, path string, body any, headers ...string) *response {
	h.t.Helper()
	return h.do(method, path, h.admin, body, headers...)
}

// want fails the test unless the status is status, and decodes the body into v (when not nil).
func (r *response) want(status int, v any) *response {
	r.t.Helper()
	if r.Status != status {
		r.t.Fatalf("%s: status %d, want %d; body %s", r.req, r.Status, status, r.Body)
	}
	if v != nil {
		if err := json.Unmarshal(r.Body, v); err != nil {
			r.t.Fatalf("%s: decoding %s: %v", r.req, r.Body, err)
		}
	}
	return r
}

// fail checks an error response: its status and code, and returns the decoded body.
func (r *response) fail(status int, code string) apiError {
	r.t.Helper()
	var e apiError
	r.want(status, &e)
	if e.Error.Code != code || e.Error.Message == "" {
		r.t.Fatalf("%s: error %+v, want code %s with a message", r.req, e.Error, code)
	}
	return e
}

// problem reports whether the error names path (and, if msg is not empty, a message containing it).
func (e apiError) problem(path, msg string) bool {
	for _, p := range e.Error.Problems {
		if p.Path == path && strings.Contains(p.Message, msg) {
			return true
		}
	}
	return false
}

// key creates an API key through the API and returns its secret.
func (h *harness) key(req map[string]any) string {
	h.t.Helper()
	var k struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	h.as("POST", "/api/v1/keys", req).want(201, &k)
	if k.Secret == "" {
		h.t.Fatal("no secret in the create response")
	}
	return k.Secret
}

// flagView is a flag record as the API returns it.
type flagView struct {
	Project     string         `json:"project"`
	Environment string         `json:"environment"`
	Flag        map[string]any `json:"flag"`
	Version     int64          `json:"version"`
	Archived    bool           `json:"archived"`
	Status      string         `json:"status"`
}

func boolFlag(key string) map[string]any {
	return map[string]any{
		"key": key, "type": "boolean", "enabled": true, "offVariation": "off",
		"variations":  []any{map[string]any{"key": "on", "value": true}, map[string]any{"key": "off", "value": false}},
		"fallthrough": map[string]any{"variation": "on"},
	}
}

const flagsPath = "/api/v1/projects/default/environments/production/flags"

func envPath(project, env string) string {
	return "/api/v1/projects/" + project + "/environments/" + env
}

// createFlag creates f in default/production and returns the record.
func (h *harness) createFlag(f map[string]any) flagView {
	h.t.Helper()
	var v flagView
	h.as("POST", flagsPath, f).want(201, &v)
	return v
}

// auditCount counts every audit entry.
func (h *harness) auditCount() int {
	h.t.Helper()
	var n int
	err := h.store.View(context.Background(), func(tx store.Tx) error {
		es, err := tx.Audit(store.AuditFilter{Limit: 100000})
		n = len(es)
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

// revisions returns every environment's revision in project.
func (h *harness) revisions(project string) map[string]int64 {
	h.t.Helper()
	out := map[string]int64{}
	err := h.store.View(context.Background(), func(tx store.Tx) error {
		es, err := tx.Environments(project)
		for _, e := range es {
			out[e.Key] = e.Revision
		}
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

// explain evaluates key in default/env for ctx through the API.
func (h *harness) explain(env, key string, ctx map[string]any) explainResult {
	h.t.Helper()
	var ex explainResult
	req := map[string]any{"flag": key}
	if ctx != nil {
		req["context"] = ctx
	}
	h.as("POST", envPath("default", env)+"/explain", req).want(200, &ex)
	return ex
}

type explainResult struct {
	Flag     string `json:"flag"`
	Revision int64  `json:"revision"`
	Detail   struct {
		Value     any    `json:"value"`
		Variant   string `json:"variant"`
		Reason    string `json:"reason"`
		RuleID    string `json:"ruleId"`
		ErrorCode string `json:"errorCode"`
	} `json:"detail"`
	Steps []struct {
		Kind    string `json:"kind"`
		ID      string `json:"id"`
		Matched bool   `json:"matched"`
		Note    string `json:"note"`
		Clauses []struct {
			Actual  any  `json:"actual"`
			Present bool `json:"present"`
			Matched bool `json:"matched"`
		} `json:"clauses"`
	} `json:"steps"`
}
