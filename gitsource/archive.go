package gitsource

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os/exec"
	"strconv"
	"strings"

	"github.com/pipewright/pipewright/artifacts"
)

// Archive writes to w a zip of the files of the commit commitID (full or
// abbreviated) in the repository at repoDir, like the source artifact of
// CodeCommit: every file of the commit's tree at its path, and nothing of
// .git. It returns ErrRepositoryNotFound or ErrCommitNotFound (wrapped)
// when those are missing.
//
// Files are stored exactly as committed: .gitattributes (export-ignore,
// export-subst, eol and filters) is not applied, unlike "git archive".
// Regular files get mode 0644 or 0755 (git's executable bit), symbolic
// links are stored as symbolic link entries (mode 0777, the target as
// content), and submodules (gitlinks) are omitted, as are directories,
// which zip entries imply. Entries appear in git's tree order, dated with
// the commit's committer date and compressed as [artifacts.ZipMethod] says,
// so the same commit always produces the same bytes. A tree with an entry
// git itself would refuse to check out ("", ".", "..", ".git" in any case)
// is an error.
//
// Archive runs a single "git cat-file --batch" process. If it fails, part
// of the zip may have been written to w.
func Archive(ctx context.Context, repoDir, commitID string, w io.Writer) error {
	id, err := checkCommitID(commitID)
	if err != nil {
		return err
	}
	r, err := openRepository(repoDir)
	if err != nil {
		return err
	}
	c, err := r.startCatFile(ctx)
	if err != nil {
		return err
	}
	if err := c.archive(id, w); err != nil {
		return c.stop(err)
	}
	return c.finish()
}

// catFile is a running "git cat-file --batch" process.
type catFile struct {
	r      *repository
	ctx    context.Context
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *bufio.Reader
	stderr *limitedBuffer
	done   bool
}

func (r *repository) startCatFile(ctx context.Context) (*catFile, error) {
	cmd := r.command(ctx, "cat-file", "--batch")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr := &limitedBuffer{max: 4096}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("gitsource: starting git: %w", err)
	}
	return &catFile{
		r: r, ctx: ctx, cmd: cmd, stdin: stdin, stderr: stderr,
		out: bufio.NewReaderSize(stdout, 64<<10),
	}, nil
}

// errGitExited marks a reply cut short because git exited.
var errGitExited = errors.New("git cat-file exited")

// batch asks for the objects named by names and calls fn with each reply
// header, in order. For an object that exists, fn must read exactly its
// size in bytes from c.out. Requests are written by a separate goroutine so
// that neither process waits on a full pipe.
func (c *catFile) batch(names []string, fn func(i int, obj object) error) error {
	werr := make(chan error, 1)
	go func() {
		bw := bufio.NewWriterSize(c.stdin, 8<<10)
		for _, n := range names {
			bw.WriteString(n)
			bw.WriteByte('\n')
		}
		werr <- bw.Flush()
	}()
	for i := range names {
		line, err := c.out.ReadString('\n')
		if err != nil {
			if err == io.EOF {
				err = errGitExited
			}
			return err
		}
		obj, err := parseHeader(strings.TrimSuffix(line, "\n"))
		if err != nil {
			return err
		}
		if err := fn(i, obj); err != nil {
			return err
		}
		if !obj.missing {
			if b, err := c.out.ReadByte(); err != nil || b != '\n' {
				return fmt.Errorf("gitsource: malformed reply from git cat-file for %s", obj.oid)
			}
		}
	}
	return <-werr
}

// stop ends the process after err and returns the error to report.
func (c *catFile) stop(err error) error {
	if c.done {
		return err
	}
	c.done = true
	exited := errors.Is(err, errGitExited)
	if !exited {
		c.cmd.Process.Kill()
	}
	c.stdin.Close()
	werr := c.cmd.Wait()
	if exited || c.ctx.Err() != nil {
		if werr == nil {
			werr = err
		}
		return c.r.gitError(c.ctx, "git cat-file", werr, c.stderr.Bytes())
	}
	return err
}

// finish ends the process after success.
func (c *catFile) finish() error {
	c.done = true
	c.stdin.Close()
	if err := c.cmd.Wait(); err != nil {
		return c.r.gitError(c.ctx, "git cat-file", err, c.stderr.Bytes())
	}
	return nil
}

// readContent reads the content of obj from the reply stream.
func (c *catFile) readContent(obj object) ([]byte, error) {
	b := make([]byte, obj.size)
	if _, err := io.ReadFull(c.out, b); err != nil {
		return nil, errGitExited
	}
	return b, nil
}

// treeEntry is an entry of a git tree object.
type treeEntry struct {
	mode uint32
	name string
	oid  string
}

const (
	modeTree    = 0o040000
	modeSymlink = 0o120000
	modeGitlink = 0o160000
	modeTypeMsk = 0o170000
	modeRegular = 0o100000
)

