package storetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/ramphq/ramp/flag"
	"github.com/ramphq/ramp/internal/store"
)

// appendAudit stores entries in one transaction, returning them with their IDs.
func appendAudit(t *testing.T, s store.Store, entries ...store.AuditEntry) []store.AuditEntry {
	t.Helper()
	update(t, s, func(tx store.Tx) error {
		for i := range entries {
			if err := tx.AppendAudit(&entries[i]); err != nil {
				return err
			}
		}
		return nil
	})
	return entries
}

func ids(es []store.AuditEntry) []int64 {
	out := make([]int64, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

func testAudit(t *testing.T, s store.Store) {
	var all []store.AuditEntry
	for i := range 3 {
		// Several transactions, several entries each.
		batch := make([]store.AuditEntry, i+1)
		for j := range batch {
			batch[j] = store.AuditEntry{At: at.Add(time.Duration(len(all)+j) * time.Second), Actor: "alice", Action: "flag.update", Project: "p", Environment: "dev", Resource: "flag", Key: "f", Version: int64(len(all) + j + 1)}
		}
		all = append(all, appendAudit(t, s, batch...)...)
	}
	for i := 1; i < len(all); i++ {
		if all[i].ID <= all[i-1].ID {
			t.Fatalf("audit IDs not strictly increasing: %v", ids(all))
		}
	}
	if all[0].ID <= 0 {
		t.Errorf("first audit ID %d, want > 0", all[0].ID)
	}
	got := must(t, s, func(tx store.Tx) ([]store.AuditEntry, error) { return tx.Audit(store.AuditFilter{}) })
	if len(got) != len(all) {
		t.Fatalf("Audit returned %d entries, want %d", len(got), len(all))
	}
	for i, e := range got {
		want := all[len(all)-1-i]
		if !e.At.Equal(want.At) {
			t.Errorf("entry %d: At %v, want %v", e.ID, e.At, want.At)
		}
		e.At, want.At = time.Time{}, time.Time{}
		equal(t, e, want, "audit entries newest first")
	}

	// Every field round-trips; a rolled-back entry leaves no trace but may use up an ID.
	full := store.AuditEntry{At: at, Actor: "key:k1 \"quoted\" ✓", Action: "key.revoke", Project: "p", Environment: "prod", Resource: "key", Key: "k4-client", Version: 7,
		Before: json.RawMessage(`{"id":"k4","revokedAt":null}`), After: json.RawMessage(`{"id":"k4","revokedAt":"2026-11-27T23:59:58Z"}`)}
	_ = s.Update(ctx(t), func(tx store.Tx) error {
		e := full
		if err := tx.AppendAudit(&e); err != nil {
			return err
		}
		return errRollback
	})
	full = appendAudit(t, s, full)[0]
	if full.ID <= all[len(all)-1].ID {
		t.Errorf("ID %d after %d", full.ID, all[len(all)-1].ID)
	}
	got = must(t, s, func(tx store.Tx) ([]store.AuditEntry, error) { return tx.Audit(store.AuditFilter{Limit: 1}) })
	if len(got) != 1 {
		t.Fatalf("Audit(Limit 1) returned %d entries", len(got))
	}
	sameAudit(t, got[0], full, "full audit entry")
	n := must(t, s, func(tx store.Tx) ([]store.AuditEntry, error) { return tx.Audit(store.AuditFilter{}) })
	if len(n) != len(all)+1 {
		t.Errorf("after a rolled-back append and one append: %d entries, want %d", len(n), len(all)+1)
	}
}

// sameAudit compares entries with Before and After as JSON values (a backend may reformat them) and At as
// an instant.
func sameAudit(t *testing.T, got, want store.AuditEntry, what string) {
	t.Helper()
	if !got.At.Equal(want.At) {
		t.Errorf("%s: At %v, want %v", what, got.At, want.At)
	}
	for _, p := range []struct {
		name      string
		got, want json.RawMessage
	}{{"Before", got.Before, want.Before}, {"After", got.After, want.After}} {
		if !sameJSON(p.got, p.want) {
			t.Errorf("%s: %s %s, want %s", what, p.name, p.got, p.want)
		}
	}
	got.At, want.At = time.Time{}, time.Time{}
	got.Before, got.After, want.Before, want.After = nil, nil, nil, nil
	equal(t, got, want, what)
}

func sameJSON(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var x, y any
	da, db := json.NewDecoder(bytes.NewReader(a)), json.NewDecoder(bytes.NewReader(b))
	da.UseNumber()
	db.UseNumber()
	if da.Decode(&x) != nil || db.Decode(&y) != nil {
		return false
	}
	return reflect.DeepEqual(normNumbers(x), normNumbers(y))
}

// normNumbers turns json.Numbers into float64 so 1.0 and 1 (a backend may print either) compare equal.
func normNumbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		f, _ := v.Float64()
		return f
	case map[string]any:
		for k, e := range v {
			v[k] = normNumbers(e)
		}
	case []any:
		for i, e := range v {
			v[i] = normNumbers(e)
		}
	}
	return v
}

