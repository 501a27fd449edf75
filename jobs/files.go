package jobs

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"

	"github.com/pipewright/pipewright/artifacts"
)

// baseEnv is the environment every job starts from: enough to find
// programs, nothing of the server's own configuration or credentials.
func baseEnv() []string {
	env := []string{"LANG=C.UTF-8"}
	if p := os.Getenv("PATH"); p != "" {
		env = append(env, "PATH="+p)
	} else {
		env = append(env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	}
	return env
}

var varName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// exportTrailer is appended to a script to save the values of the named
// shell variables (exported or not; unset ones are empty) once every
// command succeeded.
func exportTrailer(names []string, file string) string {
	var b strings.Builder
	b.WriteString("\n{ ")
	for _, n := range names {
		if varName.MatchString(n) {
			fmt.Fprintf(&b, `printf '%%s=%%s\0' %s "${%s-}"; `, n, n)
		}
	}
	fmt.Fprintf(&b, "} > '%s'\n", strings.ReplaceAll(file, "'", `'\''`))
	return b.String()
}

// maxVariablesFile bounds what readExported reads.
const maxVariablesFile = 1 << 20

// readExported reads the variables the trailer saved.
func readExported(file string) (map[string]string, error) {
	f, err := openJobFile(file)
	if err != nil {
		return nil, fmt.Errorf("the exported variables could not be read: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxVariablesFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxVariablesFile {
		return nil, fmt.Errorf("the exported variables are larger than %d bytes", maxVariablesFile)
	}
	out := map[string]string{}
	for _, kv := range bytes.Split(b, []byte{0}) {
		if k, v, ok := strings.Cut(string(kv), "="); ok {
			out[k] = v
		}
	}
	return out, nil
}

// extractInputs unzips the inputs into the workspace and returns the
// primary directory and the CODEBUILD_SRC_DIR variables.
func (m *Manager) extractInputs(ws string, inputs []Artifact) (primary string, env []string, err error) {
	primary = filepath.Join(ws, "src")
	for i, in := range inputs {
		dir := primary
		if i > 0 {
			dir = filepath.Join(ws, "src_"+in.Name)
		}
		path, err := m.cfg.Artifacts.Path(in.Bucket, in.Key)
		if err != nil {
			return "", nil, fmt.Errorf("Input artifact '%s' is missing: %v", in.Name, err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", nil, err
		}
		if _, err := artifacts.Unzip(path, dir); err != nil {
			return "", nil, fmt.Errorf("Could not extract input artifact '%s': %v", in.Name, err)
		}
		if i == 0 {
			env = append(env, "CODEBUILD_SRC_DIR="+dir)
		} else {
			env = append(env, "CODEBUILD_SRC_DIR_"+in.Name+"="+dir)
		}
	}
	if len(inputs) == 0 {
		if err := os.MkdirAll(primary, 0o755); err != nil {
			return "", nil, err
		}
		env = append(env, "CODEBUILD_SRC_DIR="+primary)
	}
	return primary, env, nil
}

// collectOutputs zips each output from dir into the artifact store.
func (m *Manager) collectOutputs(dir string, outs []Output) ([]Artifact, error) {
	var got []Artifact
	for _, o := range outs {
		obj, n, err := m.zipOutput(dir, o)
		if err != nil {
			return nil, fmt.Errorf("Could not collect output artifact '%s': %v", o.Name, err)
		}
		if n == 0 {
			return nil, fmt.Errorf("No files matched the paths of output artifact '%s': %s", o.Name, strings.Join(o.Files, ", "))
		}
		a := o.Artifact
		a.MD5, a.SHA256 = obj.MD5, obj.SHA256
		got = append(got, a)
	}
	return got, nil
}

func (m *Manager) zipOutput(dir string, o Output) (artifacts.Object, int, error) {
	base, err := baseDirectory(dir, o.BaseDirectory)
	if err != nil {
		return artifacts.Object{}, 0, err
	}
	if err := m.cfg.Artifacts.EnsureBucket(o.Bucket); err != nil {
		return artifacts.Object{}, 0, err
	}
	tmp, err := os.CreateTemp(m.cfg.WorkDir, ".artifact-*.zip")
	if err != nil {
		return artifacts.Object{}, 0, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	n, err := artifacts.ZipDirWith(base, o.Files, artifacts.ZipOptions{Exclude: o.Exclude, DiscardPaths: o.DiscardPaths}, tmp)
	if err != nil || n == 0 {
		return artifacts.Object{}, n, err
	}
	if _, err := tmp.Seek(0, 0); err != nil {
		return artifacts.Object{}, 0, err
	}
	obj, err := m.cfg.Artifacts.Put(o.Bucket, o.Key, tmp)
	return obj, n, err
}

// baseDirectory is the directory an output's files are taken from: dir, or
// rel in it. The job made it, so it must stay inside dir once its symbolic
// links are followed: the server must not zip what only it can read.
func baseDirectory(dir, rel string) (string, error) {
	if rel == "" {
		return dir, nil
	}
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", err
	}
	base, err := filepath.EvalSymlinks(filepath.Join(root, filepath.Clean("/"+rel)))
	if err != nil {
		return "", fmt.Errorf("base-directory %s: %w", rel, err)
	}
	if base != root && !strings.HasPrefix(base, root+string(filepath.Separator)) {
		return "", fmt.Errorf("base-directory %s is not inside the source directory", rel)
	}
	return base, nil
}

// MaxKept bounds each file of Spec.Keep.
const MaxKept = 256 << 10

// ReadKept reads one of the files Spec.Keep names from a running job's
// workspace, as it is now (the job may be writing it): never following a
// symbolic link, never more than MaxKept bytes. It returns nil when the
// file does not exist (yet, or any longer).
func (m *Manager) ReadKept(id, name string) []byte {
	b, _ := readSmall(filepath.Join(m.workspace(id), filepath.Clean("/"+name)))
	return b
}

// readKept reads the files of keep from the workspace ws.
func readKept(ws string, keep []string) map[string][]byte {
	if len(keep) == 0 {
		return nil
	}
	out := map[string][]byte{}
	for _, name := range keep {
		if b, err := readSmall(filepath.Join(ws, filepath.Clean("/"+name))); err == nil {
			out[name] = b
		}
	}
	return out
}

// readSmall reads at most MaxKept bytes of a file the job may have written
// (see openJobFile).
func readSmall(path string) ([]byte, error) {
	f, err := openJobFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, MaxKept))
}

// openJobFile opens a file of a job's workspace for the server to read. The
// file is the job's: it is opened without following a symbolic link (in
// its last component) or blocking on a fifo, and only if it is a regular
// file, so a job cannot make the server read anything else.
func openJobFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file", filepath.Base(path))
	}
	return f, nil
}
