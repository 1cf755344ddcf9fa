package load_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/ramphq/ramp/load"
)

// serverHist is a target's own measurement of its handler time, in microseconds.
type serverHist struct {
	mu sync.Mutex
	h  *hdr.Histogram
}

func (s *serverHist) record(d time.Duration) {
	s.mu.Lock()
	s.h.RecordValue(d.Microseconds())
	s.mu.Unlock()
}

func (s *serverHist) pct(p float64) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return float64(s.h.ValueAtPercentile(p)) / 1000
}

// TestLatencyAccuracy: against a loopback target that sleeps 10 ms, at 500 requests/s, the
// generator's p50 is within 0.5 ms of the target's own measurement and p99 within 2 ms.
func TestLatencyAccuracy(t *testing.T) {
	if testing.Short() {
		t.Skip("4 s behavioural test")
	}
	// A busy machine (other test binaries, CI neighbours) delays both the target and the
	// generator. The generator's self-validation says when that happened (scheduler lag, pacer
	// lag, GC pauses): an attempt that misses the bounds in such a run is inconclusive and is
	// repeated, and the test skips when the machine never got quiet enough. A run within the
	// bounds passes; a quiet run that misses them fails the test.
	for attempt := 1; attempt <= 5; attempt++ {
		problems, invalid := accuracyAttempt(t)
		switch {
		case len(problems) == 0:
			return // within the bounds, noisy machine or not
		case len(invalid) > 0:
			t.Logf("attempt %d inconclusive, the generator flagged the run: %v; missed: %v", attempt, invalid, problems)
		default:
			t.Fatalf("attempt %d (a quiet run): %v", attempt, problems)
		}
	}
	t.Skip("machine too busy: every attempt was flagged invalid by the generator's self-validation")
}

func accuracyAttempt(t *testing.T) (problems, invalid []string) {
	sh := &serverHist{h: hdr.New(1, 10_000_000, 3)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		time.Sleep(10 * time.Millisecond)
		sh.record(time.Since(start))
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	p := &load.Plan{
		Name:      "accuracy",
		Load:      &load.Executor{Type: load.ConstantArrivalRate, Rate: 500, Duration: d("4s")},
		Scenarios: []load.Scenario{{Name: "sleep", Steps: []load.Step{{URL: srv.URL + "/sleep"}}}},
	}
	res, err := load.Run(context.Background(), p, load.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Summary
	if s.Requests < 1990 || s.Errors != 0 {
		t.Fatalf("requests %d errors %d, want 2000 and 0", s.Requests, s.Errors)
	}
	tp50, tp99 := sh.pct(50), sh.pct(99)
	t.Logf("target p50 %.3f p99 %.3f | service p50 %.3f p99 %.3f | response p50 %.3f p99 %.3f | generator %+v",
		tp50, tp99, s.ServiceTime.P50, s.ServiceTime.P99, s.ResponseTime.P50, s.ResponseTime.P99, res.Generator)
	for _, c := range []struct {
		name      string
		got, want float64
		tol       float64
	}{
		{"service p50", s.ServiceTime.P50, tp50, 0.5},
		{"service p99", s.ServiceTime.P99, tp99, 2},
		// Response time adds the generator's own dispatch (pacer wake-up and hand-off to a worker),
		// typically 0.1-0.3 ms on this 2-core machine; it is held to 1 ms and 2.5 ms.
		{"response p50", s.ResponseTime.P50, tp50, 1},
		{"response p99", s.ResponseTime.P99, tp99, 2.5},
	} {
		if diff := c.got - c.want; diff < -c.tol || diff > c.tol {
			problems = append(problems, fmt.Sprintf("%s = %.3f ms, target measured %.3f ms: off by %.3f ms (tolerance %.1f ms)", c.name, c.got, c.want, diff, c.tol))
		}
	}
	invalid = s.Invalid
	// The bounds are 0.5-2 ms: a run in which the generator's probe saw the scheduler wake a
	// goroutine more than 2 ms late cannot judge them, whatever the validity limits for load tests.
	if lag := res.Generator.MaxSchedLagMs; lag > 2 {
		invalid = append(invalid, fmt.Sprintf("scheduler lag up to %.1f ms (noise floor above the bounds)", lag))
	}
	return problems, invalid
}

// TestCoordinatedOmission: the target stalls once for 1 s in a 20 s run at 200 requests/s. Response
// time (from the intended start) shows the stall at p99 the way wrk2 does; service time (from the
// actual send on one of 10 connections) shows only what the server did.
func TestCoordinatedOmission(t *testing.T) {
	if testing.Short() {
		t.Skip("20 s behavioural test")
	}
	var stallOnce sync.Once
	var stalled atomic.Bool
	var mu sync.Mutex
	begin := time.Now()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// At 10 s the server freezes for 1 s: every request in progress or arriving waits, like a
		// stop-the-world pause. Requests are served one at a time to model a single-threaded target.
		if time.Since(begin) > 10*time.Second {
			stallOnce.Do(func() { stalled.Store(true) })
		}
		mu.Lock()
		if stalled.CompareAndSwap(true, false) {
			time.Sleep(time.Second)
		}
		mu.Unlock()
		time.Sleep(time.Millisecond)
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	p := &load.Plan{
		Name:      "co",
		Defaults:  load.Defaults{MaxConnections: 10}, // like wrk2 -c10
		Load:      &load.Executor{Type: load.ConstantArrivalRate, Rate: 200, Duration: d("20s"), MaxInFlight: 1000},
		Scenarios: []load.Scenario{{Name: "get", Steps: []load.Step{{URL: srv.URL}}}},
	}
	begin = time.Now()
	res, err := load.Run(context.Background(), p, load.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Summary
	t.Logf("response %+v", s.ResponseTime)
	t.Logf("service  %+v", s.ServiceTime)
	if s.Requests < 3950 || s.Dropped != 0 {
		t.Fatalf("requests %d dropped %d: want all ~4000 sent on schedule", s.Requests, s.Dropped)
	}
	// 200 arrivals during the 1 s stall wait on average 500 ms: 5% of requests, so p99 is in the
	// hundreds of milliseconds and the max close to 1 s.
	if s.ResponseTime.P99 < 300 || s.ResponseTime.Max < 900 {
		t.Errorf("response time p99 %.1f ms max %.1f ms: the stall is hidden", s.ResponseTime.P99, s.ResponseTime.Max)
	}
	// Service time starts when a request gets one of the 10 connections: it shows the server's
	// work (about 1 ms) except for the few requests that were on the wire when it froze.
	// (On a quiet machine service p99 is about 3 ms; the bound leaves room for a busy CI host.)
	if s.ServiceTime.P99 > s.ResponseTime.P99/3 || s.ServiceTime.Max < 900 {
		t.Errorf("service time p99 %.1f ms max %.1f ms: want far below response p99 %.1f ms, with the stall only at the max", s.ServiceTime.P99, s.ServiceTime.Max, s.ResponseTime.P99)
	}
	if s.ResponseTime.P50 > 20 {
		t.Errorf("response time p50 %.1f ms: should be the unstalled ~1 ms", s.ResponseTime.P50)
	}
}
