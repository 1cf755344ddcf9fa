package load_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ramphq/ramp/load"
)

func sleepServer(t *testing.T, d time.Duration) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(d)
		w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func run(t *testing.T, p *load.Plan, opts load.Options) *load.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := load.Run(ctx, p, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func one(url string, e *load.Executor) *load.Plan {
	return &load.Plan{Name: "t", Load: e, Scenarios: []load.Scenario{{Name: "s", Steps: []load.Step{{Name: "get", URL: url}}}}}
}

func TestClosedExecutors(t *testing.T) {
	t.Parallel()
	srv := sleepServer(t, 10*time.Millisecond)
	res := run(t, one(srv.URL, &load.Executor{Type: load.PerVUIterations, VUs: 3, Iterations: 5}), load.Options{})
	if res.Summary.Requests != 15 || res.Generator.VUs != 3 {
		t.Fatalf("per-vu-iterations: %d requests, %d VUs", res.Summary.Requests, res.Generator.VUs)
	}
	res = run(t, one(srv.URL, &load.Executor{Type: load.ConstantVUs, VUs: 2, Duration: d("1s")}), load.Options{})
	if n := res.Summary.Requests; n < 120 || n > 200 || res.Generator.VUs != 2 {
		t.Fatalf("constant-vus: %d requests (want ~180), %d VUs", n, res.Generator.VUs)
	}
	res = run(t, one(srv.URL, &load.Executor{Type: load.RampingVUs, Stages: []load.Stage{{Duration: d("1s"), Target: 4}, {Duration: d("500ms"), Target: 4}}}), load.Options{})
	if n := res.Summary.Requests; n < 150 || res.Generator.VUs < 4 || res.Generator.VUs > 6 {
		t.Fatalf("ramping-vus: %d requests, %d VUs", n, res.Generator.VUs)
	}
}

// TestDroppedIterationsCounted: an open model whose in-flight bound is reached drops arrivals and
// counts them; every scheduled arrival is either sent or dropped.
func TestDroppedIterationsCounted(t *testing.T) {
	t.Parallel()
	srv := sleepServer(t, 100*time.Millisecond)
	res := run(t, one(srv.URL, &load.Executor{Type: load.ConstantArrivalRate, Rate: 100, Duration: d("1s"), MaxInFlight: 2}), load.Options{})
	s := res.Summary
	if s.Dropped < 60 || s.Iterations+s.Dropped != 100 {
		t.Fatalf("iterations %d + dropped %d, want 100 with most dropped", s.Iterations, s.Dropped)
	}
	if s.Valid || !strings.Contains(strings.Join(s.Invalid, ";"), "iterations dropped") || res.Executors[0].Dropped != s.Dropped {
		t.Fatalf("valid %v invalid %v executors %+v", s.Valid, s.Invalid, res.Executors)
	}
}

func TestFeedsAndScenarios(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path+"?"+r.URL.RawQuery]++
		mu.Unlock()
	}))
	defer srv.Close()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "u.csv"), []byte("name,n\nann,1\nbo,2\ncy,3\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "p.json"), []byte(`[{"sku":"x1"},{"sku":"x2"}]`), 0o644)
	p := &load.Plan{
		Name: "feeds", Targets: load.Targets{BaseURL: srv.URL},
		Feeds: map[string]load.Feed{"u": {File: "u.csv", Mode: "unique"}, "p": {File: "p.json", Mode: "random"}},
		Scenarios: []load.Scenario{
			{Name: "users", Executor: &load.Executor{Type: load.PerVUIterations, VUs: 4, Iterations: 2}, Steps: []load.Step{{URL: "/u/${u.name}?n=${u.n}"}}},
			{Name: "products", Executor: &load.Executor{Type: load.PerVUIterations, VUs: 1, Iterations: 20}, Steps: []load.Step{{URL: "/p/${p.sku}"}}},
		},
	}
	p.SetDir(dir)
	res := run(t, p, load.Options{Seed: 9})
	// three VUs own a row each (two iterations each); the fourth has none: both its iterations fail
	for _, k := range []string{"/u/ann?n=1", "/u/bo?n=2", "/u/cy?n=3"} {
		if seen[k] != 2 {
			t.Errorf("%s seen %d times, want 2 (%v)", k, seen[k], seen)
		}
	}
	if res.Summary.ErrorClasses["feed"] != 2 {
		t.Errorf("feed exhaustion not counted: %v", res.Summary.ErrorClasses)
	}
	if seen["/p/x1?"] == 0 || seen["/p/x2?"] == 0 || seen["/p/x1?"]+seen["/p/x2?"] != 20 {
		t.Errorf("random feed rows: %v", seen)
	}
	if len(res.Executors) != 2 || res.Executors[1].Iterations != 20 {
		t.Errorf("executors %+v", res.Executors)
	}
}

