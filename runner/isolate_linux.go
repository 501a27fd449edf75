package runner

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

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
func (r *Runner) HandOver(dir string) error { return r.HandOverTo(dir, nil) }

// HandOverTo gives dir and everything in it to u, the Spec.User of the
// tree that works in it, or, when u is nil, does what HandOver does.
// Symbolic links are not followed.
func (r *Runner) HandOverTo(dir string, u *Credential) error {
	if u == nil {
		u = r.jobUser
	}
	if u == nil {
		return nil
	}
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(u.UID), int(u.GID))
	})
}

// treeUser is who a tree runs as: its Spec.User, else the job user; nil
// means the server's own user. It fails for a Spec.User of a server that
// is not root, which cannot switch users.
func (r *Runner) treeUser(spec Spec) (*Credential, error) {
	u := spec.User
	if u == nil {
		return r.jobUser, nil
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("runner: a tree's user (uid %d gid %d) needs a server running as root; this one runs as uid %d", u.UID, u.GID, os.Geteuid())
	}
	if u.UID == 0 && u.GID == 0 {
		return nil, nil
	}
	return u, nil
}

// refillDelay is how long after a tree's start the next spare helper is
// started: its exec and runtime start would otherwise compete for the CPUs
// with the main shell's first commands.
const refillDelay = 10 * time.Millisecond

// startIsolated starts the tree through a job init helper, the spare if
// one is ready, which clones the main shell into the tree's cgroup (v2) or
// forks it from a thread moved there (v1), so that the main shell is born
// in it. A spare found dead is replaced once.
func (r *Runner) startIsolated(p *Process, spec Spec, env []string, info *treeInfo, stdout, stderr *os.File) error {
	ispec, err := r.initSpecFor(spec, env)
	if err != nil {
		return err
	}
	cgroupFD := -1
	if p.cg != nil && p.cg.h.v2 {
		if cgroupFD, err = unix.Open(p.cg.dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
			return fmt.Errorf("runner: opening the tree's cgroup: %w", err)
		}
		defer unix.Close(cgroupFD)
	} else if p.cg != nil {
		ispec.CgroupV1 = p.cg.dir
	}
	for {
		l, spare, err := r.spares.take()
		if err != nil {
			return err
		}
		reaper.setMain(info, l.pid)
		err = l.handshake(ispec, stdout, stderr, cgroupFD)
		time.AfterFunc(refillDelay, r.spares.refill)
		if err == nil {
			p.helper, p.cmd = l, l.cmd
			return nil
		}
		l.discard()
		if !spare || !errors.Is(err, errHelperGone) {
			return fmt.Errorf("runner: starting an isolated tree: %w", err)
		}
	}
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
	if os.Geteuid() == 0 && r.jobUser == nil && opts.Isolation != IsolationNone {
		r.log.Warn("runner: trees run as root, with every capability: they can undo their isolation")
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

// jobCredential returns the credential a tree's main shell is started with
// when no helper starts it (job-user isolation), nil for the server's own:
// u is the tree's user (treeUser).
func jobCredential(u *Credential) *syscall.Credential {
	if u == nil {
		return nil
	}
	return &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: []uint32{}}
}
