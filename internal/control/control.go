// Package control is ramp's only write path for flags, segments, projects, environments and keys:
//
//	validate → one transaction holding the change and its audit rows → bump the environment's revision →
//	recompile the environment's snapshot → publish a change event.
//
// Everything that changes configuration (the admin API, the CLI through the API, imports, automated rollouts)
// goes through a Service, so every change is validated, authorized, versioned and audited the same way. The
// Service also owns the compiled snapshots that evaluation reads: one per environment, swapped atomically.
//
// It may import the flag model, the evaluator, the storage contract and the broker; never a concrete store.
package control

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ramphq/ramp/flag"
	"github.com/ramphq/ramp/internal/broker"
	"github.com/ramphq/ramp/internal/eval"
	"github.com/ramphq/ramp/internal/store"
)

// Service is the control plane. Create one with New; it is safe for concurrent use.
type Service struct {
	store  store.Store
	broker *broker.Broker
	log    *slog.Logger
	now    func() time.Time
	limits Limits
	keys   keyCache // AuthenticateCached's answers (keycache.go)

	mu    sync.Mutex
	snaps map[envID]*atomic.Pointer[Snapshot]
}

// Options configures a Service. Store is required; the rest have useful zero values.
type Options struct {
	Store  store.Store
	Broker *broker.Broker // nil: changes are not published
	Logger *slog.Logger   // nil: discard
	Now    func() time.Time
	Limits Limits // zero fields take the defaults
}

// Snapshot is an environment's compiled flags at one revision.
type Snapshot struct {
	Project     string
	Environment string
	Revision    int64
	Eval        *eval.Snapshot
	Set         *flag.Set // the set it was compiled from; read-only
}

type envID struct{ project, env string }

