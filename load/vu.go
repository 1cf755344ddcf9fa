package load

// A VU (virtual user) executes one scenario iteration at a time: its steps in order, carrying
// extracted values and cookies from step to step. Everything a VU touches per request is its own
// (buffers, variables, trace timestamps), so the only shared state on this path is the recorder shard
// and the HTTP connection pool.

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sort"
	"strings"
	"sync/atomic"
	"time"
)

const maxBodyKept = 8 << 20 // response bytes kept for checks and extractors; the rest is counted and discarded

type vu struct {
	id        int
	r         *runner
	rng       *rand.Rand
	vars      map[string]string
	rows      [][]string
	claimed   []int // row of each unique feed owned by this VU (-2: not claimed yet)
	iteration int64
	client    http.Client
	jar       jar
	userAgent string
	devHdrs   []cheader
	scratch   []byte
	body      bytes.Buffer
	shard     int

	traceCtx context.Context
	tm       timing
}

// timing holds httptrace timestamps as UnixNano values; atomics because a transport may finish an
// abandoned dial on another goroutine after the request completed.
type timing struct {
	dnsStart, dnsDone, connStart, connDone, tlsStart, tlsDone, gotConn, firstByte atomic.Int64
}

func (t *timing) reset() {
	t.dnsStart.Store(0)
	t.dnsDone.Store(0)
	t.connStart.Store(0)
	t.connDone.Store(0)
	t.tlsStart.Store(0)
	t.tlsDone.Store(0)
	t.gotConn.Store(0)
	t.firstByte.Store(0)
}

func span(a, b *atomic.Int64) time.Duration {
	s, e := a.Load(), b.Load()
	if s == 0 || e < s {
		return 0
	}
	return time.Duration(e - s)
}

func now() int64 { return time.Now().UnixNano() }

func (r *runner) newVU() *vu {
	id := int(r.nextVU.Add(1) - 1)
	v := &vu{id: id, r: r, rng: rand.New(rand.NewPCG(r.seed, uint64(id))), shard: id, vars: map[string]string{}}
	v.rows = make([][]string, len(r.cp.feeds))
	v.claimed = make([]int, len(r.cp.feeds))
	for i := range v.claimed {
		v.claimed[i] = -2
	}
	network := ""
	if len(r.cp.devices) > 0 {
		d := r.cp.devices[pickWeighted(r.cp.devCum, v.rng)]
		v.userAgent = d.UserAgent
		network = d.Network
		for _, k := range sortedKeys(d.Headers) {
			v.devHdrs = append(v.devHdrs, cheader{key: http.CanonicalHeaderKey(k), val: &tmpl{segs: []segment{{kind: segLit, lit: d.Headers[k]}}}})
		}
	}
	if network == "" {
		network = r.opts.Network
	}
	v.client = http.Client{Transport: r.transport(network), Jar: &v.jar, Timeout: 0}
	tr := &httptrace.ClientTrace{
		DNSStart:             func(httptrace.DNSStartInfo) { v.tm.dnsStart.Store(now()) },
		DNSDone:              func(httptrace.DNSDoneInfo) { v.tm.dnsDone.Store(now()) },
		ConnectStart:         func(string, string) { v.tm.connStart.Store(now()) },
		ConnectDone:          func(string, string, error) { v.tm.connDone.Store(now()) },
		TLSHandshakeStart:    func() { v.tm.tlsStart.Store(now()) },
		TLSHandshakeDone:     func(tls.ConnectionState, error) { v.tm.tlsDone.Store(now()) },
		GotConn:              func(httptrace.GotConnInfo) { v.tm.gotConn.Store(now()) },
		GotFirstResponseByte: func() { v.tm.firstByte.Store(now()) },
	}
	v.traceCtx = httptrace.WithClientTrace(context.Background(), tr)
	return v
}

func pickWeighted(cum []float64, r *rand.Rand) int {
	if len(cum) <= 1 {
		return 0
	}
	x := r.Float64() * cum[len(cum)-1]
	return sort.SearchFloat64s(cum, x+1e-12) % len(cum)
}

func (v *vu) lookup(name string) string {
	if s, ok := v.vars[name]; ok {
		return s
	}
	return v.r.cp.plan.Variables[name]
}

func (v *vu) feedValue(feed int, col string) string {
	row := v.rows[feed]
	f := v.r.cp.feeds[feed]
	if i, ok := f.colIdx[col]; ok && i < len(row) {
		return row[i]
	}
	return ""
}

// iterate runs one iteration of sc. intended is the scheduled start (open models) or now (closed).
// ctx is cancelled at a hard stop.
func (v *vu) iterate(ctx context.Context, sc *cscenario, intended time.Time) {
	v.iteration++
	clear(v.vars)
	v.jar.reset()
	for _, f := range sc.feeds {
		fd := v.r.cp.feeds[f]
		idx := v.id
		if fd.mode == "unique" {
			if v.claimed[f] == -2 {
				v.claimed[f] = fd.claim()
			}
			idx = v.claimed[f]
		}
		row, err := fd.pick(idx, v.rng)
		if err != nil {
			v.r.rec.record(v.shard, &sample{series: sc.steps[0].series, class: ErrFeed, noRequest: true})
			return
		}
		v.rows[f] = row
	}
	for i, st := range sc.steps {
		if ctx.Err() != nil {
			return
		}
		if i > 0 {
			intended = time.Now()
		}
		if v.r.cap != nil {
			if v.r.cap.wait(ctx) != nil {
				return
			}
		}
		if !v.do(ctx, st, intended) {
			return
		}
		if st.think != nil {
			if sleepCtx(ctx, st.think.sample(v.rng)) != nil {
				return
			}
		}
	}
}

