package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ramphq/ramp/flag"
	"github.com/ramphq/ramp/internal/broker"
	"github.com/ramphq/ramp/internal/control"
	"github.com/ramphq/ramp/internal/httpapi"
	"github.com/ramphq/ramp/internal/store"
	"github.com/ramphq/ramp/internal/store/sqlite"
)

// dvEnv is the delivery endpoints over a real SQLite store, served by httptest on loopback: project default,
// environment production holding dvFlags, and a server, a client and an admin key.
type dvEnv struct {
	t      testing.TB
	ctl    *control.Service
	broker *broker.Broker
	store  *dvFlakyStore
	srv    *httpapi.Server
	ts     *httptest.Server

	server, client, admin string // secrets
}

// dvFlakyStore fails every View while fail is set: the 500 path.
type dvFlakyStore struct {
	store.Store
	fail atomic.Bool
}

func (s *dvFlakyStore) View(ctx context.Context, fn func(store.Tx) error) error {
	if s.fail.Load() {
		return errors.New("disk on fire")
	}
	return s.Store.View(ctx, fn)
}

const dvAdmin = "dv-admin-token-0123456789"

var dvSys = control.System("test")

type dvOption struct {
	opts    httpapi.DeliveryOptions
	maxBody int64
	buffer  int                // broker buffer; default 64
	server  func(*http.Server) // configures the http.Server before it starts
	noFlags bool
}

func newDV(t testing.TB, o dvOption) *dvEnv {
	t.Helper()
	st, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if o.buffer == 0 {
		o.buffer = 64
	}
	e := &dvEnv{t: t, broker: broker.New(o.buffer), store: &dvFlakyStore{Store: st}}
	e.ctl = control.New(control.Options{Store: e.store, Broker: e.broker})
	ctx := context.Background()
	if _, _, err := e.ctl.Bootstrap(ctx, dvAdmin); err != nil {
		t.Fatal(err)
	}
	e.admin = dvAdmin
	e.server = e.newKey(store.KeyServer)
	e.client = e.newKey(store.KeyClient)
	if !o.noFlags {
		for _, f := range dvFlags() {
			if _, err := e.ctl.CreateFlag(ctx, dvSys, "default", "production", f); err != nil {
				t.Fatalf("create %s: %v", f.Key, err)
			}
		}
	}
	e.srv = httpapi.New(httpapi.Options{Control: e.ctl, Delivery: o.opts, MaxBody: o.maxBody})
	e.ts = httptest.NewUnstartedServer(e.srv)
	if o.server != nil {
		o.server(e.ts.Config)
	}
	e.ts.Start()
	t.Cleanup(func() {
		e.srv.CloseStreams()
		e.ts.Close()
	})
	return e
}

func (e *dvEnv) newKey(kind store.KeyKind) string {
	e.t.Helper()
	_, secret, err := e.ctl.CreateKey(context.Background(), dvSys, control.NewKey{Kind: kind, Project: "default", Environment: "production"})
	if err != nil {
		e.t.Fatal(err)
	}
	return secret
}

func dvBool(key string) flag.Flag {
	return flag.Flag{Key: key, Type: flag.TypeBoolean, Enabled: true, OffVariation: "off",
		Variations:  []flag.Variation{{Key: "on", Value: true}, {Key: "off", Value: false}},
		Fallthrough: flag.Serve{Variation: "on"}}
}

// dvFlags: the rules flag, and one flag per value type and per special result.
func dvFlags() []flag.Flag {
	rules := dvBool("rules-flag")
	rules.Rules = []flag.Rule{
		{ID: "staff", Clauses: []flag.Clause{{Attribute: "email", Op: flag.OpEndsWith, Values: []any{"@example.com"}}}, Serve: flag.Serve{Variation: "on"}},
		{ID: "br-pt", Clauses: []flag.Clause{{Attribute: "country", Op: flag.OpIn, Values: []any{"BR", "PT"}}},
			Serve: flag.Serve{Split: &flag.Split{Weights: []flag.WeightedServe{{Variation: "on", Weight: 10}, {Variation: "off", Weight: 90}}}}},
	}
	rules.Fallthrough = flag.Serve{Variation: "off"}
	disabled := dvBool("disabled")
	disabled.Enabled = false
	noDefault := dvBool("no-default")
	noDefault.Fallthrough = flag.Serve{}
	noDefault.Targeting = json.RawMessage(`{"if":[{"==":[{"var":"beta"},true]},"on",null]}`)
	byOrg := dvBool("by-org")
	byOrg.Fallthrough = flag.Serve{Split: &flag.Split{BucketBy: "org", Weights: []flag.WeightedServe{{Variation: "on", Weight: 50}, {Variation: "off", Weight: 50}}}}
	return []flag.Flag{
		rules, dvBool("static"), disabled, noDefault, byOrg,
		{Key: "color", Type: flag.TypeString, Enabled: true, OffVariation: "grey", Fallthrough: flag.Serve{Variation: "blue"},
			Variations: []flag.Variation{{Key: "blue", Value: "blue \"sky\" <b>"}, {Key: "grey", Value: "grey"}}},
		{Key: "ratio", Type: flag.TypeNumber, Enabled: true, OffVariation: "low", Fallthrough: flag.Serve{Variation: "high"},
			Variations: []flag.Variation{{Key: "high", Value: 3.5}, {Key: "low", Value: 1e-7}}},
		{Key: "limits", Type: flag.TypeJSON, Enabled: true, OffVariation: "none", Fallthrough: flag.Serve{Variation: "some"},
			Variations: []flag.Variation{{Key: "some", Value: map[string]any{"b": []any{1.0, "x"}, "a": nil}}, {Key: "none", Value: nil}}},
	}
}

// dvResp is a response, read whole.
type dvResp struct {
	status int
	header http.Header
	body   string
}

// do sends a request. auth is "bearer" (Authorization: Bearer), "x-api-key" or "" (no credential).
func (e *dvEnv) do(method, path, auth, secret, body string, headers ...string) dvResp {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, e.ts.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	switch auth {
	case "bearer":
		req.Header.Set("Authorization", "Bearer "+secret)
	case "x-api-key":
		req.Header.Set("X-API-Key", secret)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return dvResp{status: res.StatusCode, header: res.Header, body: string(data)}
}

func (e *dvEnv) ofrep(key, secret, body string, headers ...string) dvResp {
	e.t.Helper()
	return e.do("POST", "/ofrep/v1/evaluate/flags/"+key, "bearer", secret, body, headers...)
}

// want checks the status and the exact body (JSON compared as JSON, so insignificant whitespace aside, byte
// for byte: key order is part of it, so the comparison is on the compacted text).
func (r dvResp) want(t testing.TB, status int, body string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if body == "" {
		return
	}
	var want, got bytes.Buffer
	if err := json.Compact(&want, []byte(body)); err != nil {
		t.Fatalf("bad expected JSON %s: %v", body, err)
	}
	if err := json.Compact(&got, []byte(r.body)); err != nil {
		t.Fatalf("response is not JSON: %q", r.body)
	}
	if want.String() != got.String() {
		t.Fatalf("body\n got %s\nwant %s", got.String(), want.String())
	}
}
