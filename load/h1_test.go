package load_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ramphq/ramp/load"
)

// TestClientsAgree runs the same journey with the engine's own HTTP/1.1 client and with net/http:
// chunked bodies, redirects (303 turning POST into GET), cookies, HEAD, 204, Connection: close,
// large bodies and header checks must come out the same.
func TestClientsAgree(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("0123456789", 100_000) // 1 MB
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
			w.Header().Set("X-Kind", "chunked")
			io.WriteString(w, "{")
			for i := 0; i < 3; i++ {
				fmt.Fprintf(w, `"part%d":%d,`, i, i)
				w.(http.Flusher).Flush()
			}
			io.WriteString(w, `"id":"c-7"}`)
		case "/post":
			b, _ := io.ReadAll(r.Body)
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: "s-" + string(b)})
			http.Redirect(w, r, "/landing?from=post", http.StatusSeeOther)
		case "/landing":
			c, err := r.Cookie("sid")
			if err != nil || r.Method != http.MethodGet {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			fmt.Fprintf(w, `{"sid":%q,"q":%q}`, c.Value, r.URL.RawQuery)
		case "/head":
			w.Header().Set("Content-Length", "1234")
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/close":
			w.Header().Set("Connection", "close")
			io.WriteString(w, "bye")
		case "/big":
			io.WriteString(w, big)
		case "/missing":
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	yes := "c-7"
	sid := "s-hello"
	plan := func() *load.Plan {
		return &load.Plan{Name: "agree", Targets: load.Targets{BaseURL: srv.URL},
			Load: &load.Executor{Type: load.PerVUIterations, VUs: 2, Iterations: 3},
			Scenarios: []load.Scenario{{Name: "s", Steps: []load.Step{
				{Name: "chunked", URL: "/chunked", Checks: []load.Check{{JSON: "$.id", Equals: &yes}, {Header: "X-Kind", Contains: "chunk"}}},
				{Name: "post", Method: "POST", URL: "/post", Body: &load.Body{Template: "hello"}, Checks: []load.Check{{Status: "200"}, {JSON: "$.sid", Equals: &sid}}, Extract: []load.Extractor{{Name: "sid", Cookie: "sid"}}},
				{Name: "head", Method: "HEAD", URL: "/head", Checks: []load.Check{{Status: "200"}}},
				{Name: "empty", URL: "/empty", Checks: []load.Check{{Status: "204"}}},
				{Name: "close", URL: "/close", Checks: []load.Check{{Body: true, Equals: strp("bye")}}},
				{Name: "big", URL: "/big", Checks: []load.Check{{Body: true, Contains: "789012"}}},
				{Name: "missing", URL: "/missing", Checks: []load.Check{{Status: "404"}}},
			}}}}
	}
	own := run(t, plan(), load.Options{})
	std := run(t, plan(), load.Options{StdHTTP: true})
	for i := range own.Series {
		o, s := own.Series[i], std.Series[i]
		if o.Requests != 6 || o.Requests != s.Requests || o.ChecksPassed != s.ChecksPassed || o.ChecksFailed != 0 || s.ChecksFailed != 0 ||
			fmt.Sprint(o.Status) != fmt.Sprint(s.Status) || fmt.Sprint(o.ErrorClasses) != fmt.Sprint(s.ErrorClasses) {
			t.Errorf("step %s: own %d req %d/%d checks %v %v; net/http %d req %d/%d checks %v %v", o.Tags.Step,
				o.Requests, o.ChecksPassed, o.ChecksFailed, o.Status, o.ErrorClasses, s.Requests, s.ChecksPassed, s.ChecksFailed, s.Status, s.ErrorClasses)
		}
	}
	if own.Summary.BytesIn < 6_000_000 {
		t.Errorf("bytes in %d, want the 6 MB of big bodies counted", own.Summary.BytesIn)
	}
}

func strp(s string) *string { return &s }

// TestOwnClientStaleKeepAlive: a server that closes idle keep-alive connections after every
// response must not cause errors (the request is re-sent once on a new connection).
func TestOwnClientStaleKeepAlive(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func(c net.Conn) {
				defer c.Close()
				br := bufio.NewReader(c)
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				io.Copy(io.Discard, req.Body)
				// claims keep-alive, then closes: the next request on this conn sees EOF
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				time.Sleep(5 * time.Millisecond)
			}(c)
		}
	}()
	res := run(t, one("http://"+ln.Addr().String()+"/", &load.Executor{Type: load.PerVUIterations, VUs: 1, Iterations: 20}), load.Options{})
	if res.Summary.Errors != 0 || res.Summary.Requests != 20 {
		t.Fatalf("errors %d requests %d: %v", res.Summary.Errors, res.Summary.Requests, res.ErrorSamples)
	}
}

func TestOwnClientTimeoutAndHeaderInjection(t *testing.T) {
	t.Parallel()
	srv := sleepServer(t, 300*time.Millisecond)
	p := one(srv.URL, &load.Executor{Type: load.PerVUIterations, VUs: 1, Iterations: 2})
	p.Scenarios[0].Steps[0].Timeout = d("50ms")
	res := run(t, p, load.Options{})
	if res.Summary.ErrorClasses["timeout"] != 2 || res.Summary.ServiceTime.Max > 250 {
		t.Fatalf("classes %v service %+v", res.Summary.ErrorClasses, res.Summary.ServiceTime)
	}
	p = one(srv.URL, &load.Executor{Type: load.PerVUIterations, VUs: 1, Iterations: 1})
	p.Variables = map[string]string{"evil": "x\r\nX-Injected: 1"}
	p.Scenarios[0].Steps[0].Headers = map[string]string{"X-Name": "${evil}"}
	res = run(t, p, load.Options{})
	if res.Summary.Errors != 1 || !strings.Contains(strings.Join(res.ErrorSamples, ""), "line break") {
		t.Fatalf("header injection: %+v %v", res.Summary.ErrorClasses, res.ErrorSamples)
	}
}
