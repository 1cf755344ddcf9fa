package postgres

import (
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/ramphq/ramp/flag"
)

// What the store refuses with KindInvalid, identically in the SQLite backend (internal/store/sqlite has the
// same checks, so a record that one backend takes the other takes too): keys that are empty, longer than maxKey
// bytes, not UTF-8 or holding NUL; text holding NUL or invalid UTF-8 (PostgreSQL text cannot hold either); JSON
// documents that are not valid JSON or hold a NUL character (jsonb cannot store one); times outside years 1 to
// 9999.
const maxKey = 256

const timeLayout = "2006-01-02T15:04:05.000000000Z"

func invalid(format string, args ...any) error {
	return &flag.Error{Kind: flag.KindInvalid, Message: fmt.Sprintf(format, args...)}
}

func checkKey(what, k string) error {
	switch {
	case k == "":
		return invalid("%s: empty key", what)
	case len(k) > maxKey:
		return invalid("%s: key is %d bytes, longer than the store's limit of %d", what, len(k), maxKey)
	}
	return checkText(what, k)
}

func checkText(what, s string) error {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return invalid("%s: contains a NUL character", what)
		}
	}
	if !utf8.ValidString(s) {
		return invalid("%s: not valid UTF-8", what)
	}
	return nil
}

// checkTexts checks pairs of (what, text).
func checkTexts(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if err := checkText(pairs[i], pairs[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// checkJSON refuses documents that are not JSON or that hold an escaped NUL (\u0000) in a string.
func checkJSON(what string, doc []byte) error {
	if !json.Valid(doc) {
		return invalid("%s: not valid JSON", what)
	}
	for i := 0; i < len(doc); i++ {
		if doc[i] != '\\' {
			continue
		}
		if i+6 <= len(doc) && string(doc[i+1:i+6]) == "u0000" {
			return invalid("%s: contains a NUL character", what)
		}
		i++ // skip the escaped character, so \\u0000 is not taken for \u0000
	}
	return nil
}

// marshal encodes a document and checks it.
func marshal(what string, v any) ([]byte, error) {
	doc, err := json.Marshal(v)
	if err != nil {
		return nil, invalid("%s: %v", what, err)
	}
	return doc, checkJSON(what, doc)
}

// encodeTime returns the stored form of t: NULL for the zero time, else fixed-width UTC text.
func encodeTime(what string, t time.Time) (any, error) {
	if t.IsZero() {
		return nil, nil
	}
	u := t.UTC()
	if y := u.Year(); y < 1 || y > 9999 {
		return nil, invalid("%s: year %d is outside 1 to 9999", what, y)
	}
	return u.Format(timeLayout), nil
}

func encodeTimePtr(what string, t *time.Time) (any, error) {
	if t == nil {
		return nil, nil
	}
	if t.IsZero() {
		return nil, invalid("%s: a set time must not be the zero time", what)
	}
	return encodeTime(what, *t)
}

func decodeTime(s *string) (time.Time, error) {
	if s == nil {
		return time.Time{}, nil
	}
	t, err := time.Parse(timeLayout, *s)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", *s, err)
	}
	return t, nil
}

func decodeTimePtr(s *string) (*time.Time, error) {
	if s == nil {
		return nil, nil
	}
	t, err := decodeTime(s)
	return &t, err
}
