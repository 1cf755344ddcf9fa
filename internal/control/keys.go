package control

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"time"

	"github.com/ramphq/ramp/flag"
	"github.com/ramphq/ramp/internal/store"
)

// Principal is who is calling: the key they presented, resolved.
type Principal struct {
	KeyID       string
	Kind        store.KeyKind
	Role        store.Role
	Project     string // scope: "" for an unscoped admin token
	Environment string // server and client keys
	System      string // set for internal actors (bootstrap, rollouts); they bypass role checks
}

// System returns a principal for ramp's own automated changes, named in the audit log as "system:name".
func System(name string) Principal { return Principal{System: name} }

// Actor names the principal in audit entries.
func (p Principal) Actor() string {
	if p.System != "" {
		return "system:" + p.System
	}
	return "key:" + p.KeyID
}

var roleRank = map[store.Role]int{store.RoleViewer: 1, store.RoleEditor: 2, store.RoleAdmin: 3}

// can checks that p may act with role need on project ("" for actions on no project, such as listing or
// creating projects, which only unscoped tokens may do when need is admin).
func (p Principal) can(need store.Role, project string) error {
	if p.System != "" {
		return nil
	}
	if p.Kind != store.KeyAdmin {
		return flag.Errorf(flag.KindForbidden, "%s keys cannot use the admin API", p.Kind)
	}
	if roleRank[p.Role] < roleRank[need] {
		return flag.Errorf(flag.KindForbidden, "role %s cannot do this; it needs %s", p.Role, need)
	}
	if p.Project != "" && project != p.Project {
		if project == "" {
			return flag.Errorf(flag.KindForbidden, "a token scoped to project %q cannot do this", p.Project)
		}
		return flag.Errorf(flag.KindForbidden, "a token scoped to project %q cannot access project %q", p.Project, project)
	}
	return nil
}

// Key prefixes tell a leaked secret's kind at a glance (and let secret scanners find them).
var keyPrefix = map[store.KeyKind]string{store.KeyAdmin: "ramp_adm_", store.KeyServer: "ramp_srv_", store.KeyClient: "ramp_cli_"}

// newSecret returns a fresh key: 256 random bits, and the public id derived from its first bytes' hash.
func newSecret(kind store.KeyKind) (secret, id string, hash []byte) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	secret = keyPrefix[kind] + base64.RawURLEncoding.EncodeToString(b[:])
	h := sha256.Sum256([]byte(secret))
	return secret, keyPrefix[kind] + base64.RawURLEncoding.EncodeToString(h[:6]), h[:]
}

// NewAdminSecret returns a fresh admin token, for callers that must store it somewhere safe before it is
// registered with Bootstrap.
func NewAdminSecret() string {
	secret, _, _ := newSecret(store.KeyAdmin)
	return secret
}

// HashKey returns the stored hash of a secret.
func HashKey(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// Authenticate resolves a presented secret. Unknown, revoked and expired keys are KindUnauthorized.
func (s *Service) Authenticate(ctx context.Context, secret string) (Principal, error) {
	if secret == "" {
		return Principal{}, flag.Errorf(flag.KindUnauthorized, "an API key is required")
	}
	var k store.APIKey
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		k, err = tx.KeyByHash(HashKey(secret))
		return err
	})
	if flag.KindOf(err) == flag.KindNotFound {
		return Principal{}, flag.Errorf(flag.KindUnauthorized, "unknown API key")
	}
	if err != nil {
		return Principal{}, err
	}
	if !k.Active(s.now()) {
		return Principal{}, flag.Errorf(flag.KindUnauthorized, "API key %s is revoked or expired", k.ID)
	}
	return Principal{KeyID: k.ID, Kind: k.Kind, Role: k.Role, Project: k.Project, Environment: k.Environment}, nil
}

// NewKey is a request for a key.
type NewKey struct {
	Kind        store.KeyKind `json:"kind"`
	Role        store.Role    `json:"role,omitempty"`
	Project     string        `json:"project,omitempty"`
	Environment string        `json:"environment,omitempty"`
	Name        string        `json:"name,omitempty"`
}

