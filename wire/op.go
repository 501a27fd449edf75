package wire

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
)

// Op is one awsJson1_1 operation: it decodes and validates the request body,
// runs the service and returns the value to encode as the response (nil for
// an empty "{}" answer) or an error.
type Op func(ctx context.Context, body []byte) (any, error)

// DecodeJSON decodes a request body into v, which must be a non-nil pointer.
// An empty (or all-whitespace) body counts as "{}". Unknown members are
// ignored (newer SDKs send members older models lack). A body that is not
// exactly one JSON object (malformed JSON, a top-level array, string, number
// or null, trailing data) or a member value of the wrong type is an *Error
// with Code SerializationException. Only a v that cannot be decoded into
// (nil, not a pointer) gives another error, which the Server answers as an
// InternalFailure: that is a programming mistake, not the client's.
func DecodeJSON(body []byte, v any) error {
	i := skipJSONSpace(body, 0)
	if i == len(body) {
		return nil
	}
	if body[i] != '{' {
		return NewError(CodeSerialization, "The request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body[i:]))
	if err := dec.Decode(v); err != nil {
		var inv *json.InvalidUnmarshalError
		if errors.As(err, &inv) {
			return fmt.Errorf("wire: DecodeJSON: %w", err)
		}
		return NewError(CodeSerialization, serializationMessage(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return NewError(CodeSerialization, "Unexpected content after the end of the JSON document")
	}
	return nil
}

// skipJSONSpace returns the index of the first byte at or after i that is
// not JSON whitespace (RFC 8259: space, tab, line feed, carriage return).
func skipJSONSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

func serializationMessage(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		want := jsonTypeName(te.Type)
		if te.Field != "" {
			return fmt.Sprintf("Unexpected value type for member '%s': expected %s, got %s", te.Field, want, te.Value)
		}
		return fmt.Sprintf("Unexpected value type: expected %s, got %s", want, te.Value)
	case errors.As(err, &se):
		return fmt.Sprintf("Malformed JSON at offset %d: %s", se.Offset, se.Error())
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "Malformed JSON: unexpected end of the request body"
	}
	return "Malformed request body: " + err.Error()
}

var timestampType = reflect.TypeFor[Timestamp]()

// jsonTypeName names the JSON type a Go type decodes from, so that
// SerializationException messages speak the client's language rather than
// naming Go types.
func jsonTypeName(t reflect.Type) string {
	if t == nil {
		return "a different type"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == timestampType {
		return "number (epoch seconds)"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "string (base64)"
		}
		return "array"
	case reflect.Array:
		return "array"
	case reflect.Struct, reflect.Map:
		return "object"
	}
	return "a different type"
}
