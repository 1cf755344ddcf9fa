package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ramphq/ramp/flag"
	"github.com/ramphq/ramp/internal/control"
	"github.com/ramphq/ramp/internal/httpapi"
	"github.com/ramphq/ramp/internal/store"
)

// sseEvent is one dispatched event, or a comment (a heartbeat) when comment is set.
type sseEvent struct {
	event, id, data string
	comment         string
	at              time.Time
}

type sseClient struct {
	status int
	body   string // the body of a refused request
	events chan sseEvent
	cancel context.CancelFunc
	done   chan struct{} // closed when the stream ends
}

// stream opens GET /sdk/v1/stream with headers (name, value pairs) and reads it in the background.
func (e *dvEnv) stream(secret string, headers ...string) *sseClient {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", e.ts.URL+"/sdk/v1/stream", nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := e.ts.Client().Do(req)
	if err != nil {
		cancel()
		e.t.Fatal(err)
	}
	c := &sseClient{status: res.StatusCode, events: make(chan sseEvent, 1024), cancel: cancel, done: make(chan struct{})}
	e.t.Cleanup(cancel)
	if res.StatusCode != 200 {
		var sb strings.Builder
		bufio.NewReader(res.Body).WriteTo(&sb)
		res.Body.Close()
		c.body = sb.String()
		close(c.done)
		return c
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		e.t.Fatalf("Content-Type %q", ct)
	}
	go func() {
		defer close(c.done)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 64<<10), 8<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.event != "" || ev.data != "" {
					ev.at = time.Now()
					c.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"):
				c.events <- sseEvent{comment: strings.TrimSpace(line[1:]), at: time.Now()}
			default:
				name, value, _ := strings.Cut(line, ":")
				value = strings.TrimPrefix(value, " ")
				switch name {
				case "event":
					ev.event = value
				case "id":
					ev.id = value
				case "data":
					ev.data += value
				}
			}
		}
	}()
	return c
}

// next returns the next event that is not a comment.
func (c *sseClient) next(t testing.TB) sseEvent {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case ev := <-c.events:
			if ev.comment == "" {
				return ev
			}
		case <-c.done:
			select {
			case ev := <-c.events:
				if ev.comment == "" {
					return ev
				}
				continue
			default:
			}
			t.Fatal("the stream ended")
		case <-deadline:
			t.Fatal("no event within 5 s")
		}
	}
}

// expect reads the next event and checks its name and id, and decodes its data into v.
func (c *sseClient) expect(t testing.TB, event, id string, v any) sseEvent {
	t.Helper()
	ev := c.next(t)
	if ev.event != event || ev.id != id {
		t.Fatalf("got event %q id %q (%s), want %q id %q", ev.event, ev.id, ev.data, event, id)
	}
	if v != nil {
		if err := json.Unmarshal([]byte(ev.data), v); err != nil {
			t.Fatalf("%s data %s: %v", event, ev.data, err)
		}
	}
	return ev
}

// quiet checks that no event (comments aside) arrives within d.
func (c *sseClient) quiet(t testing.TB, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case ev := <-c.events:
			if ev.comment == "" {
				t.Fatalf("unexpected event %q id %q: %s", ev.event, ev.id, ev.data)
			}
		case <-deadline:
			return
		}
	}
}

type putData struct {
	Project     string   `json:"project"`
	Environment string   `json:"environment"`
	Revision    int64    `json:"revision"`
	Flags       flag.Set `json:"flags"`
}

type patchData struct {
	Revision int64          `json:"revision"`
	Base     int64          `json:"base"`
	Flags    []flag.Flag    `json:"flags"`
	Segments []flag.Segment `json:"segments"`
}

type deleteData struct {
	Revision int64    `json:"revision"`
	Base     int64    `json:"base"`
	Flags    []string `json:"flags"`
	Segments []string `json:"segments"`
}

