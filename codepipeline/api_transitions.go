package codepipeline

import (
	"context"
	"errors"

	"github.com/pipewright/pipewright/codepipeline/shape"
)

// EnableStageTransition lets executions enter a stage again.
func (s *Service) EnableStageTransition(ctx context.Context, in *shape.EnableStageTransitionInput) (*shape.EnableStageTransitionOutput, error) {
	err := s.setTransition(ctx, in.GetPipelineName(), in.GetStageName(), in.GetTransitionType(), true, "")
	if err != nil {
		return nil, err
	}
	return &shape.EnableStageTransitionOutput{}, nil
}

// DisableStageTransition holds executions in front of a stage.
func (s *Service) DisableStageTransition(ctx context.Context, in *shape.DisableStageTransitionInput) (*shape.DisableStageTransitionOutput, error) {
	err := s.setTransition(ctx, in.GetPipelineName(), in.GetStageName(), in.GetTransitionType(), false, in.GetReason())
	if err != nil {
		return nil, err
	}
	return &shape.DisableStageTransitionOutput{}, nil
}

// setTransition changes the inbound transition of a stage; an Outbound
// transition of a stage is the Inbound transition of the next one.
func (s *Service) setTransition(ctx context.Context, pipeline, stage string, typ shape.StageTransitionType, enabled bool, reason string) error {
	err := s.retryCAS(ctx, func(tx Tx) error {
		p, err := tx.GetPipeline(pipeline)
		if err != nil {
			return err
		}
		def, err := s.definition(p)
		if err != nil {
			return err
		}
		si := def.stageIndex(stage)
		if si < 0 {
			return stageNotFound(pipeline, stage)
		}
		if typ == shape.StageTransitionTypeOutbound {
			if si == len(def.stages)-1 {
				return apiError(excValidation, "Stage '%s' is the last stage of pipeline '%s' and has no outbound transition", stage, pipeline)
			}
			si++
		}
		if p.Transitions == nil {
			p.Transitions = map[string]Transition{}
		}
		p.Transitions[def.stages[si].name] = Transition{Enabled: enabled, Reason: reason, ChangedBy: s.callerARN(ctx), ChangedAt: s.now()}
		return tx.UpdatePipeline(p)
	})
	if errors.Is(err, ErrNotFound) {
		return s.pipelineNotFound(pipeline)
	}
	if err != nil {
		return err
	}
	s.wake(pipeline)
	return nil
}
