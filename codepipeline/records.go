package codepipeline

import (
	"encoding/json"
	"time"
)

// Pipeline is a stored pipeline: its current declaration and what the API
// changes about it outside executions.
type Pipeline struct {
	Name        string
	Version     int32
	Declaration json.RawMessage // the PipelineDeclaration as stored, version included
	Created     time.Time
	Updated     time.Time
	Tags        []Tag
	// Transitions holds the inbound transition of every stage whose
	// transition was ever changed; a missing stage is enabled.
	Transitions map[string]Transition
	// RowVersion is the compare-and-set version of the record.
	RowVersion int64
}

// Tag is one resource tag.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Transition is the state of a stage's inbound transition.
type Transition struct {
	Enabled   bool      `json:"enabled"`
	Reason    string    `json:"reason,omitempty"`
	ChangedBy string    `json:"changedBy,omitempty"`
	ChangedAt time.Time `json:"changedAt"`
}

// Execution is one pipeline execution.
type Execution struct {
	ID              string
	Pipeline        string
	Seq             int64 // creation order within the pipeline
	PipelineVersion int32
	Status          ExecutionStatus
	Summary         string
	Reason          EndReason
	TriggerType     string
	TriggerDetail   string
	Mode            string // QUEUED, SUPERSEDED or PARALLEL, fixed at start
	ClientToken     string
	Variables       []Variable
	SourceRevisions []SourceRevisionOverride
	// Stage is the index of the stage the execution is in, or waits in
	// front of when Waiting, and StageName its name (an execution that
	// outlives a pipeline update finds its stage run by name).
	Stage     int
	StageName string
	Waiting   bool
	Stop      *StopRequest
	Started   time.Time
	Updated   time.Time
	// RowVersion is the compare-and-set version of the record.
	RowVersion int64
}

// Variable is a resolved pipeline-level variable of an execution.
type Variable struct {
	Name  string `json:"name"`
	Value string `json:"resolvedValue"`
}

// SourceRevisionOverride pins a source action to a revision for one execution.
type SourceRevisionOverride struct {
	ActionName    string `json:"actionName"`
	RevisionType  string `json:"revisionType"`
	RevisionValue string `json:"revisionValue"`
}

// StopRequest is a recorded StopPipelineExecution: the intent the engine
// carries out.
type StopRequest struct {
	Mode   StopMode  `json:"mode"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
	By     string    `json:"by,omitempty"`
	// CancelJobs is the pipewright:abandon-cancels-jobs tag when the stop
	// was requested: an abandon also terminates the abandoned actions' work.
	CancelJobs bool `json:"cancelJobs,omitempty"`
}

// StageRun is one execution's run of one stage. Seq orders the runs of a
// stage by when executions entered it, so the newest is the stage's latest
// execution.
type StageRun struct {
	Seq         int64
	ExecutionID string
	Pipeline    string
	Stage       string
	Status      StageStatus
	// Attempt counts the stage's runs for this execution (retries add one);
	// BaseAttempt is the attempt from which action results count (an
	// ALL_ACTIONS retry moves it, a FAILED_ACTIONS retry keeps it).
	Attempt     int
	BaseAttempt int
	Started     time.Time
	Updated     time.Time
	// RowVersion is the compare-and-set version of the record.
	RowVersion int64

	// ManualRetries counts the RetryStageExecution calls that resumed this
	// run; with LatestRetryTrigger (the RetryTrigger of the latest retry,
	// "ManualStageRetry") it is GetPipelineState's retryStageMetadata.
	ManualRetries int `json:",omitempty"`
	// LatestRetryTrigger is empty until the run is retried.
	LatestRetryTrigger string `json:",omitempty"`
}

// ActionRun is one execution of one action.
type ActionRun struct {
	Seq             int64 // creation order across the pipeline
	ID              string
	ExecutionID     string
	Pipeline        string
	Stage           string
	Action          string
	StageAttempt    int
	PipelineVersion int32
	Status          ActionStatus
	Summary         string
	Token           string     // approval token while waiting for an answer
	Deadline        *time.Time // approval expiry
	ErrorCode       string
	ErrorMessage    string
	ExternalID      string
	ExternalURL     string
	// LogStreamARN is the CloudWatch Logs stream of a CodeBuild action's
	// build (a Commands action's is derived, see logStreamARN).
	LogStreamARN string `json:",omitempty"`
	Input        ActionInput
	Output       ActionOutput
	// Commands and Env are a Commands action's commands and environment
	// (NAME=value) with variables resolved when the run was created.
	Commands []string `json:",omitempty"`
	Env      []string `json:",omitempty"`
	// Outputs and OutputVariables are the output artifacts and variables
	// the action declared when the run was created.
	Outputs         []OutputDecl `json:",omitempty"`
	OutputVariables []string     `json:",omitempty"`
	UpdatedBy       string
	// Boot is the server life that started the action's work; a source or
	// job action still InProgress under another boot is carried over by the
	// next life (decide's carryOver).
	Boot    string
	Started time.Time
	Updated time.Time
	// RowVersion is the compare-and-set version of the record.
	RowVersion int64

	// AnsweredToken is the token of an approval PutApprovalResult answered
	// (Token is cleared then), so that a second answer is recognised.
	AnsweredToken string `json:",omitempty"`
}

// ActionInput is what an action execution ran with.
type ActionInput struct {
	ActionTypeID          ActionTypeID      `json:"actionTypeId"`
	Configuration         map[string]string `json:"configuration,omitempty"`
	ResolvedConfiguration map[string]string `json:"resolvedConfiguration,omitempty"`
	Region                string            `json:"region,omitempty"`
	InputArtifacts        []ArtifactRef     `json:"inputArtifacts,omitempty"`
	Namespace             string            `json:"namespace,omitempty"`
}

// ActionTypeID identifies an action type.
type ActionTypeID struct {
	Category string `json:"category"`
	Owner    string `json:"owner"`
	Provider string `json:"provider"`
	Version  string `json:"version"`
}

// ActionOutput is what an action execution produced.
type ActionOutput struct {
	OutputArtifacts []ArtifactRef     `json:"outputArtifacts,omitempty"`
	OutputVariables map[string]string `json:"outputVariables,omitempty"`
	// Revision is set by source actions.
	Revision *Revision `json:"revision,omitempty"`
}

// OutputDecl is an output artifact an action declares: its name and, for a
// Commands action, the files it collects.
type OutputDecl struct {
	Name  string   `json:"name"`
	Files []string `json:"files,omitempty"`
}

// ArtifactRef names an artifact and where its content is.
type ArtifactRef struct {
	Name   string `json:"name"`
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
}

// Revision is the source revision a source action produced.
type Revision struct {
	ID      string    `json:"id"`
	Summary string    `json:"summary,omitempty"`
	Created time.Time `json:"created"`
	URL     string    `json:"url,omitempty"`
}
