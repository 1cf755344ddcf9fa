package control_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ramphq/ramp/flag"
	"github.com/ramphq/ramp/internal/control"
	"github.com/ramphq/ramp/internal/store"
	"github.com/ramphq/ramp/internal/store/sqlite"
)

// The key cache: answers are remembered for KeyCacheTTL; a revocation through this Service is seen at once,
// one written by someone else (another replica) within the TTL; unknown keys are remembered too, and store
// failures never are.
func TestAuthenticateCached(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	travel := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	svc := control.New(control.Options{Store: st, Now: clock})
	other := control.New(control.Options{Store: st, Now: clock}) // another replica on the same database
	if _, _, err := svc.Bootstrap(ctx, "bootstrap-token-0123456789"); err != nil {
		t.Fatal(err)
	}
	sys := control.System("test")
	k, secret, err := svc.CreateKey(ctx, sys, control.NewKey{Kind: store.KeyServer, Project: "default", Environment: "production"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.AuthenticateCached(ctx, secret)
	if err != nil || p.KeyID != k.ID || p.Kind != store.KeyServer || p.Project != "default" || p.Environment != "production" {
		t.Fatalf("%+v %v", p, err)
	}

	// Revoked through the other replica: this one still trusts its cache, for at most the TTL.
	if _, err := other.RevokeKey(ctx, sys, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AuthenticateCached(ctx, secret); err != nil {
		t.Fatalf("within the TTL: %v", err)
	}
	travel(control.KeyCacheTTL)
	if _, err := svc.AuthenticateCached(ctx, secret); flag.KindOf(err) != flag.KindUnauthorized {
		t.Fatalf("after the TTL: %v, want unauthorized", err)
	}

	// Revoked through this replica: at once.
	k2, secret2, err := svc.CreateKey(ctx, sys, control.NewKey{Kind: store.KeyClient, Project: "default", Environment: "production"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AuthenticateCached(ctx, secret2); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RevokeKey(ctx, sys, k2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AuthenticateCached(ctx, secret2); flag.KindOf(err) != flag.KindUnauthorized {
		t.Fatalf("revoked here: %v", err)
	}

	// A rotated key's grace ends on time even though the cache knew it.
	k3, secret3, err := svc.CreateKey(ctx, sys, control.NewKey{Kind: store.KeyServer, Project: "default", Environment: "production"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.RotateKey(ctx, sys, k3.ID, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AuthenticateCached(ctx, secret3); err != nil {
		t.Fatalf("in its grace period: %v", err)
	}
	travel(2 * time.Second)
	if _, err := svc.AuthenticateCached(ctx, secret3); flag.KindOf(err) != flag.KindUnauthorized {
		t.Fatalf("after its grace period: %v", err)
	}

	// Unknown and missing keys.
	for _, s := range []string{"", "ramp_srv_unknown"} {
		if _, err := svc.AuthenticateCached(ctx, s); flag.KindOf(err) != flag.KindUnauthorized {
			t.Fatalf("%q: %v", s, err)
		}
	}
}

func TestResync(t *testing.T) {
	ctx := context.Background()
	svc, b := newService(t)
	sub := b.Subscribe("default", "production")
	defer sub.Close()
	if _, err := svc.CreateFlag(ctx, control.System("test"), "default", "production", boolFlag("a")); err != nil {
		t.Fatal(err)
	}
	<-sub.C
	rev, err := svc.Resync(ctx, control.System("test"), "default", "production")
	if err != nil || rev != 1 {
		t.Fatalf("resync: %d %v", rev, err)
	}
	select {
	case e := <-sub.C:
		if e.Kind != control.EventResync || e.Revision != 1 {
			t.Fatalf("event %+v", e)
		}
	case <-time.After(time.Second):
		t.Fatal("no resync event")
	}
	if _, err := svc.Resync(ctx, control.System("test"), "default", "nope"); flag.KindOf(err) != flag.KindNotFound {
		t.Fatalf("unknown environment: %v", err)
	}
	if _, err := svc.Resync(ctx, control.Principal{Kind: store.KeyServer}, "default", "production"); flag.KindOf(err) != flag.KindForbidden {
		t.Fatalf("server key: %v", err)
	}
}
