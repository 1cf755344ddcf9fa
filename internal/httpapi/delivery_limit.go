package httpapi

import (
	"math"
	"strconv"
	"sync"
	"time"
)

// limiter is a token bucket per key id: each key earns rate tokens a second up to burst, and a request spends
// one. A nil *limiter allows everything.
type limiter struct {
	rate  float64
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, burst int) *limiter {
	b := float64(burst)
	if burst <= 0 {
		b = math.Max(1, rate)
	}
	return &limiter{rate: rate, burst: b, now: time.Now, buckets: map[string]*bucket{}}
}

// allow spends a token of key's bucket. When there is none it returns false and the whole seconds until there
// will be one (at least 1), for Retry-After.
func (l *limiter) allow(key string) (ok bool, retryAfter int) {
	if l == nil {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, max(1, int(math.Ceil((1-b.tokens)/l.rate)))
}

// rateLimited is the error of a request over its key's rate: 429 with Retry-After. It is not a domain error:
// it never leaves the HTTP layer.
type rateLimited struct{ retry int }

func (e *rateLimited) Error() string {
	return "rate limit exceeded; retry after " + strconv.Itoa(e.retry) + " s"
}
