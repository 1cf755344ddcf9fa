package control

import (
	"context"
	"crypto/sha256"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ramphq/ramp/flag"
	"github.com/ramphq/ramp/internal/store"
)

// KeyCacheTTL bounds how long AuthenticateCached trusts what it learnt about a key. A key revoked or rotated
// through this process stops working at once (the cache is invalidated); a key revoked through another replica
// sharing the database stops working here within KeyCacheTTL.
const KeyCacheTTL = 5 * time.Second

// keyCacheMax caps the cache; past it the cache starts over, so a flood of made-up keys cannot grow it.
const keyCacheMax = 10_000

// keyCache maps the SHA-256 of a presented secret to what Authenticate answered for it. The zero value is
// ready. A version counter, bumped whenever a key is revoked or rotated, invalidates every entry at once. (A
// created key needs no invalidation: its secret is new, so nobody can have presented it before.)
type keyCache struct {
	version atomic.Uint64
	mu      sync.RWMutex
	m       map[[sha256.Size]byte]*keyEntry
}

type keyEntry struct {
	version uint64
	until   time.Time // KeyCacheTTL after the lookup, or the key's expiry if sooner
	p       Principal
	err     error // KindUnauthorized for unknown, revoked and expired keys
}

// invalidate forgets every cached key.
func (c *keyCache) invalidate() { c.version.Add(1) }

// AuthenticateCached is Authenticate for the evaluation hot path (OFREP, SDK delivery): it remembers each key's
// answer, unknown keys included, for up to KeyCacheTTL, so a request costs a SHA-256 and a map lookup instead of
// a store transaction. Store failures are never cached.
func (s *Service) AuthenticateCached(ctx context.Context, secret string) (Principal, error) {
	if secret == "" {
		return Principal{}, flag.Errorf(flag.KindUnauthorized, "an API key is required")
	}
	var h [sha256.Size]byte
	var buf [128]byte // hash from the stack: no copy of the secret on the heap
	if len(secret) <= len(buf) {
		h = sha256.Sum256(buf[:copy(buf[:], secret)])
	} else {
		h = sha256.Sum256([]byte(secret))
	}
	v := s.keys.version.Load()
	now := s.now()
	s.keys.mu.RLock()
	e, ok := s.keys.m[h]
	s.keys.mu.RUnlock()
	if ok && e.version == v && now.Before(e.until) {
		return e.p, e.err
	}
	var k store.APIKey
	hash := h // the closure's copy: h itself stays on the stack on the hit path
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		k, err = tx.KeyByHash(hash[:])
		return err
	})
	e = &keyEntry{version: v, until: now.Add(KeyCacheTTL)}
	switch {
	case flag.KindOf(err) == flag.KindNotFound:
		e.err = flag.Errorf(flag.KindUnauthorized, "unknown API key")
	case err != nil:
		return Principal{}, err
	case !k.Active(now):
		e.err = flag.Errorf(flag.KindUnauthorized, "API key %s is revoked or expired", k.ID)
	default:
		e.p = Principal{KeyID: k.ID, Kind: k.Kind, Role: k.Role, Project: k.Project, Environment: k.Environment}
		if k.ExpiresAt != nil && k.ExpiresAt.Before(e.until) {
			e.until = *k.ExpiresAt
		}
		if k.RevokedAt != nil && k.RevokedAt.Before(e.until) {
			e.until = *k.RevokedAt
		}
	}
	s.keys.mu.Lock()
	if s.keys.m == nil || len(s.keys.m) >= keyCacheMax {
		s.keys.m = map[[sha256.Size]byte]*keyEntry{}
	}
	s.keys.m[h] = e
	s.keys.mu.Unlock()
	return e.p, e.err
}
