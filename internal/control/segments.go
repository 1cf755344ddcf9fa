package control

import (
	"context"
	"fmt"
	"time"

	"github.com/ramphq/ramp/flag"
	"github.com/ramphq/ramp/internal/eval"
	"github.com/ramphq/ramp/internal/store"
)

// Segments lists an environment's segments.
func (s *Service) Segments(ctx context.Context, p Principal, project, env string) ([]store.SegmentRecord, error) {
	if err := p.can(store.RoleViewer, project); err != nil {
		return nil, err
	}
	var out []store.SegmentRecord
	err := s.store.View(ctx, func(tx store.Tx) error {
		if _, err := tx.Environment(project, env); err != nil {
			return err
		}
		var err error
		out, err = tx.Segments(project, env)
		return err
	})
	return out, err
}

// Segment returns one segment.
func (s *Service) Segment(ctx context.Context, p Principal, project, env, key string) (store.SegmentRecord, error) {
	if err := p.can(store.RoleViewer, project); err != nil {
		return store.SegmentRecord{}, err
	}
	var out store.SegmentRecord
	err := s.store.View(ctx, func(tx store.Tx) (err error) { out, err = tx.Segment(project, env, key); return err })
	return out, err
}

// PutSegment creates (ifVersion 0) or replaces a segment in one environment.
func (s *Service) PutSegment(ctx context.Context, p Principal, project, env string, g flag.Segment, ifVersion int64) (store.SegmentRecord, error) {
	if err := p.can(store.RoleEditor, project); err != nil {
		return store.SegmentRecord{}, err
	}
	if err := s.checkSegment(&g); err != nil {
		return store.SegmentRecord{}, err
	}
	var out store.SegmentRecord
	err := s.change(ctx, project, func(tx store.Tx, touch func(string, string, ...string)) error {
		if _, err := tx.Environment(project, env); err != nil {
			return err
		}
		var before any
		if ifVersion != 0 {
			cur, err := tx.Segment(project, env, g.Key)
			if err != nil {
				return err
			}
			if cur.Version != ifVersion {
				return &flag.Error{Kind: flag.KindConflict, Message: fmt.Sprintf("segment %q in %s is at version %d, not %d", g.Key, env, cur.Version, ifVersion),
					Problems: []flag.Problem{{Path: "version", Message: fmt.Sprintf("current version is %d", cur.Version)}}}
			}
			before = cur.Segment
		}
		rec := store.SegmentRecord{Project: project, Environment: env, Segment: g, UpdatedAt: s.now().UTC().Truncate(time.Millisecond), UpdatedBy: p.Actor()}
		if err := tx.PutSegment(&rec, ifVersion); err != nil {
			return err
		}
		action := "segment.update"
		if ifVersion == 0 {
			action = "segment.create"
		}
		if err := s.audit(tx, p, action, project, env, "segment", g.Key, rec.Version, before, rec.Segment); err != nil {
			return err
		}
		touch(env, "segment", g.Key)
		out = rec
		return nil
	})
	return out, err
}

// DeleteSegment deletes a segment from one environment; it fails while a flag there still uses it.
func (s *Service) DeleteSegment(ctx context.Context, p Principal, project, env, key string, ifVersion int64) error {
	if err := p.can(store.RoleEditor, project); err != nil {
		return err
	}
	return s.change(ctx, project, func(tx store.Tx, touch func(string, string, ...string)) error {
		cur, err := tx.Segment(project, env, key)
		if err != nil {
			return err
		}
		if err := tx.DeleteSegment(project, env, key, ifVersion); err != nil {
			return err
		}
		if err := s.audit(tx, p, "segment.delete", project, env, "segment", key, cur.Version, cur.Segment, nil); err != nil {
			return err
		}
		touch(env, "segment", key)
		return nil
	})
}

func (s *Service) checkSegment(g *flag.Segment) error {
	set := &flag.Set{Segments: []flag.Segment{*g}}
	set.Normalize()
	*g = set.Segments[0]
	var ps []flag.Problem
	if err := set.Validate(); err != nil {
		for _, p := range flag.ProblemsOf(err) {
			if p.Message == fmt.Sprintf("unknown segment %q", "") {
				continue
			}
			ps = append(ps, flag.Problem{Path: trimIndex(p.Path, "segments[0]"), Message: p.Message})
		}
	}
	if n := len(g.Included) + len(g.Excluded); n > s.limits.SegmentIDs {
		ps = append(ps, flag.Problem{Path: "included", Message: fmt.Sprintf("%d ids, more than the limit of %d", n, s.limits.SegmentIDs)})
	}
	if len(ps) > 0 {
		return &flag.Error{Kind: flag.KindInvalid, Message: "invalid segment", Problems: ps}
	}
	return nil
}

func trimIndex(path, prefix string) string {
	if len(path) >= len(prefix) && path[:len(prefix)] == prefix {
		path = path[len(prefix):]
		if len(path) > 0 && path[0] == '.' {
			path = path[1:]
		}
	}
	return path
}

// ImportResult says what an import changed.
type ImportResult struct {
	Created  []string `json:"created"`
	Updated  []string `json:"updated"`
	Segments []string `json:"segments"`
}

