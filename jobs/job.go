package jobs

import (
	"encoding/json"
	"time"

	"github.com/pipewright/pipewright/runner"
)

// Status is where a job is in its life.
type Status string

const (
	// StatusPending: Submit created the job; its process has not been
	// started. The job's goroutine moves it to Running just before it
	// starts the process; the boot rule starts a Pending job of an earlier
	// life again (it never ran).
	StatusPending Status = "Pending"
	// StatusRunning: the job's process tree is started (or about to be) by
	// the life in Job.Boot. Its end, Stop, a timeout, a shutdown or the
	// boot rule (the process died with that life) moves it to a terminal
	// status.
	StatusRunning Status = "Running"
	// StatusSucceeded: the script exited 0 and every output was collected.
	StatusSucceeded Status = "Succeeded"
	// StatusFailed: the script failed, its outputs could not be collected,
	// or pipewright could not run it (Reason says which).
	StatusFailed Status = "Failed"
	// StatusStopped: Stop terminated the job (or cancelled it before its
	// process started).
	StatusStopped Status = "Stopped"
	// StatusTimedOut: the job ran longer than Spec.Timeout and its tree was
	// terminated.
	StatusTimedOut Status = "TimedOut"
)

// Terminal reports whether the status is final.
func (s Status) Terminal() bool {
	switch s {
	case StatusSucceeded, StatusFailed, StatusStopped, StatusTimedOut:
		return true
	}
	return false
}

// Reason says why a job ended.
type Reason string

const (
	ReasonNone     Reason = ""
	ReasonExited   Reason = "exited"   // the script ended by itself (any exit status)
	ReasonSetup    Reason = "setup"    // the workspace, an input or the start failed
	ReasonOutputs  Reason = "outputs"  // an output artifact could not be collected
	ReasonStopped  Reason = "stopped"  // Stop was called
	ReasonTimeout  Reason = "timeout"  // Spec.Timeout passed
	ReasonShutdown Reason = "shutdown" // the server was shut down while it ran
	ReasonLost     Reason = "lost"     // its process died with an earlier life of the server
	ReasonInternal Reason = "internal" // pipewright failed while running it (a panic)
)

// Job is one unit of work and what became of it.
type Job struct {
	ID string
	// Owner is the service that submitted the job ("codepipeline"); its
	// registered handler hears of the job's end.
	Owner string
	// Token is the owner's client token: one job per owner and token.
	Token string
	// Group is the owner's grouping key (a pipeline's name), by which its
	// jobs are deleted together.
	Group  string
	Spec   Spec
	Status Status
	Reason Reason
	// Message says, for a user, how the job ended when it did not succeed.
	Message string
	// ExitCode is the script's exit status (128+n when signal n killed
	// it), when it ran.
	ExitCode  int
	Outputs   []Artifact
	Variables map[string]string
	// Kept holds the files Spec.Keep named, as they were when the job
	// ended (a file that did not exist is absent).
	Kept map[string][]byte
	// LogPath is the file that holds the job's output lines.
	LogPath string
	// Boot is the server life that runs (or ran) the job's process.
	Boot string
	// Handle describes the job's process tree, for the runner's Reap.
	Handle json.RawMessage
	// StopReason is what Stop was told, kept for the log's last line.
	StopReason string
	Created    time.Time
	Started    time.Time
	Ended      time.Time
	// RowVersion is the compare-and-set version of the record.
	RowVersion int64
}

// Spec is what a job runs.
type Spec struct {
	// Script is run as one bash session (`bash -e -c`), the lines of a
	// Commands action or of a build phase.
	Script string `json:"script"`
	// Env is added, in order, after the variables the job layer sets
	// (LANG, PATH, HOME, TMPDIR, CODEBUILD_SRC_DIR...), so it may override
	// them.
	Env []string `json:"env,omitempty"`
	// Inputs are extracted into the workspace: the first at
	// CODEBUILD_SRC_DIR (where the script starts), each other at
	// CODEBUILD_SRC_DIR_<Name>.
	Inputs []Artifact `json:"inputs,omitempty"`
	// Outputs are zipped from the primary source directory once the script
	// succeeded.
	Outputs []Output `json:"outputs,omitempty"`
	// Variables names the shell variables saved once the script succeeded.
	Variables []string `json:"variables,omitempty"`
	// Timeout ends the job TimedOut after this long (zero: no limit).
	Timeout time.Duration `json:"timeout,omitempty"`
	// OutputsOnFailure collects the outputs when the script failed too
	// (not when the job was stopped, timed out or could not start), as a
	// CodeBuild build uploads its artifacts after a failed BUILD phase.
	OutputsOnFailure bool `json:"outputsOnFailure,omitempty"`
	// Cache, when set, is restored before the script and saved after it.
	Cache *Cache `json:"cache,omitempty"`
	// Keep names small files of the workspace (relative to it) that the
	// owner reads after the job ended: they are copied into Job.Kept
	// before the workspace is discarded (at most MaxKept bytes each;
	// symbolic links and other non-regular files are not read).
	Keep []string `json:"keep,omitempty"`
	// User, when set, is who the job's tree runs as instead of the
	// runner's job user; the workspace is given to it. Only a server
	// running as root can run a job as another user: the job fails in
	// setup otherwise. Whom a job may run as is the owner's policy.
	User *runner.Credential `json:"user,omitempty"`
}

// Artifact is an object of the artifact store. MD5 and SHA256 (hex) are
// set on the outputs a job produced.
type Artifact struct {
	Name   string `json:"name"`
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	MD5    string `json:"md5,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
}

// Output is an artifact a job produces: the files of the primary source
// directory (or of BaseDirectory in it) matching Files ("*" within a
// directory, "**" any depth) and none of Exclude, zipped into Bucket/Key,
// each under its path relative to that directory (its base name alone
// with DiscardPaths).
type Output struct {
	Artifact
	Files         []string `json:"files"`
	BaseDirectory string   `json:"baseDirectory,omitempty"`
	Exclude       []string `json:"exclude,omitempty"`
	DiscardPaths  bool     `json:"discardPaths,omitempty"`
}
