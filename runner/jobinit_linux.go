package runner

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// jobInitName is argv[0] of the job init helper: the runner starts
// /proc/self/exe under this name as the first process of an isolated tree,
// and this package's init function recognises it (see the package doc).
const jobInitName = "pipewright-job-init"

func init() {
	if len(os.Args) > 0 && os.Args[0] == jobInitName {
		// syscall.Exit, not os.Exit: nothing of the program is to run at
		// exit (a race-enabled build would sleep there for a second).
		syscall.Exit(jobInit())
	}
}

// jobInit is the helper's whole life. It runs as PID 1 of the tree's new
// PID namespace, in the tree's new mount namespace, started before the
// tree it will run is known (see spares): it waits for the spec, covers
// and keeps the directories, mounts a procfs of its namespace on /proc,
// starts the main shell as the job user in the tree's cgroup, reaps every
// process of the namespace and reports how the main shell ended. It
// returns the helper's exit status. The helper itself is not in the tree's
// cgroup; it runs no code of the tree.
//
// The helper itself stays the server's user (root, when there is a job
// user): the job user can then neither signal nor trace it, and only the
// main shell's child pays for the change of user, single-threaded, instead
// of every thread of the helper.
func jobInit() int {
	syscall.CloseOnExec(initCtlFD)
	status := os.NewFile(initCtlFD, "ctl")
	signalsKept := make(chan struct{})
	go func() {
		keepSignalsAway()
		close(signalsKept)
	}()
	fail := func(format string, args ...any) int {
		msg := strings.ReplaceAll(fmt.Sprintf(format, args...), "\n", " ")
		fmt.Fprintf(status, "%s %s\n", initStatusError, msg)
		return 1
	}
	spec, fds, err := receiveSpec(status)
	if err == io.EOF {
		return 0
	}
	if err != nil {
		return fail("reading the tree's spec: %v", err)
	}
	if err := checkNamespaces(spec.ServerMountNS); err != nil {
		return fail("%v", err)
	}
	if u := spec.MapUser; u != nil {
		if err := mapUser(*u); err != nil {
			return fail("mapping uid %d gid %d into the user namespace: %v", u.UID, u.GID, err)
		}
	}
	// From here on nothing of the tree may read the helper's memory or
	// descriptors, or trace it. (Until here no other process runs in its
	// namespaces; a helper that is not dumpable could not write its maps.)
	unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	if err := isolateMounts(spec.Cover, spec.Keep); err != nil {
		return fail("%v", err)
	}
	<-signalsKept
	// The thread the main shell is forked from passes on its bounding set,
	// no_new_privs and, under cgroup v1, its cgroup: a thread of its own,
	// discarded afterwards, under v1; this one, locked, otherwise.
	var pid int
	if spec.CgroupV1 != "" {
		onSpareThread(func() { pid, err = startMainShell(&spec, fds) })
	} else {
		runtime.LockOSThread()
		pid, err = startMainShell(&spec, fds)
	}
	if err != nil {
		return fail("%v", err)
	}
	if _, err := fmt.Fprintln(status, initStatusOK); err != nil {
		return 0
	}
	return reapNamespace(pid, status)
}

// startMainShell forks and execs bash with the tree's stdout and stderr,
// in the tree's cgroup, as the job user, from the calling thread, which
// must be locked: its bounding set, no_new_privs and, under cgroup v1,
// cgroup are what the main shell inherits.
func startMainShell(spec *initSpec, fds []int) (int, error) {
	if spec.Unprivileged {
		if err := renouncePrivileges(); err != nil {
			return 0, err
		}
	}
	attr := &syscall.SysProcAttr{}
	if u := spec.User; u != nil {
		attr.Credential = &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: []uint32{}}
	}
	if len(fds) > 2 {
		attr.UseCgroupFD, attr.CgroupFD = true, fds[2]
	}
	if spec.CgroupV1 != "" {
		if err := writeFile(filepath.Join(spec.CgroupV1, "tasks"), strconv.Itoa(unix.Gettid())); err != nil {
			return 0, fmt.Errorf("moving into the tree's cgroup: %w", err)
		}
	}
	pid, err := syscall.ForkExec(spec.Bash, []string{spec.Bash, "-e", "-c", "--", spec.Script}, &syscall.ProcAttr{
		Dir:   spec.Dir,
		Env:   spec.Env,
		Files: []uintptr{0, uintptr(fds[0]), uintptr(fds[1])},
		Sys:   attr,
	})
	if err != nil {
		return 0, fmt.Errorf("starting bash: %w", err)
	}
	return pid, nil
}

// receiveSpec reads the spec and its descriptors (see initCtlFD); io.EOF
// means the runner closed the socket before sending one.
func receiveSpec(ctl *os.File) (spec initSpec, fds []int, err error) {
	var head [8]byte
	oob := make([]byte, unix.CmsgSpace(3*4))
	n, oobn, _, _, err := unix.Recvmsg(initCtlFD, head[:], oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return spec, nil, err
	}
	if n == 0 {
		return spec, nil, io.EOF
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return spec, nil, fmt.Errorf("no descriptors with the spec (%v)", err)
	}
	if fds, err = unix.ParseUnixRights(&msgs[0]); err != nil || len(fds) < 2 {
		return spec, nil, fmt.Errorf("want the tree's stdout and stderr, got %d descriptors (%v)", len(fds), err)
	}
	if _, err := io.ReadFull(ctl, head[n:]); err != nil {
		return spec, nil, err
	}
	body := make([]byte, binary.BigEndian.Uint64(head[:]))
	if _, err := io.ReadFull(ctl, body); err != nil {
		return spec, nil, err
	}
	err = json.Unmarshal(body, &spec)
	return spec, fds, err
}

