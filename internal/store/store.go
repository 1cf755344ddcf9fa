// Package store defines ramp's storage contract: the records the control plane keeps (projects, environments,
// per-environment flags and segments, API keys, the audit log) and the transactional interface every backend
// implements. Package storetest is the conformance suite that every backend runs; internal/store/sqlite and
// internal/store/postgres are the two backends.
//
// The contract is deliberately plain: a backend stores and returns records, enforces uniqueness and optimistic
// versions, and makes a transaction all-or-nothing. It does not validate flags, compile them, or decide who may
// do what; that is internal/control's job. Only internal/cli imports a concrete backend.
//
// Errors are *flag.Error values: KindNotFound for a missing record, KindConflict for a duplicate key or a stale
// version, KindInvalid for a record the backend cannot store (a key too long, say), and anything else is an
// internal error.
package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/ramphq/ramp/flag"
)

// Store is a backend. Update runs fn in a read-write transaction and commits it when fn returns nil; View runs
// fn in a read-only transaction. A transaction whose fn returns an error, panics, or whose commit fails leaves
// nothing behind. Writers are serialized, so fn runs exactly once and a read-then-write inside it never races
// another writer; fn must not call Update itself (it would wait for its own lock). A write refused inside fn
// (conflict, not found, invalid) leaves the transaction usable, so fn may read the current state and report it.
type Store interface {
	Update(ctx context.Context, fn func(Tx) error) error
	View(ctx context.Context, fn func(Tx) error) error
	Close() error
}

// Tx is one transaction. Its methods must not be used after the function it was passed to returns. Lists are
// ordered by key (audit entries: newest first).
type Tx interface {
	CreateProject(p Project) error
	Project(key string) (Project, error)
	Projects() ([]Project, error)
	// DeleteProject removes a project with its environments, flags, segments and keys. Its audit entries stay.
	DeleteProject(key string) error

	CreateEnvironment(e Environment) error
	Environment(project, key string) (Environment, error)
	Environments(project string) ([]Environment, error)
	// DeleteEnvironment removes an environment with its flags, segments and keys. Its audit entries stay.
	DeleteEnvironment(project, key string) error
	// BumpRevision increments the environment's revision and returns the new value.
	BumpRevision(project, env string) (int64, error)

	// PutFlag writes a flag record. With ifVersion 0 it inserts (KindConflict if the key exists in that
	// environment); otherwise it updates only when the stored version equals ifVersion (KindConflict if not,
	// KindNotFound if there is no such flag). On success rec.Version holds the new version: 1 for an insert,
	// ifVersion+1 for an update.
	PutFlag(rec *FlagRecord, ifVersion int64) error
	Flag(project, env, key string) (FlagRecord, error)
	// Flags lists an environment's flags, archived ones included.
	Flags(project, env string) ([]FlagRecord, error)
	// DeleteFlag removes a flag from one environment when its version equals ifVersion (0: any version).
	DeleteFlag(project, env, key string, ifVersion int64) error

	// PutSegment, Segment, Segments and DeleteSegment behave like their flag counterparts.
	PutSegment(rec *SegmentRecord, ifVersion int64) error
	Segment(project, env, key string) (SegmentRecord, error)
	Segments(project, env string) ([]SegmentRecord, error)
	DeleteSegment(project, env, key string, ifVersion int64) error

	// CreateKey stores a new API key (KindConflict if its ID or hash exists).
	CreateKey(k APIKey) error
	// KeyByHash finds a key by the SHA-256 hash of its secret, revoked and expired keys included.
	KeyByHash(hash []byte) (APIKey, error)
	Key(id string) (APIKey, error)
	// Keys lists keys, all of them for project "", else those scoped to project. Lists under a missing project
	// or environment are KindNotFound, not empty.
	Keys(project string) ([]APIKey, error)
	// UpdateKey rewrites a key's mutable fields: Name, ExpiresAt, RevokedAt, LastUsedAt.
	UpdateKey(k APIKey) error

	// AppendAudit stores an audit entry and sets its ID (strictly increasing).
	AppendAudit(e *AuditEntry) error
	Audit(f AuditFilter) ([]AuditEntry, error)
}

