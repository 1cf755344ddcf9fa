package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ramphq/ramp/flag"
	"github.com/ramphq/ramp/internal/store"
)

func testProjects(t *testing.T, s store.Store) {
	// Keys in an order that is neither insertion order nor case-insensitive order; lists sort by bytes.
	want := []store.Project{
		{Key: "B", Name: "Upper", CreatedAt: at},
		{Key: "a", Name: "Alpha", Description: "first\nproject", CreatedAt: at.Add(time.Nanosecond)},
		{Key: "a-1", Name: "Dash"},
		{Key: "b", Name: "Beta", CreatedAt: at.Add(-time.Hour)},
	}
	update(t, s, func(tx store.Tx) error {
		for _, i := range []int{3, 1, 0, 2} {
			if err := tx.CreateProject(want[i]); err != nil {
				return err
			}
		}
		return nil
	})
	for i := range want {
		want[i] = normProject(want[i])
	}
	got := must(t, s, func(tx store.Tx) ([]store.Project, error) { return tx.Projects() })
	for i := range got {
		got[i] = normProject(got[i])
	}
	equal(t, got, want, "Projects")
	p := must(t, s, func(tx store.Tx) (store.Project, error) { return tx.Project("a") })
	equal(t, normProject(p), want[1], "Project(a)")
	if !got[2].CreatedAt.IsZero() {
		t.Errorf("a zero CreatedAt came back as %v", got[2].CreatedAt)
	}

	err := s.Update(ctx(t), func(tx store.Tx) error { return tx.CreateProject(store.Project{Key: "a", Name: "again"}) })
	wantKind(t, err, flag.KindConflict, "CreateProject of an existing key")
	p = must(t, s, func(tx store.Tx) (store.Project, error) { return tx.Project("a") })
	equal(t, p.Name, "Alpha", "project after a refused duplicate")

	_, err = get(t, s, func(tx store.Tx) (store.Project, error) { return tx.Project("A") })
	wantKind(t, err, flag.KindNotFound, "Project(A): keys are case-sensitive")
	_, err = get(t, s, func(tx store.Tx) (store.Project, error) { return tx.Project("missing") })
	wantKind(t, err, flag.KindNotFound, "Project(missing)")

	err = s.Update(ctx(t), func(tx store.Tx) error { return tx.DeleteProject("missing") })
	wantKind(t, err, flag.KindNotFound, "DeleteProject(missing)")
	update(t, s, func(tx store.Tx) error { return tx.DeleteProject("a") })
	_, err = get(t, s, func(tx store.Tx) (store.Project, error) { return tx.Project("a") })
	wantKind(t, err, flag.KindNotFound, "Project after DeleteProject")
	got = must(t, s, func(tx store.Tx) ([]store.Project, error) { return tx.Projects() })
	if len(got) != 3 {
		t.Errorf("after deleting one of 4 projects, Projects returned %d", len(got))
	}
	// The key is free again.
	update(t, s, func(tx store.Tx) error { return tx.CreateProject(store.Project{Key: "a", Name: "reborn"}) })
}