// fatalSignals are the signals that end or crash a Go program when they
// are sent to it (by kill) and it has not asked for them.
var fatalSignals = []os.Signal{
	unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGILL, unix.SIGTRAP, unix.SIGABRT,
	unix.SIGBUS, unix.SIGFPE, unix.SIGSEGV, unix.SIGSTKFLT, unix.SIGTERM, unix.SIGSYS,
}

// keepSignalsAway makes the helper survive every signal but SIGKILL: the
// runner's SIGTERM to the whole tree, and whatever the tree sends it. The
// fatal ones get a handler that drops them; the Go runtime drops the
// others. (A namespace's init gets a signal from inside only if it has a
// handler for it; SIGKILL from the runner still ends it.) Signals the
// helper was started with ignored stay ignored, so that the main shell
// inherits them as it did without a helper; the others are at their
// default in the main shell.
func keepSignalsAway() {
	var sigs []os.Signal
	for _, s := range fatalSignals {
		if !signal.Ignored(s) {
			sigs = append(sigs, s)
		}
	}
	c := make(chan os.Signal, 16)
	signal.Notify(c, sigs...)
	go func() {
		for range c {
		}
	}()
}

// mapUser maps u to itself in the helper's user namespace, with setgroups
// denied, as an unprivileged process may.
func mapUser(u Credential) error {
	for _, w := range []struct{ file, data string }{
		{"/proc/self/setgroups", "deny"},
		{"/proc/self/uid_map", fmt.Sprintf("%d %d 1", u.UID, u.UID)},
		{"/proc/self/gid_map", fmt.Sprintf("%d %d 1", u.GID, u.GID)},
	} {
		if err := os.WriteFile(w.file, []byte(w.data), 0); err != nil {
			return err
		}
	}
	return nil
}

// checkNamespaces makes sure the helper was started as it must be, in new
// PID and mount namespaces, before it changes any mount.
func checkNamespaces(serverMountNS string) error {
	if os.Getpid() != 1 {
		return fmt.Errorf("%s is PID %d, not the first process of a new PID namespace", jobInitName, os.Getpid())
	}
	own, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		return err
	}
	if serverMountNS == "" || own == serverMountNS {
		return fmt.Errorf("%s is not in a mount namespace of its own", jobInitName)
	}
	return nil
}

// isolateMounts makes the mount namespace the tree's own: mounts stop
// propagating to and from the host, each cover directory gets an empty
// tmpfs, each keep directory is bind-mounted back from a descriptor opened
// before the covers, the covers turn read-only, and /proc shows the PID
// namespace of the helper.
func isolateMounts(cover, keep []string) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making mounts private: %w", err)
	}
	fds := make([]int, len(keep))
	for i, k := range keep {
		fd, err := unix.Open(k, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("opening %s: %w", k, err)
		}
		defer unix.Close(fd)
		fds[i] = fd
	}
	const coverFlags = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	for _, c := range cover {
		if err := unix.Mount("tmpfs", c, "tmpfs", coverFlags, "mode=0755,size=64k,nr_inodes=1024"); err != nil {
			return fmt.Errorf("covering %s: %w", c, err)
		}
	}
	// The mount points are made 0755 whatever the umask the tree inherits.
	umask := unix.Umask(0o022)
	defer unix.Umask(umask)
	for i, k := range keep {
		if err := os.MkdirAll(k, 0o755); err != nil {
			return fmt.Errorf("making the mount point %s: %w", k, err)
		}
		if err := unix.Mount(fmt.Sprintf("/proc/self/fd/%d", fds[i]), k, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("mounting %s back: %w", k, err)
		}
	}
	for _, c := range cover {
		if err := unix.Mount("", c, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|coverFlags, ""); err != nil {
			return fmt.Errorf("making the cover of %s read-only: %w", c, err)
		}
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mounting /proc: %w", err)
	}
	return nil
}

// renouncePrivileges clears the calling thread's ambient capabilities,
// empties its capability bounding set and sets its no_new_privs, so that
// what it starts has no capability and never gains one or another user:
// neither from a setuid or setgid program nor from file capabilities.
func renouncePrivileges() error {
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clearing the ambient capabilities: %w", err)
	}
	for c := 0; ; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			if err == unix.EINVAL && c > 0 {
				break
			}
			return fmt.Errorf("dropping capability %d from the bounding set: %w", c, err)
		}
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("setting no_new_privs: %w", err)
	}
	return nil
}

// reapNamespace collects every process that ends in the namespace (the
// helper is their reaper, being its init), reports the main shell's end,
// and returns once nothing else is left. If the report cannot be written
// the server is gone, and the helper returns at once: its exit kills
// whatever the main shell left behind.
func reapNamespace(main int, status *os.File) int {
	reported := false
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			// ECHILD: the namespace holds nothing but the helper.
			return 0
		case pid != main || reported:
			continue
		}
		reported = true
		line := fmt.Sprintf("%s %d", initStatusExit, ws.ExitStatus())
		if ws.Signaled() {
			line = fmt.Sprintf("%s %d", initStatusSignal, int(ws.Signal()))
		}
		if _, err := fmt.Fprintln(status, line); err != nil {
			return 0
		}
	}
}
