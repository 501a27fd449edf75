package gitsource

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pipewright/pipewright/artifacts"
)

// run runs git in dir with a fixed identity and dates and no user or
// system configuration, and returns its trimmed output.
func run(tb testing.TB, dir string, args ...string) string {
	tb.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Ada Lovelace",
		"GIT_AUTHOR_EMAIL=ada@example.com",
		"GIT_AUTHOR_DATE=2024-03-01T12:00:00+01:00",
		"GIT_COMMITTER_NAME=Pipewright CI",
		"GIT_COMMITTER_EMAIL=ci@example.com",
		"GIT_COMMITTER_DATE=2024-03-02T08:30:00+00:00",
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// writeFiles writes files (path -> content) under dir; a path ending in
// '*' is made executable (the '*' is dropped).
func writeFiles(tb testing.TB, dir string, files map[string]string) {
	tb.Helper()
	for name, content := range files {
		perm := os.FileMode(0o644)
		if strings.HasSuffix(name, "*") {
			name, perm = strings.TrimSuffix(name, "*"), 0o755
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), perm); err != nil {
			tb.Fatal(err)
		}
		if err := os.Chmod(p, perm); err != nil {
			tb.Fatal(err)
		}
	}
}

// newRepo creates a repository on branch main with one commit of files.
func newRepo(tb testing.TB, files map[string]string) string {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "repo")
	if err := os.Mkdir(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	run(tb, dir, "init", "-q", "-b", "main")
	writeFiles(tb, dir, files)
	run(tb, dir, "add", "-A")
	run(tb, dir, "commit", "-q", "-m", "Initial commit\n\nWith a body.")
	return dir
}

var sampleFiles = map[string]string{
	"README.md":              "# sample\n",
	"buildspec.yml":          "version: 0.2\nphases:\n  build:\n    commands:\n      - ./scripts/build.sh\n",
	"scripts/build.sh*":      "#!/bin/sh\necho building\n",
	"src/main.go":            strings.Repeat("package main\n// padding padding padding\n", 40),
	"src/pkg/deep/x.txt":     "deep",
	"empty.txt":              "",
	".gitattributes":         "ignored.txt export-ignore\nsubst.txt export-subst\n",
	"ignored.txt":            "still part of the commit\n",
	"subst.txt":              "$Format:%H$\n",
	"dir with space/ü ñ.txt": "unicode\n",
}

func TestResolve(t *testing.T) {
	repo := newRepo(t, sampleFiles)
	head := run(t, repo, "rev-parse", "HEAD")
	c, err := Resolve(context.Background(), repo, "main")
	if err != nil {
		t.Fatal(err)
	}
	want := Commit{
		ID:          head,
		Message:     "Initial commit\n\nWith a body.",
		AuthorName:  "Ada Lovelace",
		AuthorEmail: "ada@example.com",
	}
	when, committed := c.Time, c.CommitTime
	c.Time, c.CommitTime = time.Time{}, time.Time{}
	if c != want {
		t.Errorf("Resolve = %+v, want %+v", c, want)
	}
	if wantTime := time.Date(2024, 3, 1, 11, 0, 0, 0, time.UTC); !when.Equal(wantTime) {
		t.Errorf("Time = %v, want %v", when, wantTime)
	}
	if _, off := when.Zone(); off != 3600 {
		t.Errorf("Time zone offset = %d, want 3600 (the author's)", off)
	}
	if wantCommitted := time.Date(2024, 3, 2, 8, 30, 0, 0, time.UTC); !committed.Equal(wantCommitted) {
		t.Errorf("CommitTime = %v, want %v (the committer date)", committed, wantCommitted)
	}

	// A second commit on a nested branch name.
	run(t, repo, "checkout", "-q", "-b", "feature/x-1")
	writeFiles(t, repo, map[string]string{"new.txt": "new"})
	run(t, repo, "add", "-A")
	run(t, repo, "commit", "-q", "-m", "Second")
	c2, err := Resolve(context.Background(), repo, "feature/x-1")
	if err != nil {
		t.Fatal(err)
	}
	if c2.ID != run(t, repo, "rev-parse", "HEAD") || c2.Message != "Second" {
		t.Errorf("Resolve(feature/x-1) = %+v", c2)
	}
	if c, _ := Resolve(context.Background(), repo, "main"); c.ID != head {
		t.Errorf("main moved: %s", c.ID)
	}
}

