package wire

import (
	"fmt"
	"net/http"
)

// Error is an AWS-shaped error: Code is the exception name that goes into
// the body's __type and the X-Amzn-ErrorType header, Message the body's
// message, Status the HTTP status (0 means 400).
//
// The Server answers an *Error (also when wrapped) as is. Every other error
// a handler or Authenticator returns, and an *Error with an empty Code or a
// Status that is neither 0 nor 400–599, is answered as an InternalFailure
// (500) and logged, never echoed to the client.
type Error struct {
	Code    string
	Message string
	Status  int
	// Paths are, for a ValidationException, the paths of the members
	// that broke their constraints ("registrationStatus",
	// "tagFilters.1.member.type"), in the order the message lists them.
	Paths []string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// NewError returns a client error (HTTP 400) with the given AWS type name.
func NewError(code, message string) *Error {
	return &Error{Code: code, Message: message, Status: http.StatusBadRequest}
}

// Errorf is NewError with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return NewError(code, fmt.Sprintf(format, args...))
}

// Protocol-level error types shared by every awsJson1_1 service.
const (
	CodeSerialization       = "SerializationException"        // 400: body is not one JSON object of the right shape
	CodeUnknownOperation    = "UnknownOperationException"     // 400: unknown X-Amz-Target; 405 for a method other than POST
	CodeValidation          = "ValidationException"           // 400: input breaks a model constraint
	CodeInternalFailure     = "InternalFailure"               // 500: anything that is not the client's fault
	CodeRequestEntityTooBig = "RequestEntityTooLarge"         // 413: body larger than the Server's limit
	CodeRequestTimeout      = "RequestTimeoutException"       // 408: body not received before the read deadline
	CodeUnsupportedMedia    = "UnsupportedMediaTypeException" // 415: Content-Type is not JSON
)
