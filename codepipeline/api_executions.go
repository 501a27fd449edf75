package codepipeline

import (
	"context"
	"errors"

	"github.com/pipewright/pipewright/codepipeline/shape"
)

// maxActiveExecutions bounds the executions that may wait or run at once in
// QUEUED and PARALLEL pipelines (SUPERSEDED ones never pile up).
const maxActiveExecutions = 50

// newExecution returns a new execution of p, waiting in front of its first stage.
func (s *Service) newExecution(p *Pipeline, decl *shape.PipelineDeclaration, trigger, detail string) *Execution {
	now := s.now()
	return &Execution{
		ID: newUUID(), Pipeline: p.Name, PipelineVersion: p.Version, Status: ExecutionInProgress,
		TriggerType: trigger, TriggerDetail: detail, Mode: string(decl.GetExecutionMode()),
		Stage: 0, StageName: decl.Stages[0].GetName(), Waiting: true, Started: now, Updated: now,
	}
}

// resolveVariables sets the execution's pipeline-level variables from the
// declaration's defaults and the values given at start.
func (e *Execution) resolveVariables(decl *shape.PipelineDeclaration, given []shape.PipelineVariable) error {
	values := map[string]string{}
	for _, v := range given {
		values[v.GetName()] = v.GetValue()
	}
	declared := map[string]bool{}
	for _, v := range decl.Variables {
		declared[v.GetName()] = true
	}
	for _, v := range given {
		if !declared[v.GetName()] {
			return apiError(excValidation, "Variable '%s' is not declared in the pipeline", v.GetName())
		}
	}
	e.Variables = nil
	for _, v := range decl.Variables {
		val, ok := values[v.GetName()]
		if !ok {
			if v.DefaultValue == nil {
				return apiError(excValidation, "Variable '%s' has no default value and needs a value", v.GetName())
			}
			val = v.GetDefaultValue()
		}
		e.Variables = append(e.Variables, Variable{Name: v.GetName(), Value: val})
	}
	return nil
}

// StartPipelineExecution starts an execution. A clientRequestToken already
// used for the pipeline returns that execution's id.
func (s *Service) StartPipelineExecution(ctx context.Context, in *shape.StartPipelineExecutionInput) (*shape.StartPipelineExecutionOutput, error) {
	var id string
	var started *Execution
	err := s.store.Update(ctx, func(tx Tx) error {
		started = nil
		p, err := tx.GetPipeline(in.GetName())
		if err != nil {
			return err
		}
		if tok := in.GetClientRequestToken(); tok != "" {
			prev, err := tx.FindExecutionByToken(p.Name, tok)
			if err == nil {
				id = prev.ID
				return nil
			}
			if !errors.Is(err, ErrNotFound) {
				return err
			}
		}
		decl, err := s.declarationOf(p)
		if err != nil {
			return err
		}
		if m := decl.GetExecutionMode(); m != shape.ExecutionModeSuperseded {
			active, err := tx.ListActiveExecutions(p.Name)
			if err != nil {
				return err
			}
			if len(active) >= maxActiveExecutions {
				return apiError(excConcurrentExecutionsLimit, "Pipeline '%s' already has %d executions in progress or waiting, the most %s mode allows", p.Name, len(active), m)
			}
		}
		e := s.newExecution(p, decl, "StartPipelineExecution", s.callerARN(ctx))
		e.ClientToken = in.GetClientRequestToken()
		if err := e.resolveVariables(decl, in.Variables); err != nil {
			return err
		}
		for _, o := range in.SourceRevisions {
			a := sourceAction(decl, o.GetActionName())
			if a == nil {
				return apiError(excValidation, "Source revision override names action '%s', which is not a source action of pipeline '%s'", o.GetActionName(), p.Name)
			}
			if err := checkOverride(a, o); err != nil {
				return err
			}
			e.SourceRevisions = append(e.SourceRevisions, SourceRevisionOverride{ActionName: o.GetActionName(), RevisionType: string(o.GetRevisionType()), RevisionValue: o.GetRevisionValue()})
		}
		id, started = e.ID, e
		return tx.CreateExecution(e)
	})
	if errors.Is(err, ErrNotFound) {
		return nil, s.pipelineNotFound(in.GetName())
	}
	if err != nil {
		return nil, err
	}
	if started != nil {
		s.logExecution(started, "")
	}
	s.wake(in.GetName())
	return &shape.StartPipelineExecutionOutput{PipelineExecutionId: ptr(id)}, nil
}

// sourceAction returns the named action of the first stage, or nil.
func sourceAction(decl *shape.PipelineDeclaration, name string) *shape.ActionDeclaration {
	for i := range decl.Stages[0].Actions {
		if a := &decl.Stages[0].Actions[i]; a.GetName() == name {
			return a
		}
	}
	return nil
}

