package codebuild

import (
	"fmt"
	"net/http"

	"github.com/pipewright/pipewright/wire"
)

// The CodeBuild exceptions pipewright answers with: the model's four. This
// is the one place where the service's failures get their AWS names.
const (
	excInvalidInput          = "InvalidInputException"
	excResourceNotFound      = "ResourceNotFoundException"
	excResourceAlreadyExists = "ResourceAlreadyExistsException"
	excAccountLimitExceeded  = "AccountLimitExceededException"
)

func apiError(typ, format string, args ...any) *wire.Error {
	return &wire.Error{Code: typ, Message: fmt.Sprintf(format, args...), Status: http.StatusBadRequest}
}

func invalidInput(format string, args ...any) *wire.Error {
	return apiError(excInvalidInput, format, args...)
}

func (s *Service) projectNotFound(name string) *wire.Error {
	return apiError(excResourceNotFound, "Project cannot be found: %s", s.projectARN(name))
}

func buildNotFound(id string) *wire.Error {
	return apiError(excResourceNotFound, "Build %s does not exist", id)
}
