package load

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"time"
)

// EchoHandler is the trivial target used by calibration and the efficiency benchmark: it answers
// every request with 200 and a two-byte body.
func EchoHandler() http.Handler {
	body := []byte("ok")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = []string{"text/plain"}
		w.Write(body) //nolint:errcheck // nothing to do about a gone client
	})
}

// CalibrateOptions say how hard and how long to calibrate.
type CalibrateOptions struct {
	// Duration of the measurement; default 5s.
	Duration time.Duration
	// VUs is the closed-model concurrency; default 8 per CPU.
	VUs int
}

// Calibration is the generator's measured ceiling on this machine.
type Calibration struct {
	Target       string  `json:"target"`
	VUs          int     `json:"vus"`
	GOMAXPROCS   int     `json:"gomaxprocs"`
	Requests     int64   `json:"requests"`
	Errors       int64   `json:"errors"`
	DurationS    float64 `json:"duration_s"`
	Rate         float64 `json:"rate"`
	CPUSeconds   float64 `json:"cpu_seconds"`
	CPUPer100k   float64 `json:"cpu_seconds_per_100k"`
	ServiceP50Ms float64 `json:"service_p50_ms"`
	ServiceP99Ms float64 `json:"service_p99_ms"`
	// Valid is false when the run itself was limited by something other than the generator's CPU
	// (for example scheduler lag or socket exhaustion); saturated CPU is expected here.
	Invalid []string `json:"invalid,omitempty"`
}

// Calibrate drives target (an HTTP URL on loopback, normally an EchoHandler in another process) with
// a closed model at full speed and reports the rate reached and the generator's CPU per request,
// measured with getrusage around the run.
func Calibrate(ctx context.Context, target string, opts CalibrateOptions) (*Calibration, error) {
	if opts.Duration <= 0 {
		opts.Duration = 5 * time.Second
	}
	if opts.VUs <= 0 {
		opts.VUs = 8 * runtime.GOMAXPROCS(0)
	}
	p := &Plan{
		Name:      "calibrate",
		Load:      &Executor{Type: ConstantVUs, VUs: opts.VUs, Duration: Duration(opts.Duration)},
		Scenarios: []Scenario{{Name: "echo", Steps: []Step{{Name: "echo", URL: target}}}},
	}
	eng, err := New(p, Options{})
	if err != nil {
		return nil, err
	}
	res, err := eng.Run(ctx)
	if err != nil {
		return nil, err
	}
	s := res.Summary
	if s.Requests == 0 {
		return nil, errors.New("calibration target answered no request: " + firstOr(res.ErrorSamples, "no error recorded"))
	}
	c := &Calibration{
		Target: target, VUs: opts.VUs, GOMAXPROCS: runtime.GOMAXPROCS(0), Requests: s.Requests, Errors: s.Errors,
		DurationS: s.DurationS, Rate: s.Rate, CPUSeconds: s.CPUSeconds,
		CPUPer100k:   round3(s.CPUSeconds / float64(s.Requests) * 100000),
		ServiceP50Ms: s.ServiceTime.P50, ServiceP99Ms: s.ServiceTime.P99,
	}
	for _, r := range s.Invalid {
		if reasonKey(r) != "generator CPU saturated" {
			c.Invalid = append(c.Invalid, r)
		}
	}
	return c, nil
}

func firstOr(s []string, def string) string {
	if len(s) > 0 {
		return s[0]
	}
	return def
}
