package wire

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func TestTimestampMarshal(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Unix(1472848788, 525_000_000), "1472848788.525"},
		{time.Unix(1472848788, 0), "1472848788"},
		{time.Unix(1472848788, 500_000_000), "1472848788.5"},
		{time.Unix(1472848788, 50_000_000), "1472848788.05"},
		{time.Unix(1472848788, 1_999_999), "1472848788.001"}, // truncated, not rounded
		{time.Unix(0, 0), "0"},
		{time.Unix(-2, 500_000_000), "-1.5"},
		{time.Unix(-1, 999_000_000), "-0.001"},
	}
	for _, tt := range tests {
		got, err := json.Marshal(NewTimestamp(tt.in))
		if err != nil {
			t.Fatalf("Marshal(%v): %v", tt.in, err)
		}
		if string(got) != tt.want {
			t.Errorf("Marshal(%v) = %s, want %s", tt.in, got, tt.want)
		}
		// The value (not only the pointer) marshals the same, as list elements do.
		got, _ = json.Marshal([]Timestamp{*NewTimestamp(tt.in)})
		if string(got) != "["+tt.want+"]" {
			t.Errorf("Marshal([]Timestamp{%v}) = %s", tt.in, got)
		}
	}
}

func TestTimestampUnmarshal(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"1472848788.525", time.Unix(1472848788, 525_000_000)},
		{"1472848788", time.Unix(1472848788, 0)},
		{"1.472848788525E9", time.Unix(1472848788, 525_000_000)},
		{"1472848788.5254", time.Unix(1472848788, 525_000_000)},
		{"1472848788.5256", time.Unix(1472848788, 526_000_000)},
		{"0", time.Unix(0, 0)},
		{"-1.5", time.Unix(-2, 500_000_000)},
		{" 12 ", time.Unix(12, 0)},
	}
	for _, tt := range tests {
		var ts Timestamp
		if err := json.Unmarshal([]byte(tt.in), &ts); err != nil {
			t.Fatalf("Unmarshal(%s): %v", tt.in, err)
		}
		if got := ts.Time(); !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("Unmarshal(%s) = %v, want %v UTC", tt.in, got, tt.want.UTC())
		}
	}
}

func TestTimestampRejects(t *testing.T) {
	for _, in := range []string{
		`"1472848788"`, `"2016-09-02T20:39:48Z"`, `true`, `{}`, `[1]`,
		`1e20`, `-1e20`, `253402300800`,
	} {
		var ts Timestamp
		err := json.Unmarshal([]byte(in), &ts)
		var typeErr *json.UnmarshalTypeError
		if !errors.As(err, &typeErr) {
			t.Errorf("Unmarshal(%s) = %v, want *json.UnmarshalTypeError", in, err)
		}
	}
	// Not JSON numbers, though strconv.ParseFloat would take them.
	for _, in := range []string{"+1", "0x10", "1_000", "Inf", "-Inf", "NaN", ".5", "5.", "01", "1e", ""} {
		var ts Timestamp
		if err := ts.UnmarshalJSON([]byte(in)); err == nil {
			t.Errorf("UnmarshalJSON(%q) succeeded, want error", in)
		}
	}
}

func TestTimestampNullAndStruct(t *testing.T) {
	type doc struct {
		At   *Timestamp  `json:"at,omitempty"`
		List []Timestamp `json:"list,omitempty"`
	}
	var d doc
	if err := json.Unmarshal([]byte(`{"at":null,"list":[1,2.25]}`), &d); err != nil {
		t.Fatal(err)
	}
	if d.At != nil || len(d.List) != 2 || !d.List[1].Time().Equal(time.UnixMilli(2250)) {
		t.Fatalf("decoded %+v", d)
	}
	var ts Timestamp
	if err := ts.UnmarshalJSON([]byte("null")); err != nil || !ts.Time().IsZero() {
		t.Fatalf("null: %v %v", ts.Time(), err)
	}
	err := DecodeJSON([]byte(`{"at":"yesterday"}`), &d)
	var we *Error
	if !errors.As(err, &we) || we.Code != CodeSerialization {
		t.Fatalf("DecodeJSON with string timestamp = %v, want SerializationException", err)
	}
}

func TestTimestampRoundTrip(t *testing.T) {
	for _, in := range []time.Time{
		time.Date(2016, 9, 2, 20, 39, 48, 525_000_000, time.UTC),
		time.Date(2025, 4, 2, 0, 0, 0, 0, time.FixedZone("x", 3600)),
		time.Date(1969, 12, 31, 23, 59, 59, 1_000_000, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999_000_000, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		b, err := json.Marshal(NewTimestamp(in))
		if err != nil {
			t.Fatal(err)
		}
		var out Timestamp
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("Unmarshal(%s): %v", b, err)
		}
		if !out.Time().Equal(in) {
			t.Errorf("round trip of %v via %s = %v", in, b, out.Time())
		}
	}
}
