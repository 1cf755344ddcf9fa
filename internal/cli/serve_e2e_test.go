package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// These tests run the real ramp binary as a separate process on 127.0.0.1:0 with a temporary data directory.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func rampBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ramp-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "ramp")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/ramphq/ramp/cmd/ramp").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

type server struct {
	cmd    *exec.Cmd
	url    string
	token  string
	stderr *bytes.Buffer
}

var servingLine = regexp.MustCompile(`ramp serving on (http://\S+)`)

// startServer runs `ramp serve` with args and waits until it prints its URL.
func startServer(t *testing.T, env []string, args ...string) *server {
	t.Helper()
	cmd := exec.Command(rampBinary(t), append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, stderr: &bytes.Buffer{}}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := servingLine.FindStringSubmatch(sc.Text()); m != nil {
				lines <- m[1]
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case s.url = <-lines:
	case <-time.After(30 * time.Second):
		t.Fatalf("ramp serve did not start: %s", s.stderr)
	}
	return s
}

func (s *server) do(t *testing.T, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func randomToken() string {
	var b [24]byte
	rand.Read(b[:])
	return "test-admin-" + hex.EncodeToString(b[:])
}

// TestServeGeneratesAdminToken: on an empty data dir the first start writes a token file, mode 0600, that
// works, and a restart keeps it.
func TestServeGeneratesAdminToken(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	s := startServer(t, []string{"RAMP_ADMIN_TOKEN="}, "--data", dir)
	path := filepath.Join(dir, "admin-token")
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("no admin token file: %v; stderr: %s", err, s.stderr)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("admin-token mode %v, want 0600", info.Mode().Perm())
	}
	tok, _ := os.ReadFile(path)
	s.token = strings.TrimSpace(string(tok))
	if code, body := s.do(t, "GET", "/api/v1/projects/default/environments", nil); code != 200 || !strings.Contains(string(body), "production") {
		t.Fatalf("GET environments: %d %s", code, body)
	}
	if !strings.Contains(s.stderr.String(), path) {
		t.Fatalf("serve did not say where the token is: %s", s.stderr)
	}
	s.token = "wrong"
	if code, _ := s.do(t, "GET", "/api/v1/projects", nil); code != 401 {
		t.Fatalf("bad token: %d, want 401", code)
	}
	if code, _ := s.do(t, "GET", "/healthz", nil); code != 200 {
		t.Fatalf("healthz %d", code)
	}
	if code, _ := s.do(t, "GET", "/readyz", nil); code != 200 {
		t.Fatalf("readyz %d", code)
	}
	// Graceful shutdown on SIGTERM-like interrupt.
	if runtime.GOOS != "windows" {
		s.cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- s.cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("serve exited with %v after an interrupt: %s", err, s.stderr)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("serve did not stop after an interrupt")
		}
	}
	// The restart reuses the store and keeps the token valid.
	s2 := startServer(t, []string{"RAMP_ADMIN_TOKEN="}, "--data", dir)
	s2.token = strings.TrimSpace(string(tok))
	if code, body := s2.do(t, "GET", "/api/v1/projects", nil); code != 200 {
		t.Fatalf("after restart: %d %s", code, body)
	}
}

