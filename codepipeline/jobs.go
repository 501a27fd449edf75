package codepipeline

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pipewright/pipewright/runner"
)

// jobResult is how a job action ended.
type jobResult struct {
	status   ActionStatus
	summary  string
	errCode  string
	errMsg   string
	outputs  []ArtifactRef
	vars     map[string]string
	revision *Revision
	logPath  string
}

// jobs tracks the job actions this server life runs, so that an abandon
// with pipewright:abandon-cancels-jobs and a shutdown can terminate them.
type jobs struct {
	runner *runner.Runner
	grace  time.Duration
	log    *slog.Logger

	mu      sync.Mutex
	live    map[string]*liveJob
	closing bool
	wg      sync.WaitGroup
	// activity is when a job last started or ended (unix nanoseconds).
	activity atomic.Int64
}

// lastActivity is when a job last started or ended.
func (j *jobs) lastActivity() time.Time { return time.Unix(0, j.activity.Load()) }

type liveJob struct {
	cancel context.CancelFunc
	proc   *runner.Process
	// terminated is set when the job was told to stop, so its end is not
	// mistaken for the work failing by itself.
	terminated bool
}

// add registers a job; it returns false when the server is shutting down.
func (j *jobs) add(id string, cancel context.CancelFunc) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closing {
		return false
	}
	j.live[id] = &liveJob{cancel: cancel}
	j.wg.Add(1)
	j.activity.Store(time.Now().UnixNano())
	return true
}

// setProcess attaches the job's process tree; it reports false when the job
// was terminated before the tree started, and the caller must stop it.
func (j *jobs) setProcess(id string, p *runner.Process) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	lj := j.live[id]
	if lj == nil || lj.terminated {
		return false
	}
	lj.proc = p
	return true
}

func (j *jobs) done(id string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, ok := j.live[id]; ok {
		delete(j.live, id)
		j.wg.Done()
	}
	j.activity.Store(time.Now().UnixNano())
}

// terminate stops one job: its context is cancelled and its process tree
// gets SIGTERM, then SIGKILL after the grace.
func (j *jobs) terminate(id string) {
	j.mu.Lock()
	lj := j.live[id]
	if lj == nil || lj.terminated {
		j.mu.Unlock()
		return
	}
	lj.terminated = true
	p := lj.proc
	j.mu.Unlock()
	lj.cancel()
	if p != nil {
		go p.Terminate(j.grace)
	}
}

// reap kills what is left of a job started by an earlier server life.
func (j *jobs) reap(r *ActionRun) {
	// Without a recorded handle (the server died before recording it) the
	// tree is still found by its id.
	h := runner.Handle{ID: r.ID}
	if len(r.Handle) > 0 {
		if err := json.Unmarshal(r.Handle, &h); err != nil {
			j.log.Error("bad process handle", "actionExecutionId", r.ID, "err", err)
			h = runner.Handle{ID: r.ID}
		}
	}
	go func() {
		if err := j.runner.Reap(h); err != nil {
			j.log.Warn("reap", "actionExecutionId", r.ID, "err", err)
		}
	}()
}

// wasTerminated reports whether terminate was called for the job.
func (j *jobs) wasTerminated(id string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	lj := j.live[id]
	return lj != nil && lj.terminated
}

// closeAll terminates every job and waits until each recorded its end.
func (j *jobs) closeAll() {
	j.mu.Lock()
	j.closing = true
	ids := make([]string, 0, len(j.live))
	for id := range j.live {
		ids = append(ids, id)
	}
	j.mu.Unlock()
	for _, id := range ids {
		j.terminate(id)
	}
	j.wg.Wait()
}

// MessageServerShutdown is the errorDetails message of a job action that
// was running when the server was shut down.
const MessageServerShutdown = "The pipewright server was shut down while this action was running; its process tree was terminated."

// startJob runs a job action in the background and records its result.
func (s *Service) startJob(r *ActionRun, def *definition) {
	st := def.stages[def.stageIndex(r.Stage)]
	a := st.action(r.Action)
	ctx, cancel := context.WithCancel(context.Background())
	if !s.jobs.add(r.ID, cancel) {
		cancel()
		return
	}
	go func() {
		defer s.jobs.done(r.ID)
		defer cancel()
		var res jobResult
		switch a.kind {
		case kindSource:
			res = s.runSource(ctx, r, a, def.bucket)
		case kindCommands:
			res = s.runCommands(ctx, r, a, def.bucket)
		}
		if s.jobs.wasTerminated(r.ID) && res.status != ActionSucceeded {
			res.status = ActionFailed
			res.errCode = errJobFailed
			s.jobs.mu.Lock()
			closing := s.jobs.closing
			s.jobs.mu.Unlock()
			if closing {
				res.errMsg = MessageServerShutdown
			}
		}
		s.complete(r.ID, r.Pipeline, res)
		// The workspace goes after the result is recorded, and is deleted
		// by the janitor, one at a time: unlinking many files can stall the
		// disk the store fsyncs on.
		s.discard(s.workspace(r))
	}()
}

// complete records a job's result unless the action ended otherwise
// meanwhile (an abandon wins over a late result), then wakes the pipeline.
// A result lost to a power loss leaves the action to the lost-job rule.
func (s *Service) complete(id, pipeline string, res jobResult) {
	ctx := context.Background()
	for {
		err := s.store.Progress(ctx, func(tx Tx) error {
			r, err := tx.GetActionRun(id)
			if err != nil {
				return err
			}
			if r.Status != ActionInProgress {
				return nil
			}
			now := s.now()
			r.Status = res.status
			r.Summary = res.summary
			r.ErrorCode, r.ErrorMessage = res.errCode, res.errMsg
			if res.status != ActionSucceeded && r.Summary == "" {
				r.Summary = res.errMsg
			}
			r.Output.OutputArtifacts = res.outputs
			r.Output.OutputVariables = res.vars
			r.Output.Revision = res.revision
			r.Output.LogPath = res.logPath
			r.Updated = now
			return tx.UpdateActionRun(r)
		})
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil && !errors.Is(err, ErrNotFound) {
			s.log.Error("record job result", "actionExecutionId", id, "err", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		break
	}
	s.changed(pipeline)
	s.engine.Wake(kindPipeline, pipeline)
}

// recordHandle stores the process tree's handle so a later life can reap it.
func (s *Service) recordHandle(id string, p *runner.Process) {
	h, err := json.Marshal(p.Handle())
	if err != nil {
		return
	}
	for {
		err := s.store.Progress(context.Background(), func(tx Tx) error {
			r, err := tx.GetActionRun(id)
			if err != nil {
				return err
			}
			r.Handle = h
			return tx.UpdateActionRun(r)
		})
		if !errors.Is(err, ErrConflict) {
			return
		}
	}
}
