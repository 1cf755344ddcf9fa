// Package flag is ramp's domain model: flags, variations, targets, rules, clauses, segments, percentage splits,
// the evaluation context, evaluation details with reasons and error codes, validation with paths, and the
// canonical JSON and YAML encodings.
//
// It sits at the bottom of the dependency graph and imports nothing of the project. Everything else (the
// evaluator, the stores, the API, the SDK) speaks in these types.
//
// A flag file is a [Set]. Decode one with [Decode] (JSON or YAML), check it with [Set.Validate], and hand it to
// the evaluator to compile. The format is described in docs/flags.md and schema/flags.schema.json.
package flag

import (
	"encoding/json"
	"time"
)

// Set is a flag file: flags plus the reusable segments their rules refer to.
type Set struct {
	Flags    []Flag    `json:"flags"`
	Segments []Segment `json:"segments,omitempty"`
}

// Kind says what a flag is for. It drives staleness and lifecycle policies, not evaluation.
type Kind string

// The kinds of flag.
const (
	KindRelease     Kind = "release"     // temporary: ships a change gradually, then goes away
	KindExperiment  Kind = "experiment"  // temporary: an A/B/n test with analytics
	KindOperational Kind = "operational" // long-lived: a kill switch or a tuning knob
	KindPermission  Kind = "permission"  // long-lived: entitlement or access
)

// Temporary reports whether flags of this kind are expected to be removed once they have done their job.
func (k Kind) Temporary() bool { return k == KindRelease || k == KindExperiment }

// ValueType is the type of every variation value of a flag.
type ValueType string

// The value types.
const (
	TypeBoolean ValueType = "boolean"
	TypeString  ValueType = "string"
	TypeNumber  ValueType = "number"
	TypeJSON    ValueType = "json" // any JSON value: object, array or scalar
)

// Flag is one feature flag or experiment.
//
// Evaluation order: disabled → offVariation; then prerequisites; then individual targets (in order); then rules
// (in order, first match wins); then fallthrough. A flag with [Flag.Targeting] runs that expression instead of
// targets and rules.
type Flag struct {
	Key         string    `json:"key"`
	Name        string    `json:"name,omitempty"`
	Description string    `json:"description,omitempty"`
	Owner       string    `json:"owner,omitempty"`
	Tags        []string  `json:"tags,omitempty"`
	Kind        Kind      `json:"kind,omitempty"`
	Type        ValueType `json:"type"`

	Variations []Variation `json:"variations"`
	Enabled    bool        `json:"enabled"`
	// OffVariation is served while the flag is disabled, when a prerequisite fails, and when a split cannot
	// bucket a context (its bucketing attribute is missing).
	OffVariation string `json:"offVariation"`
	// Fallthrough is served to an enabled flag's contexts that no target or rule matched. An empty fallthrough
	// ({}) means the flag has no default: such contexts get reason DEFAULT with no variant and no value, and the
	// caller uses its own default (flagd's flags without a defaultVariant).
	Fallthrough Serve `json:"fallthrough"`

	Prerequisites []Prerequisite `json:"prerequisites,omitempty"`
	Targets       []Target       `json:"targets,omitempty"`
	Rules         []Rule         `json:"rules,omitempty"`

	// Targeting is a flagd targeting expression: JsonLogic, with flagd's operators (fractional, sem_ver,
	// starts_with, ends_with), that returns the key of the variation to serve. When set it takes the place of
	// Targets and Rules (a flag may not have both): a result naming a variation serves it (TARGETING_MATCH), null
	// serves the fallthrough (DEFAULT), and any other result is an ERROR (GENERAL). It is kept as JSON text;
	// [Flag.TargetingTree] decodes it. See docs/flagd.md.
	Targeting json.RawMessage `json:"targeting,omitempty"`

	// ExpiresAt is when the flag is due to be removed. After it the flag's status is "expired"; evaluation is
	// unchanged.
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	CreatedAt *time.Time `json:"createdAt,omitempty"`
	UpdatedAt *time.Time `json:"updatedAt,omitempty"`
}

