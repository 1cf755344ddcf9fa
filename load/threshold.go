package load

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// thresholdExpr is a parsed expression such as `p(99.9) < 1s`.
type thresholdExpr struct {
	agg   string  // p, mean, min, max, error_rate, rate, checks, count, dropped
	pct   float64 // for p
	op    string
	value float64 // milliseconds for latencies, a fraction for ratios, per second for rate
	unit  string  // ms, ratio, /s, count
}

var aggUnits = map[string]string{"p": "ms", "mean": "ms", "avg": "ms", "med": "ms", "min": "ms", "max": "ms",
	"error_rate": "ratio", "checks": "ratio", "rate": "/s", "count": "count", "dropped": "count"}

func parseThresholdExpr(s string) (*thresholdExpr, error) {
	src := s
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("empty threshold expression")
	}
	opIdx := strings.IndexAny(s, "<>=!")
	if opIdx <= 0 {
		return nil, fmt.Errorf("threshold %q: want AGGREGATE OP VALUE, e.g. p(95) < 200ms", src)
	}
	lhs := strings.TrimSpace(s[:opIdx])
	rest := s[opIdx:]
	op := ""
	for _, o := range []string{"<=", ">=", "==", "!=", "<", ">"} {
		if strings.HasPrefix(rest, o) {
			op = o
			break
		}
	}
	if op == "" {
		return nil, fmt.Errorf("threshold %q: unknown operator", src)
	}
	rhs := strings.TrimSpace(rest[len(op):])
	e := &thresholdExpr{op: op}
	switch {
	case strings.HasPrefix(lhs, "p(") && strings.HasSuffix(lhs, ")"):
		f, err := strconv.ParseFloat(lhs[2:len(lhs)-1], 64)
		if err != nil || f <= 0 || f > 100 {
			return nil, fmt.Errorf("threshold %q: percentile must be in (0, 100]", src)
		}
		e.agg, e.pct = "p", f
	default:
		if _, ok := aggUnits[lhs]; !ok {
			return nil, fmt.Errorf("threshold %q: unknown aggregate %q (p(N), mean, min, max, med, error_rate, rate, checks, count, dropped)", src, lhs)
		}
		e.agg = lhs
	}
	e.unit = aggUnits[e.agg]
	v, err := parseThresholdValue(rhs, e.unit)
	if err != nil {
		return nil, fmt.Errorf("threshold %q: %v", src, err)
	}
	e.value = v
	return e, nil
}

func parseThresholdValue(s, unit string) (float64, error) {
	switch unit {
	case "ms":
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f, nil // bare numbers are milliseconds
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("want a duration such as 200ms, got %q", s)
		}
		return float64(d) / float64(time.Millisecond), nil
	case "ratio":
		if p, ok := strings.CutSuffix(s, "%"); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
			if err != nil {
				return 0, fmt.Errorf("want a percentage such as 1%%, got %q", s)
			}
			return f / 100, nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < 0 || f > 1 {
			return 0, fmt.Errorf("want a percentage such as 1%% or a fraction in [0, 1], got %q", s)
		}
		return f, nil
	case "/s":
		f, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(s, "/s")), 64)
		if err != nil {
			return 0, fmt.Errorf("want a rate such as 500/s, got %q", s)
		}
		return f, nil
	default:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, fmt.Errorf("want a number, got %q", s)
		}
		return f, nil
	}
}

// observe computes the aggregate; ok is false when there is no data to judge.
func (e *thresholdExpr) observe(h *hdr.Histogram, c *counters, seconds float64, dropped int64) (float64, bool) {
	switch e.agg {
	case "p", "mean", "avg", "med", "min", "max":
		if h.TotalCount() == 0 {
			return 0, false
		}
		var us float64
		switch e.agg {
		case "p":
			us = float64(h.ValueAtPercentile(e.pct))
		case "med":
			us = float64(h.ValueAtPercentile(50))
		case "mean", "avg":
			us = h.Mean()
		case "min":
			us = float64(h.Min())
		case "max":
			us = float64(h.Max())
		}
		return us / 1000, true
	case "error_rate":
		if c.Requests == 0 {
			return 0, false
		}
		return float64(c.Errors) / float64(c.Requests), true
	case "checks":
		n := c.ChecksPass + c.ChecksFail
		if n == 0 {
			return 0, false
		}
		return float64(c.ChecksPass) / float64(n), true
	case "rate":
		if seconds <= 0 {
			return 0, false
		}
		return float64(c.Requests) / seconds, true
	case "count":
		return float64(c.Requests), true
	case "dropped":
		return float64(dropped), true
	}
	return 0, false
}

