// Package storetest is the conformance suite for internal/store: every backend runs [Run] from its tests, so
// the SQLite and PostgreSQL stores (and any future one) behave the same way behind the store.Store contract.
// [Crash] and [CrashChild] are a kill -9 durability test, and [BenchAdminWrite] the admin-write benchmark, that
// backends run the same way.
//
// The suite pins what the contract's doc comments promise (uniqueness, not-found, optimistic versions,
// per-environment isolation and revisions, cascades, exact round trips, audit ordering and paging,
// all-or-nothing transactions under errors, panics, cancellation and concurrency) and a few things the
// contract leaves to the backend, stated where they are checked:
//   - lists under a parent that does not exist (Environments, Flags, Segments, Keys) fail with KindNotFound;
//   - a write that fails inside a transaction (a conflict, say) does not spoil the transaction: fn may go on and
//     its other writes commit;
//   - Update returns fn's error unchanged, and context cancellation as an error wrapping ctx.Err();
//   - audit Since is inclusive and Until exclusive;
//   - writers are serialized: a read-modify-write inside one Update never conflicts with a concurrent one;
//   - View reads one snapshot, and writers do not wait for it;
//   - times round-trip to the nanosecond (as instants: zones may change); the zero time round-trips as zero.
//
// It is imported only by backends' tests.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/ramphq/ramp/flag"
	"github.com/ramphq/ramp/internal/store"
)

// Run runs the conformance suite. open must return a new, empty store for each call; Run closes it when the
// test that opened it ends. Subtests run in parallel, so open must be safe to call concurrently.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Projects", testProjects},
		{"Environments", testEnvironments},
		{"Revisions", testRevisions},
		{"FlagCRUD", testFlagCRUD},
		{"FlagVersions", testFlagVersions},
		{"FlagIsolation", testFlagIsolation},
		{"FlagRoundTrip", testFlagRoundTrip},
		{"Segments", testSegments},
		{"SegmentIsolation", testSegmentIsolation},
		{"Keys", testKeys},
		{"UpdateKey", testUpdateKey},
		{"DeleteEnvironmentCascades", testDeleteEnvironmentCascades},
		{"DeleteProjectCascades", testDeleteProjectCascades},
		{"Audit", testAudit},
		{"AuditFilters", testAuditFilters},
		{"AuditPaging", testAuditPaging},
		{"AuditJSON", testAuditJSON},
		{"RollbackOnError", testRollbackOnError},
		{"RollbackOnPanic", testRollbackOnPanic},
		{"FailedWriteKeepsTx", testFailedWriteKeepsTx},
		{"ErrorsPassThrough", testErrorsPassThrough},
		{"ViewIsReadOnly", testViewIsReadOnly},
		{"ViewSnapshot", testViewSnapshot},
		{"TxAfterReturn", testTxAfterReturn},
		{"ContextCanceled", testContextCanceled},
		{"ContextWhileWaiting", testContextWhileWaiting},
		{"ConcurrentPutFlag", testConcurrentPutFlag},
		{"ConcurrentInsert", testConcurrentInsert},
		{"ConcurrentBumpRevision", testConcurrentBumpRevision},
		{"SerializedWriters", testSerializedWriters},
		{"HostileKeys", testHostileKeys},
		{"UnstorableKeys", testUnstorableKeys},
		{"HugeDocuments", testHugeDocuments},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			c.fn(t, s)
		})
	}
}

// at is a fixed, nanosecond-precise instant in a non-UTC zone: stores must keep every digit and return UTC.
var at = time.Date(2026, 11, 27, 23, 59, 58, 123456789, time.FixedZone("CET", 3600))

func ctx(t *testing.T) context.Context { return t.Context() }

// update runs fn in a write transaction and fails the test on error.
func update(t *testing.T, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.Update(ctx(t), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// view runs fn in a read transaction and fails the test on error.
func view(t *testing.T, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.View(ctx(t), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// get reads one value in a read transaction.
func get[T any](t *testing.T, s store.Store, fn func(store.Tx) (T, error)) (T, error) {
	t.Helper()
	var v T
	var ferr error
	if err := s.View(ctx(t), func(tx store.Tx) error {
		v, ferr = fn(tx)
		return nil
	}); err != nil {
		t.Fatalf("View: %v", err)
	}
	return v, ferr
}

// must reads one value and fails the test on error.
func must[T any](t *testing.T, s store.Store, fn func(store.Tx) (T, error)) T {
	t.Helper()
	v, err := get(t, s, fn)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return v
}

// wantKind checks that err is a *flag.Error of the given kind.
func wantKind(t *testing.T, err error, kind flag.ErrorKind, what string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: got no error, want %s", what, kind)
		return
	}
	var fe *flag.Error
	if !errors.As(err, &fe) {
		t.Errorf("%s: got %T %v, want a *flag.Error of kind %s", what, err, err, kind)
		return
	}
	if fe.Kind != kind {
		t.Errorf("%s: got kind %s (%v), want %s", what, fe.Kind, err, kind)
	}
}

// ok fails the test when err is not nil.
func ok(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func equal(t *testing.T, got, want any, what string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %s\nwant %s", what, show(got), show(want))
	}
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil || len(b) > 2000 {
		s := fmt.Sprintf("%+v", v)
		if len(s) > 2000 {
			s = s[:2000] + "..."
		}
		return s
	}
	return string(b)
}

// seed creates projects p (environments dev, prod) and q (environment dev).
func seed(t *testing.T, s store.Store) {
	t.Helper()
	update(t, s, func(tx store.Tx) error {
		for _, p := range []string{"p", "q"} {
			if err := tx.CreateProject(store.Project{Key: p, Name: "Project " + p, CreatedAt: at}); err != nil {
				return err
			}
		}
		for _, e := range [][2]string{{"p", "dev"}, {"p", "prod"}, {"q", "dev"}} {
			if err := tx.CreateEnvironment(store.Environment{Project: e[0], Key: e[1], Name: e[1], CreatedAt: at}); err != nil {
				return err
			}
		}
		return nil
	})
}

// dump is everything a store holds, read in one transaction; two dumps are equal when nothing was written.
type dump struct {
	Projects []store.Project
	Envs     []store.Environment
	Flags    []store.FlagRecord
	Segments []store.SegmentRecord
	Keys     []store.APIKey
	Audit    []store.AuditEntry
}

func dumpStore(t *testing.T, s store.Store) dump {
	t.Helper()
	var d dump
	view(t, s, func(tx store.Tx) error {
		var err error
		if d.Projects, err = tx.Projects(); err != nil {
			return err
		}
		for _, p := range d.Projects {
			envs, err := tx.Environments(p.Key)
			if err != nil {
				return err
			}
			d.Envs = append(d.Envs, envs...)
			for _, e := range envs {
				fs, err := tx.Flags(p.Key, e.Key)
				if err != nil {
					return err
				}
				d.Flags = append(d.Flags, fs...)
				ss, err := tx.Segments(p.Key, e.Key)
				if err != nil {
					return err
				}
				d.Segments = append(d.Segments, ss...)
			}
		}
		if d.Keys, err = tx.Keys(""); err != nil {
			return err
		}
		d.Audit, err = allAudit(tx, store.AuditFilter{})
		return err
	})
	return d
}

// allAudit pages through every entry matching f, newest first.
func allAudit(tx store.Tx, f store.AuditFilter) ([]store.AuditEntry, error) {
	var all []store.AuditEntry
	f.Limit = 100
	for {
		page, err := tx.Audit(f)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if len(page) < f.Limit {
			return all, nil
		}
		f.BeforeID = page[len(page)-1].ID
	}
}
