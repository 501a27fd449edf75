package artifacts

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// writeTree creates files (path -> content) under dir; paths ending in '*'
// are made executable (the '*' is dropped).
func writeTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		perm := os.FileMode(0o644)
		if strings.HasSuffix(name, "*") {
			name, perm = strings.TrimSuffix(name, "*"), 0o755
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), perm); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, perm); err != nil {
			t.Fatal(err)
		}
	}
}

// zipNames zips dir with patterns and returns the sorted entry names.
func zipNames(t *testing.T, dir string, patterns []string) []string {
	t.Helper()
	return zipNamesWith(t, dir, patterns, ZipOptions{})
}

func zipNamesWith(t *testing.T, dir string, patterns []string, opts ZipOptions) []string {
	t.Helper()
	var buf bytes.Buffer
	n, err := ZipDirWith(dir, patterns, opts, &buf)
	if err != nil {
		t.Fatalf("ZipDir(%q): %v", patterns, err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	if n != len(names) {
		t.Errorf("ZipDir(%q) returned %d, zip has %d entries", patterns, n, len(names))
	}
	sort.Strings(names)
	return names
}

func TestZipDirWithExcludeAndDiscardPaths(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"a/x.txt": "1", "a/y.log": "2", "b/x.txt": "3", "b/c/z.txt": "4", "top.txt": "5"})
	for _, tc := range []struct {
		name     string
		patterns []string
		opts     ZipOptions
		want     string
	}{
		{"exclude", []string{"**/*"}, ZipOptions{Exclude: []string{"**/*.log", "b/c/**"}}, "a/x.txt b/x.txt top.txt"},
		{"discard paths, first name wins", []string{"**/*.txt"}, ZipOptions{DiscardPaths: true}, "top.txt x.txt z.txt"},
		{"both", []string{"**/*"}, ZipOptions{DiscardPaths: true, Exclude: []string{"top.txt"}}, "x.txt y.log z.txt"},
	} {
		if got := strings.Join(zipNamesWith(t, dir, tc.patterns, tc.opts), " "); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	var buf bytes.Buffer
	if _, err := ZipDirWith(dir, []string{"**/*"}, ZipOptions{Exclude: []string{"../x"}}, &buf); err == nil {
		t.Error("an exclude pattern with .. was accepted")
	}
}

func TestZipDirPatterns(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"README.md":           "readme",
		".env":                "dot",
		"out/app.bin*":        "binary",
		"out/app.map":         "map",
		"dist/index.html":     "html",
		"dist/app.js":         "js",
		"dist/css/site.css":   "css",
		"dist/css/x/deep.css": "deep",
		"build/a.o":           "a",
		"build/sub/b.o":       "b",
		"build/sub/sub/c.jar": "c",
		"src/cmd/main.go":     "main",
		"src/lib/main.go":     "main",
		"src/lib/util.go":     "util",
		"src/main.go":         "main",
		"target/x.jar":        "jar",
	})
	all := []string{
		".env", "README.md", "build/a.o", "build/sub/b.o", "build/sub/sub/c.jar",
		"dist/app.js", "dist/css/site.css", "dist/css/x/deep.css", "dist/index.html",
		"out/app.bin", "out/app.map", "src/cmd/main.go", "src/lib/main.go", "src/lib/util.go",
		"src/main.go", "target/x.jar",
	}
	tests := []struct {
		patterns []string
		want     []string
	}{
		{nil, all},
		{[]string{}, all},
		{[]string{"**/*"}, all},
		{[]string{"**"}, all},
		{[]string{"./**/*"}, all},
		{[]string{"*"}, []string{".env", "README.md"}},
		{[]string{"dist/*"}, []string{"dist/app.js", "dist/index.html"}},
		{[]string{"dist/**/*"}, []string{"dist/app.js", "dist/css/site.css", "dist/css/x/deep.css", "dist/index.html"}},
		{[]string{"build/**"}, []string{"build/a.o", "build/sub/b.o", "build/sub/sub/c.jar"}},
		{[]string{"build/**/*.o"}, []string{"build/a.o", "build/sub/b.o"}},
		{[]string{"**/*.jar"}, []string{"build/sub/sub/c.jar", "target/x.jar"}},
		{[]string{"out/app.bin"}, []string{"out/app.bin"}},
		{[]string{"out/app.bin", "out/app.bin"}, []string{"out/app.bin"}},
		{[]string{"src/*/main.go"}, []string{"src/cmd/main.go", "src/lib/main.go"}},
		{[]string{"src/**/main.go"}, []string{"src/cmd/main.go", "src/lib/main.go", "src/main.go"}},
		{[]string{"**/main.go", "README.md"}, []string{"README.md", "src/cmd/main.go", "src/lib/main.go", "src/main.go"}},
		{[]string{"out/app.???"}, []string{"out/app.bin", "out/app.map"}},
		{[]string{"out/app.[b]in"}, []string{"out/app.bin"}},
		{[]string{"dist/**/**/*.css"}, []string{"dist/css/site.css", "dist/css/x/deep.css"}},
		{[]string{"dist//index.html"}, []string{"dist/index.html"}},
		{[]string{"dist"}, []string{}},
		{[]string{"dist/"}, []string{}},
		{[]string{"nothing/here/*"}, []string{}},
		{[]string{"*.go"}, []string{}},
	}
	for _, tt := range tests {
		if got := zipNames(t, dir, tt.patterns); !slices.Equal(got, tt.want) {
			t.Errorf("ZipDir(%q) = %q, want %q", tt.patterns, got, tt.want)
		}
	}
	for _, bad := range []string{"", ".", "/abs/*", "../*", "a/../b", "[", "dist/[a-"} {
		if _, err := ZipDir(dir, []string{bad}, new(bytes.Buffer)); err == nil {
			t.Errorf("ZipDir(%q): no error", bad)
		}
	}
}

func TestPatternMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"**/*", "a", true},
		{"**/*", "a/b/c", true},
		{"**", "a/b", true},
		{"*", "a/b", false},
		{"a/**/b", "a/b", true},
		{"a/**/b", "a/x/y/b", true},
		{"a/**/b", "a/x/y/c", false},
		{"a/**", "a", false},
		{"**/a", "x/a/y", false},
		{"x/**/*.go", "x/y.go", true},
		{"x/**/*.go", "y/x.go", false},
		{"a**b", "axyb", true},
		{"a**b", "ax/yb", false},
	}
	for _, tt := range tests {
		pats, err := compilePatterns([]string{tt.pattern})
		if err != nil {
			t.Fatal(err)
		}
		if got := matchFile(pats, strings.Split(tt.name, "/")); got != tt.want {
			t.Errorf("%q matches %q = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

func TestZipUnzipRoundTrip(t *testing.T) {
	src := t.TempDir()
	files := map[string]string{
		"README.md":           "# hello\n",
		"build.sh*":           "#!/bin/sh\necho hi\n",
		"bin/tool*":           strings.Repeat("\x7fELF binary ", 500),
		"src/a/b/c/deep.go":   strings.Repeat("package c\n", 300),
		".gitignore":          "/out\n",
		"empty":               "",
		"assets/logo.png":     strings.Repeat("\x89PNG", 1000),
		"weird name/ü+%.txt":  "unicode",
		"lib/archive.tar.gz*": strings.Repeat("z", 2000),
	}
	writeTree(t, src, files)
	mtime := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(src, "README.md"), mtime, mtime); err != nil {
		t.Fatal(err)
	}

	zipPath := filepath.Join(t.TempDir(), "a.zip")
	out, err := os.Create(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	n, err := ZipDir(src, nil, out)
	if err != nil {
		t.Fatal(err)
	}
	out.Close()
	if n != len(files) {
		t.Errorf("ZipDir stored %d files, want %d", n, len(files))
	}

	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	methods := map[string]uint16{}
	for _, f := range zr.File {
		methods[f.Name] = f.Method
	}
	zr.Close()
	for name, want := range map[string]uint16{
		"README.md":          zip.Store,
		"src/a/b/c/deep.go":  zip.Deflate,
		"bin/tool":           zip.Deflate,
		"assets/logo.png":    zip.Store,
		"lib/archive.tar.gz": zip.Store,
	} {
		if methods[name] != want {
			t.Errorf("%s stored with method %d, want %d", name, methods[name], want)
		}
	}

	dest := filepath.Join(t.TempDir(), "new", "dest")
	n, err = Unzip(zipPath, dest)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(files) {
		t.Errorf("Unzip extracted %d files, want %d", n, len(files))
	}
	for name, content := range files {
		exec := strings.HasSuffix(name, "*")
		name = strings.TrimSuffix(name, "*")
		p := filepath.Join(dest, filepath.FromSlash(name))
		b, err := os.ReadFile(p)
		if err != nil || string(b) != content {
			t.Errorf("%s: %.20q, %v", name, b, err)
			continue
		}
		fi, _ := os.Stat(p)
		if got := fi.Mode().Perm()&0o100 != 0; got != exec {
			t.Errorf("%s: mode %v, executable = %v, want %v", name, fi.Mode(), got, exec)
		}
	}
	if fi, err := os.Stat(filepath.Join(dest, "README.md")); err != nil || !fi.ModTime().Equal(mtime) {
		t.Errorf("README.md mtime not restored: %v, %v", fi.ModTime(), err)
	}

	// Extracting again over the result replaces the files.
	if err := os.WriteFile(filepath.Join(dest, "README.md"), []byte("changed"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Unzip(zipPath, dest); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "README.md")); string(b) != files["README.md"] {
		t.Errorf("README.md after second Unzip = %q", b)
	}
}

func TestZipDirSymlinks(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "work")
	writeTree(t, dir, map[string]string{
		"real.txt":       "real",
		"bin/run*":       "#!/bin/sh\n",
		"sub/nested.txt": "nested",
	})
	writeTree(t, base, map[string]string{"outside.txt": "secret"})
	links := map[string]string{
		"link.txt":      "real.txt",
		"run-link":      "bin/run",
		"abs-link.txt":  filepath.Join(dir, "sub", "nested.txt"),
		"escape.txt":    "../outside.txt",
		"abs-escape":    filepath.Join(base, "outside.txt"),
		"dangling":      "missing.txt",
		"dir-link":      "sub",
		"sub/up.txt":    "../real.txt",
		"self-loop":     "self-loop",
		"chain.txt":     "link.txt",
		"via-dir/x.txt": "../sub/nested.txt",
	}
	for name, target := range links {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"abs-link.txt", "bin/run", "chain.txt", "link.txt", "real.txt", "run-link", "sub/nested.txt", "sub/up.txt", "via-dir/x.txt"}
	if got := zipNames(t, dir, nil); !slices.Equal(got, want) {
		t.Errorf("ZipDir = %q, want %q", got, want)
	}

	// The directory itself may be reached through a symbolic link.
	alias := filepath.Join(base, "alias")
	if err := os.Symlink(dir, alias); err != nil {
		t.Fatal(err)
	}
	if got := zipNames(t, alias, nil); !slices.Equal(got, want) {
		t.Errorf("ZipDir via alias = %q, want %q", got, want)
	}

	var buf bytes.Buffer
	if _, err := ZipDir(dir, []string{"run-link", "link.txt"}, &buf); err != nil {
		t.Fatal(err)
	}
	zr, _ := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	for _, f := range zr.File {
		if f.Mode()&fs.ModeSymlink != 0 {
			t.Errorf("%s stored as a symbolic link", f.Name)
		}
		if f.Name == "run-link" && f.Mode()&0o100 == 0 {
			t.Errorf("run-link lost the executable bit of its target: %v", f.Mode())
		}
	}
}

// zipEntry describes an entry of a crafted zip.
type zipEntry struct {
	name    string
	content string
	mode    fs.FileMode
}

func craftZip(t *testing.T, entries ...zipEntry) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "crafted.zip")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, e := range entries {
		fh := &zip.FileHeader{Name: e.name, Method: zip.Store}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		fh.SetMode(mode)
		w, err := zw.CreateHeader(fh)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(e.content))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

func link(name, target string) zipEntry {
	return zipEntry{name: name, content: target, mode: fs.ModeSymlink | 0o777}
}

func file(name string) zipEntry { return zipEntry{name: name, content: "pwned"} }

func TestUnzipRefusesMaliciousArchives(t *testing.T) {
	tests := []struct {
		desc    string
		entries []zipEntry
	}{
		{"parent escape", []zipEntry{file("ok.txt"), file("../evil.txt")}},
		{"nested parent escape", []zipEntry{file("a/../../evil.txt")}},
		{"dot-dot inside", []zipEntry{file("a/../b.txt")}},
		{"absolute path", []zipEntry{file("/tmp/evil.txt")}},
		{"root dir", []zipEntry{{name: "/", mode: fs.ModeDir | 0o755}}},
		{"empty name", []zipEntry{file("")}},
		{"NUL in name", []zipEntry{file("a\x00b")}},
		{"duplicate", []zipEntry{file("a.txt"), file("a.txt")}},
		{"duplicate after cleaning", []zipEntry{file("a/b.txt"), file("a//b.txt")}},
		{"absolute symlink", []zipEntry{link("etc", "/etc")}},
		{"escaping symlink", []zipEntry{link("up", "..")}},
		{"deep escaping symlink", []zipEntry{link("a/b/up", "../../../x")}},
		{"write through symlink", []zipEntry{link("l", "sub"), {name: "sub/", mode: fs.ModeDir | 0o755}, file("l/evil.txt")}},
		{"write through escaping symlink", []zipEntry{link("l", "/tmp"), file("l/evil.txt")}},
		{"file then symlink with same name", []zipEntry{file("a"), link("a", "b")}},
		{"symlink chain escape", []zipEntry{link("y", "."), link("x", "y/..")}},
		{"symlink chain escape, reverse order", []zipEntry{link("x", "y/../.."), link("y", "d/e")}},
		{"symlink through nested link", []zipEntry{link("d/y", "."), link("x", "d/y/../..")}},
		{"file under file", []zipEntry{file("a"), file("a/b")}},
		{"empty symlink", []zipEntry{link("l", "")}},
		{"NUL symlink", []zipEntry{link("l", "a\x00b")}},
		{"huge symlink", []zipEntry{link("l", strings.Repeat("a/", 3000))}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			zipPath := craftZip(t, tt.entries...)
			base := t.TempDir()
			dest := filepath.Join(base, "dest")
			n, err := Unzip(zipPath, dest)
			if err == nil {
				t.Fatalf("Unzip accepted the archive (%d files)", n)
			}
			var found []string
			filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
				if p != base {
					found = append(found, p[len(base):])
				}
				return nil
			})
			if len(found) > 0 {
				t.Errorf("Unzip (error %v) wrote %q", err, found)
			}
		})
	}
}

