package runner

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Containment methods, as reported by Runner.Method and accepted by
// Options.Method.
const (
	MethodCgroupV2        = "cgroup-v2"
	MethodCgroupV1Freezer = "cgroup-v1-freezer"
	MethodProcessGroup    = "process-group"
)

// Isolation modes, as reported by Runner.Isolation and accepted by
// Options.Isolation (see the package doc).
const (
	// IsolationNamespaces: every tree runs in its own mount and PID
	// namespaces (and a user namespace when the server is not root), where
	// the Spec's hidden directories are covered, its kept ones put back, and
	// /proc shows only the tree's own processes.
	IsolationNamespaces = "namespaces"
	// IsolationJobUser: no namespaces; the server is root and trees run as
	// Options.JobUser, kept out of the server's files by their permissions.
	IsolationJobUser = "job-user"
	// IsolationNone: trees run as the server's user and see what it sees.
	IsolationNone = "none"
)

// MarkerEnv is the environment variable the runner sets to the tree's ID in
// the main shell's environment; every descendant that does not clear its
// environment carries it.
const MarkerEnv = "PIPEWRIGHT_TREE_ID"

// ScopeEnv is the environment variable the runner sets to Options.Scope,
// when one is set, beside MarkerEnv: Sweep finds the trees of its scope by
// it when they have no cgroup.
const ScopeEnv = "PIPEWRIGHT_SCOPE"

// DefaultGrace is the SIGTERM to SIGKILL delay used when Options.Grace is
// not set.
const DefaultGrace = 10 * time.Second

// MaxLineLength is the longest Line.Text delivered; longer lines are split
// into pieces of this many bytes.
const MaxLineLength = 64 * 1024

// ErrUnsupported is returned by New on systems the runner does not support.
var ErrUnsupported = errors.New("runner: unsupported operating system")

// Options configures a Runner.
type Options struct {
	// Grace is the SIGTERM to SIGKILL delay of Terminate when it is called
	// with a grace <= 0. Zero means DefaultGrace.
	Grace time.Duration

	// Method forces a containment method (one of the Method* constants);
	// New fails when it is not usable. Empty means: the first usable of
	// cgroup-v2, cgroup-v1-freezer, process-group.
	Method string

	// CgroupRoot overrides the directory under which per-tree cgroups are
	// created (default <mount>/<server's own cgroup>/pipewright). It must be
	// inside a cgroup2 or a cgroup v1 freezer hierarchy; it is created if
	// missing. Ignored by the process-group method.
	CgroupRoot string

	// Scope names the trees of one server (one data directory) among all
	// the trees on the machine: their cgroups live in a directory of that
	// name under the cgroup parent, and their environment carries
	// ScopeEnv=Scope. Sweep terminates the trees of its scope only. It is
	// restricted as Spec.ID is; empty means no scope (Sweep does nothing).
	Scope string

	// Isolation forces an isolation mode (one of the Isolation*
	// constants); New fails when it is not usable. Empty means: namespaces
	// where the kernel allows them, else job-user when JobUser is set, else
	// none.
	Isolation string

	// JobUser is the user and group trees run as. Only a server running as
	// root may set it (New fails otherwise); nil, or 0:0, means the server's
	// own user. Its supplementary groups are cleared.
	JobUser *Credential

	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
}

// Credential is a numeric user and group ID.
type Credential struct {
	UID uint32 `json:"uid"`
	GID uint32 `json:"gid"`
}

// Isolation says what a tree must not see of the server's files. It takes
// effect under IsolationNamespaces only; the other modes rely on file
// permissions (see the package doc).
type Isolation struct {
	// Hide lists existing directories the tree sees as empty and
	// read-only (each is covered by an empty tmpfs in the tree's mount
	// namespace).
	Hide []string
	// Keep lists existing directories inside Hide directories that the
	// tree still sees, at their own paths, as they are.
	Keep []string
}

