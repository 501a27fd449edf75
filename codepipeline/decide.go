package codepipeline

import (
	"fmt"
	"time"

	"github.com/pipewright/pipewright/codebuild"
	"github.com/pipewright/pipewright/jobs"
)

// world is what the engine knows about one pipeline at one moment: its
// definition and every active execution with its runs. decide changes the
// records in place and reports which ones changed and what to do after they
// are persisted. It does no I/O, so it is table-tested on its own.
type world struct {
	now      time.Time
	boot     string
	timeouts Timeouts
	// logURL names where the log of a job will be (externalExecutionUrl).
	logURL      func(jobID string) string
	newID       func() string
	def         *definition
	transitions map[string]Transition
	// execs are the active executions, by Seq.
	execs []*Execution
	// stageRuns holds the run of the stage each active execution is in.
	stageRuns map[string]*StageRun
	// runs holds every action run of each active execution, by Seq.
	runs map[string][]*ActionRun
}

// effectKind is a follow-up the engine performs once changes are committed.
type effectKind int

const (
	// effectStart starts the work of a new source or job action run.
	effectStart effectKind = iota
	// effectResume asks again for the work of a job action run an earlier
	// life started or meant to start (the run's ID is the work's client
	// token, so this never starts it twice).
	effectResume
	// effectStopJob stops the work of a job action run that ended without
	// it (abandoned with pipewright:abandon-cancels-jobs, timed out).
	effectStopJob
	// effectNoteAbandoned tells a job that runs on that its action was
	// abandoned, for the end of its log.
	effectNoteAbandoned
)

type effect struct {
	kind effectKind
	run  *ActionRun
	// text is the reason given to the work (effectStopJob, effectNoteAbandoned).
	text string
}

// changes is the outcome of decide: the records to persist (compare-and-set)
// and the effects to carry out after the commit.
type changes struct {
	execs        []*Execution
	newStageRuns []*StageRun
	stageRuns    []*StageRun
	newRuns      []*ActionRun
	runs         []*ActionRun
	effects      []effect
	// wakeAt is the earliest time the pipeline must be reconciled again
	// (an approval's expiry); zero for none.
	wakeAt time.Time

	seen map[any]bool
}

func (c *changes) exec(e *Execution) {
	if !c.seen[e] {
		c.seen[e] = true
		c.execs = append(c.execs, e)
	}
}

func (c *changes) stageRun(sr *StageRun) {
	if !c.seen[sr] {
		c.seen[sr] = true
		c.stageRuns = append(c.stageRuns, sr)
	}
}

func (c *changes) run(r *ActionRun) {
	if !c.seen[r] {
		c.seen[r] = true
		c.runs = append(c.runs, r)
	}
}

// empty reports whether nothing needs to be persisted.
func (c *changes) empty() bool {
	return len(c.execs)+len(c.newStageRuns)+len(c.stageRuns)+len(c.newRuns)+len(c.runs) == 0
}

// Error codes of action errorDetails.
const (
	errJobFailed     = "JobFailed"
	errConfiguration = "ConfigurationError"
)

// MessageServerRestarted is the errorDetails message of a job action whose
// process died with the server.
const MessageServerRestarted = "The pipewright server stopped while this action was running and its process did not survive; the action failed."

// decide advances every active execution of the pipeline as far as the
// recorded state allows.
func decide(w *world) *changes {
	c := &changes{seen: map[any]bool{}}
	w.carryOver(c)
	w.expireActions(c)
	// Each pass can free a stage another execution waits for; a fixpoint is
	// reached after at most one pass per execution.
	for pass := 0; pass <= len(w.execs)+1; pass++ {
		locks := w.locks()
		progressed := false
		for _, e := range w.execs {
			if e.Status.Active() && w.step(e, locks, c) {
				progressed = true
			}
		}
		if w.supersede(c) {
			progressed = true
		}
		if !progressed {
			break
		}
	}
	w.nextWake(c)
	return c
}

