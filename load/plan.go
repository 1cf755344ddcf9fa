package load

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// PlanVersion is the plan format version this package reads.
const PlanVersion = 1

// Plan is a load test: what to call, how hard, and what counts as success. The zero values of optional
// fields are useful defaults; [Plan.Validate] reports every problem with its path in the plan.
type Plan struct {
	Version     int               `json:"version,omitempty" yaml:"version,omitempty"`
	Name        string            `json:"name" yaml:"name"`
	Description string            `json:"description,omitempty" yaml:"description,omitempty"`
	Metadata    Metadata          `json:"metadata,omitzero" yaml:"metadata,omitempty"`
	Targets     Targets           `json:"targets,omitzero" yaml:"targets,omitempty"`
	Variables   map[string]string `json:"variables,omitempty" yaml:"variables,omitempty"`
	Secrets     map[string]Secret `json:"secrets,omitempty" yaml:"secrets,omitempty"`
	Feeds       map[string]Feed   `json:"feeds,omitempty" yaml:"feeds,omitempty"`
	Defaults    Defaults          `json:"defaults,omitzero" yaml:"defaults,omitempty"`
	// Load is the executor shared by every scenario that has none of its own; such scenarios are
	// picked per iteration by weight.
	Load       *Executor   `json:"load,omitempty" yaml:"load,omitempty"`
	Scenarios  []Scenario  `json:"scenarios" yaml:"scenarios"`
	Thresholds []Threshold `json:"thresholds,omitempty" yaml:"thresholds,omitempty"`
	// Devices is an optional weighted mix of devices; each VU draws one when it starts.
	Devices []Device `json:"devices,omitempty" yaml:"devices,omitempty"`
	// Networks defines custom network profiles by name, in addition to the presets (3g, 4g, wifi, ...).
	Networks map[string]NetworkProfile `json:"networks,omitempty" yaml:"networks,omitempty"`
	// MaxRate caps the requests per second of the whole run (0: no cap).
	MaxRate float64 `json:"max_rate,omitempty" yaml:"max_rate,omitempty"`

	// dir is the directory relative file references (feeds, bodies, secrets) resolve against.
	dir string
}

// Metadata documents the test for the humans who read its results.
type Metadata struct {
	Requirements    []string `json:"requirements,omitempty" yaml:"requirements,omitempty"`
	SuccessCriteria []string `json:"success_criteria,omitempty" yaml:"success_criteria,omitempty"`
	Risks           []string `json:"risks,omitempty" yaml:"risks,omitempty"`
	Owner           string   `json:"owner,omitempty" yaml:"owner,omitempty"`
}

// Targets names the system under test. Relative step URLs are joined to BaseURL. Loopback hosts are
// always allowed; any other host must be listed in AllowedHosts and the run confirmed
// ([Options.AllowNonLoopback]).
type Targets struct {
	BaseURL      string   `json:"base_url,omitempty" yaml:"base_url,omitempty"`
	AllowedHosts []string `json:"allowed_hosts,omitempty" yaml:"allowed_hosts,omitempty"`
}

// Secret is a value that is never printed: it is read from an environment variable, a file, or (for
// tests) given inline, and redacted from every output.
type Secret struct {
	Env   string `json:"env,omitempty" yaml:"env,omitempty"`
	File  string `json:"file,omitempty" yaml:"file,omitempty"`
	Value string `json:"value,omitempty" yaml:"value,omitempty"`
}

// Feed is a data file whose rows parameterise iterations. Columns are referenced as ${feed.column}.
type Feed struct {
	File string `json:"file" yaml:"file"`
	// Format is csv or json; empty means by file extension.
	Format string `json:"format,omitempty" yaml:"format,omitempty"`
	// Mode is sequential (default), random, or unique (one row per VU for its whole life).
	Mode string `json:"mode,omitempty" yaml:"mode,omitempty"`
}

// Defaults apply to every step.
type Defaults struct {
	Headers map[string]string `json:"headers,omitempty" yaml:"headers,omitempty"`
	Timeout Duration          `json:"timeout,omitempty" yaml:"timeout,omitempty"`
	// MaxConnections bounds the connections per host and network profile (0: unbounded). Like wrk's
	// -c, requests beyond it wait for a free connection; that wait counts in response time, not in
	// service time.
	MaxConnections int `json:"max_connections,omitempty" yaml:"max_connections,omitempty"`
}

// Executor types.
const (
	ConstantArrivalRate = "constant-arrival-rate"
	RampingArrivalRate  = "ramping-arrival-rate"
	Poisson             = "poisson"
	ConstantVUs         = "constant-vus"
	RampingVUs          = "ramping-vus"
	PerVUIterations     = "per-vu-iterations"
)