// CreateKey creates a key and returns its secret, which is never shown again. Only admins may create keys;
// a project-scoped admin only within its project.
func (s *Service) CreateKey(ctx context.Context, p Principal, req NewKey) (store.APIKey, string, error) {
	if err := validateNewKey(req); err != nil {
		return store.APIKey{}, "", err
	}
	if err := p.can(store.RoleAdmin, req.Project); err != nil {
		return store.APIKey{}, "", err
	}
	secret, id, hash := newSecret(req.Kind)
	k := store.APIKey{ID: id, Kind: req.Kind, Role: req.Role, Project: req.Project, Environment: req.Environment,
		Name: req.Name, Hash: hash, CreatedAt: s.now().UTC(), CreatedBy: p.Actor()}
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if req.Project != "" {
			if _, err := tx.Project(req.Project); err != nil {
				return err
			}
		}
		if req.Environment != "" {
			if _, err := tx.Environment(req.Project, req.Environment); err != nil {
				return err
			}
		}
		if err := tx.CreateKey(k); err != nil {
			return err
		}
		return s.audit(tx, p, "key.create", req.Project, req.Environment, "key", id, 0, nil, k)
	})
	if err != nil {
		return store.APIKey{}, "", err
	}
	return k, secret, nil
}

func validateNewKey(req NewKey) error {
	var ps []flag.Problem
	switch req.Kind {
	case store.KeyAdmin:
		if _, ok := roleRank[req.Role]; !ok {
			ps = append(ps, flag.Problem{Path: "role", Message: "admin tokens need a role: viewer, editor or admin"})
		}
		if req.Environment != "" {
			ps = append(ps, flag.Problem{Path: "environment", Message: "admin tokens are scoped to a project, not an environment"})
		}
	case store.KeyServer, store.KeyClient:
		if req.Role != "" {
			ps = append(ps, flag.Problem{Path: "role", Message: "only admin tokens have a role"})
		}
		if req.Project == "" {
			ps = append(ps, flag.Problem{Path: "project", Message: "is required for " + string(req.Kind) + " keys"})
		}
		if req.Environment == "" {
			ps = append(ps, flag.Problem{Path: "environment", Message: "is required for " + string(req.Kind) + " keys"})
		}
	default:
		ps = append(ps, flag.Problem{Path: "kind", Message: "must be admin, server or client"})
	}
	if len(req.Name) > 200 {
		ps = append(ps, flag.Problem{Path: "name", Message: "longer than 200 characters"})
	}
	if len(ps) > 0 {
		return &flag.Error{Kind: flag.KindInvalid, Message: "invalid key request", Problems: ps}
	}
	return nil
}

// ListKeys lists keys (never their secrets): all of them for an unscoped admin, else the token's project.
func (s *Service) ListKeys(ctx context.Context, p Principal, project string) ([]store.APIKey, error) {
	if p.Project != "" && project == "" {
		project = p.Project
	}
	if err := p.can(store.RoleAdmin, project); err != nil {
		return nil, err
	}
	var keys []store.APIKey
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		keys, err = tx.Keys(project)
		return err
	})
	return keys, err
}

// RevokeKey revokes a key at once.
func (s *Service) RevokeKey(ctx context.Context, p Principal, id string) (store.APIKey, error) {
	return s.endKey(ctx, p, id, 0, "key.revoke")
}

// RotateKey creates a replacement for a key with the same scope, and lets the old one work for grace more.
func (s *Service) RotateKey(ctx context.Context, p Principal, id string, grace time.Duration) (store.APIKey, string, error) {
	var old store.APIKey
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		old, err = tx.Key(id)
		return err
	})
	if err != nil {
		return store.APIKey{}, "", err
	}
	if err := p.can(store.RoleAdmin, old.Project); err != nil {
		return store.APIKey{}, "", err
	}
	if !old.Active(s.now()) {
		return store.APIKey{}, "", flag.Errorf(flag.KindConflict, "key %s is already revoked or expired", id)
	}
	k, secret, err := s.CreateKey(ctx, p, NewKey{Kind: old.Kind, Role: old.Role, Project: old.Project, Environment: old.Environment, Name: old.Name})
	if err != nil {
		return store.APIKey{}, "", err
	}
	if _, err := s.endKey(ctx, p, id, grace, "key.rotate"); err != nil {
		return store.APIKey{}, "", err
	}
	return k, secret, nil
}

