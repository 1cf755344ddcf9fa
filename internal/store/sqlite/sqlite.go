// Package sqlite is ramp's embedded store: the store.Store contract on one SQLite file, through the pure-Go
// driver modernc.org/sqlite (no cgo, so ramp stays one static binary).
//
// Durability and concurrency:
//   - The database runs in WAL mode with synchronous=FULL: a transaction is acknowledged (Update returns nil)
//     only after its WAL frames are fsynced, so it survives kill -9 and power loss as far as the file system and
//     disk honour fsync. (synchronous=NORMAL would be faster and survive a process crash, but could lose the
//     last transactions on power loss.)
//   - Writes go through one connection whose transactions begin with BEGIN IMMEDIATE, so writers queue inside
//     the process instead of failing with SQLITE_BUSY; busy_timeout covers other processes. Reads use a separate
//     pool of query_only connections and see a consistent snapshot without blocking the writer.
//   - Foreign keys are enforced on every connection: deleting a project or an environment cascades.
//
// The schema is created and upgraded by the numbered SQL files embedded from migrations/, each in its own
// transaction, recorded in schema_migrations. Open refuses a database written by a newer ramp.
//
// Only internal/cli imports this package; everything else speaks store.Store.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"

	"github.com/ramphq/ramp/internal/store"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// FileName is the database file Open creates in its directory.
const FileName = "ramp.db"

// busyTimeoutMillis is how long a connection waits for another process's lock before failing.
const busyTimeoutMillis = 10_000

// Store is a store.Store on a SQLite database.
type Store struct {
	path string
	w    *sql.DB // one connection: the writer
	r    *sql.DB // query_only readers
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database dir/ramp.db, creating dir with mode 0700, and brings its schema
// up to date.
func Open(ctx context.Context, dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	abs, err := filepath.Abs(filepath.Join(dir, FileName))
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	s := &Store{path: abs}
	if s.w, err = sql.Open("sqlite", dsn(abs, false)); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(0)
	s.w.SetConnMaxIdleTime(0)
	if err := s.migrate(ctx); err != nil {
		s.w.Close()
		return nil, fmt.Errorf("sqlite: %s: %w", abs, err)
	}
	if s.r, err = sql.Open("sqlite", dsn(abs, true)); err != nil {
		s.w.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	readers := max(4, runtime.GOMAXPROCS(0))
	s.r.SetMaxOpenConns(readers)
	s.r.SetMaxIdleConns(readers)
	return s, nil
}

// dsn builds the driver's data source name. The path goes in a file: URI, so no character in it can be taken for
// a parameter.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMillis))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}
	return u.String()
}

// Path returns the database file's absolute path.
func (s *Store) Path() string { return s.path }

// Close closes the database. It must not be called while transactions run.
func (s *Store) Close() error {
	var errs []error
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	if s.w != nil {
		errs = append(errs, s.w.Close())
	}
	return errors.Join(errs...)
}

// Update runs fn in a write transaction. Writers are serialized: fn runs exactly once, alone, and must not call
// Update itself (it would wait for its own transaction).
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	return s.run(ctx, s.w, false, fn)
}

// View runs fn in a read-only transaction on a consistent snapshot.
func (s *Store) View(ctx context.Context, fn func(store.Tx) error) error {
	return s.run(ctx, s.r, true, fn)
}

func (s *Store) run(ctx context.Context, db *sql.DB, readOnly bool, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	stx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return wrap(ctx, err)
	}
	t := &tx{ctx: ctx, tx: stx, readOnly: readOnly}
	finished := false
	defer func() {
		t.done = true
		if !finished { // fn panicked or called runtime.Goexit: roll back and let it go on
			stx.Rollback()
		}
	}()
	if err := fn(t); err != nil {
		finished = true
		stx.Rollback()
		return err
	}
	finished = true
	if readOnly {
		stx.Rollback() // never commit a read transaction: whatever happened in it is dropped
		return nil
	}
	if err := ctx.Err(); err != nil {
		stx.Rollback()
		return fmt.Errorf("sqlite: not committed: %w", err)
	}
	if err := stx.Commit(); err != nil {
		return wrap(ctx, fmt.Errorf("commit: %w", err))
	}
	return nil
}