func TestResolveBareRepository(t *testing.T) {
	repo := newRepo(t, sampleFiles)
	bare := filepath.Join(t.TempDir(), "repo.git")
	run(t, repo, "clone", "-q", "--bare", repo, bare)
	c, err := Resolve(context.Background(), bare, "main")
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != run(t, repo, "rev-parse", "HEAD") {
		t.Errorf("Resolve in bare clone = %s", c.ID)
	}
	var buf bytes.Buffer
	if err := Archive(context.Background(), bare, c.ID, &buf); err != nil {
		t.Fatal(err)
	}
}

func TestRepositoryLayouts(t *testing.T) {
	ctx := context.Background()
	repo := newRepo(t, sampleFiles)
	head := run(t, repo, "rev-parse", "HEAD")
	base := t.TempDir()

	// A linked worktree has a .git file instead of a directory.
	wt := filepath.Join(base, "worktree")
	run(t, repo, "worktree", "add", "-q", "-b", "wt-branch", wt)
	// A path with characters that are special in git's path lists.
	odd := filepath.Join(base, "odd:dir name", "repo")
	run(t, repo, "clone", "-q", repo, odd)
	for _, dir := range []string{wt, odd} {
		c, err := Resolve(ctx, dir, "main")
		if err != nil || c.ID != head {
			t.Errorf("Resolve in %s = %+v, %v", dir, c, err)
		}
		if err := Archive(ctx, dir, head, io.Discard); err != nil {
			t.Errorf("Archive in %s: %v", dir, err)
		}
	}
	if _, err := Resolve(ctx, filepath.Join(odd, "src"), "main"); !errors.Is(err, ErrRepositoryNotFound) {
		t.Errorf("Resolve in a subdirectory of %s: %v, want ErrRepositoryNotFound", odd, err)
	}
}

func TestIgnoresGitEnvironment(t *testing.T) {
	repo := newRepo(t, sampleFiles)
	other := newRepo(t, map[string]string{"other.txt": "other"})
	t.Setenv("GIT_DIR", filepath.Join(other, ".git"))
	t.Setenv("GIT_WORK_TREE", other)
	t.Setenv("GIT_CONFIG_PARAMETERS", "'core.bogus'")
	t.Setenv("LC_ALL", "de_DE.UTF-8")
	c, err := Resolve(context.Background(), repo, "main")
	if err != nil {
		t.Fatal(err)
	}
	if want := run(t, repo, "--git-dir="+filepath.Join(repo, ".git"), "rev-parse", "HEAD"); c.ID != want {
		t.Errorf("Resolve used the environment's repository: %s, want %s", c.ID, want)
	}
}

func TestMissingRepository(t *testing.T) {
	ctx := context.Background()
	repo := newRepo(t, sampleFiles)
	head := run(t, repo, "rev-parse", "HEAD")
	plain := t.TempDir()
	file := filepath.Join(plain, "file")
	os.WriteFile(file, []byte("x"), 0o644)
	for _, dir := range []string{
		filepath.Join(plain, "does-not-exist"),
		plain,
		file,
		filepath.Join(repo, "src"), // inside a working tree, but not its top
		"--version",
		"-C",
	} {
		if _, err := Resolve(ctx, dir, "main"); !errors.Is(err, ErrRepositoryNotFound) {
			t.Errorf("Resolve(%q): %v, want ErrRepositoryNotFound", dir, err)
		}
		if _, err := Lookup(ctx, dir, head); !errors.Is(err, ErrRepositoryNotFound) {
			t.Errorf("Lookup(%q): %v, want ErrRepositoryNotFound", dir, err)
		}
		if err := Archive(ctx, dir, head, io.Discard); !errors.Is(err, ErrRepositoryNotFound) {
			t.Errorf("Archive(%q): %v, want ErrRepositoryNotFound", dir, err)
		}
	}
}

func TestMissingBranch(t *testing.T) {
	ctx := context.Background()
	repo := newRepo(t, sampleFiles)
	for _, b := range []string{"nope", "mai", "main/x", "Main"} {
		_, err := Resolve(ctx, repo, b)
		if !errors.Is(err, ErrBranchNotFound) {
			t.Errorf("Resolve(%q): %v, want ErrBranchNotFound", b, err)
		}
	}
	empty := filepath.Join(t.TempDir(), "empty")
	os.Mkdir(empty, 0o755)
	run(t, empty, "init", "-q", "-b", "main")
	if _, err := Resolve(ctx, empty, "main"); !errors.Is(err, ErrBranchNotFound) {
		t.Errorf("Resolve in empty repository: %v, want ErrBranchNotFound", err)
	}
	// A tag is not a branch.
	run(t, repo, "tag", "v1")
	if _, err := Resolve(ctx, repo, "v1"); !errors.Is(err, ErrBranchNotFound) {
		t.Errorf("Resolve(v1) of a tag: %v, want ErrBranchNotFound", err)
	}
}

