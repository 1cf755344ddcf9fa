package load

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestParsePlanForms(t *testing.T) {
	p, err := ParsePlan("p.yaml", []byte(`
name: forms
targets: {base_url: "http://127.0.0.1:8080/api"}
load: {type: constant-vus, vus: 2, duration: 1.5}
scenarios:
  - name: s
    steps:
      - url: /a
        body: 'plain ${vu}'
        think: 250ms
        checks: [{status: 2xx}, {status: 201}, {status_in: [200, 204]}]
thresholds:
  - p(99.9) < 1s
  - {expr: "checks > 99%", over: 30s}
`))
	if err != nil {
		t.Fatal(err)
	}
	st := p.Scenarios[0].Steps[0]
	if p.Load.Duration.D() != 1500*time.Millisecond || st.Body.Template != "plain ${vu}" || st.Think.Value.D() != 250*time.Millisecond || st.Think.Dist != "constant" {
		t.Fatalf("decoded %+v %+v %+v", p.Load, st.Body, st.Think)
	}
	if st.Checks[0].Status != "2xx" || st.Checks[1].Status != "201" || p.Thresholds[0].Expr != "p(99.9) < 1s" || p.Thresholds[1].Over.D() != 30*time.Second {
		t.Fatalf("checks %+v thresholds %+v", st.Checks, p.Thresholds)
	}
}

func TestParsePlanErrorsHavePaths(t *testing.T) {
	_, err := ParsePlan("plan.yaml", []byte(`
name: bad
load: {type: ramping-arrival-rate, stages: [{duration: 0s, target: -1}]}
scenarios:
  - name: a
    steps:
      - url: ""
      - url: http://127.0.0.1/
        method: FETCH
        body: {json: {a: 1}, template: x}
        extract: [{name: t, json: "$.a", regex: "x"}]
        checks: [{status: 200, json: $.a}]
  - name: a
    executor: {type: warp}
    steps: [{url: "http://127.0.0.1/${secret.nope}"}]
feeds: {users: {file: "", mode: shuffled}}
thresholds: [{expr: "p(95) < 1ms", tags: {scenario: zzz}}]
`))
	var pe *PlanError
	if !errors.As(err, &pe) {
		t.Fatalf("want *PlanError, got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"plan.yaml: load.stages[0].duration: must be positive",
		"plan.yaml: load.stages[0].target: must not be negative",
		"plan.yaml: scenarios[0].steps[0].url: must not be empty",
		`plan.yaml: scenarios[0].steps[1].method: unsupported method "FETCH"`,
		"plan.yaml: scenarios[0].steps[1].body: set exactly one of json, template or file",
		"plan.yaml: scenarios[0].steps[1].extract[0]: set exactly one of json, regex, header or cookie",
		"plan.yaml: scenarios[0].steps[1].checks[0]: set exactly one of status",
		`plan.yaml: scenarios[1].name: duplicate scenario name "a"`,
		`plan.yaml: scenarios[1].executor.type: unknown executor "warp"`,
		`plan.yaml: scenarios[1].steps[0].url: ${secret.nope}: no secret named "nope"`,
		"plan.yaml: feeds.users.file: must not be empty",
		`plan.yaml: feeds.users.mode: must be sequential, random or unique, got "shuffled"`,
		`plan.yaml: thresholds[0].tags.scenario: no scenario named "zzz"`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in\n%s", want, msg)
		}
	}
	if _, err := ParsePlan("x.yaml", []byte("name: x\nload: {type: constant-vus, vus: 1, duration: soon}\n")); err == nil || !strings.Contains(err.Error(), `x.yaml: line 2: invalid duration "soon"`) {
		t.Fatalf("bad duration: %v", err)
	}
}

func TestTemplates(t *testing.T) {
	tm, err := parseTemplate("a${x}b$${y}${ vu }$")
	if err != nil {
		t.Fatal(err)
	}
	if len(tm.segs) != 5 || tm.segs[1].name != "x" || tm.segs[2].lit != "b${y}" || tm.segs[3].name != "vu" || tm.segs[4].lit != "$" {
		t.Fatalf("segments %+v", tm.segs)
	}
	if _, err := parseTemplate("${open"); err == nil {
		t.Fatal("unclosed ${ accepted")
	}
	c := &compiler{lookupEnv: func(k string) (string, bool) { return "E\"" + k, true }, secrets: map[string]string{"pw": `p"w`}, feedIndex: map[string]int{}}
	jt, err := c.template(`{"a":"${env.X}","b":"${secret.pw}","c":"${name}"}`, true)
	if err != nil {
		t.Fatal(err)
	}
	v := &vu{vars: map[string]string{"name": "li\"ne\n"}, r: &runner{cp: &compiledPlan{plan: &Plan{}}}}
	got := string(jt.render(nil, v))
	if want := `{"a":"E\"X","b":"p\"w","c":"li\"ne\n"}`; got != want {
		t.Fatalf("json template = %s, want %s", got, want)
	}
}

