package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

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

// TestCrashDurability kills a writer process with SIGKILL mid-stream and checks that every acknowledged write
// survived whole (storetest.Crash).
func TestCrashDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a writer process; skipped in -short mode")
	}
	dir := t.TempDir()
	storetest.Crash(t, "TestCrashChild", []string{"RAMP_SQLITE_CRASH_DIR=" + dir}, func() store.Store {
		s, err := sqlite.Open(t.Context(), dir)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestCrashChild is the writer TestCrashDurability kills; it does nothing unless RAMP_SQLITE_CRASH_DIR is set.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv("RAMP_SQLITE_CRASH_DIR")
	if dir == "" {
		t.Skip("run by TestCrashDurability")
	}
	s, err := sqlite.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Fatal(storetest.CrashChild(s, os.Stdout))
}

func BenchmarkSQLiteAdminWrite(b *testing.B) {
	s, err := sqlite.Open(b.Context(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchAdminWrite(b, s)
}