// file is a file of the commit to store in the zip.
type file struct {
	path string
	mode uint32
	oid  string
}

func (c *catFile) archive(id string, w io.Writer) error {
	var raw []byte
	var commitOID string
	err := c.batch([]string{id + "^{commit}"}, func(_ int, obj object) (err error) {
		if obj.missing {
			return fmt.Errorf("%w: %s in %s: %s", ErrCommitNotFound, id, c.r.dir, obj.why)
		}
		commitOID = obj.oid
		raw, err = c.readContent(obj)
		if err == nil && obj.typ != "commit" {
			err = fmt.Errorf("%w: %s is a %s", ErrCommitNotFound, obj.oid, obj.typ)
		}
		return err
	})
	if err != nil {
		return err
	}
	if !strings.HasPrefix(commitOID, id) {
		return fmt.Errorf("%w: %s in %s: it is a ref name or not a commit's id", ErrCommitNotFound, id, c.r.dir)
	}
	_, root, committed, err := parseCommit(commitOID, raw)
	if err != nil {
		return err
	}
	hashLen := len(commitOID) / 2

	// Fetch the trees a level at a time, each level in one batch.
	trees := map[string][]treeEntry{}
	level := []string{root}
	queued := map[string]bool{root: true}
	for len(level) > 0 {
		var next []string
		err := c.batch(level, func(i int, obj object) error {
			if obj.missing || obj.typ != "tree" {
				return fmt.Errorf("gitsource: commit %s: tree %s is missing from %s", commitOID, level[i], c.r.dir)
			}
			b, err := c.readContent(obj)
			if err != nil {
				return err
			}
			entries, err := parseTree(b, hashLen)
			if err != nil {
				return fmt.Errorf("gitsource: commit %s: tree %s: %w", commitOID, level[i], err)
			}
			trees[level[i]] = entries
			for _, e := range entries {
				if e.mode == modeTree && !queued[e.oid] {
					queued[e.oid] = true
					next = append(next, e.oid)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		level = next
	}

	var files []file
	var walk func(tree, prefix string)
	walk = func(tree, prefix string) {
		for _, e := range trees[tree] {
			switch e.mode & modeTypeMsk {
			case modeTree:
				walk(e.oid, prefix+e.name+"/")
			case modeRegular, modeSymlink:
				files = append(files, file{path: prefix + e.name, mode: e.mode, oid: e.oid})
			}
		}
	}
	walk(root, "")

	zw := artifacts.NewZipWriter(w)
	oids := make([]string, len(files))
	for i, f := range files {
		oids[i] = f.oid
	}
	err = c.batch(oids, func(i int, obj object) error {
		f := files[i]
		if obj.missing || obj.typ != "blob" {
			return fmt.Errorf("gitsource: commit %s: blob %s (%s) is missing from %s", commitOID, f.oid, f.path, c.r.dir)
		}
		fh := &zip.FileHeader{Name: f.path, Modified: committed.UTC()}
		switch {
		case f.mode&modeTypeMsk == modeSymlink:
			fh.Method = zip.Store
			fh.SetMode(fs.ModeSymlink | 0o777)
		case f.mode&0o100 != 0:
			fh.Method = artifacts.ZipMethod(f.path, obj.size)
			fh.SetMode(0o755)
		default:
			fh.Method = artifacts.ZipMethod(f.path, obj.size)
			fh.SetMode(0o644)
		}
		ew, err := zw.CreateHeader(fh)
		if err != nil {
			return err
		}
		if _, err := io.CopyN(ew, c.out, obj.size); err != nil {
			if errors.Is(err, io.EOF) {
				return errGitExited
			}
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	return zw.Close()
}

// parseTree parses a raw tree object whose object ids are hashLen bytes.
func parseTree(b []byte, hashLen int) ([]treeEntry, error) {
	var entries []treeEntry
	for len(b) > 0 {
		sp := bytes.IndexByte(b, ' ')
		nul := bytes.IndexByte(b, 0)
		if sp <= 0 || nul < sp || len(b) < nul+1+hashLen {
			return nil, errors.New("malformed tree")
		}
		mode, err := strconv.ParseUint(string(b[:sp]), 8, 32)
		if err != nil {
			return nil, errors.New("malformed tree")
		}
		name := string(b[sp+1 : nul])
		if err := checkEntryName(name); err != nil {
			return nil, err
		}
		entries = append(entries, treeEntry{
			mode: uint32(mode),
			name: name,
			oid:  hex.EncodeToString(b[nul+1 : nul+1+hashLen]),
		})
		b = b[nul+1+hashLen:]
	}
	return entries, nil
}

// checkEntryName refuses tree entry names git refuses to check out.
func checkEntryName(name string) error {
	if name == "" || name == "." || name == ".." || strings.EqualFold(name, ".git") || strings.ContainsRune(name, '/') {
		return fmt.Errorf("unsafe entry name %q", name)
	}
	return nil
}