// Executor says how iterations are started. Open models (arrival-rate, poisson) start iterations on a
// schedule regardless of the target; closed models (VUs) start the next iteration when the last one ends.
type Executor struct {
	Type string `json:"type" yaml:"type"`
	// Rate is iterations per second for constant-arrival-rate and poisson, and the starting rate of
	// ramping-arrival-rate.
	Rate float64 `json:"rate,omitempty" yaml:"rate,omitempty"`
	// VUs is the number of virtual users for constant-vus and per-vu-iterations, and the starting
	// number for ramping-vus.
	VUs int `json:"vus,omitempty" yaml:"vus,omitempty"`
	// Iterations per VU for per-vu-iterations.
	Iterations int `json:"iterations,omitempty" yaml:"iterations,omitempty"`
	// Duration of the executor; for ramping executors it is the sum of the stages.
	Duration Duration `json:"duration,omitempty" yaml:"duration,omitempty"`
	// Stages ramp linearly from the previous target to Target over Duration.
	Stages []Stage `json:"stages,omitempty" yaml:"stages,omitempty"`
	// MaxInFlight bounds concurrent iterations of open models; arrivals beyond it are dropped and
	// counted. Default 1000.
	MaxInFlight int `json:"max_in_flight,omitempty" yaml:"max_in_flight,omitempty"`
	// StartTime delays the executor from the start of the run.
	StartTime Duration `json:"start_time,omitempty" yaml:"start_time,omitempty"`
	// GracefulStop is how long running iterations may finish after the executor's end. Default 5s.
	GracefulStop Duration `json:"graceful_stop,omitempty" yaml:"graceful_stop,omitempty"`
}

// Stage is one segment of a ramping executor: ramp-up, steady state, peak, spike or cool-down.
type Stage struct {
	Duration Duration `json:"duration" yaml:"duration"`
	Target   float64  `json:"target" yaml:"target"`
}

// Scenario is a user journey: an ordered list of steps executed by one VU per iteration.
type Scenario struct {
	Name   string  `json:"name" yaml:"name"`
	Weight float64 `json:"weight,omitempty" yaml:"weight,omitempty"`
	// Executor, when set, runs this scenario on its own schedule, concurrently with the others.
	Executor *Executor `json:"executor,omitempty" yaml:"executor,omitempty"`
	Steps    []Step    `json:"steps" yaml:"steps"`
}

// Step is one HTTP request of a journey.
type Step struct {
	Name    string            `json:"name,omitempty" yaml:"name,omitempty"`
	Method  string            `json:"method,omitempty" yaml:"method,omitempty"`
	URL     string            `json:"url" yaml:"url"`
	Headers map[string]string `json:"headers,omitempty" yaml:"headers,omitempty"`
	Body    *Body             `json:"body,omitempty" yaml:"body,omitempty"`
	Timeout Duration          `json:"timeout,omitempty" yaml:"timeout,omitempty"`
	Checks  []Check           `json:"checks,omitempty" yaml:"checks,omitempty"`
	Extract []Extractor       `json:"extract,omitempty" yaml:"extract,omitempty"`
	Think   *Think            `json:"think,omitempty" yaml:"think,omitempty"`
}

// Body is a request body: JSON (any value, templated inside strings), a template string, or a file
// sent as is. In YAML a plain string is a template.
type Body struct {
	JSON     any    `json:"json,omitempty" yaml:"json,omitempty"`
	Template string `json:"template,omitempty" yaml:"template,omitempty"`
	File     string `json:"file,omitempty" yaml:"file,omitempty"`
}

// UnmarshalYAML accepts a plain string as a template body.
func (b *Body) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		b.Template = n.Value
		return nil
	}
	type plain Body
	return n.Decode((*plain)(b))
}

// Check is an assertion on a response. Exactly one subject is set (Status, JSON, Header, Body or
// Latency); the comparison fields apply to it.
type Check struct {
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
	// Status is an exact code (200) or a class ("2xx"); StatusIn lists accepted codes.
	Status   string `json:"status,omitempty" yaml:"status,omitempty"`
	StatusIn []int  `json:"status_in,omitempty" yaml:"status_in,omitempty"`
	// JSON is a path such as $.items[0].id into the JSON body.
	JSON string `json:"json,omitempty" yaml:"json,omitempty"`
	// Header names a response header.
	Header string `json:"header,omitempty" yaml:"header,omitempty"`
	// Body checks the raw body.
	Body bool `json:"body,omitempty" yaml:"body,omitempty"`
	// Latency fails when the service time exceeds it.
	Latency Duration `json:"latency,omitempty" yaml:"latency,omitempty"`

	Equals   *string `json:"equals,omitempty" yaml:"equals,omitempty"`
	Contains string  `json:"contains,omitempty" yaml:"contains,omitempty"`
	Matches  string  `json:"matches,omitempty" yaml:"matches,omitempty"`
	// Exists (the default for JSON and Header) only asks for presence.
	Exists *bool `json:"exists,omitempty" yaml:"exists,omitempty"`
}

