package cli

// The commands that talk to a ramp server (projects, envs, flags list/get/..., segments, keys, audit, explain)
// share this file's pieces: the --server/--token/-o options, a small HTTP client with timeouts that turns the
// API's error bodies into messages naming each problem's path, and table/JSON output.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// defaultServer is where `ramp serve` listens by default.
const defaultServer = "http://127.0.0.1:8080"

// clientOpts are the options every server command takes.
type clientOpts struct {
	server string
	token  string
	output string // table or json
}

// addClientFlags adds --server, --token and -o to cmd and its subcommands.
func addClientFlags(cmd *cobra.Command, o *clientOpts) {
	fs := cmd.PersistentFlags()
	fs.StringVar(&o.server, "server", "", "ramp server URL (env RAMP_SERVER; default "+defaultServer+")")
	fs.StringVar(&o.token, "token", "", "API token (env RAMP_TOKEN)")
	fs.StringVarP(&o.output, "output", "o", "table", "output: table or json")
}

// client is a small HTTP client for the admin API.
type client struct {
	base   *url.URL
	token  string
	output string
	http   *http.Client
	e      *env
}

// newClient resolves the options (flags win over RAMP_SERVER and RAMP_TOKEN) and returns a client.
func newClient(e *env, o *clientOpts) (*client, error) {
	server := o.server
	if server == "" {
		server = os.Getenv("RAMP_SERVER")
	}
	if server == "" {
		server = defaultServer
	}
	if !strings.Contains(server, "://") {
		server = "http://" + server
	}
	u, err := url.Parse(strings.TrimRight(server, "/"))
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("--server: %q is not an http(s) URL", server)
	}
	token := o.token
	if token == "" {
		token = os.Getenv("RAMP_TOKEN")
	}
	switch o.output {
	case "table", "json":
	default:
		return nil, fmt.Errorf("-o: %q is not table or json", o.output)
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
	}
	return &client{base: u, token: token, output: o.output, http: &http.Client{Transport: tr, Timeout: 60 * time.Second}, e: e}, nil
}

// request is one API call.
type request struct {
	method string
	path   string // under the server URL, e.g. /api/v1/projects
	query  url.Values
	body   any    // JSON-encoded unless it is []byte
	ctype  string // content type of a []byte body
	header map[string]string
}

// apiError is an error response of the API: {"error":{"code","message","problems":[{"path","message"}]}}.
type apiError struct {
	Status   int
	Code     string
	Message  string
	Problems []struct {
		Path    string `json:"path"`
		Message string `json:"message"`
	}
	hint string
}

func (e *apiError) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	fmt.Fprintf(&b, " (%d %s)", e.Status, e.Code)
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		if p.Path != "" {
			b.WriteString(p.Path)
			b.WriteString(": ")
		}
		b.WriteString(p.Message)
	}
	if e.hint != "" {
		b.WriteString("\n")
		b.WriteString(e.hint)
	}
	return b.String()
}

// do sends r and returns the response body of a 2xx answer; anything else is an *apiError or a transport error
// that names the server.
func (c *client) do(ctx context.Context, r request) ([]byte, http.Header, error) {
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + r.path
	u.RawQuery = r.query.Encode()
	var body io.Reader
	ctype := r.ctype
	switch b := r.body.(type) {
	case nil:
	case []byte:
		body = bytes.NewReader(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			return nil, nil, err
		}
		body, ctype = bytes.NewReader(js), "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return nil, nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "ramp-cli/"+Version)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	res, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, nil, fmt.Errorf("cannot reach the ramp server at %s: %v (set --server or RAMP_SERVER)", c.base, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("reading the answer of %s %s: %v", r.method, u.Path, err)
	}
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		return data, res.Header, nil
	}
	var eb struct {
		Error *apiError `json:"error"`
	}
	if json.Unmarshal(data, &eb) != nil || eb.Error == nil || eb.Error.Message == "" {
		snippet := strings.TrimSpace(string(data))
		if len(snippet) > 200 {
			snippet = snippet[:200] + "..."
		}
		return nil, nil, fmt.Errorf("%s %s: the server answered %s: %s", r.method, u.Path, res.Status, snippet)
	}
	ae := eb.Error
	ae.Status = res.StatusCode
	if res.StatusCode == http.StatusUnauthorized {
		if c.token == "" {
			ae.hint = "set --token or RAMP_TOKEN (a fresh server writes its first admin token to DATA/admin-token)"
		} else {
			ae.hint = "check --token or RAMP_TOKEN"
		}
	}
	return nil, nil, ae
}

// call sends r and decodes a JSON answer into out (when not nil); it returns the raw answer for -o json.
func (c *client) call(ctx context.Context, r request, out any) ([]byte, error) {
	data, _, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return nil, fmt.Errorf("%s %s: unexpected answer: %v", r.method, r.path, err)
		}
	}
	return data, nil
}

// printJSON writes a JSON answer indented.
func (c *client) printJSON(data []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, bytes.TrimSpace(data), "", "  "); err != nil {
		_, err = c.e.stdout.Write(data)
		return err
	}
	buf.WriteByte('\n')
	_, err := c.e.stdout.Write(buf.Bytes())
	return err
}

// show prints data as JSON with -o json, or calls table otherwise.
func (c *client) show(data []byte, table func(w io.Writer)) error {
	if c.output == "json" {
		return c.printJSON(data)
	}
	tw := tabwriter.NewWriter(c.e.stdout, 0, 4, 2, ' ', 0)
	table(tw)
	return tw.Flush()
}

// row writes one tab-separated line.
func row(w io.Writer, cells ...any) {
	for i, c := range cells {
		if i > 0 {
			io.WriteString(w, "\t")
		}
		s := fmt.Sprint(c)
		if s == "" {
			s = "-"
		}
		io.WriteString(w, s)
	}
	io.WriteString(w, "\n")
}

// when formats a time for tables: UTC, to the second.
func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

// apiPath joins escaped path segments under /api/v1.
func apiPath(segments ...string) string {
	var b strings.Builder
	b.WriteString("/api/v1")
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

func envAPIPath(project, env string, rest ...string) string {
	return apiPath(append([]string{"projects", project, "environments", env}, rest...)...)
}

// needEnv checks the --env option of commands that work in one environment.
func needEnv(env string) error {
	if env == "" {
		return errors.New("--env is required (a fresh server has development, staging and production)")
	}
	return nil
}

// readInput reads a file, or standard input for "-".
func readInput(e *env, file string) ([]byte, error) {
	if file == "" {
		return nil, errors.New("-f FILE is required (- for standard input)")
	}
	if file == "-" {
		return io.ReadAll(e.stdin)
	}
	return os.ReadFile(file)
}
