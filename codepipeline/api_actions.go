package codepipeline

import (
	"context"
	"errors"

	"github.com/pipewright/pipewright/codepipeline/shape"
)

// ListActionExecutions lists action executions newest first, of the whole
// pipeline or of one execution.
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
	seen := map[[2]string]bool{}
	for _, r := range runs {
		if latestOnly {
			k := [2]string{r.Stage, r.Action}
			if seen[k] {
				continue
			}
			seen[k] = true
		}
		out.ActionExecutionDetails = append(out.ActionExecutionDetails, actionDetail(r))
	}
	return out, nil
}

func artifactDetails(refs []ArtifactRef) []shape.ArtifactDetail {
	var out []shape.ArtifactDetail
	for _, a := range refs {
		out = append(out, shape.ArtifactDetail{Name: ptr(a.Name), S3location: &shape.S3Location{Bucket: ptr(a.Bucket), Key: ptr(a.Key)}})
	}
	return out
}

// actionDetail is one entry of ListActionExecutions.
func actionDetail(r *ActionRun) shape.ActionExecutionDetail {
	t := r.Input.ActionTypeID
	d := shape.ActionExecutionDetail{
		PipelineExecutionId: ptr(r.ExecutionID), ActionExecutionId: ptr(r.ID), PipelineVersion: ptr(r.PipelineVersion),
		StageName: ptr(r.Stage), ActionName: ptr(r.Action), StartTime: ts(r.Started), LastUpdateTime: ts(r.Updated),
		UpdatedBy: str(r.UpdatedBy), Status: ptr(shape.ActionExecutionStatus(r.Status)),
		Input: &shape.ActionExecutionInput{
			ActionTypeId:  &shape.ActionTypeId{Category: ptr(shape.ActionCategory(t.Category)), Owner: ptr(shape.ActionOwner(t.Owner)), Provider: ptr(t.Provider), Version: ptr(t.Version)},
			Configuration: r.Input.Configuration, ResolvedConfiguration: r.Input.ResolvedConfiguration,
			Region: str(r.Input.Region), InputArtifacts: artifactDetails(r.Input.InputArtifacts), Namespace: str(r.Input.Namespace),
		},
	}
	if r.Status != ActionInProgress || len(r.Output.OutputArtifacts) > 0 {
		res := &shape.ActionExecutionResult{ExternalExecutionId: str(r.ExternalID), ExternalExecutionSummary: str(r.Summary), ExternalExecutionUrl: str(r.ExternalURL)}
		if r.ErrorCode != "" || r.ErrorMessage != "" {
			res.ErrorDetails = &shape.ErrorDetails{Code: str(r.ErrorCode), Message: str(r.ErrorMessage)}
		}
		d.Output = &shape.ActionExecutionOutput{OutputArtifacts: artifactDetails(r.Output.OutputArtifacts), ExecutionResult: res, OutputVariables: r.Output.OutputVariables}
	}
	return d
}

// PutApprovalResult answers a manual approval that is waiting.
func (s *Service) PutApprovalResult(ctx context.Context, in *shape.PutApprovalResultInput) (*shape.PutApprovalResultOutput, error) {
	now := s.now()
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
		a := def.stages[si].action(in.GetActionName())
		if a == nil {
			return apiError(excActionNotFound, "Action '%s' does not exist in stage '%s' of pipeline '%s'", in.GetActionName(), in.GetStageName(), p.Name)
		}
		r, err := tx.LatestActionRun(p.Name, in.GetStageName(), in.GetActionName())
		if errors.Is(err, ErrNotFound) || (err == nil && (r.Status != ActionInProgress || r.Token == "")) {
			return apiError(excApprovalAlreadyCompleted, "The approval action '%s' is not waiting for a result", in.GetActionName())
		}
		if err != nil {
			return err
		}
		if r.Token != in.GetToken() {
			return apiError(excInvalidApprovalToken, "The token '%s' is not the token of the approval that is waiting", in.GetToken())
		}
		res := in.Result
		r.Status = ActionSucceeded
		if res.GetStatus() == shape.ApprovalStatusRejected {
			r.Status = ActionFailed
			r.ErrorCode, r.ErrorMessage = "JobFailed", "Rejected: "+res.GetSummary()
		}
		r.Summary = res.GetSummary()
		r.Token = ""
		r.UpdatedBy = s.callerARN(ctx)
		r.Updated = now
		return tx.UpdateActionRun(r)
	})
	if errors.Is(err, ErrNotFound) {
		return nil, s.pipelineNotFound(in.GetPipelineName())
	}
	if err != nil {
		return nil, err
	}
	s.wake(in.GetPipelineName())
	return &shape.PutApprovalResultOutput{ApprovedAt: ts(now)}, nil
}

// RetryStageExecution resumes the latest execution of a failed or stopped
// stage: FAILED_ACTIONS re-runs the actions that did not succeed,
// ALL_ACTIONS the whole stage.
func (s *Service) RetryStageExecution(ctx context.Context, in *shape.RetryStageExecutionInput) (*shape.RetryStageExecutionOutput, error) {
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
		latest.Attempt++
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
		return tx.UpdateExecution(e)
	})
	if errors.Is(err, ErrNotFound) {
		return nil, s.pipelineNotFound(in.GetPipelineName())
	}
	if err != nil {
		return nil, err
	}
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