func TestUnzipSafeSymlinks(t *testing.T) {
	zipPath := craftZip(t,
		zipEntry{name: "docs/README.md", content: "readme"},
		link("README.md", "docs/README.md"),
		link("docs/self.md", "./README.md"),
		link("docs/up.md", "../docs/README.md"),
		link("current", "docs"),
		link("to-link", "current"),
		link("dangling", "generated/file"),
		zipEntry{name: "run.sh", content: "#!/bin/sh\n", mode: 0o755},
		zipEntry{name: "empty-dir/", mode: fs.ModeDir | 0o755},
	)
	dest := t.TempDir()
	n, err := Unzip(zipPath, dest)
	if err != nil {
		t.Fatal(err)
	}
	if n != 8 {
		t.Errorf("Unzip = %d files, want 8", n)
	}
	for name, want := range map[string]string{"README.md": "readme", "docs/self.md": "readme", "docs/up.md": "readme", "to-link/README.md": "readme"} {
		if b, err := os.ReadFile(filepath.Join(dest, name)); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v", name, b, err)
		}
	}
	if target, err := os.Readlink(filepath.Join(dest, "dangling")); err != nil || target != "generated/file" {
		t.Errorf("dangling -> %q, %v", target, err)
	}
	if fi, err := os.Stat(filepath.Join(dest, "empty-dir")); err != nil || !fi.IsDir() {
		t.Errorf("empty-dir: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dest, "run.sh")); err != nil || fi.Mode()&0o100 == 0 {
		t.Errorf("run.sh not executable: %v", err)
	}
}