// Extractor captures a value from a response into a variable for later steps (correlation).
type Extractor struct {
	Name   string `json:"name" yaml:"name"`
	JSON   string `json:"json,omitempty" yaml:"json,omitempty"`
	Regex  string `json:"regex,omitempty" yaml:"regex,omitempty"`
	Header string `json:"header,omitempty" yaml:"header,omitempty"`
	Cookie string `json:"cookie,omitempty" yaml:"cookie,omitempty"`
	// Default is used when nothing matches; without it a miss fails the iteration.
	Default *string `json:"default,omitempty" yaml:"default,omitempty"`
}

// Think is a pause after a step. In YAML a plain duration means a constant pause.
type Think struct {
	// Dist is constant (default), uniform, exponential or normal.
	Dist   string   `json:"dist,omitempty" yaml:"dist,omitempty"`
	Value  Duration `json:"value,omitempty" yaml:"value,omitempty"`
	Min    Duration `json:"min,omitempty" yaml:"min,omitempty"`
	Max    Duration `json:"max,omitempty" yaml:"max,omitempty"`
	Mean   Duration `json:"mean,omitempty" yaml:"mean,omitempty"`
	StdDev Duration `json:"stddev,omitempty" yaml:"stddev,omitempty"`
}

// UnmarshalYAML accepts a plain duration as constant think time.
func (t *Think) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		t.Dist = "constant"
		return n.Decode(&t.Value)
	}
	type plain Think
	return n.Decode((*plain)(t))
}

// Threshold is a pass/fail criterion on the run's metrics, for example `p(95) < 200ms`,
// `error_rate < 1%`, `rate > 500/s` or `checks > 99%`.
type Threshold struct {
	Expr string `json:"expr" yaml:"expr"`
	// Metric is response_time (default) or service_time; it applies to p(N), mean, min and max.
	Metric string `json:"metric,omitempty" yaml:"metric,omitempty"`
	// Tags restrict the threshold to a scenario and/or step: {scenario: checkout, step: pay}.
	Tags map[string]string `json:"tags,omitempty" yaml:"tags,omitempty"`
	// Over judges the expression on every sliding window of this length instead of the whole run.
	Over Duration `json:"over,omitempty" yaml:"over,omitempty"`
	// AbortOnFail stops the run as soon as the threshold fails (after Grace).
	AbortOnFail bool     `json:"abort_on_fail,omitempty" yaml:"abort_on_fail,omitempty"`
	Grace       Duration `json:"grace,omitempty" yaml:"grace,omitempty"`
}

// UnmarshalYAML accepts a plain expression string.
func (t *Threshold) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		t.Expr = n.Value
		return nil
	}
	type plain Threshold
	return n.Decode((*plain)(t))
}

// Device is one entry of a weighted device mix.
type Device struct {
	Name      string            `json:"name" yaml:"name"`
	Weight    float64           `json:"weight,omitempty" yaml:"weight,omitempty"`
	UserAgent string            `json:"user_agent,omitempty" yaml:"user_agent,omitempty"`
	Network   string            `json:"network,omitempty" yaml:"network,omitempty"`
	Headers   map[string]string `json:"headers,omitempty" yaml:"headers,omitempty"`
}

// NetworkProfile shapes the connections of the VUs that use it, in user space.
type NetworkProfile struct {
	// Latency is added once per direction change (request written, response read).
	Latency Duration `json:"latency,omitempty" yaml:"latency,omitempty"`
	Jitter  Duration `json:"jitter,omitempty" yaml:"jitter,omitempty"`
	// DownKbps and UpKbps cap bandwidth with a token bucket (kilobits per second, 0: unlimited).
	DownKbps float64 `json:"down_kbps,omitempty" yaml:"down_kbps,omitempty"`
	UpKbps   float64 `json:"up_kbps,omitempty" yaml:"up_kbps,omitempty"`
	// ResetRate is the probability that a new connection is reset after its first response.
	ResetRate float64 `json:"reset_rate,omitempty" yaml:"reset_rate,omitempty"`
}

// Duration is a time.Duration written as "250ms", "1m30s" in plans and JSON.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalYAML reads "10s" or a bare number of seconds.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := parseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = v
	return nil
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads "10s" or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var f float64
		if err2 := json.Unmarshal(b, &f); err2 != nil {
			return err
		}
		*d = Duration(f * float64(time.Second))
		return nil
	}
	v, err := parseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

func parseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if v, err := time.ParseDuration(s); err == nil {
		if v < 0 {
			return 0, fmt.Errorf("duration %q is negative", s)
		}
		return Duration(v), nil
	}
	var f float64
	if _, err := fmt.Sscanf(s, "%g", &f); err == nil && fmt.Sprint(f) == s && f >= 0 {
		return Duration(f * float64(time.Second)), nil
	}
	return 0, fmt.Errorf("invalid duration %q (want e.g. 500ms, 10s, 1m30s)", s)
}
