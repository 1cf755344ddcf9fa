package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ramphq/ramp/flag"
	"github.com/ramphq/ramp/internal/store"
)

var errRollback = errors.New("storetest: roll back")

// manyWrites makes one write of every kind, so a rollback test covers them all. It expects seed and fill.
func manyWrites(t *testing.T, tx store.Tx) {
	t.Helper()
	steps := []struct {
		name string
		fn   func() error
	}{
		{"CreateProject", func() error { return tx.CreateProject(store.Project{Key: "new", Name: "new"}) }},
		{"CreateEnvironment", func() error { return tx.CreateEnvironment(store.Environment{Project: "new", Key: "dev"}) }},
		{"CreateEnvironment in p", func() error { return tx.CreateEnvironment(store.Environment{Project: "p", Key: "staging"}) }},
		{"BumpRevision", func() error { _, err := tx.BumpRevision("p", "dev"); return err }},
		{"PutFlag insert", func() error {
			return tx.PutFlag(&store.FlagRecord{Project: "p", Environment: "dev", Flag: simpleFlag("new")}, 0)
		}},
		{"PutFlag update", func() error {
			return tx.PutFlag(&store.FlagRecord{Project: "p", Environment: "dev", Flag: simpleFlag("f")}, 1)
		}},
		{"DeleteFlag", func() error { return tx.DeleteFlag("p", "prod", "f", 1) }},
		{"PutSegment insert", func() error {
			return tx.PutSegment(&store.SegmentRecord{Project: "p", Environment: "dev", Segment: richSegment("new")}, 0)
		}},
		{"PutSegment update", func() error {
			return tx.PutSegment(&store.SegmentRecord{Project: "q", Environment: "dev", Segment: richSegment("g")}, 1)
		}},
		{"DeleteSegment", func() error { return tx.DeleteSegment("p", "prod", "g", 0) }},
		{"CreateKey", func() error {
			return tx.CreateKey(store.APIKey{ID: "new", Kind: store.KeyServer, Project: "p", Environment: "dev", Hash: hash("new")})
		}},
		{"UpdateKey", func() error {
			k := fourKeys()[0]
			k.RevokedAt = ptr(at)
			return tx.UpdateKey(k)
		}},
		{"AppendAudit", func() error {
			return tx.AppendAudit(&store.AuditEntry{At: at, Action: "flag.create", Resource: "flag", Key: "new"})
		}},
		{"DeleteEnvironment", func() error { return tx.DeleteEnvironment("q", "dev") }},
		{"DeleteProject", func() error { return tx.DeleteProject("p") }},
	}
	for _, st := range steps {
		if err := st.fn(); err != nil {
			t.Fatalf("%s inside the transaction: %v", st.name, err)
		}
	}
	// The transaction sees its own writes.
	if _, err := tx.Project("p"); flag.KindOf(err) != flag.KindNotFound {
		t.Errorf("project p inside the transaction that deleted it: %v", err)
	}
	if _, err := tx.Environment("new", "dev"); err != nil {
		t.Errorf("environment created inside the transaction: %v", err)
	}
}

func testRollbackOnError(t *testing.T, s store.Store) {
	seed(t, s)
	fill(t, s)
	before := dumpStore(t, s)
	err := s.Update(ctx(t), func(tx store.Tx) error {
		manyWrites(t, tx)
		return fmt.Errorf("wrapped: %w", errRollback)
	})
	if !errors.Is(err, errRollback) {
		t.Errorf("Update returned %v, want fn's error", err)
	}
	equal(t, dumpStore(t, s), before, "store after a transaction whose fn returned an error")
	// The store still works, and the rolled-back revision bump did not count.
	update(t, s, func(tx store.Tx) error {
		r, err := tx.BumpRevision("p", "dev")
		if r != 1 {
			t.Errorf("revision after a rolled-back bump: %d, want 1", r)
		}
		return err
	})
}

