package load_test

import (
	"context"
	"encoding/json"
	"os"
	"slices"
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
	type rssSample struct {
		at    time.Duration
		kib   int64
		valid bool // the generator kept up in the last 5 intervals
	}
	var samples []rssSample
	recent := make([]bool, 0, 8)
	// Intervals are spooled to a file as ramp load run --out does, so that what is measured is
	// the engine's own state.
	spool, err := os.CreateTemp(t.TempDir(), "intervals")
	if err != nil {
		t.Fatal(err)
	}
	defer spool.Close()
	enc := json.NewEncoder(spool)
	res, err := load.Run(context.Background(), p, load.Options{IntervalSink: func(iv load.Interval) { enc.Encode(iv) }, OnInterval: func(s load.Snapshot) {
		recent = append(recent, s.IntervalValid)
		if len(recent) > 5 {
			recent = recent[1:]
		}
		if int(s.Elapsed.Seconds())%10 == 0 {
			ok := true
			for _, v := range recent {
				ok = ok && v
			}
			samples = append(samples, rssSample{s.Elapsed.Round(time.Second), rssKiB(), ok})
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("requests %d rate %.0f/s errors %d dropped %d valid %v %v", res.Summary.Requests, res.Summary.Rate, res.Summary.Errors, res.Summary.Dropped, res.Summary.Valid, res.Summary.Invalid)
	// The reference is the median RSS of the quiet samples of minute two. A sample taken while the generator
	// could not keep up (in-flight iterations piling up on a busy machine, flagged invalid by its
	// self-validation) holds more live workers and is reported but not judged.
	var second []int64
	for _, s := range samples {
		if s.at >= time.Minute && s.at < 2*time.Minute && s.valid {
			second = append(second, s.kib)
		}
	}
	if len(second) == 0 { // minute two was all turbulence: use every quiet sample after minute one
		for _, s := range samples {
			if s.at >= time.Minute && s.valid {
				second = append(second, s.kib)
			}
		}
	}
	slices.Sort(second)
	if len(second) == 0 {
		t.Fatal("run too short for a reference")
	}
	base := second[len(second)/2]
	lo, hi := int64(1<<62), int64(0)
	judged, skipped := 0, 0
	for _, s := range samples {
		mark := ""
		if s.at >= time.Minute && s.valid {
			lo, hi = min(lo, s.kib), max(hi, s.kib)
			judged++
		} else if s.at >= time.Minute {
			skipped++
			mark = " (generator behind: not judged)"
		}
		t.Logf("t=%v rss=%d KiB%s", s.at, s.kib, mark)
	}
	t.Logf("RSS reference %d KiB; judged %d samples, min %d (%+.1f%%), max %d (%+.1f%%); %d samples not judged", base, judged, lo, pct(lo, base), hi, pct(hi, base), skipped)
	if judged < len(samples)/3 {
		t.Skipf("machine too busy: only %d of %d samples taken while the generator kept up", judged, len(samples))
	}
	if pct(lo, base) < -10 || pct(hi, base) > 10 {
		t.Fatalf("RSS left ±10%% of %d KiB: min %d max %d", base, lo, hi)
	}
}

func pct(v, base int64) float64 { return float64(v-base) / float64(base) * 100 }
