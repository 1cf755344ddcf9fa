package load

// h1 is the engine's own HTTP/1.1 client for plain-http requests. Each VU owns its connections and
// does the whole exchange on its own goroutine: one write of a request built in a reused buffer,
// then buffered reads of the response. net/http hands every request between three goroutines
// (caller, writeLoop, readLoop) and allocates a few dozen objects per request; on a 2-core machine
// that costs several times the CPU of the exchange itself (see BenchmarkGeneratorCPU). net/http
// stays the path for https targets, for max_connections and for HTTP/2; a redirect from http to
// https is not followed here (the 3xx is the response).

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"sync"
	"time"
)

type h1conn struct {
	c      net.Conn
	br     *bufio.Reader
	reused bool
}

// h1client is one VU's client; it is used by one goroutine at a time, except stop, which a hard
// stop calls from another goroutine to unblock the connection in use.
type h1client struct {
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	conns   map[string]*h1conn // one idle connection per host:port
	wbuf    []byte
	timeout time.Duration
	trace   *httptrace.ClientTrace

	mu      sync.Mutex
	cur     net.Conn
	stopped bool
	stopCtx context.Context // the context watched by the registered stop
	unwatch func() bool     // deregisters it; a retired VU must not stay reachable from the context
}

// watch arranges for a cancellation of ctx to unblock the connection in use. It registers once per
// context (a VU serves one executor), not once per request.
func (h *h1client) watch(ctx context.Context) {
	if h.stopCtx == ctx {
		return
	}
	if h.unwatch != nil {
		h.unwatch()
	}
	h.stopCtx = ctx
	h.unwatch = context.AfterFunc(ctx, h.stop)
}

func (h *h1client) stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopped = true
	if h.cur != nil {
		h.cur.SetDeadline(time.Unix(1, 0))
	}
}

// use marks c as the connection in use (nil: none); it fails once stopped.
func (h *h1client) use(c net.Conn) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped && c != nil {
		return context.Canceled
	}
	h.cur = c
	return nil
}

// h1result is a response as the engine needs it.
type h1result struct {
	status     int
	header     http.Header // filled only when asked for
	setCookies []string
	cookies    []*http.Cookie // parsed from the last hop's setCookies
	location   string
	bytesIn    int64
	sendStart  time.Time
	firstByte  time.Time
	dial       time.Duration
}

func (h *h1client) close() {
	if h.unwatch != nil {
		h.unwatch()
		h.unwatch = nil
	}
	for k, c := range h.conns {
		c.c.Close()
		delete(h.conns, k)
	}
}

// exchange sends one request (following redirects) and reads the response; the body is appended to
// body when keepBody, else discarded.
func (h *h1client) exchange(ctx context.Context, v *vu, st *cstep, u *url.URL, reqBody []byte, keepBody bool, body *bytes.Buffer, res *h1result) error {
	method := st.method
	for hops := 0; ; hops++ {
		res.setCookies = res.setCookies[:0]
		if err := h.once(ctx, v, st, method, u, reqBody, keepBody, body, res); err != nil {
			return err
		}
		// cookies set by every hop, redirects included, go to the VU's jar
		if len(res.setCookies) > 0 {
			res.cookies = res.cookies[:0]
			for _, line := range res.setCookies {
				if c, err := http.ParseSetCookie(line); err == nil {
					res.cookies = append(res.cookies, c)
				}
			}
			v.jar.SetCookies(u, res.cookies)
		}
		switch res.status {
		case 301, 302, 303, 307, 308:
		default:
			return nil
		}
		loc := res.location
		if loc == "" || hops >= 9 {
			return nil
		}
		next, err := u.Parse(loc)
		if err != nil || next.Scheme != "http" {
			// A broken Location is the target's problem, and this client does not follow to
			// https: report the 3xx itself rather than send the request again another way.
			return nil
		}
		if res.status == 303 || ((res.status == 301 || res.status == 302) && method == http.MethodPost) {
			method, reqBody = http.MethodGet, nil
		}
		u = next
		body.Reset()
	}
}

func (h *h1client) conn(ctx context.Context, hostport string, res *h1result) (*h1conn, error) {
	if c, ok := h.conns[hostport]; ok {
		delete(h.conns, hostport)
		return c, nil
	}
	if h.trace != nil {
		ctx = httptrace.WithClientTrace(ctx, h.trace) // DNS timing, on new connections only
	}
	t0 := time.Now()
	c, err := h.dial(ctx, "tcp", hostport)
	res.dial = time.Since(t0)
	if err != nil {
		return nil, err
	}
	return &h1conn{c: c, br: bufio.NewReaderSize(c, 4<<10)}, nil
}

