package load_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/ramphq/ramp/load"
)

// Drive the engine from Go, without YAML: 50 requests per second for one second against a loopback
// server, with a check, an extractor feeding the next step, and thresholds.
func ExampleRun() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			fmt.Fprint(w, `{"token":"t-1"}`)
			return
		}
		if r.Header.Get("Authorization") != "Bearer t-1" {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer srv.Close()

	plan := &load.Plan{
		Name:    "library",
		Targets: load.Targets{BaseURL: srv.URL},
		Load:    &load.Executor{Type: load.ConstantArrivalRate, Rate: 50, Duration: load.Duration(1e9)},
		Scenarios: []load.Scenario{{
			Name: "login-then-get",
			Steps: []load.Step{
				{Name: "login", Method: "POST", URL: "/login", Extract: []load.Extractor{{Name: "token", JSON: "$.token"}}},
				{Name: "me", URL: "/me", Headers: map[string]string{"Authorization": "Bearer ${token}"}, Checks: []load.Check{{Status: "200"}}},
			},
		}},
		Thresholds: []load.Threshold{{Expr: "error_rate < 1%"}, {Expr: "p(99) < 1s", Tags: map[string]string{"step": "me"}}},
	}
	res, err := load.Run(context.Background(), plan, load.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	s := res.Summary
	fmt.Println("iterations:", s.Iterations, "requests:", s.Requests, "errors:", s.Errors, "checks failed:", s.ChecksFailed)
	fmt.Println("pass:", s.Pass)
	// Output:
	// iterations: 50 requests: 100 errors: 0 checks failed: 0
	// pass: true
}

// Plans are usually YAML; ParsePlan reports every problem with its path.
func ExampleParsePlan() {
	_, err := load.ParsePlan("plan.yaml", []byte(`
name: broken
load: {type: constant-vus, vus: 0, duration: 10s}
scenarios:
  - name: browse
    steps:
      - url: http://127.0.0.1:8080/items/${item}
`))
	fmt.Println(err)
	// Output:
	// plan.yaml: load.vus: must be positive for constant-vus
	// plan.yaml: scenarios[0].steps[0].url: ${item} is not defined by a variable or an earlier step's extractor
}

// New compiles the plan before any traffic, so feed, template and secret errors surface first; the
// Redactor hides the plan's secrets in anything a program prints.
func ExampleNew() {
	plan := &load.Plan{
		Name:      "secrets",
		Secrets:   map[string]load.Secret{"token": {Value: "s3cr3t"}},
		Load:      &load.Executor{Type: load.PerVUIterations, VUs: 1, Iterations: 1},
		Scenarios: []load.Scenario{{Name: "s", Steps: []load.Step{{URL: "http://127.0.0.1:1/?t=${secret.token}"}}}},
	}
	eng, err := load.New(plan, load.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(eng.Redactor().Redact("GET http://127.0.0.1:1/?t=s3cr3t: connection refused"))
	// Output:
	// GET http://127.0.0.1:1/?t=***: connection refused
}