func TestWeightsAndDevices(t *testing.T) {
	t.Parallel()
	var a, b, phone, desk atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/a" {
			a.Add(1)
		} else {
			b.Add(1)
		}
		if strings.Contains(r.UserAgent(), "Phone") {
			phone.Add(1)
		} else if r.UserAgent() == "Desk/1" {
			desk.Add(1)
		}
	}))
	defer srv.Close()
	p := &load.Plan{
		Name: "w", Targets: load.Targets{BaseURL: srv.URL},
		Load:    &load.Executor{Type: load.PerVUIterations, VUs: 40, Iterations: 20},
		Devices: []load.Device{{Name: "phone", Weight: 1, UserAgent: "Phone/1"}, {Name: "desk", Weight: 1, UserAgent: "Desk/1"}},
		Scenarios: []load.Scenario{
			{Name: "a", Weight: 3, Steps: []load.Step{{URL: "/a"}}},
			{Name: "b", Weight: 1, Steps: []load.Step{{URL: "/b"}}},
		},
	}
	run(t, p, load.Options{Seed: 5})
	if r := float64(a.Load()) / float64(a.Load()+b.Load()); r < 0.7 || r > 0.8 {
		t.Errorf("scenario a share %.2f, want 0.75 (a %d b %d)", r, a.Load(), b.Load())
	}
	if phone.Load() == 0 || desk.Load() == 0 || phone.Load()+desk.Load() != 800 {
		t.Errorf("device mix phone %d desk %d", phone.Load(), desk.Load())
	}
}

func TestSlidingWindowAndTagThresholds(t *testing.T) {
	t.Parallel()
	start := time.Now()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(30 * time.Millisecond)
		}
		if el := time.Since(start); el > 2*time.Second && el < 2500*time.Millisecond {
			time.Sleep(80 * time.Millisecond) // a half-second brown-out
		}
	}))
	defer srv.Close()
	p := &load.Plan{
		Name: "win", Targets: load.Targets{BaseURL: srv.URL},
		Load:      &load.Executor{Type: load.ConstantArrivalRate, Rate: 50, Duration: d("5s")},
		Scenarios: []load.Scenario{{Name: "s", Steps: []load.Step{{Name: "fast", URL: "/fast"}, {Name: "slow", URL: "/slow"}}}},
		Thresholds: []load.Threshold{
			{Expr: "p(80) < 20ms", Tags: map[string]string{"step": "fast"}},                // 10% slow overall: passes
			{Expr: "p(80) < 20ms", Tags: map[string]string{"step": "fast"}, Over: d("1s")}, // the brown-out window fails
			{Expr: "p(50) > 25ms", Tags: map[string]string{"step": "slow"}},
		},
	}
	start = time.Now()
	res := run(t, p, load.Options{})
	th := res.Summary.Thresholds
	if !th[0].Pass || th[1].Pass || !th[2].Pass || th[1].FailedAtS < 2 || th[1].FailedAtS > 4 {
		t.Fatalf("thresholds %+v", th)
	}
}

func TestGlobalRateCap(t *testing.T) {
	t.Parallel()
	srv := sleepServer(t, 0)
	res := run(t, one(srv.URL, &load.Executor{Type: load.ConstantVUs, VUs: 4, Duration: d("1s")}), load.Options{MaxRate: 50})
	if n := res.Summary.Requests; n < 45 || n > 56 {
		t.Fatalf("%d requests in 1 s with a 50/s cap", n)
	}
}

// TestSafetyAtDialTime: a loopback target that redirects elsewhere is refused when the redirect is
// dialed; names resolving to loopback are allowed.
func TestSafetyAtDialTime(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/go" {
			http.Redirect(w, r, "http://192.0.2.1:81/landing", http.StatusFound)
		}
	}))
	defer srv.Close()
	p := &load.Plan{Name: "safety", Targets: load.Targets{AllowedHosts: []string{"192.0.2.1"}},
		Load: &load.Executor{Type: load.PerVUIterations, VUs: 1, Iterations: 1},
		Scenarios: []load.Scenario{{Name: "s", Steps: []load.Step{
			{Name: "redirect", URL: srv.URL + "/go"},
			{Name: "localhost", URL: strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/ok"},
		}}}}
	res := run(t, p, load.Options{})
	if res.Series[0].ErrorClasses["host_not_allowed"] != 1 || res.Series[1].Errors != 0 || res.Series[1].Status["2xx"] != 1 {
		t.Fatalf("series %+v / %+v", res.Series[0], res.Series[1])
	}
	if len(res.ErrorSamples) == 0 || !strings.Contains(res.ErrorSamples[0], "--allow-non-loopback") {
		t.Fatalf("error samples %v", res.ErrorSamples)
	}
}

