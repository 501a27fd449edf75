package runner

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// killTimeout bounds how long the runner keeps SIGKILLing a tree that
	// does not empty (processes in uninterruptible sleep).
	killTimeout = 30 * time.Second
	// pollStep is the interval at which a terminating tree is checked.
	pollStep = 10 * time.Millisecond
	// drainIdle and drainMax bound output delivery once the tree is gone
	// (see output.drain).
	drainIdle = 250 * time.Millisecond
	drainMax  = 10 * time.Second
)

// Runner starts process trees with one containment method and one
// isolation mode. It is safe for concurrent use.
type Runner struct {
	method    string
	isolation string
	jobUser   *Credential // nil: trees run as the server's user
	grace     time.Duration
	log       *slog.Logger
	bash      string
	hier      *cgroupHier // nil for the process-group method
	boot      string
	spares    *spares // job init helpers started ahead (IsolationNamespaces)
	scope     string
}

var probeSeq atomic.Int64

// New detects the containment method (or checks the one forced by
// opts.Method) by creating a probe cgroup and starting a probe process in
// it, then the isolation mode (or checks the one forced by opts.Isolation)
// by starting a probe tree, and makes the calling process a child
// subreaper whose orphaned descendants are collected by the runner (see
// the package doc).
func New(opts Options) (*Runner, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Runner{grace: opts.Grace, log: log, boot: bootID(), spares: &spares{log: log}, scope: opts.Scope}
	if r.scope != "" {
		if err := validateID(r.scope); err != nil {
			return nil, fmt.Errorf("runner: scope: %w", err)
		}
	}
	if r.grace <= 0 {
		r.grace = DefaultGrace
	}
	bash, err := findBash()
	if err != nil {
		return nil, err
	}
	r.bash = bash
	if err := reaper.init(bash); err != nil {
		return nil, err
	}
	switch opts.Method {
	case "":
		var errs []error
		for _, v2 := range []bool{true, false} {
			h, err := r.probe(v2, opts.CgroupRoot)
			if err == nil {
				r.hier = h
				break
			}
			errs = append(errs, err)
		}
		if r.hier == nil {
			log.Info("runner: no usable cgroup, falling back to process groups", "err", errors.Join(errs...))
		}
	case MethodCgroupV2, MethodCgroupV1Freezer:
		h, err := r.probe(opts.Method == MethodCgroupV2, opts.CgroupRoot)
		if err != nil {
			return nil, fmt.Errorf("runner: method %s not usable: %w", opts.Method, err)
		}
		r.hier = h
	case MethodProcessGroup:
	default:
		return nil, fmt.Errorf("runner: unknown method %q", opts.Method)
	}
	switch {
	case r.hier == nil:
		r.method = MethodProcessGroup
	case r.hier.v2:
		r.method = MethodCgroupV2
	default:
		r.method = MethodCgroupV1Freezer
	}
	if err := r.setupIsolation(opts); err != nil {
		return nil, err
	}
	if r.isolation == IsolationNamespaces {
		r.spares.enable()
		// A runner dropped without Close does not leave its spare behind.
		runtime.AddCleanup(r, func(s *spares) { s.close() }, r.spares)
	}
	attrs := []any{"method", r.method, "isolation", r.isolation, "bash", bash, "pidfdReaping", reaper.usesPidfds()}
	if r.jobUser != nil {
		attrs = append(attrs, "jobUID", r.jobUser.UID, "jobGID", r.jobUser.GID)
	}
	if r.hier != nil {
		attrs = append(attrs, "cgroupParent", r.hier.parent, "cgroupKill", r.hier.hasKill)
	}
	log.Info("runner: ready", attrs...)
	return r, nil
}

// Method returns the containment method in use: "cgroup-v2",
// "cgroup-v1-freezer" or "process-group".
func (r *Runner) Method() string { return r.method }

// Close releases what the runner keeps for trees it has not started yet (a
// job init helper started ahead) and removes the scope's cgroup directory
// if no tree uses it; trees that run carry on. Start must not be called
// after Close.
func (r *Runner) Close() {
	r.spares.close()
	r.removeScope()
}