// Spec describes one process tree to start.
type Spec struct {
	// ID names the tree uniquely among the trees of this server, now and in
	// its previous lives. It becomes the cgroup directory name and the value
	// of MarkerEnv, so it may contain only ASCII letters, digits, '.', '_'
	// and '-', must not start with '.', and is at most 200 bytes long.
	ID string

	// Script is run as `bash -e -c -- Script` (see the package doc).
	Script string

	// Dir is the working directory; empty means the server's, or / under
	// IsolationNamespaces (the server's may be hidden).
	Dir string

	// Env is the complete environment of the script; nil means empty. Any
	// MarkerEnv entry is replaced by the runner's own.
	Env []string

	// OnLine, if not nil, is called for every line the tree writes to its
	// stdout or stderr (see Line).
	OnLine func(Line)

	// Isolation hides directories from the tree (see Isolation).
	Isolation Isolation

	// User, if set, is who the tree runs as instead of Options.JobUser
	// (no supplementary groups, no capability, as a job user); 0:0 is
	// root, with the privileges of a root server's trees without a job
	// user. Only a server running as root may set it: Start fails
	// otherwise. Files the tree must own are the caller's to give it
	// (HandOverTo).
	User *Credential
}

// Line is one line of output. Lines of one stream are delivered in order;
// lines of the two streams are interleaved in the order they were read.
type Line struct {
	// Time is when the line was read from the pipe.
	Time time.Time
	// Stream is "stdout" or "stderr".
	Stream string
	// Text is the line without its trailing "\n" (or "\r\n"). A line longer
	// than MaxLineLength is delivered in several pieces; the last line is
	// delivered even without a newline. Text is the raw bytes written, not
	// necessarily valid UTF-8.
	Text string
}

// Result describes how a tree ended.
type Result struct {
	// ExitCode is the main shell's exit status, or 128+n if signal n killed
	// it.
	ExitCode int
	// Signal is the name of the signal that killed the main shell
	// ("SIGKILL"), or empty.
	Signal string
	// Terminated is true when Terminate or Kill was called before the main
	// shell exited.
	Terminated bool
	// Err reports a failure of the runner itself (waiting, killing the
	// tree, cleaning up); it is nil for any exit of the script.
	Err error
	// Started and Ended bracket the tree's life: Ended is set once the tree
	// is gone and its output delivered.
	Started, Ended time.Time
}

// Handle describes a started tree well enough to find and kill what is left
// of it from a later life of the server (see Runner.Reap). It is meant to be
// stored as JSON.
type Handle struct {
	// ID is Spec.ID.
	ID string `json:"id"`
	// Method is the containment method the tree was started with.
	Method string `json:"method"`
	// PID is the process ID of the tree's first process: the main shell,
	// or, under IsolationNamespaces, the job init helper, whose end ends
	// the whole tree.
	PID int `json:"pid"`
	// PGID is that process's process group ID, which is also its session
	// ID (it is a session leader), equal to PID.
	PGID int `json:"pgid"`
	// StartTime is that process's start time in clock ticks since boot
	// (field 22 of /proc/PID/stat); no process of the tree started earlier.
	StartTime uint64 `json:"startTime"`
	// BootID is the kernel's boot ID when the tree started; nothing of a
	// tree survives a reboot.
	BootID string `json:"bootId"`
	// Cgroup is the absolute path of the tree's cgroup directory, empty for
	// the process-group method.
	Cgroup string `json:"cgroup,omitempty"`
}

// validateID reports whether id is acceptable as Spec.ID.
func validateID(id string) error {
	if id == "" {
		return errors.New("runner: empty tree ID")
	}
	if len(id) > 200 {
		return fmt.Errorf("runner: tree ID longer than 200 bytes")
	}
	if id[0] == '.' {
		return fmt.Errorf("runner: tree ID %q starts with '.'", id)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return fmt.Errorf("runner: tree ID %q contains %q", id, c)
		}
	}
	return nil
}

// treeEnv returns env without MarkerEnv and ScopeEnv entries, plus
// MarkerEnv=id and, with a scope, ScopeEnv=scope.
func treeEnv(env []string, id, scope string) []string {
	out := make([]string, 0, len(env)+2)
	for _, kv := range env {
		if strings.HasPrefix(kv, MarkerEnv+"=") || strings.HasPrefix(kv, ScopeEnv+"=") {
			continue
		}
		out = append(out, kv)
	}
	out = append(out, MarkerEnv+"="+id)
	if scope != "" {
		out = append(out, ScopeEnv+"="+scope)
	}
	return out
}
