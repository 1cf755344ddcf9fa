package load

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// The plan is compiled once before the run: templates parsed and bound, JSON paths and regular
// expressions compiled, feeds and secrets loaded. Iterations only walk this data.

type cstep struct {
	name        string
	series      int
	method      string
	url         *tmpl
	fixedURL    *url.URL // the resolved URL when the template is a literal
	base        *url.URL
	headers     []cheader
	body        *tmpl
	rawBody     []byte
	timeout     time.Duration
	checks      []*compiledCheck
	extract     []*compiledExtractor
	needBody    bool
	needHeaders bool
	think       *Think
	hasCookies  bool
}

type cheader struct {
	key string
	val *tmpl
}

type cscenario struct {
	name  string
	index int
	steps []*cstep
	feeds []int
}

type group struct {
	name      string
	exec      Executor
	scenarios []*cscenario
	cumWeight []float64
}

// seriesInfo names a series: one per scenario step.
type seriesInfo struct {
	Scenario string `json:"scenario"`
	Step     string `json:"step"`
}

type compiledPlan struct {
	plan       *Plan
	scenarios  []*cscenario
	groups     []*group
	series     []seriesInfo
	feeds      []*feedData
	secrets    []string
	thresholds []*cthreshold
	devices    []Device
	devCum     []float64
	networks   map[string]NetworkProfile
	duration   time.Duration // planned, including start times (graceful stops excluded)
}

type compiler struct {
	lookupEnv func(string) (string, bool)
	secrets   map[string]string
	feedIndex map[string]int
	feeds     []*feedData
}

const defaultMaxInFlight = 1000

func compilePlan(p *Plan, lookupEnv func(string) (string, bool)) (*compiledPlan, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	dir := p.dir
	if dir == "" {
		dir = "."
	}
	c := &compiler{lookupEnv: lookupEnv, secrets: map[string]string{}, feedIndex: map[string]int{}}
	cp := &compiledPlan{plan: p, networks: map[string]NetworkProfile{}}
	for _, name := range sortedKeys(p.Secrets) {
		s := p.Secrets[name]
		var v string
		switch {
		case s.Env != "":
			var ok bool
			if v, ok = lookupEnv(s.Env); !ok {
				return nil, fmt.Errorf("secrets.%s: environment variable %s is not set", name, s.Env)
			}
		case s.File != "":
			path := s.File
			if !filepath.IsAbs(path) {
				path = filepath.Join(dir, path)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("secrets.%s: %v", name, err)
			}
			v = strings.TrimRight(string(b), "\r\n")
		default:
			v = s.Value
		}
		c.secrets[name] = v
		if v != "" {
			cp.secrets = append(cp.secrets, v)
		}
	}
	for _, name := range sortedKeys(p.Feeds) {
		fd, err := loadFeed(name, p.Feeds[name], dir)
		if err != nil {
			return nil, err
		}
		c.feedIndex[name] = len(c.feeds)
		c.feeds = append(c.feeds, fd)
	}
	cp.feeds = c.feeds

	var base *url.URL
	if p.Targets.BaseURL != "" {
		t, err := c.template(p.Targets.BaseURL, false)
		if err != nil {
			return nil, fmt.Errorf("targets.base_url: %v", err)
		}
		raw, _ := t.literal()
		base, err = url.Parse(strings.TrimRight(raw, "/") + "/")
		if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
			return nil, fmt.Errorf("targets.base_url: must be an absolute http or https URL, got %q", raw)
		}
	}
	for i, s := range p.Scenarios {
		cs := &cscenario{name: s.Name, index: i}
		feeds := map[int]bool{}
		for j, st := range s.Steps {
			path := fmt.Sprintf("scenarios[%d].steps[%d]", i, j)
			step, err := c.compileStep(st, p, base, dir, path)
			if err != nil {
				return nil, err
			}
			if step.name == "" {
				step.name = fmt.Sprintf("%d", j+1)
			}
			step.series = len(cp.series)
			cp.series = append(cp.series, seriesInfo{Scenario: s.Name, Step: step.name})
			step.url.feedsUsed(feeds)
			for _, h := range step.headers {
				h.val.feedsUsed(feeds)
			}
			if step.body != nil {
				step.body.feedsUsed(feeds)
			}
			cs.steps = append(cs.steps, step)
		}
		for f := range feeds {
			cs.feeds = append(cs.feeds, f)
		}
		sort.Ints(cs.feeds)
		cp.scenarios = append(cp.scenarios, cs)
	}
	// Scenarios without an executor share the plan's, picked by weight.
	var shared *group
	for i, s := range p.Scenarios {
		cs := cp.scenarios[i]
		if s.Executor != nil {
			cp.groups = append(cp.groups, &group{name: s.Name, exec: *s.Executor, scenarios: []*cscenario{cs}, cumWeight: []float64{1}})
			continue
		}
		if shared == nil {
			shared = &group{name: "load", exec: *p.Load}
			cp.groups = append(cp.groups, shared)
		}
		w := s.Weight
		if w == 0 {
			w = 1
		}
		prev := 0.0
		if n := len(shared.cumWeight); n > 0 {
			prev = shared.cumWeight[n-1]
		}
		shared.scenarios = append(shared.scenarios, cs)
		shared.cumWeight = append(shared.cumWeight, prev+w)
	}
	for _, g := range cp.groups {
		if g.exec.MaxInFlight == 0 {
			g.exec.MaxInFlight = defaultMaxInFlight
		}
		if g.exec.GracefulStop == 0 {
			g.exec.GracefulStop = Duration(5 * time.Second)
		}
		cp.duration = max(cp.duration, g.exec.StartTime.D()+g.exec.plannedDuration())
	}
	for _, t := range p.Thresholds {
		expr, _ := parseThresholdExpr(t.Expr)
		ct := &cthreshold{def: t, expr: expr, service: t.Metric == "service_time", window: int(math.Ceil(t.Over.D().Seconds()))}
		for id, si := range cp.series {
			if v, ok := t.Tags["scenario"]; ok && v != si.Scenario {
				continue
			}
			if v, ok := t.Tags["step"]; ok && v != si.Step {
				continue
			}
			ct.series = append(ct.series, id)
		}
		if len(ct.series) == 0 {
			return nil, fmt.Errorf("thresholds: %q with tags %v matches no step", t.Expr, t.Tags)
		}
		if ct.window > 0 {
			ct.ring = make([]*seriesAgg, ct.window)
			ct.ringDrop = make([]int64, ct.window)
			for i := range ct.ring {
				ct.ring[i] = newSeriesAgg()
			}
			ct.win = newSeriesAgg()
		}
		cp.thresholds = append(cp.thresholds, ct)
	}
	for k, n := range p.Networks {
		cp.networks[k] = n
	}
	cp.devices = p.Devices
	sum := 0.0
	for _, d := range p.Devices {
		sum += d.Weight
		cp.devCum = append(cp.devCum, sum)
	}
	return cp, nil
}

