package load

// A VU (virtual user) executes one scenario iteration at a time: its steps in order, carrying
// extracted values and cookies from step to step. Everything a VU touches per request is its own
// (buffers, variables, trace timestamps), so the only shared state on this path is the recorder shard
// and the HTTP connection pool.

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
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

	h1      *h1client
	h1res   h1result
	reqBody []byte
	resp    response
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
	if r.useH1 {
		v.h1 = &h1client{dial: r.dialer(network), conns: map[string]*h1conn{}, trace: tr}
	}
	return v
}

// close releases the VU's own connections.
func (v *vu) close() {
	if v.h1 != nil {
		v.h1.close()
	}
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
		v.r.noteError(ErrOther, err)
		v.r.rec.record(v.shard, &sample{series: st.series, class: ErrOther, response: time.Since(intended)})
		return false
	}
	var reqBody []byte
	if st.body != nil {
		v.reqBody = st.body.render(v.reqBody[:0], v)
		reqBody = v.reqBody
	} else if st.rawBody != nil {
		reqBody = st.rawBody
	}
	v.body.Reset()
	v.tm.reset()
	s := sample{series: st.series}
	var x exchangeResult
	if v.h1 != nil && u.Scheme == "http" {
		x = v.exchangeH1(ctx, st, u, reqBody)
	} else {
		x = v.exchangeStd(ctx, st, u, reqBody)
	}
	end := time.Now()
	s.bytesOut, s.bytesIn = x.bytesOut, x.bytesIn
	send := x.start
	if x.sendStart.After(send) {
		send = x.sendStart
	}
	s.service, s.response = end.Sub(send), end.Sub(intended)
	s.dns, s.connect, s.tls = x.dns, x.connect, x.tls
	if !x.firstByte.IsZero() && !x.firstByte.Before(x.start) {
		s.ttfb, s.transfer = x.firstByte.Sub(x.start), end.Sub(x.firstByte)
	}
	if x.err != nil && x.status == 0 {
		s.class = classify(x.err)
		if ctx.Err() != nil && (s.class == ErrTimeout || errors.Is(x.err, context.Canceled)) {
			// a hard stop cancelled the request: not the target's doing, do not record it
			return false
		}
		v.r.noteError(s.class, x.err)
		s.checksFail = len(st.checks)
		v.r.rec.record(v.shard, &s)
		return len(st.extract) == 0
	}
	s.status = x.status
	switch {
	case x.err != nil:
		s.class = classify(x.err)
		v.r.noteError(s.class, x.err)
	case x.status >= 500:
		s.class = ErrHTTP5xx
	case x.status >= 400:
		s.class = ErrHTTP4xx
	}
	// the VU's own response value: checks and extractors are indirect calls, so a local would
	// escape and cost an allocation per request
	v.resp = response{status: x.status, header: x.header, body: v.body.Bytes(), service: s.service, cookies: x.cookies, vu: v}
	r := &v.resp
	for _, c := range st.checks {
		if c.eval(r) {
			s.checksPass++
		} else {
			s.checksFail++
		}
	}
	ok := true
	for _, xt := range st.extract {
		val, found := xt.extract(r)
		if !found {
			if xt.def == nil {
				ok = false
				continue
			}
			val = *xt.def
		}
		v.vars[xt.name] = val
	}
	v.r.rec.record(v.shard, &s)
	if !ok {
		v.r.rec.record(v.shard, &sample{series: st.series, class: ErrExtract, noRequest: true})
	}
	return ok
}

// exchangeResult is one request's outcome, from either client.
type exchangeResult struct {
	status            int
	header            http.Header
	cookies           func() []*http.Cookie
	err               error
	start, sendStart  time.Time
	firstByte         time.Time
	dns, connect, tls time.Duration
	bytesIn, bytesOut int64
}

var noCookies = func() []*http.Cookie { return nil }