func testAuditFilters(t *testing.T, s store.Store) {
	base := at.Add(-time.Hour)
	var es []store.AuditEntry
	for i, x := range []struct{ p, e, res, key string }{
		{"p", "dev", "flag", "a"},
		{"p", "dev", "flag", "b"},
		{"p", "prod", "flag", "a"},
		{"p", "", "environment", "prod"},
		{"q", "dev", "flag", "a"},
		{"p", "dev", "segment", "a"},
		{"", "", "key", "k1"},
		{"p", "dev", "flag", "a"},
	} {
		es = append(es, store.AuditEntry{At: base.Add(time.Duration(i) * time.Minute), Actor: "alice", Action: x.res + ".update", Project: x.p, Environment: x.e, Resource: x.res, Key: x.key})
	}
	es = appendAudit(t, s, es...)
	idx := func(is ...int) []int64 { // expected IDs, newest first
		out := make([]int64, len(is))
		for i, j := range is {
			out[len(is)-1-i] = es[j].ID
		}
		return out
	}
	for _, c := range []struct {
		name string
		f    store.AuditFilter
		want []int64
	}{
		{"all", store.AuditFilter{}, idx(0, 1, 2, 3, 4, 5, 6, 7)},
		{"project", store.AuditFilter{Project: "p"}, idx(0, 1, 2, 3, 5, 7)},
		{"project+env", store.AuditFilter{Project: "p", Environment: "dev"}, idx(0, 1, 5, 7)},
		{"env across projects", store.AuditFilter{Environment: "dev"}, idx(0, 1, 4, 5, 7)},
		{"resource", store.AuditFilter{Resource: "flag"}, idx(0, 1, 2, 4, 7)},
		{"resource+key", store.AuditFilter{Resource: "flag", Key: "a"}, idx(0, 2, 4, 7)},
		{"flag a in p/dev", store.AuditFilter{Project: "p", Environment: "dev", Resource: "flag", Key: "a"}, idx(0, 7)},
		{"key alone", store.AuditFilter{Key: "a"}, idx(0, 2, 4, 5, 7)},
		{"since (inclusive)", store.AuditFilter{Since: base.Add(5 * time.Minute)}, idx(5, 6, 7)},
		{"until (exclusive)", store.AuditFilter{Until: base.Add(2 * time.Minute)}, idx(0, 1)},
		{"since+until", store.AuditFilter{Since: base.Add(2 * time.Minute), Until: base.Add(4 * time.Minute)}, idx(2, 3)},
		{"since, other zone", store.AuditFilter{Since: base.Add(5*time.Minute - time.Nanosecond).In(time.FixedZone("", -5*3600))}, idx(5, 6, 7)},
		{"since just after", store.AuditFilter{Since: base.Add(7*time.Minute + time.Nanosecond)}, nil},
		{"beforeID", store.AuditFilter{BeforeID: es[3].ID}, idx(0, 1, 2)},
		{"beforeID+project", store.AuditFilter{Project: "p", BeforeID: es[5].ID}, idx(0, 1, 2, 3)},
		{"limit", store.AuditFilter{Limit: 3}, idx(5, 6, 7)},
		{"limit+filter", store.AuditFilter{Resource: "flag", Limit: 2}, idx(4, 7)},
		{"no match", store.AuditFilter{Project: "missing"}, nil},
		{"case-sensitive", store.AuditFilter{Project: "P"}, nil},
	} {
		got := must(t, s, func(tx store.Tx) ([]store.AuditEntry, error) { return tx.Audit(c.f) })
		if len(got) == 0 && len(c.want) == 0 {
			continue
		}
		equal(t, ids(got), c.want, "Audit "+c.name)
	}
}

