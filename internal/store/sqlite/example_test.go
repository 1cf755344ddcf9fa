package sqlite_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/ramphq/ramp/flag"
	"github.com/ramphq/ramp/internal/store"
	"github.com/ramphq/ramp/internal/store/sqlite"
)

// An admin write: the change, its audit entry and the revision bump commit together or not at all; a stale
// version is a conflict.
func Example() {
	dir, err := os.MkdirTemp("", "ramp-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	s, err := sqlite.Open(ctx, dir)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	f := flag.Flag{Key: "new-checkout", Type: flag.TypeBoolean, OffVariation: "off", Fallthrough: flag.Serve{Variation: "on"},
		Variations: []flag.Variation{{Key: "on", Value: true}, {Key: "off", Value: false}}}
	err = s.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateProject(store.Project{Key: "shop"}); err != nil {
			return err
		}
		if err := tx.CreateEnvironment(store.Environment{Project: "shop", Key: "production"}); err != nil {
			return err
		}
		rec := store.FlagRecord{Project: "shop", Environment: "production", Flag: f, UpdatedBy: "alice"}
		if err := tx.PutFlag(&rec, 0); err != nil {
			return err
		}
		if err := tx.AppendAudit(&store.AuditEntry{Actor: "alice", Action: "flag.create", Project: "shop",
			Environment: "production", Resource: "flag", Key: f.Key, Version: rec.Version}); err != nil {
			return err
		}
		rev, err := tx.BumpRevision("shop", "production")
		fmt.Println("version", rec.Version, "revision", rev)
		return err
	})
	if err != nil {
		log.Fatal(err)
	}

	// Someone edits with the version they read; a second edit with the same version is refused.
	for range 2 {
		err = s.Update(ctx, func(tx store.Tx) error {
			rec := store.FlagRecord{Project: "shop", Environment: "production", Flag: f, UpdatedBy: "bob"}
			rec.Flag.Enabled = true
			return tx.PutFlag(&rec, 1)
		})
		if err != nil {
			fmt.Println(flag.KindOf(err), "-", err)
		} else {
			fmt.Println("updated")
		}
	}
	// Output:
	// version 1 revision 1
	// updated
	// conflict - flag "new-checkout" is at version 2, not 1
}
