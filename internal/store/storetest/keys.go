package storetest

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/ramphq/ramp/flag"
	"github.com/ramphq/ramp/internal/store"
)

func hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// fourKeys returns an unscoped admin key, an admin key scoped to p, and server and client keys of p's
// environments, in ID order.
func fourKeys() []store.APIKey {
	return []store.APIKey{
		{ID: "k1-admin", Kind: store.KeyAdmin, Role: store.RoleAdmin, Name: "root", Hash: hash("s1"), CreatedAt: at, CreatedBy: "bootstrap"},
		{ID: "k2-editor-p", Kind: store.KeyAdmin, Role: store.RoleEditor, Project: "p", Name: "ci", Hash: hash("s2"), CreatedAt: at, ExpiresAt: ptr(at.Add(48 * time.Hour))},
		{ID: "k3-server", Kind: store.KeyServer, Project: "p", Environment: "dev", Hash: hash("s3"), CreatedAt: at, LastUsedAt: ptr(at.Add(time.Second))},
		{ID: "k4-client", Kind: store.KeyClient, Project: "p", Environment: "prod", Name: "web", Hash: hash("s4"), CreatedAt: at, RevokedAt: ptr(at.Add(time.Minute))},
	}
}

func createKeys(t *testing.T, s store.Store, keys []store.APIKey) {
	t.Helper()
	update(t, s, func(tx store.Tx) error {
		for i := len(keys) - 1; i >= 0; i-- { // reverse order: lists must sort
			if err := tx.CreateKey(keys[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

func testKeys(t *testing.T, s store.Store) {
	seed(t, s)
	keys := fourKeys()
	createKeys(t, s, keys)
	want := normKeys(keys)

	all := must(t, s, func(tx store.Tx) ([]store.APIKey, error) { return tx.Keys("") })
	equal(t, normKeys(all), want, `Keys("") (all, by ID)`)
	scoped := must(t, s, func(tx store.Tx) ([]store.APIKey, error) { return tx.Keys("p") })
	equal(t, normKeys(scoped), want[1:], `Keys("p")`)
	none := must(t, s, func(tx store.Tx) ([]store.APIKey, error) { return tx.Keys("q") })
	if len(none) != 0 {
		t.Errorf(`Keys("q") = %d keys, want none`, len(none))
	}
	_, err := get(t, s, func(tx store.Tx) ([]store.APIKey, error) { return tx.Keys("missing") })
	wantKind(t, err, flag.KindNotFound, `Keys("missing")`)

	for i, k := range keys {
		got := must(t, s, func(tx store.Tx) (store.APIKey, error) { return tx.KeyByHash(hash("s" + string(rune('1'+i)))) })
		equal(t, normKey(got), want[i], "KeyByHash "+k.ID)
		got = must(t, s, func(tx store.Tx) (store.APIKey, error) { return tx.Key(k.ID) })
		equal(t, normKey(got), want[i], "Key "+k.ID)
	}
	_, err = get(t, s, func(tx store.Tx) (store.APIKey, error) { return tx.KeyByHash(hash("unknown")) })
	wantKind(t, err, flag.KindNotFound, "KeyByHash of an unknown secret")
	_, err = get(t, s, func(tx store.Tx) (store.APIKey, error) { return tx.KeyByHash(hash("s1")[:31]) })
	wantKind(t, err, flag.KindNotFound, "KeyByHash of a truncated hash")
	_, err = get(t, s, func(tx store.Tx) (store.APIKey, error) { return tx.Key("missing") })
	wantKind(t, err, flag.KindNotFound, "Key(missing)")

	for name, k := range map[string]store.APIKey{
		"duplicate ID":   {ID: "k1-admin", Kind: store.KeyAdmin, Role: store.RoleViewer, Hash: hash("other")},
		"duplicate hash": {ID: "k9", Kind: store.KeyAdmin, Role: store.RoleViewer, Hash: hash("s3")},
	} {
		err := s.Update(ctx(t), func(tx store.Tx) error { return tx.CreateKey(k) })
		wantKind(t, err, flag.KindConflict, "CreateKey with a "+name)
	}
	for name, k := range map[string]store.APIKey{
		"missing project":     {ID: "k9", Kind: store.KeyAdmin, Role: store.RoleViewer, Project: "missing", Hash: hash("s9")},
		"missing environment": {ID: "k9", Kind: store.KeyServer, Project: "p", Environment: "missing", Hash: hash("s9")},
	} {
		err := s.Update(ctx(t), func(tx store.Tx) error { return tx.CreateKey(k) })
		wantKind(t, err, flag.KindNotFound, "CreateKey in a "+name)
	}
	all = must(t, s, func(tx store.Tx) ([]store.APIKey, error) { return tx.Keys("") })
	equal(t, normKeys(all), want, "keys after refused creates")
}

func testUpdateKey(t *testing.T, s store.Store) {
	seed(t, s)
	keys := fourKeys()
	createKeys(t, s, keys)

	// Mutable fields change; the rest is ignored even when the caller passes other values.
	k := keys[1]
	k.Name = "ci (rotated)"
	k.ExpiresAt = ptr(at.Add(time.Hour))
	k.RevokedAt = ptr(at.Add(2 * time.Hour))
	k.LastUsedAt = ptr(at.Add(3 * time.Hour))
	changed := k
	changed.Kind = store.KeyServer
	changed.Role = store.RoleViewer
	changed.Project = "q"
	changed.Environment = "dev"
	changed.Hash = hash("stolen")
	changed.CreatedAt = at.Add(time.Hour)
	changed.CreatedBy = "mallory"
	update(t, s, func(tx store.Tx) error { return tx.UpdateKey(changed) })
	got := must(t, s, func(tx store.Tx) (store.APIKey, error) { return tx.Key(k.ID) })
	equal(t, normKey(got), normKey(k), "key after UpdateKey (only Name, ExpiresAt, RevokedAt, LastUsedAt change)")
	got = must(t, s, func(tx store.Tx) (store.APIKey, error) { return tx.KeyByHash(hash("s2")) })
	equal(t, got.ID, k.ID, "KeyByHash after UpdateKey finds the key by its unchanged hash")

	// Clearing the optional times.
	k.ExpiresAt, k.RevokedAt, k.LastUsedAt, k.Name = nil, nil, nil, ""
	update(t, s, func(tx store.Tx) error { return tx.UpdateKey(k) })
	got = must(t, s, func(tx store.Tx) (store.APIKey, error) { return tx.Key(k.ID) })
	equal(t, normKey(got), normKey(k), "key after clearing its times")
	if got.ExpiresAt != nil || got.RevokedAt != nil || got.LastUsedAt != nil {
		t.Errorf("cleared times came back: %+v", got)
	}
	if !got.Active(at.Add(1000 * time.Hour)) {
		t.Errorf("a key with no expiry and no revocation is not active")
	}

	err := s.Update(ctx(t), func(tx store.Tx) error { return tx.UpdateKey(store.APIKey{ID: "missing", Name: "x"}) })
	wantKind(t, err, flag.KindNotFound, "UpdateKey of a missing key")
	others := must(t, s, func(tx store.Tx) ([]store.APIKey, error) { return tx.Keys("") })
	want := normKeys(keys)
	want[1] = normKey(k)
	equal(t, normKeys(others), want, "UpdateKey touched only its key")
}

func testDeleteEnvironmentCascades(t *testing.T, s store.Store) {
	seed(t, s)
	fill(t, s)
	auditBefore := dumpStore(t, s).Audit
	update(t, s, func(tx store.Tx) error { return tx.DeleteEnvironment("p", "dev") })

	d := dumpStore(t, s)
	for _, f := range d.Flags {
		if f.Project == "p" && f.Environment == "dev" {
			t.Errorf("flag %s of deleted p/dev survived", f.Flag.Key)
		}
	}
	for _, g := range d.Segments {
		if g.Project == "p" && g.Environment == "dev" {
			t.Errorf("segment %s of deleted p/dev survived", g.Segment.Key)
		}
	}
	var ids []string
	for _, k := range d.Keys {
		ids = append(ids, k.ID)
	}
	equal(t, ids, []string{"k1-admin", "k2-editor-p", "k4-client"}, "keys after deleting p/dev (its server key gone)")
	if len(d.Flags) != 2 || len(d.Segments) != 2 {
		t.Errorf("other environments lost records: %d flags, %d segments, want 2 and 2", len(d.Flags), len(d.Segments))
	}
	equal(t, d.Audit, auditBefore, "audit entries after DeleteEnvironment (they stay)")
	_, err := get(t, s, func(tx store.Tx) (store.Environment, error) { return tx.Environment("p", "dev") })
	wantKind(t, err, flag.KindNotFound, "deleted environment")

	// Re-creating the environment starts empty, at revision 0.
	update(t, s, func(tx store.Tx) error {
		return tx.CreateEnvironment(store.Environment{Project: "p", Key: "dev", Name: "dev"})
	})
	e := must(t, s, func(tx store.Tx) (store.Environment, error) { return tx.Environment("p", "dev") })
	fs := must(t, s, func(tx store.Tx) ([]store.FlagRecord, error) { return tx.Flags("p", "dev") })
	gs := must(t, s, func(tx store.Tx) ([]store.SegmentRecord, error) { return tx.Segments("p", "dev") })
	if e.Revision != 0 || len(fs) != 0 || len(gs) != 0 {
		t.Errorf("re-created p/dev: revision %d, %d flags, %d segments; want 0, 0, 0", e.Revision, len(fs), len(gs))
	}
}

func testDeleteProjectCascades(t *testing.T, s store.Store) {
	seed(t, s)
	fill(t, s)
	auditBefore := dumpStore(t, s).Audit
	update(t, s, func(tx store.Tx) error { return tx.DeleteProject("p") })

	d := dumpStore(t, s)
	equal(t, len(d.Projects), 1, "projects left")
	for _, e := range d.Envs {
		if e.Project == "p" {
			t.Errorf("environment %s of deleted project p survived", e.Key)
		}
	}
	for _, f := range d.Flags {
		if f.Project == "p" {
			t.Errorf("flag %s/%s of deleted project p survived", f.Environment, f.Flag.Key)
		}
	}
	var ids []string
	for _, k := range d.Keys {
		ids = append(ids, k.ID)
	}
	equal(t, ids, []string{"k1-admin"}, "keys after deleting project p (its scoped keys gone, the unscoped admin key kept)")
	if len(d.Flags) != 1 || len(d.Segments) != 1 {
		t.Errorf("project q lost records: %d flags, %d segments, want 1 and 1", len(d.Flags), len(d.Segments))
	}
	equal(t, d.Audit, auditBefore, "audit entries after DeleteProject (they stay)")
	for _, pe := range [][2]string{{"p", "dev"}, {"p", "prod"}} {
		_, err := get(t, s, func(tx store.Tx) (store.Environment, error) { return tx.Environment(pe[0], pe[1]) })
		wantKind(t, err, flag.KindNotFound, "environment of a deleted project")
		_, err = get(t, s, func(tx store.Tx) (store.FlagRecord, error) { return tx.Flag(pe[0], pe[1], "f") })
		wantKind(t, err, flag.KindNotFound, "flag of a deleted project")
	}
	for _, id := range []string{"k2-editor-p", "k3-server", "k4-client"} {
		_, err := get(t, s, func(tx store.Tx) (store.APIKey, error) { return tx.Key(id) })
		wantKind(t, err, flag.KindNotFound, "key "+id+" of a deleted project")
		_, err = get(t, s, func(tx store.Tx) (store.APIKey, error) { return tx.KeyByHash(hash("s" + id[1:2])) })
		wantKind(t, err, flag.KindNotFound, "KeyByHash of key "+id+" of a deleted project")
	}
	// The key is free again, and the new project is empty.
	update(t, s, func(tx store.Tx) error { return tx.CreateProject(store.Project{Key: "p"}) })
	envs := must(t, s, func(tx store.Tx) ([]store.Environment, error) { return tx.Environments("p") })
	keys := must(t, s, func(tx store.Tx) ([]store.APIKey, error) { return tx.Keys("p") })
	if len(envs) != 0 || len(keys) != 0 {
		t.Errorf("re-created project p has %d environments and %d keys, want none", len(envs), len(keys))
	}
}

// fill puts a flag "f" and a segment "g" in each seeded environment, the four keys, and an audit entry per
// write.
func fill(t *testing.T, s store.Store) {
	t.Helper()
	createKeys(t, s, fourKeys())
	update(t, s, func(tx store.Tx) error {
		for _, pe := range [][2]string{{"p", "dev"}, {"p", "prod"}, {"q", "dev"}} {
			rec := store.FlagRecord{Project: pe[0], Environment: pe[1], Flag: richFlag("f")}
			if err := tx.PutFlag(&rec, 0); err != nil {
				return err
			}
			seg := store.SegmentRecord{Project: pe[0], Environment: pe[1], Segment: richSegment("g")}
			if err := tx.PutSegment(&seg, 0); err != nil {
				return err
			}
			for _, res := range []string{"flag", "segment"} {
				key := map[string]string{"flag": "f", "segment": "g"}[res]
				e := store.AuditEntry{At: at, Actor: "alice", Action: res + ".create", Project: pe[0], Environment: pe[1], Resource: res, Key: key, Version: 1, After: []byte(`{"key":"` + key + `"}`)}
				if err := tx.AppendAudit(&e); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
