// Package postgres is ramp's server store: the store.Store contract on PostgreSQL, through pgx v5 and its
// connection pool.
//
// Concurrency: Update runs fn in a READ COMMITTED transaction that first takes a transaction-scoped advisory
// lock, one per schema, so write transactions run one at a time, like SQLite's single writer. fn therefore runs
// exactly once (there are no serialization failures to retry), checks such as "the environment exists" cannot
// race, and audit IDs and revisions are handed out in commit order. Conditional writes (UPDATE ... WHERE
// version = $n, revision = revision + 1) would stay correct without the lock; the lock is what makes the
// whole transaction, reads included, behave as if alone. Admin writes are rare and short, so one writer per
// database costs little (see docs/storage.md for figures). View runs in a REPEATABLE READ, READ ONLY
// transaction: a consistent snapshot that never waits for the writer.
//
// Durability is PostgreSQL's: a commit is acknowledged once its WAL is flushed (synchronous_commit on, the
// default; ramp does not change it).
//
// The schema lives in the first schema of the connection's search_path (set search_path in the URL to keep
// ramp in its own schema). It is created and upgraded by the numbered SQL files embedded from migrations/,
// each in its own transaction, recorded in schema_migrations. Open refuses a database written by a newer ramp.
//
// Only internal/cli imports this package; everything else speaks store.Store.
package postgres

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ramphq/ramp/internal/store"
)

// Store is a store.Store on a PostgreSQL schema.
type Store struct {
	pool    *pgxpool.Pool
	schema  string
	lockKey int64 // the advisory lock that serializes this schema's writers
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at url (a postgres:// URL or a key=value connection string; pgxpool's
// pool_max_conns and the like are honoured, and search_path selects the schema) and brings its schema up to
// date.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &Store{pool: pool}
	if err := s.init(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return s, nil
}

func (s *Store) init(ctx context.Context) error {
	var schema *string
	if err := s.pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return err
	}
	if schema == nil {
		var path string
		if err := s.pool.QueryRow(ctx, `SHOW search_path`).Scan(&path); err != nil {
			return err
		}
		return fmt.Errorf("no schema to use: search_path %q names no schema that exists (create it first)", path)
	}
	s.schema = *schema
	h := fnv.New64a()
	h.Write([]byte("ramp.store.write/" + s.schema))
	s.lockKey = int64(h.Sum64())
	return s.migrate(ctx)
}

// Schema returns the schema the store keeps its tables in.
func (s *Store) Schema() string { return s.schema }

// Close closes the pool, waiting for connections in use to be returned.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Update runs fn in a write transaction. Writers are serialized: fn runs exactly once, alone among this
// schema's writers, and must not call Update itself (it would wait for its own lock).
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	return s.run(ctx, false, fn)
}

// View runs fn in a read-only transaction on a consistent snapshot.
func (s *Store) View(ctx context.Context, fn func(store.Tx) error) error {
	return s.run(ctx, true, fn)
}

func (s *Store) run(ctx context.Context, readOnly bool, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	opts := pgx.TxOptions{IsoLevel: pgx.ReadCommitted, AccessMode: pgx.ReadWrite}
	if readOnly {
		opts = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	}
	ptx, err := s.pool.BeginTx(ctx, opts)
	if err != nil {
		return wrap(ctx, err)
	}
	t := &tx{ctx: ctx, tx: ptx, readOnly: readOnly}
	finished := false
	defer func() {
		t.done = true
		if !finished { // fn panicked or called runtime.Goexit: roll back and let it go on
			rollback(ctx, ptx)
		}
	}()
	if !readOnly {
		if _, err := ptx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, s.lockKey); err != nil {
			finished = true
			rollback(ctx, ptx)
			return wrap(ctx, fmt.Errorf("write lock: %w", err))
		}
	}
	if err := fn(t); err != nil {
		finished = true
		rollback(ctx, ptx)
		return err
	}
	finished = true
	if readOnly {
		rollback(ctx, ptx) // never commit a read transaction
		return nil
	}
	if err := ctx.Err(); err != nil {
		rollback(ctx, ptx)
		return fmt.Errorf("postgres: not committed: %w", err)
	}
	if err := ptx.Commit(ctx); err != nil {
		return wrap(ctx, fmt.Errorf("commit: %w", err))
	}
	return nil
}

// rollback ends a transaction even when ctx is done, so the connection goes back to the pool clean.
func rollback(ctx context.Context, ptx pgx.Tx) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_ = ptx.Rollback(rctx) // if this fails, pgx closes the connection and the server rolls back
}
