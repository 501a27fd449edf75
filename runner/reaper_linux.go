package runner

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// reaperT collects the exit status of orphans that re-parent to the server,
// which is a child subreaper; the package doc explains which zombies it
// collects and why os/exec's own Wait is never disturbed. There is one per
// process.
type reaperT struct {
	once    sync.Once
	initErr error

	mu      sync.Mutex // serializes collection, main registration and tree registration
	self    int
	pidfds  bool                 // children started by os/exec hold a pidfd visible in /proc/self/fdinfo
	mains   map[int]struct{}     // main shells (and probes) os/exec will wait for
	trees   map[string]*treeInfo // running trees by ID
	orphans map[procKey]struct{} // without pidfds: live children attributed to a tree
}

// treeInfo is what the reaper needs to attribute a zombie to a running tree.
type treeInfo struct {
	id    string
	pid   int                  // main shell, also session and process group ID
	cg    *treeCgroup          // nil for the process-group method
	known map[procKey]struct{} // without pidfds: processes seen as members
}

var reaper = &reaperT{
	mains:   make(map[int]struct{}),
	trees:   make(map[string]*treeInfo),
	orphans: make(map[procKey]struct{}),
}

// init makes the process a child subreaper and starts the reaper goroutine,
// once per process.
func (rp *reaperT) init(bash string) error {
	rp.once.Do(func() {
		rp.self = os.Getpid()
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			rp.initErr = fmt.Errorf("runner: prctl(PR_SET_CHILD_SUBREAPER): %w", err)
			return
		}
		rp.pidfds = rp.detectPidfds(bash)
		sigc := make(chan os.Signal, 1)
		signal.Notify(sigc, unix.SIGCHLD)
		go rp.loop(sigc)
	})
	return rp.initErr
}

// detectPidfds reports whether a child started by os/exec shows up as a
// pidfd in our descriptor table.
func (rp *reaperT) detectPidfds(bash string) bool {
	cmd := exec.Command(bash, "-c", "exit 0")
	if err := rp.start(cmd, nil); err != nil {
		return false
	}
	_, ok := pidfdTargets(nil)[cmd.Process.Pid]
	cmd.Wait()
	rp.waited(cmd.Process.Pid)
	return ok
}

func (rp *reaperT) loop(sigc <-chan os.Signal) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-sigc:
		case <-t.C:
		}
		rp.pass()
	}
}

// start starts cmd and records it as a main process, atomically with
// respect to collection, so the reaper never collects it. registered, if
// not nil, is called with the new PID while the reaper is still locked.
func (rp *reaperT) start(cmd *exec.Cmd, registered func(pid int)) error {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return err
	}
	rp.mains[cmd.Process.Pid] = struct{}{}
	if registered != nil {
		registered(cmd.Process.Pid)
	}
	return nil
}

// waited records that os/exec collected the main process pid.
func (rp *reaperT) waited(pid int) {
	rp.mu.Lock()
	delete(rp.mains, pid)
	rp.mu.Unlock()
}

func (rp *reaperT) addTree(t *treeInfo) error {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if _, dup := rp.trees[t.id]; dup {
		return fmt.Errorf("runner: a tree with ID %q is already running", t.id)
	}
	rp.trees[t.id] = t
	return nil
}

// setMain records the first process of a running tree when it was not
// started through start's registered callback.
func (rp *reaperT) setMain(t *treeInfo, pid int) {
	rp.mu.Lock()
	t.pid = pid
	rp.mu.Unlock()
}

func (rp *reaperT) removeTree(id string) {
	rp.mu.Lock()
	delete(rp.trees, id)
	rp.mu.Unlock()
}

func (rp *reaperT) usesPidfds() bool {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return rp.pidfds
}

// remember records processes seen as members of the running tree id.
func (rp *reaperT) remember(id string, sts []procStat) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	t := rp.trees[id]
	if t == nil {
		return
	}
	if t.known == nil {
		t.known = make(map[procKey]struct{})
	}
	for _, st := range sts {
		t.known[st.key()] = struct{}{}
	}
}

// attributable reports whether the child st belongs to a running tree.
// Must be called with rp.mu held.
func (rp *reaperT) attributable(st procStat) bool {
	for _, t := range rp.trees {
		if _, ok := t.known[st.key()]; ok {
			return true
		}
		if _, unreaped := rp.mains[t.pid]; unreaped && (st.sid == t.pid || st.pgid == t.pid) {
			return true
		}
		if t.cg != nil {
			if p, err := cgroupOf(st.pid, !t.cg.h.v2); err == nil && underPath(strings.TrimSuffix(p, " (deleted)"), t.cg.rel) {
				return true
			}
		}
		if st.alive() {
			if has, _ := hasMarker(st, t.id); has {
				return true
			}
		}
	}
	return false
}

