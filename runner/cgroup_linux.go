package runner

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// cgroupHier is a cgroup hierarchy (v2, or v1 with the freezer controller)
// and the directory in it under which tree cgroups are created.
type cgroupHier struct {
	v2        bool
	parent    string // absolute directory holding the tree cgroups
	mount     string // mount point of the hierarchy
	mountRoot string // root of that mount inside the hierarchy (mountinfo field 4)
	hasKill   bool   // v2 only: cgroup.kill exists
}

// rel converts an absolute directory of the hierarchy to the path
// /proc/PID/cgroup shows for processes in it.
func (h *cgroupHier) rel(dir string) string {
	return path.Join(h.mountRoot, "/"+strings.TrimPrefix(dir, h.mount))
}

func (h *cgroupHier) tree(id string) *treeCgroup {
	dir := filepath.Join(h.parent, id)
	return &treeCgroup{h: h, dir: dir, rel: h.rel(dir)}
}

type mountInfo struct {
	root, point, fstype, superOpts string
}

// unescapeMount undoes the octal escapes of /proc/self/mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func readMountinfo() ([]mountInfo, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var out []mountInfo
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || len(f) < sep+4 {
			continue
		}
		out = append(out, mountInfo{
			root:      unescapeMount(f[3]),
			point:     unescapeMount(f[4]),
			fstype:    f[sep+1],
			superOpts: f[sep+3],
		})
	}
	return out, nil
}

func (m mountInfo) matches(v2 bool) bool {
	if v2 {
		return m.fstype == "cgroup2"
	}
	if m.fstype != "cgroup" {
		return false
	}
	for _, o := range strings.Split(m.superOpts, ",") {
		if o == "freezer" {
			return true
		}
	}
	return false
}

// findHier returns the hierarchy whose mount contains dir.
func findHier(dir string, v2 bool) (*cgroupHier, error) {
	mounts, err := readMountinfo()
	if err != nil {
		return nil, err
	}
	var best *mountInfo
	for i := range mounts {
		m := &mounts[i]
		if m.matches(v2) && underPath(dir, m.point) && (best == nil || len(m.point) > len(best.point)) {
			best = m
		}
	}
	if best == nil {
		return nil, fmt.Errorf("runner: %s is not in a %s hierarchy", dir, hierName(v2))
	}
	return &cgroupHier{v2: v2, parent: dir, mount: best.point, mountRoot: best.root}, nil
}

func hierName(v2 bool) string {
	if v2 {
		return "cgroup2"
	}
	return "cgroup v1 freezer"
}

// defaultHier returns the hierarchy with the parent directory
// <mount>/<own cgroup>/pipewright, so that trees nest inside the cgroup the
// server runs in.
func defaultHier(v2 bool) (*cgroupHier, error) {
	mounts, err := readMountinfo()
	if err != nil {
		return nil, err
	}
	var best *mountInfo
	for i := range mounts {
		m := &mounts[i]
		if !m.matches(v2) {
			continue
		}
		if best == nil || m.point == "/sys/fs/cgroup" {
			best = m
		}
	}
	if best == nil {
		return nil, fmt.Errorf("runner: no %s mount", hierName(v2))
	}
	own, err := cgroupOf(0, !v2)
	if err != nil {
		return nil, err
	}
	sub := ""
	if underPath(own, best.root) {
		sub = strings.TrimPrefix(own, best.root)
	}
	parent := filepath.Join(best.point, sub, "pipewright")
	return &cgroupHier{v2: v2, parent: parent, mount: best.point, mountRoot: best.root}, nil
}

// treeCgroup is the cgroup of one tree.
type treeCgroup struct {
	h   *cgroupHier
	dir string // absolute directory
	rel string // as shown in /proc/PID/cgroup
}