func testAuditPaging(t *testing.T, s store.Store) {
	const n = 123
	es := make([]store.AuditEntry, n)
	for i := range es {
		es[i] = store.AuditEntry{At: at, Actor: "bot", Action: "flag.update", Project: "p", Environment: "dev", Resource: "flag", Key: fmt.Sprint(i % 3), Version: int64(i + 1)}
	}
	es = appendAudit(t, s, es...)
	got := must(t, s, func(tx store.Tx) ([]store.AuditEntry, error) { return tx.Audit(store.AuditFilter{}) })
	if len(got) != 100 {
		t.Errorf("Audit with Limit 0 returned %d entries, want the default of 100", len(got))
	}
	// Walk backwards in pages of 10: every entry once, newest first.
	var walked []int64
	f := store.AuditFilter{Limit: 10}
	for pages := 0; pages < 20; pages++ {
		page := must(t, s, func(tx store.Tx) ([]store.AuditEntry, error) { return tx.Audit(f) })
		walked = append(walked, ids(page)...)
		if len(page) < f.Limit {
			break
		}
		f.BeforeID = page[len(page)-1].ID
	}
	want := make([]int64, n)
	for i := range es {
		want[n-1-i] = es[i].ID
	}
	equal(t, walked, want, "paging with BeforeID walks every entry once, newest first")
	// A filtered walk.
	f = store.AuditFilter{Key: "1", Limit: 7}
	walked = walked[:0]
	for {
		page := must(t, s, func(tx store.Tx) ([]store.AuditEntry, error) { return tx.Audit(f) })
		walked = append(walked, ids(page)...)
		if len(page) < f.Limit {
			break
		}
		f.BeforeID = page[len(page)-1].ID
	}
	if len(walked) != n/3 {
		t.Errorf("filtered walk found %d entries, want %d", len(walked), n/3)
	}
	more := must(t, s, func(tx store.Tx) ([]store.AuditEntry, error) { return tx.Audit(store.AuditFilter{Limit: 500}) })
	if len(more) != n {
		t.Errorf("Audit(Limit 500) returned %d entries, want %d", len(more), n)
	}
}

func testAuditJSON(t *testing.T, s store.Store) {
	doc := func(v any) json.RawMessage {
		b, err := json.Marshal(v)
		ok(t, err, "marshal")
		return b
	}
	rich := store.FlagRecord{Project: "p", Environment: "dev", Flag: richFlag("f"), Version: 3}
	cases := []store.AuditEntry{
		{Action: "flag.create", Resource: "flag", Key: "f", After: doc(rich)},
		{Action: "flag.delete", Resource: "flag", Key: "f", Before: doc(rich)},
		{Action: "flag.update", Resource: "flag", Key: "f", Before: json.RawMessage(` { "a" : [1, 2.50, "x\u00e9"] } `), After: json.RawMessage(`"just a string"`)},
		{Action: "x", Resource: "flag", Key: "f", Before: json.RawMessage(`null`), After: json.RawMessage(`[]`)},
	}
	got := appendAudit(t, s, cases...)
	list := must(t, s, func(tx store.Tx) ([]store.AuditEntry, error) { return tx.Audit(store.AuditFilter{}) })
	for i, e := range list {
		sameAudit(t, e, got[len(got)-1-i], "audit JSON "+got[len(got)-1-i].Action)
	}
	// The stored document decodes back to the record it was made from.
	var back store.FlagRecord
	ok(t, json.Unmarshal(list[len(list)-1].After, &back), "decode audit After")
	equal(t, normFlag(back), normFlag(rich), "flag record decoded from an audit entry")

	for _, bad := range []json.RawMessage{json.RawMessage(`{"a":`), json.RawMessage(`{} {}`), json.RawMessage(`nope`)} {
		err := s.Update(ctx(t), func(tx store.Tx) error {
			return tx.AppendAudit(&store.AuditEntry{Action: "x", Resource: "flag", Key: "f", After: bad})
		})
		wantKind(t, err, flag.KindInvalid, fmt.Sprintf("AppendAudit with After %q", bad))
	}
	n := must(t, s, func(tx store.Tx) ([]store.AuditEntry, error) { return tx.Audit(store.AuditFilter{}) })
	if len(n) != len(cases) {
		t.Errorf("refused entries were stored: %d entries, want %d", len(n), len(cases))
	}
}
