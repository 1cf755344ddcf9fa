package load

import (
	"sort"
	"strconv"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Schema identifiers of the two JSON documents a run writes. They change only when a field changes
// meaning or disappears; new fields may be added within a version.
const (
	ResultsSchema = "ramp.load.results/v1"
	SummarySchema = "ramp.load.summary/v1"
)

// Result is everything a run measured: the summary, every series, every interval with its
// histograms, the executors and the generator's own health. It is the --out results.json document.
type Result struct {
	Schema       string           `json:"schema"`
	Plan         PlanInfo         `json:"plan"`
	StartedAt    time.Time        `json:"started_at"`
	EndedAt      time.Time        `json:"ended_at"`
	Aborted      bool             `json:"aborted"`
	AbortReason  string           `json:"abort_reason,omitempty"`
	Summary      Summary          `json:"summary"`
	Series       []SeriesResult   `json:"series"`
	Executors    []ExecutorResult `json:"executors"`
	Generator    GeneratorStats   `json:"generator"`
	Intervals    []Interval       `json:"intervals"`
	ErrorSamples []string         `json:"error_samples,omitempty"`
}

// PlanInfo identifies the plan that ran.
type PlanInfo struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Metadata    Metadata `json:"metadata,omitzero"`
}

// Summary is the end-of-run summary, the stable --summary contract. Latencies are milliseconds.
type Summary struct {
	Schema       string            `json:"schema"`
	Name         string            `json:"name"`
	Pass         bool              `json:"pass"`
	ResponseTime LatencySummary    `json:"response_time"`
	ServiceTime  LatencySummary    `json:"service_time"`
	Requests     int64             `json:"requests"`
	Errors       int64             `json:"errors"`
	ErrorRate    float64           `json:"error_rate"`
	Dropped      int64             `json:"dropped"`
	Iterations   int64             `json:"iterations"`
	Rate         float64           `json:"rate"`
	DurationS    float64           `json:"duration_s"`
	CPUSeconds   float64           `json:"cpu_seconds"`
	ChecksPassed int64             `json:"checks_passed"`
	ChecksFailed int64             `json:"checks_failed"`
	BytesIn      int64             `json:"bytes_in"`
	BytesOut     int64             `json:"bytes_out"`
	Status       map[string]int64  `json:"status"`
	ErrorClasses map[string]int64  `json:"error_classes"`
	Timing       TimingSummary     `json:"timing"`
	Thresholds   []ThresholdResult `json:"thresholds"`
	Valid        bool              `json:"valid"`
	Invalid      []string          `json:"invalid,omitempty"`
	Aborted      bool              `json:"aborted"`
	AbortReason  string            `json:"abort_reason,omitempty"`
}

