package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ramphq/ramp/internal/store"
	"github.com/ramphq/ramp/internal/store/postgres"
	"github.com/ramphq/ramp/internal/store/storetest"
)

// defaultURL is the database every development machine and CI runner here has: PostgreSQL on 127.0.0.1:5432,
// trust authentication, database test. RAMP_TEST_POSTGRES_URL points the tests elsewhere.
const defaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

func baseURL() string {
	if u := os.Getenv("RAMP_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return defaultURL
}

var (
	reachOnce sync.Once
	reachErr  error
)

// reachable fails the test when PostgreSQL cannot be reached and CI=true, and skips it otherwise.
func reachable(t testing.TB) {
	t.Helper()
	reachOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, baseURL())
		if err == nil {
			err = conn.Ping(ctx)
			conn.Close(ctx)
		}
		reachErr = err
	})
	if reachErr == nil {
		return
	}
	msg := "PostgreSQL at " + redact(baseURL()) + " is unreachable (set RAMP_TEST_POSTGRES_URL to point the tests at another server): " + reachErr.Error()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg + "; skipping because CI is not true")
}

func redact(u string) string {
	if p, err := url.Parse(u); err == nil && p.User != nil {
		if _, has := p.User.Password(); has {
			p.User = url.UserPassword(p.User.Username(), "xxx")
			return p.String()
		}
	}
	return u
}

// withParams adds connection parameters to a URL or a key=value connection string.
func withParams(base string, params map[string]string) string {
	if strings.HasPrefix(base, "postgres://") || strings.HasPrefix(base, "postgresql://") {
		u, err := url.Parse(base)
		if err != nil {
			panic(err)
		}
		q := u.Query()
		for k, v := range params {
			q.Set(k, v)
		}
		u.RawQuery = q.Encode()
		return u.String()
	}
	for k, v := range params {
		base += " " + k + "=" + v
	}
	return base
}

// schemaURL creates a schema with a random name, drops it when the test ends, and returns a URL whose
// search_path selects it.
func schemaURL(t testing.TB) string {
	t.Helper()
	reachable(t)
	b := make([]byte, 8)
	rand.Read(b)
	schema := "ramp_test_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, baseURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, baseURL())
		if err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	return withParams(baseURL(), map[string]string{"search_path": schema})
}

func open(t testing.TB, u string) *postgres.Store {
	t.Helper()
	// Parallel subtests each open a pool; keep them small.
	s, err := postgres.Open(context.Background(), withParams(u, map[string]string{"pool_max_conns": "4"}))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	reachable(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, schemaURL(t))
	})
}

func TestMigrations(t *testing.T) {
	u := schemaURL(t)
	s := open(t, u)
	ctx := t.Context()
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.CreateProject(store.Project{Key: "kept"}) }); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// Reopening applies nothing twice and keeps the data.
	s = open(t, u)
	if err := s.View(ctx, func(tx store.Tx) error { _, err := tx.Project("kept"); return err }); err != nil {
		t.Errorf("after reopening: %v", err)
	}
	s.Close()

	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n, v int
	if err := conn.QueryRow(ctx, `SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &v); err != nil {
		t.Fatal(err)
	}
	if n != postgres.SchemaVersion() || v != postgres.SchemaVersion() {
		t.Errorf("schema_migrations has %d rows up to version %d, want %d", n, v, postgres.SchemaVersion())
	}

	// A schema from a newer ramp is refused, clearly.
	if _, err := conn.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES (999, '0999_future.sql')`); err != nil {
		t.Fatal(err)
	}
	_, err = postgres.Open(ctx, u)
	if !errors.Is(err, postgres.ErrNewerSchema) || !strings.Contains(err.Error(), "999") {
		t.Errorf("opening a newer schema: %v, want ErrNewerSchema naming version 999", err)
	}
}

func TestConcurrentOpen(t *testing.T) {
	u := schemaURL(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			s, err := postgres.Open(t.Context(), u)
			if err == nil {
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Errorf("concurrent Open: %v", err)
		}
	}
}

func TestOpenMissingSchema(t *testing.T) {
	reachable(t)
	_, err := postgres.Open(t.Context(), withParams(baseURL(), map[string]string{"search_path": "ramp_no_such_schema"}))
	if err == nil || !strings.Contains(err.Error(), "ramp_no_such_schema") {
		t.Errorf("Open with a search_path naming no schema: %v, want an error naming it", err)
	}
}

// TestCrashDurability kills a writer process with SIGKILL mid-stream and checks that every write it saw
// acknowledged was committed whole (storetest.Crash). The server keeps running: this checks that an
// acknowledgement means a commit; surviving a crash of PostgreSQL itself is PostgreSQL's job.
func TestCrashDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a writer process; skipped in -short mode")
	}
	u := schemaURL(t)
	storetest.Crash(t, "TestCrashChild", []string{"RAMP_PG_CRASH_URL=" + u}, func() store.Store { return open(t, u) })
}

// TestCrashChild is the writer TestCrashDurability kills; it does nothing unless RAMP_PG_CRASH_URL is set.
func TestCrashChild(t *testing.T) {
	u := os.Getenv("RAMP_PG_CRASH_URL")
	if u == "" {
		t.Skip("run by TestCrashDurability")
	}
	t.Fatal(storetest.CrashChild(open(t, u), os.Stdout))
}

func BenchmarkPostgresAdminWrite(b *testing.B) {
	s := open(b, schemaURL(b))
	defer s.Close()
	storetest.BenchAdminWrite(b, s)
}