func testRollbackOnPanic(t *testing.T, s store.Store) {
	seed(t, s)
	fill(t, s)
	before := dumpStore(t, s)
	type boom struct{ msg string }
	func() {
		defer func() {
			r := recover()
			if b, isBoom := r.(boom); !isBoom || b.msg != "boom" {
				t.Errorf("recovered %v, want the panic value of fn", r)
			}
		}()
		_ = s.Update(ctx(t), func(tx store.Tx) error {
			manyWrites(t, tx)
			panic(boom{"boom"})
		})
		t.Errorf("Update returned after fn panicked")
	}()
	equal(t, dumpStore(t, s), before, "store after a transaction whose fn panicked")
	// The writer is free again (a backend that leaked its write lock or connection would hang here).
	c, cancel := context.WithTimeout(ctx(t), 30*time.Second)
	defer cancel()
	for i := range 3 {
		if err := s.Update(c, func(tx store.Tx) error { _, err := tx.BumpRevision("p", "dev"); return err }); err != nil {
			t.Fatalf("Update #%d after a panic: %v", i, err)
		}
	}
}

func testFailedWriteKeepsTx(t *testing.T, s store.Store) {
	seed(t, s)
	fill(t, s)
	// A refused write is an answer, not a broken transaction: fn may carry on and commit its other writes.
	update(t, s, func(tx store.Tx) error {
		if err := tx.PutFlag(&store.FlagRecord{Project: "p", Environment: "dev", Flag: simpleFlag("a")}, 0); err != nil {
			return err
		}
		refused := []struct {
			name string
			kind flag.ErrorKind
			err  error
		}{
			{"duplicate project", flag.KindConflict, tx.CreateProject(store.Project{Key: "p"})},
			{"duplicate flag", flag.KindConflict, tx.PutFlag(&store.FlagRecord{Project: "p", Environment: "dev", Flag: simpleFlag("a")}, 0)},
			{"stale flag", flag.KindConflict, tx.PutFlag(&store.FlagRecord{Project: "p", Environment: "dev", Flag: simpleFlag("f")}, 7)},
			{"missing flag", flag.KindNotFound, tx.PutFlag(&store.FlagRecord{Project: "p", Environment: "dev", Flag: simpleFlag("zz")}, 7)},
			{"flag in a missing environment", flag.KindNotFound, tx.PutFlag(&store.FlagRecord{Project: "p", Environment: "nope", Flag: simpleFlag("a")}, 0)},
			{"duplicate key hash", flag.KindConflict, tx.CreateKey(store.APIKey{ID: "z", Kind: store.KeyAdmin, Role: store.RoleAdmin, Hash: hash("s1")})},
			{"bad audit JSON", flag.KindInvalid, tx.AppendAudit(&store.AuditEntry{Action: "x", Resource: "flag", Key: "a", After: []byte("{")})},
			{"missing environment", flag.KindNotFound, tx.DeleteEnvironment("p", "nope")},
		}
		for _, r := range refused {
			wantKind(t, r.err, r.kind, r.name)
		}
		rec := store.FlagRecord{Project: "p", Environment: "dev", Flag: simpleFlag("b")}
		if err := tx.PutFlag(&rec, 0); err != nil {
			return fmt.Errorf("a write after refused writes: %w", err)
		}
		if _, err := tx.BumpRevision("p", "dev"); err != nil {
			return err
		}
		return tx.AppendAudit(&store.AuditEntry{Action: "flag.create", Resource: "flag", Key: "b"})
	})
	for _, k := range []string{"a", "b"} {
		if _, err := get(t, s, func(tx store.Tx) (store.FlagRecord, error) { return tx.Flag("p", "dev", k) }); err != nil {
			t.Errorf("flag %s written around refused writes was not committed: %v", k, err)
		}
	}
	e := must(t, s, func(tx store.Tx) (store.Environment, error) { return tx.Environment("p", "dev") })
	if e.Revision != 1 {
		t.Errorf("revision %d, want 1", e.Revision)
	}
}

func testErrorsPassThrough(t *testing.T, s store.Store) {
	seed(t, s)
	want := &flag.Error{Kind: flag.KindForbidden, Message: "no"}
	err := s.Update(ctx(t), func(tx store.Tx) error { return want })
	var fe *flag.Error
	if !errors.As(err, &fe) || fe != want {
		t.Errorf("Update returned %v, want fn's *flag.Error itself", err)
	}
	err = s.View(ctx(t), func(tx store.Tx) error { return errRollback })
	if !errors.Is(err, errRollback) {
		t.Errorf("View returned %v, want fn's error", err)
	}
	// A not-found from a Tx method, returned by fn, keeps its kind.
	err = s.Update(ctx(t), func(tx store.Tx) error { _, err := tx.Flag("p", "dev", "missing"); return err })
	wantKind(t, err, flag.KindNotFound, "not-found passed through Update")
	// A panic in View propagates too.
	func() {
		defer func() {
			if r := recover(); r != "view boom" {
				t.Errorf("recovered %v from View, want fn's panic", r)
			}
		}()
		_ = s.View(ctx(t), func(tx store.Tx) error { panic("view boom") })
	}()
	view(t, s, func(tx store.Tx) error { _, err := tx.Projects(); return err })
}