// carryOver takes over the work of source and job actions an earlier
// server life ran: a source action runs again (it has no process and
// nothing to lose); a job action asks the job layer for its work again, by
// its client token, which either reports how the work ended (a process
// that died with the server fails it) or starts work that never started.
func (w *world) carryOver(c *changes) {
	for _, e := range w.execs {
		for _, r := range w.runs[e.ID] {
			if r.Status != ActionInProgress || r.Boot == "" || r.Boot == w.boot {
				continue
			}
			r.Boot = w.boot
			c.run(r)
			switch kindOf(r.Input.ActionTypeID) {
			case kindSource:
				c.effects = append(c.effects, effect{kind: effectStart, run: r})
			case kindCommands, kindBuild:
				c.effects = append(c.effects, effect{kind: effectResume, run: r})
			}
		}
	}
}

// expireActions fails the actions that ran past their timeout (an
// approval's, a job's); a job's work is stopped.
func (w *world) expireActions(c *changes) {
	for _, e := range w.execs {
		for _, r := range w.runs[e.ID] {
			if r.Status != ActionInProgress || r.Deadline == nil || w.now.Before(*r.Deadline) {
				continue
			}
			k := kindOf(r.Input.ActionTypeID)
			msg := timeoutMessage(r.Input.ActionTypeID, k, r.Deadline.Sub(r.Started))
			w.endRun(r, ActionFailed, errJobFailed, msg)
			c.run(r)
			if k != kindApproval {
				c.effects = append(c.effects, effect{kind: effectStopJob, run: r, text: "the action timed out"})
			}
		}
	}
}

func (w *world) nextWake(c *changes) {
	for _, e := range w.execs {
		for _, r := range w.runs[e.ID] {
			if r.Status == ActionInProgress && r.Deadline != nil && (c.wakeAt.IsZero() || r.Deadline.Before(c.wakeAt)) {
				c.wakeAt = *r.Deadline
			}
		}
	}
}

// locks maps each stage name to the execution that occupies it. PARALLEL
// pipelines lock nothing.
func (w *world) locks() map[string]*Execution {
	l := map[string]*Execution{}
	if w.def.mode == "PARALLEL" {
		return l
	}
	for _, e := range w.execs {
		if e.Status.Active() && !e.Waiting {
			if sr := w.stageRuns[e.ID]; sr != nil {
				l[sr.Stage] = e
			}
		}
	}
	return l
}

func (w *world) transitionEnabled(stage string) bool {
	t, ok := w.transitions[stage]
	return !ok || t.Enabled
}

// running returns the execution's action runs that are in progress.
func (w *world) running(e *Execution) []*ActionRun {
	var out []*ActionRun
	for _, r := range w.runs[e.ID] {
		if r.Status == ActionInProgress {
			out = append(out, r)
		}
	}
	return out
}

func (w *world) touch(e *Execution, c *changes) {
	e.Updated = w.now
	c.exec(e)
}

func (w *world) endExec(e *Execution, s ExecutionStatus, reason EndReason, summary string, c *changes) {
	e.Status = s
	e.Reason = reason
	if summary != "" {
		e.Summary = summary
	}
	w.touch(e, c)
}

func (w *world) endStage(sr *StageRun, s StageStatus, c *changes) {
	if sr == nil || sr.Status == s {
		return
	}
	sr.Status = s
	sr.Updated = w.now
	c.stageRun(sr)
}

func (w *world) endRun(r *ActionRun, s ActionStatus, code, msg string) {
	r.Status = s
	r.ErrorCode, r.ErrorMessage = code, msg
	if s != ActionSucceeded && msg != "" {
		r.Summary = msg
	}
	if r.Token != "" {
		// An approval that ended otherwise (expired, abandoned) still
		// recognises its token: answering it is then "already completed".
		r.AnsweredToken, r.Token = r.Token, ""
	}
	r.Updated = w.now
}

