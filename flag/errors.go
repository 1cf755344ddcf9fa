package flag

import (
	"errors"
	"fmt"
	"strings"
)

// ErrorKind classifies a domain error. The HTTP layer maps kinds to status codes in exactly one place.
type ErrorKind string

// The error kinds.
const (
	KindInvalid      ErrorKind = "invalid"
	KindNotFound     ErrorKind = "not_found"
	KindConflict     ErrorKind = "conflict"
	KindUnauthorized ErrorKind = "unauthorized"
	KindForbidden    ErrorKind = "forbidden"
	KindUnavailable  ErrorKind = "unavailable"
	KindInternal     ErrorKind = "internal"
)

// Error is ramp's one domain error type. Problems, when present, list every invalid field by path.
type Error struct {
	Kind     ErrorKind
	Message  string
	Problems []Problem
}

// Problem is one invalid field: Path locates it ("flags[0].rules[2].clauses[0].op") and Message says what is
// wrong with it.
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

func (e *Error) Error() string {
	if len(e.Problems) == 0 {
		return e.Message
	}
	var b strings.Builder
	if e.Message != "" {
		b.WriteString(e.Message)
		b.WriteString(": ")
	}
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Errorf returns an *Error of the given kind.
func Errorf(kind ErrorKind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// KindOf returns the kind of err: the Kind of an *Error in its chain, or KindInternal for any other error and
// "" for nil.
func KindOf(err error) ErrorKind {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// ProblemsOf returns the validation problems carried by err, if any.
func ProblemsOf(err error) []Problem {
	var e *Error
	if errors.As(err, &e) {
		return e.Problems
	}
	return nil
}
