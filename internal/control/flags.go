package control

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/ramphq/ramp/flag"
	"github.com/ramphq/ramp/internal/store"
)

// FlagFilter selects flags in a list. Zero fields do not filter.
type FlagFilter struct {
	Tag      string
	Kind     flag.Kind
	Status   flag.Status // active, stale, expired
	Enabled  *bool
	Text     string // case-insensitive substring of key, name or description
	Archived bool   // list archived flags instead of live ones
}

// Flags lists an environment's flags.
func (s *Service) Flags(ctx context.Context, p Principal, project, env string, f FlagFilter) ([]store.FlagRecord, error) {
	if err := p.can(store.RoleViewer, project); err != nil {
		return nil, err
	}
	var all []store.FlagRecord
	err := s.store.View(ctx, func(tx store.Tx) error {
		if _, err := tx.Environment(project, env); err != nil {
			return err
		}
		var err error
		all, err = tx.Flags(project, env)
		return err
	})
	if err != nil {
		return nil, err
	}
	now := s.now()
	text := strings.ToLower(f.Text)
	out := all[:0]
	for _, r := range all {
		fl := &r.Flag
		switch {
		case r.Archived != f.Archived:
		case f.Tag != "" && !slices.Contains(fl.Tags, f.Tag):
		case f.Kind != "" && fl.Kind != f.Kind:
		case f.Status != "" && fl.Status(now) != f.Status:
		case f.Enabled != nil && fl.Enabled != *f.Enabled:
		case text != "" && !strings.Contains(strings.ToLower(fl.Key+"\x00"+fl.Name+"\x00"+fl.Description), text):
		default:
			out = append(out, r)
		}
	}
	return out, nil
}

// Flag returns one flag in one environment.
func (s *Service) Flag(ctx context.Context, p Principal, project, env, key string) (store.FlagRecord, error) {
	if err := p.can(store.RoleViewer, project); err != nil {
		return store.FlagRecord{}, err
	}
	var r store.FlagRecord
	err := s.store.View(ctx, func(tx store.Tx) (err error) { r, err = tx.Flag(project, env, key); return err })
	return r, err
}

