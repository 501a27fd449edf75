package agent

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/user"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// installer carries out an appspec's files and permissions on the host,
// every destination taken under root.
type installer struct {
	root    string
	archive string
	// behavior is the deployment's fileExistsBehavior; the appspec's
	// file_exists_behavior, when it has one, wins, as on AWS.
	behavior string
	// created lists what the install made, files and directories in the
	// order made, for the next install to remove.
	created []string
	// copied are the host paths of the files copied.
	copied map[string]bool
	made   map[string]bool
	log    *scriptLog
}

// host is the path under root of the host path p.
func (in *installer) host(p string) string {
	return filepath.Join(in.root, filepath.FromSlash(path.Clean("/"+p)))
}

// uninstall removes what the previous install of the group made, as its
// cleanup file lists it: files, then the directories left empty.
func uninstall(cleanup string) error {
	f, err := os.Open(cleanup)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var paths []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if p := sc.Text(); p != "" {
			paths = append(paths, p)
		}
	}
	f.Close()
	if err := sc.Err(); err != nil {
		return err
	}
	for _, p := range slices.Backward(paths) {
		fi, err := os.Lstat(p)
		switch {
		case err != nil:
		case fi.IsDir():
			_ = os.Remove(p)
		default:
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				return err
			}
		}
	}
	return os.Remove(cleanup)
}

// install copies the appspec's files and applies its permissions.
func (in *installer) install(a *appSpec) error {
	in.copied, in.made = map[string]bool{}, map[string]bool{}
	behavior := in.behavior
	if a.FileExistsBehavior != "" {
		behavior = a.FileExistsBehavior
	}
	if behavior == "" {
		behavior = "DISALLOW"
	}
	for _, f := range a.Files {
		src := bundlePath(in.archive, f.Source)
		fi, err := os.Stat(src)
		if err != nil {
			return fmt.Errorf("the source %s of the appspec's files is not in the revision", f.Source)
		}
		if fi.IsDir() {
			if err := in.ancestors(in.host(f.Destination)); err != nil {
				return err
			}
			if err := in.copyDir(src, in.host(f.Destination), behavior); err != nil {
				return err
			}
			continue
		}
		dst := filepath.Join(in.host(f.Destination), filepath.Base(src))
		if err := in.ancestors(dst); err != nil {
			return err
		}
		if err := in.copyFile(src, dst, behavior); err != nil {
			return err
		}
	}
	for _, p := range a.Permissions {
		if err := in.permit(p); err != nil {
			return err
		}
	}
	return nil
}

// ancestors makes the missing directories above p.
func (in *installer) ancestors(p string) error {
	var missing []string
	for d := filepath.Dir(p); d != in.root && d != "/" && d != "."; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil {
			break
		}
		missing = append(missing, d)
	}
	for _, d := range slices.Backward(missing) {
		if err := in.mkdir(d); err != nil {
			return err
		}
	}
	return nil
}

func (in *installer) mkdir(d string) error {
	if err := os.Mkdir(d, 0o755); err != nil {
		return err
	}
	in.created = append(in.created, d)
	in.made[d] = true
	return nil
}

// copyDir copies the contents of src into dst.
func (in *installer) copyDir(src, dst, behavior string) error {
	if fi, err := os.Stat(dst); err != nil {
		if err := in.mkdir(dst); err != nil {
			return err
		}
	} else if !fi.IsDir() {
		return fmt.Errorf("The deployment failed because a specified file already exists at this location: %s", in.shown(dst))
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		s, d := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		if e.IsDir() {
			err = in.copyDir(s, d, behavior)
		} else {
			err = in.copyFile(s, d, behavior)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// copyFile copies one file (a symbolic link as a link) as behavior says
// when dst exists.
func (in *installer) copyFile(src, dst, behavior string) error {
	if _, err := os.Lstat(dst); err == nil {
		switch behavior {
		case "RETAIN":
			return nil
		case "DISALLOW":
			return fmt.Errorf("The deployment failed because a specified file already exists at this location: %s", in.shown(dst))
		}
		if err := os.RemoveAll(dst); err != nil {
			return err
		}
	}
	fi, err := os.Lstat(src)
	if err != nil {
		return err
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		t, err := os.Readlink(src)
		if err == nil {
			err = os.Symlink(t, dst)
		}
		if err != nil {
			return err
		}
	} else if err := copyContent(src, dst, fi.Mode().Perm()); err != nil {
		return err
	}
	in.created = append(in.created, dst)
	in.copied[dst] = true
	return nil
}

func copyContent(src, dst string, mode os.FileMode) error {
	r, err := os.Open(src)
	if err != nil {
		return err
	}
	defer r.Close()
	w, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// shown is a host path as the appspec names it (without root).
func (in *installer) shown(p string) string {
	if r, err := filepath.Rel(in.root, p); err == nil {
		return "/" + filepath.ToSlash(r)
	}
	return p
}

// writeCleanup records what the install made, for the next one.
func (in *installer) writeCleanup(cleanup string) error {
	tmp := cleanup + ".tmp"
	if err := os.WriteFile(tmp, []byte(strings.Join(in.created, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, cleanup)
}

// permit applies a permissions entry: to the object when it is a file the
// install copied, else to what matches under the object directory.
func (in *installer) permit(p permission) error {
	obj := in.host(p.Object)
	types := p.Type
	if len(types) == 0 {
		types = []string{"file", "directory"}
	}
	if in.copied[obj] {
		if slices.Contains(types, "file") {
			return in.apply(obj, p)
		}
		return nil
	}
	fi, err := os.Stat(obj)
	if err != nil || !fi.IsDir() {
		return nil
	}
	pattern := p.Pattern
	if pattern == "" {
		pattern = "**"
	}
	return filepath.WalkDir(obj, func(q string, d os.DirEntry, err error) error {
		if err != nil || q == obj {
			return err
		}
		name := d.Name()
		if slices.ContainsFunc(p.Except, func(x string) bool { ok, _ := path.Match(x, name); return ok }) {
			return nil
		}
		if ok, _ := path.Match(pattern, name); pattern != "**" && !ok {
			return nil
		}
		kind := "file"
		if d.IsDir() {
			kind = "directory"
		}
		if !slices.Contains(types, kind) || !in.copied[q] && !in.made[q] {
			return nil
		}
		return in.apply(q, p)
	})
}

// apply sets mode, owner and group of one path. An owner or group the
// agent cannot give (it is not root) is logged and left.
func (in *installer) apply(q string, p permission) error {
	if m, _ := p.mode(); m != 0 {
		if err := os.Chmod(q, m); err != nil {
			return err
		}
	}
	if p.Owner == "" && p.Group == "" {
		return nil
	}
	uid, gid := -1, -1
	if p.Owner != "" {
		u, err := user.Lookup(p.Owner)
		if err != nil {
			return fmt.Errorf("the owner %s of %s is not a user of this host", p.Owner, p.Object)
		}
		uid, _ = strconv.Atoi(u.Uid)
	}
	if p.Group != "" {
		g, err := user.LookupGroup(p.Group)
		if err != nil {
			return fmt.Errorf("the group %s of %s is not a group of this host", p.Group, p.Object)
		}
		gid, _ = strconv.Atoi(g.Gid)
	}
	if err := os.Lchown(q, uid, gid); err != nil {
		in.log.add(fmt.Sprintf("[agent]could not give %s to %s:%s: %v\n", in.shown(q), p.Owner, p.Group, err))
	}
	return nil
}