// New returns a Service.
func New(o Options) *Service {
	s := &Service{store: o.Store, broker: o.Broker, log: o.Logger, now: o.Now, limits: o.Limits.withDefaults(),
		snaps: map[envID]*atomic.Pointer[Snapshot]{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// Limits bounds what one project may hold. They keep a mistaken or hostile client from making evaluation or
// storage slow. Zero fields take the defaults in DefaultLimits.
type Limits struct {
	FlagsPerProject  int // flags in a project (archived included)
	RulesPerFlag     int
	ClausesPerRule   int
	ValuesPerClause  int
	TargetIDsPerFlag int // ids across all of a flag's targets
	FlagBytes        int // canonical JSON size of one flag
	SegmentIDs       int // included + excluded ids of one segment
}

// DefaultLimits are the documented entity limits (docs/server.md).
var DefaultLimits = Limits{
	FlagsPerProject:  5000,
	RulesPerFlag:     200,
	ClausesPerRule:   50,
	ValuesPerClause:  1000,
	TargetIDsPerFlag: 50_000,
	FlagBytes:        1 << 20,
	SegmentIDs:       100_000,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	pick := func(v, def int) int {
		if v > 0 {
			return v
		}
		return def
	}
	return Limits{
		FlagsPerProject:  pick(l.FlagsPerProject, d.FlagsPerProject),
		RulesPerFlag:     pick(l.RulesPerFlag, d.RulesPerFlag),
		ClausesPerRule:   pick(l.ClausesPerRule, d.ClausesPerRule),
		ValuesPerClause:  pick(l.ValuesPerClause, d.ValuesPerClause),
		TargetIDsPerFlag: pick(l.TargetIDsPerFlag, d.TargetIDsPerFlag),
		FlagBytes:        pick(l.FlagBytes, d.FlagBytes),
		SegmentIDs:       pick(l.SegmentIDs, d.SegmentIDs),
	}
}

// Limits returns the limits in force.
func (s *Service) Limits() Limits { return s.limits }

// Snapshot returns the environment's current compiled snapshot, compiling it from the store on first use.
func (s *Service) Snapshot(ctx context.Context, project, env string) (*Snapshot, error) {
	p := s.slot(project, env)
	if snap := p.Load(); snap != nil {
		return snap, nil
	}
	var snap *Snapshot
	err := s.store.View(ctx, func(tx store.Tx) error {
		e, err := tx.Environment(project, env)
		if err != nil {
			return err
		}
		set, err := envSet(tx, project, env)
		if err != nil {
			return err
		}
		compiled, err := eval.Compile(set)
		if err != nil {
			return fmt.Errorf("environment %s/%s holds an invalid flag set: %w", project, env, err)
		}
		snap = &Snapshot{Project: project, Environment: env, Revision: e.Revision, Eval: compiled, Set: set}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.install(snap)
	return p.Load(), nil
}

// Refresh recompiles an environment from the store if its revision moved on: replicas call it when another
// replica publishes a change.
func (s *Service) Refresh(ctx context.Context, project, env string) error {
	s.slot(project, env).Store(nil)
	_, err := s.Snapshot(ctx, project, env)
	return err
}

func (s *Service) slot(project, env string) *atomic.Pointer[Snapshot] {
	id := envID{project, env}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.snaps[id]
	if p == nil {
		p = &atomic.Pointer[Snapshot]{}
		s.snaps[id] = p
	}
	return p
}

// install swaps in snap unless a newer revision is already installed.
func (s *Service) install(snap *Snapshot) {
	p := s.slot(snap.Project, snap.Environment)
	for {
		old := p.Load()
		if old != nil && old.Revision >= snap.Revision {
			return
		}
		if p.CompareAndSwap(old, snap) {
			return
		}
	}
}

func (s *Service) forget(project, env string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range s.snaps {
		if id.project == project && (env == "" || id.env == env) {
			delete(s.snaps, id)
		}
	}
}

// envSet assembles an environment's evaluable flag set: every flag that is not archived, and every segment.
func envSet(tx store.Tx, project, env string) (*flag.Set, error) {
	flags, err := tx.Flags(project, env)
	if err != nil {
		return nil, err
	}
	segs, err := tx.Segments(project, env)
	if err != nil {
		return nil, err
	}
	set := &flag.Set{}
	for _, f := range flags {
		if !f.Archived {
			set.Flags = append(set.Flags, f.Flag)
		}
	}
	for _, g := range segs {
		set.Segments = append(set.Segments, g.Segment)
	}
	return set, nil
}

// change runs fn in one transaction, then validates and compiles every environment it touched, bumps their
// revisions and writes nothing at all if any of that fails. After the commit it installs the new snapshots and
// publishes one event per environment.
func (s *Service) change(ctx context.Context, project string, fn func(tx store.Tx, touch func(env string, kind string, keys ...string)) error) error {
	var snaps []*Snapshot
	var touched map[string]*touch
	err := s.store.Update(ctx, func(tx store.Tx) error {
		snaps = nil
		touched = map[string]*touch{}
		var order []string
		mark := func(env, kind string, keys ...string) {
			t := touched[env]
			if t == nil {
				t = &touch{kind: kind, flags: map[string]bool{}, segments: map[string]bool{}}
				touched[env] = t
				order = append(order, env)
			}
			t.keys = append(t.keys, keys...)
			for _, k := range keys {
				switch kind {
				case "flag":
					t.flags[k] = true
				case "segment":
					t.segments[k] = true
				default:
					t.full = true
				}
			}
			if kind != "flag" && kind != "segment" {
				t.full = true
			}
		}
		if err := fn(tx, mark); err != nil {
			return err
		}
		for _, env := range order {
			set, err := s.nextSet(tx, project, env, touched[env])
			if err != nil {
				return err
			}
			compiled, err := eval.Compile(set)
			if err != nil {
				return envProblems(env, set, err)
			}
			rev, err := tx.BumpRevision(project, env)
			if err != nil {
				return err
			}
			snaps = append(snaps, &Snapshot{Project: project, Environment: env, Revision: rev, Eval: compiled, Set: set})
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, snap := range snaps {
		s.install(snap)
		if s.broker != nil {
			t := touched[snap.Environment]
			s.broker.Publish(broker.Event{Project: project, Environment: snap.Environment, Revision: snap.Revision, Kind: t.kind, Keys: t.keys})
		}
	}
	return nil
}

// touch records what one change did to one environment.
type touch struct {
	kind     string // the first kind of change, for the published event
	keys     []string
	flags    map[string]bool
	segments map[string]bool
	full     bool // something other than flags and segments changed: reread everything
}

// nextSet returns the environment's flag set as the transaction leaves it. When the installed snapshot is at the
// environment's current revision, only the flags and segments the change touched are read back from the store
// and the rest comes from the snapshot: a write to one flag of an environment with thousands then costs one read,
// not thousands of reads and decodes. Otherwise (first use, another replica wrote, a new environment) it reads
// the whole environment.
func (s *Service) nextSet(tx store.Tx, project, env string, t *touch) (*flag.Set, error) {
	cur := s.slot(project, env).Load()
	if t.full || cur == nil {
		return envSet(tx, project, env)
	}
	e, err := tx.Environment(project, env)
	if err != nil {
		return nil, err
	}
	if e.Revision != cur.Revision {
		return envSet(tx, project, env)
	}
	set := &flag.Set{Flags: make([]flag.Flag, 0, len(cur.Set.Flags)+len(t.flags)), Segments: make([]flag.Segment, 0, len(cur.Set.Segments)+len(t.segments))}
	for _, f := range cur.Set.Flags {
		if !t.flags[f.Key] {
			set.Flags = append(set.Flags, f)
		}
	}
	for _, k := range sortedKeys(t.flags) {
		rec, err := tx.Flag(project, env, k)
		if flag.KindOf(err) == flag.KindNotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		if !rec.Archived {
			set.Flags = append(set.Flags, rec.Flag)
		}
	}
	for _, g := range cur.Set.Segments {
		if !t.segments[g.Key] {
			set.Segments = append(set.Segments, g)
		}
	}
	for _, k := range sortedKeys(t.segments) {
		rec, err := tx.Segment(project, env, k)
		if flag.KindOf(err) == flag.KindNotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		set.Segments = append(set.Segments, rec.Segment)
	}
	// Keep the store's order (by key), so a set reads the same however it was assembled.
	slices.SortFunc(set.Flags, func(a, b flag.Flag) int { return strings.Compare(a.Key, b.Key) })
	slices.SortFunc(set.Segments, func(a, b flag.Segment) int { return strings.Compare(a.Key, b.Key) })
	return set, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// envProblems rewrites set-level validation paths ("flags[3].rules[0]...") into paths that name the environment
// and the flag key, which is what a caller editing one flag can act on.
func envProblems(env string, set *flag.Set, err error) error {
	ps := flag.ProblemsOf(err)
	if len(ps) == 0 {
		return err
	}
	out := make([]flag.Problem, len(ps))
	for i, p := range ps {
		out[i] = flag.Problem{Path: "environments." + env + "." + renamePath(set, p.Path), Message: p.Message}
	}
	return &flag.Error{Kind: flag.KindInvalid, Message: "the change would leave environment " + env + " invalid", Problems: out}
}

func renamePath(set *flag.Set, path string) string {
	var i int
	var rest string
	if n, _ := fmt.Sscanf(path, "flags[%d]", &i); n == 1 && i < len(set.Flags) {
		rest = path[len(fmt.Sprintf("flags[%d]", i)):]
		return "flags." + set.Flags[i].Key + rest
	}
	if n, _ := fmt.Sscanf(path, "segments[%d]", &i); n == 1 && i < len(set.Segments) {
		rest = path[len(fmt.Sprintf("segments[%d]", i)):]
		return "segments." + set.Segments[i].Key + rest
	}
	return path
}

func mustJSON(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // records are plain data; a marshal failure is a programming error
	}
	return b
}

func (s *Service) audit(tx store.Tx, p Principal, action, project, env, resource, key string, version int64, before, after any) error {
	e := &store.AuditEntry{At: s.now().UTC(), Actor: p.Actor(), Action: action, Project: project, Environment: env,
		Resource: resource, Key: key, Version: version}
	if before != nil {
		e.Before = mustJSON(before)
	}
	if after != nil {
		e.After = mustJSON(after)
	}
	return tx.AppendAudit(e)
}
