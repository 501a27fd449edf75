package codepipeline

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/pipewright/pipewright/jobs"
)

// Actions that run work elsewhere (a Commands action in the job layer;
// later a CodeBuild action in the codebuild service, a CodeDeploy action in
// codedeploy) follow one protocol, so that nothing is lost or done twice:
//
//  1. decide creates the ActionRun InProgress: that record is the intent,
//     and its ID is the client token of the work.
//  2. After the commit, the work is started through the other service's Go
//     API with that token (startJob). A crash between 1 and 2 leaves the
//     run InProgress under an earlier boot; the next life's decide asks
//     for the work again (effectResume), and the token makes the second
//     start return the first start's work if there was one.
//  3. The other service tells the pipeline when the work ended (jobHandler:
//     the job layer's Ended), which records the result and wakes the
//     pipeline; nothing polls.
//  4. Stopping goes the same way: the stop is recorded first, then the work
//     is stopped by its token.

// jobResult is how a job or source action ended.
type jobResult struct {
	status     ActionStatus
	summary    string
	errCode    string
	errMsg     string
	outputs    []ArtifactRef
	vars       map[string]string
	revision   *Revision
	externalID string
	url        string
}

func failed(code, msg string) jobResult {
	return jobResult{status: ActionFailed, errCode: code, errMsg: msg}
}

// MessageServerShutdown is the errorDetails message of a job action that
// was running when the server was shut down.
const MessageServerShutdown = "The pipewright server was shut down while this action was running; its process tree was terminated."

// startJob submits the job of a Commands run (again, after a restart: the
// run's ID is the job's client token), and records what became of it.
func (s *Service) startJob(r *ActionRun, def *definition) {
	ctx := context.Background()
	j, err := s.jobs.Submit(ctx, jobOwner, r.ID, r.Pipeline, s.jobSpec(r, def))
	if err != nil {
		s.log.Error("submit job", "actionExecutionId", r.ID, "err", err)
		s.complete(r.ID, r.Pipeline, failed(errJobFailed, "Could not start the commands: "+err.Error()))
		return
	}
	if s.cfg.Logs != nil {
		if err := s.cfg.Logs.Attach(ctx, commandsLogGroup(r.Pipeline), r.ID, j.LogPath, j.Created); err != nil {
			s.log.Warn("attach a job's log stream", "actionExecutionId", r.ID, "err", err)
		}
	}
	if j.Status.Terminal() {
		s.jobEnded(j)
	}
}

// logStreamARN is the CloudWatch Logs stream of a run's output: its
// build's for a CodeBuild action, its own for a Commands action.
func (s *Service) logStreamARN(r *ActionRun) string {
	if r.LogStreamARN != "" || s.cfg.Logs == nil || kindOf(r.Input.ActionTypeID) != kindCommands {
		return r.LogStreamARN
	}
	return "arn:aws:logs:" + s.cfg.Region + ":" + s.cfg.AccountID + ":log-group:" + commandsLogGroup(r.Pipeline) + ":log-stream:" + r.ID
}

// jobSpec is what a Commands run asks of the job layer.
func (s *Service) jobSpec(r *ActionRun, def *definition) jobs.Spec {
	spec := jobs.Spec{
		Script:    strings.Join(r.Commands, "\n") + "\n",
		Env:       append([]string{"CODEPIPELINE_EXECUTION_ID=" + r.ExecutionID, "CODEPIPELINE_ACTION_EXECUTION_ID=" + r.ID}, r.Env...),
		Variables: r.OutputVariables,
	}
	for _, in := range r.Input.InputArtifacts {
		spec.Inputs = append(spec.Inputs, jobs.Artifact{Name: in.Name, Bucket: in.Bucket, Key: in.Key})
	}
	for _, o := range r.Outputs {
		spec.Outputs = append(spec.Outputs, jobs.Output{
			Artifact: jobs.Artifact{Name: o.Name, Bucket: def.bucket, Key: artifactKey(r.Pipeline, o.Name)},
			Files:    o.Files,
		})
	}
	return spec
}

// jobURL is where a job's log can be read on the server's machine.
func jobURL(j *jobs.Job) string { return "file://" + j.LogPath }

// jobLogURL is jobURL for a job that may not exist yet.
func (s *Service) jobLogURL(id string) string { return "file://" + s.jobs.LogPath(id) }

// stopJob stops the job of an abandoned run (pipewright:abandon-cancels-jobs).
func (s *Service) stopJob(r *ActionRun, reason string) {
	j, err := s.jobByToken(r.ID)
	if err != nil {
		return
	}
	if err := s.jobs.Stop(context.Background(), j.ID, reason); err != nil && !errors.Is(err, jobs.ErrNotFound) {
		s.log.Warn("stop job", "actionExecutionId", r.ID, "jobId", j.ID, "err", err)
	}
}

// noteJob adds a line to the end of a job's log.
func (s *Service) noteJob(r *ActionRun, text string) {
	if j, err := s.jobByToken(r.ID); err == nil {
		s.jobs.Note(context.Background(), j.ID, text)
	}
}

func (s *Service) jobByToken(token string) (*jobs.Job, error) {
	return s.jobs.ByToken(context.Background(), jobOwner, token)
}

