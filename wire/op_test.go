package wire_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/pipewright/pipewright/wire"
)

type decodeItem struct {
	A *int32 `json:"a"`
}

type decodeInput struct {
	Name   *string           `json:"name"`
	Count  *int32            `json:"count"`
	Ratio  *float64          `json:"ratio"`
	On     *bool             `json:"on"`
	At     *wire.Timestamp   `json:"at"`
	Nested *decodeItem       `json:"nested"`
	Items  []decodeItem      `json:"items"`
	Tags   map[string]string `json:"tags"`
	Raw    *json.RawMessage  `json:"raw"`
	Blob   []byte            `json:"blob"`
}

func TestDecodeJSONAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		check      func(decodeInput) bool
	}{
		{"empty", "", func(in decodeInput) bool { return in.Name == nil && in.Items == nil }},
		{"whitespace", " \t\r\n", func(in decodeInput) bool { return in.Name == nil }},
		{"empty object", "{}", func(in decodeInput) bool { return in.Name == nil }},
		{"surrounding whitespace", "\n {\"name\":\"x\"} \n", func(in decodeInput) bool { return *in.Name == "x" }},
		{"unknown members ignored", `{"zzz":{"deep":[1,{"x":null}]},"name":"x","other":5}`, func(in decodeInput) bool { return *in.Name == "x" }},
		{"null members stay unset", `{"name":null,"nested":null,"items":null,"tags":null}`, func(in decodeInput) bool {
			return in.Name == nil && in.Nested == nil && in.Items == nil && in.Tags == nil
		}},
		{"all kinds", `{"name":"n","count":-3,"ratio":0.5,"on":false,"at":1700000000.5,"nested":{"a":1},"items":[{"a":2},{}],"tags":{"k":"v"},"raw":[1,"x"],"blob":"aGk="}`,
			func(in decodeInput) bool {
				return *in.Name == "n" && *in.Count == -3 && *in.Ratio == 0.5 && !*in.On &&
					in.At.Time().UnixMilli() == 1700000000500 && *in.Nested.A == 1 && len(in.Items) == 2 && *in.Items[0].A == 2 &&
					in.Tags["k"] == "v" && string(*in.Raw) == `[1,"x"]` && string(in.Blob) == "hi"
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var in decodeInput
			if err := wire.DecodeJSON([]byte(tt.body), &in); err != nil {
				t.Fatalf("DecodeJSON(%q) = %v", tt.body, err)
			}
			if !tt.check(in) {
				t.Errorf("DecodeJSON(%q) decoded %+v", tt.body, in)
			}
		})
	}
}

func TestDecodeJSONRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body, msg string // msg "" skips the message check
	}{
		{`[]`, "The request body must be a JSON object"},
		{`"x"`, "The request body must be a JSON object"},
		{`1`, "The request body must be a JSON object"},
		{`null`, "The request body must be a JSON object"},
		{` null `, "The request body must be a JSON object"},
		{`true`, "The request body must be a JSON object"},
		{"\v{}", "The request body must be a JSON object"},
		{"\ufeff{}", "The request body must be a JSON object"},
		{`{`, "Malformed JSON: unexpected end of the request body"},
		{`{"name":`, ""},
		{`{"name":"x",}`, ""},
		{`{"name":"x"`, ""},
		{`{'name':'x'}`, ""},
		{`{"a":}`, "Malformed JSON at offset 6: invalid character '}' looking for beginning of value"},
		{`{} {}`, "Unexpected content after the end of the JSON document"},
		{`{}x`, "Unexpected content after the end of the JSON document"},
		{`{}]`, "Unexpected content after the end of the JSON document"},
		{`{"name":1}`, "Unexpected value type for member 'name': expected string, got number"},
		{`{"name":{}}`, "Unexpected value type for member 'name': expected string, got object"},
		{`{"count":"1"}`, "Unexpected value type for member 'count': expected integer, got string"},
		{`{"count":1.5}`, "Unexpected value type for member 'count': expected integer, got number 1.5"},
		{`{"count":3000000000}`, "Unexpected value type for member 'count': expected integer, got number 3000000000"},
		{`{"ratio":"0.5"}`, "Unexpected value type for member 'ratio': expected number, got string"},
		{`{"ratio":1e400}`, ""},
		{`{"on":"true"}`, "Unexpected value type for member 'on': expected boolean, got string"},
		{`{"at":"2024-01-01T00:00:00Z"}`, "Unexpected value type for member 'at': expected number (epoch seconds), got string"},
		{`{"nested":[]}`, "Unexpected value type for member 'nested': expected object, got array"},
		{`{"nested":{"a":"x"}}`, "Unexpected value type for member 'nested.a': expected integer, got string"},
		{`{"items":{}}`, "Unexpected value type for member 'items': expected array, got object"},
		{`{"items":[{"a":true}]}`, "Unexpected value type for member 'items.a': expected integer, got bool"},
		{`{"tags":[]}`, "Unexpected value type for member 'tags': expected object, got array"},
		{`{"tags":{"k":1}}`, ""},
		{`{"blob":1}`, "Unexpected value type for member 'blob': expected string (base64), got number"},
		{`{"blob":"!!"}`, ""},
		{`{"raw":[1,}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			t.Parallel()
			var in decodeInput
			err := wire.DecodeJSON([]byte(tt.body), &in)
			var we *wire.Error
			if !errors.As(err, &we) || we.Code != wire.CodeSerialization || we.Status != http.StatusBadRequest || we.Message == "" {
				t.Fatalf("DecodeJSON(%q) = %#v, want a 400 SerializationException", tt.body, err)
			}
			if tt.msg != "" && we.Message != tt.msg {
				t.Errorf("DecodeJSON(%q) message = %q, want %q", tt.body, we.Message, tt.msg)
			}
		})
	}
}

func TestDecodeJSONOtherTargets(t *testing.T) {
	t.Parallel()
	var m map[string]any
	if err := wire.DecodeJSON([]byte(`{"a":[1]}`), &m); err != nil || len(m) != 1 {
		t.Errorf("map: %v %v", m, err)
	}
	var raw json.RawMessage
	if err := wire.DecodeJSON([]byte(` {"a":1} `), &raw); err != nil || string(raw) != `{"a":1}` {
		t.Errorf("raw: %s %v", raw, err)
	}
	if err := wire.DecodeJSON([]byte(`[1]`), &raw); !isSerialization(err) {
		t.Errorf("raw array: %v, want SerializationException", err)
	}
}

// TestDecodeJSONProgrammingErrors checks that a target that cannot be
// decoded into is reported as an internal error, not blamed on the client.
func TestDecodeJSONProgrammingErrors(t *testing.T) {
	t.Parallel()
	for name, v := range map[string]any{"nil": nil, "non-pointer": decodeInput{}, "nil pointer": (*decodeInput)(nil)} {
		err := wire.DecodeJSON([]byte(`{"name":"x"}`), v)
		var we *wire.Error
		if err == nil || errors.As(err, &we) {
			t.Errorf("%s: DecodeJSON = %v, want a non-*wire.Error error", name, err)
		}
	}
}

func TestErrorConstructors(t *testing.T) {
	t.Parallel()
	e := wire.Errorf("PipelineNotFoundException", "no pipeline %q in %d", "p", 3)
	if e.Code != "PipelineNotFoundException" || e.Message != `no pipeline "p" in 3` || e.Status != http.StatusBadRequest {
		t.Errorf("Errorf = %#v", e)
	}
	if got := e.Error(); got != `PipelineNotFoundException: no pipeline "p" in 3` {
		t.Errorf("Error() = %q", got)
	}
	if e := wire.NewError("ValidationException", "m"); e.Status != 400 || e.Code != "ValidationException" || e.Message != "m" {
		t.Errorf("NewError = %#v", e)
	}
}

func isSerialization(err error) bool {
	var we *wire.Error
	return errors.As(err, &we) && we.Code == wire.CodeSerialization
}
