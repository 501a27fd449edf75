package codepipeline

// ExecutionStatus is a pipeline execution's status, spelled as AWS spells it.
type ExecutionStatus string

const (
	// ExecutionInProgress: set by StartPipelineExecution/CreatePipeline and by
	// RetryStageExecution; left by the engine when the execution ends, or by
	// StopPipelineExecution (to Stopping).
	ExecutionInProgress ExecutionStatus = "InProgress"
	// ExecutionStopping: set by StopPipelineExecution; left by the engine once
	// no action of the execution is in progress any more (to Stopped).
	ExecutionStopping ExecutionStatus = "Stopping"
	// ExecutionStopped: set by the engine after a stop; left only by
	// RetryStageExecution.
	ExecutionStopped ExecutionStatus = "Stopped"
	// ExecutionSucceeded: set by the engine when the last stage succeeded. Terminal.
	ExecutionSucceeded ExecutionStatus = "Succeeded"
	// ExecutionFailed: set by the engine when a stage failed; left only by
	// RetryStageExecution.
	ExecutionFailed ExecutionStatus = "Failed"
	// ExecutionSuperseded: set by the engine when a newer execution took the
	// place this one waited for in front of a stage. Terminal.
	ExecutionSuperseded ExecutionStatus = "Superseded"
	// ExecutionCancelled: set by the engine when the pipeline definition was
	// updated before the execution completed. Terminal.
	ExecutionCancelled ExecutionStatus = "Cancelled"
)

// Active reports whether the engine still has work to do for the execution.
func (s ExecutionStatus) Active() bool {
	return s == ExecutionInProgress || s == ExecutionStopping
}

// StageStatus is the status of one execution's run of one stage.
type StageStatus string

const (
	// StageInProgress: set by the engine when an execution enters the stage
	// and by RetryStageExecution; left when the stage ends.
	StageInProgress StageStatus = "InProgress"
	// StageStopping: set by the engine while a stop-and-wait lets the
	// stage's in-progress actions finish; left to Stopped.
	StageStopping StageStatus = "Stopping"
	// StageStopped: set by the engine when a stop completed; left by retry.
	StageStopped StageStatus = "Stopped"
	// StageSucceeded: set by the engine when every action succeeded. Terminal.
	StageSucceeded StageStatus = "Succeeded"
	// StageFailed: set by the engine when an action failed; left by retry.
	StageFailed StageStatus = "Failed"
	// StageCancelled: set by the engine when the pipeline was updated while
	// the stage ran. Terminal.
	StageCancelled StageStatus = "Cancelled"
)

// ended reports whether the stage run is not running any more (Stopped
// and Failed ones may be retried).
func (s StageStatus) ended() bool { return s != StageInProgress && s != StageStopping }

// ActionStatus is the status of one action execution.
type ActionStatus string

const (
	// ActionInProgress: set by the engine when the action starts; left when
	// its job reports, the approval is answered or times out, or the
	// execution is abandoned.
	ActionInProgress ActionStatus = "InProgress"
	// ActionSucceeded: set when the action's job succeeded. Terminal.
	ActionSucceeded ActionStatus = "Succeeded"
	// ActionFailed: set when the action's job failed, the approval was
	// rejected or expired, or its process died with the server. Terminal.
	ActionFailed ActionStatus = "Failed"
	// ActionAbandoned: set by the engine carrying out a stop-and-abandon.
	// Terminal: a late result of the job is discarded.
	ActionAbandoned ActionStatus = "Abandoned"
)

// StopMode is how StopPipelineExecution asked an execution to stop.
type StopMode string

const (
	// StopWait lets in-progress actions finish and starts nothing new.
	StopWait StopMode = "wait"
	// StopAbandon marks in-progress actions Abandoned at once.
	StopAbandon StopMode = "abandon"
)

// EndReason is the typed cause of an execution's terminal status.
type EndReason string

const (
	ReasonNone         EndReason = ""
	ReasonSucceeded    EndReason = "succeeded"
	ReasonActionFailed EndReason = "action-failed"
	ReasonUserStop     EndReason = "user-stop"
	ReasonAbandon      EndReason = "abandon"
	ReasonSuperseded   EndReason = "superseded"
	ReasonUpdated      EndReason = "pipeline-updated"
	// ReasonInternal: pipewright could not advance the execution (a panic).
	ReasonInternal EndReason = "internal"
)