func (s *Service) endKey(ctx context.Context, p Principal, id string, grace time.Duration, action string) (store.APIKey, error) {
	var k store.APIKey
	err := s.store.Update(ctx, func(tx store.Tx) error {
		var err error
		if k, err = tx.Key(id); err != nil {
			return err
		}
		if err := p.can(store.RoleAdmin, k.Project); err != nil {
			return err
		}
		before := k
		at := s.now().UTC()
		if grace > 0 {
			end := at.Add(grace)
			if k.ExpiresAt == nil || end.Before(*k.ExpiresAt) { // a rotation never extends a key's life
				k.ExpiresAt = &end
			}
		} else {
			k.RevokedAt = &at
		}
		if err := tx.UpdateKey(k); err != nil {
			return err
		}
		return s.audit(tx, p, action, k.Project, k.Environment, "key", id, 0, before, k)
	})
	s.keys.invalidate()
	return k, err
}

// Bootstrap prepares an empty store: project "default" with development, staging and production, and a first
// admin token. With token set (RAMP_ADMIN_TOKEN) that token becomes the admin key; otherwise a key is generated
// and returned so the caller can hand it to the operator. created is false when the store already had keys.
func (s *Service) Bootstrap(ctx context.Context, token string) (secret string, created bool, err error) {
	sys := System("bootstrap")
	err = s.store.Update(ctx, func(tx store.Tx) error {
		projects, err := tx.Projects()
		if err != nil {
			return err
		}
		if len(projects) == 0 {
			now := s.now().UTC()
			p := store.Project{Key: "default", Name: "Default", CreatedAt: now}
			if err := tx.CreateProject(p); err != nil {
				return err
			}
			if err := s.audit(tx, sys, "project.create", "default", "", "project", "default", 0, nil, p); err != nil {
				return err
			}
			for _, env := range []string{"development", "staging", "production"} {
				e := store.Environment{Project: "default", Key: env, Name: strings.ToUpper(env[:1]) + env[1:], CreatedAt: now}
				if err := tx.CreateEnvironment(e); err != nil {
					return err
				}
				if err := s.audit(tx, sys, "environment.create", "default", env, "environment", env, 0, nil, e); err != nil {
					return err
				}
			}
		}
		keys, err := tx.Keys("")
		if err != nil {
			return err
		}
		for _, k := range keys {
			if k.Kind == store.KeyAdmin && k.Role == store.RoleAdmin && k.Project == "" && k.Active(s.now()) {
				return nil
			}
		}
		var id string
		var hash []byte
		if token != "" {
			if len(token) < 16 {
				return flag.Errorf(flag.KindInvalid, "RAMP_ADMIN_TOKEN must be at least 16 characters")
			}
			secret, hash = token, HashKey(token)
			h := sha256.Sum256([]byte(token))
			id = keyPrefix[store.KeyAdmin] + base64.RawURLEncoding.EncodeToString(h[:6])
		} else {
			secret, id, hash = newSecret(store.KeyAdmin)
		}
		k := store.APIKey{ID: id, Kind: store.KeyAdmin, Role: store.RoleAdmin, Name: "bootstrap admin", Hash: hash,
			CreatedAt: s.now().UTC(), CreatedBy: sys.Actor()}
		if err := tx.CreateKey(k); err != nil {
			return err
		}
		created = true
		return s.audit(tx, sys, "key.create", "", "", "key", id, 0, nil, k)
	})
	if err != nil || !created {
		return "", false, err
	}
	return secret, true, nil
}
