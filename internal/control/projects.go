package control

import (
	"context"
	"regexp"

	"github.com/ramphq/ramp/flag"
	"github.com/ramphq/ramp/internal/store"
)

var slug = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

func checkSlug(path, v string) error {
	if !slug.MatchString(v) {
		return &flag.Error{Kind: flag.KindInvalid, Message: "invalid key", Problems: []flag.Problem{{Path: path,
			Message: "must be 1-63 lower-case letters, digits and '-', starting with a letter or digit"}}}
	}
	return nil
}

// Projects lists the projects p may see.
func (s *Service) Projects(ctx context.Context, p Principal) ([]store.Project, error) {
	if err := p.can(store.RoleViewer, p.Project); err != nil {
		return nil, err
	}
	var out []store.Project
	err := s.store.View(ctx, func(tx store.Tx) error {
		all, err := tx.Projects()
		for _, pr := range all {
			if p.Project == "" || pr.Key == p.Project {
				out = append(out, pr)
			}
		}
		return err
	})
	return out, err
}

// Project returns one project.
func (s *Service) Project(ctx context.Context, p Principal, key string) (store.Project, error) {
	if err := p.can(store.RoleViewer, key); err != nil {
		return store.Project{}, err
	}
	var out store.Project
	err := s.store.View(ctx, func(tx store.Tx) (err error) { out, err = tx.Project(key); return err })
	return out, err
}

// CreateProject creates a project with the given environments (default: development, staging, production).
func (s *Service) CreateProject(ctx context.Context, p Principal, pr store.Project, envs []string) (store.Project, error) {
	if err := p.can(store.RoleAdmin, ""); err != nil {
		return store.Project{}, err
	}
	if err := checkSlug("key", pr.Key); err != nil {
		return store.Project{}, err
	}
	if len(envs) == 0 {
		envs = []string{"development", "staging", "production"}
	}
	for _, e := range envs {
		if err := checkSlug("environments", e); err != nil {
			return store.Project{}, err
		}
	}
	if pr.Name == "" {
		pr.Name = pr.Key
	}
	pr.CreatedAt = s.now().UTC()
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateProject(pr); err != nil {
			return err
		}
		if err := s.audit(tx, p, "project.create", pr.Key, "", "project", pr.Key, 0, nil, pr); err != nil {
			return err
		}
		for _, key := range envs {
			e := store.Environment{Project: pr.Key, Key: key, Name: key, CreatedAt: pr.CreatedAt}
			if err := tx.CreateEnvironment(e); err != nil {
				return err
			}
			if err := s.audit(tx, p, "environment.create", pr.Key, key, "environment", key, 0, nil, e); err != nil {
				return err
			}
		}
		return nil
	})
	return pr, err
}

// DeleteProject deletes a project and everything in it except its audit trail.
func (s *Service) DeleteProject(ctx context.Context, p Principal, key string) error {
	if err := p.can(store.RoleAdmin, ""); err != nil {
		return err
	}
	err := s.store.Update(ctx, func(tx store.Tx) error {
		pr, err := tx.Project(key)
		if err != nil {
			return err
		}
		if err := tx.DeleteProject(key); err != nil {
			return err
		}
		return s.audit(tx, p, "project.delete", key, "", "project", key, 0, pr, nil)
	})
	if err == nil {
		s.forget(key, "")
	}
	return err
}

// Environments lists a project's environments.
func (s *Service) Environments(ctx context.Context, p Principal, project string) ([]store.Environment, error) {
	if err := p.can(store.RoleViewer, project); err != nil {
		return nil, err
	}
	var out []store.Environment
	err := s.store.View(ctx, func(tx store.Tx) error {
		if _, err := tx.Project(project); err != nil {
			return err
		}
		var err error
		out, err = tx.Environments(project)
		return err
	})
	return out, err
}

