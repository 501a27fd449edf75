package agent

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Error codes of a lifecycle event's diagnostics, as AWS's agent sends
// them (its ScriptError).
const (
	codeSucceeded     = 0
	codeScriptMissing = 1
	codeNotExecutable = 2
	codeTimedOut      = 3
	codeScriptFailed  = 4
	codeUnknown       = 5
	codeOutputsOpen   = 6
	codeAfterRestart  = 7
)

// eventError is a failed lifecycle event: what its diagnostics say.
type eventError struct {
	Code   int
	Script string
	Msg    string
}

func (e *eventError) Error() string { return e.Msg }

// hookRun is the running of one lifecycle event's scripts.
type hookRun struct {
	// archive is the extracted revision the scripts are in.
	archive string
	scripts []hk
	// env is what every script is given, besides its user's HOME, USER,
	// LOGNAME and PATH.
	env []string
	log *scriptLog
	// grace is how long a script has between SIGTERM and SIGKILL.
	grace time.Duration
	// terminate is closed when the server no longer wants the event.
	terminate <-chan struct{}
	// started is told each script's process group, and then 0 when it
	// has ended (crash recovery kills what a dead agent left).
	started func(pgid int)
}

// run runs the scripts in order; the first that fails ends the event.
func (h *hookRun) run(ctx context.Context, event string) error {
	if len(h.scripts) == 0 {
		return nil
	}
	h.log.add("LifecycleEvent - " + event + "\n")
	for _, s := range h.scripts {
		if err := h.script(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// script runs one script of the hook, in its own process group, as its
// runas user, within its timeout.
func (h *hookRun) script(ctx context.Context, s hk) error {
	prefix := "Script at specified location: " + s.Location
	if s.RunAs != "" {
		prefix += " run as user " + s.RunAs
	}
	fail := func(code int, msg string) error { return &eventError{Code: code, Script: s.Location, Msg: msg} }
	p := bundlePath(h.archive, s.Location)
	fi, err := os.Stat(p)
	if err != nil || fi.IsDir() {
		return fail(codeScriptMissing, "Script does not exist at specified location: "+p)
	}
	if fi.Mode()&0o111 == 0 {
		if os.Chmod(p, fi.Mode()|0o111) != nil {
			return fail(codeNotExecutable, "Unable to set script at specified location: "+s.Location+" as executable")
		}
	}
	timeout, _ := s.timeoutSeconds()
	cmd := exec.Command(p)
	cmd.Dir = h.archive
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	home, env, err := h.identity(cmd, s.RunAs)
	if err != nil {
		return fail(codeScriptFailed, prefix+" failed: "+err.Error())
	}
	cmd.Env = append(append(env, "HOME="+home), h.env...)
	h.log.add("Script - " + s.Location + "\n")

	outR, outW, err := os.Pipe()
	if err != nil {
		return fail(codeUnknown, err.Error())
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return fail(codeUnknown, err.Error())
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return fail(codeScriptFailed, prefix+" failed with error "+err.Error())
	}
	pgid := cmd.Process.Pid
	h.started(pgid)
	defer h.started(0)
	var readers sync.WaitGroup
	readers.Add(2)
	go h.copyLines(outR, "[stdout]", &readers)
	go h.copyLines(errR, "[stderr]", &readers)
	outputs := make(chan struct{})
	go func() { readers.Wait(); close(outputs) }()

	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	deadline := time.NewTimer(time.Duration(timeout) * time.Second)
	defer deadline.Stop()
	// until waits for done; the timeout, a stop or the agent's end comes
	// first, and the group is terminated and the event failed with why.
	until := func(done <-chan struct{}, timedOut func() error) error {
		select {
		case <-done:
			return nil
		case <-deadline.C:
			h.kill(pgid, done)
			return timedOut()
		case <-h.terminate:
			h.kill(pgid, done)
			h.log.add("[agent]the deployment was stopped: the script's process group was terminated\n")
			return fail(codeScriptFailed, prefix+" was terminated: the deployment was stopped")
		case <-ctx.Done():
			h.kill(pgid, done)
			return fail(codeScriptFailed, prefix+" was terminated: the agent is shutting down")
		}
	}
	err = until(exited, func() error {
		h.log.add(fmt.Sprintf("[agent]the script did not end within its timeout of %d seconds: its process group was terminated\n", timeout))
		return fail(codeTimedOut, fmt.Sprintf("Script at specified location: %s failed to complete in %d seconds", s.Location, timeout))
	})
	if err != nil {
		return err
	}
	// The script has exited; what it started may hold its outputs open
	// (AWS's agent waits for them until the timeout, and fails the event
	// with code 6). Whatever is left of its group is terminated then.
	err = until(outputs, func() error {
		h.log.add("[agent]what the script started kept its outputs open until the timeout: its process group was terminated\n")
		return fail(codeOutputsOpen, prefix+" failed to close STDOUT")
	})
	if err != nil {
		outR.Close()
		errR.Close()
		return err
	}
	if waitErr != nil {
		var ee *exec.ExitError
		if errors.As(waitErr, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				return fail(codeScriptFailed, prefix+" was killed by signal "+ws.Signal().String())
			}
			return fail(codeScriptFailed, prefix+" failed with exit code "+strconv.Itoa(ee.ExitCode()))
		}
		return fail(codeScriptFailed, prefix+" failed with error "+waitErr.Error())
	}
	return nil
}

// kill ends the process group: SIGTERM, then SIGKILL once the grace has
// passed, or at once when gone closes first (the leader exited, or the
// outputs closed) and something of the group may remain.
func (h *hookRun) kill(pgid int, gone <-chan struct{}) {
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-gone:
	case <-time.After(h.grace):
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// copyLines logs r's lines with prefix until EOF or a read error (r was
// closed).
func (h *hookRun) copyLines(r *os.File, prefix string, done *sync.WaitGroup) {
	defer done.Done()
	defer r.Close()
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			if line[len(line)-1] != '\n' {
				line += "\n"
			}
			h.log.add(prefix + line)
		}
		if err != nil {
			return
		}
	}
}

// identity sets the user cmd runs as: runas when it names another user
// than the agent's (which only a root agent can do), else the agent's.
// It returns that user's home directory and the USER, LOGNAME and PATH
// of its environment.
func (h *hookRun) identity(cmd *exec.Cmd, runas string) (string, []string, error) {
	me, err := user.Current()
	if err != nil {
		return "", nil, err
	}
	u := me
	if runas != "" && runas != me.Username {
		if u, err = user.Lookup(runas); err != nil {
			return "", nil, fmt.Errorf("no user %s on this host", runas)
		}
		if os.Geteuid() != 0 {
			return "", nil, fmt.Errorf("the agent runs as %s, not root, and cannot run scripts as %s", me.Username, runas)
		}
		cred, err := credential(u)
		if err != nil {
			return "", nil, err
		}
		cmd.SysProcAttr.Credential = cred
	}
	return u.HomeDir, []string{"USER=" + u.Username, "LOGNAME=" + u.Username,
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, nil
}

// credential is u's uid, gid and groups.
func credential(u *user.User) (*syscall.Credential, error) {
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("user %s has no numeric uid and gid", u.Username)
	}
	c := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	ids, _ := u.GroupIds()
	for _, g := range ids {
		if n, err := strconv.ParseUint(g, 10, 32); err == nil {
			c.Groups = append(c.Groups, uint32(n))
		}
	}
	return c, nil
}
