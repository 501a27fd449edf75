package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/pipewright/pipewright/runner"
)

// outcome is how a job's run ended, before it is recorded.
type outcome struct {
	status   Status
	reason   Reason
	message  string
	exitCode int
	outputs  []Artifact
	vars     map[string]string
	// note is the line pipewright adds to the end of the log, if any.
	note string
}

func failedOutcome(r Reason, msg string) outcome {
	return outcome{status: StatusFailed, reason: r, message: msg}
}

// launch runs the job in the background; a job that cannot be launched
// (the server is shutting down) stays Pending for the next life.
func (m *Manager) launch(j *Job) {
	ctx, cancel := context.WithCancel(context.Background())
	lj := m.reg.add(j.ID, cancel)
	if lj == nil {
		cancel()
		return
	}
	go m.run(ctx, j, lj)
}

// run carries a job from Pending to its recorded end. A panic anywhere in
// it fails the job with a reason instead of taking the server down.
func (m *Manager) run(ctx context.Context, j *Job, lj *liveJob) {
	defer m.reg.done(j.ID)
	defer lj.cancel()
	var log *lineLog
	defer func() {
		if p := recover(); p != nil {
			m.log.Error("jobs: panic while running a job", "jobId", j.ID, "panic", p, "stack", string(debug.Stack()))
			m.finish(j, lj, log, failedOutcome(ReasonInternal, fmt.Sprintf("pipewright failed while running this job: %v", p)))
		}
	}()
	var out outcome
	log, out = m.execute(ctx, j, lj)
	m.finish(j, lj, log, out)
}

// execute prepares the workspace, starts the tree (unless the job was
// stopped or is no longer wanted), waits for it and collects the results.
func (m *Manager) execute(ctx context.Context, j *Job, lj *liveJob) (*lineLog, outcome) {
	ws := m.workspace(j.ID)
	os.RemoveAll(ws)
	if err := os.MkdirAll(ws, 0o700); err != nil {
		return nil, failedOutcome(ReasonSetup, "Could not create the job's workspace: "+err.Error())
	}
	log, err := createLog(j.LogPath)
	if err != nil {
		return nil, failedOutcome(ReasonSetup, "Could not create the job's log: "+err.Error())
	}
	primary, srcEnv, err := m.extractInputs(ws, j.Spec.Inputs)
	if err != nil {
		return log, failedOutcome(ReasonSetup, err.Error())
	}
	home, tmp := filepath.Join(ws, "home"), filepath.Join(ws, "tmp")
	for _, d := range []string{home, tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return log, failedOutcome(ReasonSetup, err.Error())
		}
	}
	if c := j.Spec.Cache; c != nil {
		log.note(m.now(), c.restore(primary, home))
	}
	env := append(baseEnv(), srcEnv...)
	env = append(env, "HOME="+home, "TMPDIR="+tmp)
	env = append(env, j.Spec.Env...)
	script := j.Spec.Script
	varsFile := filepath.Join(ws, "variables")
	if len(j.Spec.Variables) > 0 {
		script += exportTrailer(j.Spec.Variables, varsFile)
	}
	spec := runner.Spec{ID: j.ID, Script: script, Dir: primary, Env: env, OnLine: log.add, User: j.Spec.User}
	if err := m.prepareIsolation(&spec, ws); err != nil {
		return log, failedOutcome(ReasonSetup, "Could not prepare the job's isolation: "+err.Error())
	}

	proc, out, started := m.startTree(ctx, j, lj, spec)
	if !started {
		return log, out
	}
	m.recordHandle(j, proc)
	var timer *time.Timer
	if d := j.Spec.Timeout; d > 0 {
		timer = time.AfterFunc(d, func() {
			lj.order(&stopOrder{status: StatusTimedOut, reason: ReasonTimeout, text: timeoutMessage(d)}, m.cfg.Grace)
		})
	}
	res := proc.Wait()
	if timer != nil {
		timer.Stop()
	}
	if o := lj.stopped(); o != nil && res.Terminated {
		return log, ordered(o)
	}
	if c := j.Spec.Cache; c != nil && res.Err == nil && res.Signal == "" {
		log.note(m.now(), c.save(primary, home))
	}
	switch {
	case res.Err != nil:
		return log, failedOutcome(ReasonExited, "The commands could not run: "+res.Err.Error())
	case res.Signal != "":
		return log, outcome{status: StatusFailed, reason: ReasonExited, exitCode: res.ExitCode, message: fmt.Sprintf("The commands were killed by signal %s.", res.Signal)}
	case res.ExitCode != 0:
		failed := outcome{status: StatusFailed, reason: ReasonExited, exitCode: res.ExitCode,
			message: fmt.Sprintf("Command did not exit successfully: exit status %d.%s", res.ExitCode, log.tail())}
		if j.Spec.OutputsOnFailure {
			if failed.outputs, err = m.collectOutputs(primary, j.Spec.Outputs); err != nil {
				failed.outputs = nil
				failed.message += " " + err.Error()
			}
		}
		return log, failed
	}
	done := outcome{status: StatusSucceeded, reason: ReasonExited}
	if len(j.Spec.Variables) > 0 {
		if done.vars, err = readExported(varsFile); err != nil {
			return log, failedOutcome(ReasonOutputs, err.Error())
		}
	}
	if done.outputs, err = m.collectOutputs(primary, j.Spec.Outputs); err != nil {
		return log, failedOutcome(ReasonOutputs, err.Error())
	}
	return log, done
}