// step moves one active execution on. It reports whether anything changed.
func (w *world) step(e *Execution, locks map[string]*Execution, c *changes) bool {
	sr := w.stageRuns[e.ID]
	if e.PipelineVersion != w.def.version {
		return w.stepOutdated(e, sr, c)
	}
	if e.Status == ExecutionStopping {
		return w.stepStopping(e, sr, c)
	}
	changed := false
	for {
		if e.Waiting {
			st := &w.def.stages[e.Stage]
			if !w.transitionEnabled(st.name) {
				return changed
			}
			if holder := locks[st.name]; holder != nil && holder != e {
				return changed
			}
			e.Waiting = false
			sr = &StageRun{ExecutionID: e.ID, Pipeline: e.Pipeline, Stage: st.name, Status: StageInProgress,
				Attempt: 1, BaseAttempt: 1, Started: w.now, Updated: w.now}
			w.stageRuns[e.ID] = sr
			c.newStageRuns = append(c.newStageRuns, sr)
			if w.def.mode != "PARALLEL" {
				locks[st.name] = e
			}
			w.touch(e, c)
			changed = true
		}
		outcome, started := w.advanceStage(e, sr, c)
		changed = changed || started
		switch outcome {
		case stageRunning:
			return changed
		case stageFailed:
			w.endStage(sr, StageFailed, c)
			delete(locks, sr.Stage)
			w.endExec(e, ExecutionFailed, ReasonActionFailed, w.failureSummary(e, sr), c)
			return true
		}
		w.endStage(sr, StageSucceeded, c)
		delete(locks, sr.Stage)
		if e.Stage == len(w.def.stages)-1 {
			w.endExec(e, ExecutionSucceeded, ReasonSucceeded, "", c)
			return true
		}
		e.Stage++
		e.StageName = w.def.stages[e.Stage].name
		e.Waiting = true
		w.touch(e, c)
		changed = true
	}
}

// stepOutdated handles an execution whose pipeline was updated under it:
// running actions finish, nothing new starts, then it is Cancelled.
func (w *world) stepOutdated(e *Execution, sr *StageRun, c *changes) bool {
	if e.Status == ExecutionStopping {
		return w.stepStopping(e, sr, c)
	}
	if len(w.running(e)) > 0 && !e.Waiting {
		return false
	}
	if !e.Waiting {
		w.endStage(sr, StageCancelled, c)
	}
	w.endExec(e, ExecutionCancelled, ReasonUpdated, "The pipeline definition was updated before this execution completed.", c)
	return true
}

// stepStopping carries out a recorded stop: abandon ends in-progress actions
// at once; wait lets them finish and starts nothing new.
func (w *world) stepStopping(e *Execution, sr *StageRun, c *changes) bool {
	reason := ReasonUserStop
	if e.Stop != nil && e.Stop.Mode == StopAbandon {
		reason = ReasonAbandon
	}
	if e.Waiting {
		w.endExec(e, ExecutionStopped, reason, "", c)
		return true
	}
	running := w.running(e)
	if reason == ReasonAbandon {
		for _, r := range running {
			w.endRun(r, ActionAbandoned, "", "")
			r.Summary = "Abandoned by StopPipelineExecution"
			c.run(r)
			if !kindOf(r.Input.ActionTypeID).runsWork() {
				continue
			}
			if e.Stop.CancelJobs {
				c.effects = append(c.effects, effect{kind: effectStopJob, run: r, text: abandonText(e.Stop)})
			} else {
				c.effects = append(c.effects, effect{kind: effectNoteAbandoned, run: r,
					text: abandonText(e.Stop) + "; as on AWS its commands ran on to their end and their result was ignored"})
			}
		}
		running = nil
	}
	if len(running) == 0 {
		w.endStage(sr, StageStopped, c)
		w.endExec(e, ExecutionStopped, reason, "", c)
		return true
	}
	if sr != nil && sr.Status != StageStopping {
		w.endStage(sr, StageStopping, c)
		return true
	}
	return false
}