func testEnvironments(t *testing.T, s store.Store) {
	seed(t, s)
	update(t, s, func(tx store.Tx) error {
		for _, k := range []string{"staging", "Z", "a_b"} {
			if err := tx.CreateEnvironment(store.Environment{Project: "p", Key: k, Name: "env " + k, CreatedAt: at}); err != nil {
				return err
			}
		}
		return nil
	})
	got := must(t, s, func(tx store.Tx) ([]store.Environment, error) { return tx.Environments("p") })
	var keys []string
	for _, e := range got {
		keys = append(keys, e.Key)
		if e.Project != "p" || e.Revision != 0 || !e.CreatedAt.Equal(at) || e.Name != "env "+e.Key && e.Name != e.Key {
			t.Errorf("environment %+v: want project p, revision 0, CreatedAt %v and its name", e, at)
		}
	}
	equal(t, keys, []string{"Z", "a_b", "dev", "prod", "staging"}, "Environments(p) keys in byte order")
	e := must(t, s, func(tx store.Tx) (store.Environment, error) { return tx.Environment("p", "staging") })
	equal(t, normEnv(e), normEnv(store.Environment{Project: "p", Key: "staging", Name: "env staging", CreatedAt: at}), "Environment(p, staging)")

	qs := must(t, s, func(tx store.Tx) ([]store.Environment, error) { return tx.Environments("q") })
	if len(qs) != 1 || qs[0].Key != "dev" || qs[0].Project != "q" {
		t.Errorf("Environments(q) = %+v, want only q/dev", qs)
	}

	err := s.Update(ctx(t), func(tx store.Tx) error {
		return tx.CreateEnvironment(store.Environment{Project: "p", Key: "dev", Name: "again"})
	})
	wantKind(t, err, flag.KindConflict, "CreateEnvironment of an existing key")
	err = s.Update(ctx(t), func(tx store.Tx) error {
		return tx.CreateEnvironment(store.Environment{Project: "missing", Key: "dev"})
	})
	wantKind(t, err, flag.KindNotFound, "CreateEnvironment in a missing project")
	_, err = get(t, s, func(tx store.Tx) (store.Environment, error) { return tx.Environment("p", "missing") })
	wantKind(t, err, flag.KindNotFound, "Environment(p, missing)")
	_, err = get(t, s, func(tx store.Tx) (store.Environment, error) { return tx.Environment("missing", "dev") })
	wantKind(t, err, flag.KindNotFound, "Environment(missing, dev)")
	_, err = get(t, s, func(tx store.Tx) ([]store.Environment, error) { return tx.Environments("missing") })
	wantKind(t, err, flag.KindNotFound, "Environments(missing)")

	err = s.Update(ctx(t), func(tx store.Tx) error { return tx.DeleteEnvironment("p", "missing") })
	wantKind(t, err, flag.KindNotFound, "DeleteEnvironment(p, missing)")
	update(t, s, func(tx store.Tx) error { return tx.DeleteEnvironment("p", "staging") })
	_, err = get(t, s, func(tx store.Tx) (store.Environment, error) { return tx.Environment("p", "staging") })
	wantKind(t, err, flag.KindNotFound, "Environment after DeleteEnvironment")
	if _, err := get(t, s, func(tx store.Tx) (store.Environment, error) { return tx.Environment("q", "dev") }); err != nil {
		t.Errorf("q/dev: %v", err)
	}
}

func testRevisions(t *testing.T, s store.Store) {
	seed(t, s)
	bump := func(p, e string) int64 {
		t.Helper()
		var r int64
		update(t, s, func(tx store.Tx) error {
			var err error
			r, err = tx.BumpRevision(p, e)
			return err
		})
		return r
	}
	for want := int64(1); want <= 3; want++ {
		if got := bump("p", "dev"); got != want {
			t.Errorf("BumpRevision(p, dev) #%d = %d", want, got)
		}
	}
	if got := bump("p", "prod"); got != 1 {
		t.Errorf("BumpRevision(p, prod) = %d, want 1: revisions are per environment", got)
	}
	if got := bump("q", "dev"); got != 1 {
		t.Errorf("BumpRevision(q, dev) = %d, want 1: revisions are per project and environment", got)
	}
	// Several bumps in one transaction keep counting.
	var r1, r2 int64
	update(t, s, func(tx store.Tx) error {
		var err error
		if r1, err = tx.BumpRevision("p", "dev"); err != nil {
			return err
		}
		r2, err = tx.BumpRevision("p", "dev")
		return err
	})
	if r1 != 4 || r2 != 5 {
		t.Errorf("two bumps in one transaction returned %d, %d; want 4, 5", r1, r2)
	}
	e := must(t, s, func(tx store.Tx) (store.Environment, error) { return tx.Environment("p", "dev") })
	if e.Revision != 5 {
		t.Errorf("Environment(p, dev).Revision = %d, want 5", e.Revision)
	}
	envs := must(t, s, func(tx store.Tx) ([]store.Environment, error) { return tx.Environments("p") })
	for _, e := range envs {
		if want := map[string]int64{"dev": 5, "prod": 1}[e.Key]; e.Revision != want {
			t.Errorf("Environments(p): %s has revision %d, want %d", e.Key, e.Revision, want)
		}
	}
	// A rolled-back bump is not counted.
	_ = s.Update(ctx(t), func(tx store.Tx) error {
		if _, err := tx.BumpRevision("p", "dev"); err != nil {
			return err
		}
		return errRollback
	})
	if got := bump("p", "dev"); got != 6 {
		t.Errorf("bump after a rolled-back bump = %d, want 6", got)
	}
	err := s.Update(ctx(t), func(tx store.Tx) error { _, err := tx.BumpRevision("p", "missing"); return err })
	wantKind(t, err, flag.KindNotFound, "BumpRevision(p, missing)")
	err = s.Update(ctx(t), func(tx store.Tx) error { _, err := tx.BumpRevision("missing", "dev"); return err })
	wantKind(t, err, flag.KindNotFound, "BumpRevision(missing, dev)")
}