func findBash() (string, error) {
	if st, err := os.Stat("/bin/bash"); err == nil && st.Mode()&0o111 != 0 {
		return "/bin/bash", nil
	}
	p, err := exec.LookPath("bash")
	if err != nil {
		return "", fmt.Errorf("runner: bash not found: %w", err)
	}
	return filepath.Abs(p)
}

// probe checks that a hierarchy is usable: its parent directory can be
// created, a process can be born in a child cgroup, which reports the
// process where expected, and the cgroup freezes, thaws and is removed.
func (r *Runner) probe(v2 bool, root string) (*cgroupHier, error) {
	var h *cgroupHier
	var err error
	if root != "" {
		if !filepath.IsAbs(root) {
			return nil, fmt.Errorf("runner: CgroupRoot %q is not absolute", root)
		}
		h, err = findHier(filepath.Clean(root), v2)
	} else {
		h, err = defaultHier(v2)
	}
	if err != nil {
		return nil, err
	}
	if r.scope != "" {
		h.parent = filepath.Join(h.parent, r.scope)
	}
	if err := os.MkdirAll(h.parent, 0o755); err != nil {
		return nil, err
	}
	removeStaleProbes(h.parent)
	c := h.tree(fmt.Sprintf(".probe-%d-%d", os.Getpid(), probeSeq.Add(1)))
	if err := os.Mkdir(c.dir, 0o755); err != nil {
		return nil, err
	}
	defer c.remove()
	if v2 {
		if _, err := os.Stat(filepath.Join(c.dir, "cgroup.freeze")); err != nil {
			return nil, fmt.Errorf("runner: cgroup2 without cgroup.freeze: %w", err)
		}
		_, err := os.Stat(filepath.Join(c.dir, "cgroup.kill"))
		h.hasKill = err == nil
	}
	cmd := exec.Command(r.bash, "-c", "read -r _")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := startIn(cmd, c, nil, r.log); err != nil {
		stdin.Close()
		return nil, fmt.Errorf("runner: starting a process in %s: %w", c.dir, err)
	}
	pid := cmd.Process.Pid
	defer func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
		reaper.waited(pid)
	}()
	got, err := cgroupOf(pid, !v2)
	if err != nil {
		return nil, err
	}
	if got != c.rel {
		return nil, fmt.Errorf("runner: probe process is in cgroup %q, expected %q", got, c.rel)
	}
	if err := c.freeze(true); err != nil {
		c.freeze(false)
		return nil, err
	}
	if err := c.freeze(false); err != nil {
		return nil, err
	}
	return h, nil
}

// removeStaleProbes removes probe cgroups left by servers that died while
// probing (a probe cgroup is named .probe-<server PID>-<n>).
func removeStaleProbes(parent string) {
	ents, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), ".probe-")
		if !ok || !e.IsDir() {
			continue
		}
		pid, _, _ := strings.Cut(rest, "-")
		if _, err := os.Stat("/proc/" + pid); err == nil {
			continue // its server may still be probing
		}
		unix.Rmdir(filepath.Join(parent, e.Name()))
	}
}

