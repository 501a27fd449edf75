package runner

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// errHelperGone is returned by handshake when the helper ended before it
// read a spec: a spare that died while it waited.
var errHelperGone = errors.New("runner: the job init helper ended before it took the spec")

// initLink is the runner's side of a job init helper (see
// jobinit_linux.go): the socket that carries the spec and the tree's
// output descriptors to the helper and its status lines back, and what
// those lines said.
type initLink struct {
	cmd   *exec.Cmd
	pid   int
	ctl   ctlSocket // the runner's end of the control socket
	lines *bufio.Reader
	pidfd int // pins the helper from its start until it was collected

	exited chan struct{} // closed once the main shell's end is known
	gone   chan struct{} // closed once the helper exited: the namespace is empty

	mu       sync.Mutex
	known    bool               // the helper reported how the main shell ended
	waitStat syscall.WaitStatus // valid when known
}

// spawnHelper starts a job init helper with attr (namespaceAttr: in new
// namespaces), outside any tree's cgroup, with an environment of
// jobInitEnv alone and /dev/null for stdin, stdout and stderr. It waits there for a spec (see
// handshake).
// jobInitEnv is the job init helper's whole environment: nothing of the
// server's, but not empty, so that a scan of processes can tell the
// helper from a process in the middle of an exec (see readEnviron).
const jobInitEnv = "PIPEWRIGHT_JOB_INIT=1"

func spawnHelper(attr *syscall.SysProcAttr) (*initLink, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("runner: socketpair: %w", err)
	}
	ctl, child := ctlSocket(fds[0]), os.NewFile(uintptr(fds[1]), "job-init-child")
	defer child.Close()
	l := &initLink{ctl: ctl, lines: bufio.NewReader(ctl), pidfd: -1, exited: make(chan struct{}), gone: make(chan struct{})}
	l.cmd = &exec.Cmd{
		Path:        "/proc/self/exe",
		Args:        []string{jobInitName},
		Dir:         "/",
		Env:         []string{jobInitEnv},
		ExtraFiles:  []*os.File{child},
		SysProcAttr: attr,
	}
	if err := reaper.start(l.cmd, nil); err != nil {
		ctl.Close()
		return nil, fmt.Errorf("runner: starting the job init helper: %w", err)
	}
	l.pid = l.cmd.Process.Pid
	if l.pidfd, err = unix.PidfdOpen(l.pid, 0); err != nil {
		l.discard()
		return nil, fmt.Errorf("runner: pidfd of the job init helper: %w", err)
	}
	return l, nil
}

// namespaceAttr returns the process attributes that start the helper in
// new mount and PID namespaces, plus a user namespace when the server is
// not root. The helper maps that namespace itself (see initSpec.MapUser):
// the server cannot write the maps of a child that, like itself, is not
// dumpable. Being the server's user, not root, inside it, the helper keeps
// across exec only the capabilities raised as ambient: those to mount and
// to empty the bounding set.
func namespaceAttr() *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{
		Setsid:     true,
		Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID,
	}
	if os.Geteuid() != 0 {
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.AmbientCaps = []uintptr{unix.CAP_SYS_ADMIN, unix.CAP_SETPCAP}
	}
	return attr
}

// handshake sends the spec, the tree's stdout and stderr and, under
// cgroup v2, a descriptor of the tree's cgroup (cgroupFD, -1 for none) to
// the helper, and waits for it to report that the main shell runs. On an
// error the caller discards the helper.
func (l *initLink) handshake(spec *initSpec, stdout, stderr *os.File, cgroupFD int) error {
	body, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	var head [8]byte
	binary.BigEndian.PutUint64(head[:], uint64(len(body)))
	fds := []int{int(stdout.Fd()), int(stderr.Fd())}
	if cgroupFD >= 0 {
		fds = append(fds, cgroupFD)
	}
	serr := unix.Sendmsg(int(l.ctl), head[:], unix.UnixRights(fds...), nil, 0)
	if serr == nil {
		_, serr = l.ctl.Write(body)
	}
	line, rerr := l.lines.ReadString('\n')
	line = strings.TrimSuffix(line, "\n")
	switch {
	case line == initStatusOK:
		return nil
	case strings.HasPrefix(line, initStatusError+" "):
		return errors.New(strings.TrimPrefix(line, initStatusError+" "))
	case line == "" && rerr != nil:
		return errHelperGone
	case serr != nil:
		return fmt.Errorf("runner: sending the spec to the job init helper: %w", serr)
	default:
		return fmt.Errorf("runner: the job init helper ended before starting the shell (%q, %v)", line, rerr)
	}
}

// follow reads the helper's remaining status lines until it exits; run it
// on its own goroutine once handshake succeeded.
func (l *initLink) follow() {
	for {
		line, err := l.lines.ReadString('\n')
		if kind, num, ok := strings.Cut(strings.TrimSuffix(line, "\n"), " "); ok {
			if n, perr := strconv.Atoi(num); perr == nil && (kind == initStatusExit || kind == initStatusSignal) {
				l.mu.Lock()
				if !l.known {
					l.known = true
					l.waitStat = syscall.WaitStatus(n << 8)
					if kind == initStatusSignal {
						l.waitStat = syscall.WaitStatus(n)
					}
					close(l.exited)
				}
				l.mu.Unlock()
			}
		}
		if err != nil {
			break
		}
	}
	l.ctl.Close()
	l.mu.Lock()
	if !l.known {
		close(l.exited)
	}
	l.mu.Unlock()
	close(l.gone)
}

// mainStatus returns how the main shell ended. When the helper died before
// it could tell (it was killed with the rest of the tree), the main shell
// was killed by SIGKILL too.
func (l *initLink) mainStatus() syscall.WaitStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.known {
		return syscall.WaitStatus(syscall.SIGKILL)
	}
	return l.waitStat
}

// awaitExit waits until the helper has exited, which the kernel lets
// happen only once every other process of its PID namespace is gone, or
// until the deadline.
func (l *initLink) awaitExit(deadline time.Time) error {
	for {
		ms := int(time.Until(deadline) / time.Millisecond)
		if ms < 0 {
			return errors.New("runner: the job init helper did not exit")
		}
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(l.pidfd), Events: unix.POLLIN}}, ms)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("runner: waiting for the job init helper: %w", err)
		}
		if n > 0 {
			return nil
		}
	}
}

// discard kills and collects a helper that runs no tree, and releases its
// descriptors.
func (l *initLink) discard() {
	l.cmd.Process.Kill()
	l.cmd.Wait()
	reaper.waited(l.pid)
	l.ctl.Close()
	l.close()
}

// ctlSocket is the runner's end of a control socket: a bare descriptor, so
// that no finalizer closes it (and ends a spare helper) behind the
// runner's back.
type ctlSocket int

func (c ctlSocket) Read(b []byte) (int, error) {
	for {
		n, err := unix.Read(int(c), b)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return 0, err
		case n == 0 && len(b) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

func (c ctlSocket) Write(b []byte) (int, error) {
	written := 0
	for written < len(b) {
		n, err := unix.Write(int(c), b[written:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return written, err
		}
		written += n
	}
	return written, nil
}

func (c ctlSocket) Close() error { return unix.Close(int(c)) }

// close releases the pinned pidfd once the helper was collected.
func (l *initLink) close() {
	if l.pidfd >= 0 {
		unix.Close(l.pidfd)
		l.pidfd = -1
	}
}