// LatencySummary describes one latency histogram in milliseconds. Service time runs from the moment
// the request had its connection (the actual send) to the last response byte; response time runs
// from the intended start in the arrival schedule to the last byte.
type LatencySummary struct {
	Count int64   `json:"count"`
	Min   float64 `json:"min"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	Max   float64 `json:"max"`
}

// TimingSummary is the mean timing breakdown per request in milliseconds. DNS, connect and TLS are
// zero for requests on a reused connection; TTFB runs from send to the first response byte and
// Transfer from it to the last.
type TimingSummary struct {
	DNS      float64 `json:"dns_ms"`
	Connect  float64 `json:"connect_ms"`
	TLS      float64 `json:"tls_ms"`
	TTFB     float64 `json:"ttfb_ms"`
	Transfer float64 `json:"transfer_ms"`
}

// SeriesResult is one scenario step over the whole run.
type SeriesResult struct {
	Tags         seriesInfo       `json:"tags"`
	Requests     int64            `json:"requests"`
	Errors       int64            `json:"errors"`
	ChecksPassed int64            `json:"checks_passed"`
	ChecksFailed int64            `json:"checks_failed"`
	Status       map[string]int64 `json:"status"`
	ErrorClasses map[string]int64 `json:"error_classes,omitempty"`
	ResponseTime LatencySummary   `json:"response_time"`
	ServiceTime  LatencySummary   `json:"service_time"`
	Timing       TimingSummary    `json:"timing"`
	// ResponseHist and ServiceHist are HDR histograms (microseconds), V2 compressed and base64
	// encoded; see DecodeHistogram.
	ResponseHist string `json:"response_hist"`
	ServiceHist  string `json:"service_hist"`
}

// ExecutorResult is what one executor did.
type ExecutorResult struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	Iterations int64  `json:"iterations"`
	Dropped    int64  `json:"dropped"`
}

// GeneratorStats is the generator's own health over the run.
type GeneratorStats struct {
	CPUSeconds    float64 `json:"cpu_seconds"`
	GOMAXPROCS    int     `json:"gomaxprocs"`
	MaxCPUUtil    float64 `json:"max_cpu_util"`
	MaxSchedLagMs float64 `json:"max_sched_lag_ms"`
	GCPauseMs     float64 `json:"gc_pause_ms"`
	MaxPacerLagMs float64 `json:"max_pacer_lag_ms"`
	Connections   int64   `json:"connections"`
	VUs           int64   `json:"vus"`
}

// Interval is one second (Options.Interval) of the run, with its histograms so that reports can be
// rebuilt and runs merged.
type Interval struct {
	T             int      `json:"t"`
	StartS        float64  `json:"start_s"`
	DurationS     float64  `json:"duration_s"`
	Requests      int64    `json:"requests"`
	Errors        int64    `json:"errors"`
	Dropped       int64    `json:"dropped"`
	Iterations    int64    `json:"iterations"`
	Rate          float64  `json:"rate"`
	ResponseP50   float64  `json:"response_p50_ms"`
	ResponseP99   float64  `json:"response_p99_ms"`
	ServiceP99    float64  `json:"service_p99_ms"`
	CPUUtil       float64  `json:"cpu_util"`
	SchedLagMaxMs float64  `json:"sched_lag_max_ms"`
	GCPauseMs     float64  `json:"gc_pause_ms"`
	PacerLagMaxMs float64  `json:"pacer_lag_max_ms"`
	Valid         bool     `json:"valid"`
	Invalid       []string `json:"invalid,omitempty"`
	ResponseHist  string   `json:"response_hist"`
	ServiceHist   string   `json:"service_hist"`
}

func latencySummary(h *hdr.Histogram) LatencySummary {
	if h.TotalCount() == 0 {
		return LatencySummary{}
	}
	ps := h.ValueAtPercentiles([]float64{50, 90, 95, 99, 99.9})
	ms := func(us int64) float64 { return round3(float64(us) / 1000) }
	return LatencySummary{
		Count: h.TotalCount(), Min: ms(h.Min()), Mean: round3(h.Mean() / 1000),
		P50: ms(ps[50]), P90: ms(ps[90]), P95: ms(ps[95]), P99: ms(ps[99]), P999: ms(ps[99.9]), Max: ms(h.Max()),
	}
}

func statusMap(c *counters) map[string]int64 {
	m := map[string]int64{}
	for i, n := range c.Status {
		if n == 0 {
			continue
		}
		if i == 0 {
			m["none"] = n
		} else {
			m[strconv.Itoa(i)+"xx"] = n
		}
	}
	return m
}

func classMap(c *counters) map[string]int64 {
	m := map[string]int64{}
	for i, n := range c.ErrClass {
		if i != int(ErrNone) && n > 0 {
			m[ErrorClass(i).String()] = n
		}
	}
	return m
}

func timingSummary(c *counters) TimingSummary {
	if c.Requests == 0 {
		return TimingSummary{}
	}
	f := func(ns int64) float64 { return round3(float64(ns) / float64(c.Requests) / 1e6) }
	return TimingSummary{DNS: f(c.DNS), Connect: f(c.Connect), TLS: f(c.TLS), TTFB: f(c.TTFB), Transfer: f(c.Transfer)}
}

func (c *collector) result(start, end time.Time) *Result {
	p := c.r.cp.plan
	dur := end.Sub(start).Seconds()
	dropped, iters, _, _ := c.r.liveCounts()
	res := &Result{
		Schema: ResultsSchema, Plan: PlanInfo{Name: p.Name, Description: p.Description, Metadata: p.Metadata},
		StartedAt: start.UTC(), EndedAt: end.UTC(), Intervals: c.intervals,
	}
	for i, si := range c.r.cp.series {
		a := c.cum[i]
		res.Series = append(res.Series, SeriesResult{
			Tags: si, Requests: a.c.Requests, Errors: a.c.Errors, ChecksPassed: a.c.ChecksPass, ChecksFailed: a.c.ChecksFail,
			Status: statusMap(&a.c), ErrorClasses: classMap(&a.c),
			ResponseTime: latencySummary(a.rsp), ServiceTime: latencySummary(a.svc), Timing: timingSummary(&a.c),
			ResponseHist: encodeHist(a.rsp), ServiceHist: encodeHist(a.svc),
		})
	}
	for i, g := range c.r.cp.groups {
		gs := c.r.groups[i]
		res.Executors = append(res.Executors, ExecutorResult{Name: g.name, Type: g.exec.Type, Iterations: gs.iterations.Load(), Dropped: gs.dropped.Load()})
	}
	gen := GeneratorStats{CPUSeconds: round3(c.self.total().Seconds()), GOMAXPROCS: gomaxprocs(), Connections: c.r.dials.Load(), VUs: c.r.nextVU.Load()}
	for _, iv := range c.intervals {
		gen.MaxCPUUtil = max(gen.MaxCPUUtil, iv.CPUUtil)
		gen.MaxSchedLagMs = max(gen.MaxSchedLagMs, iv.SchedLagMaxMs)
		gen.GCPauseMs += iv.GCPauseMs
		gen.MaxPacerLagMs = max(gen.MaxPacerLagMs, iv.PacerLagMaxMs)
	}
	gen.GCPauseMs = round3(gen.GCPauseMs)
	res.Generator = gen

	// Final verdicts: whole-run thresholds on the cumulative figures; windowed ones that never
	// filled a window are judged on the partial window they have.
	pass := true
	var results []ThresholdResult
	for _, t := range c.r.cp.thresholds {
		if t.window == 0 {
			t.failed = false
			t.judgeTotal(c.cum, c.scratch, dur, dropped, dur)
		} else if t.filled < len(t.ring) {
			t.judgeWindow(dur)
		}
		tr := t.result()
		pass = pass && tr.Pass
		results = append(results, tr)
	}
	tot := c.total
	s := Summary{
		Schema: SummarySchema, Name: p.Name, Pass: pass,
		ResponseTime: latencySummary(tot.rsp), ServiceTime: latencySummary(tot.svc),
		Requests: tot.c.Requests, Errors: tot.c.Errors, Dropped: dropped, Iterations: iters,
		DurationS: round3(dur), CPUSeconds: gen.CPUSeconds,
		ChecksPassed: tot.c.ChecksPass, ChecksFailed: tot.c.ChecksFail, BytesIn: tot.c.BytesIn, BytesOut: tot.c.BytesOut,
		Status: statusMap(&tot.c), ErrorClasses: classMap(&tot.c), Timing: timingSummary(&tot.c),
		Thresholds: results, Valid: len(c.invalid) == 0, Invalid: c.invalidReasons(),
	}
	if s.Thresholds == nil {
		s.Thresholds = []ThresholdResult{}
	}
	if tot.c.Requests > 0 {
		s.ErrorRate = round3(float64(tot.c.Errors) / float64(tot.c.Requests))
	}
	if dur > 0 {
		s.Rate = round3(float64(tot.c.Requests) / dur)
	}
	res.Summary = s
	return res
}

// MergeIntervals rebuilds latency figures from the intervals of one or more results (for example the
// results of several generators): it decodes and merges their histograms.
func MergeIntervals(results ...*Result) (response, service LatencySummary, err error) {
	rsp, svc := newHist(), newHist()
	for _, r := range results {
		for _, iv := range r.Intervals {
			for _, pair := range []struct {
				enc string
				dst *hdr.Histogram
			}{{iv.ResponseHist, rsp}, {iv.ServiceHist, svc}} {
				if pair.enc == "" {
					continue
				}
				h, err := DecodeHistogram(pair.enc)
				if err != nil {
					return response, service, err
				}
				pair.dst.Merge(h)
			}
		}
	}
	return latencySummary(rsp), latencySummary(svc), nil
}

// sortedStatus is used by text output.
func sortedStatus(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