// startIn starts cmd (through the reaper, see reaperT.start) so that the
// child is born in cgroup c; c == nil starts it where the server is.
//
// cgroup v2 uses clone3(CLONE_INTO_CGROUP) (kernel 5.7+; the probe in New
// rejects a cgroup2 hierarchy where it fails). A cgroup v1 hierarchy lets a
// single thread change cgroup, so for v1 the fork happens on a dedicated OS
// thread that is moved into c first; the child inherits the thread's cgroup
// at fork, before it runs any code. The thread is moved back afterwards and
// then discarded (its goroutine exits while locked to it); the Go runtime
// never clones new threads from a locked thread, so no runtime thread ends
// up in c.
func startIn(cmd *exec.Cmd, c *treeCgroup, registered func(pid int), log *slog.Logger) error {
	if c == nil {
		return reaper.start(cmd, registered)
	}
	if c.h.v2 {
		fd, err := unix.Open(c.dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		attr := &syscall.SysProcAttr{}
		if cmd.SysProcAttr != nil {
			*attr = *cmd.SysProcAttr
		}
		attr.UseCgroupFD = true
		attr.CgroupFD = fd
		cmd.SysProcAttr = attr
		return reaper.start(cmd, registered)
	}
	var err error
	onSpareThread(func() {
		tid := unix.Gettid()
		taskFile := "/proc/self/task/" + strconv.Itoa(tid) + "/cgroup"
		orig, e := cgroupIn(taskFile, true)
		if e != nil {
			err = e
			return
		}
		if e := writeFile(filepath.Join(c.dir, "tasks"), strconv.Itoa(tid)); e != nil {
			err = fmt.Errorf("runner: moving thread into %s: %w", c.dir, e)
			return
		}
		err = reaper.start(cmd, registered)
		back := c.h.mount
		if underPath(orig, c.h.mountRoot) {
			back = filepath.Join(c.h.mount, strings.TrimPrefix(orig, c.h.mountRoot))
		}
		if e := writeFile(filepath.Join(back, "tasks"), strconv.Itoa(tid)); e != nil {
			log.Warn("runner: moving thread back out of a tree cgroup", "cgroup", c.dir, "err", e)
		}
	})
	return err
}

// onSpareThread runs f on a goroutine locked to an OS thread that is not
// the process's main thread, and lets the runtime destroy that thread
// afterwards.
func onSpareThread(f func()) {
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() == unix.Getpid() {
			// The main thread is never destroyed; keep it occupied so
			// that the nested goroutine gets another one.
			onSpareThread(f)
			runtime.UnlockOSThread()
			close(done)
			return
		}
		f()
		close(done)
		// Returning while locked makes the runtime exit this thread.
	}()
	<-done
}

// Process is a running (or finished) tree started by Runner.Start.
type Process struct {
	r       *Runner
	id      string
	cmd     *exec.Cmd
	pid     int         // the main shell, or the job init helper when isolated in namespaces
	helper  *initLink   // nil unless isolated in namespaces
	cg      *treeCgroup // nil for the process-group method
	handle  Handle
	started time.Time
	out     *output

	mu       sync.Mutex  // serializes signalling the tree; guards the fields below
	members  *membership // scan-based membership (all methods)
	gone     bool        // no process of the tree is alive any more
	killErr  error
	termSent bool

	stateMu      sync.Mutex
	mainExited   bool
	terminated   bool
	termDeadline time.Time

	killOnce sync.Once
	killNow  chan struct{} // closed by Kill: cut any grace period short
	done     chan struct{} // closed when result is final
	result   Result
}

// Start starts spec.Script as a new tree and returns at once; the tree runs
// until it ends by itself or is terminated. Start fails if the ID is
// invalid or already used by a running tree, if a cgroup for the ID is left
// over from a previous life (Reap it first), or if the shell cannot be
// started (for example, spec.Dir does not exist), or if spec.User is set
// and the server is not root.
func (r *Runner) Start(spec Spec) (*Process, error) {
	if err := validateID(spec.ID); err != nil {
		return nil, err
	}
	if _, err := r.treeUser(spec); err != nil {
		return nil, err
	}
	return r.start(spec)
}