// jobHandler is the service as the owner of its jobs.
type jobHandler struct{ s *Service }

// Wanted: a job runs only for a run that is still in progress (not
// abandoned, timed out, or deleted with its pipeline).
func (h jobHandler) Wanted(ctx context.Context, j *jobs.Job) bool {
	wanted := false
	h.s.store.View(ctx, func(tx Tx) error {
		r, err := tx.GetActionRun(j.Token)
		wanted = err == nil && r.Status == ActionInProgress
		return nil
	})
	return wanted
}

// Ended records the job's result on its run.
func (h jobHandler) Ended(j *jobs.Job) { h.s.jobEnded(j) }

// jobEnded records how a job ended on the run it was for.
func (s *Service) jobEnded(j *jobs.Job) {
	res := jobResult{externalID: j.ID, url: jobURL(j)}
	if j.Status == jobs.StatusSucceeded {
		res.status = ActionSucceeded
		for _, o := range j.Outputs {
			res.outputs = append(res.outputs, ArtifactRef{Name: o.Name, Bucket: o.Bucket, Key: o.Key})
		}
		res.vars = j.Variables
	} else {
		res.status, res.errCode = ActionFailed, errJobFailed
		switch j.Reason {
		case jobs.ReasonShutdown:
			res.errMsg = MessageServerShutdown
		case jobs.ReasonLost:
			res.errMsg = MessageServerRestarted
		case jobs.ReasonStopped:
			res.errMsg = "The action's process tree was terminated."
		default:
			res.errMsg = j.Message
		}
	}
	s.complete(j.Token, j.Group, res)
}

// startSource runs an in-process action (a CodeCommit or S3 source, an S3
// deploy) in the background. One that is cancelled (its pipeline deleted,
// the server shut down) records nothing: the next life runs it again.
func (s *Service) startSource(r *ActionRun, def *definition) {
	ctx, cancel := context.WithCancel(context.Background())
	if !s.tasks.add(r.ID, r.Pipeline, cancel) {
		cancel()
		return
	}
	go func() {
		defer s.tasks.done(r.ID)
		defer cancel()
		res := s.runSourceSafely(ctx, r, def.bucket)
		if ctx.Err() != nil {
			return
		}
		s.complete(r.ID, r.Pipeline, res)
	}()
}

// runSourceSafely runs the in-process action; a panic fails it with a
// reason instead of taking the server down.
func (s *Service) runSourceSafely(ctx context.Context, r *ActionRun, bucket string) (res jobResult) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic in a source action", "actionExecutionId", r.ID, "panic", p, "stack", string(debug.Stack()))
			res = failed(errJobFailed, fmt.Sprintf("pipewright failed while running this action: %v", p))
		}
	}()
	switch t := r.Input.ActionTypeID; {
	case t.Category == "Source" && t.Provider == "S3":
		return s.runS3Source(ctx, r, bucket)
	case t.Category == "Deploy" && t.Provider == "S3":
		return s.runS3Deploy(ctx, r)
	case isCodeDeploy(t):
		return s.runCodeDeploy(ctx, r)
	}
	return s.runSource(ctx, r, bucket)
}

// storeRetryFor bounds how long recording a result retries store errors
// (a full disk), so that nothing waits on the store for ever.
const storeRetryFor = 10 * time.Second

// updateRun applies change to the latest record of a run and stores it,
// retrying lost compare-and-sets and, for a bounded time, store errors.
func (s *Service) updateRun(id string, change func(*ActionRun) bool) error {
	deadline := time.Now().Add(storeRetryFor)
	backoff := 20 * time.Millisecond
	for {
		err := s.store.Progress(context.Background(), func(tx Tx) error {
			r, err := tx.GetActionRun(id)
			if err != nil {
				return err
			}
			if !change(r) {
				return nil
			}
			r.Updated = s.now()
			return tx.UpdateActionRun(r)
		})
		switch {
		case err == nil, errors.Is(err, ErrNotFound):
			return err
		case errors.Is(err, ErrConflict):
			continue
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(backoff)
		backoff = min(2*backoff, time.Second)
	}
}

// complete records a job's result unless the action ended otherwise
// meanwhile (an abandon wins over a late result), then wakes the pipeline.
// A result that cannot be recorded is left to the next life: the job layer
// tells it again.
func (s *Service) complete(id, pipeline string, res jobResult) {
	var ended *ActionRun
	err := s.updateRun(id, func(r *ActionRun) bool {
		ended = nil
		missing := res.externalID != "" && r.ExternalID == ""
		if missing {
			r.ExternalID, r.ExternalURL = res.externalID, res.url
		}
		if r.Status != ActionInProgress {
			return missing
		}
		r.Status = res.status
		r.Summary = res.summary
		r.ErrorCode, r.ErrorMessage = res.errCode, res.errMsg
		if res.status != ActionSucceeded && r.Summary == "" {
			r.Summary = res.errMsg
		}
		r.Output.OutputArtifacts = res.outputs
		r.Output.OutputVariables = res.vars
		r.Output.Revision = res.revision
		ended = r
		return true
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		s.log.Error("record action result", "actionExecutionId", id, "err", err)
		return
	}
	if ended != nil {
		s.logAction(ended, ActionInProgress)
	}
	s.wake(pipeline)
}