// pass collects the zombie children nobody else will wait for.
func (rp *reaperT) pass() {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	present := make(map[procKey]bool)
	var zombies []procStat
	for _, pid := range ourChildren(rp.self) {
		st, err := readStat(pid)
		if err != nil || st.ppid != rp.self {
			continue
		}
		present[st.key()] = true
		if _, main := rp.mains[pid]; main {
			continue
		}
		switch {
		case st.state == 'Z':
			zombies = append(zombies, st)
		case st.alive() && !rp.pidfds:
			if _, ok := rp.orphans[st.key()]; !ok && rp.attributable(st) {
				rp.orphans[st.key()] = struct{}{}
			}
		}
	}
	for k := range rp.orphans {
		if !present[k] {
			delete(rp.orphans, k)
		}
	}
	if len(zombies) == 0 {
		return
	}
	if !rp.pidfds {
		for _, z := range zombies {
			if _, ok := rp.orphans[z.key()]; ok || rp.attributable(z) {
				var ws unix.WaitStatus
				unix.Wait4(z.pid, &ws, unix.WNOHANG, nil)
				delete(rp.orphans, z.key())
			}
		}
		return
	}
	// Pin every zombie with a pidfd of our own first, then look for pidfds
	// held by anyone else in this process: a child started by os/exec holds
	// one from its birth until its Wait returned, so a zombie without one
	// is an orphan. Collecting through our pidfd cannot hit a reused PID.
	own := make(map[int]procStat)
	for _, z := range zombies {
		fd, err := unix.PidfdOpen(z.pid, 0)
		if err != nil {
			continue
		}
		if st, err := readStat(z.pid); err != nil || st.start != z.start || st.state != 'Z' || st.ppid != rp.self {
			unix.Close(fd)
			continue
		}
		own[fd] = z
	}
	ownFDs := make(map[int]bool, len(own))
	for fd := range own {
		ownFDs[fd] = true
	}
	held := pidfdTargets(ownFDs)
	for fd, z := range own {
		if _, ok := held[z.pid]; !ok {
			var info unix.Siginfo
			unix.Waitid(unix.P_PIDFD, fd, &info, unix.WEXITED|unix.WNOHANG, nil)
		}
		unix.Close(fd)
	}
}

// collect collects those of the given processes that are zombie children
// of ours and not main processes; Reap uses it for trees of a previous life
// whose orphans re-parented to us.
func (rp *reaperT) collect(keys []procStat) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	for _, k := range keys {
		if _, main := rp.mains[k.pid]; main {
			continue
		}
		fd, err := unix.PidfdOpen(k.pid, 0)
		if err != nil {
			continue
		}
		if st, err := readStat(k.pid); err == nil && st.start == k.start && st.state == 'Z' && st.ppid == rp.self {
			var info unix.Siginfo
			unix.Waitid(unix.P_PIDFD, fd, &info, unix.WEXITED|unix.WNOHANG, nil)
		}
		unix.Close(fd)
	}
}

// ourChildren lists the children of every thread of this process, falling
// back to a scan of /proc where /proc/PID/task/TID/children is missing.
func ourChildren(self int) []int {
	var pids []int
	found := false
	if tasks, err := os.ReadDir("/proc/self/task"); err == nil {
		for _, t := range tasks {
			b, err := os.ReadFile("/proc/self/task/" + t.Name() + "/children")
			if err != nil {
				continue
			}
			found = true
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil {
					pids = append(pids, pid)
				}
			}
		}
	}
	if found {
		return pids
	}
	all, _ := listPIDs()
	for _, pid := range all {
		if st, err := readStat(pid); err == nil && st.ppid == self {
			pids = append(pids, pid)
		}
	}
	return pids
}

// pidfdTargets returns the PIDs referred to by pidfds open in this process,
// ignoring the descriptors in skip.
func pidfdTargets(skip map[int]bool) map[int]struct{} {
	out := make(map[int]struct{})
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return out
	}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || skip[fd] {
			continue
		}
		link, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil || !strings.Contains(link, "pidfd") {
			continue
		}
		b, err := os.ReadFile("/proc/self/fdinfo/" + e.Name())
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "Pid:"); ok {
				if pid, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && pid > 0 {
					out[pid] = struct{}{}
				}
			}
		}
	}
	return out
}

// running reports whether a tree with this ID runs in this process.
func (rp *reaperT) running(id string) bool {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	_, ok := rp.trees[id]
	return ok
}
