package codebuild

import (
	"time"

	"github.com/pipewright/pipewright/codebuild/shape"
	"github.com/pipewright/pipewright/wire"
)

// Phase types, in the order a build goes through them.
const (
	phaseSubmitted      = shape.BuildPhaseType("SUBMITTED")
	phaseQueued         = shape.BuildPhaseType("QUEUED")
	phaseProvisioning   = shape.BuildPhaseType("PROVISIONING")
	phaseDownloadSource = shape.BuildPhaseType("DOWNLOAD_SOURCE")
	phaseInstall        = shape.BuildPhaseType("INSTALL")
	phasePreBuild       = shape.BuildPhaseType("PRE_BUILD")
	phaseBuild          = shape.BuildPhaseType("BUILD")
	phasePostBuild      = shape.BuildPhaseType("POST_BUILD")
	phaseUpload         = shape.BuildPhaseType("UPLOAD_ARTIFACTS")
	phaseFinalizing     = shape.BuildPhaseType("FINALIZING")
	phaseCompleted      = shape.BuildPhaseType("COMPLETED")
)

// Statuses of builds and phases (StatusType), AWS's spellings.
const (
	statusSucceeded  = shape.StatusType("SUCCEEDED")
	statusFailed     = shape.StatusType("FAILED")
	statusFault      = shape.StatusType("FAULT")
	statusTimedOut   = shape.StatusType("TIMED_OUT")
	statusInProgress = shape.StatusType("IN_PROGRESS")
	statusStopped    = shape.StatusType("STOPPED")
)

// phaseContext is one statusCode/message pair of a phase.
type phaseContext struct{ code, message string }

func ts(t time.Time) *wire.Timestamp { return wire.NewTimestamp(t) }

// submit starts a build's phases: SUBMITTED (done at once) and QUEUED.
func submit(d *shape.Build, at time.Time) {
	d.StartTime = ts(at)
	st, done := statusInProgress, false
	d.BuildStatus, d.BuildComplete = &st, &done
	d.Phases = []shape.BuildPhase{closedPhase(phaseSubmitted, statusSucceeded, at, at)}
	open(d, phaseQueued, at)
}

func closedPhase(p shape.BuildPhaseType, st shape.StatusType, start, end time.Time, ctx ...phaseContext) shape.BuildPhase {
	dur := int64(end.Sub(start) / time.Second)
	ph := shape.BuildPhase{PhaseType: &p, PhaseStatus: &st, StartTime: ts(start), EndTime: ts(end), DurationInSeconds: &dur,
		Contexts: []shape.PhaseContext{}}
	for _, c := range ctx {
		code, msg := c.code, c.message
		ph.Contexts = append(ph.Contexts, shape.PhaseContext{StatusCode: &code, Message: &msg})
	}
	if len(ctx) == 0 {
		empty := ""
		ph.Contexts = append(ph.Contexts, shape.PhaseContext{StatusCode: &empty, Message: &empty})
	}
	return ph
}

// open appends a phase that is in progress and makes it the current one.
func open(d *shape.Build, p shape.BuildPhaseType, at time.Time) {
	d.Phases = append(d.Phases, shape.BuildPhase{PhaseType: &p, StartTime: ts(at)})
	cur := string(p)
	d.CurrentPhase = &cur
}

// current returns the phase in progress, nil when there is none.
func current(d *shape.Build) *shape.BuildPhase {
	if n := len(d.Phases); n > 0 && d.Phases[n-1].PhaseStatus == nil && d.Phases[n-1].GetPhaseType() != phaseCompleted {
		return &d.Phases[n-1]
	}
	return nil
}

// closeCurrent ends the phase in progress (if any) with a status.
func closeCurrent(d *shape.Build, st shape.StatusType, at time.Time, ctx ...phaseContext) {
	if c := current(d); c != nil {
		*c = closedPhase(c.GetPhaseType(), st, c.GetStartTime(), maxTime(at, c.GetStartTime()), ctx...)
	}
}

// advance ends the phase in progress with a status and opens the next.
func advance(d *shape.Build, next shape.BuildPhaseType, st shape.StatusType, at time.Time, ctx ...phaseContext) {
	closeCurrent(d, st, at, ctx...)
	open(d, next, at)
}

// complete ends a build: the phase in progress ends with phaseStatus (when
// one is open), COMPLETED is appended (it carries only its type and start,
// as on AWS) and the build gets its final status.
func complete(d *shape.Build, st shape.StatusType, phaseStatus shape.StatusType, at time.Time, ctx ...phaseContext) {
	closeCurrent(d, phaseStatus, at, ctx...)
	p := phaseCompleted
	d.Phases = append(d.Phases, shape.BuildPhase{PhaseType: &p, StartTime: ts(at)})
	cur, done := string(phaseCompleted), true
	d.CurrentPhase, d.BuildStatus, d.BuildComplete, d.EndTime = &cur, &st, &done, ts(at)
}

// isComplete reports whether the build has its final status.
func isComplete(d *shape.Build) bool { return d.BuildComplete != nil && *d.BuildComplete }

// stop is StopBuild's transition: the phase in progress ends STOPPED and
// the build is complete and STOPPED at once; nothing later changes that.
func stop(d *shape.Build, at time.Time) {
	if isComplete(d) {
		return
	}
	complete(d, statusStopped, statusStopped, at)
}

func maxTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}
