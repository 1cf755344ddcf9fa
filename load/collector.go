package load

// The collector is the one goroutine that owns aggregated state. Once per interval it drains the
// recorder shards, folds the interval into the cumulative histograms, keeps an encoded copy of the
// interval histograms for results.json, measures the generator itself, judges thresholds (aborting
// the run when one with abort_on_fail fails) and publishes a Snapshot.

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

type collector struct {
	r        *runner
	t0       time.Time
	last     time.Time
	interval []*seriesAgg // per series, current interval
	cum      []*seriesAgg // per series, whole run
	total    *seriesAgg   // all series, whole run
	ivTotal  *seriesAgg   // all series, current interval
	scratch  *seriesAgg
	self     *selfMonitor

	lastDropped, lastIters int64
	intervals              []Interval
	nIntervals             int
	invalid                map[string]int
	snap                   Snapshot
}

func newCollector(r *runner) *collector {
	c := &collector{r: r, total: newSeriesAgg(), ivTotal: newSeriesAgg(), scratch: newSeriesAgg(), invalid: map[string]int{}}
	for range r.cp.series {
		c.interval = append(c.interval, newSeriesAgg())
		c.cum = append(c.cum, newSeriesAgg())
	}
	return c
}

func (c *collector) begin(t time.Time) {
	c.t0, c.last = t, t
	c.self = startSelfMonitor()
}

// run ticks until the executors (wg) finish, then takes the last interval.
func (c *collector) run(wg *sync.WaitGroup) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(c.r.opts.Interval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			c.tick(false)
		case <-done:
			c.tick(true)
			c.self.stop()
			return
		}
	}
}

func (c *collector) tick(final bool) {
	now := time.Now()
	span := now.Sub(c.last)
	for _, a := range c.interval {
		a.reset()
	}
	c.ivTotal.reset()
	c.r.rec.drain(c.interval)
	for i, a := range c.interval {
		c.cum[i].merge(a)
		c.ivTotal.merge(a)
	}
	c.total.merge(c.ivTotal)
	dropped, iters, inFlight, vus := c.r.liveCounts()
	dDropped, dIters := dropped-c.lastDropped, iters-c.lastIters
	c.lastDropped, c.lastIters = dropped, iters
	elapsed := now.Sub(c.t0).Seconds()

	gen := c.self.sample(span)
	pacerLag := time.Duration(c.r.pacerLag.Swap(0))
	iv := Interval{
		T:             c.nIntervals,
		StartS:        round3(c.last.Sub(c.t0).Seconds()),
		DurationS:     round3(span.Seconds()),
		Requests:      c.ivTotal.c.Requests,
		Errors:        c.ivTotal.c.Errors,
		Dropped:       dDropped,
		Iterations:    dIters,
		ResponseP50:   pctMs(c.ivTotal.rsp, 50),
		ResponseP99:   pctMs(c.ivTotal.rsp, 99),
		ServiceP99:    pctMs(c.ivTotal.svc, 99),
		CPUUtil:       round3(gen.cpuUtil),
		SchedLagMaxMs: msf(gen.schedLagMax),
		GCPauseMs:     msf(gen.gcPause),
		PacerLagMaxMs: msf(pacerLag),
	}
	if span > 0 {
		iv.Rate = round3(float64(iv.Requests) / span.Seconds())
	}
	iv.Invalid = c.judgeGenerator(gen, pacerLag, dDropped, c.ivTotal.c.ErrClass[ErrLocal])
	iv.Valid = len(iv.Invalid) == 0
	for _, reason := range iv.Invalid {
		c.invalid[reasonKey(reason)]++
	}
	iv.ResponseHist = encodeHist(c.ivTotal.rsp)
	iv.ServiceHist = encodeHist(c.ivTotal.svc)
	if sink := c.r.opts.IntervalSink; sink != nil {
		sink(iv)
	} else {
		c.intervals = append(c.intervals, iv)
	}
	c.nIntervals++
	c.last = now

	// thresholds
	for _, t := range c.r.cp.thresholds {
		var failedNow bool
		if t.window > 0 {
			failedNow = t.addSecond(c.interval, dDropped, elapsed)
		} else if t.def.AbortOnFail {
			failedNow = t.judgeTotal(c.cum, c.scratch, elapsed, dropped, elapsed)
		}
		if failedNow && t.def.AbortOnFail && elapsed >= t.def.Grace.D().Seconds() && !final {
			t.aborted = true
			c.r.abort(fmt.Sprintf("threshold %q failed at %.0fs (abort_on_fail)", t.def.Expr, elapsed))
		}
	}

	c.snap = Snapshot{
		Elapsed: now.Sub(c.t0), Planned: c.r.cp.duration,
		Requests: c.total.c.Requests, Errors: c.total.c.Errors, Dropped: dropped, Iterations: iters,
		Rate: iv.Rate, InFlight: inFlight, VUs: vus, P95: pctMs(c.total.rsp, 95),
		Valid: len(c.invalid) == 0, IntervalValid: iv.Valid, Reasons: c.invalidReasons(),
	}
	if c.r.opts.OnInterval != nil {
		c.r.opts.OnInterval(c.snap)
	}
}

