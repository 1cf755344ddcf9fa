package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ramphq/ramp/load"
)

// progress prints live figures: a redrawn bar on a terminal, plain lines otherwise.
type progress struct {
	w       io.Writer
	mode    string // bar, plain, none
	every   time.Duration
	planned time.Duration
	last    time.Time
	mu      sync.Mutex
	drawn   bool
}

func newProgress(w io.Writer, mode string, every time.Duration) *progress {
	if mode == "auto" || mode == "" {
		mode = "plain"
		if isTTY(w) {
			mode = "bar"
		}
	}
	return &progress{w: w, mode: mode, every: every}
}

func (p *progress) begin(planned time.Duration) { p.planned = planned }

func (p *progress) update(s load.Snapshot) {
	p.mu.Lock()
	defer p.mu.Unlock()
	line := fmt.Sprintf("%s/%s  rate %.0f/s  in-flight %d  vus %d  p95 %.1fms  reqs %d  errors %d  dropped %d",
		s.Elapsed.Round(time.Second), p.planned.Round(time.Second), s.Rate, s.InFlight, s.VUs, s.P95, s.Requests, s.Errors, s.Dropped)
	if !s.Valid {
		line += "  INVALID"
	}
	switch p.mode {
	case "bar":
		frac := 0.0
		if p.planned > 0 {
			frac = min(float64(s.Elapsed)/float64(p.planned), 1)
		}
		const width = 24
		n := int(frac * width)
		bar := strings.Repeat("=", n) + strings.Repeat(" ", width-n)
		fmt.Fprintf(p.w, "\r\033[K[%s] %3.0f%% %s", bar, frac*100, line)
		p.drawn = true
	case "plain":
		if p.last.IsZero() || time.Since(p.last) >= p.every {
			p.last = time.Now()
			fmt.Fprintln(p.w, "progress:", line)
		}
	}
}

func (p *progress) end() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}

// writeSummaryTable prints the end-of-run summary.
func writeSummaryTable(w io.Writer, res *load.Result) {
	s := res.Summary
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "plan\t%s\n", s.Name)
	fmt.Fprintf(tw, "duration\t%.1fs\n", s.DurationS)
	fmt.Fprintf(tw, "requests\t%d (%.1f/s)\n", s.Requests, s.Rate)
	fmt.Fprintf(tw, "iterations\t%d (dropped %d)\n", s.Iterations, s.Dropped)
	fmt.Fprintf(tw, "errors\t%d (%.2f%%)%s\n", s.Errors, s.ErrorRate*100, classList(s.ErrorClasses))
	if n := s.ChecksPassed + s.ChecksFailed; n > 0 {
		fmt.Fprintf(tw, "checks\t%d/%d passed\n", s.ChecksPassed, n)
	}
	fmt.Fprintf(tw, "status\t%s\n", classList(s.Status))
	fmt.Fprintf(tw, "data\tin %s, out %s\n", bytesH(s.BytesIn), bytesH(s.BytesOut))
	fmt.Fprintf(tw, "generator\t%.2f CPU-s", s.CPUSeconds)
	if !s.Valid {
		fmt.Fprintf(tw, ", INVALID: %s", strings.Join(s.Invalid, "; "))
	}
	fmt.Fprintln(tw)
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "latency (ms)\tmin\tmean\tp50\tp90\tp95\tp99\tp99.9\tmax\t")
	for _, row := range []struct {
		name string
		l    load.LatencySummary
	}{{"response time", s.ResponseTime}, {"service time", s.ServiceTime}} {
		l := row.l
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t\n", row.name, l.Min, l.Mean, l.P50, l.P90, l.P95, l.P99, l.P999, l.Max)
	}
	tw.Flush()
	if len(res.Series) > 1 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "scenario\tstep\trequests\terrors\tp50 ms\tp95 ms\tp99 ms")
		for _, sr := range res.Series {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.2f\t%.2f\t%.2f\n", sr.Tags.Scenario, sr.Tags.Step, sr.Requests, sr.Errors, sr.ResponseTime.P50, sr.ResponseTime.P95, sr.ResponseTime.P99)
		}
		tw.Flush()
	}
	if len(s.Thresholds) > 0 {
		fmt.Fprintln(w)
		for _, t := range s.Thresholds {
			mark := "PASS"
			if !t.Pass {
				mark = "FAIL"
			}
			extra := ""
			if t.Over != "" {
				extra += " over " + t.Over
			}
			if len(t.Tags) > 0 {
				extra += fmt.Sprintf(" %v", t.Tags)
			}
			val := fmt.Sprintf("%g %s", t.Value, t.Unit)
			if t.Message != "" {
				val = t.Message
			}
			fmt.Fprintf(w, "%s  %s%s  (observed %s)\n", mark, t.Expr, extra, val)
		}
	}
	if res.Aborted {
		fmt.Fprintf(w, "\nrun aborted: %s\n", res.AbortReason)
	}
}

func classList(m map[string]int64) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return " " + strings.Join(parts, " ")
}

func bytesH(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.2f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// liveMetrics holds the latest snapshot for the Prometheus endpoint.
type liveMetrics struct {
	mu sync.Mutex
	s  load.Snapshot
}

func (l *liveMetrics) set(s load.Snapshot) { l.mu.Lock(); l.s = s; l.mu.Unlock() }

func (l *liveMetrics) get() load.Snapshot { l.mu.Lock(); defer l.mu.Unlock(); return l.s }

// metricsRegistry exposes the running test's figures, read from the latest snapshot.
func metricsRegistry(l *liveMetrics) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	counter := func(name, help string, f func(load.Snapshot) float64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "ramp_load", Name: name, Help: help}, func() float64 { return f(l.get()) }))
	}
	gauge := func(name, help string, f func(load.Snapshot) float64) {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "ramp_load", Name: name, Help: help}, func() float64 { return f(l.get()) }))
	}
	counter("requests_total", "Requests completed.", func(s load.Snapshot) float64 { return float64(s.Requests) })
	counter("errors_total", "Requests that failed (transport error or HTTP status >= 400).", func(s load.Snapshot) float64 { return float64(s.Errors) })
	counter("dropped_iterations_total", "Arrivals dropped because max_in_flight was reached.", func(s load.Snapshot) float64 { return float64(s.Dropped) })
	counter("iterations_total", "Scenario iterations completed.", func(s load.Snapshot) float64 { return float64(s.Iterations) })
	gauge("in_flight", "Iterations in flight.", func(s load.Snapshot) float64 { return float64(s.InFlight) })
	gauge("vus", "Virtual users running.", func(s load.Snapshot) float64 { return float64(s.VUs) })
	gauge("rate", "Requests per second over the last interval.", func(s load.Snapshot) float64 { return s.Rate })
	gauge("response_time_p95_seconds", "Response-time 95th percentile so far.", func(s load.Snapshot) float64 { return s.P95 / 1000 })
	gauge("elapsed_seconds", "Run time so far.", func(s load.Snapshot) float64 { return s.Elapsed.Seconds() })
	gauge("valid", "1 while the generator has not been the bottleneck, 0 once an interval was invalid.", func(s load.Snapshot) float64 {
		if s.Valid {
			return 1
		}
		return 0
	})
	return reg
}

// serveMetrics serves /metrics until stop is called.
func serveMetrics(addr string, l *liveMetrics) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(metricsRegistry(l), promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}, nil
}