// checkOverride refuses a source revision override the action cannot
// take: a CodeCommit source takes COMMIT_ID, an S3 source
// S3_OBJECT_VERSION_ID and, unless its AllowOverrideForS3ObjectKey is
// false, S3_OBJECT_KEY.
func checkOverride(a *shape.ActionDeclaration, o shape.SourceRevisionOverride) error {
	t := o.GetRevisionType()
	if a.ActionTypeId.GetProvider() == "S3" {
		switch {
		case t == shape.SourceRevisionTypeS3ObjectVersionId:
			return nil
		case t == shape.SourceRevisionTypeS3ObjectKey && a.Configuration["AllowOverrideForS3ObjectKey"] != "false":
			return nil
		}
		return apiError(excValidation, "Source revision type %s is not supported by action '%s'; use S3_OBJECT_VERSION_ID or S3_OBJECT_KEY", t, a.GetName())
	}
	if t != shape.SourceRevisionTypeCommitId {
		return apiError(excValidation, "Source revision type %s is not supported by action '%s'; use COMMIT_ID", t, a.GetName())
	}
	return nil
}

// StopPipelineExecution records the intent to stop an execution; the
// engine carries it out. The answer follows from the recorded state alone,
// so of concurrent requests exactly one wins per mode.
func (s *Service) StopPipelineExecution(ctx context.Context, in *shape.StopPipelineExecutionInput) (*shape.StopPipelineExecutionOutput, error) {
	mode := StopWait
	if in.GetAbandon() {
		mode = StopAbandon
	}
	var stopped *Execution
	var from ExecutionStatus
	err := s.retryCAS(ctx, func(tx Tx) error {
		p, err := tx.GetPipeline(in.GetPipelineName())
		if err != nil {
			return err
		}
		e, err := tx.GetExecution(in.GetPipelineName(), in.GetPipelineExecutionId())
		if errors.Is(err, ErrNotFound) {
			return apiError(excPipelineExecutionNotStoppable, "Unable to stop pipeline execution '%s': it does not exist in pipeline '%s'", in.GetPipelineExecutionId(), in.GetPipelineName())
		}
		if err != nil {
			return err
		}
		next, apiErr := decideStop(e, mode)
		if apiErr != nil {
			return apiErr
		}
		from, stopped = e.Status, e
		e.Status = ExecutionStopping
		e.Stop = &StopRequest{Mode: next, Reason: in.GetReason(), At: s.now(), By: s.callerARN(ctx), CancelJobs: cancelsJobs(p.Tags)}
		e.Updated = e.Stop.At
		return tx.UpdateExecution(e)
	})
	if errors.Is(err, ErrNotFound) {
		return nil, s.pipelineNotFound(in.GetPipelineName())
	}
	if err != nil {
		return nil, err
	}
	s.logExecution(stopped, from)
	s.wake(in.GetPipelineName())
	return &shape.StopPipelineExecutionOutput{PipelineExecutionId: in.PipelineExecutionId}, nil
}

// decideStop applies AWS's stop rules to an execution's recorded state: it
// returns the stop mode to record, or the error to answer.
func decideStop(e *Execution, requested StopMode) (StopMode, error) {
	switch e.Status {
	case ExecutionInProgress:
		return requested, nil
	case ExecutionStopping:
		if e.Stop != nil && e.Stop.Mode == StopWait && requested == StopAbandon {
			return StopAbandon, nil
		}
		return "", apiError(excDuplicatedStopRequest, "Pipeline execution '%s' is already being stopped (%s)", e.ID, stopModeText(e.Stop))
	}
	return "", apiError(excPipelineExecutionNotStoppable, "Unable to stop pipeline execution '%s' because it is already in a %s state", e.ID, e.Status)
}

func stopModeText(r *StopRequest) string {
	if r != nil && r.Mode == StopAbandon {
		return "stop and abandon"
	}
	return "stop and wait"
}