func testFlagCRUD(t *testing.T, s store.Store) {
	seed(t, s)
	keys := []string{"b", "a", "B", "a-1", "a_", "a%", "archived"}
	update(t, s, func(tx store.Tx) error {
		for _, k := range keys {
			rec := store.FlagRecord{Project: "p", Environment: "dev", Flag: simpleFlag(k), UpdatedAt: at, UpdatedBy: "alice", Archived: k == "archived"}
			if err := tx.PutFlag(&rec, 0); err != nil {
				return err
			}
			if rec.Version != 1 {
				t.Errorf("insert of %s set Version %d, want 1", k, rec.Version)
			}
		}
		return nil
	})
	got := must(t, s, func(tx store.Tx) ([]store.FlagRecord, error) { return tx.Flags("p", "dev") })
	var gotKeys []string
	for _, r := range got {
		gotKeys = append(gotKeys, r.Flag.Key)
		want := normFlag(store.FlagRecord{Project: "p", Environment: "dev", Flag: simpleFlag(r.Flag.Key), Version: 1, UpdatedAt: at, UpdatedBy: "alice", Archived: r.Flag.Key == "archived"})
		equal(t, normFlag(r), want, "listed flag "+r.Flag.Key)
	}
	sorted := slices.Clone(keys)
	slices.Sort(sorted)
	equal(t, gotKeys, sorted, "Flags(p, dev) in byte order, archived included")

	r := must(t, s, func(tx store.Tx) (store.FlagRecord, error) { return tx.Flag("p", "dev", "a%") })
	equal(t, r.Flag.Key, "a%", "Flag(a%) is an exact match, not a pattern")
	for _, k := range []string{"A", "a%x", "c", ""} {
		_, err := get(t, s, func(tx store.Tx) (store.FlagRecord, error) { return tx.Flag("p", "dev", k) })
		wantKind(t, err, flag.KindNotFound, "Flag(p, dev, "+k+")")
	}
	_, err := get(t, s, func(tx store.Tx) (store.FlagRecord, error) { return tx.Flag("p", "prod", "a") })
	wantKind(t, err, flag.KindNotFound, "Flag(p, prod, a): flags are per environment")
	_, err = get(t, s, func(tx store.Tx) ([]store.FlagRecord, error) { return tx.Flags("p", "missing") })
	wantKind(t, err, flag.KindNotFound, "Flags(p, missing)")
	_, err = get(t, s, func(tx store.Tx) ([]store.FlagRecord, error) { return tx.Flags("missing", "dev") })
	wantKind(t, err, flag.KindNotFound, "Flags(missing, dev)")
	empty := must(t, s, func(tx store.Tx) ([]store.FlagRecord, error) { return tx.Flags("p", "prod") })
	if len(empty) != 0 {
		t.Errorf("Flags(p, prod) = %d flags, want none", len(empty))
	}

	for _, pe := range [][2]string{{"p", "missing"}, {"missing", "dev"}} {
		err = s.Update(ctx(t), func(tx store.Tx) error {
			rec := store.FlagRecord{Project: pe[0], Environment: pe[1], Flag: simpleFlag("x")}
			return tx.PutFlag(&rec, 0)
		})
		wantKind(t, err, flag.KindNotFound, "PutFlag into "+pe[0]+"/"+pe[1])
	}

	// Archive and restore are plain updates of the Archived field.
	update(t, s, func(tx store.Tx) error {
		rec, err := tx.Flag("p", "dev", "archived")
		if err != nil {
			return err
		}
		rec.Archived = false
		return tx.PutFlag(&rec, rec.Version)
	})
	r = must(t, s, func(tx store.Tx) (store.FlagRecord, error) { return tx.Flag("p", "dev", "archived") })
	if r.Archived || r.Version != 2 {
		t.Errorf("restored flag: Archived %v Version %d, want false 2", r.Archived, r.Version)
	}

	// Deletes.
	err = s.Update(ctx(t), func(tx store.Tx) error { return tx.DeleteFlag("p", "dev", "b", 2) })
	wantKind(t, err, flag.KindConflict, "DeleteFlag with a stale version")
	if _, err := get(t, s, func(tx store.Tx) (store.FlagRecord, error) { return tx.Flag("p", "dev", "b") }); err != nil {
		t.Errorf("flag b after a refused delete: %v", err)
	}
	update(t, s, func(tx store.Tx) error { return tx.DeleteFlag("p", "dev", "b", 1) })
	update(t, s, func(tx store.Tx) error { return tx.DeleteFlag("p", "dev", "archived", 0) })
	for _, k := range []string{"b", "archived"} {
		_, err = get(t, s, func(tx store.Tx) (store.FlagRecord, error) { return tx.Flag("p", "dev", k) })
		wantKind(t, err, flag.KindNotFound, "Flag after DeleteFlag "+k)
	}
	err = s.Update(ctx(t), func(tx store.Tx) error { return tx.DeleteFlag("p", "dev", "b", 0) })
	wantKind(t, err, flag.KindNotFound, "DeleteFlag of a deleted flag")
	err = s.Update(ctx(t), func(tx store.Tx) error { return tx.DeleteFlag("p", "prod", "a", 0) })
	wantKind(t, err, flag.KindNotFound, "DeleteFlag in the wrong environment")
	got = must(t, s, func(tx store.Tx) ([]store.FlagRecord, error) { return tx.Flags("p", "dev") })
	if len(got) != len(keys)-2 {
		t.Errorf("after two deletes Flags returned %d, want %d", len(got), len(keys)-2)
	}
	// A deleted key can be created again, starting over at version 1.
	update(t, s, func(tx store.Tx) error {
		rec := store.FlagRecord{Project: "p", Environment: "dev", Flag: simpleFlag("b")}
		if err := tx.PutFlag(&rec, 0); err != nil {
			return err
		}
		if rec.Version != 1 {
			t.Errorf("re-created flag has version %d, want 1", rec.Version)
		}
		return nil
	})
}

