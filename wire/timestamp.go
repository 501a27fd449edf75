package wire

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"time"
)

// Timestamp is a Smithy timestamp as the awsJson1_1 protocol carries it: a
// JSON number of seconds since the Unix epoch with millisecond precision,
// such as 1472848788.525 (or 1472848788 when the milliseconds are zero).
// The zero value is the zero time.Time.
type Timestamp struct {
	t time.Time
}

// Range of seconds a Timestamp accepts from JSON: years 1 to 9999.
const (
	minTimestampSeconds = -62135596800
	maxTimestampSeconds = 253402300799
)

// NewTimestamp returns t as a Timestamp, in UTC and truncated to the
// millisecond the wire carries, so that Time() returns what clients see.
func NewTimestamp(t time.Time) *Timestamp {
	return &Timestamp{t: t.UTC().Truncate(time.Millisecond)}
}

// Time returns the timestamp as a time.Time in UTC.
func (ts Timestamp) Time() time.Time { return ts.t.UTC() }

// MarshalJSON encodes the timestamp as epoch seconds with up to three
// decimals, trailing zeros dropped.
func (ts Timestamp) MarshalJSON() ([]byte, error) {
	ms := ts.t.UnixMilli()
	neg := ms < 0
	if neg {
		ms = -ms
	}
	b := make([]byte, 0, 24)
	if neg {
		b = append(b, '-')
	}
	b = strconv.AppendInt(b, ms/1000, 10)
	if frac := ms % 1000; frac != 0 {
		b = append(b, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
		b = bytes.TrimRight(b, "0")
	}
	return b, nil
}

// UnmarshalJSON decodes a JSON number of epoch seconds (integer, fractional
// or with an exponent), rounded to the millisecond. JSON null leaves the
// timestamp unchanged. Any other JSON type, or a number outside years 1 to
// 9999, fails with a *json.UnmarshalTypeError, which DecodeJSON turns into
// a SerializationException.
func (ts *Timestamp) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if string(data) == "null" {
		return nil
	}
	if !isJSONNumber(data) {
		return &json.UnmarshalTypeError{Value: jsonKind(data), Type: reflect.TypeFor[Timestamp]()}
	}
	secs, err := strconv.ParseFloat(string(data), 64)
	if err != nil || secs < minTimestampSeconds || secs >= maxTimestampSeconds+1 {
		return &json.UnmarshalTypeError{Value: "number " + string(data), Type: reflect.TypeFor[Timestamp]()}
	}
	ts.t = time.UnixMilli(int64(math.Round(secs * 1000))).UTC()
	return nil
}

// jsonKind names the JSON type of a value for error messages.
func jsonKind(data []byte) string {
	if len(data) == 0 {
		return "empty value"
	}
	switch data[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	}
	return "value"
}

// isJSONNumber reports whether data is exactly one number in JSON syntax:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func isJSONNumber(data []byte) bool {
	i, n := 0, len(data)
	digits := func() int {
		start := i
		for i < n && data[i] >= '0' && data[i] <= '9' {
			i++
		}
		return i - start
	}
	if i < n && data[i] == '-' {
		i++
	}
	if i < n && data[i] == '0' {
		i++
	} else if digits() == 0 {
		return false
	}
	if i < n && data[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < n && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < n && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == n
}
