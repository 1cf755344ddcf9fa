package load

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ramphq/ramp/load/netsim"
)

// Options tune a run without changing the plan. The zero value is a safe default: loopback targets
// only, no rate cap, no network shaping.
type Options struct {
	// AllowNonLoopback confirms that hosts listed in the plan's targets.allowed_hosts may be dialed.
	// Without it only loopback addresses are reachable.
	AllowNonLoopback bool
	// InsecureSkipVerify disables TLS certificate verification (self-signed test targets).
	InsecureSkipVerify bool
	// MaxRate caps requests per second across the whole run; the lower of it and the plan's max_rate
	// applies. 0 means no cap.
	MaxRate float64
	// Network is the network profile of VUs whose device names none (a preset such as "4g", or a
	// profile of the plan).
	Network string
	// LookupEnv resolves ${env.X} and secrets read from the environment; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// OnInterval, when set, is called once a second from the collector goroutine with live figures.
	// It must return quickly.
	OnInterval func(Snapshot)
	// Seed makes random choices (think times, weights, random feeds, poisson arrivals) repeatable.
	Seed uint64
	// Interval is the length of a results interval; default one second.
	Interval time.Duration
	// IntervalSink, when set, receives every interval (with its encoded histograms) as it closes,
	// and the Result keeps none of them: memory then stays flat however long the run. The CLI
	// streams them into results.json this way.
	IntervalSink func(Interval)
	// StdHTTP sends every request with net/http instead of the engine's own HTTP/1.1 client (which
	// is used for plain-http targets when no max_connections limit is set).
	StdHTTP bool
}

// Snapshot is the live state of a run, published once per interval.
type Snapshot struct {
	Elapsed    time.Duration
	Planned    time.Duration
	Requests   int64
	Errors     int64
	Dropped    int64
	Iterations int64
	// Rate is requests per second over the last interval.
	Rate     float64
	InFlight int64
	VUs      int64
	// P95 is the response-time 95th percentile over the run so far, in milliseconds.
	P95 float64
	// Valid is false once any interval was marked invalid; IntervalValid is about the last one.
	Valid         bool
	IntervalValid bool
	Reasons       []string
}

// Engine runs one compiled plan. Create it with [New]; it can run once.
type Engine struct {
	r    *runner
	used atomic.Bool
}

// New compiles the plan (feeds, secrets, templates, thresholds) so that errors surface before any
// traffic. The plan is validated first.
func New(p *Plan, opts Options) (*Engine, error) {
	cp, err := compilePlan(p, opts.LookupEnv)
	if err != nil {
		return nil, err
	}
	for _, g := range cp.groups {
		if g.exec.Type == PerVUIterations && g.exec.Duration == 0 {
			cp.duration = max(cp.duration, g.exec.StartTime.D())
		}
	}
	if opts.Network != "" {
		if _, ok := p.networkProfile(opts.Network); !ok {
			return nil, fmt.Errorf("unknown network profile %q (presets: %s)", opts.Network, presetNames())
		}
	}
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	r := &runner{cp: cp, opts: opts, rec: newRecorder(len(cp.series)), transports: map[string]*http.Transport{},
		redactor: NewRedactor(cp.secrets...)}
	r.guard = newGuard(p.Targets.AllowedHosts, opts.AllowNonLoopback)
	r.useH1 = !opts.StdHTTP && p.Defaults.MaxConnections == 0
	rate := p.MaxRate
	if opts.MaxRate > 0 && (rate == 0 || opts.MaxRate < rate) {
		rate = opts.MaxRate
	}
	r.cap = newRateCap(rate)
	r.seed = opts.Seed
	if r.seed == 0 {
		r.seed = uint64(time.Now().UnixNano())
	}
	return &Engine{r: r}, nil
}

// Redactor returns the redactor that hides the plan's secrets; use it on anything printed.
func (e *Engine) Redactor() *Redactor { return e.r.redactor }

// PlannedDuration is the run's planned length, without graceful stops.
func (e *Engine) PlannedDuration() time.Duration { return e.r.cp.duration }

// Run executes the plan until its executors finish, a threshold aborts it, or ctx is cancelled (the
// result then says Aborted). The error is non-nil only when the run could not happen at all.
func (e *Engine) Run(ctx context.Context) (*Result, error) {
	if !e.used.CompareAndSwap(false, true) {
		return nil, errors.New("load: an Engine runs once")
	}
	return e.r.run(ctx)
}

// Run compiles and runs a plan; see [New] and [Engine.Run].
func Run(ctx context.Context, p *Plan, opts Options) (*Result, error) {
	e, err := New(p, opts)
	if err != nil {
		return nil, err
	}
	return e.Run(ctx)
}

type runner struct {
	cp       *compiledPlan
	opts     Options
	rec      *recorder
	guard    *guard
	cap      *rateCap
	seed     uint64
	redactor *Redactor

	useH1      bool
	tmu        sync.Mutex
	transports map[string]*http.Transport

	nextVU   atomic.Int64
	dials    atomic.Int64
	pacerLag atomic.Int64 // max ns in the current interval
	groups   []*groupState

	emu        sync.Mutex
	errSample  []string
	nErrSample atomic.Int64

	abortMu     sync.Mutex
	abortReason string
	cancel      context.CancelFunc
}

