package runner

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"

	"golang.org/x/sys/unix"
)

// ProtectServer makes the calling process non-dumpable, so that processes
// of the same user, the trees it runs included, can neither read its
// /proc/PID/environ, mem, fd, maps and the like, nor trace it. The process
// still reads its own /proc/self entries. Call it once at start, before
// any secret is in memory.
func ProtectServer() error {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("runner: prctl(PR_SET_DUMPABLE, 0): %w", err)
	}
	return nil
}

// Isolation returns the isolation mode in use: "namespaces", "job-user" or
// "none" (see the package doc).
func (r *Runner) Isolation() string { return r.isolation }

// JobCredential returns the user trees run as when it is not the server's
// own (the server is root and Options.JobUser was set); files a tree must
// own, such as its workspace, must be given to it.
func (r *Runner) JobCredential() (Credential, bool) {
	if r.jobUser == nil {
		return Credential{}, false
	}
	return *r.jobUser, true
}

// HandOver gives dir and everything in it to the user trees run as, when
// that is not the server's own (see JobCredential), so that a tree can
// work in a directory the server prepared; symbolic links are not
// followed.
func (r *Runner) HandOver(dir string) error {
	if r.jobUser == nil {
		return nil
	}
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(r.jobUser.UID), int(r.jobUser.GID))
	})
}

// setupIsolation checks opts.JobUser and chooses the isolation mode: the
// one opts.Isolation forces, or the best one that works here. A mode works
// when a probe tree started in it sees what it must and nothing else.
func (r *Runner) setupIsolation(opts Options) error {
	if u := opts.JobUser; u != nil {
		if os.Geteuid() != 0 {
			return fmt.Errorf("runner: a job user (uid %d gid %d) needs a server running as root; this one runs as uid %d", u.UID, u.GID, os.Geteuid())
		}
		if u.UID != 0 || u.GID != 0 {
			cred := *u
			r.jobUser = &cred
		}
	}
	switch opts.Isolation {
	case "":
	case IsolationNone:
		r.isolation, r.jobUser = IsolationNone, nil
		return nil
	case IsolationJobUser, IsolationNamespaces:
		if opts.Isolation == IsolationJobUser && r.jobUser == nil {
			return errors.New("runner: job-user isolation needs a job user other than root")
		}
		r.isolation = opts.Isolation
		if err := r.probeIsolation(); err != nil {
			return fmt.Errorf("runner: %s isolation not usable: %w", opts.Isolation, err)
		}
		return nil
	default:
		return fmt.Errorf("runner: unknown isolation %q", opts.Isolation)
	}
	r.isolation = IsolationNamespaces
	nsErr := r.probeIsolation()
	if nsErr == nil {
		return nil
	}
	if r.jobUser != nil {
		r.isolation = IsolationJobUser
		if err := r.probeIsolation(); err != nil {
			return fmt.Errorf("runner: the job user uid %d gid %d cannot run trees: %w", r.jobUser.UID, r.jobUser.GID, err)
		}
		r.log.Warn("runner: no namespaces for the trees; only their user keeps them from the server's files", "err", nsErr)
		return nil
	}
	r.isolation = IsolationNone
	r.log.Warn("runner: no namespaces for the trees; they see everything the server's user sees", "err", nsErr)
	return nil
}

// probeIsolation starts a tree in the current mode that checks it sees a
// kept directory, runs as the job user, cannot read a hidden file and,
// with namespaces, does not see it and sees the helper as PID 1.
func (r *Runner) probeIsolation() error {
	dir, err := os.MkdirTemp("", "pipewright-probe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	keep := filepath.Join(dir, "keep")
	if err := os.Mkdir(keep, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "hidden"), nil, 0o600); err != nil {
		return err
	}
	// Searchable, so that a job user reaches keep without namespaces too.
	if err := os.Chmod(dir, 0o711); err != nil {
		return err
	}
	uid := os.Geteuid()
	if r.jobUser != nil {
		uid = int(r.jobUser.UID)
		if err := os.Chown(keep, uid, int(r.jobUser.GID)); err != nil {
			return err
		}
	}
	check := fmt.Sprintf("[ $EUID = %d ] && [ -w %s ]", uid, keep)
	if r.isolation == IsolationNamespaces {
		check += fmt.Sprintf(" && read -r -d '' init </proc/1/cmdline && [ \"$init\" = %s ] && ! [ -e %s/hidden ]", jobInitName, dir)
	} else if r.jobUser != nil {
		check += fmt.Sprintf(" && ! [ -r %s/hidden ]", dir)
	}
	var out []string
	p, err := r.start(Spec{
		ID:        fmt.Sprintf(".probe-%d-isolation%d", os.Getpid(), probeSeq.Add(1)),
		Script:    check,
		Dir:       keep,
		Env:       []string{"PATH=/usr/bin:/bin"},
		Isolation: Isolation{Hide: []string{dir}, Keep: []string{keep}},
		OnLine:    func(l Line) { out = append(out, l.Text) },
	})
	if err != nil {
		return err
	}
	res := p.Wait()
	if res.Err != nil || res.ExitCode != 0 {
		return fmt.Errorf("the probe tree failed its checks (exit %d, err %v, output %q)", res.ExitCode, res.Err, out)
	}
	return nil
}

// initSpecFor prepares the helper's spec for a tree: the directories to
// cover and to keep, and the user to become.
func (r *Runner) initSpecFor(spec Spec, env []string) (*initSpec, error) {
	hide, err := realDirs(spec.Isolation.Hide)
	if err != nil {
		return nil, err
	}
	keep, err := realDirs(spec.Isolation.Keep)
	if err != nil {
		return nil, err
	}
	if r.jobUser != nil {
		// A job user must reach its kept directories through the covers:
		// an ancestor it may not search is covered instead, which hides
		// nothing the job user could see anyway.
		for i, h := range hide {
			hide[i] = outermostUnsearchable(h, *r.jobUser)
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
		User:          r.jobUser,
		MapUser:       serverUser(),
		Unprivileged:  r.jobUser != nil || os.Geteuid() != 0,
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

// serverUser returns the server's user and group when the helper must map
// them into its user namespace, nil when the server is root (and no user
// namespace is made).
func serverUser() *Credential {
	if os.Geteuid() == 0 {
		return nil
	}
	return &Credential{UID: uint32(os.Geteuid()), GID: uint32(os.Getegid())}
}

// initEnv is the helper's whole environment: the tree's marker, so that
// scans find the helper as they find the rest of the tree.
func initEnv(id string) []string { return []string{MarkerEnv + "=" + id} }

// jobCredential returns the credential a tree's main shell is started with
// when no helper starts it (job-user isolation), nil for the server's own.
func (r *Runner) jobCredential() *syscall.Credential {
	if r.jobUser == nil {
		return nil
	}
	return &syscall.Credential{Uid: r.jobUser.UID, Gid: r.jobUser.GID, Groups: []uint32{}}
}
