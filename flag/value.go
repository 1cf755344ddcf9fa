package flag

import (
	"math"
	"time"
)

// AsNumber converts a context or clause value of any Go numeric type to float64.
func AsNumber(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case float32:
		return float64(n), true
	case int32:
		return float64(n), true
	case uint:
		return float64(n), true
	case uint64:
		return float64(n), true
	case uint32:
		return float64(n), true
	case int16:
		return float64(n), true
	case int8:
		return float64(n), true
	case uint16:
		return float64(n), true
	case uint8:
		return float64(n), true
	}
	return 0, false
}

// AsTime converts a date operand: an RFC 3339 string (a bare date "2026-01-31" is midnight UTC) or a number of
// Unix seconds. It returns Unix time in nanoseconds-free float seconds, which orders correctly and never
// allocates for UTC offsets.
func AsTime(v any) (float64, bool) {
	if f, ok := AsNumber(v); ok {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, false
		}
		return f, true
	}
	s, ok := v.(string)
	if !ok {
		return 0, false
	}
	if len(s) == 10 {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return 0, false
		}
		return float64(t.Unix()), true
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, false
	}
	return float64(t.Unix()) + float64(t.Nanosecond())/1e9, true
}
