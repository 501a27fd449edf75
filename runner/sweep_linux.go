package runner

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// sweepTimeout bounds Sweep.
const sweepTimeout = 30 * time.Second

// Sweep SIGKILLs every tree of the runner's scope that is not running in
// this process, typically what an earlier life of the server left behind
// (abandoned work, trees whose start it never recorded), and removes their
// cgroups. It finds them by the cgroups under the scope's cgroup directory
// and, for trees without a cgroup, by the ScopeEnv marker in their
// environment (and their descendants). It returns how many processes it
// killed. Without a scope it does nothing.
func (r *Runner) Sweep() (int, error) {
	if r.scope == "" {
		return 0, nil
	}
	deadline := time.Now().Add(sweepTimeout)
	var errs []error
	killed := 0
	if r.hier != nil {
		ents, err := os.ReadDir(r.hier.parent)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
		for _, e := range ents {
			name := e.Name()
			if !e.IsDir() || strings.HasPrefix(name, ".") || reaper.running(name) {
				continue
			}
			c := r.hier.tree(name)
			n := len(c.procs())
			if err := c.killAll(deadline); err != nil {
				errs = append(errs, err)
				continue
			}
			if err := c.remove(); err != nil {
				errs = append(errs, err)
			}
			killed += n
		}
	}
	sts, err := r.sweepMarked(deadline)
	if err != nil {
		errs = append(errs, err)
	}
	reaper.collect(sts)
	killed += len(sts)
	if killed > 0 {
		r.log.Info("runner: swept leftover processes of an earlier life", "scope", r.scope, "count", killed)
	}
	return killed, errors.Join(errs...)
}

// sweepMarked kills the processes carrying the scope's marker that belong
// to no tree running here, and their descendants, stopping them first
// until a scan finds no new one.
func (r *Runner) sweepMarked(deadline time.Time) ([]procStat, error) {
	var all []procStat
	for {
		killed, err := stopThenKill(r.marked)
		all = append(all, killed...)
		if err != nil || len(killed) == 0 {
			return all, err
		}
		if time.Now().After(deadline) {
			return all, fmt.Errorf("runner: sweeping scope %s: %d processes survived SIGKILL", r.scope, len(killed))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// marked lists the living processes of the scope that belong to no tree
// running in this process, with their descendants.
func (r *Runner) marked() (out []procStat, unsure int, err error) {
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
		if st, err := readStat(pid); err == nil && st.alive() {
			cands = append(cands, st)
		}
	}
	member := map[int]bool{}
	orphan := orphans(cands, self)
	for _, st := range cands {
		id, ok, told := r.scopeTree(st)
		if ok && !reaper.running(id) {
			member[st.pid] = true
		} else if !told && orphan(st) {
			unsure++
		}
	}
	for changed := true; changed; {
		changed = false
		for _, st := range cands {
			if !member[st.pid] && member[st.ppid] {
				member[st.pid] = true
				changed = true
			}
		}
	}
	for _, st := range cands {
		if member[st.pid] {
			out = append(out, st)
		}
	}
	return out, unsure, nil
}

// scopeTree returns the tree ID of a process that carries the runner's
// scope marker. told is false when its environment could not be read (see
// readEnviron).
func (r *Runner) scopeTree(st procStat) (id string, inScope, told bool) {
	b, ok := readEnviron(st)
	if !ok {
		return "", false, false
	}
	if len(b) == 0 {
		return "", false, true
	}
	for _, e := range bytes.Split(b, []byte{0}) {
		switch {
		case string(e) == ScopeEnv+"="+r.scope:
			inScope = true
		case bytes.HasPrefix(e, []byte(MarkerEnv+"=")):
			id = string(e[len(MarkerEnv)+1:])
		}
	}
	return id, inScope, true
}

// CgroupParent returns the directory under which the runner creates tree
// cgroups (its scope's, with a scope), or "" for the process-group method.
func (r *Runner) CgroupParent() string {
	if r.hier == nil {
		return ""
	}
	return filepath.Clean(r.hier.parent)
}

// removeScope removes the scope's cgroup directory if no tree uses it.
func (r *Runner) removeScope() {
	if r.hier != nil && r.scope != "" {
		unix.Rmdir(r.hier.parent)
	}
}
