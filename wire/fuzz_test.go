package wire_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/pipewright/pipewright/wire"
)

type fuzzLeaf struct {
	Key   *string  `json:"key"`
	Value *string  `json:"value"`
	N     *int64   `json:"n"`
	F     *float32 `json:"f"`
}

type fuzzNested struct {
	Name   *string             `json:"name"`
	Leaf   *fuzzLeaf           `json:"leaf"`
	Leaves []fuzzLeaf          `json:"leaves"`
	ByName map[string]fuzzLeaf `json:"byName"`
}

// fuzzInput has the kinds of members generated shapes have.
type fuzzInput struct {
	Name     *string              `json:"name"`
	Count    *int32               `json:"count"`
	Big      *int64               `json:"big"`
	Ratio    *float64             `json:"ratio"`
	On       *bool                `json:"on"`
	At       *wire.Timestamp      `json:"at"`
	Nested   *fuzzNested          `json:"nested"`
	Items    []fuzzNested         `json:"items"`
	Names    []string             `json:"names"`
	Tags     map[string]string    `json:"tags"`
	Deep     map[string][]*string `json:"deep"`
	Raw      *json.RawMessage     `json:"raw"`
	Blob     []byte               `json:"blob"`
	Value    fuzzLeaf             `json:"value"`
	Anything any                  `json:"anything"`
}

// FuzzDecodeJSON checks that DecodeJSON never panics, that every error is a
// 400 SerializationException, and that it accepts nothing but an empty body
// or one valid JSON object.
func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{
		``, ` `, `{}`, ` {} `, `[]`, `null`, `"x"`, `1`, `true`, `{`, `}`, `{}{}`, `{} x`,
		`{"name":"x","count":1,"big":9007199254740993,"ratio":1.5e-3,"on":true,"at":1700000000.5}`,
		`{"nested":{"name":"n","leaf":{"key":"k","value":"v","n":-1,"f":3.4e38},"leaves":[{},{"key":null}],"byName":{"a":{"n":2}}}}`,
		`{"items":[{"name":"a"},{"leaves":[{"f":1e39}]}],"names":["a","b"],"tags":{"k":"v"},"deep":{"a":["x",null]}}`,
		`{"raw":{"any":[1,2,{"x":null}]},"blob":"aGVsbG8=","value":{"key":"k"},"anything":[{"a":1}]}`,
		`{"name":1}`, `{"count":"1"}`, `{"count":1.5}`, `{"count":2147483648}`, `{"big":1e19}`,
		`{"ratio":1e400}`, `{"at":"2024-01-01"}`, `{"at":-1e20}`, `{"at":253402300800}`,
		`{"nested":[]}`, `{"items":{}}`, `{"tags":{"k":1}}`, `{"blob":"!"}`, `{"value":null}`,
		`{"name":"\ud800"}`, "{\"name\":\"\xff\xfe\"}", `{"name":"\u0000"}`, `{"NAME":"x","Name":"y"}`,
		`{"name":"x","name":"y"}`, `{"a":[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]}`, "\ufeff{}", "{\"raw\":1}\x00",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var in fuzzInput
		err := wire.DecodeJSON(data, &in)
		if err != nil {
			var we *wire.Error
			if !errors.As(err, &we) || we.Code != wire.CodeSerialization || we.Status != http.StatusBadRequest || we.Message == "" {
				t.Fatalf("DecodeJSON(%q) = %#v, want a 400 SerializationException with a message", data, err)
			}
			return
		}
		if !isEmptyOrObject(data) {
			t.Fatalf("DecodeJSON(%q) accepted a body that is not one JSON object", data)
		}
	})
}

// isEmptyOrObject reports whether data is only JSON whitespace or exactly
// one valid JSON object.
func isEmptyOrObject(data []byte) bool {
	i := 0
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i == len(data) || data[i] == '{' && json.Valid(data)
}