// Import writes a flag set into one environment in a single change: new flags are created in every environment
// (enabled only in env), existing flags in env take the imported configuration (definition changes reach the
// other environments), and segments are created or replaced in env (new ones in every environment, so that
// flags copied there stay valid). Nothing is written if any part is invalid.
func (s *Service) Import(ctx context.Context, p Principal, project, env string, set *flag.Set) (ImportResult, error) {
	if err := p.can(store.RoleEditor, project); err != nil {
		return ImportResult{}, err
	}
	set.Normalize()
	if err := set.Validate(); err != nil {
		return ImportResult{}, err
	}
	var res ImportResult
	now := s.now().UTC().Truncate(time.Millisecond)
	err := s.change(ctx, project, func(tx store.Tx, touch func(string, string, ...string)) error {
		res = ImportResult{}
		envs, err := s.projectEnvs(tx, project, env)
		if err != nil {
			return err
		}
		for i := range set.Segments {
			g := set.Segments[i]
			if err := s.checkSegment(&g); err != nil {
				return prefixProblems(err, fmt.Sprintf("segments[%d]", i))
			}
			for _, e := range envs {
				cur, err := tx.Segment(project, e.Key, g.Key)
				switch {
				case flag.KindOf(err) == flag.KindNotFound:
					rec := store.SegmentRecord{Project: project, Environment: e.Key, Segment: g, UpdatedAt: now, UpdatedBy: p.Actor()}
					if err := tx.PutSegment(&rec, 0); err != nil {
						return err
					}
					if err := s.audit(tx, p, "segment.import", project, e.Key, "segment", g.Key, rec.Version, nil, g); err != nil {
						return err
					}
				case err != nil:
					return err
				case e.Key == env:
					before := cur.Segment
					cur.Segment, cur.UpdatedAt, cur.UpdatedBy = g, now, p.Actor()
					if err := tx.PutSegment(&cur, cur.Version); err != nil {
						return err
					}
					if err := s.audit(tx, p, "segment.import", project, e.Key, "segment", g.Key, cur.Version, before, g); err != nil {
						return err
					}
				default:
					continue
				}
				touch(e.Key, "segment", g.Key)
			}
			res.Segments = append(res.Segments, g.Key)
		}
		for i := range set.Flags {
			f := set.Flags[i]
			if err := s.checkFlag(&f); err != nil {
				return prefixProblems(err, fmt.Sprintf("flags[%d]", i))
			}
			cur, err := tx.Flag(project, env, f.Key)
			if err != nil && flag.KindOf(err) != flag.KindNotFound {
				return err
			}
			if err == nil { // update in env, definition to the others
				f.CreatedAt, f.UpdatedAt = cur.Flag.CreatedAt, &now
				rec := cur
				rec.Flag, rec.UpdatedAt, rec.UpdatedBy = f, now, p.Actor()
				if err := tx.PutFlag(&rec, cur.Version); err != nil {
					return err
				}
				if err := s.audit(tx, p, "flag.import", project, env, "flag", f.Key, rec.Version, cur.Flag, f); err != nil {
					return err
				}
				touch(env, "flag", f.Key)
				if !sameDefinition(&cur.Flag, &f) {
					if err := s.propagateDefinition(tx, p, project, env, f, now, touch); err != nil {
						return err
					}
				}
				res.Updated = append(res.Updated, f.Key)
				continue
			}
			f.CreatedAt, f.UpdatedAt = &now, &now
			if _, err := s.createEverywhere(tx, p, "flag.import", project, env, envs, f, now, touch); err != nil {
				return err
			}
			res.Created = append(res.Created, f.Key)
		}
		all, err := tx.Flags(project, env)
		if err != nil {
			return err
		}
		if len(all) > s.limits.FlagsPerProject {
			return &flag.Error{Kind: flag.KindInvalid, Message: "too many flags", Problems: []flag.Problem{{Path: "flags",
				Message: fmt.Sprintf("the import would give project %s %d flags, more than the limit of %d", project, len(all), s.limits.FlagsPerProject)}}}
		}
		return nil
	})
	return res, err
}

func prefixProblems(err error, prefix string) error {
	ps := flag.ProblemsOf(err)
	if len(ps) == 0 {
		return err
	}
	out := make([]flag.Problem, len(ps))
	for i, p := range ps {
		path := prefix
		if p.Path != "" {
			path += "." + p.Path
		}
		out[i] = flag.Problem{Path: path, Message: p.Message}
	}
	return &flag.Error{Kind: flag.KindInvalid, Message: "invalid flag set", Problems: out}
}

// Export returns an environment's flag set (archived flags left out).
func (s *Service) Export(ctx context.Context, p Principal, project, env string) (*flag.Set, error) {
	if err := p.can(store.RoleViewer, project); err != nil {
		return nil, err
	}
	var set *flag.Set
	err := s.store.View(ctx, func(tx store.Tx) error {
		if _, err := tx.Environment(project, env); err != nil {
			return err
		}
		var err error
		set, err = envSet(tx, project, env)
		return err
	})
	return set, err
}

// Explain evaluates a flag for a context in an environment and shows every step: which prerequisite, target or
// rule decided, and for each rule which clauses matched and what the context held.
func (s *Service) Explain(ctx context.Context, p Principal, project, env, key string, c flag.Context) (eval.Explanation, int64, error) {
	if err := p.can(store.RoleViewer, project); err != nil {
		return eval.Explanation{}, 0, err
	}
	snap, err := s.Snapshot(ctx, project, env)
	if err != nil {
		return eval.Explanation{}, 0, err
	}
	return eval.Explain(snap.Eval, snap.Set, key, &c), snap.Revision, nil
}