// crashDurability writes flags one at a time, kills the server with SIGKILL mid-stream, restarts it on the
// same store, and checks that every acknowledged write and exactly its audit row survived.
func crashDurability(t *testing.T, args []string) {
	token := randomToken()
	env := []string{"RAMP_ADMIN_TOKEN=" + token}
	s := startServer(t, env, args...)
	s.token = token
	if code, body := s.do(t, "POST", "/api/v1/projects", map[string]any{"key": "crash", "environments": []string{"prod"}}); code != 201 {
		t.Fatalf("create project: %d %s", code, body)
	}
	var mu sync.Mutex
	var acked []string
	inflight := ""
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			key := fmt.Sprintf("f-%05d", i)
			mu.Lock()
			inflight = key
			mu.Unlock()
			code, _ := s.do(t, "POST", "/api/v1/projects/crash/environments/prod/flags", map[string]any{
				"key": key, "type": "boolean", "enabled": true, "offVariation": "off",
				"variations":  []map[string]any{{"key": "on", "value": true}, {"key": "off", "value": false}},
				"fallthrough": map[string]any{"variation": "on"},
			})
			if code != 201 {
				return // the server is gone
			}
			mu.Lock()
			acked = append(acked, key)
			mu.Unlock()
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 150 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := s.cmd.Process.Kill(); err != nil { // SIGKILL: no shutdown, no flush
		t.Fatal(err)
	}
	s.cmd.Wait()
	close(stop)
	<-done
	mu.Lock()
	ackedKeys, last := append([]string(nil), acked...), inflight
	mu.Unlock()
	if len(ackedKeys) < 20 {
		t.Fatalf("only %d writes acknowledged before the kill; stderr: %s", len(ackedKeys), s.stderr)
	}

	s2 := startServer(t, env, args...)
	s2.token = token
	code, body := s2.do(t, "GET", "/api/v1/projects/crash/environments/prod/flags", nil)
	if code != 200 {
		t.Fatalf("list after restart: %d %s", code, body)
	}
	var list struct {
		Flags []struct {
			Flag struct{ Key string } `json:"flag"`
		} `json:"flags"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	present := map[string]bool{}
	for _, f := range list.Flags {
		present[f.Flag.Key] = true
	}
	for _, k := range ackedKeys {
		if !present[k] {
			t.Errorf("acknowledged write %s lost", k)
		}
	}
	// Audit: one flag.create row per acknowledged write; at most one more, for the write in flight at the kill.
	rows := map[string]int{}
	before := ""
	for {
		code, body := s2.do(t, "GET", "/api/v1/audit?project=crash&resource=flag&limit=1000"+before, nil)
		if code != 200 {
			t.Fatalf("audit: %d %s", code, body)
		}
		var page struct {
			Entries []struct {
				ID     int64  `json:"id"`
				Key    string `json:"key"`
				Action string `json:"action"`
			} `json:"entries"`
		}
		json.Unmarshal(body, &page)
		for _, e := range page.Entries {
			rows[e.Key]++
		}
		if len(page.Entries) < 1000 {
			break
		}
		before = fmt.Sprintf("&before=%d", page.Entries[len(page.Entries)-1].ID)
	}
	for _, k := range ackedKeys {
		if rows[k] != 1 {
			t.Errorf("flag %s: %d audit rows, want 1", k, rows[k])
		}
	}
	extra := len(present) - len(ackedKeys)
	total := 0
	for k, n := range rows {
		total += n
		if !present[k] {
			t.Errorf("audit row for %s, which is not stored", k)
		}
	}
	if extra < 0 || extra > 1 || (extra == 1 && !present[last]) {
		t.Errorf("%d flags stored beyond the %d acknowledged (in flight: %s)", extra, len(ackedKeys), last)
	}
	if total != len(present) {
		t.Errorf("%d audit rows for %d stored flags", total, len(present))
	}
	t.Logf("%d writes acknowledged before SIGKILL, %d stored after restart, %d audit rows", len(ackedKeys), len(present), total)
}

func TestCrashDurabilitySQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	crashDurability(t, []string{"--data", t.TempDir()})
}

func TestCrashDurabilityPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	url := postgresSchemaURL(t)
	crashDurability(t, []string{"--database-url", url, "--data", t.TempDir()})
}

// postgresSchemaURL creates a fresh schema in the test database and returns a URL whose search_path is that
// schema; the schema is dropped when the test ends.
func postgresSchemaURL(t *testing.T) string {
	t.Helper()
	base := os.Getenv("RAMP_TEST_POSTGRES_URL")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL at %s: %v", base, err)
		}
		t.Skipf("PostgreSQL at %s is not reachable (%v); set RAMP_TEST_POSTGRES_URL", base, err)
	}
	defer conn.Close(ctx)
	var b [6]byte
	rand.Read(b[:])
	schema := "ramp_e2e_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err == nil {
			c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			c.Close(ctx)
		}
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

// TestEndToEndCLI drives the real binary twice over: `ramp serve` on 127.0.0.1:0 with a temp data dir, and the
// `ramp` CLI against it to create a project, an environment, a flag and a key, then read the flag back through
// the explain endpoint.
func TestEndToEndCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	token := randomToken()
	s := startServer(t, []string{"RAMP_ADMIN_TOKEN=" + token}, "--data", t.TempDir())
	dir := t.TempDir()
	ramp := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(rampBinary(t), args...)
		cmd.Env = append(os.Environ(), "RAMP_SERVER="+s.url, "RAMP_TOKEN="+token)
		cmd.Dir = dir
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("ramp %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, stderr.String())
		}
		return string(out)
	}
	ramp("projects", "create", "shop", "--env", "staging")
	ramp("envs", "create", "production", "--project", "shop", "--from", "staging")
	if out := ramp("envs", "list", "--project", "shop", "-o", "json"); !strings.Contains(out, `"production"`) || !strings.Contains(out, `"staging"`) {
		t.Fatalf("envs list: %s", out)
	}
	flagFile := filepath.Join(dir, "ai.yaml")
	os.WriteFile(flagFile, []byte(`key: new-ai-assistant
type: boolean
enabled: true
variations: [{key: on, value: true}, {key: off, value: false}]
offVariation: off
rules:
  - id: br-pt
    clauses: [{attribute: country, op: in, values: [BR, PT]}]
    serve: {variation: on}
fallthrough: {variation: off}
`), 0o644)
	ramp("flags", "create", "-f", flagFile, "--project", "shop", "--env", "production")
	key := strings.TrimSpace(ramp("keys", "create", "--project", "shop", "--env", "production", "--kind", "server"))
	if !strings.HasPrefix(key, "ramp_srv_") || strings.ContainsAny(key, " \n") {
		t.Fatalf("keys create printed %q, want the key alone", key)
	}
	out := ramp("explain", "--project", "shop", "--env", "production", "--flag", "new-ai-assistant",
		"--context", `{"targetingKey":"user-7","country":"BR"}`, "-o", "json")
	var ex struct {
		Detail struct {
			Value  any    `json:"value"`
			Reason string `json:"reason"`
			RuleID string `json:"ruleId"`
		} `json:"detail"`
		Steps []struct {
			Kind    string `json:"kind"`
			ID      string `json:"id"`
			Matched bool   `json:"matched"`
		} `json:"steps"`
	}
	if err := json.Unmarshal([]byte(out), &ex); err != nil {
		t.Fatalf("explain output: %v\n%s", err, out)
	}
	if ex.Detail.Value != true || ex.Detail.Reason != "TARGETING_MATCH" || ex.Detail.RuleID != "br-pt" {
		t.Fatalf("explain detail %+v", ex.Detail)
	}
	if len(ex.Steps) != 1 || ex.Steps[0].ID != "br-pt" || !ex.Steps[0].Matched {
		t.Fatalf("explain steps %+v", ex.Steps)
	}
	// The flag exists, disabled, in the other environment too.
	if out := ramp("flags", "get", "new-ai-assistant", "--project", "shop", "--env", "staging", "-o", "json"); !strings.Contains(out, `"enabled": false`) && !strings.Contains(out, `"enabled":false`) {
		t.Fatalf("staging copy: %s", out)
	}
}