// Variation is one value a flag can serve. Value is a JSON value: bool, string, float64, map[string]any,
// []any or nil (only for json flags).
type Variation struct {
	Key         string `json:"key"`
	Value       any    `json:"value"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
}

// Serve is what a rule or the fallthrough serves: exactly one of a variation or a percentage split.
type Serve struct {
	Variation string `json:"variation,omitempty"`
	Split     *Split `json:"split,omitempty"`
}

// BucketingV1 is the id of ramp's first bucketing algorithm, specified in docs/bucketing.md: xxHash64 (seed 0)
// of the length-prefixed salt and bucketing value, scaled to [0, Buckets).
const BucketingV1 = "ramp-v1"

// Buckets is the number of buckets a split divides contexts into: 0.001 % steps.
const Buckets = 100_000

// Split serves variations by percentage. Contexts are hashed into [Buckets] buckets; each weight claims a
// contiguous range of buckets in list order, so raising the first weight at the expense of the second only
// ever moves contexts from the second to the first (monotonic rollouts).
type Split struct {
	// Algorithm names the bucketing algorithm. Empty means the current one ([BucketingV1]) and is filled in by
	// [Set.Normalize], so a stored split always names its algorithm.
	Algorithm string `json:"algorithm,omitempty"`
	// BucketBy is the context attribute path hashed into a bucket. Default "targetingKey".
	BucketBy string `json:"bucketBy,omitempty"`
	// Salt is mixed into the hash. Default: the flag key. Changing it reshuffles every context.
	Salt    string          `json:"salt,omitempty"`
	Weights []WeightedServe `json:"weights"`
}

// WeightedServe gives a variation a share of a split, as a percentage with at most three decimals.
type WeightedServe struct {
	Variation string  `json:"variation"`
	Weight    float64 `json:"weight"`
}

// Units returns the weight in buckets (thousandths of a percent).
func (w WeightedServe) Units() int { return int(w.Weight*1000 + 0.5) }

// Prerequisite requires another flag to serve a given variation before this flag's targeting runs.
type Prerequisite struct {
	Flag      string `json:"flag"`
	Variation string `json:"variation"`
}

// Target serves a variation to contexts whose attribute is one of the listed ids: users by targetingKey,
// teams by team.id, accounts by account.id, and so on.
type Target struct {
	// Attribute is the attribute path holding the id. Default "targetingKey".
	Attribute string   `json:"attribute,omitempty"`
	Values    []string `json:"values"`
	Variation string   `json:"variation"`
}

// Rule serves when all its clauses match. Rules are evaluated in list order; the first match wins.
type Rule struct {
	// ID identifies the rule in evaluation details and analytics. Default "rule-N" (1-based position), filled in
	// by [Set.Normalize]; it stays with the rule when rules are reordered.
	ID          string   `json:"id"`
	Description string   `json:"description,omitempty"`
	Clauses     []Clause `json:"clauses"`
	Serve       Serve    `json:"serve"`
}

// Clause tests one context attribute. A clause matches when the operator holds for any of Values (and, for a
// list attribute, for any element of the list); Negate inverts the result. A clause on a missing attribute does
// not match, negated or not (except exists, which is then false, and whose negation is true).
type Clause struct {
	Attribute string   `json:"attribute,omitempty"`
	Op        Operator `json:"op"`
	Values    []any    `json:"values,omitempty"`
	Negate    bool     `json:"negate,omitempty"`
	// CaseInsensitive makes the string operators (in, not_in, contains, starts_with, ends_with, matches) ignore
	// case. The default is case-sensitive.
	CaseInsensitive bool `json:"caseInsensitive,omitempty"`
}

// Operator is a clause operator.
type Operator string

// The operators.
const (
	OpIn         Operator = "in" // equality with any value; "equals" is accepted as an alias
	OpNotIn      Operator = "not_in"
	OpContains   Operator = "contains"
	OpStartsWith Operator = "starts_with"
	OpEndsWith   Operator = "ends_with"
	OpMatches    Operator = "matches" // RE2 syntax
	OpLT         Operator = "lt"
	OpLTE        Operator = "lte"
	OpGT         Operator = "gt"
	OpGTE        Operator = "gte"
	OpSemverEQ   Operator = "semver_eq"
	OpSemverLT   Operator = "semver_lt"
	OpSemverLTE  Operator = "semver_lte"
	OpSemverGT   Operator = "semver_gt"
	OpSemverGTE  Operator = "semver_gte"
	OpBefore     Operator = "before" // dates: RFC 3339 strings or Unix seconds
	OpAfter      Operator = "after"
	OpExists     Operator = "exists"     // takes no values
	OpInSegment  Operator = "in_segment" // values are segment keys; the attribute is ignored
)

// Operators lists every operator, in documentation order.
var Operators = []Operator{
	OpIn, OpNotIn, OpContains, OpStartsWith, OpEndsWith, OpMatches,
	OpLT, OpLTE, OpGT, OpGTE,
	OpSemverEQ, OpSemverLT, OpSemverLTE, OpSemverGT, OpSemverGTE,
	OpBefore, OpAfter, OpExists, OpInSegment,
}

// Segment is a reusable audience: contexts listed in Excluded are never in it, contexts listed in Included always
// are, and otherwise a context is in it when any of its rules matches.
type Segment struct {
	Key         string `json:"key"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	// Attribute is the attribute path that Included and Excluded list ids of. Default "targetingKey".
	Attribute string        `json:"attribute,omitempty"`
	Included  []string      `json:"included,omitempty"`
	Excluded  []string      `json:"excluded,omitempty"`
	Rules     []SegmentRule `json:"rules,omitempty"`
}

// SegmentRule matches when all its clauses match.
type SegmentRule struct {
	ID      string   `json:"id,omitempty"`
	Clauses []Clause `json:"clauses"`
}

// TargetingKeyAttribute is the attribute path that addresses [Context.TargetingKey].
const TargetingKeyAttribute = "targetingKey"
