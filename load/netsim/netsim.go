// Package netsim shapes network connections in user space, without root: added latency with jitter,
// bandwidth caps with a token bucket per direction, and injected connection resets. The load engine
// wraps the connections of VUs that use a network profile; anything else that dials can use it too.
// It imports only the standard library.
package netsim

import (
	"math/rand/v2"
	"net"
	"sort"
	"sync"
	"syscall"
	"time"
)

// Profile describes a network. The zero value changes nothing.
type Profile struct {
	// Latency is added once per exchange: the first data read after a write (the response to a
	// request) is delivered Latency later, so a request/response pays one round trip of it.
	Latency time.Duration
	// Jitter is the half-width of a uniform variation around Latency.
	Jitter time.Duration
	// DownKbps and UpKbps cap throughput in kilobits per second (0: unlimited).
	DownKbps float64
	UpKbps   float64
	// ResetRate is the probability that a connection is reset when its first response arrives.
	ResetRate float64
}

// Presets are typical profiles, close to the throttling presets of browser developer tools.
var Presets = map[string]Profile{
	"slow-3g": {Latency: 400 * time.Millisecond, Jitter: 100 * time.Millisecond, DownKbps: 400, UpKbps: 400},
	"3g":      {Latency: 300 * time.Millisecond, Jitter: 50 * time.Millisecond, DownKbps: 1600, UpKbps: 750},
	"4g":      {Latency: 50 * time.Millisecond, Jitter: 10 * time.Millisecond, DownKbps: 12000, UpKbps: 4000},
	"wifi":    {Latency: 10 * time.Millisecond, Jitter: 3 * time.Millisecond, DownKbps: 30000, UpKbps: 15000},
	"lossy":   {Latency: 50 * time.Millisecond, Jitter: 20 * time.Millisecond, ResetRate: 0.05},
}

// PresetNames lists the presets in order.
func PresetNames() []string {
	out := make([]string, 0, len(Presets))
	for k := range Presets {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Wrap returns c shaped by the profile. seed makes jitter and resets repeatable.
func (p Profile) Wrap(c net.Conn, seed uint64) net.Conn {
	if p == (Profile{}) {
		return c
	}
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	sc := &conn{Conn: c, p: p, rng: rng}
	sc.doomed = p.ResetRate > 0 && rng.Float64() < p.ResetRate
	sc.down = newBucket(p.DownKbps)
	sc.up = newBucket(p.UpKbps)
	return sc
}

type conn struct {
	net.Conn
	p        Profile
	mu       sync.Mutex
	rng      *rand.Rand
	wrote    bool // a write happened since the last read
	doomed   bool
	down, up *bucket
}

func (c *conn) delay() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.p.Latency
	if c.p.Jitter > 0 {
		d += time.Duration((c.rng.Float64()*2 - 1) * float64(c.p.Jitter))
	}
	return max(d, 0)
}

func (c *conn) Read(b []byte) (int, error) {
	if c.down != nil && len(b) > c.down.burst {
		b = b[:c.down.burst]
	}
	n, err := c.Conn.Read(b)
	if n == 0 {
		return n, err
	}
	// The first data after a write is the answer to it: deliver it one latency later. (HTTP
	// clients read in the background, so the delay cannot be taken before the read.)
	c.mu.Lock()
	first := c.wrote
	c.wrote = false
	doomed := c.doomed
	c.mu.Unlock()
	if first && c.p.Latency > 0 {
		time.Sleep(c.delay())
	}
	if doomed {
		c.Conn.Close()
		return 0, &net.OpError{Op: "read", Net: "tcp", Addr: c.RemoteAddr(), Err: syscall.ECONNRESET}
	}
	if c.down != nil {
		c.down.take(n)
	}
	return n, err
}

func (c *conn) Write(b []byte) (int, error) {
	c.mu.Lock()
	c.wrote = true
	c.mu.Unlock()
	if c.up == nil {
		return c.Conn.Write(b)
	}
	written := 0
	for len(b) > 0 {
		chunk := b[:min(len(b), c.up.burst)]
		c.up.take(len(chunk))
		n, err := c.Conn.Write(chunk)
		written += n
		if err != nil {
			return written, err
		}
		b = b[n:]
	}
	return written, nil
}

// bucket is a token bucket in bytes; take blocks until n bytes fit the rate.
type bucket struct {
	mu     sync.Mutex
	rate   float64 // bytes per second
	burst  int
	tokens float64
	last   time.Time
}

func newBucket(kbps float64) *bucket {
	if kbps <= 0 {
		return nil
	}
	rate := kbps * 1000 / 8
	burst := max(int(rate/50), 1024) // 20 ms worth, at least 1 KiB
	return &bucket{rate: rate, burst: burst, tokens: float64(burst), last: time.Now()}
}

func (b *bucket) take(n int) {
	b.mu.Lock()
	now := time.Now()
	b.tokens = min(b.tokens+now.Sub(b.last).Seconds()*b.rate, float64(b.burst))
	b.last = now
	b.tokens -= float64(n)
	var wait time.Duration
	if b.tokens < 0 {
		wait = time.Duration(-b.tokens / b.rate * float64(time.Second))
	}
	b.mu.Unlock()
	if wait > 0 {
		time.Sleep(wait)
	}
}
