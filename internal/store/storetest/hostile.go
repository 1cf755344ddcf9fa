package storetest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ramphq/ramp/flag"
	"github.com/ramphq/ramp/internal/store"
)

// hostileKeys are keys a careless backend would mangle: SQL and JSON metacharacters, LIKE wildcards, unicode in
// several normal forms, and the longest key the flag model allows.
var hostileKeys = []string{
	`it's`,
	`"double"`,
	`a'; DROP TABLE flags; --`,
	`back\slash`,
	`%`,
	`_`,
	`🚀-ключ-鍵-مفتاح`,
	"e\u0301", // e + combining acute: not the same key as é
	"\u00e9",  // é precomposed
	"tab\there",
	"new\nline",
	`{"json":true}`,
	strings.Repeat("k", flag.MaxKeyLength),
	strings.Repeat("é", flag.MaxKeyLength/2),
}

func testHostileKeys(t *testing.T, s store.Store) {
	update(t, s, func(tx store.Tx) error {
		for _, k := range hostileKeys {
			if err := tx.CreateProject(store.Project{Key: k, Name: k, Description: k}); err != nil {
				return err
			}
			if err := tx.CreateEnvironment(store.Environment{Project: k, Key: k, Name: k}); err != nil {
				return err
			}
			f := richFlag(k)
			f.Description = k
			if err := tx.PutFlag(&store.FlagRecord{Project: k, Environment: k, Flag: f, UpdatedBy: k}, 0); err != nil {
				return err
			}
			if err := tx.PutSegment(&store.SegmentRecord{Project: k, Environment: k, Segment: richSegment(k)}, 0); err != nil {
				return err
			}
			if err := tx.CreateKey(store.APIKey{ID: k, Kind: store.KeyServer, Project: k, Environment: k, Name: k, Hash: hash(k)}); err != nil {
				return err
			}
			if err := tx.AppendAudit(&store.AuditEntry{Actor: k, Action: k, Project: k, Environment: k, Resource: "flag", Key: k}); err != nil {
				return err
			}
		}
		return nil
	})
	for _, k := range hostileKeys {
		p := must(t, s, func(tx store.Tx) (store.Project, error) { return tx.Project(k) })
		if p.Key != k || p.Name != k || p.Description != k {
			t.Errorf("project %q came back as %q/%q/%q", k, p.Key, p.Name, p.Description)
		}
		rec := must(t, s, func(tx store.Tx) (store.FlagRecord, error) { return tx.Flag(k, k, k) })
		f := richFlag(k)
		f.Description = k
		equal(t, normFlag(rec), normFlag(store.FlagRecord{Project: k, Environment: k, Flag: f, UpdatedBy: k, Version: 1}), "flag "+k)
		fs := must(t, s, func(tx store.Tx) ([]store.FlagRecord, error) { return tx.Flags(k, k) })
		if len(fs) != 1 {
			t.Errorf("Flags(%q, %q) = %d flags, want 1 (a key matched as a pattern?)", k, k, len(fs))
		}
		g := must(t, s, func(tx store.Tx) (store.SegmentRecord, error) { return tx.Segment(k, k, k) })
		equal(t, g.Segment, richSegment(k), "segment "+k)
		key := must(t, s, func(tx store.Tx) (store.APIKey, error) { return tx.KeyByHash(hash(k)) })
		if key.ID != k || key.Project != k || key.Environment != k || key.Name != k {
			t.Errorf("key %q came back as %+v", k, key)
		}
		keys := must(t, s, func(tx store.Tx) ([]store.APIKey, error) { return tx.Keys(k) })
		if len(keys) != 1 {
			t.Errorf("Keys(%q) = %d keys, want 1", k, len(keys))
		}
		a := must(t, s, func(tx store.Tx) ([]store.AuditEntry, error) {
			return tx.Audit(store.AuditFilter{Project: k, Environment: k, Resource: "flag", Key: k})
		})
		if len(a) != 1 || a[0].Actor != k || a[0].Action != k {
			t.Errorf("audit filtered by %q: %+v, want its one entry", k, a)
		}
	}
	ps := must(t, s, func(tx store.Tx) ([]store.Project, error) { return tx.Projects() })
	if len(ps) != len(hostileKeys) {
		t.Errorf("%d projects, want %d", len(ps), len(hostileKeys))
	}
	for i := 1; i < len(ps); i++ {
		if ps[i-1].Key >= ps[i].Key {
			t.Errorf("projects not in byte order: %q before %q", ps[i-1].Key, ps[i].Key)
		}
	}
	// Deleting one hostile project touches no other.
	update(t, s, func(tx store.Tx) error { return tx.DeleteProject(`%`) })
	ps = must(t, s, func(tx store.Tx) ([]store.Project, error) { return tx.Projects() })
	if len(ps) != len(hostileKeys)-1 {
		t.Errorf("after deleting project %q: %d projects, want %d", `%`, len(ps), len(hostileKeys)-1)
	}
}