// Environment returns one environment.
func (s *Service) Environment(ctx context.Context, p Principal, project, key string) (store.Environment, error) {
	if err := p.can(store.RoleViewer, project); err != nil {
		return store.Environment{}, err
	}
	var out store.Environment
	err := s.store.View(ctx, func(tx store.Tx) (err error) { out, err = tx.Environment(project, key); return err })
	return out, err
}

// CreateEnvironment adds an environment. Every flag and segment of the project is copied into it from the
// environment named by from (default: the first environment), with every flag disabled.
func (s *Service) CreateEnvironment(ctx context.Context, p Principal, e store.Environment, from string) (store.Environment, error) {
	if err := p.can(store.RoleAdmin, e.Project); err != nil {
		return store.Environment{}, err
	}
	if err := checkSlug("key", e.Key); err != nil {
		return store.Environment{}, err
	}
	if e.Name == "" {
		e.Name = e.Key
	}
	e.CreatedAt = s.now().UTC()
	e.Revision = 0
	err := s.change(ctx, e.Project, func(tx store.Tx, touch func(string, string, ...string)) error {
		if _, err := tx.Project(e.Project); err != nil {
			return err
		}
		envs, err := tx.Environments(e.Project)
		if err != nil {
			return err
		}
		if from == "" && len(envs) > 0 {
			from = envs[0].Key
		}
		if err := tx.CreateEnvironment(e); err != nil {
			return err
		}
		if err := s.audit(tx, p, "environment.create", e.Project, e.Key, "environment", e.Key, 0, nil, e); err != nil {
			return err
		}
		touch(e.Key, "environment")
		if from == "" {
			return nil
		}
		if _, err := tx.Environment(e.Project, from); err != nil {
			return err
		}
		segs, err := tx.Segments(e.Project, from)
		if err != nil {
			return err
		}
		for _, g := range segs {
			rec := store.SegmentRecord{Project: e.Project, Environment: e.Key, Segment: g.Segment, UpdatedAt: e.CreatedAt, UpdatedBy: p.Actor()}
			if err := tx.PutSegment(&rec, 0); err != nil {
				return err
			}
		}
		flags, err := tx.Flags(e.Project, from)
		if err != nil {
			return err
		}
		for _, f := range flags {
			rec := store.FlagRecord{Project: e.Project, Environment: e.Key, Flag: f.Flag, Archived: f.Archived, UpdatedAt: e.CreatedAt, UpdatedBy: p.Actor()}
			rec.Flag.Enabled = false
			if err := tx.PutFlag(&rec, 0); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return store.Environment{}, err
	}
	return s.Environment(ctx, System("read"), e.Project, e.Key)
}

// DeleteEnvironment deletes an environment, its flags, segments and keys.
func (s *Service) DeleteEnvironment(ctx context.Context, p Principal, project, key string) error {
	if err := p.can(store.RoleAdmin, project); err != nil {
		return err
	}
	err := s.store.Update(ctx, func(tx store.Tx) error {
		e, err := tx.Environment(project, key)
		if err != nil {
			return err
		}
		if err := tx.DeleteEnvironment(project, key); err != nil {
			return err
		}
		return s.audit(tx, p, "environment.delete", project, key, "environment", key, 0, e, nil)
	})
	if err == nil {
		s.forget(project, key)
	}
	return err
}

// Audit lists audit entries. Project-scoped tokens see only their project.
func (s *Service) Audit(ctx context.Context, p Principal, f store.AuditFilter) ([]store.AuditEntry, error) {
	if p.Project != "" && f.Project == "" {
		f.Project = p.Project
	}
	if err := p.can(store.RoleViewer, f.Project); err != nil {
		return nil, err
	}
	switch {
	case f.Limit <= 0:
		f.Limit = 100
	case f.Limit > 1000:
		f.Limit = 1000
	}
	var out []store.AuditEntry
	err := s.store.View(ctx, func(tx store.Tx) (err error) { out, err = tx.Audit(f); return err })
	return out, err
}
