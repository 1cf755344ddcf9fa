package control

import (
	"context"

	"github.com/ramphq/ramp/internal/broker"
	"github.com/ramphq/ramp/internal/store"
)

// EventResync is the kind of the broker event Resync publishes: every SDK streaming the environment should
// reload it whole.
const EventResync = "resync"

// Subscribe returns a subscription to the change events of one environment, or nil when the Service publishes
// nothing (it has no broker). The caller closes it.
func (s *Service) Subscribe(project, env string) *broker.Subscription {
	if s.broker == nil {
		return nil
	}
	return s.broker.Subscribe(project, env)
}

// Resync asks every SDK streaming the environment to reload it whole (ramp envs resync ENV): it publishes an
// EventResync event at the environment's current revision and records the request in the audit log. It needs
// the editor role.
func (s *Service) Resync(ctx context.Context, p Principal, project, env string) (int64, error) {
	if err := p.can(store.RoleEditor, project); err != nil {
		return 0, err
	}
	var rev int64
	err := s.store.Update(ctx, func(tx store.Tx) error {
		e, err := tx.Environment(project, env)
		if err != nil {
			return err
		}
		rev = e.Revision
		return s.audit(tx, p, "environment.resync", project, env, "environment", env, 0, nil, nil)
	})
	if err != nil {
		return 0, err
	}
	if s.broker != nil {
		s.broker.Publish(broker.Event{Project: project, Environment: env, Revision: rev, Kind: EventResync})
	}
	return rev, nil
}
