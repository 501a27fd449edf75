package runner

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// procStat is the part of /proc/PID/stat the runner needs.
type procStat struct {
	pid, ppid, pgid, sid int
	state                byte
	start                uint64 // clock ticks since boot
}

// procKey identifies one process across PID reuse.
type procKey struct {
	pid   int
	start uint64
}

func (s procStat) key() procKey { return procKey{s.pid, s.start} }

// alive reports whether the process can still run code (it is neither a
// zombie nor dead).
func (s procStat) alive() bool { return s.state != 'Z' && s.state != 'X' && s.state != 'x' }

// readStat parses /proc/PID/stat.
func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	return parseStat(pid, b)
}

func parseStat(pid int, b []byte) (procStat, error) {
	// The command name (field 2) may contain anything, including ") ", so
	// the fields after it are found from the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 > len(b) {
		return procStat{}, fmt.Errorf("runner: malformed /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+2:]))
	// f[0] is field 3 (state); field n is f[n-3].
	if len(f) < 20 || len(f[0]) != 1 {
		return procStat{}, fmt.Errorf("runner: malformed /proc/%d/stat", pid)
	}
	s := procStat{pid: pid, state: f[0][0]}
	var errs [4]error
	s.ppid, errs[0] = strconv.Atoi(f[1])
	s.pgid, errs[1] = strconv.Atoi(f[2])
	s.sid, errs[2] = strconv.Atoi(f[3])
	s.start, errs[3] = strconv.ParseUint(f[19], 10, 64)
	if err := errors.Join(errs[:]...); err != nil {
		return procStat{}, fmt.Errorf("runner: malformed /proc/%d/stat: %w", pid, err)
	}
	return s, nil
}

// listPIDs returns the IDs of all processes (thread group leaders) visible
// in /proc.
func listPIDs() ([]int, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	pids := make([]int, 0, len(names))
	for _, n := range names {
		if n == "" || n[0] < '0' || n[0] > '9' {
			continue
		}
		if pid, err := strconv.Atoi(n); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// hasMarker reports whether the environment pid was exec'ed with contains
// exactly MarkerEnv=id. unsure is true when the environment could not be
// told: a user process shows none while it is in the middle of an exec.
func hasMarker(st procStat, id string) (has, unsure bool) {
	b, ok := readEnviron(st)
	if !ok {
		return false, true
	}
	want := MarkerEnv + "=" + id
	for _, e := range bytes.Split(b, []byte{0}) {
		if string(e) == want {
			return true, false
		}
	}
	return false, false
}

// readEnviron reads a process's environment. ok is false when a user process
// shows an empty one, as it does while it is between the two halves of an
// exec (a process exec'ed with no environment at all looks the same).
// Kernel threads have none and are reported as read.
func readEnviron(st procStat) (b []byte, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(st.pid) + "/environ")
	if err != nil {
		return nil, true
	}
	if len(b) == 0 && st.pid != 2 && st.ppid != 2 {
		return nil, false
	}
	return b, true
}

// cgroupOf returns pid's cgroup path (pid 0: the calling process) in the
// v2 hierarchy (v1 == false) or in the v1 hierarchy that has the freezer
// controller, as shown in /proc/PID/cgroup.
func cgroupOf(pid int, v1 bool) (string, error) {
	name := "/proc/self/cgroup"
	if pid != 0 {
		name = "/proc/" + strconv.Itoa(pid) + "/cgroup"
	}
	return cgroupIn(name, v1)
}

// cgroupIn parses a /proc/.../cgroup file; see cgroupOf.
func cgroupIn(name string, v1 bool) (string, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if !v1 && parts[0] == "0" && parts[1] == "" {
			return parts[2], nil
		}
		if v1 && parts[0] != "0" {
			for _, c := range strings.Split(parts[1], ",") {
				if c == "freezer" {
					return parts[2], nil
				}
			}
		}
	}
	return "", fmt.Errorf("runner: %s has no %s line", name, hierName(!v1))
}

// underPath reports whether path p is dir or inside it.
func underPath(p, dir string) bool {
	if dir == "/" {
		return strings.HasPrefix(p, "/")
	}
	return p == dir || strings.HasPrefix(p, dir+"/")
}

// signalVerified sends sig to pid if, after a pidfd pinned the process,
// verify still accepts it; a process that exited meanwhile, or whose PID was
// reused by another process, is therefore never signalled. It reports
// whether the signal was sent.
func signalVerified(pid int, sig unix.Signal, verify func(procStat) bool) bool {
	if pid <= 0 || pid == os.Getpid() {
		return false
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		if err == unix.ESRCH {
			return false
		}
		// No pidfd (no kernel support, or out of descriptors): verify then
		// kill, with the small race this implies.
		st, err := readStat(pid)
		if err != nil || !verify(st) {
			return false
		}
		return unix.Kill(pid, sig) == nil
	}
	defer unix.Close(fd)
	st, err := readStat(pid)
	if err != nil || !verify(st) {
		return false
	}
	return unix.PidfdSendSignal(fd, sig, nil, 0) == nil
}

// sameStart returns a verifier accepting only the process that started at
// start.
func sameStart(start uint64) func(procStat) bool {
	return func(s procStat) bool { return s.start == start }
}

// membership describes how a process-tree scan recognizes members.
type membership struct {
	id       string               // marker value
	minStart uint64               // no member started earlier
	session  int                  // session/process group ID of the tree, 0 if not usable
	seen     map[procKey]struct{} // members seen earlier (updated by scan)
	found    func([]procStat)     // if not nil, called with the result of every scan
	// waitUnsure makes a kill wait for orphans it cannot tell (see
	// scanSure): needed when only the scan finds the tree's processes, not
	// when a cgroup or a PID namespace holds them all.
	waitUnsure bool
}

// scan returns the living members of a tree (see the package doc), never
// including the calling process.
func (m *membership) scan() ([]procStat, error) {
	out, _, err := m.scanSure()
	return out, err
}

// scanSure is scan that also counts the candidates whose marker could not
// be told (see hasMarker); a rescan a moment later tells them.
func (m *membership) scanSure() (out []procStat, unsure int, err error) {
	pids, err := listPIDs()
	if err != nil {
		return nil, 0, err
	}
	self := os.Getpid()
	var cands []procStat
	for _, pid := range pids {
		if pid == self {
			continue
		}
		st, err := readStat(pid)
		if err != nil || !st.alive() || st.start < m.minStart {
			continue
		}
		cands = append(cands, st)
	}
	member := make(map[int]bool)
	for _, st := range cands {
		if m.session > 0 && (st.sid == m.session || st.pgid == m.session) {
			member[st.pid] = true
		} else if _, ok := m.seen[st.key()]; ok {
			member[st.pid] = true
		}
	}
	closure := func() {
		for changed := true; changed; {
			changed = false
			for _, st := range cands {
				if !member[st.pid] && member[st.ppid] {
					member[st.pid] = true
					changed = true
				}
			}
		}
	}
	closure()
	orphan := orphans(cands, self)
	for _, st := range cands {
		if member[st.pid] {
			continue
		}
		has, unknown := hasMarker(st, m.id)
		if has {
			member[st.pid] = true
		} else if unknown && m.waitUnsure && orphan(st) {
			unsure++
		}
	}
	closure()
	for _, st := range cands {
		if member[st.pid] {
			out = append(out, st)
			if m.seen != nil {
				m.seen[st.key()] = struct{}{}
			}
		}
	}
	if m.found != nil && len(out) > 0 {
		m.found(out)
	}
	return out, unsure, nil
}

// stopAndKill SIGSTOPs every member, rescanning until a scan finds no member
// that was not stopped yet (so a fork loop cannot outrun it), then SIGKILLs
// them all. It returns the members it killed.
func (m *membership) stopAndKill() ([]procStat, error) { return stopThenKill(m.scanSure) }

// orphans returns a test for the candidates whose parent is gone: a
// process that cannot be told (mid-exec) only matters to a scan when
// nothing but its marker can tie it to a tree, that is when its parent
// exited and it was reparented (to init, or to the calling process, a
// subreaper). A process whose parent lives is found through that parent.
func orphans(cands []procStat, self int) func(procStat) bool {
	exists := make(map[int]bool, len(cands))
	for _, st := range cands {
		exists[st.pid] = true
	}
	return func(st procStat) bool { return st.ppid <= 1 || st.ppid == self || !exists[st.ppid] }
}

// unsureFor bounds how long stopThenKill rescans for orphans whose marker
// could not be told: an exec ends well within it even on a loaded
// machine, and a process that really has no environment is then taken
// for what it is.
const unsureFor = time.Second

// stopThenKill SIGSTOPs every process scan finds, rescanning until a scan
// that began with every process it stopped stopped finds none that was
// not stopped yet and none that it could not tell (waiting at most
// unsureFor for the last two), then SIGKILLs them all and returns them.
//
// The scan that ends it must begin once everything stopped has stopped:
// a SIGSTOP takes effect when its process next returns to user space, so
// one in the middle of a fork stops only once the fork is done, and a
// child made during a scan can be missed by it (pids wrap around, and a
// directory listing of /proc only shows the pids after its cursor).
func stopThenKill(scan func() ([]procStat, int, error)) ([]procStat, error) {
	stopped := make(map[procKey]procStat)
	var unsureSince time.Time
	for round := 0; ; round++ {
		settled := allStopped(stopped)
		members, unsure, err := scan()
		if err != nil {
			return nil, err
		}
		fresh := 0
		for _, st := range members {
			if _, ok := stopped[st.key()]; ok {
				continue
			}
			fresh++
			stopped[st.key()] = st
			signalVerified(st.pid, unix.SIGSTOP, sameStart(st.start))
		}
		if fresh == 0 && unsure == 0 && settled || round >= 1000 {
			break
		}
		if fresh == 0 {
			if unsureSince.IsZero() {
				unsureSince = time.Now()
			}
			if time.Since(unsureSince) >= unsureFor {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	out := make([]procStat, 0, len(stopped))
	for _, st := range stopped {
		signalVerified(st.pid, unix.SIGKILL, sameStart(st.start))
		out = append(out, st)
	}
	return out, nil
}

// allStopped reports whether every process of stopped has stopped (or
// ended, or is not the process it was any more).
func allStopped(stopped map[procKey]procStat) bool {
	for k := range stopped {
		st, err := readStat(k.pid)
		if err != nil || st.start != k.start || !st.alive() {
			continue
		}
		if st.state != 'T' && st.state != 't' {
			return false
		}
	}
	return true
}

// signalMembers delivers sig to every member (except those skip accepts, if
// skip is not nil) while they are all stopped, so none can fork between the
// scan and the signal, then resumes them.
func (m *membership) signalMembers(sig unix.Signal, skip func(procStat) bool) error {
	stopped := make(map[procKey]procStat)
	for round := 0; ; round++ {
		members, err := m.scan()
		if err != nil {
			return err
		}
		fresh := 0
		for _, st := range members {
			if _, ok := stopped[st.key()]; ok || (skip != nil && skip(st)) {
				continue
			}
			fresh++
			stopped[st.key()] = st
			signalVerified(st.pid, unix.SIGSTOP, sameStart(st.start))
		}
		if fresh == 0 || round >= 1000 {
			break
		}
	}
	for _, st := range stopped {
		signalVerified(st.pid, sig, sameStart(st.start))
	}
	for _, st := range stopped {
		signalVerified(st.pid, unix.SIGCONT, sameStart(st.start))
	}
	return nil
}

// bootID returns the kernel's boot ID.
func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