func (h *h1client) once(ctx context.Context, v *vu, st *cstep, method string, u *url.URL, reqBody []byte, keepBody bool, body *bytes.Buffer, res *h1result) error {
	hostport := u.Host
	if u.Port() == "" {
		hostport = net.JoinHostPort(u.Hostname(), "80")
	}
	var err error
	h.wbuf, err = h.buildRequest(h.wbuf[:0], v, st, method, u, reqBody)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		c, err := h.conn(ctx, hostport, res)
		if err != nil {
			return err
		}
		res.sendStart = time.Now()
		keep, n, err := h.roundTrip(ctx, c, method, keepBody, body, res)
		res.bytesIn += n
		if err != nil {
			c.c.Close()
			// A reused keep-alive connection the server had already closed: nothing of the
			// response arrived, so send again on a new connection, once.
			if c.reused && n == 0 && attempt == 0 && ctx.Err() == nil && (errors.Is(err, io.EOF) || classify(err) == ErrReset) {
				body.Reset()
				continue
			}
			return err
		}
		if keep {
			c.reused = true
			h.conns[hostport] = c
		} else {
			c.c.Close()
		}
		return nil
	}
}

func (h *h1client) buildRequest(b []byte, v *vu, st *cstep, method string, u *url.URL, reqBody []byte) ([]byte, error) {
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, u.RequestURI()...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, u.Host...)
	b = append(b, "\r\n"...)
	hasUA := v.userAgent != ""
	for _, hd := range st.headers {
		if hd.key == "User-Agent" {
			hasUA = true
		}
		val := hd.val.renderString(v)
		if !validHeaderValue(val) {
			return b, fmt.Errorf("header %s: value contains a line break", hd.key)
		}
		b = appendHeader(b, hd.key, val)
	}
	for _, hd := range v.devHdrs {
		b = appendHeader(b, hd.key, hd.val.segs[0].lit)
	}
	if v.userAgent != "" {
		b = appendHeader(b, "User-Agent", v.userAgent)
	} else if !hasUA {
		b = append(b, "User-Agent: ramp\r\n"...)
	}
	if cookies := v.jar.Cookies(u); len(cookies) > 0 {
		b = append(b, "Cookie: "...)
		for i, c := range cookies {
			if i > 0 {
				b = append(b, "; "...)
			}
			b = append(b, c.Name...)
			b = append(b, '=')
			b = append(b, c.Value...)
		}
		b = append(b, "\r\n"...)
	}
	if reqBody != nil || method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(reqBody)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	b = append(b, reqBody...)
	return b, nil
}

func appendHeader(b []byte, k, v string) []byte {
	b = append(b, k...)
	b = append(b, ": "...)
	b = append(b, v...)
	return append(b, "\r\n"...)
}

func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '\r' || s[i] == '\n' {
			return false
		}
	}
	return true
}