func testViewIsReadOnly(t *testing.T, s store.Store) {
	seed(t, s)
	fill(t, s)
	before := dumpStore(t, s)
	writes := map[string]func(tx store.Tx) error{
		"CreateProject":     func(tx store.Tx) error { return tx.CreateProject(store.Project{Key: "new"}) },
		"DeleteProject":     func(tx store.Tx) error { return tx.DeleteProject("q") },
		"CreateEnvironment": func(tx store.Tx) error { return tx.CreateEnvironment(store.Environment{Project: "p", Key: "new"}) },
		"DeleteEnvironment": func(tx store.Tx) error { return tx.DeleteEnvironment("p", "prod") },
		"BumpRevision":      func(tx store.Tx) error { _, err := tx.BumpRevision("p", "dev"); return err },
		"PutFlag": func(tx store.Tx) error {
			return tx.PutFlag(&store.FlagRecord{Project: "p", Environment: "dev", Flag: simpleFlag("new")}, 0)
		},
		"DeleteFlag": func(tx store.Tx) error { return tx.DeleteFlag("p", "dev", "f", 0) },
		"PutSegment": func(tx store.Tx) error {
			return tx.PutSegment(&store.SegmentRecord{Project: "p", Environment: "dev", Segment: richSegment("new")}, 0)
		},
		"DeleteSegment": func(tx store.Tx) error { return tx.DeleteSegment("p", "dev", "g", 0) },
		"CreateKey": func(tx store.Tx) error {
			return tx.CreateKey(store.APIKey{ID: "new", Kind: store.KeyAdmin, Role: store.RoleAdmin, Hash: hash("new")})
		},
		"UpdateKey": func(tx store.Tx) error { k := fourKeys()[0]; k.Name = "changed"; return tx.UpdateKey(k) },
		"AppendAudit": func(tx store.Tx) error {
			return tx.AppendAudit(&store.AuditEntry{Action: "x", Resource: "flag", Key: "f"})
		},
	}
	for name, w := range writes {
		var werr error
		err := s.View(ctx(t), func(tx store.Tx) error {
			werr = w(tx)
			return nil // even when fn swallows the error, nothing may be committed
		})
		if werr == nil {
			t.Errorf("%s in View: no error, want a refusal", name)
		}
		_ = err
	}
	equal(t, dumpStore(t, s), before, "store after writes attempted in View")
}

func testContextCanceled(t *testing.T, s store.Store) {
	seed(t, s)
	canceled, cancel := context.WithCancel(ctx(t))
	cancel()
	called := false
	err := s.Update(canceled, func(tx store.Tx) error {
		called = true
		return tx.CreateProject(store.Project{Key: "late"})
	})
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Errorf("Update with a canceled context returned %v, want an error wrapping context.Canceled (fn called: %v)", err, called)
	}
	err = s.View(canceled, func(tx store.Tx) error { _, err := tx.Projects(); return err })
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Errorf("View with a canceled context returned %v, want an error wrapping context.Canceled", err)
	}

	// Canceled while fn runs: nothing commits, even if fn returns nil.
	c, cancel2 := context.WithCancel(ctx(t))
	err = s.Update(c, func(tx store.Tx) error {
		if err := tx.CreateProject(store.Project{Key: "late"}); err != nil {
			return err
		}
		cancel2()
		return nil
	})
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Errorf("Update canceled inside fn returned %v, want an error wrapping context.Canceled", err)
	}
	// A deadline works the same way.
	c, cancel3 := context.WithTimeout(ctx(t), time.Millisecond)
	defer cancel3()
	err = s.Update(c, func(tx store.Tx) error {
		if err := tx.CreateProject(store.Project{Key: "late2"}); err != nil {
			return err
		}
		<-c.Done()
		return nil
	})
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Update past its deadline returned %v, want an error wrapping context.DeadlineExceeded", err)
	}
	for _, k := range []string{"late", "late2"} {
		_, err = get(t, s, func(tx store.Tx) (store.Project, error) { return tx.Project(k) })
		wantKind(t, err, flag.KindNotFound, "project written by a canceled transaction")
	}
	update(t, s, func(tx store.Tx) error { return tx.CreateProject(store.Project{Key: "after"}) })
}

