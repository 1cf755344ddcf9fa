package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ramphq/ramp/load"
	"github.com/ramphq/ramp/load/loadtest"
)

// runRamp runs the CLI in process and returns its exit code and output.
func runRamp(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code := Run(ctx, args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func readSummary(t *testing.T, path string) load.Summary {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s load.Summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestLoadExampleShop runs the realistic example plan (login → browse → checkout with correlation
// and a CSV feed) against the test shop, which rejects any request whose token, cookie, CSRF token,
// cart or order id was not carried over correctly.
func TestLoadExampleShop(t *testing.T) {
	const apiKey = "k3y-DO-NOT-PRINT-1234"
	shop := &loadtest.Shop{APIKey: apiKey, Users: map[string]string{}}
	users, err := os.ReadFile("../../examples/load/users.csv")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(users)), "\n")[1:] {
		u, p, _ := strings.Cut(line, ",")
		shop.Users[u] = p
	}
	srv := shop.Start()
	defer srv.Close()
	t.Setenv("SHOP_URL", srv.URL)
	t.Setenv("SHOP_API_KEY", apiKey)
	dir := t.TempDir()
	sum, out := filepath.Join(dir, "summary.json"), filepath.Join(dir, "results.json")
	code, stdout, stderr := runRamp(t, "", "load", "run", "../../examples/load/shop.yaml", "--summary", sum, "--out", out, "--progress", "plain", "--seed", "1")
	t.Logf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	s := readSummary(t, sum)
	if s.Requests < 100 || s.Errors != 0 || s.ChecksFailed != 0 || !s.Pass {
		t.Fatalf("summary: requests %d errors %d checks failed %d pass %v", s.Requests, s.Errors, s.ChecksFailed, s.Pass)
	}
	if shop.Orders.Load() == 0 || shop.Rejected.Load() != 0 {
		t.Fatalf("shop: %d orders, %d rejected requests", shop.Orders.Load(), shop.Rejected.Load())
	}
	n := 0
	shop.PerUser.Range(func(k, v any) bool { n++; return true })
	if n < 5 {
		t.Fatalf("orders came from %d distinct feed users, want the CSV rows used in turn", n)
	}
	res, _ := os.ReadFile(out)
	for name, text := range map[string]string{"stdout": stdout, "stderr": stderr, "summary": mustRead(t, sum), "results": string(res)} {
		if strings.Contains(text, apiKey) {
			t.Errorf("secret leaked into %s", name)
		}
	}
	var r load.Result
	if err := json.Unmarshal(res, &r); err != nil || r.Schema != load.ResultsSchema || len(r.Intervals) < 5 || len(r.Series) != 9 {
		t.Fatalf("results.json: err %v schema %q intervals %d series %d", err, r.Schema, len(r.Intervals), len(r.Series))
	}
	rsp, _, err := load.MergeIntervals(&r)
	if err != nil || rsp.Count != s.ResponseTime.Count {
		t.Fatalf("intervals rebuild %d requests (err %v), summary has %d", rsp.Count, err, s.ResponseTime.Count)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLoadValidate(t *testing.T) {
	t.Setenv("SHOP_URL", "http://127.0.0.1:1")
	code, out, errs := runRamp(t, "", "load", "validate", "../../examples/load/shop.yaml")
	if code != 0 || !strings.Contains(out, "shop.yaml: ok (2 scenarios, 9 steps, 6 thresholds)") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	bad := `name: bad
load: {type: constant-arrival-rate, rate: 10}
scenarios:
  - name: a
    steps:
      - url: http://127.0.0.1/x
      - url: /y/${token}
        think: {dist: gamma}
thresholds: ["p(95) <"]
`
	code, _, errs = runRamp(t, bad, "load", "validate", "-")
	for _, want := range []string{
		"<stdin>: load.duration: must be positive for constant-arrival-rate",
		"<stdin>: scenarios[0].steps[1].url: ${token} is not defined by a variable or an earlier step's extractor",
		"<stdin>: scenarios[0].steps[1].think: unknown distribution \"gamma\"",
		"<stdin>: thresholds[0].expr: threshold \"p(95) <\"",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("missing %q in:\n%s", want, errs)
		}
	}
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	code, _, errs = runRamp(t, "name: x\nscenarioz: []\n", "load", "run", "-")
	if code != 1 || !strings.Contains(errs, "field scenarioz not found") {
		t.Fatalf("unknown field: exit %d: %s", code, errs)
	}
}

func slowServer(t *testing.T, d time.Duration) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(d)
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestLoadThresholdExit99 runs quick mode with a threshold the target cannot meet.
func TestLoadThresholdExit99(t *testing.T) {
	srv := slowServer(t, 5*time.Millisecond)
	sum := filepath.Join(t.TempDir(), "s.json")
	code, out, errs := runRamp(t, "", "load", "run", "--url", srv.URL, "--rate", "50", "--duration", "1s",
		"--threshold", "p(95) < 1ms", "--threshold", "error_rate < 1%", "--summary", sum, "--progress", "none")
	if code != 99 || !strings.Contains(errs, `thresholds failed: "p(95) < 1ms"`) || !strings.Contains(out, "FAIL  p(95) < 1ms") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	s := readSummary(t, sum)
	if s.Pass || len(s.Thresholds) != 2 || s.Thresholds[0].Pass || !s.Thresholds[1].Pass || s.Thresholds[0].Value < 5 {
		t.Fatalf("thresholds %+v", s.Thresholds)
	}
	code, _, errs = runRamp(t, "", "load", "run", "--url", srv.URL, "--vus", "2", "--duration", "1s", "--threshold", "p(95) < 1s", "--progress", "none")
	if code != 0 {
		t.Fatalf("passing run: exit %d %s", code, errs)
	}
}

// TestLoadAbortOnFail: a 30 s plan whose threshold fails from the start stops within 5 s of the
// breach once its grace period is over.
func TestLoadAbortOnFail(t *testing.T) {
	srv := slowServer(t, 20*time.Millisecond)
	plan := fmt.Sprintf(`name: abort
load: {type: constant-arrival-rate, rate: 50, duration: 30s}
scenarios:
  - name: slow
    steps: [{url: %q}]
thresholds:
  - expr: p(95) < 5ms
    abort_on_fail: true
    grace: 1s
`, srv.URL)
	sum := filepath.Join(t.TempDir(), "s.json")
	start := time.Now()
	code, out, errs := runRamp(t, plan, "load", "run", "-", "--summary", sum, "--progress", "none")
	took := time.Since(start)
	if code != 99 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	s := readSummary(t, sum)
	// The breach is visible at the first judgement (about 1 s, when the grace ends); the run must
	// end within 5 s of it, far before its planned 30 s.
	th := s.Thresholds[0]
	if !s.Aborted || !th.Aborted || th.FailedAtS < 0 || th.FailedAtS > 3 || s.DurationS-th.FailedAtS > 5 || took > 10*time.Second {
		t.Fatalf("took %v (run %.1fs), aborted %v, threshold %+v", took, s.DurationS, s.Aborted, th)
	}
	if !strings.Contains(out, "run aborted: threshold") {
		t.Fatalf("no abort line in:\n%s", out)
	}
}

func TestLoadMetricsAddr(t *testing.T) {
	srv := slowServer(t, 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	sum := filepath.Join(t.TempDir(), "s.json")
	done := make(chan int, 1)
	go func() {
		code, _, _ := runRamp(t, "", "load", "run", "--url", srv.URL, "--rate", "100", "--duration", "3s", "--metrics-addr", addr, "--progress", "none", "--summary", sum)
		done <- code
	}()
	time.Sleep(2200 * time.Millisecond)
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var reqs float64
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "ramp_load_requests_total ") {
			fmt.Sscanf(strings.TrimPrefix(line, "ramp_load_requests_total "), "%g", &reqs)
		}
	}
	// two intervals at 100/s have been published (fewer when the machine is busy)
	if reqs < 1 || reqs > 250 {
		t.Fatalf("ramp_load_requests_total = %v, want up to about 200\n%s", reqs, body)
	}
	if code := <-done; code != 0 {
		t.Fatalf("exit %d", code)
	}
	if s := readSummary(t, sum); float64(s.Requests) < reqs {
		t.Fatalf("scraped %v requests, run ended with %d", reqs, s.Requests)
	}
}

func TestLoadRefusesNonLoopback(t *testing.T) {
	sum := filepath.Join(t.TempDir(), "s.json")
	plan := `name: remote
targets: {allowed_hosts: [192.0.2.10]}
load: {type: per-vu-iterations, vus: 1, iterations: 2}
scenarios:
  - name: a
    steps: [{url: "http://192.0.2.10:9/"}, {url: "http://198.51.100.7:9/"}]
thresholds: ["error_rate < 1%"]
`
	// Listed but not confirmed, and not listed at all: both refused before any packet is sent.
	code, _, _ := runRamp(t, plan, "load", "run", "-", "--summary", sum, "--progress", "none")
	s := readSummary(t, sum)
	if code != 99 || s.ErrorClasses["host_not_allowed"] != 4 {
		t.Fatalf("exit %d, error classes %v", code, s.ErrorClasses)
	}
}

func TestLoadCalibrateInProcess(t *testing.T) {
	code, out, errs := runRamp(t, "", "load", "calibrate", "--in-process", "--duration", "1s", "--vus", "4")
	if code != 0 || !strings.Contains(out, "requests/s") || !strings.Contains(out, "CPU-s per 100k requests") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	code, out, _ = runRamp(t, "", "load", "calibrate", "--in-process", "--duration", "500ms", "--json")
	var c load.Calibration
	if code != 0 || json.Unmarshal([]byte(out), &c) != nil || c.Requests == 0 || c.CPUPer100k <= 0 {
		t.Fatalf("exit %d json %s", code, out)
	}
}

func TestLoadProgressBar(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, "bar", time.Second)
	p.begin(10 * time.Second)
	p.update(load.Snapshot{Elapsed: 5 * time.Second, Rate: 100, InFlight: 3, P95: 12.5, Requests: 500, Valid: true})
	p.end()
	if got := b.String(); !strings.HasPrefix(got, "\r\x1b[K[============            ]  50% 5s/10s  rate 100/s  in-flight 3") || !strings.HasSuffix(got, "\n") {
		t.Fatalf("bar %q", got)
	}
	b.Reset()
	p = newProgress(&b, "auto", time.Hour) // a buffer is not a terminal: plain lines
	p.update(load.Snapshot{Elapsed: time.Second, Valid: false})
	p.update(load.Snapshot{Elapsed: 2 * time.Second})
	if got := b.String(); strings.Count(got, "\n") != 1 || !strings.HasPrefix(got, "progress: 1s/0s") || !strings.Contains(got, "INVALID") {
		t.Fatalf("plain %q", got)
	}
}

// TestLoadInterrupted: a run cancelled by SIGINT (the env context) still judges its thresholds on
// what it measured and writes its summary, marked aborted.
func TestLoadInterrupted(t *testing.T) {
	srv := slowServer(t, 0)
	sum := filepath.Join(t.TempDir(), "s.json")
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	var out, errb bytes.Buffer
	start := time.Now()
	code := Run(ctx, []string{"load", "run", "--url", srv.URL, "--rate", "50", "--duration", "30s", "--threshold", "error_rate < 1%", "--summary", sum, "--progress", "none"}, strings.NewReader(""), &out, &errb)
	if code != 0 || time.Since(start) > 5*time.Second {
		t.Fatalf("exit %d after %v\n%s%s", code, time.Since(start), out.String(), errb.String())
	}
	s := readSummary(t, sum)
	if !s.Aborted || s.AbortReason != "interrupted" || s.Requests < 50 || !s.Pass {
		t.Fatalf("summary %+v", s)
	}
}