// roundTrip writes the built request on c and reads the response. n is the number of response bytes
// read (0 means nothing arrived). keep says whether the connection may be reused.
func (h *h1client) roundTrip(ctx context.Context, c *h1conn, method string, keepBody bool, body *bytes.Buffer, res *h1result) (keep bool, n int64, err error) {
	if err := h.use(c.c); err != nil {
		return false, 0, err
	}
	defer h.use(nil) //nolint:errcheck // clearing never fails
	if h.timeout > 0 {
		c.c.SetDeadline(time.Now().Add(h.timeout))
	}
	if _, err := c.c.Write(h.wbuf); err != nil {
		return false, 0, err
	}
	br := c.br
	line, err := br.ReadSlice('\n')
	if err != nil {
		return false, int64(len(line)), err
	}
	res.firstByte = time.Now()
	n = int64(len(line))
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return false, n, fmt.Errorf("malformed status line %q", bytes.TrimSpace(line))
	}
	http10 := line[7] == '0'
	code, err := strconv.Atoi(string(line[9:12]))
	if err != nil || code < 100 {
		return false, n, fmt.Errorf("malformed status line %q", bytes.TrimSpace(line))
	}
	res.status = code
	keep = !http10
	contentLength, chunked := int64(-1), false
	for {
		line, err = br.ReadSlice('\n')
		n += int64(len(line))
		if err != nil {
			return false, n, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return false, n, fmt.Errorf("malformed header line %q", line)
		}
		name, val := line[:colon], bytes.TrimSpace(line[colon+1:])
		switch {
		case asciiEqualFold(name, "content-length"):
			contentLength, err = strconv.ParseInt(string(val), 10, 64)
			if err != nil || contentLength < 0 {
				return false, n, fmt.Errorf("bad Content-Length %q", val)
			}
		case asciiEqualFold(name, "transfer-encoding"):
			chunked = bytes.Contains(bytes.ToLower(val), []byte("chunked"))
		case asciiEqualFold(name, "connection"):
			if bytes.EqualFold(val, []byte("close")) {
				keep = false
			} else if http10 && bytes.EqualFold(val, []byte("keep-alive")) {
				keep = true
			}
		case asciiEqualFold(name, "set-cookie"):
			res.setCookies = append(res.setCookies, string(val))
		case asciiEqualFold(name, "location"):
			res.location = string(val)
		}
		if res.header != nil {
			k := http.CanonicalHeaderKey(string(name))
			res.header[k] = append(res.header[k], string(val))
		}
	}
	if code == 100 {
		// an unsolicited 100 Continue: the real response follows
		return h.readAfterContinue(ctx, c, method, keepBody, body, res, n)
	}
	if method == http.MethodHead || code == 204 || code == 304 || (code >= 100 && code < 200) {
		return keep, n, nil
	}
	var m int64
	switch {
	case chunked:
		m, err = readChunked(br, keepBody, body)
	case contentLength >= 0:
		m, err = readN(br, contentLength, keepBody, body)
	default:
		keep = false
		m, err = readN(br, -1, keepBody, body)
	}
	n += m
	return keep && err == nil, n, err
}

func (h *h1client) readAfterContinue(ctx context.Context, c *h1conn, method string, keepBody bool, body *bytes.Buffer, res *h1result, n int64) (bool, int64, error) {
	for k := range res.header {
		delete(res.header, k)
	}
	res.setCookies = res.setCookies[:0]
	res.location = ""
	// re-enter the status-line read without writing again
	saved := h.wbuf
	h.wbuf = nil
	keep, m, err := h.roundTrip(ctx, c, method, keepBody, body, res)
	h.wbuf = saved
	return keep, n + m, err
}

// readN reads n body bytes (until EOF when n < 0), keeping up to maxBodyKept of them.
func readN(br *bufio.Reader, n int64, keep bool, body *bytes.Buffer) (int64, error) {
	if !keep {
		if n < 0 {
			return io.Copy(io.Discard, br)
		}
		var done int64
		for done < n {
			d, err := br.Discard(int(min(n-done, 1<<30)))
			done += int64(d)
			if err != nil {
				return done, err
			}
		}
		return done, nil
	}
	var r io.Reader = br
	if n >= 0 {
		r = io.LimitReader(br, n)
	}
	room := int64(maxBodyKept - body.Len())
	got, err := body.ReadFrom(io.LimitReader(r, max(room, 0)))
	if err != nil {
		return got, err
	}
	more, err := io.Copy(io.Discard, r)
	got += more
	if n >= 0 && got < n && err == nil {
		err = io.ErrUnexpectedEOF
	}
	return got, err
}

func readChunked(br *bufio.Reader, keep bool, body *bytes.Buffer) (int64, error) {
	var total int64
	for {
		line, err := br.ReadSlice('\n')
		total += int64(len(line))
		if err != nil {
			return total, err
		}
		size := bytes.TrimRight(line, "\r\n")
		if i := bytes.IndexByte(size, ';'); i >= 0 {
			size = size[:i]
		}
		sz, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 64)
		if err != nil || sz < 0 {
			return total, fmt.Errorf("bad chunk size %q", size)
		}
		if sz == 0 {
			for { // trailers
				line, err := br.ReadSlice('\n')
				total += int64(len(line))
				if err != nil {
					return total, err
				}
				if len(bytes.TrimRight(line, "\r\n")) == 0 {
					return total, nil
				}
			}
		}
		m, err := readN(br, sz, keep, body)
		total += m
		if err != nil {
			return total, err
		}
		crlf, err := br.ReadSlice('\n')
		total += int64(len(crlf))
		if err != nil {
			return total, err
		}
	}
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
