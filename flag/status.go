package flag

import "time"

// Status is a flag's lifecycle status, derived from its expiry, its kind and what it serves.
type Status string

// The statuses.
const (
	StatusActive  Status = "active"
	StatusExpired Status = "expired" // past ExpiresAt: due for removal
	StatusStale   Status = "stale"   // a temporary flag that no longer varies and has not changed for StaleAfter
)

// StaleAfter is how long a temporary flag may serve one variation to everyone before it counts as stale.
const StaleAfter = 30 * 24 * time.Hour

// Status returns the flag's status at now. A flag is expired once now reaches ExpiresAt. Otherwise a release or
// experiment flag is stale when it serves the same variation to every context (disabled, or enabled with no
// prerequisites, targets, rules or targeting expression and a fallthrough to one variation or a 100 % split) and
// was last updated more than [StaleAfter] before now (a flag with no UpdatedAt counts as old).
func (f *Flag) Status(now time.Time) Status {
	if f.ExpiresAt != nil && !now.Before(*f.ExpiresAt) {
		return StatusExpired
	}
	if f.Kind.Temporary() && f.servesOneVariation() && (f.UpdatedAt == nil || now.Sub(*f.UpdatedAt) > StaleAfter) {
		return StatusStale
	}
	return StatusActive
}

func (f *Flag) servesOneVariation() bool {
	if !f.Enabled {
		return true
	}
	if len(f.Prerequisites) > 0 || len(f.Targets) > 0 || len(f.Rules) > 0 || f.HasTargeting() {
		return false
	}
	if f.Fallthrough.Split == nil {
		return true
	}
	for _, w := range f.Fallthrough.Split.Weights {
		if w.Units() == Buckets {
			return true
		}
	}
	return false
}