// startTree starts the job's process tree, under the job's lock, unless
// the job was told to stop or its owner no longer wants it.
func (m *Manager) startTree(ctx context.Context, j *Job, lj *liveJob, spec runner.Spec) (*runner.Process, outcome, bool) {
	lj.mu.Lock()
	defer lj.mu.Unlock()
	if lj.stop != nil {
		o := ordered(lj.stop)
		o.note = "The job was ended before its commands started: " + lj.stop.text + "."
		return nil, o, false
	}
	if o := m.owners[j.Owner]; o != nil && !o.Wanted(ctx, j) {
		return nil, outcome{status: StatusStopped, reason: ReasonStopped, message: "The job was cancelled before its commands started: its owner no longer wants it.",
			note: "The job was cancelled before its commands started: what it was for is gone."}, false
	}
	// Running is recorded before the process exists: a crash from here on
	// counts as losing a process that may have run (the boot rule fails
	// the job), never as work that can safely start again.
	if err := m.markRunning(j); err != nil {
		return nil, failedOutcome(ReasonSetup, "Could not record the job's start: "+err.Error()), false
	}
	proc, err := m.cfg.Runner.Start(spec)
	if err != nil {
		return nil, failedOutcome(ReasonSetup, "Could not start the commands: "+err.Error()), false
	}
	lj.proc = proc
	return proc, outcome{}, true
}

// ordered is the outcome of a job pipewright ended.
func ordered(o *stopOrder) outcome {
	out := outcome{status: o.status, reason: o.reason}
	switch o.reason {
	case ReasonShutdown:
		out.message, out.note = MessageShutdown, "The pipewright server was shut down; the job's process tree was terminated."
	case ReasonTimeout:
		out.message, out.note = o.text, o.text
	default:
		out.message = stopMessage(o.text)
		out.note = out.message
	}
	return out
}

// markRunning records that the job's tree is about to start in this life.
func (m *Manager) markRunning(j *Job) error {
	_, err := m.commit(j.ID, func(cur *Job) bool {
		if cur.Status != StatusPending {
			return false
		}
		cur.Status, cur.Started, cur.Boot = StatusRunning, m.now(), m.cfg.Boot
		return true
	})
	return err
}

// recordHandle records how to find the tree again from a later life.
func (m *Manager) recordHandle(j *Job, proc *runner.Process) {
	h, _ := json.Marshal(proc.Handle())
	_, err := m.commit(j.ID, func(cur *Job) bool {
		if cur.Status != StatusRunning {
			return false
		}
		cur.Handle = h
		return true
	})
	if err != nil {
		m.log.Warn("jobs: could not record a job's process handle", "jobId", j.ID, "err", err)
	}
}

// finish records the job's end (unless it ended otherwise meanwhile),
// discards its workspace and tells its owner.
func (m *Manager) finish(j *Job, lj *liveJob, log *lineLog, out outcome) {
	lj.mu.Lock()
	notes, forget := lj.endNotes, lj.forget
	lj.mu.Unlock()
	at := m.now()
	if log != nil {
		if out.note != "" {
			log.note(at, out.note)
		}
		for _, n := range notes {
			log.note(at, n)
		}
		log.close()
	}
	kept := readKept(m.workspace(j.ID), j.Spec.Keep)
	m.discard(m.workspace(j.ID))
	if forget {
		m.forget(j.ID, j.LogPath)
		return
	}
	rec, err := m.commit(j.ID, func(cur *Job) bool {
		if cur.Status.Terminal() {
			return false
		}
		m.endRecord(cur, out.status, out.reason, out.message)
		cur.ExitCode, cur.Outputs, cur.Variables, cur.Kept = out.exitCode, out.outputs, out.vars, kept
		if o := lj.stopped(); o != nil {
			cur.StopReason = o.text
		}
		return true
	})
	if err != nil {
		m.log.Error("jobs: could not record a job's end; the next start fails it as lost", "jobId", j.ID, "err", err)
		return
	}
	if rec != nil && rec.Status.Terminal() {
		m.notify(rec)
	}
}

// forget deletes a job's record and log, the log first: a crash in
// between leaves a record whose log is gone, which is deleted again later.
func (m *Manager) forget(id, logPath string) error {
	err := removeLog(logPath)
	if err == nil {
		err = m.cfg.Store.Progress(context.Background(), func(tx Tx) error { return tx.DeleteJob(id) })
	}
	if err != nil {
		m.log.Warn("jobs: could not delete a job", "jobId", id, "err", err)
	}
	return err
}

// prepareIsolation hands the workspace over to the user the tree runs as
// (the job's own, or the job user when jobs run as one) and sets what the
// tree must not see: the hidden directories (the data directory), except
// the job's own workspace.
func (m *Manager) prepareIsolation(spec *runner.Spec, ws string) error {
	if err := m.cfg.Runner.HandOverTo(ws, spec.User); err != nil {
		return err
	}
	spec.Isolation = runner.Isolation{Hide: m.cfg.Hide, Keep: []string{ws}}
	return nil
}