// size returns the number of workers and the number of successful writes each must make: 8×50, or 4×10 in
// -short mode (the race detector run).
func size() (workers, each int) {
	if testing.Short() {
		return 4, 10
	}
	return 8, 50
}

func testConcurrentPutFlag(t *testing.T, s store.Store) {
	seed(t, s)
	f := simpleFlag("counter")
	f.Description = "0"
	update(t, s, func(tx store.Tx) error {
		return tx.PutFlag(&store.FlagRecord{Project: "p", Environment: "dev", Flag: f}, 0)
	})
	workers, each := size()
	var wg sync.WaitGroup
	var mu sync.Mutex
	conflicts := 0
	revisions := map[int64]bool{}
	for w := range workers {
		wg.Go(func() {
			for range each {
				for attempt := 0; ; attempt++ {
					if attempt > 100*workers {
						t.Errorf("worker %d: no progress after %d attempts", w, attempt)
						return
					}
					// The optimistic shape of an HTTP edit: read in one transaction, write with the version read.
					var rec store.FlagRecord
					if err := s.View(ctx(t), func(tx store.Tx) error {
						var err error
						rec, err = tx.Flag("p", "dev", "counter")
						return err
					}); err != nil {
						t.Errorf("worker %d: read: %v", w, err)
						return
					}
					n, _ := strconv.Atoi(rec.Flag.Description)
					rec.Flag.Description = strconv.Itoa(n + 1)
					rec.UpdatedBy = "worker-" + strconv.Itoa(w)
					var rev int64
					err := s.Update(ctx(t), func(tx store.Tx) error {
						if err := tx.PutFlag(&rec, rec.Version); err != nil {
							return err
						}
						if err := tx.AppendAudit(&store.AuditEntry{Actor: rec.UpdatedBy, Action: "flag.update", Project: "p", Environment: "dev", Resource: "flag", Key: "counter", Version: rec.Version}); err != nil {
							return err
						}
						var err error
						rev, err = tx.BumpRevision("p", "dev")
						return err
					})
					if flag.KindOf(err) == flag.KindConflict {
						mu.Lock()
						conflicts++
						mu.Unlock()
						continue
					}
					if err != nil {
						t.Errorf("worker %d: write: %v", w, err)
						return
					}
					mu.Lock()
					if revisions[rev] {
						t.Errorf("revision %d returned twice", rev)
					}
					revisions[rev] = true
					mu.Unlock()
					break
				}
			}
		})
	}
	wg.Wait()
	total := workers * each
	got := must(t, s, func(tx store.Tx) (store.FlagRecord, error) { return tx.Flag("p", "dev", "counter") })
	if got.Flag.Description != strconv.Itoa(total) || got.Version != int64(total+1) {
		t.Errorf("after %d successful increments: counter %s at version %d, want %d at version %d (lost updates)", total, got.Flag.Description, got.Version, total, total+1)
	}
	e := must(t, s, func(tx store.Tx) (store.Environment, error) { return tx.Environment("p", "dev") })
	if e.Revision != int64(total) || len(revisions) != total {
		t.Errorf("revision %d with %d distinct revisions returned, want %d", e.Revision, len(revisions), total)
	}
	var audit []store.AuditEntry
	view(t, s, func(tx store.Tx) error {
		var err error
		audit, err = allAudit(tx, store.AuditFilter{Key: "counter"})
		return err
	})
	var versions []int64
	for i, a := range audit {
		versions = append(versions, a.Version)
		if i > 0 && a.ID >= audit[i-1].ID {
			t.Errorf("audit IDs not strictly decreasing in the list: %d after %d", a.ID, audit[i-1].ID)
		}
	}
	slices.Sort(versions)
	want := make([]int64, total)
	for i := range want {
		want[i] = int64(i + 2)
	}
	equal(t, versions, want, "audited versions: one entry per successful write, no duplicates")
	t.Logf("%d workers × %d writes: %d conflicts retried", workers, each, conflicts)
}

