package flag

// Reason says why an evaluation produced its value. The names follow OpenFeature's reasons where one exists.
type Reason string

// The reasons.
const (
	// ReasonStatic: the flag has no targeting at all and serves one variation to everyone (cacheable).
	ReasonStatic Reason = "STATIC"
	// ReasonDefault: no target or rule matched and the fallthrough served a variation.
	ReasonDefault Reason = "DEFAULT"
	// ReasonTargetingMatch: an individual target or a rule matched; RuleID names it.
	ReasonTargetingMatch Reason = "TARGETING_MATCH"
	// ReasonSplit: a percentage split chose the variation; RuleID names the rule, or is empty for the fallthrough.
	ReasonSplit Reason = "SPLIT"
	// ReasonDisabled: the flag is disabled and served its off variation.
	ReasonDisabled Reason = "DISABLED"
	// ReasonPrerequisiteFailed: a prerequisite flag was disabled or did not serve the required variation; the
	// off variation was served and PrerequisiteKey names the prerequisite.
	ReasonPrerequisiteFailed Reason = "PREREQUISITE_FAILED"
	// ReasonBucketingKeyMissing: a split had to bucket the context but its bucketing attribute was missing. The
	// off variation was served: a context is never assigned at random. (A bucketing attribute that is present
	// but neither a string nor a number is an INVALID_CONTEXT error.)
	ReasonBucketingKeyMissing Reason = "BUCKETING_KEY_MISSING"
	// ReasonError: evaluation failed; ErrorCode says why and Value is nil.
	ReasonError Reason = "ERROR"
)

// ErrorCode classifies an evaluation error. The names are OpenFeature's.
type ErrorCode string

// The evaluation error codes.
const (
	ErrorFlagNotFound   ErrorCode = "FLAG_NOT_FOUND"
	ErrorTypeMismatch   ErrorCode = "TYPE_MISMATCH"
	ErrorInvalidContext ErrorCode = "INVALID_CONTEXT"
	ErrorGeneral        ErrorCode = "GENERAL"
)

// Detail is the full result of one evaluation.
//
// On success Value is the served variation's value (shared: treat maps and slices as read-only), Variant its
// key and Reason why. On error Reason is ERROR, ErrorCode is set and Value is nil; callers fall back to their
// own default.
type Detail struct {
	Value   any    `json:"value"`
	Variant string `json:"variant,omitempty"`
	Reason  Reason `json:"reason"`
	RuleID  string `json:"ruleId,omitempty"`
	// PrerequisiteKey names the failed prerequisite when Reason is PREREQUISITE_FAILED.
	PrerequisiteKey string    `json:"prerequisiteKey,omitempty"`
	ErrorCode       ErrorCode `json:"errorCode,omitempty"`
	ErrorMessage    string    `json:"errorMessage,omitempty"`
}

// IsError reports whether the evaluation failed.
func (d Detail) IsError() bool { return d.ErrorCode != "" }
