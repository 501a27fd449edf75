package codepipeline

import (
	"context"
	"errors"

	"github.com/pipewright/pipewright/codepipeline/shape"
)

// GetPipelineState returns, per stage, its inbound transition, the latest
// execution that entered it, the executions waiting in front of it and the
// latest execution of each action. The answer is kept until the pipeline
// changes, so its cost does not grow with the pipeline's history.
func (s *Service) GetPipelineState(ctx context.Context, in *shape.GetPipelineStateInput) (*shape.GetPipelineStateOutput, error) {
	name := in.GetName()
	if v, ok := s.state.get(name); ok {
		return v.(*shape.GetPipelineStateOutput), nil
	}
	gen := s.state.generation(name)
	out, err := s.buildState(ctx, name)
	if err != nil {
		return nil, err
	}
	s.state.put(name, gen, out)
	return out, nil
}

func (s *Service) buildState(ctx context.Context, name string) (*shape.GetPipelineStateOutput, error) {
	out := &shape.GetPipelineStateOutput{}
	err := s.store.View(ctx, func(tx Tx) error {
		p, err := tx.GetPipeline(name)
		if err != nil {
			return err
		}
		decl, err := s.declarationOf(p)
		if err != nil {
			return err
		}
		active, err := tx.ListActiveExecutions(name)
		if err != nil {
			return err
		}
		out.PipelineName, out.PipelineVersion = ptr(p.Name), ptr(p.Version)
		out.Created, out.Updated = ts(p.Created), ts(p.Updated)
		out.StageStates = make([]shape.StageState, 0, len(decl.Stages))
		for _, st := range decl.Stages {
			ss := shape.StageState{StageName: st.Name}
			t, ok := p.Transitions[st.GetName()]
			if !ok {
				t.Enabled = true
			}
			ss.InboundTransitionState = &shape.TransitionState{Enabled: ptr(t.Enabled), LastChangedBy: str(t.ChangedBy), LastChangedAt: ts(t.ChangedAt), DisabledReason: str(t.Reason)}
			for _, e := range active {
				if e.Waiting && e.StageName == st.GetName() && e.PipelineVersion == p.Version {
					se := shape.StageExecution{PipelineExecutionId: ptr(e.ID), Status: ptr(shape.StageExecutionStatus(waitingStatus(e))), Type: ptr(shape.ExecutionTypeStandard)}
					ss.InboundExecutions = append(ss.InboundExecutions, se)
				}
			}
			if len(ss.InboundExecutions) > 0 {
				ss.InboundExecution = &ss.InboundExecutions[len(ss.InboundExecutions)-1]
			}
			sr, err := tx.LatestStageRun(name, st.GetName())
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			if sr != nil {
				ss.LatestExecution = &shape.StageExecution{PipelineExecutionId: ptr(sr.ExecutionID), Status: ptr(shape.StageExecutionStatus(sr.Status)), Type: ptr(shape.ExecutionTypeStandard)}
				ss.RetryStageMetadata = retryMetadata(sr)
			}
			ss.ActionStates = make([]shape.ActionState, 0, len(st.Actions))
			for _, a := range st.Actions {
				as := shape.ActionState{ActionName: a.Name}
				r, err := tx.LatestActionRun(name, st.GetName(), a.GetName())
				if err != nil && !errors.Is(err, ErrNotFound) {
					return err
				}
				if r != nil {
					as.LatestExecution = s.actionExecution(r)
					if rev := r.Output.Revision; rev != nil && r.Status == ActionSucceeded {
						as.CurrentRevision = &shape.ActionRevision{RevisionId: ptr(rev.ID), RevisionChangeId: ptr(rev.ID), Created: ts(rev.Created)}
					}
				}
				ss.ActionStates = append(ss.ActionStates, as)
			}
			out.StageStates = append(out.StageStates, ss)
		}
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		return nil, s.pipelineNotFound(name)
	}
	return out, err
}

// retryMetadata is the retryStageMetadata of a stage whose latest run was
// retried, nil for one that never was. pipewright makes no automatic
// retries, so autoStageRetryAttempt (at least 1 when set) stays absent.
func retryMetadata(sr *StageRun) *shape.RetryStageMetadata {
	if sr.ManualRetries == 0 {
		return nil
	}
	return &shape.RetryStageMetadata{
		ManualStageRetryAttempt: ptr(int32(sr.ManualRetries)),
		LatestRetryTrigger:      ptr(shape.RetryTrigger(sr.LatestRetryTrigger)),
	}
}

// waitingStatus is how an execution waiting in front of a stage shows.
func waitingStatus(e *Execution) string {
	if e.Status == ExecutionStopping {
		return string(StageStopping)
	}
	return string(StageInProgress)
}

// actionExecution is the latestExecution of an action state.
func (s *Service) actionExecution(r *ActionRun) *shape.ActionExecution {
	ae := &shape.ActionExecution{
		ActionExecutionId: ptr(r.ID), Status: ptr(shape.ActionExecutionStatus(r.Status)), Summary: str(r.Summary),
		LastStatusChange: ts(r.Updated), Token: str(r.Token), LastUpdatedBy: str(r.UpdatedBy),
		ExternalExecutionId: str(r.ExternalID), ExternalExecutionUrl: str(r.ExternalURL), LogStreamARN: str(s.logStreamARN(r)),
	}
	if r.ErrorCode != "" || r.ErrorMessage != "" {
		ae.ErrorDetails = &shape.ErrorDetails{Code: str(r.ErrorCode), Message: str(r.ErrorMessage)}
	}
	return ae
}
