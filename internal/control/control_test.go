package control_test

import (
	"context"
	"testing"
	"time"

	"github.com/ramphq/ramp/flag"
	"github.com/ramphq/ramp/internal/broker"
	"github.com/ramphq/ramp/internal/control"
	"github.com/ramphq/ramp/internal/store"
	"github.com/ramphq/ramp/internal/store/sqlite"
)

func newService(t *testing.T) (*control.Service, *broker.Broker) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	b := broker.New(16)
	svc := control.New(control.Options{Store: st, Broker: b})
	if _, _, err := svc.Bootstrap(context.Background(), "bootstrap-token-0123456789"); err != nil {
		t.Fatal(err)
	}
	return svc, b
}

func boolFlag(key string) flag.Flag {
	return flag.Flag{Key: key, Type: flag.TypeBoolean, Enabled: true, OffVariation: "off",
		Variations:  []flag.Variation{{Key: "on", Value: true}, {Key: "off", Value: false}},
		Fallthrough: flag.Serve{Variation: "on"}}
}

func TestWritePathCompilesPublishesAndVersions(t *testing.T) {
	ctx := context.Background()
	svc, b := newService(t)
	admin := control.System("test")
	sub := b.Subscribe("default", "production")
	defer sub.Close()

	rec, err := svc.CreateFlag(ctx, admin, "default", "production", boolFlag("ai"))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Version != 1 || !rec.Flag.Enabled {
		t.Fatalf("created %+v", rec)
	}
	staging, err := svc.Flag(ctx, admin, "default", "staging", "ai")
	if err != nil || staging.Flag.Enabled {
		t.Fatalf("staging copy %+v, %v: want it created and disabled", staging, err)
	}
	select {
	case e := <-sub.C:
		if e.Revision != 1 || e.Kind != "flag" || e.Keys[0] != "ai" {
			t.Fatalf("event %+v", e)
		}
	case <-time.After(time.Second):
		t.Fatal("no change event")
	}
	snap, err := svc.Snapshot(ctx, "default", "production")
	if err != nil || snap.Revision != 1 {
		t.Fatalf("snapshot %+v %v", snap, err)
	}
	if d := snap.Eval.Evaluate("ai", nil); d.Value != true {
		t.Fatalf("evaluate %+v", d)
	}

	// The kill switch: a new snapshot, newer revision, serving off.
	if _, err := svc.Toggle(ctx, admin, "default", "production", "ai", false, 1); err != nil {
		t.Fatal(err)
	}
	snap, _ = svc.Snapshot(ctx, "default", "production")
	if d := snap.Eval.Evaluate("ai", nil); d.Reason != flag.ReasonDisabled || snap.Revision != 2 {
		t.Fatalf("after toggle: %+v at revision %d", d, snap.Revision)
	}

	// A stale version is a conflict that names the current version, and writes nothing.
	f := boolFlag("ai")
	f.Name = "AI"
	_, err = svc.UpdateFlag(ctx, admin, "default", "production", "ai", f, 1)
	if flag.KindOf(err) != flag.KindConflict {
		t.Fatalf("stale update: %v", err)
	}
	if cur, _ := svc.Flag(ctx, admin, "default", "production", "ai"); cur.Version != 2 || cur.Flag.Name != "" {
		t.Fatalf("stale update wrote something: %+v", cur)
	}

	// Definition changes reach every environment; targeting stays per environment.
	if _, err := svc.UpdateFlag(ctx, admin, "default", "production", "ai", f, 2); err != nil {
		t.Fatal(err)
	}
	staging, _ = svc.Flag(ctx, admin, "default", "staging", "ai")
	if staging.Flag.Name != "AI" || staging.Flag.Enabled {
		t.Fatalf("staging after a definition change: %+v", staging.Flag)
	}

	// A change that would break another flag of the environment is rejected whole, with an environment path.
	dep := boolFlag("dep")
	dep.Prerequisites = []flag.Prerequisite{{Flag: "ai", Variation: "on"}}
	if _, err := svc.CreateFlag(ctx, admin, "default", "production", dep); err != nil {
		t.Fatal(err)
	}
	err = svc.DeleteFlag(ctx, admin, "default", "ai")
	ps := flag.ProblemsOf(err)
	if flag.KindOf(err) != flag.KindInvalid || len(ps) == 0 || ps[0].Path != "environments.development.flags.dep.prerequisites[0].flag" {
		t.Fatalf("deleting a prerequisite: %v %+v", err, ps)
	}
	if _, err := svc.Flag(ctx, admin, "default", "production", "ai"); err != nil {
		t.Fatalf("the rejected delete removed the flag: %v", err)
	}

	// The audit log holds every write, with before and after.
	entries, err := svc.Audit(ctx, admin, store.AuditFilter{Project: "default", Resource: "flag", Key: "ai"})
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]int{}
	for _, e := range entries {
		actions[e.Action]++
	}
	if actions["flag.create"] != 3 || actions["flag.disable"] != 1 || actions["flag.update"] != 1 || actions["flag.definition"] != 2 {
		t.Fatalf("audit actions %v", actions)
	}
}

func TestRolesAndScopes(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t)
	root := control.System("test")
	if _, err := svc.CreateProject(ctx, root, store.Project{Key: "shop"}, nil); err != nil {
		t.Fatal(err)
	}
	mk := func(req control.NewKey) control.Principal {
		_, secret, err := svc.CreateKey(ctx, root, req)
		if err != nil {
			t.Fatal(err)
		}
		p, err := svc.Authenticate(ctx, secret)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	viewer := mk(control.NewKey{Kind: store.KeyAdmin, Role: store.RoleViewer})
	editor := mk(control.NewKey{Kind: store.KeyAdmin, Role: store.RoleEditor, Project: "shop"})
	server := mk(control.NewKey{Kind: store.KeyServer, Project: "shop", Environment: "production"})

	if _, err := svc.CreateFlag(ctx, viewer, "shop", "production", boolFlag("x")); flag.KindOf(err) != flag.KindForbidden {
		t.Fatalf("viewer write: %v", err)
	}
	if _, err := svc.CreateFlag(ctx, editor, "shop", "production", boolFlag("x")); err != nil {
		t.Fatalf("editor write: %v", err)
	}
	if _, err := svc.CreateFlag(ctx, editor, "default", "production", boolFlag("x")); flag.KindOf(err) != flag.KindForbidden {
		t.Fatalf("scoped editor on another project: %v", err)
	}
	if _, err := svc.Flags(ctx, server, "shop", "production", control.FlagFilter{}); flag.KindOf(err) != flag.KindForbidden {
		t.Fatalf("server key on the admin API: %v", err)
	}
	if _, err := svc.Authenticate(ctx, "ramp_adm_nope"); flag.KindOf(err) != flag.KindUnauthorized {
		t.Fatalf("unknown key: %v", err)
	}
	keys, _ := svc.ListKeys(ctx, root, "shop")
	for _, k := range keys {
		if k.Kind == store.KeyServer {
			if _, err := svc.RevokeKey(ctx, root, k.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
}