func testFlagVersions(t *testing.T, s store.Store) {
	seed(t, s)
	put := func(rec store.FlagRecord, ifVersion int64) (store.FlagRecord, error) {
		err := s.Update(ctx(t), func(tx store.Tx) error { return tx.PutFlag(&rec, ifVersion) })
		return rec, err
	}
	f := simpleFlag("f")
	f.Description = "v1"
	rec, err := put(store.FlagRecord{Project: "p", Environment: "dev", Flag: f, UpdatedBy: "a"}, 0)
	ok(t, err, "insert")
	if rec.Version != 1 {
		t.Fatalf("insert: Version %d, want 1", rec.Version)
	}
	_, err = put(store.FlagRecord{Project: "p", Environment: "dev", Flag: simpleFlag("f")}, 0)
	wantKind(t, err, flag.KindConflict, "insert of an existing flag")

	for v := int64(1); v <= 3; v++ {
		rec.Flag.Description = fmt.Sprintf("v%d", v+1)
		rec, err = put(rec, v)
		ok(t, err, "update")
		if rec.Version != v+1 {
			t.Errorf("update of version %d set Version %d, want %d", v, rec.Version, v+1)
		}
	}
	stored := must(t, s, func(tx store.Tx) (store.FlagRecord, error) { return tx.Flag("p", "dev", "f") })
	if stored.Version != 4 || stored.Flag.Description != "v4" {
		t.Errorf("stored: version %d description %q, want 4 v4", stored.Version, stored.Flag.Description)
	}

	for _, stale := range []int64{1, 3, 5, 100} {
		bad := stored
		bad.Flag.Description = "lost update"
		bad.UpdatedBy = "mallory"
		after, err := put(bad, stale)
		wantKind(t, err, flag.KindConflict, fmt.Sprintf("update with stale version %d", stale))
		if after.Version != bad.Version {
			t.Errorf("a refused update changed rec.Version to %d", after.Version)
		}
	}
	now := must(t, s, func(tx store.Tx) (store.FlagRecord, error) { return tx.Flag("p", "dev", "f") })
	equal(t, normFlag(now), normFlag(stored), "flag after refused stale updates (nothing written)")

	_, err = put(store.FlagRecord{Project: "p", Environment: "dev", Flag: simpleFlag("nope")}, 3)
	wantKind(t, err, flag.KindNotFound, "update of a missing flag")
	_, err = get(t, s, func(tx store.Tx) (store.FlagRecord, error) { return tx.Flag("p", "dev", "nope") })
	wantKind(t, err, flag.KindNotFound, "a refused update of a missing flag creates nothing")
	_, err = put(store.FlagRecord{Project: "p", Environment: "dev", Flag: simpleFlag("f")}, -1)
	wantKind(t, err, flag.KindInvalid, "negative ifVersion")

	// Versions are per record: the same key elsewhere starts at 1.
	rec2, err := put(store.FlagRecord{Project: "p", Environment: "prod", Flag: simpleFlag("f")}, 0)
	ok(t, err, "insert in prod")
	if rec2.Version != 1 {
		t.Errorf("insert in another environment: Version %d, want 1", rec2.Version)
	}
}