type stageOutcome int

const (
	stageRunning stageOutcome = iota
	stageSucceeded
	stageFailed
)

// currentRuns returns, per action name, the latest run that counts for the
// stage run's current attempt.
func (w *world) currentRuns(e *Execution, sr *StageRun) map[string]*ActionRun {
	latest := map[string]*ActionRun{}
	for _, r := range w.runs[e.ID] {
		if r.Stage == sr.Stage && r.StageAttempt >= sr.BaseAttempt {
			latest[r.Action] = r
		}
	}
	return latest
}

// advanceStage starts the next runOrder group of the stage when the earlier
// groups succeeded, and says how the stage stands.
func (w *world) advanceStage(e *Execution, sr *StageRun, c *changes) (stageOutcome, bool) {
	st := &w.def.stages[e.Stage]
	latest := w.currentRuns(e, sr)
	for _, g := range st.groups {
		var pending []int
		running, failed, done := 0, 0, 0
		for _, i := range g {
			r := latest[st.actions[i].name]
			switch {
			case r == nil, r.StageAttempt < sr.Attempt && (r.Status == ActionFailed || r.Status == ActionAbandoned):
				pending = append(pending, i)
			case r.Status == ActionSucceeded:
				done++
			case r.Status == ActionInProgress:
				running++
			default:
				failed++
			}
		}
		if done == len(g) {
			continue
		}
		if failed > 0 {
			if running == 0 {
				return stageFailed, false
			}
			return stageRunning, false
		}
		if len(pending) > 0 {
			failedNow := false
			for _, i := range pending {
				r := w.newRun(e, sr, &st.actions[i], c)
				if r.Status == ActionFailed {
					failedNow = true
				}
			}
			if failedNow && running == 0 && w.allEnded(e, sr, st, g) {
				return stageFailed, true
			}
			return stageRunning, true
		}
		return stageRunning, false
	}
	return stageSucceeded, false
}

// allEnded reports whether every action of the group has ended after new
// runs were added (some fail at once, e.g. on a missing input).
func (w *world) allEnded(e *Execution, sr *StageRun, st *stageDef, g []int) bool {
	latest := w.currentRuns(e, sr)
	for _, i := range g {
		if r := latest[st.actions[i].name]; r == nil || r.Status == ActionInProgress {
			return false
		}
	}
	return true
}

// newRun creates the action run for a, resolving its inputs, configuration
// and variables; a run that cannot start is created Failed.
func (w *world) newRun(e *Execution, sr *StageRun, a *actionDef, c *changes) *ActionRun {
	r := &ActionRun{
		ID: w.newID(), ExecutionID: e.ID, Pipeline: e.Pipeline, Stage: sr.Stage, Action: a.name,
		StageAttempt: sr.Attempt, PipelineVersion: e.PipelineVersion, Status: ActionInProgress,
		Started: w.now, Updated: w.now,
		Input: ActionInput{ActionTypeID: a.typ, Configuration: a.config, Region: a.region, Namespace: a.namespace},
	}
	w.runs[e.ID] = append(w.runs[e.ID], r)
	c.newRuns = append(c.newRuns, r)

	artifacts, vars := w.produced(e)
	for _, name := range a.inputs {
		ref, ok := artifacts[name]
		if !ok {
			w.endRun(r, ActionFailed, errConfiguration, fmt.Sprintf("Input artifact '%s' was not produced by an earlier action of this execution.", name))
			return r
		}
		r.Input.InputArtifacts = append(r.Input.InputArtifacts, ref)
	}
	resolved, err := resolveConfig(a.config, vars)
	if err != nil {
		w.endRun(r, ActionFailed, errConfiguration, err.Error())
		return r
	}
	r.Input.ResolvedConfiguration = resolved
	if a.kind == kindCommands {
		if err := resolveCommands(r, a, vars); err != nil {
			w.endRun(r, ActionFailed, errConfiguration, err.Error())
			return r
		}
	}
	switch a.kind {
	case kindApproval:
		r.Token = w.newID()
		minutes := a.timeoutMinutes
		if minutes <= 0 {
			minutes = defaultApprovalMinutes
		}
		d := w.now.Add(time.Duration(minutes) * time.Minute)
		r.Deadline = &d
	case kindSource, kindCommands, kindBuild:
		r.Boot = w.boot
		for _, o := range a.outputs {
			r.Outputs = append(r.Outputs, OutputDecl{Name: o.name, Files: o.files})
		}
		r.OutputVariables = a.outputVariables
		switch a.kind {
		case kindCommands:
			// The job the run's id makes, known before it exists.
			r.ExternalID = jobs.IDFor(jobOwner, r.ID)
			if w.logURL != nil {
				r.ExternalURL = w.logURL(r.ExternalID)
			}
		case kindBuild:
			// The build the run's id makes, likewise.
			r.ExternalID = codebuild.PipelineBuildID(resolved["ProjectName"], r.ID)
		}
		d := w.now.Add(w.timeouts.timeoutOf(a.typ, a.kind))
		r.Deadline = &d
		c.effects = append(c.effects, effect{kind: effectStart, run: r})
	default:
		w.endRun(r, ActionFailed, errConfiguration, fmt.Sprintf("pipewright does not run actions of type %s/%s/%s yet.", a.typ.Category, a.typ.Owner, a.typ.Provider))
	}
	return r
}