func (c *compiler) compileStep(st Step, p *Plan, base *url.URL, dir, path string) (*cstep, error) {
	s := &cstep{name: st.Name, method: strings.ToUpper(st.Method), base: base, think: st.Think}
	if s.method == "" {
		s.method = http.MethodGet
		if st.Body != nil {
			s.method = http.MethodPost
		}
	}
	var err error
	if s.url, err = c.template(st.URL, false); err != nil {
		return nil, fmt.Errorf("%s.url: %v", path, err)
	}
	if raw, ok := s.url.literal(); ok {
		if u, err := resolveAgainst(base, raw); err == nil {
			s.fixedURL = u
		}
	}
	s.timeout = st.Timeout.D()
	if s.timeout == 0 {
		s.timeout = p.Defaults.Timeout.D()
	}
	if s.timeout == 0 {
		s.timeout = 30 * time.Second
	}
	hdrs := map[string]string{}
	for k, v := range p.Defaults.Headers {
		hdrs[http.CanonicalHeaderKey(k)] = v
	}
	for k, v := range st.Headers {
		hdrs[http.CanonicalHeaderKey(k)] = v
	}
	if st.Body != nil && st.Body.JSON != nil {
		if _, ok := hdrs["Content-Type"]; !ok {
			hdrs["Content-Type"] = "application/json"
		}
	}
	for _, k := range sortedKeys(hdrs) {
		t, err := c.template(hdrs[k], false)
		if err != nil {
			return nil, fmt.Errorf("%s.headers.%s: %v", path, k, err)
		}
		s.headers = append(s.headers, cheader{key: k, val: t})
		if k == "Cookie" {
			s.hasCookies = true
		}
	}
	if b := st.Body; b != nil {
		switch {
		case b.JSON != nil:
			text, err := compileJSONBody(b.JSON)
			if err != nil {
				return nil, fmt.Errorf("%s.body.json: %v", path, err)
			}
			if s.body, err = c.template(text, true); err != nil {
				return nil, fmt.Errorf("%s.body.json: %v", path, err)
			}
		case b.Template != "":
			if s.body, err = c.template(b.Template, false); err != nil {
				return nil, fmt.Errorf("%s.body.template: %v", path, err)
			}
		case b.File != "":
			fp := b.File
			if !filepath.IsAbs(fp) {
				fp = filepath.Join(dir, fp)
			}
			if s.rawBody, err = os.ReadFile(fp); err != nil {
				return nil, fmt.Errorf("%s.body.file: %v", path, err)
			}
		}
	}
	for k, ch := range st.Checks {
		cc, err := compileCheck(ch)
		if err != nil {
			return nil, fmt.Errorf("%s.checks[%d]: %v", path, k, err)
		}
		if cc.equals != nil {
			if err := cc.equals.resolveStatic(c); err != nil {
				return nil, fmt.Errorf("%s.checks[%d].equals: %v", path, k, err)
			}
		}
		s.checks = append(s.checks, cc)
		if ch.JSON != "" || ch.Body {
			s.needBody = true
		}
		if ch.Header != "" {
			s.needHeaders = true
		}
	}
	for k, x := range st.Extract {
		ce, err := compileExtractor(x)
		if err != nil {
			return nil, fmt.Errorf("%s.extract[%d]: %v", path, k, err)
		}
		s.extract = append(s.extract, ce)
		if x.JSON != "" || x.Regex != "" {
			s.needBody = true
		}
		if x.Header != "" {
			s.needHeaders = true
		}
	}
	return s, nil
}

func (c *compiler) template(s string, jsonEsc bool) (*tmpl, error) {
	t, err := parseTemplate(s)
	if err != nil {
		return nil, err
	}
	t.jsonEscape = jsonEsc
	if err := t.resolveStatic(c); err != nil {
		return nil, err
	}
	return t, nil
}

func (e *Executor) plannedDuration() time.Duration {
	switch e.Type {
	case RampingArrivalRate, RampingVUs:
		var d time.Duration
		for _, s := range e.Stages {
			d += s.Duration.D()
		}
		return d
	case PerVUIterations:
		if e.Duration > 0 {
			return e.Duration.D()
		}
		return 0 // open ended: ends when the iterations are done
	}
	return e.Duration.D()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
