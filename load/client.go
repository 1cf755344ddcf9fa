package load

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// HostNotAllowedError is returned when a request would reach a host that is neither loopback nor
// allowed: listed in the plan's targets.allowed_hosts and confirmed with Options.AllowNonLoopback.
// The check runs at dial time, after DNS resolution and after every redirect.
type HostNotAllowedError struct {
	Host string
	IP   string
	// Listed is true when the host is in allowed_hosts but the run was not confirmed.
	Listed bool
}

func (e *HostNotAllowedError) Error() string {
	if e.Listed {
		return fmt.Sprintf("host %s (%s) is in allowed_hosts but non-loopback targets were not confirmed (use --allow-non-loopback)", e.Host, e.IP)
	}
	return fmt.Sprintf("host %s (%s) is not loopback and not in the plan's targets.allowed_hosts", e.Host, e.IP)
}

// guard decides which addresses the engine may dial.
type guard struct {
	allowed   map[string]bool
	confirmed bool
	resolver  *net.Resolver
}

func newGuard(hosts []string, confirmed bool) *guard {
	g := &guard{allowed: map[string]bool{}, confirmed: confirmed, resolver: net.DefaultResolver}
	for _, h := range hosts {
		g.allowed[strings.ToLower(strings.TrimSuffix(h, "."))] = true
	}
	return g
}

func (g *guard) permit(host string, ip netip.Addr) error {
	if ip.Unmap().IsLoopback() {
		return nil
	}
	listed := g.allowed[strings.ToLower(strings.TrimSuffix(host, "."))] || g.allowed[ip.Unmap().String()]
	if listed && g.confirmed {
		return nil
	}
	return &HostNotAllowedError{Host: host, IP: ip.String(), Listed: listed}
}

// dialer resolves, checks every candidate address, and dials only permitted ones. wrap, when set,
// shapes the connection (network profiles).
func (g *guard) dialer(wrap func(net.Conn) net.Conn, ports *atomic.Int64) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		var ips []netip.Addr
		if ip, err := netip.ParseAddr(host); err == nil {
			ips = []netip.Addr{ip}
		} else {
			trace := httptrace.ContextClientTrace(ctx)
			if trace != nil && trace.DNSStart != nil {
				trace.DNSStart(httptrace.DNSStartInfo{Host: host})
			}
			ips, err = g.resolver.LookupNetIP(ctx, "ip", host)
			if trace != nil && trace.DNSDone != nil {
				trace.DNSDone(httptrace.DNSDoneInfo{Err: err})
			}
			if err != nil {
				return nil, err
			}
		}
		var firstErr error
		for _, ip := range ips {
			if err := g.permit(host, ip); err != nil {
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			c, err := d.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
			if err != nil {
				if firstErr == nil || isHostNotAllowed(firstErr) {
					firstErr = err
				}
				continue
			}
			ports.Add(1)
			if wrap != nil {
				c = wrap(c)
			}
			return c, nil
		}
		if firstErr == nil {
			firstErr = fmt.Errorf("no address for %s", host)
		}
		return nil, firstErr
	}
}

func isHostNotAllowed(err error) bool {
	var h *HostNotAllowedError
	return errors.As(err, &h)
}

func newTransport(g *guard, wrap func(net.Conn) net.Conn, maxConns, perHost int, insecure bool, dials *atomic.Int64) *http.Transport {
	return &http.Transport{
		MaxConnsPerHost:       perHost,
		DialContext:           g.dialer(wrap, dials),
		MaxIdleConns:          maxConns,
		MaxIdleConnsPerHost:   maxConns,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		ForceAttemptHTTP2:     true,
		TLSClientConfig:       &tls.Config{InsecureSkipVerify: insecure}, //nolint:gosec // opt-in flag for test targets
	}
}

// classify maps a transport error to its class.
func classify(err error) ErrorClass {
	if err == nil {
		return ErrNone
	}
	if isHostNotAllowed(err) {
		return ErrNotAllowed
	}
	var dnsErr *net.DNSError
	var tlsErr *tls.RecordHeaderError
	var certErr *tls.CertificateVerificationError
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return ErrTimeout
	case errors.As(err, &ne) && ne.Timeout():
		return ErrTimeout
	case errors.As(err, &dnsErr):
		return ErrDNS
	case errors.Is(err, syscall.EADDRNOTAVAIL), errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE), errors.Is(err, syscall.ENOBUFS):
		return ErrLocal
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return ErrConnect
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return ErrReset
	case errors.As(err, &tlsErr), errors.As(err, &certErr):
		return ErrTLS
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ErrEOF
	}
	if strings.Contains(err.Error(), "tls:") {
		return ErrTLS
	}
	return ErrOther
}

// jar is a per-VU cookie jar, reset at every iteration. It keeps one value per cookie name: a journey
// talks to one site.
type jar struct {
	mu      sync.Mutex
	cookies map[string]*http.Cookie
}

func (j *jar) SetCookies(_ *url.URL, cs []*http.Cookie) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, c := range cs {
		if j.cookies == nil {
			j.cookies = map[string]*http.Cookie{}
		}
		if c.MaxAge < 0 {
			delete(j.cookies, c.Name)
			continue
		}
		j.cookies[c.Name] = &http.Cookie{Name: c.Name, Value: c.Value}
	}
}

func (j *jar) Cookies(*url.URL) []*http.Cookie {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.cookies) == 0 {
		return nil
	}
	out := make([]*http.Cookie, 0, len(j.cookies))
	for _, c := range j.cookies {
		out = append(out, c)
	}
	return out
}

func (j *jar) get(name string) (string, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if c, ok := j.cookies[name]; ok {
		return c.Value, true
	}
	return "", false
}

func (j *jar) reset() {
	j.mu.Lock()
	clear(j.cookies)
	j.mu.Unlock()
}

// rateCap spaces all requests of a run at least 1/rate apart (a global cap), without a goroutine.
type rateCap struct {
	interval int64 // ns
	next     atomic.Int64
	start    time.Time
}

func newRateCap(rate float64) *rateCap {
	if rate <= 0 {
		return nil
	}
	return &rateCap{interval: int64(float64(time.Second) / rate), start: time.Now()}
}

// wait blocks until the caller's slot.
func (r *rateCap) wait(ctx context.Context) error {
	if r == nil {
		return nil
	}
	now := int64(time.Since(r.start))
	for {
		n := r.next.Load()
		slot := max(n, now)
		if r.next.CompareAndSwap(n, slot+r.interval) {
			if d := time.Duration(slot - now); d > 0 {
				return sleepCtx(ctx, d)
			}
			return nil
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