func testFlagIsolation(t *testing.T, s store.Store) {
	seed(t, s)
	places := [][2]string{{"p", "dev"}, {"p", "prod"}, {"q", "dev"}}
	update(t, s, func(tx store.Tx) error {
		for _, pe := range places {
			f := simpleFlag("shared")
			f.Description = pe[0] + "/" + pe[1]
			rec := store.FlagRecord{Project: pe[0], Environment: pe[1], Flag: f}
			if err := tx.PutFlag(&rec, 0); err != nil {
				return err
			}
		}
		rec := store.FlagRecord{Project: "p", Environment: "prod", Flag: simpleFlag("only-prod")}
		return tx.PutFlag(&rec, 0)
	})
	// Update p/dev twice; the others stay at version 1.
	for v := int64(1); v <= 2; v++ {
		update(t, s, func(tx store.Tx) error {
			rec, err := tx.Flag("p", "dev", "shared")
			if err != nil {
				return err
			}
			rec.Flag.Enabled = !rec.Flag.Enabled
			return tx.PutFlag(&rec, v)
		})
	}
	for _, pe := range places {
		r := must(t, s, func(tx store.Tx) (store.FlagRecord, error) { return tx.Flag(pe[0], pe[1], "shared") })
		wantV := int64(1)
		if pe == places[0] {
			wantV = 3
		}
		if r.Project != pe[0] || r.Environment != pe[1] || r.Flag.Description != pe[0]+"/"+pe[1] || r.Version != wantV {
			t.Errorf("%s/%s: got %s/%s %q version %d, want its own record at version %d", pe[0], pe[1], r.Project, r.Environment, r.Flag.Description, r.Version, wantV)
		}
	}
	counts := map[[2]string]int{{"p", "dev"}: 1, {"p", "prod"}: 2, {"q", "dev"}: 1}
	for pe, n := range counts {
		fs := must(t, s, func(tx store.Tx) ([]store.FlagRecord, error) { return tx.Flags(pe[0], pe[1]) })
		if len(fs) != n {
			t.Errorf("Flags(%s, %s) = %d flags, want %d", pe[0], pe[1], len(fs), n)
		}
		for _, f := range fs {
			if f.Project != pe[0] || f.Environment != pe[1] {
				t.Errorf("Flags(%s, %s) returned a flag of %s/%s", pe[0], pe[1], f.Project, f.Environment)
			}
		}
	}
	update(t, s, func(tx store.Tx) error { return tx.DeleteFlag("p", "prod", "shared", 0) })
	for _, pe := range [][2]string{{"p", "dev"}, {"q", "dev"}} {
		if _, err := get(t, s, func(tx store.Tx) (store.FlagRecord, error) { return tx.Flag(pe[0], pe[1], "shared") }); err != nil {
			t.Errorf("deleting p/prod's flag touched %s/%s: %v", pe[0], pe[1], err)
		}
	}
}

