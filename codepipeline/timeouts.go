package codepipeline

import (
	"fmt"
	"time"
)

// Timeouts is how long an action of a kind may run before it fails, as
// AWS applies them; a zero field means AWS's value.
type Timeouts struct {
	// Commands is a Compute/AWS/Commands action's limit: 55 minutes (the
	// Commands action reference).
	Commands time.Duration
	// Build is a CodeBuild build or test action's limit: 8 hours (the
	// CodePipeline quotas page).
	Build time.Duration
	// S3Deploy is a Deploy/AWS/S3 action's limit: 90 minutes (the
	// CodePipeline quotas page).
	S3Deploy time.Duration
	// CodeDeploy is a Deploy/AWS/CodeDeploy action's limit: 5 days (the
	// CodePipeline quotas page).
	CodeDeploy time.Duration
	// Other is every other action's limit that AWS does not name
	// separately: 1 hour (the CodePipeline quotas page).
	Other time.Duration
}

// AWS's action timeouts.
const (
	commandsTimeout   = 55 * time.Minute
	buildTimeout      = 8 * time.Hour
	s3DeployTimeout   = 90 * time.Minute
	codeDeployTimeout = 5 * 24 * time.Hour
	otherTimeout      = time.Hour
	// defaultApprovalMinutes is a manual approval's timeout: 7 days.
	defaultApprovalMinutes = 7 * 24 * 60
)

// timeoutOf is how long an action of the given type and kind may run.
func (t Timeouts) timeoutOf(typ ActionTypeID, k actionKind) time.Duration {
	if typ.Category == "Deploy" && typ.Owner == "AWS" && typ.Provider == "S3" {
		if t.S3Deploy > 0 {
			return t.S3Deploy
		}
		return s3DeployTimeout
	}
	if isCodeDeploy(typ) {
		if t.CodeDeploy > 0 {
			return t.CodeDeploy
		}
		return codeDeployTimeout
	}
	return t.actionTimeout(k)
}

// actionTimeout is how long an action of the given kind may run.
func (t Timeouts) actionTimeout(k actionKind) time.Duration {
	switch k {
	case kindCommands:
		if t.Commands > 0 {
			return t.Commands
		}
		return commandsTimeout
	case kindBuild:
		if t.Build > 0 {
			return t.Build
		}
		return buildTimeout
	default:
		if t.Other > 0 {
			return t.Other
		}
		return otherTimeout
	}
}

// timeoutMessage is the errorDetails message of an action that timed out.
func timeoutMessage(typ ActionTypeID, k actionKind, d time.Duration) string {
	if isCodeDeploy(typ) {
		return fmt.Sprintf("The action timed out: its deployment did not finish within %s; the deployment was stopped.", formatDuration(d))
	}
	switch k {
	case kindApproval:
		return "The approval request expired: no answer was given before the action's timeout."
	case kindCommands:
		return fmt.Sprintf("The action timed out: its commands did not finish within %s; their process tree was terminated.", formatDuration(d))
	case kindBuild:
		return fmt.Sprintf("The action timed out: its build did not finish within %s; the build was stopped.", formatDuration(d))
	}
	return fmt.Sprintf("The action timed out: it did not finish within %s.", formatDuration(d))
}

// formatDuration writes a timeout as AWS's documents do ("55 minutes").
func formatDuration(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d%day == 0 && d >= day:
		if d == day {
			return "1 day"
		}
		return fmt.Sprintf("%d days", d/day)
	case d%time.Hour == 0 && d >= time.Hour:
		if d == time.Hour {
			return "1 hour"
		}
		return fmt.Sprintf("%d hours", d/time.Hour)
	case d%time.Minute == 0 && d >= time.Minute:
		if d == time.Minute {
			return "1 minute"
		}
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
	return d.String()
}