func TestBranchOptionInjection(t *testing.T) {
	ctx := context.Background()
	repo := newRepo(t, sampleFiles)
	marker := filepath.Join(t.TempDir(), "pwned")
	for _, b := range []string{
		"--upload-pack=touch " + marker,
		"--output=" + marker,
		"-x",
		"--end-of-options",
		"main~1",
		"main^",
		"main^{tree}",
		"main@{1}",
		"main:README.md",
		"@",
		"HEAD",
		"a..b",
		".hidden",
		"x/.hidden",
		"x.lock",
		"x/",
		"/x",
		"a//b",
		"with space",
		"star*",
		"q?",
		"br[ack",
		`back\slash`,
		"tab\tx",
		"nl\nrefs/heads/main",
		"dot.",
		"",
	} {
		_, err := Resolve(ctx, repo, b)
		if !errors.Is(err, ErrBranchNotFound) {
			t.Errorf("Resolve(%q): %v, want ErrBranchNotFound", b, err)
		}
	}
	for _, id := range []string{"--output=" + marker, "-1", "main", "HEAD", "abc", "xyz123", "abcd^{tree}", strings.Repeat("a", 65)} {
		if _, err := Lookup(ctx, repo, id); !errors.Is(err, ErrCommitNotFound) {
			t.Errorf("Lookup(%q): %v, want ErrCommitNotFound", id, err)
		}
		if err := Archive(ctx, repo, id, io.Discard); !errors.Is(err, ErrCommitNotFound) {
			t.Errorf("Archive(%q): %v, want ErrCommitNotFound", id, err)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("an injected option ran")
	}
	// Valid unusual names work.
	for _, b := range []string{"feature/JIRA-12_x", "release-1.2", "a{b}", "@x", "ü"} {
		run(t, repo, "branch", b)
		if _, err := Resolve(ctx, repo, b); err != nil {
			t.Errorf("Resolve(%q): %v", b, err)
		}
	}
}

func TestLookup(t *testing.T) {
	ctx := context.Background()
	repo := newRepo(t, sampleFiles)
	first := run(t, repo, "rev-parse", "HEAD")
	writeFiles(t, repo, map[string]string{"more.txt": "more"})
	run(t, repo, "add", "-A")
	run(t, repo, "commit", "-q", "-m", "Second")

	for _, id := range []string{first, first[:7], first[:4], strings.ToUpper(first[:12])} {
		c, err := Lookup(ctx, repo, id)
		if err != nil {
			t.Errorf("Lookup(%q): %v", id, err)
			continue
		}
		if c.ID != first || c.Message != "Initial commit\n\nWith a body." {
			t.Errorf("Lookup(%q) = %+v", id, c)
		}
	}

	missing := strings.Repeat("0", 40)
	if _, err := Lookup(ctx, repo, missing); !errors.Is(err, ErrCommitNotFound) {
		t.Errorf("Lookup(missing): %v, want ErrCommitNotFound", err)
	}
	if err := Archive(ctx, repo, missing, io.Discard); !errors.Is(err, ErrCommitNotFound) {
		t.Errorf("Archive(missing): %v, want ErrCommitNotFound", err)
	}
	tree := run(t, repo, "rev-parse", "HEAD^{tree}")
	if _, err := Lookup(ctx, repo, tree); !errors.Is(err, ErrCommitNotFound) {
		t.Errorf("Lookup(tree id): %v, want ErrCommitNotFound", err)
	}
	blob := run(t, repo, "rev-parse", "HEAD:README.md")
	if err := Archive(ctx, repo, blob, io.Discard); !errors.Is(err, ErrCommitNotFound) {
		t.Errorf("Archive(blob id): %v, want ErrCommitNotFound", err)
	}

	// A branch named like an abbreviated id takes precedence in git; Lookup
	// must not return that branch's commit for the digits.
	name := "beef"
	if strings.HasPrefix(first, name) {
		name = "feed"
	}
	run(t, repo, "branch", name, first)
	if c, err := Lookup(ctx, repo, name); !errors.Is(err, ErrCommitNotFound) {
		t.Errorf("Lookup(%q) with a branch of that name = %+v, %v; want ErrCommitNotFound", name, c, err)
	}
}

func TestArchive(t *testing.T) {
	ctx := context.Background()
	repo := newRepo(t, sampleFiles)
	if err := os.Symlink("src/main.go", filepath.Join(repo, "link.go")); err != nil {
		t.Fatal(err)
	}
	run(t, repo, "add", "-A")
	// A submodule (gitlink) entry is omitted from the archive.
	run(t, repo, "update-index", "--add", "--cacheinfo", "160000,"+strings.Repeat("1", 40)+",vendor/sub")
	run(t, repo, "commit", "-q", "-m", "Add link and submodule")
	c, err := Resolve(ctx, repo, "main")
	if err != nil {
		t.Fatal(err)
	}
	// Changes that are not committed are not archived.
	writeFiles(t, repo, map[string]string{"README.md": "uncommitted", "untracked.txt": "x"})

	var buf bytes.Buffer
	if err := Archive(ctx, repo, c.ID, &buf); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	committed := time.Date(2024, 3, 2, 8, 30, 0, 0, time.UTC)
	for _, f := range zr.File {
		names = append(names, f.Name)
		if !f.Modified.Equal(committed) {
			t.Errorf("%s: Modified = %v, want %v", f.Name, f.Modified, committed)
		}
	}
	want := []string{".gitattributes", "README.md", "buildspec.yml", "dir with space/ü ñ.txt", "empty.txt", "ignored.txt", "link.go", "scripts/build.sh", "src/main.go", "src/pkg/deep/x.txt", "subst.txt"}
	if !slices.Equal(names, want) {
		t.Errorf("entries = %q\nwant      %q", names, want)
	}

	zipPath := filepath.Join(t.TempDir(), "source.zip")
	if err := os.WriteFile(zipPath, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	dest := t.TempDir()
	n, err := artifacts.Unzip(zipPath, dest)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(want) {
		t.Errorf("Unzip = %d files, want %d", n, len(want))
	}
	for name, content := range sampleFiles {
		exec := strings.HasSuffix(name, "*")
		name = strings.TrimSuffix(name, "*")
		p := filepath.Join(dest, filepath.FromSlash(name))
		b, err := os.ReadFile(p)
		if err != nil || string(b) != content {
			t.Errorf("%s = %q, %v; want %q", name, b, err, content)
			continue
		}
		fi, _ := os.Stat(p)
		if got := fi.Mode()&0o100 != 0; got != exec {
			t.Errorf("%s: mode %v, want executable %v", name, fi.Mode(), exec)
		}
	}
	if target, err := os.Readlink(filepath.Join(dest, "link.go")); err != nil || target != "src/main.go" {
		t.Errorf("link.go -> %q, %v", target, err)
	}
	if _, err := os.Stat(filepath.Join(dest, ".git")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf(".git extracted: %v", err)
	}

	// The same commit always produces the same bytes, also from an
	// abbreviated id.
	var again bytes.Buffer
	if err := Archive(ctx, repo, c.ID[:10], &again); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("archives of the same commit differ")
	}

	// An older commit has the older content.
	var old bytes.Buffer
	if err := Archive(ctx, repo, run(t, repo, "rev-parse", "HEAD~1"), &old); err != nil {
		t.Fatal(err)
	}
	zr, _ = zip.NewReader(bytes.NewReader(old.Bytes()), int64(old.Len()))
	if len(zr.File) != len(want)-1 {
		t.Errorf("older commit has %d entries, want %d", len(zr.File), len(want)-1)
	}
}

func TestArchiveManyFiles(t *testing.T) {
	// More requests than fit in a pipe buffer at once, and nested trees
	// shared between paths.
	files := map[string]string{}
	for i := range 3000 {
		files[fmt.Sprintf("d%d/e%d/f%d.txt", i%7, i%13, i)] = fmt.Sprint("file ", i%50, "\n")
	}
	files["same1/x/y.txt"] = "same"
	files["same2/x/y.txt"] = "same"
	repo := newRepo(t, files)
	c, err := Resolve(context.Background(), repo, "main")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Archive(context.Background(), repo, c.ID, &buf); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != len(files) {
		t.Fatalf("archive has %d entries, want %d", len(zr.File), len(files))
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || string(b) != files[f.Name] {
			t.Fatalf("%s = %q, %v; want %q", f.Name, b, err, files[f.Name])
		}
	}
}

func TestArchiveEmptyCommit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "empty")
	os.Mkdir(dir, 0o755)
	run(t, dir, "init", "-q", "-b", "main")
	run(t, dir, "commit", "-q", "--allow-empty", "-m", "nothing")
	c, err := Resolve(context.Background(), dir, "main")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Archive(context.Background(), dir, c.ID, &buf); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil || len(zr.File) != 0 {
		t.Errorf("archive of an empty commit: %v, %v", zr, err)
	}
}