// do sends one request and records it; it returns false when the iteration must stop.
func (v *vu) do(ctx context.Context, st *cstep, intended time.Time) bool {
	u, err := v.resolveURL(st)
	if err != nil {
		v.r.rec.record(v.shard, &sample{series: st.series, class: ErrOther, response: time.Since(intended)})
		return false
	}
	var body io.Reader
	var bodyLen int64
	if st.body != nil {
		b := st.body.render(nil, v)
		body, bodyLen = bytes.NewReader(b), int64(len(b))
	} else if st.rawBody != nil {
		body, bodyLen = bytes.NewReader(st.rawBody), int64(len(st.rawBody))
	}
	rctx, cancel := context.WithTimeout(ctx, st.timeout)
	defer cancel()
	// The trace lives in the VU's base context; copy its value onto this request's context.
	rctx = httptrace.WithClientTrace(rctx, httptrace.ContextClientTrace(v.traceCtx))
	req, err := http.NewRequestWithContext(rctx, st.method, "", body)
	if err != nil {
		v.r.rec.record(v.shard, &sample{series: st.series, class: ErrOther})
		return false
	}
	req.URL, req.Host = u, u.Host
	req.ContentLength = bodyLen
	out := int64(len(st.method) + len(u.RequestURI()) + len(u.Host) + 30)
	for _, h := range st.headers {
		val := h.val.renderString(v)
		req.Header[h.key] = []string{val}
		out += int64(len(h.key) + len(val) + 4)
	}
	for _, h := range v.devHdrs {
		req.Header[h.key] = []string{h.val.segs[0].lit}
	}
	if v.userAgent != "" {
		req.Header["User-Agent"] = []string{v.userAgent}
	}
	out += bodyLen
	v.tm.reset()

	start := time.Now()
	resp, err := v.client.Do(req)
	s := sample{series: st.series, bytesOut: out}
	if err != nil {
		end := time.Now()
		s.service, s.response = end.Sub(v.sendStart(start)), end.Sub(intended)
		s.class = classify(err)
		if ctx.Err() != nil && s.class == ErrTimeout {
			// a hard stop cancelled the request: not the target's fault, do not record it
			return false
		}
		v.fillTiming(&s, start, end)
		v.r.noteError(s.class, err)
		s.checksFail = len(st.checks)
		v.r.rec.record(v.shard, &s)
		return len(st.extract) == 0
	}
	v.body.Reset()
	var n int64
	var rerr error
	if st.needBody {
		n, rerr = v.body.ReadFrom(io.LimitReader(resp.Body, maxBodyKept))
		if rerr == nil {
			var m int64
			m, rerr = io.Copy(io.Discard, resp.Body)
			n += m
		}
	} else {
		n, rerr = io.Copy(io.Discard, resp.Body)
	}
	resp.Body.Close()
	end := time.Now()
	s.service, s.response = end.Sub(v.sendStart(start)), end.Sub(intended)
	s.status = resp.StatusCode
	s.bytesIn = n + headerBytes(resp.Header)
	v.fillTiming(&s, start, end)
	switch {
	case rerr != nil:
		s.class = classify(rerr)
		v.r.noteError(s.class, rerr)
	case resp.StatusCode >= 500:
		s.class = ErrHTTP5xx
	case resp.StatusCode >= 400:
		s.class = ErrHTTP4xx
	}
	r := response{status: resp.StatusCode, header: resp.Header, body: v.body.Bytes(), service: s.service, cookies: resp.Cookies, vu: v}
	for _, c := range st.checks {
		if c.eval(&r) {
			s.checksPass++
		} else {
			s.checksFail++
		}
	}
	ok := true
	for _, x := range st.extract {
		val, found := x.extract(&r)
		if !found {
			if x.def == nil {
				ok = false
				continue
			}
			val = *x.def
		}
		v.vars[x.name] = val
	}
	v.r.rec.record(v.shard, &s)
	if !ok {
		v.r.rec.record(v.shard, &sample{series: st.series, class: ErrExtract, noRequest: true})
	}
	return ok
}

// sendStart is when the request could actually be sent: when it got its connection (after any wait
// for a free connection, DNS, connect and TLS), or start when the trace did not fire.
func (v *vu) sendStart(start time.Time) time.Time {
	if gc := v.tm.gotConn.Load(); gc > start.UnixNano() {
		return time.Unix(0, gc)
	}
	return start
}

func (v *vu) fillTiming(s *sample, start, end time.Time) {
	t := &v.tm
	s.dns = span(&t.dnsStart, &t.dnsDone)
	s.connect = span(&t.connStart, &t.connDone)
	s.tls = span(&t.tlsStart, &t.tlsDone)
	if fb := t.firstByte.Load(); fb != 0 && fb >= start.UnixNano() {
		s.ttfb = time.Duration(fb - start.UnixNano())
		s.transfer = end.Sub(time.Unix(0, fb))
	}
}

func headerBytes(h http.Header) int64 {
	n := int64(17) // status line
	for k, vs := range h {
		for _, v := range vs {
			n += int64(len(k) + len(v) + 4)
		}
	}
	return n
}

func (v *vu) resolveURL(st *cstep) (*url.URL, error) {
	raw := st.url.renderString(v)
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if !u.IsAbs() {
		if st.base == nil {
			return nil, &url.Error{Op: "parse", URL: raw, Err: errNoBase}
		}
		// "/login" joins to the base URL's path (which ends in /) instead of replacing it.
		rel, err := url.Parse(strings.TrimPrefix(raw, "/"))
		if err != nil {
			return nil, err
		}
		u = st.base.ResolveReference(rel)
	}
	return u, nil
}

type constErr string

func (e constErr) Error() string { return string(e) }

const errNoBase = constErr("relative URL and no targets.base_url")