// start is Start without the check of the ID, which probes use to take
// names no tree can have.
func (r *Runner) start(spec Spec) (*Process, error) {
	p := &Process{
		r:       r,
		id:      spec.ID,
		killNow: make(chan struct{}),
		done:    make(chan struct{}),
	}
	if r.hier != nil {
		p.cg = r.hier.tree(spec.ID)
	}
	info := &treeInfo{id: spec.ID, pid: -1, cg: p.cg}
	if err := reaper.addTree(info); err != nil {
		return nil, err
	}
	if p.cg != nil {
		os.MkdirAll(r.hier.parent, 0o755)
		if err := os.Mkdir(p.cg.dir, 0o755); err != nil {
			reaper.removeTree(spec.ID)
			if errors.Is(err, fs.ErrExist) {
				return nil, fmt.Errorf("runner: cgroup %s already exists (a tree of a previous life? Reap it): %w", p.cg.dir, err)
			}
			return nil, fmt.Errorf("runner: creating cgroup: %w", err)
		}
	}
	fail := func(err error, files ...*os.File) (*Process, error) {
		for _, f := range files {
			f.Close()
		}
		if p.cg != nil {
			p.cg.killAll(time.Now().Add(time.Second))
			p.cg.remove()
		}
		reaper.removeTree(spec.ID)
		return nil, err
	}
	stdoutR, stdoutW, err := os.Pipe()
	if err != nil {
		return fail(err)
	}
	stderrR, stderrW, err := os.Pipe()
	if err != nil {
		return fail(err, stdoutR, stdoutW)
	}
	env := treeEnv(spec.Env, spec.ID, r.scope)
	p.started = time.Now()
	if r.isolation == IsolationNamespaces {
		err = r.startIsolated(p, spec, env, info, stdoutW, stderrW)
	} else {
		user, _ := r.treeUser(spec)
		p.cmd = &exec.Cmd{
			Path:        r.bash,
			Args:        []string{r.bash, "-e", "-c", "--", spec.Script},
			Dir:         spec.Dir,
			Env:         env,
			Stdout:      stdoutW,
			Stderr:      stderrW,
			SysProcAttr: &syscall.SysProcAttr{Setsid: true, Credential: jobCredential(user)},
		}
		if err = startIn(p.cmd, p.cg, func(pid int) { info.pid = pid }, r.log); err != nil {
			err = fmt.Errorf("runner: starting bash: %w", err)
		}
	}
	stdoutW.Close()
	stderrW.Close()
	if err != nil {
		return fail(err, stdoutR, stderrR)
	}
	p.pid = p.cmd.Process.Pid
	st, err := readStat(p.pid)
	if err != nil {
		if p.helper != nil {
			p.helper.discard()
		} else {
			p.cmd.Process.Kill()
			p.cmd.Wait()
			reaper.waited(p.pid)
		}
		return fail(fmt.Errorf("runner: reading the start time of the tree's first process: %w", err), stdoutR, stderrR)
	}
	p.handle = Handle{
		ID:        spec.ID,
		Method:    r.method,
		PID:       p.pid,
		PGID:      p.pid,
		StartTime: st.start,
		BootID:    r.boot,
	}
	if p.cg != nil {
		p.handle.Cgroup = p.cg.dir
	}
	p.members = &membership{id: spec.ID, minStart: st.start, session: p.pid, seen: make(map[procKey]struct{}),
		waitUnsure: p.cg == nil && p.helper == nil}
	if !reaper.usesPidfds() {
		p.members.found = func(sts []procStat) { reaper.remember(spec.ID, sts) }
	}
	p.out = newOutput(spec.OnLine, stdoutR, stderrR)
	r.log.Debug("runner: started", "id", spec.ID, "pid", p.pid, "method", r.method, "isolation", r.isolation)
	if p.helper != nil {
		go onSpareThread(p.helper.follow) // its reads block a thread for the tree's life: a spare one, destroyed after
	}
	go p.supervise()
	return p, nil
}

// Handle returns the description of the tree to persist for Reap.
func (p *Process) Handle() Handle { return p.handle }

// Wait blocks until the main shell exited, every other process of the tree
// is gone and all output was delivered to OnLine, and returns the result.
// It may be called any number of times, concurrently.
func (p *Process) Wait() Result {
	<-p.done
	return p.result
}

// Terminate sends SIGTERM to every process of the tree (the tree is frozen,
// or its processes stopped, while they are signalled, so nothing forks in
// between), waits up to grace for the tree to be gone, then SIGKILLs
// whatever is left until nothing is. grace <= 0 means Options.Grace. It
// returns once no process of the tree is alive. It is safe to call many
// times and concurrently with Wait and Kill; SIGTERM is sent only once and
// the earliest deadline wins.
func (p *Process) Terminate(grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	if grace <= 0 {
		grace = p.r.grace
	}
	deadline := time.Now().Add(grace)
	p.stateMu.Lock()
	if !p.mainExited {
		p.terminated = true
	}
	if p.termDeadline.IsZero() || deadline.Before(p.termDeadline) {
		p.termDeadline = deadline
	}
	deadline = p.termDeadline
	p.stateMu.Unlock()
	p.signalTree(unix.SIGTERM)
	p.awaitGone(deadline)
	p.killAll()
}

// Kill SIGKILLs every process of the tree at once and returns once no
// process of the tree is alive. It is safe to call many times and
// concurrently with Wait and Terminate.
func (p *Process) Kill() {
	select {
	case <-p.done:
		return
	default:
	}
	p.stateMu.Lock()
	if !p.mainExited {
		p.terminated = true
	}
	p.stateMu.Unlock()
	p.killOnce.Do(func() { close(p.killNow) })
	p.killAll()
}

