package load

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// response is what checks and extractors see of one HTTP exchange.
type response struct {
	status  int
	header  http.Header
	body    []byte
	service time.Duration
	cookies func() []*http.Cookie
	vu      *vu // renders templated comparisons

	parsed    bool
	parsedVal any
	parseErr  error
}

func (r *response) json() (any, error) {
	if !r.parsed {
		r.parsed = true
		r.parseErr = json.Unmarshal(r.body, &r.parsedVal)
	}
	return r.parsedVal, r.parseErr
}

// jsonPath is a compiled path like $.items[0].id or items.0.id.
type jsonPath []pathElem

type pathElem struct {
	key   string
	index int // -1 for a key
}

func compileJSONPath(s string) (jsonPath, error) {
	src := s
	s = strings.TrimPrefix(strings.TrimPrefix(s, "$"), ".")
	var p jsonPath
	for s != "" {
		switch {
		case s[0] == '[':
			end := strings.IndexByte(s, ']')
			if end < 0 {
				return nil, fmt.Errorf("json path %q: unclosed [", src)
			}
			inner := s[1:end]
			if q := strings.Trim(inner, `'"`); len(q) != len(inner) {
				p = append(p, pathElem{key: q, index: -1})
			} else {
				n, err := strconv.Atoi(inner)
				if err != nil || n < 0 {
					return nil, fmt.Errorf("json path %q: bad index [%s]", src, inner)
				}
				p = append(p, pathElem{index: n})
			}
			s = strings.TrimPrefix(s[end+1:], ".")
		default:
			end := strings.IndexAny(s, ".[")
			if end < 0 {
				end = len(s)
			}
			key := s[:end]
			if key == "" {
				return nil, fmt.Errorf("json path %q: empty key", src)
			}
			if n, err := strconv.Atoi(key); err == nil && n >= 0 {
				p = append(p, pathElem{key: key, index: n})
			} else {
				p = append(p, pathElem{key: key, index: -1})
			}
			s = strings.TrimPrefix(s[end:], ".")
		}
	}
	return p, nil
}

// lookup walks v; ok is false when the path does not exist.
func (p jsonPath) lookup(v any) (any, bool) {
	for _, e := range p {
		switch c := v.(type) {
		case map[string]any:
			x, ok := c[e.key]
			if !ok {
				return nil, false
			}
			v = x
		case []any:
			if e.index < 0 || e.index >= len(c) {
				return nil, false
			}
			v = c[e.index]
		default:
			return nil, false
		}
	}
	return v, true
}

// jsonString renders a JSON value the way templates and comparisons see it.
func jsonString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return "null"
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

type compiledCheck struct {
	name     string
	equals   *tmpl // bound to the run's env, secrets and feeds by compileStep
	eval     func(r *response) bool
	needJSON bool
}

func compileCheck(c Check) (*compiledCheck, error) {
	subjects := 0
	for _, set := range []bool{c.Status != "" || len(c.StatusIn) > 0, c.JSON != "", c.Header != "", c.Body, c.Latency > 0} {
		if set {
			subjects++
		}
	}
	if subjects != 1 {
		return nil, errors.New("set exactly one of status, status_in, json, header, body or latency")
	}
	var re *regexp.Regexp
	if c.Matches != "" {
		var err error
		if re, err = regexp.Compile(c.Matches); err != nil {
			return nil, fmt.Errorf("matches: %v", err)
		}
	}
	cc := &compiledCheck{name: c.Name}
	if c.Equals != nil {
		t, err := parseTemplate(*c.Equals)
		if err != nil {
			return nil, fmt.Errorf("equals: %v", err)
		}
		cc.equals = t
	}
	// cmp compares a present value with the check's comparators.
	cmp := func(r *response, s string) bool {
		if cc.equals != nil {
			want, ok := cc.equals.literal()
			if !ok {
				want = string(cc.equals.render(nil, r.vu))
			}
			if s != want {
				return false
			}
		}
		if c.Contains != "" && !strings.Contains(s, c.Contains) {
			return false
		}
		if re != nil && !re.MatchString(s) {
			return false
		}
		return true
	}
	wantPresent := c.Exists == nil || *c.Exists
	switch {
	case c.Status != "" || len(c.StatusIn) > 0:
		ok := map[int]bool{}
		for _, s := range c.StatusIn {
			ok[s] = true
		}
		class := 0
		if c.Status != "" {
			if len(c.Status) == 3 && strings.HasSuffix(strings.ToLower(c.Status), "xx") && c.Status[0] >= '1' && c.Status[0] <= '5' {
				class = int(c.Status[0] - '0')
			} else if n, err := strconv.Atoi(c.Status); err == nil && n >= 100 && n <= 599 {
				ok[n] = true
			} else {
				return nil, fmt.Errorf("status: want a code like 200 or a class like 2xx, got %q", c.Status)
			}
		}
		cc.eval = func(r *response) bool { return ok[r.status] || (class > 0 && r.status/100 == class) }
		if cc.name == "" {
			cc.name = "status " + c.Status
			if len(c.StatusIn) > 0 {
				cc.name = fmt.Sprint("status in ", c.StatusIn)
			}
		}
	case c.JSON != "":
		p, err := compileJSONPath(c.JSON)
		if err != nil {
			return nil, err
		}
		cc.needJSON = true
		cc.eval = func(r *response) bool {
			v, err := r.json()
			if err != nil {
				return false
			}
			x, found := p.lookup(v)
			if found != wantPresent {
				return false
			}
			return !found || cmp(r, jsonString(x))
		}
		if cc.name == "" {
			cc.name = "json " + c.JSON
		}
	case c.Header != "":
		h := http.CanonicalHeaderKey(c.Header)
		cc.eval = func(r *response) bool {
			vals, found := r.header[h]
			if found != wantPresent {
				return false
			}
			return !found || cmp(r, strings.Join(vals, ", "))
		}
		if cc.name == "" {
			cc.name = "header " + c.Header
		}
	case c.Body:
		cc.eval = func(r *response) bool { return cmp(r, string(r.body)) }
		if cc.name == "" {
			cc.name = "body"
		}
	case c.Latency > 0:
		lim := c.Latency.D()
		cc.eval = func(r *response) bool { return r.service <= lim }
		if cc.name == "" {
			cc.name = "latency <= " + lim.String()
		}
	}
	return cc, nil
}

