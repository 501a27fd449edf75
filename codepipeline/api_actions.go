package codepipeline

import (
	"context"
	"errors"

	"github.com/pipewright/pipewright/codepipeline/shape"
)

// ListActionExecutions lists action executions newest first, of the whole
// pipeline or of one execution. With latestInPipelineExecution and
// startTimeRange Latest it lists the latest run of each action of the
// execution, across all pages.
func (s *Service) ListActionExecutions(ctx context.Context, in *shape.ListActionExecutionsInput) (*shape.ListActionExecutionsOutput, error) {
	limit := 100
	if in.MaxResults != nil {
		limit = int(in.GetMaxResults())
	}
	before, terr := parseSeqToken("actions", in.NextToken)
	if terr != nil {
		return nil, terr
	}
	execID, latestOnly := "", false
	if f := in.Filter; f != nil {
		execID = f.GetPipelineExecutionId()
		if l := f.LatestInPipelineExecution; l != nil {
			execID = l.GetPipelineExecutionId()
			latestOnly = l.GetStartTimeRange() == shape.StartTimeRangeLatest
		}
	}
	var runs []*ActionRun
	err := s.store.View(ctx, func(tx Tx) error {
		if _, err := tx.GetPipeline(in.GetPipelineName()); err != nil {
			return err
		}
		if execID != "" {
			if _, err := tx.GetExecution(in.GetPipelineName(), execID); err != nil {
				if errors.Is(err, ErrNotFound) {
					return executionNotFound(in.GetPipelineName(), execID)
				}
				return err
			}
		}
		if latestOnly {
			all, err := tx.ListActionRunsForExecution(execID)
			runs = latestRuns(all, before, limit+1)
			return err
		}
		var err error
		runs, err = tx.ListActionRuns(in.GetPipelineName(), execID, before, limit+1)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return nil, s.pipelineNotFound(in.GetPipelineName())
	}
	if err != nil {
		return nil, err
	}
	out := &shape.ListActionExecutionsOutput{ActionExecutionDetails: []shape.ActionExecutionDetail{}}
	if len(runs) > limit {
		runs = runs[:limit]
		out.NextToken = seqToken("actions", runs[limit-1].Seq)
	}
	for _, r := range runs {
		out.ActionExecutionDetails = append(out.ActionExecutionDetails, s.actionDetail(r))
	}
	return out, nil
}

// latestRuns returns, of one execution's runs in Seq order, the latest run
// of each action, newest first: those with Seq < before (when before > 0),
// at most limit. A run a newer run of its action replaced is never
// listed, whichever page that newer run is on.
func latestRuns(runs []*ActionRun, before int64, limit int) []*ActionRun {
	seen := map[[2]string]bool{}
	var out []*ActionRun
	for i := len(runs) - 1; i >= 0 && len(out) < limit; i-- {
		r := runs[i]
		k := [2]string{r.Stage, r.Action}
		if seen[k] {
			continue
		}
		seen[k] = true
		if before <= 0 || r.Seq < before {
			out = append(out, r)
		}
	}
	return out
}

// artifactDetails lists artifacts on the wire; none is [], as AWS sends it.
func artifactDetails(refs []ArtifactRef) []shape.ArtifactDetail {
	out := make([]shape.ArtifactDetail, 0, len(refs))
	for _, a := range refs {
		out = append(out, shape.ArtifactDetail{Name: ptr(a.Name), S3location: &shape.S3Location{Bucket: ptr(a.Bucket), Key: ptr(a.Key)}})
	}
	return out
}

// nonNilMap returns m, or an empty map for nil: a map AWS always sends.
func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// actionDetail is one entry of ListActionExecutions. As in AWS's answers,
// input always has region (the pipeline's when the action names none),
// configuration, resolvedConfiguration and inputArtifacts, and output its
// outputArtifacts and outputVariables, empty or not.
func (s *Service) actionDetail(r *ActionRun) shape.ActionExecutionDetail {
	t := r.Input.ActionTypeID
	region := r.Input.Region
	if region == "" {
		region = s.cfg.Region
	}
	return shape.ActionExecutionDetail{
		PipelineExecutionId: ptr(r.ExecutionID), ActionExecutionId: ptr(r.ID), PipelineVersion: ptr(r.PipelineVersion),
		StageName: ptr(r.Stage), ActionName: ptr(r.Action), StartTime: ts(r.Started), LastUpdateTime: ts(r.Updated),
		UpdatedBy: str(r.UpdatedBy), Status: ptr(shape.ActionExecutionStatus(r.Status)),
		Input: &shape.ActionExecutionInput{
			ActionTypeId:  &shape.ActionTypeId{Category: ptr(shape.ActionCategory(t.Category)), Owner: ptr(shape.ActionOwner(t.Owner)), Provider: ptr(t.Provider), Version: ptr(t.Version)},
			Configuration: nonNilMap(r.Input.Configuration), ResolvedConfiguration: nonNilMap(r.Input.ResolvedConfiguration),
			Region: ptr(region), InputArtifacts: artifactDetails(r.Input.InputArtifacts), Namespace: str(r.Input.Namespace),
		},
		Output: &shape.ActionExecutionOutput{
			OutputArtifacts: artifactDetails(r.Output.OutputArtifacts), ExecutionResult: s.executionResult(r),
			OutputVariables: nonNilMap(r.Output.OutputVariables),
		},
	}
}

// executionResult is an action execution's result: for an approval that
// waits, its token as externalExecutionId (AWS documents this as the token
// to answer with in PARALLEL pipelines, where GetPipelineState has none);
// for an action that ended, what it reported; nothing for a job that runs.
func (s *Service) executionResult(r *ActionRun) *shape.ActionExecutionResult {
	if r.Status == ActionInProgress {
		if r.Token == "" {
			return nil
		}
		return &shape.ActionExecutionResult{ExternalExecutionId: ptr(r.Token)}
	}
	res := &shape.ActionExecutionResult{ExternalExecutionId: str(r.ExternalID), ExternalExecutionSummary: str(r.Summary), ExternalExecutionUrl: str(r.ExternalURL),
		LogStreamARN: str(s.logStreamARN(r))}
	if r.ErrorCode != "" || r.ErrorMessage != "" {
		res.ErrorDetails = &shape.ErrorDetails{Code: str(r.ErrorCode), Message: str(r.ErrorMessage)}
	}
	return res
}

// PutApprovalResult answers a manual approval that is waiting. The token
// names the approval, so every waiting run of the action (one per
// execution in a PARALLEL pipeline) can be answered, in any order.
func (s *Service) PutApprovalResult(ctx context.Context, in *shape.PutApprovalResultInput) (*shape.PutApprovalResultOutput, error) {
	now := s.now()
	var answered *ActionRun
	err := s.retryCAS(ctx, func(tx Tx) error {
		p, err := tx.GetPipeline(in.GetPipelineName())
		if err != nil {
			return err
		}
		def, err := s.definition(p)
		if err != nil {
			return err
		}
		si := def.stageIndex(in.GetStageName())
		if si < 0 {
			return stageNotFound(p.Name, in.GetStageName())
		}
		if def.stages[si].action(in.GetActionName()) == nil {
			return apiError(excActionNotFound, "Action '%s' does not exist in stage '%s' of pipeline '%s'", in.GetActionName(), in.GetStageName(), p.Name)
		}
		r, err := waitingApproval(tx, p.Name, in.GetStageName(), in.GetActionName(), in.GetToken())
		if err != nil {
			return err
		}
		res := in.Result
		r.Status = ActionSucceeded
		if res.GetStatus() == shape.ApprovalStatusRejected {
			r.Status = ActionFailed
			r.ErrorCode, r.ErrorMessage = "JobFailed", "Rejected: "+res.GetSummary()
		}
		r.Summary = res.GetSummary()
		r.AnsweredToken, r.Token = r.Token, ""
		r.UpdatedBy = s.callerARN(ctx)
		r.Updated = now
		answered = r
		return tx.UpdateActionRun(r)
	})
	if errors.Is(err, ErrNotFound) {
		return nil, s.pipelineNotFound(in.GetPipelineName())
	}
	if err != nil {
		return nil, err
	}
	s.logAction(answered, ActionInProgress)
	s.wake(in.GetPipelineName())
	return &shape.PutApprovalResultOutput{ApprovedAt: ts(now)}, nil
}

// waitingApproval returns the approval of the action that waits with the
// token, or the error AWS answers: ApprovalAlreadyCompleted for a token
// already answered or when nothing waits, InvalidApprovalToken for a token
// that is not one of the waiting approvals'.
func waitingApproval(tx Tx, pipeline, stage, action, token string) (*ActionRun, error) {
	r, err := tx.FindActionRunByToken(pipeline, stage, action, token)
	switch {
	case err == nil && r.Status == ActionInProgress && r.Token == token:
		return r, nil
	case err == nil:
		return nil, apiError(excApprovalAlreadyCompleted, "The approval request of action '%s' with token '%s' was already answered", action, token)
	case !errors.Is(err, ErrNotFound):
		return nil, err
	}
	waiting, err := anyWaitingApproval(tx, pipeline, stage, action)
	if err != nil {
		return nil, err
	}
	if !waiting {
		return nil, apiError(excApprovalAlreadyCompleted, "The approval action '%s' is not waiting for a result", action)
	}
	return nil, apiError(excInvalidApprovalToken, "The token '%s' is not the token of an approval of action '%s' that is waiting", token, action)
}

// anyWaitingApproval reports whether a run of the action waits for an
// answer in one of the pipeline's active executions.
func anyWaitingApproval(tx Tx, pipeline, stage, action string) (bool, error) {
	execs, err := tx.ListActiveExecutions(pipeline)
	if err != nil {
		return false, err
	}
	for _, e := range execs {
		runs, err := tx.ListActionRunsForExecution(e.ID)
		if err != nil {
			return false, err
		}
		for _, r := range runs {
			if r.Stage == stage && r.Action == action && r.Status == ActionInProgress && r.Token != "" {
				return true, nil
			}
		}
	}
	return false, nil
}

// RetryStageExecution resumes the latest execution of a failed or stopped
// stage: FAILED_ACTIONS re-runs the actions that did not succeed,
// ALL_ACTIONS the whole stage.
func (s *Service) RetryStageExecution(ctx context.Context, in *shape.RetryStageExecutionInput) (*shape.RetryStageExecutionOutput, error) {
	var retried *Execution
	var stage *StageRun
	var fromExec ExecutionStatus
	var fromStage StageStatus
	err := s.retryCAS(ctx, func(tx Tx) error {
		p, err := tx.GetPipeline(in.GetPipelineName())
		if err != nil {
			return err
		}
		def, err := s.definition(p)
		if err != nil {
			return err
		}
		si := def.stageIndex(in.GetStageName())
		if si < 0 {
			return stageNotFound(p.Name, in.GetStageName())
		}
		latest, err := tx.LatestStageRun(p.Name, in.GetStageName())
		if errors.Is(err, ErrNotFound) || (err == nil && latest.ExecutionID != in.GetPipelineExecutionId()) {
			return apiError(excNotLatestPipelineExecution, "Pipeline execution '%s' is not the latest execution of stage '%s'", in.GetPipelineExecutionId(), in.GetStageName())
		}
		if err != nil {
			return err
		}
		e, err := tx.GetExecution(p.Name, latest.ExecutionID)
		if err != nil {
			return err
		}
		if apiErr := checkRetry(e, latest, p.Version); apiErr != nil {
			return apiErr
		}
		now := s.now()
		fromExec, fromStage = e.Status, latest.Status
		latest.Attempt++
		latest.ManualRetries++
		latest.LatestRetryTrigger = string(shape.RetryTriggerManualStageRetry)
		if in.GetRetryMode() == shape.StageRetryModeAllActions {
			latest.BaseAttempt = latest.Attempt
		}
		latest.Status = StageInProgress
		latest.Updated = now
		if err := tx.UpdateStageRun(latest); err != nil {
			return err
		}
		e.Status, e.Reason, e.Summary, e.Stop = ExecutionInProgress, ReasonNone, "", nil
		e.Stage, e.StageName, e.Waiting = si, in.GetStageName(), false
		e.Updated = now
		retried, stage = e, latest
		return tx.UpdateExecution(e)
	})
	if errors.Is(err, ErrNotFound) {
		return nil, s.pipelineNotFound(in.GetPipelineName())
	}
	if err != nil {
		return nil, err
	}
	s.logStage(stage, fromStage)
	s.logExecution(retried, fromExec)
	s.wake(in.GetPipelineName())
	return &shape.RetryStageExecutionOutput{PipelineExecutionId: in.PipelineExecutionId}, nil
}

// checkRetry applies the retry rules to the latest run of a stage.
func checkRetry(e *Execution, sr *StageRun, version int32) error {
	if e.PipelineVersion != version {
		return apiError(excStageNotRetryable, "Stage '%s' cannot be retried because the pipeline structure changed since execution '%s' ran", sr.Stage, e.ID)
	}
	if sr.Status != StageFailed && sr.Status != StageStopped {
		return apiError(excStageNotRetryable, "Stage '%s' of execution '%s' is %s; only a Failed or Stopped stage can be retried", sr.Stage, e.ID, sr.Status)
	}
	if e.Status != ExecutionFailed && e.Status != ExecutionStopped {
		return apiError(excStageNotRetryable, "Pipeline execution '%s' is %s and cannot be retried", e.ID, e.Status)
	}
	return nil
}
