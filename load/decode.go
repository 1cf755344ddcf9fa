package load

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// PlanError lists every problem found in a plan, each with its path, for example
// `plan.yaml: scenarios[1].steps[0].url: must not be empty`.
type PlanError struct {
	Source   string
	Problems []Problem
}

// Problem is one invalid field of a plan.
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (e *PlanError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		if e.Source != "" {
			b.WriteString(e.Source)
			b.WriteString(": ")
		}
		if p.Path != "" {
			b.WriteString(p.Path)
			b.WriteString(": ")
		}
		b.WriteString(p.Message)
	}
	return b.String()
}

// LoadPlanFile reads and validates a YAML (or JSON) plan from path; "-" reads stdin from r.
// Relative file references in the plan resolve against the plan's directory.
func LoadPlanFile(path string, stdin io.Reader) (*Plan, error) {
	var data []byte
	var err error
	name := path
	dir := filepath.Dir(path)
	if path == "-" {
		name = "<stdin>"
		dir = "."
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	p, err := ParsePlan(name, data)
	if err != nil {
		return nil, err
	}
	p.dir = dir
	return p, nil
}

// ParsePlan decodes a YAML (or JSON) plan and validates it. Unknown fields are errors. name is used in
// error messages.
func ParsePlan(name string, data []byte) (*Plan, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var p Plan
	if err := dec.Decode(&p); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &PlanError{Source: name, Problems: []Problem{{Message: "empty plan"}}}
		}
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		msg = strings.ReplaceAll(msg, "unmarshal errors:\n  ", "")
		return nil, &PlanError{Source: name, Problems: []Problem{{Message: msg}}}
	}
	if err := p.validate(name); err != nil {
		return nil, err
	}
	return &p, nil
}

// SetDir sets the directory that relative file references (feeds, body files, secret files) resolve
// against. Plans built in Go default to the working directory.
func (p *Plan) SetDir(dir string) { p.dir = dir }

// Validate reports every problem of the plan with its path, as a *PlanError.
func (p *Plan) Validate() error { return p.validate("") }

var nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

type problems struct{ list []Problem }

