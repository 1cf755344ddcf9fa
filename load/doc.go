// Package load is ramp's load engine as a library: test plans, executors (open and closed workload
// models), pacing, the HTTP client with its safety guard, HDR histograms, thresholds and results.
//
// A run flows one way: a [Plan] is compiled once (templates, JSON paths, regular expressions, feeds),
// each scenario's executor paces iterations, virtual users (VUs) execute the scenario's steps, every
// request is recorded into sharded per-worker recorders, and one collector goroutine merges them each
// second into interval and cumulative histograms, judges the thresholds and publishes a [Snapshot].
//
// Every request records two latencies:
//
//   - service time: from the moment the request was actually sent to the last byte of the response;
//   - response time: from the intended start in the arrival schedule to the last byte. In the open
//     models (constant-arrival-rate, ramping-arrival-rate, poisson) the schedule does not wait for the
//     target, so a stalled target shows up in response time instead of being hidden (no coordinated
//     omission). When the in-flight bound is reached an iteration is dropped and counted, never skipped
//     silently.
//
// Plans usually come from YAML ([ParsePlan]) but programs can build a [Plan] in Go and call [Run]
// directly. The package does not log: it returns errors and results. It imports only the standard
// library and third-party packages, never the feature-flag half of ramp; load/netsim adds network and
// device profiles on top of it.
package load