// failAfter is a writer that fails after n bytes.
type failAfter struct{ n int }

func (w *failAfter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		return 0, errors.New("disk full")
	}
	w.n -= len(p)
	return len(p), nil
}

func TestArchiveWriterFails(t *testing.T) {
	files := map[string]string{}
	for i := range 200 {
		files[fmt.Sprintf("f%03d.txt", i)] = strings.Repeat("x", 1000)
	}
	repo := newRepo(t, files)
	c, _ := Resolve(context.Background(), repo, "main")
	err := Archive(context.Background(), repo, c.ID, &failAfter{n: 10000})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Archive to a failing writer: %v", err)
	}
}

func TestCanceledContext(t *testing.T) {
	repo := newRepo(t, sampleFiles)
	head := run(t, repo, "rev-parse", "HEAD")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Resolve(ctx, repo, "main"); !errors.Is(err, context.Canceled) {
		t.Errorf("Resolve: %v, want context.Canceled", err)
	}
	if err := Archive(ctx, repo, head, io.Discard); !errors.Is(err, context.Canceled) {
		t.Errorf("Archive: %v, want context.Canceled", err)
	}
}

func TestUnsafeTreeEntries(t *testing.T) {
	for _, name := range []string{"..", ".", ".git", ".GIT", "a/b", ""} {
		raw := append([]byte("100644 "+name+"\x00"), bytes.Repeat([]byte{1}, 20)...)
		if _, err := parseTree(raw, 20); err == nil {
			t.Errorf("parseTree accepted entry %q", name)
		}
	}
	raw := append([]byte("100644 ok\x00"), bytes.Repeat([]byte{0xab}, 20)...)
	entries, err := parseTree(raw, 20)
	if err != nil || len(entries) != 1 || entries[0].oid != strings.Repeat("ab", 20) || entries[0].mode != 0o100644 {
		t.Errorf("parseTree = %+v, %v", entries, err)
	}
}