// wrapFor returns the connection shaper of a network profile (nil for none).
func (r *runner) wrapFor(network string) func(net.Conn) net.Conn {
	if network == "" {
		return nil
	}
	np, _ := r.cp.plan.networkProfile(network)
	sim := netsim.Profile{Latency: np.Latency.D(), Jitter: np.Jitter.D(), DownKbps: np.DownKbps, UpKbps: np.UpKbps, ResetRate: np.ResetRate}
	seed := r.seed
	return func(c net.Conn) net.Conn { return sim.Wrap(c, seed+uint64(r.dials.Load())) }
}

// dialer returns the guarded dialer of the engine's own HTTP/1.1 client for a network profile.
func (r *runner) dialer(network string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return r.guard.dialer(r.wrapFor(network), &r.dials)
}

// transport returns the shared net/http connection pool for a network profile.
func (r *runner) transport(network string) *http.Transport {
	r.tmu.Lock()
	defer r.tmu.Unlock()
	if t, ok := r.transports[network]; ok {
		return t
	}
	maxConns := 0
	for _, g := range r.cp.groups {
		maxConns += max(g.exec.MaxInFlight, maxVUs(&g.exec))
	}
	t := newTransport(r.guard, r.wrapFor(network), maxConns, r.cp.plan.Defaults.MaxConnections, r.opts.InsecureSkipVerify, &r.dials)
	r.transports[network] = t
	return t
}

func (r *runner) notePacerLag(d time.Duration) {
	for {
		cur := r.pacerLag.Load()
		if int64(d) <= cur || r.pacerLag.CompareAndSwap(cur, int64(d)) {
			return
		}
	}
}

const maxErrSamples = 10

func (r *runner) noteError(c ErrorClass, err error) {
	if r.nErrSample.Load() >= maxErrSamples {
		return // keep the error path cheap once the samples are taken
	}
	r.emu.Lock()
	defer r.emu.Unlock()
	if len(r.errSample) < maxErrSamples {
		r.errSample = append(r.errSample, c.String()+": "+r.redactor.Redact(err.Error()))
		r.nErrSample.Store(int64(len(r.errSample)))
	}
}

func (r *runner) abort(reason string) {
	r.abortMu.Lock()
	defer r.abortMu.Unlock()
	if r.abortReason == "" {
		r.abortReason = reason
		r.cancel()
	}
}

func (r *runner) run(parent context.Context) (*Result, error) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	r.cancel = cancel
	col := newCollector(r)
	start := time.Now()
	col.begin(start)

	var wg sync.WaitGroup
	r.groups = make([]*groupState, len(r.cp.groups))
	for i, g := range r.cp.groups {
		gs := &groupState{}
		r.groups[i] = gs
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.runGroup(ctx, g, gs, r.seed+uint64(i)*7919)
		}()
	}
	col.run(&wg)
	end := time.Now()
	for _, t := range r.transports {
		t.CloseIdleConnections()
	}
	res := col.result(start, end)
	if r.abortReason != "" {
		res.Aborted, res.AbortReason = true, r.redactor.Redact(r.abortReason)
	} else if parent.Err() != nil {
		res.Aborted, res.AbortReason = true, "interrupted"
	}
	res.Summary.Aborted, res.Summary.AbortReason = res.Aborted, res.AbortReason
	r.emu.Lock()
	res.ErrorSamples = append([]string(nil), r.errSample...)
	r.emu.Unlock()
	return res, nil
}

// liveCounts sums the executors' live counters.
func (r *runner) liveCounts() (dropped, iterations, inFlight, vus int64) {
	for _, g := range r.groups {
		dropped += g.dropped.Load()
		iterations += g.iterations.Load()
		inFlight += g.active.Load()
		vus += g.vus.Load()
	}
	return
}

// Redactor replaces secret values with "***" in text.
type Redactor struct {
	repl *strings.Replacer
}

// NewRedactor returns a redactor for the given secret values (empty ones are ignored).
func NewRedactor(secrets ...string) *Redactor {
	var pairs []string
	for _, s := range secrets {
		if s == "" {
			continue
		}
		pairs = append(pairs, s, "***")
		// as it appears in URLs and JSON
		if q := url.QueryEscape(s); q != s {
			pairs = append(pairs, q, "***")
		}
		if j := jsonEscape(s); j != s {
			pairs = append(pairs, j, "***")
		}
	}
	if len(pairs) == 0 {
		return &Redactor{}
	}
	return &Redactor{repl: strings.NewReplacer(pairs...)}
}

// Redact hides every secret in s.
func (r *Redactor) Redact(s string) string {
	if r == nil || r.repl == nil {
		return s
	}
	return r.repl.Replace(s)
}

func gomaxprocs() int { return runtime.GOMAXPROCS(0) }

// CheckPlan validates p and compiles it the way a run would (feeds loaded, columns and references
// checked, bodies read) without sending traffic. Environment variables and secrets that are not set
// are accepted: validation does not need them.
func CheckPlan(p *Plan) error {
	_, err := compilePlan(p, func(k string) (string, bool) {
		if v, ok := os.LookupEnv(k); ok {
			return v, true
		}
		// a placeholder that is also a valid URL, for base_url
		return "http://unset-env-" + strings.ToLower(k) + ".invalid", true
	})
	return err
}
