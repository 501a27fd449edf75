package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"golang.org/x/sys/unix"
)

// initCtlFD is the job init helper's control socket. The runner sends on
// it an 8-byte big-endian length with descriptors attached (SCM_RIGHTS:
// the tree's stdout and stderr, and under cgroup v2 the tree's cgroup),
// then that many bytes of initSpec as JSON; the helper answers with status
// lines. Its own stdin, stdout and stderr are /dev/null.
const initCtlFD = 3

// The status lines the helper writes, in this order: one of initStatusOK
// or initStatusError, then, once the main shell ended, one of
// initStatusExit or initStatusSignal. The helper exits right after an
// error, and otherwise once no other process of its PID namespace is left;
// a helper whose control socket closes before a spec came exits at once.
const (
	initStatusOK     = "ok"     // the main shell runs
	initStatusError  = "error"  // followed by a space and the reason
	initStatusExit   = "exit"   // followed by a space and the exit status
	initStatusSignal = "signal" // followed by a space and the signal number
)

// initSpec is everything the helper learns from the server: no more than
// what the tree itself is given.
type initSpec struct {
	Bash   string   `json:"bash"`
	Script string   `json:"script"`
	Dir    string   `json:"dir"`
	Env    []string `json:"env"`
	// Cover lists disjoint directories to cover with an empty tmpfs.
	Cover []string `json:"cover"`
	// Keep lists directories under Cover to bind-mount back at their own
	// paths.
	Keep []string `json:"keep"`
	// MapUser, if set, is the server's user and group, which the helper
	// maps to themselves in its new user namespace before anything else.
	MapUser *Credential `json:"mapUser,omitempty"`
	// User, if set, is who the main shell runs as (no supplementary
	// groups).
	User *Credential `json:"user,omitempty"`
	// Unprivileged says the tree must never gain a privilege: the main
	// shell starts with an empty capability bounding set and no_new_privs.
	Unprivileged bool `json:"unprivileged"`
	// CgroupV1 is the directory of the tree's cgroup v1 freezer cgroup,
	// if it has one: the main shell is forked from a thread moved into it.
	// (A cgroup v2 is given as a descriptor instead, and the main shell is
	// cloned into it.)
	CgroupV1 string `json:"cgroupV1,omitempty"`
	// ServerMountNS is the server's mount namespace (the link
	// /proc/self/ns/mnt): the helper refuses to touch mounts there.
	ServerMountNS string `json:"serverMountNS"`
}

// initSpecFor prepares the helper's spec for a tree: the directories to
// cover and to keep, and the user to become (see Runner.treeUser).
func (r *Runner) initSpecFor(spec Spec, env []string) (*initSpec, error) {
	hide, err := realDirs(spec.Isolation.Hide)
	if err != nil {
		return nil, err
	}
	keep, err := realDirs(spec.Isolation.Keep)
	if err != nil {
		return nil, err
	}
	user, err := r.treeUser(spec)
	if err != nil {
		return nil, err
	}
	if user != nil {
		// A job user must reach its kept directories through the covers:
		// an ancestor it may not search is covered instead, which hides
		// nothing the job user could see anyway.
		for i, h := range hide {
			hide[i] = outermostUnsearchable(h, *user)
		}
	}
	cover := disjoint(hide)
	var kept []string
	for _, k := range keep {
		for _, c := range cover {
			if underPath(k, c) {
				kept = append(kept, k)
				break
			}
		}
	}
	mountNS, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		return nil, err
	}
	return &initSpec{
		Bash:          r.bash,
		Script:        spec.Script,
		Dir:           spec.Dir,
		Env:           env,
		Cover:         cover,
		Keep:          kept,
		User:          user,
		MapUser:       serverUser(),
		Unprivileged:  user != nil || os.Geteuid() != 0,
		ServerMountNS: mountNS,
	}, nil
}

// realDirs returns the directories with every symbolic link resolved, so
// that they can be mounted on, failing if one is missing or not a
// directory.
func realDirs(dirs []string) ([]string, error) {
	out := make([]string, 0, len(dirs))
	for _, d := range dirs {
		if !filepath.IsAbs(d) {
			return nil, fmt.Errorf("runner: isolation directory %q is not absolute", d)
		}
		real, err := filepath.EvalSymlinks(d)
		if err != nil {
			return nil, fmt.Errorf("runner: isolation directory: %w", err)
		}
		if st, err := os.Stat(real); err != nil {
			return nil, fmt.Errorf("runner: isolation directory: %w", err)
		} else if !st.IsDir() {
			return nil, fmt.Errorf("runner: isolation directory %s is not a directory", d)
		}
		out = append(out, real)
	}
	return out, nil
}

// outermostUnsearchable returns the outermost parent of dir that u may not
// search (by its mode bits, with no supplementary groups), or dir itself
// when u may search them all.
func outermostUnsearchable(dir string, u Credential) string {
	parents := parentsOf(dir)
	for i := len(parents) - 1; i >= 0; i-- {
		var st unix.Stat_t
		if err := unix.Stat(parents[i], &st); err != nil {
			continue
		}
		if !searchable(st, u) {
			return parents[i]
		}
	}
	return dir
}

// searchable reports whether the mode bits of a directory let u search it.
func searchable(st unix.Stat_t, u Credential) bool {
	switch {
	case st.Uid == u.UID:
		return st.Mode&0o100 != 0
	case st.Gid == u.GID:
		return st.Mode&0o010 != 0
	default:
		return st.Mode&0o001 != 0
	}
}

// parentsOf returns the parents of dir, innermost first, without the root.
func parentsOf(dir string) []string {
	var out []string
	for p := filepath.Dir(dir); p != "/" && p != "."; p = filepath.Dir(p) {
		out = append(out, p)
	}
	return out
}

// disjoint returns the directories without duplicates and without those
// inside another one of them, shortest first.
func disjoint(dirs []string) []string {
	sorted := append([]string(nil), dirs...)
	sort.Slice(sorted, func(i, j int) bool { return len(sorted[i]) < len(sorted[j]) })
	var out []string
	for _, d := range sorted {
		inside := false
		for _, o := range out {
			if underPath(d, o) {
				inside = true
				break
			}
		}
		if !inside {
			out = append(out, d)
		}
	}
	return out
}

// serverUser returns the server's user and group when the helper must map
// them into its user namespace, nil when the server is root (and no user
// namespace is made).
func serverUser() *Credential {
	if os.Geteuid() == 0 {
		return nil
	}
	return &Credential{UID: uint32(os.Geteuid()), GID: uint32(os.Getegid())}
}