// produced returns the artifacts and namespaced variables the execution's
// succeeded actions produced so far, the latest run of each winning.
func (w *world) produced(e *Execution) (map[string]ArtifactRef, map[string]map[string]string) {
	artifacts := map[string]ArtifactRef{}
	vars := map[string]map[string]string{
		"codepipeline": {"PipelineExecutionId": e.ID},
		"variables":    {},
	}
	for _, v := range e.Variables {
		vars["variables"][v.Name] = v.Value
	}
	for _, r := range w.runs[e.ID] {
		if r.Status != ActionSucceeded {
			continue
		}
		for _, a := range r.Output.OutputArtifacts {
			artifacts[a.Name] = a
		}
		if ns := r.Input.Namespace; ns != "" {
			vars[ns] = r.Output.OutputVariables
		}
	}
	return artifacts, vars
}

// supersede applies the SUPERSEDED mode's rule: of the executions waiting in
// front of one stage, only the newest keeps waiting.
func (w *world) supersede(c *changes) bool {
	if w.def.mode != "" && w.def.mode != "SUPERSEDED" {
		return false
	}
	newest := map[int]*Execution{}
	for _, e := range w.execs {
		if e.Status == ExecutionInProgress && e.Waiting && e.PipelineVersion == w.def.version {
			if n := newest[e.Stage]; n == nil || e.Seq > n.Seq {
				newest[e.Stage] = e
			}
		}
	}
	changed := false
	for _, e := range w.execs {
		if e.Status == ExecutionInProgress && e.Waiting && e.PipelineVersion == w.def.version {
			if n := newest[e.Stage]; n != e {
				w.endExec(e, ExecutionSuperseded, ReasonSuperseded, "Superseded by pipeline execution "+n.ID, c)
				changed = true
			}
		}
	}
	return changed
}

// abandonText says, for a job and its log, which stop abandoned its action.
func abandonText(st *StopRequest) string {
	t := "the action was abandoned by StopPipelineExecution"
	if st.Reason != "" {
		t += fmt.Sprintf(" (reason: %q)", st.Reason)
	}
	return t
}

// failureSummary names the failed actions of a failed stage.
func (w *world) failureSummary(e *Execution, sr *StageRun) string {
	for _, r := range w.currentRuns(e, sr) {
		if r.Status == ActionFailed {
			return fmt.Sprintf("Action '%s' in stage '%s' failed", r.Action, sr.Stage)
		}
	}
	return ""
}
