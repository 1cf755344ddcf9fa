package sqlite_test

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ramphq/ramp/flag"
	"github.com/ramphq/ramp/internal/store"
	"github.com/ramphq/ramp/internal/store/sqlite"
	"github.com/ramphq/ramp/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(t.Context(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestOpenCreatesPrivateDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "ramp-data")
	s, err := sqlite.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("data dir mode %v, want 0700", fi.Mode().Perm())
	}
	if want := filepath.Join(dir, sqlite.FileName); s.Path() != want {
		t.Errorf("Path() = %s, want %s", s.Path(), want)
	}
	if _, err := os.Stat(s.Path()); err != nil {
		t.Errorf("database file: %v", err)
	}
}

func TestOpenOddPath(t *testing.T) {
	// Characters that mean something in a URI must stay part of the file name.
	dir := filepath.Join(t.TempDir(), "x?mode=ro#frag%20 ü")
	s, err := sqlite.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Update(t.Context(), func(tx store.Tx) error { return tx.CreateProject(store.Project{Key: "p"}) }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, sqlite.FileName)); err != nil {
		t.Errorf("database not created where asked: %v", err)
	}
}

func TestMigrations(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	s, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.CreateProject(store.Project{Key: "kept"}) }); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatalf("reopening: %v", err)
	}
	if err := s.View(ctx, func(tx store.Tx) error { _, err := tx.Project("kept"); return err }); err != nil {
		t.Errorf("after reopening: %v", err)
	}
	s.Close()

	db, err := sql.Open("sqlite", filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n, v int
	if err := db.QueryRowContext(ctx, `SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &v); err != nil {
		t.Fatal(err)
	}
	if n != sqlite.SchemaVersion() || v != sqlite.SchemaVersion() || v < 1 {
		t.Errorf("schema_migrations has %d rows up to version %d, want %d", n, v, sqlite.SchemaVersion())
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '0999_future.sql', 'x')`); err != nil {
		t.Fatal(err)
	}
	_, err = sqlite.Open(ctx, dir)
	if !errors.Is(err, sqlite.ErrNewerSchema) || !strings.Contains(err.Error(), "999") {
		t.Errorf("opening a newer database: %v, want ErrNewerSchema naming version 999", err)
	}
}

// TestCrashDurability writes in a child process, kills it with SIGKILL mid-stream, and checks that every write
// the child saw acknowledged is there, and that each write's flag, audit entry and revision bump survived
// together or not at all.
func TestCrashDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a writer process; skipped in -short mode")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v")
	cmd.Env = append(os.Environ(), "RAMP_SQLITE_CRASH_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[int]bool{}
	sc := bufio.NewScanner(out)
	deadline := time.Now().Add(30 * time.Second)
	for sc.Scan() && len(acked) < 300 && time.Now().Before(deadline) {
		if n, ok := strings.CutPrefix(sc.Text(), "ack "); ok {
			i, err := strconv.Atoi(n)
			if err != nil {
				t.Fatal(err)
			}
			acked[i] = true
		}
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no deferred Close, no clean shutdown
		t.Fatal(err)
	}
	cmd.Wait()
	if len(acked) < 10 {
		t.Fatalf("the child acknowledged only %d writes", len(acked))
	}

	s, err := sqlite.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var flags []store.FlagRecord
	var audit []store.AuditEntry
	var env store.Environment
	if err := s.View(t.Context(), func(tx store.Tx) error {
		var err error
		if flags, err = tx.Flags("p", "prod"); err != nil {
			return err
		}
		if audit, err = tx.Audit(store.AuditFilter{Limit: 100000}); err != nil {
			return err
		}
		env, err = tx.Environment("p", "prod")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, f := range flags {
		have[f.Flag.Key] = true
	}
	for i := range acked {
		if !have[fmt.Sprintf("f-%05d", i)] {
			t.Errorf("acknowledged write %d is missing after kill -9", i)
		}
	}
	if len(audit) != len(flags) || env.Revision != int64(len(flags)) {
		t.Errorf("%d flags, %d audit entries, revision %d: a write survived in part", len(flags), len(audit), env.Revision)
	}
	if len(flags) > len(acked)+1 {
		t.Errorf("%d flags but only %d acknowledged writes (at most one may commit unacknowledged)", len(flags), len(acked))
	}
	t.Logf("%d writes acknowledged before kill -9, %d found after restart", len(acked), len(flags))
}

// TestCrashChild is the writer TestCrashDurability kills; it does nothing unless RAMP_SQLITE_CRASH_DIR is set.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv("RAMP_SQLITE_CRASH_DIR")
	if dir == "" {
		t.Skip("run by TestCrashDurability")
	}
	ctx := context.Background()
	s, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateProject(store.Project{Key: "p"}); err != nil {
			return err
		}
		return tx.CreateEnvironment(store.Environment{Project: "p", Key: "prod"})
	}); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		key := fmt.Sprintf("f-%05d", i)
		err := s.Update(ctx, func(tx store.Tx) error {
			rec := store.FlagRecord{Project: "p", Environment: "prod", Flag: flag.Flag{Key: key, Type: flag.TypeBoolean,
				Variations: []flag.Variation{{Key: "on", Value: true}, {Key: "off", Value: false}}, OffVariation: "off", Fallthrough: flag.Serve{Variation: "on"}}}
			if err := tx.PutFlag(&rec, 0); err != nil {
				return err
			}
			if err := tx.AppendAudit(&store.AuditEntry{Action: "flag.create", Project: "p", Environment: "prod", Resource: "flag", Key: key, Version: 1}); err != nil {
				return err
			}
			_, err := tx.BumpRevision("p", "prod")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("ack %d\n", i)
	}
}

func BenchmarkSQLiteAdminWrite(b *testing.B) {
	s, err := sqlite.Open(b.Context(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchAdminWrite(b, s)
}