func (ps *problems) add(path, format string, args ...any) {
	ps.list = append(ps.list, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (p *Plan) validate(source string) error {
	var ps problems
	if p.Version != 0 && p.Version != PlanVersion {
		ps.add("version", "unsupported version %d (this ramp reads version %d)", p.Version, PlanVersion)
	}
	if strings.Contains(p.Targets.BaseURL, "${") {
		if t, err := parseTemplate(p.Targets.BaseURL); err != nil {
			ps.add("targets.base_url", "%v", err)
		} else {
			for _, seg := range t.segs {
				if seg.kind != segLit && !strings.HasPrefix(seg.name, "env.") {
					ps.add("targets.base_url", "only ${env.NAME} references are allowed here, got ${%s}", seg.name)
				}
			}
		}
	} else if p.Targets.BaseURL != "" {
		if u, err := url.Parse(p.Targets.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			ps.add("targets.base_url", "must be an absolute http or https URL, got %q", p.Targets.BaseURL)
		}
	}
	for i, h := range p.Targets.AllowedHosts {
		if h == "" || strings.ContainsAny(h, "/ ") {
			ps.add(fmt.Sprintf("targets.allowed_hosts[%d]", i), "must be a host name or IP address, got %q", h)
		}
	}
	for k := range p.Variables {
		if !nameRE.MatchString(k) {
			ps.add("variables."+k, "invalid variable name (letters, digits, _ and -)")
		}
	}
	for k, s := range p.Secrets {
		n := 0
		for _, v := range []string{s.Env, s.File, s.Value} {
			if v != "" {
				n++
			}
		}
		if n != 1 {
			ps.add("secrets."+k, "set exactly one of env, file or value")
		}
	}
	for k, f := range p.Feeds {
		path := "feeds." + k
		if !nameRE.MatchString(k) {
			ps.add(path, "invalid feed name")
		}
		if f.File == "" {
			ps.add(path+".file", "must not be empty")
		}
		switch f.Format {
		case "", "csv", "json":
		default:
			ps.add(path+".format", "must be csv or json, got %q", f.Format)
		}
		switch f.Mode {
		case "", "sequential", "random", "unique":
		default:
			ps.add(path+".mode", "must be sequential, random or unique, got %q", f.Mode)
		}
	}
	shared := 0
	for i, s := range p.Scenarios {
		if s.Executor == nil {
			shared++
		} else {
			validateExecutor(&ps, fmt.Sprintf("scenarios[%d].executor", i), s.Executor)
		}
	}
	if len(p.Scenarios) == 0 {
		ps.add("scenarios", "at least one scenario is required")
	}
	if p.Load != nil {
		validateExecutor(&ps, "load", p.Load)
	} else if shared > 0 {
		ps.add("load", "required: %d scenario(s) have no executor of their own", shared)
	}
	names := map[string]bool{}
	for i, s := range p.Scenarios {
		p.validateScenario(&ps, i, s)
		if names[s.Name] {
			ps.add(fmt.Sprintf("scenarios[%d].name", i), "duplicate scenario name %q", s.Name)
		}
		names[s.Name] = true
	}
	for i, t := range p.Thresholds {
		path := fmt.Sprintf("thresholds[%d]", i)
		if _, err := parseThresholdExpr(t.Expr); err != nil {
			ps.add(path+".expr", "%v", err)
		}
		switch t.Metric {
		case "", "response_time", "service_time":
		default:
			ps.add(path+".metric", "must be response_time or service_time, got %q", t.Metric)
		}
		for k, v := range t.Tags {
			switch k {
			case "scenario":
				if !names[v] {
					ps.add(path+".tags.scenario", "no scenario named %q", v)
				}
			case "step":
			default:
				ps.add(path+".tags."+k, "unknown tag (use scenario or step)")
			}
		}
	}
	var devW float64
	for i, d := range p.Devices {
		path := fmt.Sprintf("devices[%d]", i)
		if d.Name == "" {
			ps.add(path+".name", "must not be empty")
		}
		if d.Weight < 0 {
			ps.add(path+".weight", "must not be negative")
		}
		devW += d.Weight
		if d.Network != "" {
			if _, ok := p.networkProfile(d.Network); !ok {
				ps.add(path+".network", "unknown network profile %q (presets: %s)", d.Network, presetNames())
			}
		}
	}
	if len(p.Devices) > 0 && devW == 0 {
		ps.add("devices", "at least one device needs a positive weight")
	}
	for k, n := range p.Networks {
		if n.ResetRate < 0 || n.ResetRate > 1 {
			ps.add("networks."+k+".reset_rate", "must be between 0 and 1")
		}
		if n.DownKbps < 0 || n.UpKbps < 0 {
			ps.add("networks."+k, "bandwidth must not be negative")
		}
	}
	if p.Defaults.MaxConnections < 0 {
		ps.add("defaults.max_connections", "must not be negative")
	}
	if p.MaxRate < 0 {
		ps.add("max_rate", "must not be negative")
	}
	if len(ps.list) > 0 {
		return &PlanError{Source: source, Problems: ps.list}
	}
	return nil
}

func validateExecutor(ps *problems, path string, e *Executor) {
	switch e.Type {
	case ConstantArrivalRate, Poisson:
		if e.Rate <= 0 {
			ps.add(path+".rate", "must be positive for %s", e.Type)
		}
		if e.Duration <= 0 {
			ps.add(path+".duration", "must be positive for %s", e.Type)
		}
	case RampingArrivalRate, RampingVUs:
		if len(e.Stages) == 0 {
			ps.add(path+".stages", "at least one stage is required for %s", e.Type)
		}
		if e.Rate < 0 || e.VUs < 0 {
			ps.add(path, "starting rate and vus must not be negative")
		}
		for i, s := range e.Stages {
			if s.Duration <= 0 {
				ps.add(fmt.Sprintf("%s.stages[%d].duration", path, i), "must be positive")
			}
			if s.Target < 0 {
				ps.add(fmt.Sprintf("%s.stages[%d].target", path, i), "must not be negative")
			}
		}
		if e.Duration != 0 {
			ps.add(path+".duration", "not used by %s: the stages set the duration", e.Type)
		}
	case ConstantVUs:
		if e.VUs <= 0 {
			ps.add(path+".vus", "must be positive for %s", e.Type)
		}
		if e.Duration <= 0 {
			ps.add(path+".duration", "must be positive for %s", e.Type)
		}
	case PerVUIterations:
		if e.VUs <= 0 {
			ps.add(path+".vus", "must be positive for %s", e.Type)
		}
		if e.Iterations <= 0 {
			ps.add(path+".iterations", "must be positive for %s", e.Type)
		}
	case "":
		ps.add(path+".type", "required (one of %s)", strings.Join(executorTypes, ", "))
	default:
		ps.add(path+".type", "unknown executor %q (one of %s)", e.Type, strings.Join(executorTypes, ", "))
	}
	if e.MaxInFlight < 0 {
		ps.add(path+".max_in_flight", "must not be negative")
	}
}

var executorTypes = []string{ConstantArrivalRate, RampingArrivalRate, Poisson, ConstantVUs, RampingVUs, PerVUIterations}

var methods = map[string]bool{"GET": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "HEAD": true, "OPTIONS": true}

func (p *Plan) validateScenario(ps *problems, i int, s Scenario) {
	path := fmt.Sprintf("scenarios[%d]", i)
	if s.Name == "" {
		ps.add(path+".name", "must not be empty")
	} else if strings.ContainsAny(s.Name, "{}\",=") {
		ps.add(path+".name", "must not contain {, }, \", comma or =")
	}
	if s.Weight < 0 {
		ps.add(path+".weight", "must not be negative")
	}
	if len(s.Steps) == 0 {
		ps.add(path+".steps", "at least one step is required")
	}
	// defined tracks the variables a template may use at each step: plan variables plus the
	// extractors of earlier steps.
	defined := map[string]bool{}
	for k := range p.Variables {
		defined[k] = true
	}
	for j, st := range s.Steps {
		sp := fmt.Sprintf("%s.steps[%d]", path, j)
		if st.Method != "" && !methods[strings.ToUpper(st.Method)] {
			ps.add(sp+".method", "unsupported method %q", st.Method)
		}
		if st.URL == "" {
			ps.add(sp+".url", "must not be empty")
		} else if err := p.checkTemplate(st.URL, defined); err != nil {
			ps.add(sp+".url", "%v", err)
		} else if !strings.Contains(st.URL, "${") {
			u, err := url.Parse(st.URL)
			if err != nil {
				ps.add(sp+".url", "invalid URL: %v", err)
			} else if !u.IsAbs() && p.Targets.BaseURL == "" {
				ps.add(sp+".url", "relative URL %q needs targets.base_url", st.URL)
			}
		}
		for k, v := range st.Headers {
			if err := p.checkTemplate(v, defined); err != nil {
				ps.add(sp+".headers."+k, "%v", err)
			}
		}
		if b := st.Body; b != nil {
			n := 0
			if b.JSON != nil {
				n++
			}
			if b.Template != "" {
				n++
				if err := p.checkTemplate(b.Template, defined); err != nil {
					ps.add(sp+".body.template", "%v", err)
				}
			}
			if b.File != "" {
				n++
			}
			if n != 1 {
				ps.add(sp+".body", "set exactly one of json, template or file")
			}
			if b.JSON != nil {
				if _, err := compileJSONBody(b.JSON); err != nil {
					ps.add(sp+".body.json", "%v", err)
				} else if err := p.checkJSONTemplates(b.JSON, defined); err != nil {
					ps.add(sp+".body.json", "%v", err)
				}
			}
		}
		for k, c := range st.Checks {
			if _, err := compileCheck(c); err != nil {
				ps.add(fmt.Sprintf("%s.checks[%d]", sp, k), "%v", err)
			} else if c.Equals != nil {
				if err := p.checkTemplate(*c.Equals, defined); err != nil {
					ps.add(fmt.Sprintf("%s.checks[%d].equals", sp, k), "%v", err)
				}
			}
		}
		if st.Think != nil {
			if err := validateThink(st.Think); err != nil {
				ps.add(sp+".think", "%v", err)
			}
		}
		for k, x := range st.Extract {
			xp := fmt.Sprintf("%s.extract[%d]", sp, k)
			if !nameRE.MatchString(x.Name) {
				ps.add(xp+".name", "invalid variable name %q", x.Name)
			}
			if _, err := compileExtractor(x); err != nil {
				ps.add(xp, "%v", err)
			}
			defined[x.Name] = true
		}
	}
}

// checkTemplate parses a template and checks that every reference resolves.
func (p *Plan) checkTemplate(s string, defined map[string]bool) error {
	t, err := parseTemplate(s)
	if err != nil {
		return err
	}
	for _, seg := range t.segs {
		if seg.kind == segLit {
			continue
		}
		if err := p.checkRef(seg.name, defined); err != nil {
			return err
		}
	}
	return nil
}

func (p *Plan) checkJSONTemplates(v any, defined map[string]bool) error {
	switch v := v.(type) {
	case string:
		return p.checkTemplate(v, defined)
	case []any:
		for _, e := range v {
			if err := p.checkJSONTemplates(e, defined); err != nil {
				return err
			}
		}
	case map[string]any:
		for _, e := range v {
			if err := p.checkJSONTemplates(e, defined); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *Plan) checkRef(name string, defined map[string]bool) error {
	prefix, rest, dotted := strings.Cut(name, ".")
	switch {
	case !dotted && builtins[name]:
		return nil
	case !dotted:
		if defined[name] {
			return nil
		}
		return fmt.Errorf("${%s} is not defined by a variable or an earlier step's extractor", name)
	case prefix == "env":
		return nil
	case prefix == "secret":
		if _, ok := p.Secrets[rest]; !ok {
			return fmt.Errorf("${%s}: no secret named %q", name, rest)
		}
		return nil
	case prefix == "vars":
		if defined[rest] {
			return nil
		}
		return fmt.Errorf("${%s} is not defined", name)
	default:
		if _, ok := p.Feeds[prefix]; ok {
			return nil
		}
		return fmt.Errorf("${%s}: %q is not a feed, env, secret or vars", name, prefix)
	}
}