func testFlagRoundTrip(t *testing.T, s store.Store) {
	seed(t, s)
	want := store.FlagRecord{Project: "p", Environment: "dev", Flag: richFlag("rich"), Archived: true, UpdatedAt: at, UpdatedBy: "alice@example.com"}
	update(t, s, func(tx store.Tx) error {
		rec := want
		if err := tx.PutFlag(&rec, 0); err != nil {
			return err
		}
		// The same transaction reads its own write.
		got, err := tx.Flag("p", "dev", "rich")
		if err != nil {
			return err
		}
		w := want
		w.Version = 1
		equal(t, normFlag(got), normFlag(w), "flag read back in its own transaction")
		return nil
	})
	want.Version = 1
	got := must(t, s, func(tx store.Tx) (store.FlagRecord, error) { return tx.Flag("p", "dev", "rich") })
	equal(t, normFlag(got), normFlag(want), "rich flag round trip")
	list := must(t, s, func(tx store.Tx) ([]store.FlagRecord, error) { return tx.Flags("p", "dev") })
	equal(t, normFlags(list), []store.FlagRecord{normFlag(want)}, "rich flag listed")

	// An update replaces the whole document: fields removed are gone.
	update(t, s, func(tx store.Tx) error {
		rec := store.FlagRecord{Project: "p", Environment: "dev", Flag: simpleFlag("rich"), UpdatedBy: "bob"}
		return tx.PutFlag(&rec, 1)
	})
	got = must(t, s, func(tx store.Tx) (store.FlagRecord, error) { return tx.Flag("p", "dev", "rich") })
	equal(t, normFlag(got), normFlag(store.FlagRecord{Project: "p", Environment: "dev", Flag: simpleFlag("rich"), Version: 2, UpdatedBy: "bob"}), "flag after a replacing update")
}