func TestNetworkProfiles(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 40_000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			w.Write([]byte(big))
		}
	}))
	defer srv.Close()
	p := &load.Plan{Name: "net", Targets: load.Targets{BaseURL: srv.URL},
		Networks: map[string]load.NetworkProfile{
			"slow": {Latency: d("30ms"), DownKbps: 800},
			"bad":  {ResetRate: 1},
		},
		Scenarios: []load.Scenario{
			{Name: "slow", Executor: &load.Executor{Type: load.PerVUIterations, VUs: 1, Iterations: 2}, Steps: []load.Step{{URL: "/small"}, {URL: "/big"}}},
		}}
	res := run(t, p, load.Options{Network: "slow"})
	small, bigS := res.Series[0].ServiceTime, res.Series[1].ServiceTime
	// 30 ms added per exchange; 40 kB at 100 kB/s takes ~0.4 s
	if small.Min < 30 || bigS.Min < 300 || res.Summary.Errors != 0 {
		t.Fatalf("small %+v big %+v errors %d", small, bigS, res.Summary.Errors)
	}
	res = run(t, p, load.Options{Network: "bad"})
	if res.Summary.ErrorClasses["reset"] == 0 {
		t.Fatalf("resets not injected: %v %v", res.Summary.ErrorClasses, res.ErrorSamples)
	}
	if _, err := load.New(p, load.Options{Network: "5g-ultra"}); err == nil {
		t.Fatal("unknown network profile accepted")
	}
}

func TestExtractMissStopsIteration(t *testing.T) {
	t.Parallel()
	var second atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/b" {
			second.Add(1)
		}
		w.Write([]byte(`{"x":1}`))
	}))
	defer srv.Close()
	def := "fallback"
	p := &load.Plan{Name: "x", Targets: load.Targets{BaseURL: srv.URL},
		Load: &load.Executor{Type: load.PerVUIterations, VUs: 1, Iterations: 3},
		Scenarios: []load.Scenario{
			{Name: "s", Steps: []load.Step{
				{URL: "/a", Extract: []load.Extractor{{Name: "tok", JSON: "$.token"}}},
				{URL: "/b?t=${tok}"},
			}},
			{Name: "d", Weight: 0.000001, Steps: []load.Step{{URL: "/a", Extract: []load.Extractor{{Name: "tok", JSON: "$.token", Default: &def}}}}},
		}}
	res := run(t, p, load.Options{})
	if second.Load() != 0 || res.Summary.ErrorClasses["extract"] != 3 {
		t.Fatalf("second step ran %d times; classes %v", second.Load(), res.Summary.ErrorClasses)
	}
}

func TestTimingBreakdown(t *testing.T) {
	t.Parallel()
	srv := sleepServer(t, 5*time.Millisecond)
	for _, std := range []bool{false, true} {
		res := run(t, one(strings.Replace(srv.URL, "127.0.0.1", "localhost", 1), &load.Executor{Type: load.PerVUIterations, VUs: 1, Iterations: 4}), load.Options{StdHTTP: std})
		tm := res.Summary.Timing
		// one new connection out of four requests: DNS and connect are averaged over all four
		if tm.DNS <= 0 || tm.Connect <= 0 || tm.TTFB < 5 || res.Generator.Connections != 1 {
			t.Errorf("std=%v timing %+v connections %d", std, tm, res.Generator.Connections)
		}
	}
}

// TestGracefulStop: iterations still running when the executor ends get graceful_stop to finish,
// then they are cancelled (and not recorded as target errors).
func TestGracefulStop(t *testing.T) {
	t.Parallel()
	srv := sleepServer(t, 3*time.Second)
	e := &load.Executor{Type: load.ConstantVUs, VUs: 2, Duration: d("500ms"), GracefulStop: d("300ms")}
	start := time.Now()
	res := run(t, one(srv.URL, e), load.Options{})
	if took := time.Since(start); took > 2*time.Second || res.Summary.Requests != 0 || res.Summary.Errors != 0 {
		t.Fatalf("took %v; requests %d errors %d", took, res.Summary.Requests, res.Summary.Errors)
	}
	fast := sleepServer(t, 100*time.Millisecond)
	e = &load.Executor{Type: load.ConstantArrivalRate, Rate: 10, Duration: d("500ms"), GracefulStop: d("2s")}
	res = run(t, one(fast.URL, e), load.Options{})
	if res.Summary.Requests != 5 || res.Summary.Errors != 0 {
		t.Fatalf("in-flight iterations were not allowed to finish: %d requests", res.Summary.Requests)
	}
}