// testUnstorableKeys checks keys a backend may refuse. Each must either round-trip exactly or be refused with
// KindInvalid, and a refusal leaves nothing behind.
func testUnstorableKeys(t *testing.T, s store.Store) {
	seed(t, s)
	for name, k := range map[string]string{
		"4 KiB":         strings.Repeat("x", 4096),
		"NUL":           "a\x00b",
		"invalid UTF-8": "a\xffb",
		"empty":         "",
	} {
		err := s.Update(ctx(t), func(tx store.Tx) error {
			return tx.PutFlag(&store.FlagRecord{Project: "p", Environment: "dev", Flag: simpleFlag(k)}, 0)
		})
		if err != nil {
			wantKind(t, err, flag.KindInvalid, "flag key "+name)
			fs := must(t, s, func(tx store.Tx) ([]store.FlagRecord, error) { return tx.Flags("p", "dev") })
			if len(fs) != 0 {
				t.Errorf("a refused flag key (%s) left %d flags", name, len(fs))
			}
		} else {
			rec := must(t, s, func(tx store.Tx) (store.FlagRecord, error) { return tx.Flag("p", "dev", k) })
			if rec.Flag.Key != k {
				t.Errorf("flag key %s stored but came back as %q", name, rec.Flag.Key)
			}
			update(t, s, func(tx store.Tx) error { return tx.DeleteFlag("p", "dev", k, 0) })
		}
		err = s.Update(ctx(t), func(tx store.Tx) error { return tx.CreateProject(store.Project{Key: k}) })
		if err != nil {
			wantKind(t, err, flag.KindInvalid, "project key "+name)
		} else {
			p := must(t, s, func(tx store.Tx) (store.Project, error) { return tx.Project(k) })
			if p.Key != k {
				t.Errorf("project key %s stored but came back as %q", name, p.Key)
			}
		}
		// The same for free text inside a document.
		f := simpleFlag("text")
		f.Description = k
		err = s.Update(ctx(t), func(tx store.Tx) error {
			return tx.PutFlag(&store.FlagRecord{Project: "p", Environment: "dev", Flag: f}, 0)
		})
		if err != nil {
			wantKind(t, err, flag.KindInvalid, "flag description "+name)
		} else {
			rec := must(t, s, func(tx store.Tx) (store.FlagRecord, error) { return tx.Flag("p", "dev", "text") })
			want := strings.ToValidUTF8(k, "\uFFFD") // what encoding/json makes of invalid UTF-8
			if rec.Flag.Description != want {
				t.Errorf("description %s stored but came back as %q", name, rec.Flag.Description)
			}
			update(t, s, func(tx store.Tx) error { return tx.DeleteFlag("p", "dev", "text", 0) })
		}
	}
}

// testHugeDocuments stores flags, segments and audit entries of about 1 MiB each.
func testHugeDocuments(t *testing.T, s store.Store) {
	seed(t, s)
	const mib = 1 << 20
	big := richFlag("big")
	big.Description = strings.Repeat("é✓\"\\<", mib/10)
	values := make([]any, 0, mib/40)
	for i := range cap(values) {
		values = append(values, map[string]any{"i": float64(i), "s": "v\u2028" + strings.Repeat("x", 16)})
	}
	big.Variations[0].Value = map[string]any{"values": values}
	seg := richSegment("big")
	for i := range mib / 16 {
		seg.Included = append(seg.Included, "user-"+strings.Repeat("0", 8)+string(rune('a'+i%26)))
	}
	doc, err := json.Marshal(big)
	ok(t, err, "marshal")
	if len(doc) < mib {
		t.Fatalf("test flag is only %d bytes", len(doc))
	}
	update(t, s, func(tx store.Tx) error {
		if err := tx.PutFlag(&store.FlagRecord{Project: "p", Environment: "dev", Flag: big}, 0); err != nil {
			return err
		}
		if err := tx.PutSegment(&store.SegmentRecord{Project: "p", Environment: "dev", Segment: seg}, 0); err != nil {
			return err
		}
		return tx.AppendAudit(&store.AuditEntry{Action: "flag.create", Resource: "flag", Key: "big", After: doc})
	})
	rec := must(t, s, func(tx store.Tx) (store.FlagRecord, error) { return tx.Flag("p", "dev", "big") })
	equal(t, normFlag(rec), normFlag(store.FlagRecord{Project: "p", Environment: "dev", Flag: big, Version: 1}), "1 MiB flag")
	g := must(t, s, func(tx store.Tx) (store.SegmentRecord, error) { return tx.Segment("p", "dev", "big") })
	if len(g.Segment.Included) != len(seg.Included) || g.Segment.Included[len(seg.Included)-1] != seg.Included[len(seg.Included)-1] {
		t.Errorf("big segment: %d included, want %d", len(g.Segment.Included), len(seg.Included))
	}
	a := must(t, s, func(tx store.Tx) ([]store.AuditEntry, error) { return tx.Audit(store.AuditFilter{Key: "big"}) })
	if len(a) != 1 || !sameJSON(a[0].After, doc) {
		t.Errorf("1 MiB audit document did not round-trip")
	}
	// Updating a huge document works too.
	big.Description = "small again"
	update(t, s, func(tx store.Tx) error {
		return tx.PutFlag(&store.FlagRecord{Project: "p", Environment: "dev", Flag: big}, 1)
	})
}