func TestJSONPathAndExtractors(t *testing.T) {
	r := &response{status: 200, body: []byte(`{"items":[{"id":"p1","n":2.5},{"id":"p2"}],"ok":true,"nested":{"a b":{"c":null}}}`)}
	for path, want := range map[string]string{"$.items[0].id": "p1", "items.1.id": "p2", "$.items[0].n": "2.5", "$.ok": "true", `$.nested['a b'].c`: "null", "$.items[0]": `{"id":"p1","n":2.5}`} {
		p, err := compileJSONPath(path)
		if err != nil {
			t.Fatal(err)
		}
		v, _ := r.json()
		got, ok := p.lookup(v)
		if !ok || jsonString(got) != want {
			t.Errorf("%s = %v (%v), want %s", path, jsonString(got), ok, want)
		}
	}
	x, _ := compileExtractor(Extractor{Name: "c", Regex: `"id":"(p\d)"`})
	if v, ok := x.extract(r); !ok || v != "p1" {
		t.Fatalf("regex = %q %v", v, ok)
	}
	if _, err := compileJSONPath("$.a[x]"); err == nil {
		t.Fatal("bad index accepted")
	}
}

func TestThresholdExpressions(t *testing.T) {
	for in, want := range map[string]thresholdExpr{
		"p(95) < 200ms":   {agg: "p", pct: 95, op: "<", value: 200, unit: "ms"},
		"p(99.9) <= 1s":   {agg: "p", pct: 99.9, op: "<=", value: 1000, unit: "ms"},
		"error_rate < 1%": {agg: "error_rate", op: "<", value: 0.01, unit: "ratio"},
		"rate > 500/s":    {agg: "rate", op: ">", value: 500, unit: "/s"},
		"checks > 99%":    {agg: "checks", op: ">", value: 0.99, unit: "ratio"},
		"mean < 12.5":     {agg: "mean", op: "<", value: 12.5, unit: "ms"},
		"dropped == 0":    {agg: "dropped", op: "==", value: 0, unit: "count"},
	} {
		got, err := parseThresholdExpr(in)
		if err != nil || *got != want {
			t.Errorf("%q = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "p95 < 1ms", "p(0) < 1ms", "rate >", "error_rate < 2", "p(95) ~ 1ms", "p(95) < fast"} {
		if _, err := parseThresholdExpr(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestRampScheduleFollowsIntegral(t *testing.T) {
	// 0 → 100/s over 10 s, then 100/s for 5 s: 500 + 500 arrivals.
	s := newRampSchedule(0, []Stage{{Duration: Duration(10 * time.Second), Target: 100}, {Duration: Duration(5 * time.Second), Target: 100}})
	n, at5 := 0, 0
	var last time.Duration
	for {
		off, ok := s.next()
		if !ok {
			break
		}
		if off < last {
			t.Fatalf("arrivals out of order: %v after %v", off, last)
		}
		last = off
		if off < 5*time.Second {
			at5++
		}
		n++
	}
	// ∫0..5 of 10t dt = 125
	if n < 999 || n > 1001 || at5 < 124 || at5 > 126 {
		t.Fatalf("arrivals %d (want 1000), in first 5 s %d (want 125)", n, at5)
	}
	p := &poissonSchedule{meanNs: float64(time.Second) / 1000, end: 10 * time.Second, rng: rand.New(rand.NewPCG(1, 2))}
	n = 0
	for _, ok := p.next(); ok; _, ok = p.next() {
		n++
	}
	if n < 9700 || n > 10300 {
		t.Fatalf("poisson arrivals in 10 s at 1000/s = %d", n)
	}
}

func TestThinkDistributions(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	ms := func(s string) Duration { d, _ := time.ParseDuration(s); return Duration(d) }
	for _, c := range []struct {
		th       Think
		min, max time.Duration
		mean     time.Duration
	}{
		{Think{Value: ms("10ms")}, 10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond},
		{Think{Dist: "uniform", Min: ms("10ms"), Max: ms("30ms")}, 10 * time.Millisecond, 30 * time.Millisecond, 20 * time.Millisecond},
		{Think{Dist: "exponential", Mean: ms("20ms")}, 0, time.Second, 20 * time.Millisecond},
		{Think{Dist: "normal", Mean: ms("20ms"), StdDev: ms("5ms")}, 0, 40 * time.Millisecond, 20 * time.Millisecond},
	} {
		var sum time.Duration
		const n = 20000
		for i := 0; i < n; i++ {
			d := c.th.sample(r)
			if d < c.min || d > c.max {
				t.Fatalf("%s: sample %v outside [%v, %v]", c.th.Dist, d, c.min, c.max)
			}
			sum += d
		}
		if mean := sum / n; mean < c.mean*95/100 || mean > c.mean*105/100 {
			t.Errorf("%s: mean %v, want %v", c.th.Dist, mean, c.mean)
		}
	}
}

func TestRedactor(t *testing.T) {
	r := NewRedactor("s3cret", "")
	if got := r.Redact("GET /?k=s3cret failed: s3cret"); got != "GET /?k=*** failed: ***" {
		t.Fatal(got)
	}
	if NewRedactor().Redact("x") != "x" {
		t.Fatal("empty redactor changed text")
	}
}

func FuzzParsePlan(f *testing.F) {
	f.Add([]byte("name: a\nload: {type: constant-vus, vus: 1, duration: 1s}\nscenarios: [{name: s, steps: [{url: 'http://127.0.0.1/${x}'}]}]\n"))
	f.Add([]byte("thresholds: ['p(9'] \n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePlan("fuzz.yaml", data)
		if err == nil && p == nil {
			t.Fatal("nil plan without error")
		}
	})
}