func testSegments(t *testing.T, s store.Store) {
	seed(t, s)
	keys := []string{"vip", "Beta", "a-b", "a_b"}
	update(t, s, func(tx store.Tx) error {
		for _, k := range keys {
			rec := store.SegmentRecord{Project: "p", Environment: "dev", Segment: richSegment(k), UpdatedAt: at, UpdatedBy: "alice"}
			if err := tx.PutSegment(&rec, 0); err != nil {
				return err
			}
			if rec.Version != 1 {
				t.Errorf("insert of segment %s set Version %d, want 1", k, rec.Version)
			}
		}
		return nil
	})
	want := normSegment(store.SegmentRecord{Project: "p", Environment: "dev", Segment: richSegment("vip"), Version: 1, UpdatedAt: at, UpdatedBy: "alice"})
	got := must(t, s, func(tx store.Tx) (store.SegmentRecord, error) { return tx.Segment("p", "dev", "vip") })
	equal(t, normSegment(got), want, "segment round trip")
	list := must(t, s, func(tx store.Tx) ([]store.SegmentRecord, error) { return tx.Segments("p", "dev") })
	var gotKeys []string
	for _, r := range list {
		gotKeys = append(gotKeys, r.Segment.Key)
	}
	sorted := slices.Clone(keys)
	slices.Sort(sorted)
	equal(t, gotKeys, sorted, "Segments(p, dev) in byte order")

	put := func(rec store.SegmentRecord, v int64) (store.SegmentRecord, error) {
		err := s.Update(ctx(t), func(tx store.Tx) error { return tx.PutSegment(&rec, v) })
		return rec, err
	}
	_, err := put(store.SegmentRecord{Project: "p", Environment: "dev", Segment: flag.Segment{Key: "vip"}}, 0)
	wantKind(t, err, flag.KindConflict, "insert of an existing segment")
	upd := got
	upd.Segment.Included = append(upd.Segment.Included, "a-4")
	upd, err = put(upd, 1)
	ok(t, err, "segment update")
	if upd.Version != 2 {
		t.Errorf("segment update set Version %d, want 2", upd.Version)
	}
	stale := upd
	stale.Segment.Included = nil
	_, err = put(stale, 1)
	wantKind(t, err, flag.KindConflict, "segment update with a stale version")
	now := must(t, s, func(tx store.Tx) (store.SegmentRecord, error) { return tx.Segment("p", "dev", "vip") })
	equal(t, normSegment(now), normSegment(upd), "segment after a refused stale update")
	_, err = put(store.SegmentRecord{Project: "p", Environment: "dev", Segment: flag.Segment{Key: "nope"}}, 1)
	wantKind(t, err, flag.KindNotFound, "update of a missing segment")
	_, err = put(store.SegmentRecord{Project: "p", Environment: "missing", Segment: flag.Segment{Key: "x"}}, 0)
	wantKind(t, err, flag.KindNotFound, "segment in a missing environment")
	_, err = put(store.SegmentRecord{Project: "p", Environment: "dev", Segment: flag.Segment{Key: "x"}}, -2)
	wantKind(t, err, flag.KindInvalid, "negative ifVersion")
	_, err = get(t, s, func(tx store.Tx) (store.SegmentRecord, error) { return tx.Segment("p", "dev", "missing") })
	wantKind(t, err, flag.KindNotFound, "Segment(missing)")
	_, err = get(t, s, func(tx store.Tx) ([]store.SegmentRecord, error) { return tx.Segments("p", "missing") })
	wantKind(t, err, flag.KindNotFound, "Segments(p, missing)")

	err = s.Update(ctx(t), func(tx store.Tx) error { return tx.DeleteSegment("p", "dev", "vip", 1) })
	wantKind(t, err, flag.KindConflict, "DeleteSegment with a stale version")
	update(t, s, func(tx store.Tx) error { return tx.DeleteSegment("p", "dev", "vip", 2) })
	update(t, s, func(tx store.Tx) error { return tx.DeleteSegment("p", "dev", "Beta", 0) })
	err = s.Update(ctx(t), func(tx store.Tx) error { return tx.DeleteSegment("p", "dev", "vip", 0) })
	wantKind(t, err, flag.KindNotFound, "DeleteSegment of a deleted segment")
	list = must(t, s, func(tx store.Tx) ([]store.SegmentRecord, error) { return tx.Segments("p", "dev") })
	if len(list) != 2 {
		t.Errorf("after two deletes Segments returned %d, want 2", len(list))
	}
}

func testSegmentIsolation(t *testing.T, s store.Store) {
	seed(t, s)
	places := [][2]string{{"p", "dev"}, {"p", "prod"}, {"q", "dev"}}
	update(t, s, func(tx store.Tx) error {
		for _, pe := range places {
			g := richSegment("vip")
			g.Description = pe[0] + "/" + pe[1]
			rec := store.SegmentRecord{Project: pe[0], Environment: pe[1], Segment: g}
			if err := tx.PutSegment(&rec, 0); err != nil {
				return err
			}
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error {
		rec, err := tx.Segment("q", "dev", "vip")
		if err != nil {
			return err
		}
		return tx.PutSegment(&rec, 1)
	})
	for _, pe := range places {
		r := must(t, s, func(tx store.Tx) (store.SegmentRecord, error) { return tx.Segment(pe[0], pe[1], "vip") })
		wantV := int64(1)
		if pe == places[2] {
			wantV = 2
		}
		if r.Project != pe[0] || r.Environment != pe[1] || r.Segment.Description != pe[0]+"/"+pe[1] || r.Version != wantV {
			t.Errorf("%s/%s: got %s/%s %q version %d, want its own record at version %d", pe[0], pe[1], r.Project, r.Environment, r.Segment.Description, r.Version, wantV)
		}
		list := must(t, s, func(tx store.Tx) ([]store.SegmentRecord, error) { return tx.Segments(pe[0], pe[1]) })
		if len(list) != 1 {
			t.Errorf("Segments(%s, %s) = %d, want 1", pe[0], pe[1], len(list))
		}
	}
}