func writeFile(name, data string) error {
	f, err := os.OpenFile(name, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (c *treeCgroup) exists() bool {
	_, err := os.Stat(c.dir)
	return err == nil
}

// dirs returns the tree cgroup and its descendants, parents first.
func (c *treeCgroup) dirs() []string {
	var dirs []string
	filepath.WalkDir(c.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	return dirs
}

// procs lists the processes in the cgroup and its descendants.
func (c *treeCgroup) procs() []int {
	var pids []int
	for _, d := range c.dirs() {
		b, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// empty reports whether no living process is in the cgroup (a missing
// cgroup is empty).
func (c *treeCgroup) empty() bool {
	if !c.exists() {
		return true
	}
	if c.h.v2 {
		b, err := os.ReadFile(filepath.Join(c.dir, "cgroup.events"))
		if err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(line, "populated "); ok {
					return v == "0"
				}
			}
		}
	}
	return len(c.procs()) == 0
}

// isMember reports whether the process is (still) in the cgroup.
func (c *treeCgroup) isMember(st procStat) bool {
	p, err := cgroupOf(st.pid, !c.h.v2)
	return err == nil && underPath(p, c.rel)
}

// freeze freezes (on) or thaws the cgroup and its descendants; freezing
// waits up to 200ms for the cgroup to report it is frozen.
func (c *treeCgroup) freeze(on bool) error {
	var file, val, done string
	if c.h.v2 {
		file, val, done = "cgroup.freeze", "0", ""
		if on {
			val, done = "1", "frozen 1"
		}
	} else {
		file, val, done = "freezer.state", "THAWED", ""
		if on {
			val, done = "FROZEN", "FROZEN"
		}
	}
	if err := writeFile(filepath.Join(c.dir, file), val); err != nil {
		return err
	}
	if done == "" {
		return nil
	}
	check := filepath.Join(c.dir, "freezer.state")
	if c.h.v2 {
		check = filepath.Join(c.dir, "cgroup.events")
	}
	deadline := time.Now().Add(200 * time.Millisecond)
	for {
		b, err := os.ReadFile(check)
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.TrimSpace(line) == done {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("runner: cgroup %s did not freeze within 200ms", c.dir)
		}
		time.Sleep(time.Millisecond)
	}
}

// signalAll delivers sig to every process of the cgroup while it is frozen,
// so nothing forks in between, then thaws it. It returns how many processes
// were signalled.
func (c *treeCgroup) signalAll(sig unix.Signal) int {
	// A cgroup that does not freeze in time is signalled all the same.
	c.freeze(true)
	defer c.freeze(false)
	n := 0
	for _, pid := range c.procs() {
		if signalVerified(pid, sig, c.isMember) {
			n++
		}
	}
	return n
}

// killAll SIGKILLs every process of the cgroup until it is empty or the
// deadline passes.
func (c *treeCgroup) killAll(deadline time.Time) error {
	for {
		if c.empty() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("runner: cgroup %s still holds processes %v", c.dir, c.procs())
		}
		if c.h.v2 && c.h.hasKill {
			if err := writeFile(filepath.Join(c.dir, "cgroup.kill"), "1"); err != nil && !errors.Is(err, fs.ErrNotExist) {
				c.signalAll(unix.SIGKILL)
			}
		} else {
			c.signalAll(unix.SIGKILL)
		}
		for i := 0; i < 20 && !c.empty(); i++ {
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// remove removes the cgroup and its descendants, retrying for up to a
// second while the kernel still counts exiting processes.
func (c *treeCgroup) remove() error {
	deadline := time.Now().Add(time.Second)
	for {
		dirs := c.dirs()
		if len(dirs) == 0 {
			return nil
		}
		sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
		var err error
		for _, d := range dirs {
			if e := unix.Rmdir(d); e != nil && e != unix.ENOENT {
				err = fmt.Errorf("runner: removing cgroup %s: %w", d, e)
			}
		}
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// treeCgroupAt returns the cgroup at an absolute directory recorded in a
// Handle, after checking it is a cgroup directory named id that does not
// contain the calling process.
func treeCgroupAt(dir, id string) (*treeCgroup, error) {
	if !filepath.IsAbs(dir) || filepath.Clean(dir) != dir || filepath.Base(dir) != id {
		return nil, fmt.Errorf("runner: cgroup path %q is not a clean absolute path ending in the tree ID", dir)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return nil, err
	}
	var v2 bool
	switch st.Type {
	case unix.CGROUP2_SUPER_MAGIC:
		v2 = true
	case unix.CGROUP_SUPER_MAGIC:
	default:
		return nil, fmt.Errorf("runner: %s is not in a cgroup file system", dir)
	}
	h, err := findHier(filepath.Dir(dir), v2)
	if err != nil {
		return nil, err
	}
	if v2 {
		_, err := os.Stat(filepath.Join(dir, "cgroup.kill"))
		h.hasKill = err == nil
	}
	c := h.tree(id)
	if own, err := cgroupOf(0, !v2); err == nil && underPath(own, c.rel) {
		return nil, fmt.Errorf("runner: cgroup %s contains the server itself", dir)
	}
	return c, nil
}
