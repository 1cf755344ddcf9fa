// Package broker fans change events out to subscribers (SSE streams, replicas, caches). A publisher never
// blocks: each subscriber has a small buffer, and a subscriber that falls behind is told so (its channel gets a
// Lagged event and is closed) rather than slowing everyone down. It may import only the flag model.
package broker

import (
	"sync"
)

// Event says that an environment changed. Revision is the environment's new revision; Keys, when set, names
// the flags or segments that changed.
type Event struct {
	Project     string   `json:"project"`
	Environment string   `json:"environment"`
	Revision    int64    `json:"revision"`
	Kind        string   `json:"kind"` // flag, segment, environment, lagged
	Keys        []string `json:"keys,omitempty"`
}

// KindLagged is the last event a subscriber that fell behind receives before its channel closes; it should
// resynchronise from the store and subscribe again.
const KindLagged = "lagged"

// Broker is an in-process fan-out. The zero value is not usable; call New.
type Broker struct {
	mu     sync.Mutex
	subs   map[*Subscription]struct{}
	buffer int
}

// New returns a broker whose subscribers buffer up to buffer events (at least 1).
func New(buffer int) *Broker {
	if buffer < 1 {
		buffer = 1
	}
	return &Broker{subs: map[*Subscription]struct{}{}, buffer: buffer}
}

// Subscription receives events for one project and environment ("" matches all).
type Subscription struct {
	C           <-chan Event
	c           chan Event
	project     string
	environment string
	b           *Broker
	once        sync.Once
}

// Subscribe registers a subscriber. Call Close when done.
func (b *Broker) Subscribe(project, environment string) *Subscription {
	c := make(chan Event, b.buffer+1) // +1 keeps room for the lagged notice
	s := &Subscription{C: c, c: c, project: project, environment: environment, b: b}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}

// Close unregisters the subscription and closes its channel. It is safe to call more than once.
func (s *Subscription) Close() {
	s.b.mu.Lock()
	if _, ok := s.b.subs[s]; ok {
		delete(s.b.subs, s)
		s.once.Do(func() { close(s.c) })
	}
	s.b.mu.Unlock()
}

// Publish delivers e to every matching subscriber without blocking. It returns the number of subscribers that
// lagged and were dropped.
func (b *Broker) Publish(e Event) int {
	lagged := 0
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		if (s.project != "" && s.project != e.Project) || (s.environment != "" && s.environment != e.Environment) {
			continue
		}
		if len(s.c) < cap(s.c)-1 {
			s.c <- e
			continue
		}
		s.c <- Event{Project: e.Project, Environment: e.Environment, Revision: e.Revision, Kind: KindLagged}
		delete(b.subs, s)
		s.once.Do(func() { close(s.c) })
		lagged++
	}
	return lagged
}

// Subscribers returns the number of live subscriptions.
func (b *Broker) Subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}