// supervise drives the tree from the main shell's exit to the final Result.
func (p *Process) supervise() {
	var errs []error
	if p.helper != nil {
		<-p.helper.exited
	} else {
		// The wait blocks an OS thread for the tree's whole life: a spare
		// one, destroyed afterwards, so that a burst of trees does not
		// leave the server holding a thread (and its memory) for each.
		var err error
		onSpareThread(func() { err = waitExited(p.pid) })
		if err != nil {
			errs = append(errs, fmt.Errorf("runner: waiting for the main shell: %w", err))
		}
	}
	p.stateMu.Lock()
	p.mainExited = true
	deadline := p.termDeadline
	p.stateMu.Unlock()
	// The main shell is a zombie now and keeps its PID, so the session and
	// process group ID cannot be reused while the rest is killed.
	if !deadline.IsZero() {
		p.awaitGone(deadline)
	}
	if err := p.killAll(); err != nil {
		errs = append(errs, err)
	}
	reaper.pass()
	werr := p.cmd.Wait()
	reaper.waited(p.pid)
	if p.helper != nil {
		<-p.helper.gone
		p.helper.close()
	}
	p.out.drain(drainIdle, drainMax)
	if p.cg != nil {
		if err := p.cg.remove(); err != nil {
			errs = append(errs, err)
		}
	}
	reaper.removeTree(p.id)

	res := Result{Started: p.started}
	if ps := p.cmd.ProcessState; ps != nil {
		ws := ps.Sys().(syscall.WaitStatus)
		if p.helper != nil {
			ws = p.helper.mainStatus()
		}
		switch {
		case ws.Exited():
			res.ExitCode = ws.ExitStatus()
		case ws.Signaled():
			res.ExitCode = 128 + int(ws.Signal())
			res.Signal = unix.SignalName(ws.Signal())
		}
	} else if werr != nil {
		errs = append(errs, werr)
	}
	p.stateMu.Lock()
	res.Terminated = p.terminated
	p.stateMu.Unlock()
	res.Err = errors.Join(errs...)
	res.Ended = time.Now()
	p.result = res
	p.r.log.Debug("runner: finished", "id", p.id, "exitCode", res.ExitCode, "signal", res.Signal, "terminated", res.Terminated, "err", res.Err)
	close(p.done)
}

// waitExited blocks until pid has exited, without collecting it.
func waitExited(pid int) error {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			return err
		}
	}
}

// signalTree delivers sig once to every process of the tree, all of them
// frozen or stopped meanwhile.
func (p *Process) signalTree(sig unix.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gone || p.termSent {
		return
	}
	p.termSent = true
	p.rememberMembers()
	var skip func(procStat) bool
	if p.cg != nil {
		p.cg.signalAll(sig)
		skip = p.cg.isMember
	}
	p.members.signalMembers(sig, skip)
}

// rememberMembers lets the reaper, when it cannot rely on pidfds, learn the
// tree's processes while they are alive, so that it can collect them once
// they are zombie orphans: a zombie no longer shows its environment, nor,
// under cgroup v1, its cgroup. (membership.scan reports every member it
// finds to the reaper in that case.) Must be called with p.mu held.
func (p *Process) rememberMembers() {
	if p.members.found != nil {
		p.members.scan()
	}
}

// empty reports whether no process of the tree is alive, not counting a
// job init helper that waits for the rest of its namespace to end. Must be
// called with p.mu held.
func (p *Process) empty() bool {
	if p.gone {
		return true
	}
	if p.helper != nil {
		select {
		case <-p.helper.gone:
			return true
		default:
			return false
		}
	}
	if p.cg != nil && !p.cg.empty() {
		return false
	}
	m, err := p.members.scan()
	return err == nil && len(m) == 0
}

