package codebuild

import (
	"github.com/pipewright/pipewright/codebuild/buildspec"
	"github.com/pipewright/pipewright/codebuild/shape"
	"github.com/pipewright/pipewright/jobs"
	"time"
)

// withDriver adds the phases the build's driver reported (INSTALL to
// POST_BUILD) after the service's own: DOWNLOAD_SOURCE ends when the first
// of them starts. Phases the driver reports again replace what an earlier
// call added, so it may be applied to a record any number of times.
func withDriver(d *shape.Build, events []buildspec.PhaseEvent) {
	if len(events) == 0 {
		return
	}
	keep := d.Phases[:0:0]
	for _, p := range d.Phases {
		if !isDriverPhase(p.GetPhaseType()) {
			keep = append(keep, p)
		}
	}
	d.Phases = keep
	if c := current(d); c != nil && c.GetPhaseType() == phaseProvisioning {
		advance(d, phaseDownloadSource, statusSucceeded, events[0].Start)
	}
	closeCurrent(d, statusSucceeded, events[0].Start)
	for _, e := range events {
		p := shape.BuildPhaseType(e.Phase)
		if e.End.IsZero() {
			open(d, p, e.Start)
			continue
		}
		var ctx []phaseContext
		if e.Code != "" || e.Message != "" {
			ctx = append(ctx, phaseContext{e.Code, e.Message})
		}
		d.Phases = append(d.Phases, closedPhase(p, shape.StatusType(e.Status), e.Start, e.End, ctx...))
		cur := e.Phase
		d.CurrentPhase = &cur
	}
}

func isDriverPhase(p shape.BuildPhaseType) bool {
	switch p {
	case phaseInstall, phasePreBuild, phaseBuild, phasePostBuild:
		return true
	}
	return false
}

// endBuild completes a build from its job's end, as CodeBuild's phase flow
// has it: after BUILD (whatever its result) come UPLOAD_ARTIFACTS and
// FINALIZING; a failure before BUILD goes to FINALIZING; a timeout ends the
// running phase TIMED_OUT.
func endBuild(d *shape.Build, j *jobs.Job, at time.Time) {
	// A job that ended before its driver reported any phase ended in
	// PROVISIONING or DOWNLOAD_SOURCE.
	if c := current(d); c != nil && c.GetPhaseType() == phaseProvisioning {
		advance(d, phaseDownloadSource, statusSucceeded, at)
	}
	switch j.Status {
	case jobs.StatusSucceeded:
		closeCurrent(d, statusSucceeded, at)
		advance(d, phaseUpload, statusSucceeded, at)
		advance(d, phaseFinalizing, statusSucceeded, at)
		complete(d, statusSucceeded, statusSucceeded, at)
	case jobs.StatusTimedOut:
		complete(d, statusTimedOut, statusTimedOut, at, phaseContext{"BUILD_TIMED_OUT", "Build has timed out. "})
	case jobs.StatusStopped:
		complete(d, statusStopped, statusStopped, at)
	default:
		status, ctx := statusFailed, phaseContext{"COMMAND_EXECUTION_ERROR", j.Message}
		switch j.Reason {
		case jobs.ReasonLost, jobs.ReasonInternal, jobs.ReasonShutdown:
			status, ctx = statusFault, phaseContext{"CLIENT_ERROR", j.Message}
		case jobs.ReasonOutputs:
			closeCurrent(d, statusSucceeded, at)
			open(d, phaseUpload, at)
			closeCurrent(d, statusFailed, at, phaseContext{"CLIENT_ERROR", j.Message})
			open(d, phaseFinalizing, at)
			complete(d, statusFailed, statusSucceeded, at)
			return
		}
		// The driver ends its phases itself: a failed build ends in a
		// closed phase, and whether it got to BUILD decides what follows.
		if current(d) != nil {
			closeCurrent(d, statusFailed, at, ctx)
		}
		if reachedBuild(d) && status == statusFailed {
			open(d, phaseUpload, at)
			closeCurrent(d, statusSucceeded, at)
		}
		open(d, phaseFinalizing, at)
		complete(d, status, statusSucceeded, at)
	}
}

// reachedBuild reports whether the build's BUILD phase ran.
func reachedBuild(d *shape.Build) bool {
	for _, p := range d.Phases {
		if p.GetPhaseType() == phaseBuild {
			return true
		}
	}
	return false
}