// Project groups environments, flags and keys.
type Project struct {
	Key         string    `json:"key"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
}

// Environment is one deployment stage of a project (development, staging, production). Its Revision increases
// with every change to its flags or segments; SDKs use it to know whether they are up to date.
type Environment struct {
	Project   string    `json:"project"`
	Key       string    `json:"key"`
	Name      string    `json:"name"`
	Revision  int64     `json:"revision"`
	CreatedAt time.Time `json:"createdAt"`
}

// FlagRecord is a flag as it is configured in one environment. Definition fields (name, type, variations, ...)
// are the same in every environment of a project; targeting (enabled, targets, rules, fallthrough) is per
// environment. The control plane keeps them in step.
type FlagRecord struct {
	Project     string    `json:"project"`
	Environment string    `json:"environment"`
	Flag        flag.Flag `json:"flag"`
	Version     int64     `json:"version"`
	Archived    bool      `json:"archived"`
	UpdatedAt   time.Time `json:"updatedAt"`
	UpdatedBy   string    `json:"updatedBy"`
}

// SegmentRecord is a segment in one environment.
type SegmentRecord struct {
	Project     string       `json:"project"`
	Environment string       `json:"environment"`
	Segment     flag.Segment `json:"segment"`
	Version     int64        `json:"version"`
	UpdatedAt   time.Time    `json:"updatedAt"`
	UpdatedBy   string       `json:"updatedBy"`
}

// KeyKind says what an API key is for.
type KeyKind string

// The kinds of key.
const (
	KeyAdmin  KeyKind = "admin"  // admin API, with a Role and an optional project scope
	KeyServer KeyKind = "server" // server SDKs of one environment: full flag configuration, events
	KeyClient KeyKind = "client" // client SDKs of one environment: evaluated values only, events
)

// Role is what an admin token may do.
type Role string

// The roles, each including the ones before it.
const (
	RoleViewer Role = "viewer"
	RoleEditor Role = "editor"
	RoleAdmin  Role = "admin"
)

// APIKey is a stored key. The secret itself is never stored: only its SHA-256 hash.
type APIKey struct {
	ID          string     `json:"id"` // public identifier, shown in lists and audit entries
	Kind        KeyKind    `json:"kind"`
	Role        Role       `json:"role,omitempty"`        // admin keys
	Project     string     `json:"project,omitempty"`     // scope; required for server and client keys
	Environment string     `json:"environment,omitempty"` // server and client keys
	Name        string     `json:"name,omitempty"`
	Hash        []byte     `json:"-"`
	CreatedAt   time.Time  `json:"createdAt"`
	CreatedBy   string     `json:"createdBy,omitempty"`
	ExpiresAt   *time.Time `json:"expiresAt,omitempty"` // set when rotated: the old key works until then
	RevokedAt   *time.Time `json:"revokedAt,omitempty"`
	LastUsedAt  *time.Time `json:"lastUsedAt,omitempty"`
}

// Active reports whether the key may be used at now.
func (k APIKey) Active(now time.Time) bool {
	if k.RevokedAt != nil && !now.Before(*k.RevokedAt) {
		return false
	}
	return k.ExpiresAt == nil || now.Before(*k.ExpiresAt)
}

// AuditEntry records one change: who made it, when, to what, and the record before and after (JSON; null for a
// create or a delete).
type AuditEntry struct {
	ID          int64           `json:"id"`
	At          time.Time       `json:"at"`
	Actor       string          `json:"actor"`
	Action      string          `json:"action"` // e.g. flag.create, flag.update, flag.toggle, key.revoke
	Project     string          `json:"project,omitempty"`
	Environment string          `json:"environment,omitempty"`
	Resource    string          `json:"resource"` // project, environment, flag, segment, key
	Key         string          `json:"key"`
	Version     int64           `json:"version,omitempty"` // the resource's version after the change
	Before      json.RawMessage `json:"before,omitempty"`
	After       json.RawMessage `json:"after,omitempty"`
}

// AuditFilter selects audit entries. Zero fields do not filter. Since includes its instant, Until excludes it.
// Entries come newest first; BeforeID pages backwards (entries with ID < BeforeID). Limit 0 means 100.
type AuditFilter struct {
	Project     string
	Environment string
	Resource    string
	Key         string
	Since       time.Time
	Until       time.Time
	BeforeID    int64
	Limit       int
}
