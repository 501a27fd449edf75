package runner

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// initLink is the runner's side of a tree's job init helper (see
// jobinit_linux.go): the pipe that carries the spec to it, the pipe that
// carries its status lines back, and what those lines said.
type initLink struct {
	specR, specW *os.File // specR is the helper's end
	statR, statW *os.File // statW is the helper's end
	lines        *bufio.Reader
	pidfd        int // the helper, pinned once it started

	exited chan struct{} // closed once the main shell's end is known
	gone   chan struct{} // closed once the helper exited: the namespace is empty

	mu       sync.Mutex
	known    bool               // the helper reported how the main shell ended
	waitStat syscall.WaitStatus // valid when known
}

// newInitLink makes the pipes and returns the helper's command: bash's
// stdout and stderr are the tree's, its environment only the marker.
func newInitLink(id string, stdout, stderr *os.File) (*initLink, *exec.Cmd, error) {
	l := &initLink{pidfd: -1, exited: make(chan struct{}), gone: make(chan struct{})}
	var err error
	if l.specR, l.specW, err = os.Pipe(); err != nil {
		return nil, nil, err
	}
	if l.statR, l.statW, err = os.Pipe(); err != nil {
		l.specR.Close()
		l.specW.Close()
		return nil, nil, err
	}
	l.lines = bufio.NewReader(l.statR)
	cmd := &exec.Cmd{
		Path:        "/proc/self/exe",
		Args:        []string{jobInitName},
		Dir:         "/",
		Env:         initEnv(id),
		Stdout:      stdout,
		Stderr:      stderr,
		ExtraFiles:  []*os.File{l.specR, l.statW},
		SysProcAttr: namespaceAttr(),
	}
	return l, cmd, nil
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

// initEnv is the helper's whole environment: the tree's marker, so that
// scans find the helper as they find the rest of the tree.
func initEnv(id string) []string { return []string{MarkerEnv + "=" + id} }

// closeChildEnds closes the descriptors only the helper needs, once it
// started (or failed to).
func (l *initLink) closeChildEnds() {
	l.specR.Close()
	l.statW.Close()
}

// abandon closes the runner's ends, when the helper never started.
func (l *initLink) abandon() {
	l.specW.Close()
	l.statR.Close()
}

// handshake sends the spec to the started helper and waits for it to
// report that the main shell runs. On an error the caller kills and
// collects the helper, then calls abandon.
func (l *initLink) handshake(pid int, spec *initSpec) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return fmt.Errorf("runner: pidfd of the job init helper: %w", err)
	}
	l.pidfd = fd
	werr := json.NewEncoder(l.specW).Encode(spec)
	l.specW.Close()
	line, rerr := l.lines.ReadString('\n')
	line = strings.TrimSuffix(line, "\n")
	switch {
	case line == initStatusOK:
		return nil
	case strings.HasPrefix(line, initStatusError+" "):
		return errors.New(strings.TrimPrefix(line, initStatusError+" "))
	case werr != nil:
		return fmt.Errorf("runner: sending the spec to the job init helper: %w", werr)
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
	l.statR.Close()
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

// close releases the pinned pidfd once the helper was collected.
func (l *initLink) close() {
	if l.pidfd >= 0 {
		unix.Close(l.pidfd)
		l.pidfd = -1
	}
}
