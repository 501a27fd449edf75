package codepipeline

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"
)

// kindPipeline is the engine key kind of pipelines: every change to one of
// a pipeline's executions wakes the pipeline, and its reconcile advances all
// of them together, since stage locks and superseding relate them.
const kindPipeline = "codepipeline.pipeline"

// reconcile advances the active executions of one pipeline: it decides from
// the stored state alone, persists the decision in one transaction and then
// carries out the effects (start work, stop abandoned work, carry over
// the work of an earlier life). The decision is engine progress: were it
// lost to a power loss, the next reconcile derives it again. A panic while
// doing so fails the pipeline's active executions with the reason, so that
// the same panic cannot recur for ever, not even after a restart.
func (s *Service) reconcile(ctx context.Context, name string) (wakeAt time.Time, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic while advancing a pipeline; its active executions fail", "pipeline", name, "panic", p, "stack", string(debug.Stack()))
			s.failActive(name, fmt.Sprintf("pipewright failed while advancing this execution: %v", p))
			wakeAt, err = time.Time{}, nil
		}
	}()
	return s.advance(ctx, name)
}

// advance is one reconcile of a pipeline.
func (s *Service) advance(ctx context.Context, name string) (time.Time, error) {
	var c *changes
	var def *definition
	var b before
	err := s.store.Progress(ctx, func(tx Tx) error {
		c = nil
		p, err := tx.GetPipeline(name)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		execs, err := tx.ListActiveExecutions(name)
		if err != nil || len(execs) == 0 {
			return err
		}
		def, err = s.definition(p)
		if err != nil {
			return err
		}
		w := &world{
			now: s.now(), boot: s.engine.Boot(), timeouts: s.cfg.Timeouts, newID: newUUID, logURL: s.jobLogURL,
			def: def, transitions: p.Transitions, execs: execs,
			stageRuns: map[string]*StageRun{}, runs: map[string][]*ActionRun{},
		}
		for _, e := range execs {
			if !e.Waiting && e.StageName != "" {
				sr, err := tx.GetStageRun(e.ID, e.StageName)
				if err != nil && !errors.Is(err, ErrNotFound) {
					return err
				}
				w.stageRuns[e.ID] = sr
			}
			runs, err := tx.ListActionRunsForExecution(e.ID)
			if err != nil {
				return err
			}
			w.runs[e.ID] = runs
		}
		b = snapshot(w)
		c = decide(w)
		return persist(tx, c)
	})
	if err != nil || c == nil {
		return time.Time{}, err
	}
	if !c.empty() {
		s.changed(name)
		s.logChanges(b, c)
	}
	for _, ef := range c.effects {
		s.carryOut(ef, def)
	}
	if c.wakeAt.IsZero() {
		return time.Time{}, nil
	}
	// The engine's timers run on the wall clock; the decision's times on
	// the service's clock.
	return time.Now().Add(c.wakeAt.Sub(s.now())), nil
}

// persist writes a decision: new records are created, changed ones updated
// with compare-and-set.
func persist(tx Tx, c *changes) error {
	created := map[any]bool{}
	for _, sr := range c.newStageRuns {
		created[sr] = true
		if err := tx.CreateStageRun(sr); err != nil {
			return err
		}
	}
	for _, r := range c.newRuns {
		created[r] = true
		if err := tx.CreateActionRun(r); err != nil {
			return err
		}
	}
	for _, sr := range c.stageRuns {
		if !created[sr] {
			if err := tx.UpdateStageRun(sr); err != nil {
				return err
			}
		}
	}
	for _, r := range c.runs {
		if !created[r] {
			if err := tx.UpdateActionRun(r); err != nil {
				return err
			}
		}
	}
	for _, e := range c.execs {
		if err := tx.UpdateExecution(e); err != nil {
			return err
		}
	}
	return nil
}

// carryOut performs one effect after its decision was committed.
func (s *Service) carryOut(ef effect, def *definition) {
	k := kindOf(ef.run.Input.ActionTypeID)
	switch ef.kind {
	case effectStart, effectResume:
		switch k {
		case kindSource:
			s.startSource(ef.run, def)
		case kindBuild:
			s.startBuild(ef.run, def)
		default:
			s.startJob(ef.run, def)
		}
	case effectStopJob:
		switch k {
		case kindSource:
			s.tasks.cancel(ef.run.ID)
			if isCodeDeploy(ef.run.Input.ActionTypeID) {
				s.stopDeployment(ef.run)
			}
		case kindBuild:
			s.stopBuild(ef.run, ef.text)
		default:
			s.stopJob(ef.run, ef.text)
		}
	case effectNoteAbandoned:
		if k == kindCommands {
			s.noteJob(ef.run, "The action was abandoned: "+ef.text+".")
		}
	}
}

// failActive ends every active execution of a pipeline Failed with msg,
// with their running stages and actions, and stops the work of those
// actions: the way out when advancing the pipeline itself failed.
func (s *Service) failActive(name, msg string) {
	var ended []*ActionRun
	err := s.store.Progress(context.Background(), func(tx Tx) error {
		ended = nil
		execs, err := tx.ListActiveExecutions(name)
		if err != nil {
			return err
		}
		now := s.now()
		for _, e := range execs {
			runs, err := tx.ListActionRunsForExecution(e.ID)
			if err != nil {
				return err
			}
			for _, r := range runs {
				if r.Status != ActionInProgress {
					continue
				}
				r.Status, r.ErrorCode, r.ErrorMessage, r.Summary, r.Updated = ActionFailed, errJobFailed, msg, msg, now
				if r.Token != "" {
					r.AnsweredToken, r.Token = r.Token, ""
				}
				if err := tx.UpdateActionRun(r); err != nil {
					return err
				}
				ended = append(ended, r)
			}
			if !e.Waiting && e.StageName != "" {
				sr, err := tx.GetStageRun(e.ID, e.StageName)
				if err == nil && !sr.Status.ended() {
					sr.Status, sr.Updated = StageFailed, now
					if err := tx.UpdateStageRun(sr); err != nil {
						return err
					}
				} else if err != nil && !errors.Is(err, ErrNotFound) {
					return err
				}
			}
			e.Status, e.Reason, e.Summary, e.Updated = ExecutionFailed, ReasonInternal, msg, now
			if err := tx.UpdateExecution(e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.log.Error("could not fail the executions of a pipeline that cannot be advanced", "pipeline", name, "err", err)
		return
	}
	for _, r := range ended {
		s.carryOut(effect{kind: effectStopJob, run: r, text: "pipewright failed while advancing its pipeline"}, nil)
	}
	s.changed(name)
}
