package codepipeline

import (
	"fmt"
	"net/http"

	"github.com/pipewright/pipewright/wire"
)

// The CodePipeline exceptions pipewright answers with. This is the one place
// where the service's failures get their AWS names and HTTP statuses.
const (
	excActionNotFound                = "ActionNotFoundException"
	excActionTypeNotFound            = "ActionTypeNotFoundException"
	excApprovalAlreadyCompleted      = "ApprovalAlreadyCompletedException"
	excConcurrentModification        = "ConcurrentModificationException"
	excConcurrentExecutionsLimit     = "ConcurrentPipelineExecutionsLimitExceededException"
	excConflict                      = "ConflictException"
	excDuplicatedStopRequest         = "DuplicatedStopRequestException"
	excInvalidActionDeclaration      = "InvalidActionDeclarationException"
	excInvalidApprovalToken          = "InvalidApprovalTokenException"
	excInvalidArn                    = "InvalidArnException"
	excInvalidNextToken              = "InvalidNextTokenException"
	excInvalidStageDeclaration       = "InvalidStageDeclarationException"
	excInvalidStructure              = "InvalidStructureException"
	excInvalidTags                   = "InvalidTagsException"
	excLimitExceeded                 = "LimitExceededException"
	excNotLatestPipelineExecution    = "NotLatestPipelineExecutionException"
	excPipelineExecutionNotFound     = "PipelineExecutionNotFoundException"
	excPipelineExecutionNotStoppable = "PipelineExecutionNotStoppableException"
	excPipelineNameInUse             = "PipelineNameInUseException"
	excPipelineNotFound              = "PipelineNotFoundException"
	excPipelineVersionNotFound       = "PipelineVersionNotFoundException"
	excResourceNotFound              = "ResourceNotFoundException"
	excStageNotFound                 = "StageNotFoundException"
	excStageNotRetryable             = "StageNotRetryableException"
	excTooManyTags                   = "TooManyTagsException"
	excValidation                    = "ValidationException"
)

// apiError returns a CodePipeline error of the given type.
func apiError(typ, format string, args ...any) *wire.Error {
	status := http.StatusBadRequest
	if typ == excConflict {
		status = http.StatusConflict
	}
	return &wire.Error{Code: typ, Message: fmt.Sprintf(format, args...), Status: status}
}

func (s *Service) pipelineNotFound(name string) *wire.Error {
	return apiError(excPipelineNotFound, "Account '%s' does not have a pipeline with name '%s'", s.cfg.AccountID, name)
}

func executionNotFound(pipeline, id string) *wire.Error {
	return apiError(excPipelineExecutionNotFound, "Pipeline execution with id '%s' does not exist in pipeline with name '%s'", id, pipeline)
}

func stageNotFound(pipeline, stage string) *wire.Error {
	return apiError(excStageNotFound, "Stage '%s' does not exist in pipeline '%s'", stage, pipeline)
}
