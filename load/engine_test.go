package load_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ramphq/ramp/load"
)

func okServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true,"id":42}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func d(s string) load.Duration {
	v, err := time.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return load.Duration(v)
}

func TestConstantArrivalRateSmoke(t *testing.T) {
	srv, hits := okServer(t)
	p := &load.Plan{
		Name:       "smoke",
		Targets:    load.Targets{BaseURL: srv.URL},
		Load:       &load.Executor{Type: load.ConstantArrivalRate, Rate: 100, Duration: d("2s")},
		Scenarios:  []load.Scenario{{Name: "get", Steps: []load.Step{{URL: "/x", Checks: []load.Check{{Status: "200"}, {JSON: "$.id"}}}}}},
		Thresholds: []load.Threshold{{Expr: "error_rate < 1%"}, {Expr: "checks > 99%"}},
	}
	res, err := load.Run(context.Background(), p, load.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Summary
	if s.Requests < 195 || s.Requests > 201 || hits.Load() != s.Requests {
		t.Fatalf("requests = %d, server saw %d, want ~200", s.Requests, hits.Load())
	}
	if !s.Pass || s.Errors != 0 || s.ChecksFailed != 0 || s.ChecksPassed != 2*s.Requests {
		t.Fatalf("summary = %+v", s)
	}
	if len(res.Intervals) < 2 {
		t.Fatalf("intervals = %d", len(res.Intervals))
	}
}