func TestUnzipWindowsStyleArchive(t *testing.T) {
	// Entries without Unix modes (as written by Windows tools) become 0644.
	p := filepath.Join(t.TempDir(), "win.zip")
	f, _ := os.Create(p)
	zw := zip.NewWriter(f)
	w, _ := zw.Create("dir/file.txt")
	w.Write([]byte("text"))
	zw.Close()
	f.Close()
	dest := t.TempDir()
	if _, err := Unzip(p, dest); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dest, "dir", "file.txt"))
	if err != nil || fi.Mode().Perm()&0o111 != 0 {
		t.Errorf("file.txt: %v, %v", fi.Mode(), err)
	}
}

func TestUnzipUnsupportedMethod(t *testing.T) {
	p := filepath.Join(t.TempDir(), "lzma.zip")
	f, _ := os.Create(p)
	zw := zip.NewWriter(f)
	w, _ := zw.Create("first.txt")
	w.Write([]byte("first"))
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "second.txt", Method: 14, CompressedSize64: 4, UncompressedSize64: 4})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("????"))
	zw.Close()
	f.Close()
	dest := filepath.Join(t.TempDir(), "dest")
	if _, err := Unzip(p, dest); err == nil || !strings.Contains(err.Error(), "compression method") {
		t.Errorf("Unzip: %v, want an unsupported method error", err)
	}
	if _, err := os.Stat(dest); err == nil {
		t.Error("Unzip wrote to dest before refusing the archive")
	}
}