// Generator health limits: beyond them the generator, not the target, may have shaped the figures.
const (
	maxCPUUtil     = 0.90
	maxSchedLag    = 20 * time.Millisecond
	maxPacerLag    = 10 * time.Millisecond
	maxGCPausePerS = 50 * time.Millisecond
)

func (c *collector) judgeGenerator(g genSample, pacerLag time.Duration, dropped, local int64) []string {
	var out []string
	if g.cpuUtil > maxCPUUtil {
		out = append(out, fmt.Sprintf("generator CPU saturated (%.0f%% of %d cores)", g.cpuUtil*100, gomaxprocs()))
	}
	if g.schedLagMax > maxSchedLag {
		out = append(out, fmt.Sprintf("scheduler lag %v", g.schedLagMax.Round(time.Millisecond)))
	}
	if pacerLag > maxPacerLag {
		out = append(out, fmt.Sprintf("pacer behind schedule by %v", pacerLag.Round(time.Millisecond)))
	}
	if g.gcPause > maxGCPausePerS {
		out = append(out, fmt.Sprintf("GC pauses %v", g.gcPause.Round(time.Millisecond)))
	}
	if dropped > 0 {
		out = append(out, fmt.Sprintf("%d iterations dropped (max_in_flight reached)", dropped))
	}
	if local > 0 {
		out = append(out, fmt.Sprintf("%d requests failed for lack of local sockets, ports or file descriptors", local))
	}
	return out
}

// reasonKey groups reasons by kind ("generator CPU saturated", "scheduler lag", ...).
func reasonKey(s string) string {
	for _, k := range []string{"generator CPU saturated", "scheduler lag", "pacer behind schedule", "GC pauses", "iterations dropped", "lack of local sockets"} {
		if strings.Contains(s, k) {
			return k
		}
	}
	return s
}

func (c *collector) invalidReasons() []string {
	var out []string
	for k, n := range c.invalid {
		out = append(out, fmt.Sprintf("%s in %d interval(s)", k, n))
	}
	sort.Strings(out)
	return out
}

func pctMs(h *hdr.Histogram, p float64) float64 {
	if h.TotalCount() == 0 {
		return 0
	}
	return round3(float64(h.ValueAtPercentile(p)) / 1000)
}

func msf(d time.Duration) float64 { return round3(float64(d) / float64(time.Millisecond)) }

// encodeHist returns the HDR V2 compressed, base64 encoding (the format HdrHistogram's tools read),
// or "" for an empty histogram.
func encodeHist(h *hdr.Histogram) string {
	if h.TotalCount() == 0 {
		return ""
	}
	b, err := h.Encode(hdr.V2CompressedEncodingCookieBase)
	if err != nil {
		return ""
	}
	return string(b)
}

// DecodeHistogram decodes a histogram from results.json (values in microseconds).
func DecodeHistogram(s string) (*hdr.Histogram, error) {
	if s == "" {
		return newHist(), nil
	}
	if _, err := base64.StdEncoding.DecodeString(s); err != nil {
		return nil, fmt.Errorf("histogram: %v", err)
	}
	return hdr.Decode([]byte(s))
}