func testConcurrentInsert(t *testing.T, s store.Store) {
	seed(t, s)
	workers, _ := size()
	for round := range 5 {
		key := fmt.Sprintf("race-%d", round)
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, workers)
		for w := range workers {
			wg.Go(func() {
				<-start
				errs[w] = s.Update(ctx(t), func(tx store.Tx) error {
					f := simpleFlag(key)
					f.Description = strconv.Itoa(w)
					if err := tx.PutFlag(&store.FlagRecord{Project: "p", Environment: "dev", Flag: f}, 0); err != nil {
						return err
					}
					return tx.AppendAudit(&store.AuditEntry{Action: "flag.create", Resource: "flag", Key: key, Version: 1})
				})
			})
		}
		close(start)
		wg.Wait()
		winners := 0
		for _, err := range errs {
			switch flag.KindOf(err) {
			case "":
				winners++
			case flag.KindConflict:
			default:
				t.Errorf("concurrent insert: %v, want success or KindConflict", err)
			}
		}
		if winners != 1 {
			t.Errorf("round %d: %d concurrent inserts of one key succeeded, want exactly 1", round, winners)
		}
		audit := must(t, s, func(tx store.Tx) ([]store.AuditEntry, error) { return tx.Audit(store.AuditFilter{Key: key}) })
		if len(audit) != 1 {
			t.Errorf("round %d: %d audit entries, want 1 (losers must leave nothing)", round, len(audit))
		}
	}
}