func TestUnzipNotAZip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.zip")
	os.WriteFile(p, []byte("not a zip"), 0o644)
	if _, err := Unzip(p, t.TempDir()); err == nil {
		t.Error("Unzip of garbage succeeded")
	}
	if _, err := Unzip(filepath.Join(t.TempDir(), "missing.zip"), t.TempDir()); err == nil {
		t.Error("Unzip of a missing file succeeded")
	}
}

// smallRepo creates a tree shaped like a small source repository: 20 files
// of 100 bytes to 16 KiB in a few directories, two of them executable.
func smallRepo(tb testing.TB) string {
	dir := tb.TempDir()
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
	writeTree(tb, dir, files)
	return dir
}

func BenchmarkZipDirSmall(b *testing.B) {
	dir := smallRepo(b)
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if _, err := ZipDir(dir, nil, &buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "zip-bytes")
}

func BenchmarkUnzipSmall(b *testing.B) {
	dir := smallRepo(b)
	zipPath := filepath.Join(b.TempDir(), "src.zip")
	f, _ := os.Create(zipPath)
	if _, err := ZipDir(dir, nil, f); err != nil {
		b.Fatal(err)
	}
	f.Close()
	base := b.TempDir()
	i := 0
	for b.Loop() {
		i++
		if _, err := Unzip(zipPath, filepath.Join(base, fmt.Sprint(i))); err != nil {
			b.Fatal(err)
		}
	}
}