// GetPipelineExecution returns one execution.
func (s *Service) GetPipelineExecution(ctx context.Context, in *shape.GetPipelineExecutionInput) (*shape.GetPipelineExecutionOutput, error) {
	var e *Execution
	var runs []*ActionRun
	err := s.store.View(ctx, func(tx Tx) error {
		if _, err := tx.GetPipeline(in.GetPipelineName()); err != nil {
			return err
		}
		var err error
		if e, err = tx.GetExecution(in.GetPipelineName(), in.GetPipelineExecutionId()); err != nil {
			if errors.Is(err, ErrNotFound) {
				return executionNotFound(in.GetPipelineName(), in.GetPipelineExecutionId())
			}
			return err
		}
		runs, err = tx.ListActionRunsForExecution(e.ID)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return nil, s.pipelineNotFound(in.GetPipelineName())
	}
	if err != nil {
		return nil, err
	}
	out := &shape.PipelineExecution{
		PipelineName: ptr(e.Pipeline), PipelineVersion: ptr(e.PipelineVersion), PipelineExecutionId: ptr(e.ID),
		Status: ptr(shape.PipelineExecutionStatus(e.Status)), StatusSummary: str(e.Summary),
		ArtifactRevisions: artifactRevisions(runs),
		Trigger:           &shape.ExecutionTrigger{TriggerType: ptr(shape.TriggerType(e.TriggerType)), TriggerDetail: str(e.TriggerDetail)},
		ExecutionMode:     execMode(e.Mode), ExecutionType: ptr(shape.ExecutionTypeStandard),
	}
	for _, v := range e.Variables {
		out.Variables = append(out.Variables, shape.ResolvedPipelineVariable{Name: ptr(v.Name), ResolvedValue: ptr(v.Value)})
	}
	return &shape.GetPipelineExecutionOutput{PipelineExecution: out}, nil
}

func execMode(m string) *shape.ExecutionMode {
	if m == "" {
		return nil
	}
	return ptr(shape.ExecutionMode(m))
}

// artifactRevisions lists the revisions the execution's source actions
// produced, [] before any did. revisionChangeIdentifier is filled in as AWS
// fills it for CodeCommit: the commit id.
func artifactRevisions(runs []*ActionRun) []shape.ArtifactRevision {
	out := []shape.ArtifactRevision{}
	latest := map[string]*ActionRun{}
	for _, r := range runs {
		if r.Status == ActionSucceeded && r.Output.Revision != nil {
			latest[r.Action] = r
		}
	}
	for _, r := range runs {
		if latest[r.Action] != r {
			continue
		}
		rev := r.Output.Revision
		for _, a := range r.Output.OutputArtifacts {
			out = append(out, shape.ArtifactRevision{
				Name: ptr(a.Name), RevisionId: ptr(rev.ID), RevisionChangeIdentifier: ptr(rev.ID),
				RevisionSummary: str(rev.Summary), Created: ts(rev.Created), RevisionUrl: str(rev.URL),
			})
		}
	}
	return out
}

// ListPipelineExecutions lists a pipeline's executions, newest first.
func (s *Service) ListPipelineExecutions(ctx context.Context, in *shape.ListPipelineExecutionsInput) (*shape.ListPipelineExecutionsOutput, error) {
	limit := 100
	if in.MaxResults != nil {
		limit = int(in.GetMaxResults())
	}
	before, terr := parseSeqToken("executions", in.NextToken)
	if terr != nil {
		return nil, terr
	}
	stage := ""
	if in.Filter != nil && in.Filter.SucceededInStage != nil {
		stage = in.Filter.SucceededInStage.GetStageName()
	}
	var execs []*Execution
	runs := map[string][]*ActionRun{}
	err := s.store.View(ctx, func(tx Tx) error {
		if _, err := tx.GetPipeline(in.GetPipelineName()); err != nil {
			return err
		}
		var err error
		if execs, err = tx.ListExecutions(in.GetPipelineName(), before, limit+1, stage); err != nil {
			return err
		}
		for i, e := range execs {
			if i == limit {
				break
			}
			if runs[e.ID], err = tx.ListActionRunsForExecution(e.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		return nil, s.pipelineNotFound(in.GetPipelineName())
	}
	if err != nil {
		return nil, err
	}
	out := &shape.ListPipelineExecutionsOutput{PipelineExecutionSummaries: []shape.PipelineExecutionSummary{}}
	if len(execs) > limit {
		execs = execs[:limit]
		out.NextToken = seqToken("executions", execs[limit-1].Seq)
	}
	for _, e := range execs {
		sum := shape.PipelineExecutionSummary{
			PipelineExecutionId: ptr(e.ID), Status: ptr(shape.PipelineExecutionStatus(e.Status)), StatusSummary: str(e.Summary),
			StartTime: ts(e.Started), LastUpdateTime: ts(e.Updated),
			SourceRevisions: sourceRevisions(runs[e.ID]),
			Trigger:         &shape.ExecutionTrigger{TriggerType: ptr(shape.TriggerType(e.TriggerType)), TriggerDetail: str(e.TriggerDetail)},
			ExecutionMode:   execMode(e.Mode), ExecutionType: ptr(shape.ExecutionTypeStandard),
		}
		if e.Stop != nil {
			// A stop without a reason has no reason member, as on AWS.
			sum.StopTrigger = &shape.StopExecutionTrigger{Reason: str(e.Stop.Reason)}
		}
		out.PipelineExecutionSummaries = append(out.PipelineExecutionSummaries, sum)
	}
	return out, nil
}

// sourceRevisions lists the revisions of the execution's source actions,
// [] before any ran.
func sourceRevisions(runs []*ActionRun) []shape.SourceRevision {
	out := []shape.SourceRevision{}
	seen := map[string]bool{}
	for i := len(runs) - 1; i >= 0; i-- {
		r := runs[i]
		if r.Status != ActionSucceeded || r.Output.Revision == nil || seen[r.Action] {
			continue
		}
		seen[r.Action] = true
		out = append(out, shape.SourceRevision{ActionName: ptr(r.Action), RevisionId: ptr(r.Output.Revision.ID), RevisionSummary: str(r.Output.Revision.Summary), RevisionUrl: str(r.Output.Revision.URL)})
	}
	return out
}