func TestSDKFlags(t *testing.T) {
	e := newDV(t, dvOption{})
	r := e.do("GET", "/sdk/v1/flags", "bearer", e.server, "")
	var body putData
	if r.status != 200 || json.Unmarshal([]byte(r.body), &body) != nil {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if body.Project != "default" || body.Environment != "production" || body.Revision != 8 || len(body.Flags.Flags) != 8 || r.header.Get("ETag") != `"8"` {
		t.Fatalf("body %s, ETag %q", r.body, r.header.Get("ETag"))
	}
	if !strings.HasPrefix(r.body, `{"project":"default","environment":"production","revision":8,"flags":{"flags":[{"key":"by-org",`) {
		t.Fatalf("body shape %.120s", r.body)
	}
	for _, inm := range []string{`"8"`, `W/"8"`, `"3", "8"`, `*`} {
		if r := e.do("GET", "/sdk/v1/flags", "x-api-key", e.server, "", "If-None-Match", inm); r.status != 304 || r.body != "" || r.header.Get("ETag") != `"8"` {
			t.Fatalf("If-None-Match %s: %d %q", inm, r.status, r.body)
		}
	}
	if r := e.do("GET", "/sdk/v1/flags", "bearer", e.server, "", "If-None-Match", `"7"`); r.status != 200 {
		t.Fatalf("stale If-None-Match: %d", r.status)
	}
	e.do("GET", "/sdk/v1/flags", "bearer", e.client, "").want(t, 403, `{"error":{"code":"forbidden","message":"client keys receive evaluated values only (OFREP); this endpoint needs a server key"}}`)
	e.do("GET", "/sdk/v1/flags", "bearer", e.admin, "").want(t, 403, `{"error":{"code":"forbidden","message":"admin keys cannot receive flags; use a server or client key"}}`)
	e.do("GET", "/sdk/v1/flags", "", "", "").want(t, 401, `{"error":{"code":"unauthorized","message":"an API key is required"}}`)
}

func TestStreamAuth(t *testing.T) {
	e := newDV(t, dvOption{})
	for _, c := range []struct {
		secret string
		status int
	}{{e.client, 403}, {e.admin, 403}, {"", 401}, {"ramp_srv_nope", 401}} {
		if s := e.stream(c.secret); s.status != c.status {
			t.Errorf("stream with %.12q: %d, want %d (%s)", c.secret, s.status, c.status, s.body)
		}
	}
}

func TestStreamPutPatchDelete(t *testing.T) {
	e := newDV(t, dvOption{})
	ctx := context.Background()
	s := e.stream(e.server)
	var put putData
	s.expect(t, "put", "8", &put)
	if put.Revision != 8 || put.Project != "default" || put.Environment != "production" || len(put.Flags.Flags) != 8 {
		t.Fatalf("put %+v", put)
	}

	// A toggle: the flag's new body.
	if _, err := e.ctl.Toggle(ctx, dvSys, "default", "production", "static", false, 0); err != nil {
		t.Fatal(err)
	}
	var p patchData
	s.expect(t, "patch", "9", &p)
	if p.Revision != 9 || p.Base != 8 || len(p.Flags) != 1 || p.Flags[0].Key != "static" || p.Flags[0].Enabled || len(p.Segments) != 0 {
		t.Fatalf("patch %+v", p)
	}
	// A new segment.
	if _, err := e.ctl.PutSegment(ctx, dvSys, "default", "production", flag.Segment{Key: "beta-users", Included: []string{"u1"}}, 0); err != nil {
		t.Fatal(err)
	}
	p = patchData{}
	s.expect(t, "patch", "10", &p)
	if p.Revision != 10 || p.Base != 9 || len(p.Flags) != 0 || len(p.Segments) != 1 || p.Segments[0].Key != "beta-users" {
		t.Fatalf("segment patch %+v", p)
	}
	// Deleting a flag (from every environment), archiving one, deleting the segment.
	if err := e.ctl.DeleteFlag(ctx, dvSys, "default", "color"); err != nil {
		t.Fatal(err)
	}
	var d deleteData
	s.expect(t, "delete", "11", &d)
	if d.Revision != 11 || d.Base != 10 || len(d.Flags) != 1 || d.Flags[0] != "color" || len(d.Segments) != 0 {
		t.Fatalf("delete %+v", d)
	}
	if err := e.ctl.Archive(ctx, dvSys, "default", "ratio", true); err != nil {
		t.Fatal(err)
	}
	d = deleteData{}
	s.expect(t, "delete", "12", &d)
	if d.Base != 11 || len(d.Flags) != 1 || d.Flags[0] != "ratio" {
		t.Fatalf("archive %+v", d)
	}
	if err := e.ctl.DeleteSegment(ctx, dvSys, "default", "production", "beta-users", 0); err != nil {
		t.Fatal(err)
	}
	d = deleteData{}
	s.expect(t, "delete", "13", &d)
	if d.Base != 12 || len(d.Flags) != 0 || len(d.Segments) != 1 || d.Segments[0] != "beta-users" {
		t.Fatalf("segment delete %+v", d)
	}
	// Restoring the archived flag brings its body back.
	if err := e.ctl.Archive(ctx, dvSys, "default", "ratio", false); err != nil {
		t.Fatal(err)
	}
	p = patchData{}
	s.expect(t, "patch", "14", &p)
	if p.Base != 13 || len(p.Flags) != 1 || p.Flags[0].Key != "ratio" {
		t.Fatalf("restore %+v", p)
	}
	// Another environment's changes are not this stream's.
	if _, err := e.ctl.Toggle(ctx, dvSys, "default", "staging", "static", true, 0); err != nil {
		t.Fatal(err)
	}
	s.quiet(t, 200*time.Millisecond)
}

func TestStreamResume(t *testing.T) {
	e := newDV(t, dvOption{opts: httpapi.DeliveryOptions{Heartbeat: 40 * time.Millisecond}})
	// The client holds the current revision: nothing until the next change, which is a patch on it.
	s := e.stream(e.server, "Last-Event-ID", "8")
	s.quiet(t, 300*time.Millisecond)
	if _, err := e.ctl.Toggle(context.Background(), dvSys, "default", "production", "static", false, 0); err != nil {
		t.Fatal(err)
	}
	var p patchData
	s.expect(t, "patch", "9", &p)
	if p.Base != 8 {
		t.Fatalf("patch %+v", p)
	}
	// An older revision, a newer one (the server's store was replaced) or garbage: a full put.
	for _, last := range []string{"3", "99", "junk"} {
		var put putData
		e.stream(e.server, "Last-Event-ID", last).expect(t, "put", "9", &put)
		if put.Revision != 9 {
			t.Fatalf("Last-Event-ID %s: put %+v", last, put)
		}
	}
}

func TestStreamResync(t *testing.T) {
	e := newDV(t, dvOption{})
	a, b := e.stream(e.server), e.stream(e.server)
	a.expect(t, "put", "8", nil)
	b.expect(t, "put", "8", nil)
	path := "/api/v1/projects/default/environments/production/resync"
	e.do("POST", path, "bearer", e.admin, "").want(t, 202, `{"environment":"production","project":"default","revision":8}`)
	a.expect(t, "put", "8", nil)
	b.expect(t, "put", "8", nil)

	_, viewer, err := e.ctl.CreateKey(context.Background(), dvSys, control.NewKey{Kind: store.KeyAdmin, Role: store.RoleViewer})
	if err != nil {
		t.Fatal(err)
	}
	e.do("POST", path, "bearer", viewer, "").want(t, 403, `{"error":{"code":"forbidden","message":"role viewer cannot do this; it needs editor"}}`)
	if r := e.do("POST", path, "bearer", e.server, ""); r.status != 403 {
		t.Fatalf("server key resync: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/v1/projects/default/environments/nope/resync", "bearer", e.admin, ""); r.status != 404 {
		t.Fatalf("unknown environment: %d %s", r.status, r.body)
	}
	a.quiet(t, 100*time.Millisecond)
	entries, err := e.ctl.Audit(context.Background(), dvSys, store.AuditFilter{Project: "default", Limit: 1})
	if err != nil || len(entries) != 1 || entries[0].Action != "environment.resync" {
		t.Fatalf("audit %+v %v", entries, err)
	}
}

func TestStreamHeartbeat(t *testing.T) {
	e := newDV(t, dvOption{opts: httpapi.DeliveryOptions{Heartbeat: 30 * time.Millisecond}})
	s := e.stream(e.server)
	s.expect(t, "put", "8", nil)
	n := 0
	deadline := time.After(5 * time.Second)
	for n < 3 {
		select {
		case ev := <-s.events:
			if ev.comment != "heartbeat" {
				t.Fatalf("unexpected %+v", ev)
			}
			n++
		case <-deadline:
			t.Fatalf("%d heartbeats in 5 s", n)
		}
	}
}

// The stream outlives the server's WriteTimeout and its own StreamWriteTimeout, because each write gets its own
// deadline, and the server's ReadTimeout (net/http lifts the read deadline once the request is read).
func TestStreamSurvivesServerTimeouts(t *testing.T) {
	e := newDV(t, dvOption{
		opts: httpapi.DeliveryOptions{Heartbeat: 50 * time.Millisecond, StreamWriteTimeout: 300 * time.Millisecond},
		server: func(s *http.Server) {
			s.ReadTimeout = 200 * time.Millisecond
			s.WriteTimeout = 200 * time.Millisecond
		},
	})
	start := time.Now()
	s := e.stream(e.server)
	s.expect(t, "put", "8", nil)
	late := 0
	for time.Since(start) < time.Second {
		select {
		case ev := <-s.events:
			if ev.comment == "" {
				t.Fatalf("unexpected %+v", ev)
			}
			if ev.at.Sub(start) > 600*time.Millisecond {
				late++
			}
		case <-s.done:
			t.Fatalf("the stream ended after %v", time.Since(start))
		case <-time.After(time.Second):
		}
	}
	if late == 0 {
		t.Fatal("no heartbeat after 3 × WriteTimeout")
	}
	if _, err := e.ctl.Toggle(context.Background(), dvSys, "default", "production", "static", false, 0); err != nil {
		t.Fatal(err)
	}
	s.expect(t, "patch", "9", nil)
}

// A client that never reads does not slow writers down, and is disconnected once a write to it has waited
// StreamWriteTimeout. The timeout is long (4 s) so that a writer blocked on the client would wait at least that
// long, far beyond what a 600 KB write takes even under the race detector on a loaded machine.
func TestStreamSlowClient(t *testing.T) {
	const blocked = 4 * time.Second
	e := newDV(t, dvOption{opts: httpapi.DeliveryOptions{StreamWriteTimeout: blocked}, buffer: 4})
	ctx := context.Background()
	big := dvBool("big")
	big.Variations[0].Value, big.Type = strings.Repeat("x", 600<<10), flag.TypeJSON
	big.Variations[1].Value = "small"
	if _, err := e.ctl.CreateFlag(ctx, dvSys, "default", "production", big); err != nil {
		t.Fatal(err)
	}

	conn, err := net.Dial("tcp", e.ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.(*net.TCPConn).SetReadBuffer(4 << 10)
	fmt.Fprintf(conn, "GET /sdk/v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", e.server)
	waitFor(t, func() bool { return e.broker.Subscribers() == 1 })

	var slowest time.Duration
	for i := range 30 {
		t0 := time.Now()
		if _, err := e.ctl.Toggle(ctx, dvSys, "default", "production", "big", i%2 == 1, 0); err != nil {
			t.Fatal(err)
		}
		slowest = max(slowest, time.Since(t0))
	}
	if slowest >= blocked {
		t.Fatalf("a write took %v with a client that does not read: it waited for the client", slowest)
	}
	// The handler gives up on the client (and the broker forgets it).
	waitFor(t, func() bool { return e.broker.Subscribers() == 0 })
}

// A stream the broker drops for lagging is not lost: it subscribes again and sends a put.
func TestStreamLagGetsPut(t *testing.T) {
	e := newDV(t, dvOption{buffer: 1})
	ctx := context.Background()
	s := e.stream(e.server)
	s.expect(t, "put", "8", nil)

	hold, entered := make(chan struct{}), make(chan struct{}, 100)
	var once sync.Once
	httpapi.SetStreamEventHook(func() {
		entered <- struct{}{}
		once.Do(func() { <-hold })
	})
	defer httpapi.SetStreamEventHook(nil)
	toggle := func(on bool) {
		t.Helper()
		if _, err := e.ctl.Toggle(ctx, dvSys, "default", "production", "static", on, 0); err != nil {
			t.Fatal(err)
		}
	}
	toggle(false) // 9: the stream takes it and is held
	<-entered
	toggle(true)  // 10: fills the subscription's buffer
	toggle(false) // 11: overflows it: lagged, and the broker lets go
	if n := e.broker.Subscribers(); n != 0 {
		t.Fatalf("%d subscribers, want the lagging one dropped", n)
	}
	close(hold)
	var p patchData
	s.expect(t, "patch", "11", &p) // the held event, coalesced up to the current revision
	if p.Base != 8 {
		t.Fatalf("patch %+v", p)
	}
	var put putData
	s.expect(t, "put", "11", &put) // the lagged notice: start over
	waitFor(t, func() bool { return e.broker.Subscribers() == 1 })
	toggle(true)
	p = patchData{}
	s.expect(t, "patch", "12", &p)
	if p.Base != 11 {
		t.Fatalf("after resubscribing: %+v", p)
	}
}

// Revoking a key ends its open streams (at the next heartbeat).
func TestStreamKeyRevoked(t *testing.T) {
	e := newDV(t, dvOption{opts: httpapi.DeliveryOptions{Heartbeat: 30 * time.Millisecond}})
	s := e.stream(e.server)
	s.expect(t, "put", "8", nil)
	keys, err := e.ctl.ListKeys(context.Background(), dvSys, "default")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.Kind == store.KeyServer {
			if _, err := e.ctl.RevokeKey(context.Background(), dvSys, k.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream of a revoked key is still open")
	}
}

func TestCloseStreams(t *testing.T) {
	e := newDV(t, dvOption{})
	s := e.stream(e.server)
	s.expect(t, "put", "8", nil)
	e.srv.CloseStreams()
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream is still open")
	}
	e.srv.CloseStreams() // twice is fine
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
