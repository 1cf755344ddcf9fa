// Package rowcodec is the row encoding both SQL backends share: what a store refuses with KindInvalid and how
// records, documents and times become column values. Sharing it is what makes a record that one backend takes
// acceptable to the other. Only the backends import it.
package rowcodec

import (
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/ramphq/ramp/flag"
)

// MaxKey is the longest key, in bytes, a store accepts. Both stores refuse with KindInvalid: keys that are
// empty, longer than MaxKey, not UTF-8 or holding NUL; text holding NUL or invalid UTF-8; JSON documents that are
// not valid JSON or hold a NUL character (PostgreSQL's jsonb cannot store one); times outside years 1 to 9999.
const MaxKey = 256

// TimeLayout stores times as fixed-width UTC text with nanoseconds, which sorts as it reads and keeps the
// precision PostgreSQL's timestamptz would cut to microseconds.
const TimeLayout = "2006-01-02T15:04:05.000000000Z"

// Invalid returns a KindInvalid error.
func Invalid(format string, args ...any) error {
	return &flag.Error{Kind: flag.KindInvalid, Message: fmt.Sprintf(format, args...)}
}

// CheckKey refuses a key the stores cannot hold (see MaxKey); what names it in the error.
func CheckKey(what, k string) error {
	switch {
	case k == "":
		return Invalid("%s: empty key", what)
	case len(k) > MaxKey:
		return Invalid("%s: key is %d bytes, longer than the store's limit of %d", what, len(k), MaxKey)
	}
	return CheckText(what, k)
}

// CheckText refuses text holding NUL or invalid UTF-8.
func CheckText(what, s string) error {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return Invalid("%s: contains a NUL character", what)
		}
	}
	if !utf8.ValidString(s) {
		return Invalid("%s: not valid UTF-8", what)
	}
	return nil
}

// CheckTexts checks pairs of (what, text).
func CheckTexts(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if err := CheckText(pairs[i], pairs[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// CheckJSON refuses documents that are not JSON or that hold an escaped NUL (\u0000) in a string.
func CheckJSON(what string, doc []byte) error {
	if !json.Valid(doc) {
		return Invalid("%s: not valid JSON", what)
	}
	for i := 0; i < len(doc); i++ {
		if doc[i] != '\\' {
			continue
		}
		if i+6 <= len(doc) && string(doc[i+1:i+6]) == "u0000" {
			return Invalid("%s: contains a NUL character", what)
		}
		i++ // skip the escaped character, so \\u0000 is not taken for \u0000
	}
	return nil
}

// Marshal encodes a document and checks it.
func Marshal(what string, v any) ([]byte, error) {
	doc, err := json.Marshal(v)
	if err != nil {
		return nil, Invalid("%s: %v", what, err)
	}
	return doc, CheckJSON(what, doc)
}

// EncodeTime returns the stored form of t: NULL for the zero time, else fixed-width UTC text.
func EncodeTime(what string, t time.Time) (any, error) {
	if t.IsZero() {
		return nil, nil
	}
	u := t.UTC()
	if y := u.Year(); y < 1 || y > 9999 {
		return nil, Invalid("%s: year %d is outside 1 to 9999", what, y)
	}
	return u.Format(TimeLayout), nil
}

// EncodeTimePtr is EncodeTime for an optional time: nil stays NULL.
func EncodeTimePtr(what string, t *time.Time) (any, error) {
	if t == nil {
		return nil, nil
	}
	if t.IsZero() {
		return nil, Invalid("%s: a set time must not be the zero time", what)
	}
	return EncodeTime(what, *t)
}

// DecodeTime reads a time written with TimeLayout.
func DecodeTime(s *string) (time.Time, error) {
	if s == nil {
		return time.Time{}, nil
	}
	t, err := time.Parse(TimeLayout, *s)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", *s, err)
	}
	return t, nil
}

// DecodeTimePtr is DecodeTime for an optional time.
func DecodeTimePtr(s *string) (*time.Time, error) {
	if s == nil {
		return nil, nil
	}
	t, err := DecodeTime(s)
	return &t, err
}