// awaitGone waits until the tree is gone, the deadline passes or Kill is
// called.
func (p *Process) awaitGone(deadline time.Time) {
	t := time.NewTicker(pollStep)
	defer t.Stop()
	var helperGone chan struct{}
	if p.helper != nil {
		helperGone = p.helper.gone
	}
	for {
		p.mu.Lock()
		empty := p.empty()
		p.mu.Unlock()
		if empty || !time.Now().Before(deadline) {
			return
		}
		select {
		case <-p.killNow:
			return
		case <-helperGone:
		case <-t.C:
		}
	}
}

// killAll SIGKILLs every process of the tree until none is alive (or
// killTimeout passes) and remembers that the tree is gone.
func (p *Process) killAll() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gone {
		return p.killErr
	}
	p.rememberMembers()
	deadline := time.Now().Add(killTimeout)
	var err error
	settled := false
	for {
		if p.cg != nil {
			if err = p.cg.killAll(deadline); err != nil {
				break
			}
		} else {
			// The main shell is not collected before the tree is gone,
			// so its process group ID still denotes this tree.
			unix.Kill(-p.pid, unix.SIGKILL)
		}
		killed, serr := p.members.stopAndKill()
		if serr != nil {
			err = serr
			break
		}
		if len(killed) == 0 && (p.cg == nil || p.cg.empty()) {
			if p.cg != nil || p.helper != nil || settled {
				break
			}
			// Only scans find this tree's processes: one that a member
			// was creating as it died can show up a moment after the
			// last scan, so one more scan follows a short pause.
			settled = true
			time.Sleep(settleFor)
			continue
		}
		if time.Now().After(deadline) {
			err = fmt.Errorf("runner: tree %s: %d processes survived SIGKILL for %s", p.id, len(killed), killTimeout)
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err == nil && p.helper != nil {
		// The helper is outside the tree's cgroup; whatever of the
		// namespace the scans could not find dies with it, and it is gone
		// once the helper has exited.
		unix.PidfdSendSignal(p.helper.pidfd, unix.SIGKILL, nil, 0)
		err = p.helper.awaitExit(deadline)
	}
	if err != nil {
		p.r.log.Warn("runner: tree not fully killed", "id", p.id, "err", err)
	}
	p.gone = true
	p.killErr = err
	return err
}

// reapTimeout bounds Reap.
const reapTimeout = 30 * time.Second

// Reap SIGKILLs whatever is left of the tree h describes, typically one
// started by a previous life of the server, and removes its cgroup. It
// finds the processes through the recorded cgroup, and through the scan of
// the process-group method: processes carrying the tree's marker, their
// descendants, and, only while the recorded main shell still exists with
// the recorded start time, its session and process group. A process is
// signalled only through a pidfd after its start time (or cgroup) was
// checked, so a process that reused a recorded PID is never killed. Reap is
// idempotent; a Handle from before the last reboot needs nothing killed.
func (r *Runner) Reap(h Handle) error {
	if err := validateID(h.ID); err != nil {
		return err
	}
	if h.BootID != "" && r.boot != "" && h.BootID != r.boot {
		return nil
	}
	deadline := time.Now().Add(reapTimeout)
	var errs []error
	if h.Cgroup != "" {
		c, err := treeCgroupAt(h.Cgroup, h.ID)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			errs = append(errs, err)
		default:
			if err := c.killAll(deadline); err != nil {
				errs = append(errs, err)
			} else if err := c.remove(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	m := &membership{id: h.ID, minStart: h.StartTime, seen: make(map[procKey]struct{})}
	if h.PID > 0 && h.PGID == h.PID {
		if st, err := readStat(h.PID); err == nil && st.start == h.StartTime && st.sid == h.PID {
			m.session = h.PID
		}
	}
	var all []procStat
	for {
		killed, err := m.stopAndKill()
		if err != nil {
			errs = append(errs, err)
			break
		}
		all = append(all, killed...)
		if len(killed) == 0 {
			break
		}
		if time.Now().After(deadline) {
			errs = append(errs, fmt.Errorf("runner: reaping tree %s: %d processes survived SIGKILL", h.ID, len(killed)))
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	reaper.collect(all)
	if len(all) > 0 {
		r.log.Info("runner: reaped leftover processes", "id", h.ID, "count", len(all))
	}
	return errors.Join(errs...)
}

// settleFor is how long a kill of a tree that only scans find (no cgroup,
// no PID namespace) waits before its last scan.
const settleFor = 20 * time.Millisecond