func testConcurrentBumpRevision(t *testing.T, s store.Store) {
	seed(t, s)
	workers, each := size()
	envs := [][2]string{{"p", "dev"}, {"q", "dev"}}
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[[2]string][]int64{}
	for w := range workers {
		pe := envs[w%2]
		wg.Go(func() {
			for range each {
				var r int64
				err := s.Update(ctx(t), func(tx store.Tx) error {
					var err error
					r, err = tx.BumpRevision(pe[0], pe[1])
					return err
				})
				if err != nil {
					t.Errorf("BumpRevision: %v", err)
					return
				}
				mu.Lock()
				got[pe] = append(got[pe], r)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, pe := range envs {
		rs := got[pe]
		slices.Sort(rs)
		n := workers / 2 * each
		want := make([]int64, n)
		for i := range want {
			want[i] = int64(i + 1)
		}
		equal(t, rs, want, fmt.Sprintf("revisions returned for %s/%s (each exactly once)", pe[0], pe[1]))
		e := must(t, s, func(tx store.Tx) (store.Environment, error) { return tx.Environment(pe[0], pe[1]) })
		if e.Revision != int64(n) {
			t.Errorf("%s/%s revision %d, want %d", pe[0], pe[1], e.Revision, n)
		}
	}
	e := must(t, s, func(tx store.Tx) (store.Environment, error) { return tx.Environment("p", "prod") })
	if e.Revision != 0 {
		t.Errorf("p/prod revision %d, want 0 (untouched)", e.Revision)
	}
}

// testSerializedWriters pins "implementations serialize writers": a read-modify-write inside one Update never
// sees a stale read, so concurrent ones all succeed, with no conflict to retry.
func testSerializedWriters(t *testing.T, s store.Store) {
	seed(t, s)
	f := simpleFlag("counter")
	f.Description = "0"
	update(t, s, func(tx store.Tx) error {
		return tx.PutFlag(&store.FlagRecord{Project: "p", Environment: "dev", Flag: f}, 0)
	})
	workers, each := size()
	each = max(each/2, 5)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range each {
				err := s.Update(ctx(t), func(tx store.Tx) error {
					rec, err := tx.Flag("p", "dev", "counter")
					if err != nil {
						return err
					}
					n, _ := strconv.Atoi(rec.Flag.Description)
					rec.Flag.Description = strconv.Itoa(n + 1)
					return tx.PutFlag(&rec, rec.Version)
				})
				if err != nil {
					t.Errorf("worker %d: read-modify-write inside Update: %v (writers are not serialized)", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
	got := must(t, s, func(tx store.Tx) (store.FlagRecord, error) { return tx.Flag("p", "dev", "counter") })
	if total := workers * each; got.Flag.Description != strconv.Itoa(total) || got.Version != int64(total+1) {
		t.Errorf("counter %s at version %d, want %d at version %d", got.Flag.Description, got.Version, total, total+1)
	}
}

// testContextWhileWaiting checks that a writer queued behind another gives up when its context ends, and that
// the queue moves on afterwards.
func testContextWhileWaiting(t *testing.T, s store.Store) {
	seed(t, s)
	holding, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- s.Update(ctx(t), func(tx store.Tx) error {
			if _, err := tx.BumpRevision("p", "dev"); err != nil {
				return err
			}
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	c, cancel := context.WithTimeout(ctx(t), 200*time.Millisecond)
	defer cancel()
	ran := false
	start := time.Now()
	err := s.Update(c, func(tx store.Tx) error {
		ran = true
		_, err := tx.BumpRevision("p", "dev")
		return err
	})
	waited := time.Since(start)
	close(release)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a writer queued past its deadline returned %v (fn ran: %v), want an error wrapping context.DeadlineExceeded", err, ran)
	}
	if waited > 20*time.Second {
		t.Errorf("the queued writer gave up only after %v", waited)
	}
	if err := <-first; err != nil {
		t.Fatalf("the first writer: %v", err)
	}
	update(t, s, func(tx store.Tx) error {
		r, err := tx.BumpRevision("p", "dev")
		if r != 2 {
			t.Errorf("revision %d after one committed and one abandoned bump, want 2", r)
		}
		return err
	})
}

// testViewSnapshot checks that View reads one consistent snapshot: a write committed while it runs is not seen
// by it, and does not wait for it.
func testViewSnapshot(t *testing.T, s store.Store) {
	seed(t, s)
	update(t, s, func(tx store.Tx) error {
		return tx.PutFlag(&store.FlagRecord{Project: "p", Environment: "dev", Flag: simpleFlag("a")}, 0)
	})
	view(t, s, func(tx store.Tx) error {
		e1, err := tx.Environment("p", "dev")
		if err != nil {
			return err
		}
		f1, err := tx.Flags("p", "dev")
		if err != nil {
			return err
		}
		c, cancel := context.WithTimeout(ctx(t), 10*time.Second)
		defer cancel()
		if err := s.Update(c, func(tx store.Tx) error {
			if _, err := tx.BumpRevision("p", "dev"); err != nil {
				return err
			}
			if err := tx.DeleteFlag("p", "dev", "a", 0); err != nil {
				return err
			}
			return tx.PutFlag(&store.FlagRecord{Project: "p", Environment: "dev", Flag: simpleFlag("b")}, 0)
		}); err != nil {
			t.Errorf("a write while a View runs: %v (writers must not wait for readers)", err)
			return nil
		}
		e2, err := tx.Environment("p", "dev")
		if err != nil {
			return err
		}
		f2, err := tx.Flags("p", "dev")
		if err != nil {
			return err
		}
		if e2.Revision != e1.Revision || len(f2) != 1 || f2[0].Flag.Key != f1[0].Flag.Key {
			t.Errorf("View saw a write committed after it started: revision %d then %d, flags %d then %d", e1.Revision, e2.Revision, len(f1), len(f2))
		}
		return nil
	})
	e := must(t, s, func(tx store.Tx) (store.Environment, error) { return tx.Environment("p", "dev") })
	if e.Revision != 1 {
		t.Errorf("a later View sees revision %d, want 1", e.Revision)
	}
}

// testTxAfterReturn checks that a Tx kept past the end of its function refuses to work instead of writing
// outside any transaction.
func testTxAfterReturn(t *testing.T, s store.Store) {
	seed(t, s)
	var kept store.Tx
	update(t, s, func(tx store.Tx) error { kept = tx; return nil })
	if err := kept.CreateProject(store.Project{Key: "late"}); err == nil {
		t.Errorf("CreateProject on a finished Update's Tx: no error")
	}
	if _, err := kept.BumpRevision("p", "dev"); err == nil {
		t.Errorf("BumpRevision on a finished Update's Tx: no error")
	}
	view(t, s, func(tx store.Tx) error { kept = tx; return nil })
	if _, err := kept.Projects(); err == nil {
		t.Errorf("Projects on a finished View's Tx: no error")
	}
	_, err := get(t, s, func(tx store.Tx) (store.Project, error) { return tx.Project("late") })
	wantKind(t, err, flag.KindNotFound, "project written through a finished Tx")
	e := must(t, s, func(tx store.Tx) (store.Environment, error) { return tx.Environment("p", "dev") })
	if e.Revision != 0 {
		t.Errorf("revision %d after a bump through a finished Tx, want 0", e.Revision)
	}
}