func (e *thresholdExpr) pass(v float64) bool {
	switch e.op {
	case "<":
		return v < e.value
	case "<=":
		return v <= e.value
	case ">":
		return v > e.value
	case ">=":
		return v >= e.value
	case "==":
		return v == e.value
	case "!=":
		return v != e.value
	}
	return false
}

// worse reports whether a is a worse observation than b for this expression.
func (e *thresholdExpr) worse(a, b float64) bool {
	if e.op == ">" || e.op == ">=" {
		return a < b
	}
	return a > b
}

// ThresholdResult is the verdict on one threshold.
type ThresholdResult struct {
	Expr   string            `json:"expr"`
	Metric string            `json:"metric,omitempty"`
	Tags   map[string]string `json:"tags,omitempty"`
	Over   string            `json:"over,omitempty"`
	// Pass is false when the threshold failed (or had no data to judge).
	Pass bool `json:"pass"`
	// Value is the observed figure over the whole run, or over the worst window when Over is set.
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	// FailedAtS is the run time in seconds of the first failed judgement (-1 when it never failed).
	FailedAtS float64 `json:"failed_at_s"`
	// Aborted is true when this threshold stopped the run.
	Aborted bool   `json:"aborted,omitempty"`
	Message string `json:"message,omitempty"`
}

// cthreshold is a threshold compiled against the run's series.
type cthreshold struct {
	def     Threshold
	expr    *thresholdExpr
	series  []int // series that match its tags
	service bool  // judge service time instead of response time
	window  int   // seconds; 0 for the whole run

	ring      []*seriesAgg // per-second aggregates of the last window seconds
	ringDrop  []int64
	filled    int
	pos       int
	win       *seriesAgg // scratch to merge a window
	failed    bool
	failedAt  float64
	worst     float64
	haveWorst bool
	aborted   bool
}

func (t *cthreshold) hist(a *seriesAgg) *hdr.Histogram {
	if t.service {
		return a.svc
	}
	return a.rsp
}

// addSecond feeds one interval into a windowed threshold and judges the window when it is full.
// It returns true when the window failed.
func (t *cthreshold) addSecond(intervals []*seriesAgg, dropped int64, elapsed float64) bool {
	slot := t.ring[t.pos]
	slot.reset()
	for _, s := range t.series {
		slot.merge(intervals[s])
	}
	t.ringDrop[t.pos] = dropped
	t.pos = (t.pos + 1) % len(t.ring)
	if t.filled < len(t.ring) {
		t.filled++
	}
	if t.filled < len(t.ring) {
		return false
	}
	return t.judgeWindow(elapsed)
}

func (t *cthreshold) judgeWindow(elapsed float64) bool {
	t.win.reset()
	var drop int64
	for i := 0; i < t.filled; i++ {
		t.win.merge(t.ring[i])
		drop += t.ringDrop[i]
	}
	v, ok := t.expr.observe(t.hist(t.win), &t.win.c, float64(t.filled), drop)
	if !ok {
		return false
	}
	if !t.haveWorst || t.expr.worse(v, t.worst) {
		t.worst, t.haveWorst = v, true
	}
	if !t.expr.pass(v) {
		if !t.failed {
			t.failed, t.failedAt = true, elapsed
		}
		return true
	}
	return false
}

// judgeTotal judges a whole-run threshold on cumulative data.
func (t *cthreshold) judgeTotal(cum []*seriesAgg, scratch *seriesAgg, seconds float64, dropped int64, elapsed float64) bool {
	scratch.reset()
	for _, s := range t.series {
		scratch.merge(cum[s])
	}
	v, ok := t.expr.observe(t.hist(scratch), &scratch.c, seconds, dropped)
	if !ok {
		return false
	}
	t.worst, t.haveWorst = v, true
	if !t.expr.pass(v) {
		if !t.failed {
			t.failed, t.failedAt = true, elapsed
		}
		return true
	}
	return false
}

func (t *cthreshold) result() ThresholdResult {
	r := ThresholdResult{Expr: t.def.Expr, Metric: t.def.Metric, Tags: t.def.Tags, Unit: t.expr.unit, FailedAtS: -1, Aborted: t.aborted}
	if r.Metric == "" && t.expr.unit == "ms" {
		r.Metric = "response_time"
	}
	if t.window > 0 {
		r.Over = (time.Duration(t.window) * time.Second).String()
	}
	switch {
	case !t.haveWorst:
		r.Pass, r.Message = false, "no data to judge"
	case t.failed:
		r.Pass, r.Value, r.FailedAtS = false, round3(t.worst), round3(t.failedAt)
	default:
		r.Pass, r.Value = true, round3(t.worst)
	}
	return r
}

func round3(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return math.Round(f*1000) / 1000
}
