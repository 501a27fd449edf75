package codepipeline

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Store is the persistence the CodePipeline service needs. Every method of
// Tx works inside one transaction; Update and Progress commit all of fn's
// writes or none. Updates are compare-and-set on RowVersion: when the
// stored version is not the record's, the write returns ErrConflict and
// changes nothing; on success the record's RowVersion is advanced.
type Store interface {
	// Update commits durably: once it returns, neither a crash of the
	// server nor a power loss undoes the change. The API records what a
	// user asked for (a start, a stop, an approval) with it.
	Update(ctx context.Context, fn func(Tx) error) error
	// Progress commits so that a crash of the server process (kill -9)
	// never undoes the change, but a power loss or kernel crash may undo
	// the latest ones (the store stays consistent). The engine records
	// what it derives with it: after such a loss, the reconcile derives it
	// again from the durable records, and jobs that were running are
	// failed as lost.
	Progress(ctx context.Context, fn func(Tx) error) error
	View(ctx context.Context, fn func(Tx) error) error
}

// Store errors.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	ErrConflict = errors.New("concurrent modification")
)

// Tx is one transaction of the Store.
type Tx interface {
	CreatePipeline(p *Pipeline) error // ErrExists
	GetPipeline(name string) (*Pipeline, error)
	GetPipelineVersion(name string, version int32) (json.RawMessage, error)
	UpdatePipeline(p *Pipeline) error // also records p.Declaration as version p.Version
	DeletePipeline(name string) error // deletes its executions and runs too
	ListPipelines(afterName string, limit int) ([]*Pipeline, error)
	// PipelinesWithActiveExecutions names the pipelines the engine must reconcile.
	PipelinesWithActiveExecutions() ([]string, error)

	CreateExecution(e *Execution) error // assigns Seq
	GetExecution(pipeline, id string) (*Execution, error)
	FindExecutionByToken(pipeline, token string) (*Execution, error)
	UpdateExecution(e *Execution) error
	ListActiveExecutions(pipeline string) ([]*Execution, error)
	// ListExecutions returns executions newest first, with Seq < beforeSeq
	// when beforeSeq > 0; succeededInStage keeps those whose run of that
	// stage succeeded.
	ListExecutions(pipeline string, beforeSeq int64, limit int, succeededInStage string) ([]*Execution, error)

	CreateStageRun(sr *StageRun) error // assigns Seq
	GetStageRun(executionID, stage string) (*StageRun, error)
	UpdateStageRun(sr *StageRun) error
	LatestStageRun(pipeline, stage string) (*StageRun, error)
	ListStageRuns(executionID string) ([]*StageRun, error)

	CreateActionRun(r *ActionRun) error // assigns Seq
	GetActionRun(id string) (*ActionRun, error)
	UpdateActionRun(r *ActionRun) error
	ListActionRunsForExecution(executionID string) ([]*ActionRun, error)
	LatestActionRun(pipeline, stage, action string) (*ActionRun, error)
	// FindActionRunByToken returns the newest run of the action whose
	// approval token (Token while waiting, AnsweredToken once answered) is
	// token; ErrNotFound when there is none (an empty token matches none).
	FindActionRunByToken(pipeline, stage, action, token string) (*ActionRun, error)
	// ListActionRuns returns runs newest first, with Seq < beforeSeq when
	// beforeSeq > 0, of one execution when executionID is set.
	ListActionRuns(pipeline, executionID string, beforeSeq int64, limit int) ([]*ActionRun, error)

	// ListExecutionsEndedBefore returns up to limit executions of any
	// pipeline that ended (are no longer active) and were last updated
	// before t, oldest first.
	ListExecutionsEndedBefore(t time.Time, limit int) ([]*Execution, error)
	// DeleteExecution deletes an execution with its stage and action runs.
	DeleteExecution(pipeline, id string) error

	// AddArtifactGarbage records artifact objects whose records are gone,
	// for the collector to delete their files.
	AddArtifactGarbage(refs []ArtifactRef) error
	ListArtifactGarbage(limit int) ([]ArtifactGarbage, error)
	DeleteArtifactGarbage(ids []int64) error
}

// ArtifactGarbage is an artifact object waiting to be deleted.
type ArtifactGarbage struct {
	ID int64
	ArtifactRef
}