func (v *vu) exchangeH1(ctx context.Context, st *cstep, u *url.URL, reqBody []byte) exchangeResult {
	v.h1.watch(ctx)
	v.h1.timeout = st.timeout
	res := &v.h1res
	*res = h1result{header: v.h1res.header, setCookies: v.h1res.setCookies[:0], cookies: v.h1res.cookies[:0]}
	if st.needHeaders {
		if res.header == nil {
			res.header = http.Header{}
		}
		clear(res.header)
	} else {
		res.header = nil
	}
	x := exchangeResult{start: time.Now(), cookies: noCookies}
	x.err = v.h1.exchange(ctx, v, st, u, reqBody, st.needBody, &v.body, res)
	if x.err != nil && ctx.Err() != nil {
		x.err = ctx.Err() // a hard stop, not a timeout of the target
	}
	x.status, x.header, x.sendStart, x.firstByte = res.status, res.header, res.sendStart, res.firstByte
	x.dns = span(&v.tm.dnsStart, &v.tm.dnsDone)
	x.connect = max(res.dial-x.dns, 0)
	if x.header == nil {
		x.header = emptyHeader
	}
	x.bytesOut = int64(len(v.h1.wbuf))
	x.bytesIn = res.bytesIn
	if len(res.cookies) > 0 {
		cs := res.cookies
		x.cookies = func() []*http.Cookie { return cs }
	}
	return x
}

var emptyHeader = http.Header{}

func (v *vu) exchangeStd(ctx context.Context, st *cstep, u *url.URL, reqBody []byte) exchangeResult {
	x := exchangeResult{cookies: noCookies}
	var body io.Reader
	if reqBody != nil {
		body = bytes.NewReader(reqBody)
	}
	rctx, cancel := context.WithTimeout(ctx, st.timeout)
	defer cancel()
	// The trace lives in the VU's base context; copy it onto this request's context.
	rctx = httptrace.WithClientTrace(rctx, httptrace.ContextClientTrace(v.traceCtx))
	req, err := http.NewRequestWithContext(rctx, st.method, "", body)
	if err != nil {
		x.err = err
		return x
	}
	req.URL, req.Host = u, u.Host
	req.ContentLength = int64(len(reqBody))
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
	x.bytesOut = out + int64(len(reqBody))
	x.start = time.Now()
	resp, err := v.client.Do(req)
	t := &v.tm
	x.dns, x.connect, x.tls = span(&t.dnsStart, &t.dnsDone), span(&t.connStart, &t.connDone), span(&t.tlsStart, &t.tlsDone)
	if gc := t.gotConn.Load(); gc != 0 {
		x.sendStart = time.Unix(0, gc)
	}
	if fb := t.firstByte.Load(); fb != 0 {
		x.firstByte = time.Unix(0, fb)
	}
	if err != nil {
		x.err = err
		return x
	}
	var n int64
	if st.needBody {
		n, err = v.body.ReadFrom(io.LimitReader(resp.Body, maxBodyKept))
		if err == nil {
			var m int64
			m, err = io.Copy(io.Discard, resp.Body)
			n += m
		}
	} else {
		n, err = io.Copy(io.Discard, resp.Body)
	}
	resp.Body.Close()
	x.err = err
	x.status, x.header, x.cookies = resp.StatusCode, resp.Header, resp.Cookies
	x.bytesIn = n + headerBytes(resp.Header)
	return x
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
	if st.fixedURL != nil {
		return st.fixedURL, nil // shared and never modified: requests copy what they change
	}
	return resolveAgainst(st.base, st.url.renderString(v))
}

// resolveAgainst parses raw and joins a relative URL to base ("/login" joins to the base URL's path,
// which ends in /, instead of replacing it).
func resolveAgainst(base *url.URL, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if !u.IsAbs() {
		if base == nil {
			return nil, &url.Error{Op: "parse", URL: raw, Err: errNoBase}
		}
		rel, err := url.Parse(strings.TrimPrefix(raw, "/"))
		if err != nil {
			return nil, err
		}
		u = base.ResolveReference(rel)
	}
	return u, nil
}

type constErr string

func (e constErr) Error() string { return string(e) }

const errNoBase = constErr("relative URL and no targets.base_url")
