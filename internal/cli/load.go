package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ramphq/ramp/load"
)

func init() { subcommands = append(subcommands, newLoadCmd) }

// Exit codes of ramp load run.
const (
	exitThresholdFailed = 99
)

func newLoadCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "load",
		Short: "Load and performance testing: run plans, validate them, calibrate the generator",
		Long: `ramp load runs load tests described by YAML plans (or a single URL in quick mode).

Exit codes of "ramp load run": 0 when every threshold passed, 99 when any failed,
1 for errors (bad plan, unreachable setup, refused host).`,
	}
	cmd.AddCommand(newLoadRunCmd(e), newLoadValidateCmd(e), newLoadCalibrateCmd(e))
	return cmd
}

type loadRunFlags struct {
	// quick mode
	url, method, bodyFile string
	headers, thresholds   []string
	rate                  float64
	vus                   int
	duration              time.Duration
	maxInFlight           int

	out, summary, metricsAddr  string
	allowNonLoopback, insecure bool
	maxRate                    float64
	network                    string
	progress                   string
	progressEvery              time.Duration
	seed                       uint64
}

func newLoadRunCmd(e *env) *cobra.Command {
	var f loadRunFlags
	cmd := &cobra.Command{
		Use:   "run [PLAN.yaml | -]",
		Short: "Run a load test plan, or one URL in quick mode",
		Example: `  ramp load run plan.yaml --out results.json --summary summary.json
  ramp load run - < plan.yaml
  ramp load run --url http://127.0.0.1:8080/ --rate 500 --duration 30s --threshold 'p(99) < 50ms'`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var p *load.Plan
			var err error
			switch {
			case len(args) == 1 && f.url != "":
				return errors.New("give either a plan file or --url, not both")
			case len(args) == 1:
				p, err = load.LoadPlanFile(args[0], e.stdin)
			case f.url != "":
				p, err = quickPlan(&f)
			default:
				return errors.New("give a plan file (or - for stdin), or --url with --rate or --vus and --duration")
			}
			if err != nil {
				return err
			}
			if len(args) == 1 {
				if err := addThresholdFlags(p, f.thresholds); err != nil {
					return err
				}
			}
			return runPlan(e, p, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.url, "url", "", "quick mode: the URL to load")
	fl.StringVarP(&f.method, "method", "X", "GET", "quick mode: HTTP method")
	fl.StringArrayVarP(&f.headers, "header", "H", nil, "quick mode: request header 'Name: value' (repeatable)")
	fl.StringVar(&f.bodyFile, "body", "", "quick mode: file sent as the request body")
	fl.Float64Var(&f.rate, "rate", 0, "quick mode: requests per second (open model, constant-arrival-rate)")
	fl.IntVar(&f.vus, "vus", 0, "quick mode: virtual users (closed model, constant-vus)")
	fl.DurationVarP(&f.duration, "duration", "d", 0, "quick mode: test duration")
	fl.IntVar(&f.maxInFlight, "max-in-flight", 0, "quick mode: in-flight bound of the open model (default 1000)")
	fl.StringArrayVar(&f.thresholds, "threshold", nil, "threshold expression such as 'p(95) < 200ms' (repeatable; added to a plan's)")
	fl.StringVarP(&f.out, "out", "o", "", "write the full results (schema ramp.load.results/v1) to this JSON file")
	fl.StringVar(&f.summary, "summary", "", "write the end-of-run summary (schema ramp.load.summary/v1) to this JSON file")
	fl.StringVar(&f.metricsAddr, "metrics-addr", "", "serve live Prometheus metrics on this address, e.g. 127.0.0.1:9464")
	fl.BoolVar(&f.allowNonLoopback, "allow-non-loopback", false, "confirm that hosts in the plan's targets.allowed_hosts may be loaded")
	fl.BoolVar(&f.insecure, "insecure", false, "skip TLS certificate verification")
	fl.Float64Var(&f.maxRate, "max-rate", 0, "global cap on requests per second across all scenarios")
	fl.StringVar(&f.network, "network", "", "network profile for every VU without a device profile (3g, 4g, wifi, slow-3g, lossy, or the plan's)")
	fl.StringVar(&f.progress, "progress", "auto", "live progress: auto, bar, plain or none")
	fl.DurationVar(&f.progressEvery, "progress-every", 5*time.Second, "interval of plain progress lines")
	fl.Uint64Var(&f.seed, "seed", 0, "random seed for repeatable think times, weights and arrivals")
	return cmd
}

func addThresholdFlags(p *load.Plan, exprs []string) error {
	for _, x := range exprs {
		p.Thresholds = append(p.Thresholds, load.Threshold{Expr: x})
	}
	if len(exprs) > 0 {
		return p.Validate()
	}
	return nil
}

// quickPlan builds a one-request plan from flags.
func quickPlan(f *loadRunFlags) (*load.Plan, error) {
	if f.duration <= 0 {
		return nil, errors.New("quick mode needs --duration")
	}
	if (f.rate > 0) == (f.vus > 0) {
		return nil, errors.New("quick mode needs exactly one of --rate or --vus")
	}
	step := load.Step{Name: "request", Method: f.method, URL: f.url, Headers: map[string]string{}}
	for _, h := range f.headers {
		k, v, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("--header %q: want 'Name: value'", h)
		}
		step.Headers[strings.TrimSpace(k)] = strings.ReplaceAll(strings.TrimSpace(v), "$", "$$")
	}
	if f.bodyFile != "" {
		step.Body = &load.Body{File: f.bodyFile}
	}
	// Quick mode takes the URL and headers literally: a $ in them is not a template.
	step.URL = strings.ReplaceAll(step.URL, "$", "$$")
	exec := &load.Executor{Type: load.ConstantArrivalRate, Rate: f.rate, Duration: load.Duration(f.duration), MaxInFlight: f.maxInFlight}
	if f.vus > 0 {
		exec = &load.Executor{Type: load.ConstantVUs, VUs: f.vus, Duration: load.Duration(f.duration)}
	}
	p := &load.Plan{Name: "quick " + f.url, Load: exec, Scenarios: []load.Scenario{{Name: "quick", Steps: []load.Step{step}}}}
	for _, x := range f.thresholds {
		p.Thresholds = append(p.Thresholds, load.Threshold{Expr: x})
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

func runPlan(e *env, p *load.Plan, f *loadRunFlags) (err error) {
	live := &liveMetrics{}
	prog := newProgress(e.stderr, f.progress, f.progressEvery)
	opts := load.Options{
		AllowNonLoopback: f.allowNonLoopback, InsecureSkipVerify: f.insecure, MaxRate: f.maxRate,
		Network: f.network, Seed: f.seed,
		OnInterval: func(s load.Snapshot) {
			live.set(s)
			prog.update(s)
		},
	}
	var spool *intervalSpool
	if f.out != "" {
		// Intervals go to a spool file next to --out as they close, so memory stays flat
		// however long the run; results.json is assembled from it at the end.
		if spool, err = newIntervalSpool(f.out); err != nil {
			return err
		}
		defer spool.discard()
		opts.IntervalSink = spool.add
	}
	eng, err := load.New(p, opts)
	if err != nil {
		return err
	}
	red := eng.Redactor()
	if f.metricsAddr != "" {
		stop, err := serveMetrics(f.metricsAddr, live)
		if err != nil {
			return fmt.Errorf("--metrics-addr: %w", err)
		}
		defer stop()
	}
	prog.begin(eng.PlannedDuration())
	res, err := eng.Run(e.ctx)
	prog.end()
	if err != nil {
		return errors.New(red.Redact(err.Error()))
	}
	writeSummaryTable(e.stdout, res)
	if spool != nil {
		if err := spool.writeResults(f.out, res); err != nil {
			return err
		}
	}
	if f.summary != "" {
		if err := writeJSON(f.summary, res.Summary, red); err != nil {
			return err
		}
	}
	if !res.Summary.Pass {
		return &ExitError{Code: exitThresholdFailed, Err: errors.New(red.Redact(failedThresholds(res)))}
	}
	return nil
}

func failedThresholds(res *load.Result) string {
	var names []string
	for _, t := range res.Summary.Thresholds {
		if !t.Pass {
			names = append(names, fmt.Sprintf("%q", t.Expr))
		}
	}
	msg := "thresholds failed: " + strings.Join(names, ", ")
	if res.Aborted {
		msg += " (run aborted: " + res.AbortReason + ")"
	}
	return msg
}

// writeJSON writes v as indented JSON with secrets redacted.
func writeJSON(path string, v any, red *load.Redactor) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	b = []byte(red.Redact(string(b)))
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func newLoadValidateCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "validate PLAN.yaml...",
		Short: "Check plans without sending traffic (exit 1 with every problem and its path)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var errs []string
			for _, path := range args {
				p, err := load.LoadPlanFile(path, e.stdin)
				if err == nil {
					err = load.CheckPlan(p)
					if err != nil {
						err = fmt.Errorf("%s: %w", path, err)
					}
				}
				if err != nil {
					errs = append(errs, err.Error())
					continue
				}
				steps := 0
				for _, s := range p.Scenarios {
					steps += len(s.Steps)
				}
				fmt.Fprintf(e.stdout, "%s: ok (%d scenarios, %d steps, %d thresholds)\n", path, len(p.Scenarios), steps, len(p.Thresholds))
			}
			if len(errs) > 0 {
				return errors.New(strings.Join(errs, "\n"))
			}
			return nil
		},
	}
}

// isTTY reports whether w is a terminal.
func isTTY(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