// CreateFlag creates a flag in every environment of the project with the given configuration. It is enabled
// only in env (if f.Enabled is set); in every other environment it starts disabled.
func (s *Service) CreateFlag(ctx context.Context, p Principal, project, env string, f flag.Flag) (store.FlagRecord, error) {
	if err := p.can(store.RoleEditor, project); err != nil {
		return store.FlagRecord{}, err
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	f.CreatedAt, f.UpdatedAt = &now, &now
	if err := s.checkFlag(&f); err != nil {
		return store.FlagRecord{}, err
	}
	var created store.FlagRecord
	err := s.change(ctx, project, func(tx store.Tx, touch func(string, string, ...string)) error {
		envs, err := s.projectEnvs(tx, project, env)
		if err != nil {
			return err
		}
		existing, err := tx.Flags(project, env)
		if err != nil {
			return err
		}
		if len(existing) >= s.limits.FlagsPerProject {
			return &flag.Error{Kind: flag.KindInvalid, Message: "too many flags", Problems: []flag.Problem{{Path: "flags",
				Message: fmt.Sprintf("project %s already has %d flags, the limit", project, s.limits.FlagsPerProject)}}}
		}
		created, err = s.createEverywhere(tx, p, "flag.create", project, env, envs, f, now, touch)
		return err
	})
	return created, err
}

// createEverywhere creates f in every environment of envs, enabled (if f says so) only in env, with an audit row
// each, and returns the record in env.
func (s *Service) createEverywhere(tx store.Tx, p Principal, action, project, env string, envs []store.Environment, f flag.Flag, now time.Time, touch func(string, string, ...string)) (store.FlagRecord, error) {
	var created store.FlagRecord
	for _, e := range envs {
		rec := store.FlagRecord{Project: project, Environment: e.Key, Flag: f, UpdatedAt: now, UpdatedBy: p.Actor()}
		rec.Flag.Enabled = f.Enabled && e.Key == env
		if err := tx.PutFlag(&rec, 0); err != nil {
			if flag.KindOf(err) == flag.KindConflict {
				return created, flag.Errorf(flag.KindConflict, "flag %q already exists in project %s", f.Key, project)
			}
			return created, err
		}
		if err := s.audit(tx, p, action, project, e.Key, "flag", f.Key, rec.Version, nil, rec.Flag); err != nil {
			return created, err
		}
		touch(e.Key, "flag", f.Key)
		if e.Key == env {
			created = rec
		}
	}
	return created, nil
}

// projectEnvs returns the project's environments after checking that env is one of them.
func (s *Service) projectEnvs(tx store.Tx, project, env string) ([]store.Environment, error) {
	if _, err := tx.Environment(project, env); err != nil {
		return nil, err
	}
	return tx.Environments(project)
}

// UpdateFlag replaces a flag's configuration in env, if its current version is ifVersion. Definition fields
// (name, description, owner, tags, kind, type, variations, expiry) are shared by all environments and are
// carried over to them in the same transaction; targeting stays per environment.
func (s *Service) UpdateFlag(ctx context.Context, p Principal, project, env, key string, f flag.Flag, ifVersion int64) (store.FlagRecord, error) {
	if err := p.can(store.RoleEditor, project); err != nil {
		return store.FlagRecord{}, err
	}
	if f.Key == "" {
		f.Key = key
	}
	if f.Key != key {
		return store.FlagRecord{}, &flag.Error{Kind: flag.KindInvalid, Message: "invalid flag", Problems: []flag.Problem{{Path: "key", Message: fmt.Sprintf("%q does not match the flag being updated, %q; keys cannot change", f.Key, key)}}}
	}
	if err := s.checkFlag(&f); err != nil {
		return store.FlagRecord{}, err
	}
	return s.editFlag(ctx, p, project, env, key, ifVersion, "flag.update", func(cur *flag.Flag) error {
		created := cur.CreatedAt
		*cur = f
		cur.CreatedAt = created
		return nil
	})
}

// Toggle turns a flag on or off in one environment: the kill switch. ifVersion 0 toggles whatever the version.
func (s *Service) Toggle(ctx context.Context, p Principal, project, env, key string, enabled bool, ifVersion int64) (store.FlagRecord, error) {
	if err := p.can(store.RoleEditor, project); err != nil {
		return store.FlagRecord{}, err
	}
	action := "flag.disable"
	if enabled {
		action = "flag.enable"
	}
	return s.editFlag(ctx, p, project, env, key, ifVersion, action, func(cur *flag.Flag) error {
		cur.Enabled = enabled
		return nil
	})
}

// Targeting is the per-environment part of a flag.
type Targeting struct {
	Enabled       bool                `json:"enabled"`
	OffVariation  string              `json:"offVariation"`
	Fallthrough   flag.Serve          `json:"fallthrough"`
	Prerequisites []flag.Prerequisite `json:"prerequisites,omitempty"`
	Targets       []flag.Target       `json:"targets,omitempty"`
	Rules         []flag.Rule         `json:"rules,omitempty"`
	// Expression is a flagd targeting expression (flag.Flag.Targeting); it takes the place of targets and rules.
	Expression json.RawMessage `json:"targeting,omitempty"`
}

// UpdateTargeting replaces a flag's targeting in one environment.
func (s *Service) UpdateTargeting(ctx context.Context, p Principal, project, env, key string, t Targeting, ifVersion int64) (store.FlagRecord, error) {
	if err := p.can(store.RoleEditor, project); err != nil {
		return store.FlagRecord{}, err
	}
	return s.editFlag(ctx, p, project, env, key, ifVersion, "flag.targeting", func(cur *flag.Flag) error {
		applyTargeting(cur, t)
		return s.checkFlag(cur)
	})
}

func applyTargeting(f *flag.Flag, t Targeting) {
	f.Enabled, f.OffVariation, f.Fallthrough = t.Enabled, t.OffVariation, t.Fallthrough
	f.Prerequisites, f.Targets, f.Rules, f.Targeting = t.Prerequisites, t.Targets, t.Rules, t.Expression
}

func targetingOf(f *flag.Flag) Targeting {
	return Targeting{Enabled: f.Enabled, OffVariation: f.OffVariation, Fallthrough: f.Fallthrough,
		Prerequisites: f.Prerequisites, Targets: f.Targets, Rules: f.Rules, Expression: f.Targeting}
}

// editFlag applies edit to the flag in env inside one change, propagating definition changes to the other
// environments.
func (s *Service) editFlag(ctx context.Context, p Principal, project, env, key string, ifVersion int64, action string, edit func(*flag.Flag) error) (store.FlagRecord, error) {
	var out store.FlagRecord
	err := s.change(ctx, project, func(tx store.Tx, touch func(string, string, ...string)) error {
		cur, err := tx.Flag(project, env, key)
		if err != nil {
			return err
		}
		if ifVersion != 0 && cur.Version != ifVersion {
			return staleVersion(key, env, cur.Version, ifVersion)
		}
		before := cur.Flag
		next := cloneFlag(cur.Flag)
		if err := edit(&next); err != nil {
			return err
		}
		now := s.now().UTC().Truncate(time.Millisecond)
		next.UpdatedAt = &now
		rec := cur
		rec.Flag, rec.UpdatedAt, rec.UpdatedBy = next, now, p.Actor()
		if err := tx.PutFlag(&rec, cur.Version); err != nil {
			return err
		}
		if err := s.audit(tx, p, action, project, env, "flag", key, rec.Version, before, rec.Flag); err != nil {
			return err
		}
		touch(env, "flag", key)
		out = rec
		if sameDefinition(&before, &next) {
			return nil
		}
		return s.propagateDefinition(tx, p, project, env, next, now, touch)
	})
	return out, err
}

// propagateDefinition carries def's definition fields (name, type, variations, ...) to the flag's record in
// every environment of the project other than env, keeping each one's targeting, with an audit row each.
func (s *Service) propagateDefinition(tx store.Tx, p Principal, project, env string, def flag.Flag, now time.Time, touch func(string, string, ...string)) error {
	envs, err := tx.Environments(project)
	if err != nil {
		return err
	}
	for _, e := range envs {
		if e.Key == env {
			continue
		}
		other, err := tx.Flag(project, e.Key, def.Key)
		if flag.KindOf(err) == flag.KindNotFound {
			continue
		}
		if err != nil {
			return err
		}
		was := other.Flag
		t := targetingOf(&other.Flag)
		other.Flag = cloneFlag(def)
		applyTargeting(&other.Flag, t)
		other.UpdatedAt, other.UpdatedBy = now, p.Actor()
		if err := tx.PutFlag(&other, other.Version); err != nil {
			return err
		}
		if err := s.audit(tx, p, "flag.definition", project, e.Key, "flag", def.Key, other.Version, was, other.Flag); err != nil {
			return err
		}
		touch(e.Key, "flag", def.Key)
	}
	return nil
}

func staleVersion(key, env string, current, asked int64) error {
	return &flag.Error{Kind: flag.KindConflict, Message: fmt.Sprintf("flag %q in %s is at version %d, not %d: reload it and apply your change again", key, env, current, asked),
		Problems: []flag.Problem{{Path: "version", Message: fmt.Sprintf("current version is %d", current)}}}
}

// sameDefinition compares the fields shared by all environments.
func sameDefinition(a, b *flag.Flag) bool {
	return a.Name == b.Name && a.Description == b.Description && a.Owner == b.Owner && slices.Equal(a.Tags, b.Tags) &&
		a.Kind == b.Kind && a.Type == b.Type && reflect.DeepEqual(a.Variations, b.Variations) &&
		reflect.DeepEqual(a.ExpiresAt, b.ExpiresAt)
}

// cloneFlag deep-copies a flag through its canonical JSON, so edits never alias stored state.
func cloneFlag(f flag.Flag) flag.Flag {
	set := &flag.Set{Flags: []flag.Flag{f}}
	js, err := flag.EncodeJSON(set)
	if err != nil {
		panic(err)
	}
	out, err := flag.Decode(js)
	if err != nil {
		panic(fmt.Sprintf("canonical JSON of flag %q does not decode: %v", f.Key, err))
	}
	return out.Flags[0]
}

// Archive hides a flag from evaluation in every environment (archived flags evaluate as FLAG_NOT_FOUND) while
// keeping its configuration; Restore brings it back.
func (s *Service) Archive(ctx context.Context, p Principal, project, key string, archived bool) error {
	if err := p.can(store.RoleEditor, project); err != nil {
		return err
	}
	action := "flag.restore"
	if archived {
		action = "flag.archive"
	}
	return s.change(ctx, project, func(tx store.Tx, touch func(string, string, ...string)) error {
		envs, err := tx.Environments(project)
		if err != nil {
			return err
		}
		found := false
		for _, e := range envs {
			rec, err := tx.Flag(project, e.Key, key)
			if flag.KindOf(err) == flag.KindNotFound {
				continue
			}
			if err != nil {
				return err
			}
			found = true
			if rec.Archived == archived {
				continue
			}
			before := rec
			rec.Archived, rec.UpdatedAt, rec.UpdatedBy = archived, s.now().UTC(), p.Actor()
			if err := tx.PutFlag(&rec, rec.Version); err != nil {
				return err
			}
			if err := s.audit(tx, p, action, project, e.Key, "flag", key, rec.Version, before, rec); err != nil {
				return err
			}
			touch(e.Key, "flag", key)
		}
		if !found {
			return flag.Errorf(flag.KindNotFound, "flag %q not found in project %s", key, project)
		}
		return nil
	})
}

// DeleteFlag deletes a flag from every environment.
func (s *Service) DeleteFlag(ctx context.Context, p Principal, project, key string) error {
	if err := p.can(store.RoleEditor, project); err != nil {
		return err
	}
	return s.change(ctx, project, func(tx store.Tx, touch func(string, string, ...string)) error {
		envs, err := tx.Environments(project)
		if err != nil {
			return err
		}
		found := false
		for _, e := range envs {
			rec, err := tx.Flag(project, e.Key, key)
			if flag.KindOf(err) == flag.KindNotFound {
				continue
			}
			if err != nil {
				return err
			}
			found = true
			if err := tx.DeleteFlag(project, e.Key, key, rec.Version); err != nil {
				return err
			}
			if err := s.audit(tx, p, "flag.delete", project, e.Key, "flag", key, rec.Version, rec.Flag, nil); err != nil {
				return err
			}
			touch(e.Key, "flag", key)
		}
		if !found {
			return flag.Errorf(flag.KindNotFound, "flag %q not found in project %s", key, project)
		}
		return nil
	})
}

// CopyFlag copies a flag's targeting from one environment to another (promotion: staging → production).
// ifVersion guards the destination.
func (s *Service) CopyFlag(ctx context.Context, p Principal, project, from, to, key string, ifVersion int64) (store.FlagRecord, error) {
	if err := p.can(store.RoleEditor, project); err != nil {
		return store.FlagRecord{}, err
	}
	var src store.FlagRecord
	err := s.store.View(ctx, func(tx store.Tx) (err error) { src, err = tx.Flag(project, from, key); return err })
	if err != nil {
		return store.FlagRecord{}, err
	}
	t := targetingOf(&src.Flag)
	return s.editFlag(ctx, p, project, to, key, ifVersion, "flag.copy", func(cur *flag.Flag) error {
		applyTargeting(cur, t)
		return nil
	})
}

// checkFlag validates one flag on its own (the environment-wide checks run at commit) and enforces the limits.
func (s *Service) checkFlag(f *flag.Flag) error {
	set := &flag.Set{Flags: []flag.Flag{*f}}
	set.Normalize()
	*f = set.Flags[0]
	var ps []flag.Problem
	if err := set.Validate(); err != nil {
		for _, p := range flag.ProblemsOf(err) {
			// References to other flags and segments are checked against the environment at commit.
			if strings.Contains(p.Message, "unknown flag") || strings.Contains(p.Message, "unknown segment") {
				continue
			}
			ps = append(ps, flag.Problem{Path: strings.TrimPrefix(strings.TrimPrefix(p.Path, "flags[0]"), "."), Message: p.Message})
		}
	}
	l := s.limits
	if len(f.Rules) > l.RulesPerFlag {
		ps = append(ps, flag.Problem{Path: "rules", Message: fmt.Sprintf("%d rules, more than the limit of %d", len(f.Rules), l.RulesPerFlag)})
	}
	for i, r := range f.Rules {
		if len(r.Clauses) > l.ClausesPerRule {
			ps = append(ps, flag.Problem{Path: fmt.Sprintf("rules[%d].clauses", i), Message: fmt.Sprintf("%d clauses, more than the limit of %d", len(r.Clauses), l.ClausesPerRule)})
		}
		for j, c := range r.Clauses {
			if len(c.Values) > l.ValuesPerClause {
				ps = append(ps, flag.Problem{Path: fmt.Sprintf("rules[%d].clauses[%d].values", i, j), Message: fmt.Sprintf("%d values, more than the limit of %d", len(c.Values), l.ValuesPerClause)})
			}
		}
	}
	ids := 0
	for _, t := range f.Targets {
		ids += len(t.Values)
	}
	if ids > l.TargetIDsPerFlag {
		ps = append(ps, flag.Problem{Path: "targets", Message: fmt.Sprintf("%d target ids, more than the limit of %d", ids, l.TargetIDsPerFlag)})
	}
	if js, err := flag.EncodeJSON(&flag.Set{Flags: []flag.Flag{*f}}); err == nil && len(js) > l.FlagBytes {
		ps = append(ps, flag.Problem{Path: "", Message: fmt.Sprintf("the flag is %d bytes as JSON, more than the limit of %d", len(js), l.FlagBytes)})
	}
	if len(ps) > 0 {
		return &flag.Error{Kind: flag.KindInvalid, Message: "invalid flag", Problems: ps}
	}
	return nil
}
