package load_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ramphq/ramp/load"
)

// rssKiB reads this process's resident set size.
func rssKiB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return 0
}

// TestMemoryFlat is the long memory measurement: 10 minutes at 5,000 requests/s against the
// out-of-process echo target; RSS must stay within ±10 % of its value at the end of the first
// minute. It runs only with RAMP_LONG=1 (RAMP_LONG_DURATION overrides the length):
//
//	RAMP_LONG=1 go test ./load -run TestMemoryFlat -v -timeout 15m
func TestMemoryFlat(t *testing.T) {
	if os.Getenv("RAMP_LONG") != "1" {
		t.Skip("set RAMP_LONG=1 for the 10-minute memory measurement")
	}
	dur := 10 * time.Minute
	if s := os.Getenv("RAMP_LONG_DURATION"); s != "" {
		dur, _ = time.ParseDuration(s)
	}
	target := echoTarget(t)
	p := &load.Plan{
		Name:      "memory",
		Load:      &load.Executor{Type: load.ConstantArrivalRate, Rate: 5000, Duration: load.Duration(dur)},
		Scenarios: []load.Scenario{{Name: "echo", Steps: []load.Step{{URL: target, Checks: []load.Check{{Status: "200"}}}}}},
	}
	var samples []int64
	var at []time.Duration
	res, err := load.Run(context.Background(), p, load.Options{OnInterval: func(s load.Snapshot) {
		if int(s.Elapsed.Seconds())%10 == 0 {
			samples = append(samples, rssKiB())
			at = append(at, s.Elapsed.Round(time.Second))
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	var base int64
	lo, hi := int64(1<<62), int64(0)
	for i, v := range samples {
		if at[i] < time.Minute {
			continue
		}
		if base == 0 {
			base = v
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	t.Logf("requests %d rate %.0f/s errors %d dropped %d valid %v %v", res.Summary.Requests, res.Summary.Rate, res.Summary.Errors, res.Summary.Dropped, res.Summary.Valid, res.Summary.Invalid)
	t.Logf("RSS KiB at 1 min %d, min %d, max %d after it (%+.1f%% / %+.1f%%)", base, lo, hi, pct(lo, base), pct(hi, base))
	for i := range samples {
		t.Logf("t=%v rss=%d KiB", at[i], samples[i])
	}
	if base == 0 || pct(lo, base) < -10 || pct(hi, base) > 10 {
		t.Fatalf("RSS left ±10%% of %d KiB: min %d max %d", base, lo, hi)
	}
}

func pct(v, base int64) float64 { return float64(v-base) / float64(base) * 100 }