// smallRepo is a repository of 20 files shaped like a small project.
func smallRepo(tb testing.TB) string {
	files := map[string]string{}
	line := "\tif err := doSomething(ctx, name, value); err != nil { return fmt.Errorf(\"x: %w\", err) }\n"
	sizes := []int{100, 300, 800, 1500, 2500, 4000, 6000, 9000, 16000, 200}
	for i := range 20 {
		name := fmt.Sprintf("pkg%d/file%d.go", i%4, i)
		switch i {
		case 0:
			name = "README.md"
		case 1:
			name = "buildspec.yml"
		case 2:
			name = "scripts/build.sh*"
		case 3:
			name = "scripts/test.sh*"
		}
		n := sizes[i%len(sizes)]
		files[name] = strings.Repeat(line, n/len(line)+1)[:n]
	}
	return newRepo(tb, files)
}

func BenchmarkResolveSmallRepo(b *testing.B) {
	repo := smallRepo(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := Resolve(ctx, repo, "main"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkArchiveSmallRepo(b *testing.B) {
	repo := smallRepo(b)
	ctx := context.Background()
	c, err := Resolve(ctx, repo, "main")
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := Archive(ctx, repo, c.ID, &buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "zip-bytes")
}

// BenchmarkSourceActionSmallRepo measures what a source action does before
// the next action can start: Resolve, Archive into a file, and Unzip.
func BenchmarkSourceActionSmallRepo(b *testing.B) {
	repo := smallRepo(b)
	ctx := context.Background()
	work := b.TempDir()
	i := 0
	for b.Loop() {
		i++
		c, err := Resolve(ctx, repo, "main")
		if err != nil {
			b.Fatal(err)
		}
		zipPath := filepath.Join(work, fmt.Sprint(i, ".zip"))
		f, err := os.Create(zipPath)
		if err != nil {
			b.Fatal(err)
		}
		if err := Archive(ctx, repo, c.ID, f); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
		if _, err := artifacts.Unzip(zipPath, filepath.Join(work, fmt.Sprint(i))); err != nil {
			b.Fatal(err)
		}
	}
}