type compiledExtractor struct {
	name     string
	needJSON bool
	extract  func(r *response) (string, bool)
	def      *string
}

func compileExtractor(x Extractor) (*compiledExtractor, error) {
	n := 0
	for _, s := range []string{x.JSON, x.Regex, x.Header, x.Cookie} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return nil, errors.New("set exactly one of json, regex, header or cookie")
	}
	ce := &compiledExtractor{name: x.Name, def: x.Default}
	switch {
	case x.JSON != "":
		p, err := compileJSONPath(x.JSON)
		if err != nil {
			return nil, err
		}
		ce.needJSON = true
		ce.extract = func(r *response) (string, bool) {
			v, err := r.json()
			if err != nil {
				return "", false
			}
			x, ok := p.lookup(v)
			if !ok {
				return "", false
			}
			return jsonString(x), true
		}
	case x.Regex != "":
		re, err := regexp.Compile(x.Regex)
		if err != nil {
			return nil, fmt.Errorf("regex: %v", err)
		}
		ce.extract = func(r *response) (string, bool) {
			m := re.FindSubmatch(r.body)
			switch {
			case m == nil:
				return "", false
			case len(m) > 1:
				return string(m[1]), true
			default:
				return string(m[0]), true
			}
		}
	case x.Header != "":
		h := http.CanonicalHeaderKey(x.Header)
		ce.extract = func(r *response) (string, bool) {
			v := r.header.Get(h)
			return v, v != ""
		}
	case x.Cookie != "":
		name := x.Cookie
		ce.extract = func(r *response) (string, bool) {
			for _, c := range r.cookies() {
				if c.Name == name {
					return c.Value, true
				}
			}
			// set earlier in the iteration, or by a redirect hop of this request
			if r.vu != nil {
				return r.vu.jar.get(name)
			}
			return "", false
		}
	}
	return ce, nil
}

func validateThink(t *Think) error {
	switch t.Dist {
	case "", "constant":
		if t.Value <= 0 {
			return errors.New("constant think time needs value > 0")
		}
	case "uniform":
		if t.Max <= 0 || t.Min > t.Max {
			return errors.New("uniform think time needs 0 <= min <= max, max > 0")
		}
	case "exponential":
		if t.Mean <= 0 {
			return errors.New("exponential think time needs mean > 0")
		}
	case "normal":
		if t.Mean <= 0 || t.StdDev < 0 {
			return errors.New("normal think time needs mean > 0 and stddev >= 0")
		}
	default:
		return fmt.Errorf("unknown distribution %q (constant, uniform, exponential, normal)", t.Dist)
	}
	return nil
}

// sample draws a think time; normal samples are truncated at zero and at mean+4σ.
func (t *Think) sample(r *rand.Rand) time.Duration {
	switch t.Dist {
	case "uniform":
		return t.Min.D() + time.Duration(r.Int64N(int64(t.Max-t.Min)+1))
	case "exponential":
		return time.Duration(r.ExpFloat64() * float64(t.Mean))
	case "normal":
		v := float64(t.Mean) + r.NormFloat64()*float64(t.StdDev)
		v = math.Min(math.Max(v, 0), float64(t.Mean)+4*float64(t.StdDev))
		return time.Duration(v)
	default:
		return t.Value.D()
	}
}
