package load

// Recording is the hot path. Workers never share a histogram: each VU records into one of a few
// shards (about one per CPU), each guarded by a mutex that only the collector contends for, once a
// second, when it merges and resets the shard (fortio's per-worker histograms, merged on read). Memory
// is the histograms and fixed-size counters, so it does not grow with the number of requests.

import (
	"runtime"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Histograms record microseconds from 1 µs to 1 h with 3 significant digits.
const (
	histLowest  = 1
	histHighest = int64(time.Hour / time.Microsecond)
	histSigFigs = 3
)

func newHist() *hdr.Histogram { return hdr.New(histLowest, histHighest, histSigFigs) }

func recordDur(h *hdr.Histogram, d time.Duration) {
	us := int64(d / time.Microsecond)
	if us < histLowest {
		us = histLowest
	} else if us > histHighest {
		us = histHighest
	}
	_ = h.RecordValue(us)
}

// ErrorClass groups request failures.
type ErrorClass uint8

// Error classes. HTTP 4xx and 5xx responses are request errors too.
const (
	ErrNone ErrorClass = iota
	ErrTimeout
	ErrDNS
	ErrConnect
	ErrReset
	ErrTLS
	ErrEOF
	ErrNotAllowed
	ErrLocal // generator side: port or file descriptor exhaustion
	ErrHTTP4xx
	ErrHTTP5xx
	ErrExtract // an extractor found nothing: the iteration stopped
	ErrFeed    // a unique feed ran out of rows
	ErrOther
	numErrClasses
)

var errClassNames = [numErrClasses]string{"", "timeout", "dns", "connect", "reset", "tls", "eof", "host_not_allowed", "local_resources", "http_4xx", "http_5xx", "extract", "feed", "other"}

func (c ErrorClass) String() string { return errClassNames[c] }

// requestError reports whether the class counts in error_rate (iteration-level classes do not).
func (c ErrorClass) requestError() bool { return c != ErrNone && c != ErrExtract && c != ErrFeed }

// counters are the additive figures of a series over some time.
type counters struct {
	Requests   int64
	Errors     int64
	BytesIn    int64
	BytesOut   int64
	ChecksPass int64
	ChecksFail int64
	Status     [6]int64 // by status/100; [0] counts requests without a response
	ErrClass   [numErrClasses]int64
	// Sums of the timing breakdown in nanoseconds, over Requests.
	DNS, Connect, TLS, TTFB, Transfer int64
}

func (c *counters) add(o *counters) {
	c.Requests += o.Requests
	c.Errors += o.Errors
	c.BytesIn += o.BytesIn
	c.BytesOut += o.BytesOut
	c.ChecksPass += o.ChecksPass
	c.ChecksFail += o.ChecksFail
	for i := range c.Status {
		c.Status[i] += o.Status[i]
	}
	for i := range c.ErrClass {
		c.ErrClass[i] += o.ErrClass[i]
	}
	c.DNS += o.DNS
	c.Connect += o.Connect
	c.TLS += o.TLS
	c.TTFB += o.TTFB
	c.Transfer += o.Transfer
}

// sample is one request's measurements.
type sample struct {
	series                            int
	service, response                 time.Duration
	status                            int
	class                             ErrorClass
	bytesIn, bytesOut                 int64
	dns, connect, tls, ttfb, transfer time.Duration
	checksPass, checksFail            int
	noRequest                         bool // an iteration-level event (extract/feed failure), not a request
}

type shardSeries struct {
	svc, rsp *hdr.Histogram // allocated on first use
	c        counters
}

type shard struct {
	mu     sync.Mutex
	series []shardSeries
	_      [64]byte // keep shards on separate cache lines
}

// recorder is the set of shards all VUs record into.
type recorder struct {
	shards []shard
}

func newRecorder(nseries int) *recorder {
	n := runtime.GOMAXPROCS(0)
	r := &recorder{shards: make([]shard, n)}
	for i := range r.shards {
		r.shards[i].series = make([]shardSeries, nseries)
	}
	return r
}

func (r *recorder) record(shardIdx int, s *sample) {
	sh := &r.shards[shardIdx%len(r.shards)]
	sh.mu.Lock()
	ss := &sh.series[s.series]
	c := &ss.c
	if s.noRequest {
		c.ErrClass[s.class]++
		sh.mu.Unlock()
		return
	}
	if ss.svc == nil {
		ss.svc, ss.rsp = newHist(), newHist()
	}
	recordDur(ss.svc, s.service)
	recordDur(ss.rsp, s.response)
	c.Requests++
	if s.class.requestError() {
		c.Errors++
	}
	c.ErrClass[s.class]++
	if s.status >= 100 && s.status < 600 {
		c.Status[s.status/100]++
	} else {
		c.Status[0]++
	}
	c.BytesIn += s.bytesIn
	c.BytesOut += s.bytesOut
	c.ChecksPass += int64(s.checksPass)
	c.ChecksFail += int64(s.checksFail)
	c.DNS += int64(s.dns)
	c.Connect += int64(s.connect)
	c.TLS += int64(s.tls)
	c.TTFB += int64(s.ttfb)
	c.Transfer += int64(s.transfer)
	sh.mu.Unlock()
}

// seriesAgg is a series merged over shards, for an interval or the whole run.
type seriesAgg struct {
	svc, rsp *hdr.Histogram
	c        counters
}

func newSeriesAgg() *seriesAgg { return &seriesAgg{svc: newHist(), rsp: newHist()} }

func (a *seriesAgg) reset() {
	a.svc.Reset()
	a.rsp.Reset()
	a.c = counters{}
}

func (a *seriesAgg) merge(o *seriesAgg) {
	if o.svc.TotalCount() > 0 {
		a.svc.Merge(o.svc)
	}
	if o.rsp.TotalCount() > 0 {
		a.rsp.Merge(o.rsp)
	}
	a.c.add(&o.c)
}

// drain moves everything recorded since the last drain into out (one aggregate per series, reset by
// the caller), and resets the shards.
func (r *recorder) drain(out []*seriesAgg) {
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.Lock()
		for s := range sh.series {
			ss := &sh.series[s]
			if ss.svc != nil && ss.svc.TotalCount() > 0 {
				out[s].svc.Merge(ss.svc)
				out[s].rsp.Merge(ss.rsp)
				ss.svc.Reset()
				ss.rsp.Reset()
			}
			out[s].c.add(&ss.c)
			ss.c = counters{}
		}
		sh.mu.Unlock()
	}
}
