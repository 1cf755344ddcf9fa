package storetest

import (
	"encoding/json"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/ramphq/ramp/internal/store"
)

// BenchAdminWrite measures the real shape of an admin write: one Update that reads a flag, writes it back with
// its version, appends an audit entry with the before and after documents, and bumps the environment's
// revision. Backends call it from their own benchmark (BenchmarkSQLiteAdminWrite, BenchmarkPostgresAdminWrite);
// s must be empty. The "parallel" sub-benchmark runs writers from GOMAXPROCS goroutines on distinct flags.
func BenchAdminWrite(b *testing.B, s store.Store) {
	ctx := b.Context()
	const flags = 64
	if err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateProject(store.Project{Key: "bench"}); err != nil {
			return err
		}
		if err := tx.CreateEnvironment(store.Environment{Project: "bench", Key: "production"}); err != nil {
			return err
		}
		for i := range flags {
			rec := store.FlagRecord{Project: "bench", Environment: "production", Flag: richFlag("flag-" + strconv.Itoa(i))}
			if err := tx.PutFlag(&rec, 0); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	write := func(key string) error {
		return s.Update(ctx, func(tx store.Tx) error {
			rec, err := tx.Flag("bench", "production", key)
			if err != nil {
				return err
			}
			before, err := json.Marshal(rec)
			if err != nil {
				return err
			}
			rec.Flag.Enabled = !rec.Flag.Enabled
			rec.UpdatedAt = at
			rec.UpdatedBy = "bench"
			if err := tx.PutFlag(&rec, rec.Version); err != nil {
				return err
			}
			after, err := json.Marshal(rec)
			if err != nil {
				return err
			}
			if err := tx.AppendAudit(&store.AuditEntry{At: at, Actor: "bench", Action: "flag.toggle", Project: "bench", Environment: "production",
				Resource: "flag", Key: key, Version: rec.Version, Before: before, After: after}); err != nil {
				return err
			}
			_, err = tx.BumpRevision("bench", "production")
			return err
		})
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if err := write("flag-" + strconv.Itoa(i%flags)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		var next atomicCounter
		b.RunParallel(func(pb *testing.PB) {
			key := "flag-" + strconv.Itoa(int(next.add()%flags))
			for pb.Next() {
				if err := write(key); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

type atomicCounter struct{ n atomic.Int64 }

func (c *atomicCounter) add() int64 { return c.n.Add(1) - 1 }
