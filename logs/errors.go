package logs

import (
	"context"
	"errors"

	"github.com/pipewright/pipewright/wire"
)

// The CloudWatch Logs exceptions pipewright answers with. This is the one
// place where the service's failures get their AWS names.
const (
	excInvalidParameter      = "InvalidParameterException"
	excResourceNotFound      = "ResourceNotFoundException"
	excResourceAlreadyExists = "ResourceAlreadyExistsException"
)

func invalidParameter(msg string) *wire.Error { return wire.NewError(excInvalidParameter, msg) }

var (
	errGroupNotFound  = wire.NewError(excResourceNotFound, "The specified log group does not exist.")
	errStreamNotFound = wire.NewError(excResourceNotFound, "The specified log stream does not exist.")
	errGroupExists    = wire.NewError(excResourceAlreadyExists, "The specified log group already exists")
	errStreamExists   = wire.NewError(excResourceAlreadyExists, "The specified log stream already exists")
	errBadToken       = invalidParameter("The specified nextToken is invalid.")
)

// mapErrors answers a model constraint violation as CloudWatch Logs does:
// an InvalidParameterException with the "1 validation error detected: …"
// text, where the wire layer says ValidationException.
func mapErrors(op wire.Op) wire.Op {
	return func(ctx context.Context, body []byte) (any, error) {
		out, err := op(ctx, body)
		var e *wire.Error
		if errors.As(err, &e) && e.Code == wire.CodeValidation {
			return nil, invalidParameter(e.Message)
		}
		return out, err
	}
}

// notFound turns the store's ErrNotFound into the given answer.
func notFound(err, answer error) error {
	if errors.Is(err, ErrNotFound) {
		return answer
	}
	return err
}
