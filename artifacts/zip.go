package artifacts

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
)

// NewZipWriter returns a zip.Writer writing to w whose Deflate method uses
// flate.BestSpeed with pooled compressors: artifacts are produced and
// consumed on the critical path of a pipeline run, where the time saved
// matters more than the last few percent of size. Use [ZipMethod] to pick
// the method of each entry.
func NewZipWriter(w io.Writer) *zip.Writer {
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, newFastFlate)
	return zw
}

// storeBelow is the size under which entries are stored uncompressed:
// deflating an entry has a fixed cost of about 7µs (against under 1µs to
// store it), not worth the few hundred bytes it could save.
const storeBelow = 512

// ZipMethod returns the compression method artifact zips use for a file
// with the given name and size: zip.Store for small files and for formats
// that are already compressed (archives, images, media, fonts), zip.Deflate
// otherwise.
func ZipMethod(name string, size int64) uint16 {
	if size < storeBelow {
		return zip.Store
	}
	ext := strings.ToLower(path.Ext(name))
	if ext != "" && compressedExts[ext[1:]] {
		return zip.Store
	}
	return zip.Deflate
}

var compressedExts = map[string]bool{
	"zip": true, "jar": true, "war": true, "ear": true, "apk": true, "aab": true, "whl": true, "egg": true, "nupkg": true,
	"gz": true, "tgz": true, "bz2": true, "tbz2": true, "xz": true, "txz": true, "zst": true, "lz4": true, "lzma": true, "7z": true, "rar": true,
	"png": true, "jpg": true, "jpeg": true, "gif": true, "webp": true, "avif": true, "heic": true,
	"mp3": true, "mp4": true, "m4a": true, "mov": true, "webm": true, "ogg": true, "mkv": true,
	"woff": true, "woff2": true, "pdf": true, "docx": true, "xlsx": true, "pptx": true,
}

var flatePool sync.Pool // *flate.Writer at flate.BestSpeed

// pooledFlate returns its flate.Writer to flatePool when closed.
type pooledFlate struct{ fw *flate.Writer }

func newFastFlate(w io.Writer) (io.WriteCloser, error) {
	if fw, ok := flatePool.Get().(*flate.Writer); ok {
		fw.Reset(w)
		return &pooledFlate{fw}, nil
	}
	fw, err := flate.NewWriter(w, flate.BestSpeed)
	if err != nil {
		return nil, err
	}
	return &pooledFlate{fw}, nil
}

func (p *pooledFlate) Write(b []byte) (int, error) {
	if p.fw == nil {
		return 0, errors.New("artifacts: write to closed deflate writer")
	}
	return p.fw.Write(b)
}

func (p *pooledFlate) Close() error {
	if p.fw == nil {
		return nil
	}
	err := p.fw.Close()
	flatePool.Put(p.fw)
	p.fw = nil
	return err
}

var zipBufPool = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// ZipDir writes to w a zip of the files under dir that match patterns and
// returns the number of files it stored. A pattern that matches nothing is
// not an error; the caller decides what an empty or partial result means.
//
// Patterns follow the `files` lists of CodeBuild buildspecs. A pattern is a
// '/'-separated path relative to dir, where each segment is matched against
// one path segment with path.Match syntax ('*' and '?' do not cross '/', and
// match a leading '.'), and a segment "**" matches any number (including
// zero) of directories. A pattern matches files, never directories, and a
// file is included when any pattern matches its path. For example:
//
//	"**/*"           every file, recursively (like an empty pattern list)
//	"*"              the files directly in dir
//	"dist/*"         the files directly in dist, not those in dist/css
//	"dist/**/*"      every file under dist, at any depth
//	"build/**"       the same for build ("**" as last segment matches any rest)
//	"**/*.jar"       every .jar file, at any depth
//	"out/app.bin"    that one file
//	"src/*/main.go"  main.go in each direct subdirectory of src
//
// A leading "./", repeated slashes and a trailing slash are ignored; "**"
// inside a longer segment is the same as "*". Patterns that are empty,
// absolute, contain ".." or are malformed (path.ErrBadPattern) are an error.
//
// Entries keep the file's path relative to dir (with '/' separators), its
// permission bits (notably the executable bit) and its modification time,
// and come in walk order (each directory's entries sorted by name). Directories are not stored as entries (empty
// directories are therefore lost). A symbolic link to a regular file inside
// dir is stored as a copy of that file under the link's path; symbolic
// links to directories, to anything outside dir, and dangling ones are
// skipped, as are sockets, devices and named pipes. Nothing else is
// skipped. Entries are compressed as [ZipMethod] says.
//
// dir must not change while ZipDir runs.
func ZipDir(dir string, patterns []string, w io.Writer) (files int, err error) {
	return ZipDirWith(dir, patterns, ZipOptions{}, w)
}

// ZipOptions are what a CodeBuild artifact adds to ZipDir's patterns.
type ZipOptions struct {
	// Exclude lists patterns (as ZipDir's) of files left out even when a
	// pattern matches them (buildspec exclude-paths).
	Exclude []string
	// DiscardPaths stores each file under its base name alone (buildspec
	// discard-paths); of several files with one name the first in walk
	// order is kept.
	DiscardPaths bool
}

// ZipDirWith is ZipDir with the options applied.
func ZipDirWith(dir string, patterns []string, opts ZipOptions, w io.Writer) (files int, err error) {
	pats, err := compilePatterns(patterns)
	if err != nil {
		return 0, err
	}
	var excl []pattern
	if len(opts.Exclude) > 0 {
		if excl, err = compilePatterns(opts.Exclude); err != nil {
			return 0, err
		}
	}
	names := map[string]bool{}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return 0, fmt.Errorf("artifacts: zip %s: %w", dir, err)
	}
	if fi, err := os.Stat(real); err != nil {
		return 0, fmt.Errorf("artifacts: zip %s: %w", dir, err)
	} else if !fi.IsDir() {
		return 0, fmt.Errorf("artifacts: zip %s: not a directory", dir)
	}
	zw := NewZipWriter(w)
	bp := zipBufPool.Get().(*[]byte)
	defer zipBufPool.Put(bp)
	prefix := real
	if !strings.HasSuffix(prefix, string(filepath.Separator)) {
		prefix += string(filepath.Separator)
	}
	err = filepath.WalkDir(real, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == real {
			return nil
		}
		rel := filepath.ToSlash(p[len(prefix):])
		segs := strings.Split(rel, "/")
		if d.IsDir() {
			if !mayMatchUnder(pats, segs) {
				return filepath.SkipDir
			}
			return nil
		}
		if !matchFile(pats, segs) || excl != nil && matchFile(excl, segs) {
			return nil
		}
		name := rel
		if opts.DiscardPaths {
			if name = segs[len(segs)-1]; names[name] {
				return nil
			}
		}
		src := p
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			src, fi = followInside(prefix, p)
			if fi == nil {
				return nil
			}
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		if err := addFile(zw, name, src, fi, *bp); err != nil {
			return err
		}
		names[name] = true
		files++
		return nil
	})
	if err != nil {
		return files, fmt.Errorf("artifacts: zip %s: %w", dir, err)
	}
	if err := zw.Close(); err != nil {
		return files, fmt.Errorf("artifacts: zip %s: %w", dir, err)
	}
	return files, nil
}

// followInside resolves the symbolic link p and returns its target and the
// target's FileInfo if the target exists and its path starts with prefix
// (the directory being zipped, with a trailing separator); otherwise it
// returns a nil FileInfo.
func followInside(prefix, p string) (string, os.FileInfo) {
	target, err := filepath.EvalSymlinks(p)
	if err != nil || !strings.HasPrefix(target, prefix) {
		return "", nil
	}
	fi, err := os.Stat(target)
	if err != nil {
		return "", nil
	}
	return target, fi
}

// addFile stores the regular file src, described by fi, as name.
func addFile(zw *zip.Writer, name, src string, fi os.FileInfo, buf []byte) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	fh := &zip.FileHeader{
		Name:     name,
		Method:   ZipMethod(name, fi.Size()),
		Modified: fi.ModTime(),
	}
	fh.SetMode(fi.Mode().Perm())
	ew, err := zw.CreateHeader(fh)
	if err != nil {
		return err
	}
	n, err := io.CopyBuffer(ew, io.LimitReader(f, fi.Size()), buf)
	if err != nil {
		return err
	}
	if n != fi.Size() {
		return fmt.Errorf("%s shrank while being zipped", name)
	}
	return nil
}

// maxSymlinkTarget bounds the size of a symbolic link entry in Unzip.
const maxSymlinkTarget = 4096

// Unzip extracts the zip file zipPath into dest, creating dest if needed,
// and returns the number of files (regular files and symbolic links) it
// created. Directories are created as needed with mode 0755; files get mode
// 0755 if the entry has any executable bit and 0644 otherwise (both less
// the umask), and the entry's modification time.
//
// The whole archive is checked before anything is written, and it is
// refused if any entry name is empty, absolute, contains NUL or a ".."
// segment, appears twice (after cleaning), or lies under a file or
// symbolic link entry; or if a symbolic link entry's target is absolute, contains NUL,
// would resolve outside dest, or goes through another symbolic link of the
// archive (the kernel resolves "link/.." differently from a lexical check);
// or if an entry uses a compression method other than Store and Deflate.
// A link to a path the archive does not contain is allowed. Files are then
// created through an os.Root on dest, so nothing is ever written outside
// it, and symbolic links last.
//
// Existing files in dest are replaced; existing symbolic links in dest are
// trusted. If extraction fails midway, dest holds a partial extraction.
func Unzip(zipPath string, dest string) (files int, err error) {
	zr, closeZip, err := openZip(zipPath)
	if err != nil {
		return 0, fmt.Errorf("artifacts: unzip %s: %w", zipPath, err)
	}
	defer closeZip()
	entries, err := planUnzip(zr.File)
	if err != nil {
		return 0, fmt.Errorf("artifacts: unzip %s: %w", zipPath, err)
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return 0, fmt.Errorf("artifacts: unzip %s: %w", zipPath, err)
	}
	root, err := os.OpenRoot(dest)
	if err != nil {
		return 0, fmt.Errorf("artifacts: unzip %s: %w", zipPath, err)
	}
	defer root.Close()
	files, err = extract(root, entries)
	if err != nil {
		return files, fmt.Errorf("artifacts: unzip %s: %w", zipPath, err)
	}
	return files, nil
}

// readWholeBelow is the size under which Unzip reads a zip into memory
// with one read instead of reading each entry's header and data separately.
const readWholeBelow = 8 << 20

// openZip opens the zip file at p.
func openZip(p string) (*zip.Reader, func(), error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	var ra io.ReaderAt = f
	closer := func() { f.Close() }
	if fi.Size() < readWholeBelow {
		b := make([]byte, fi.Size())
		_, err := io.ReadFull(f, b)
		f.Close()
		if err != nil {
			return nil, nil, err
		}
		ra, closer = bytes.NewReader(b), func() {}
	}
	zr, err := zip.NewReader(ra, fi.Size())
	if err != nil {
		closer()
		return nil, nil, err
	}
	return zr, closer, nil
}

// unzipEntry is a checked zip entry: name is cleaned and slash-separated.
type unzipEntry struct {
	f      *zip.File
	name   string
	kind   byte // 'd' directory, 'f' file, 'l' symbolic link
	target string
}

// planUnzip checks every entry as described at Unzip.
func planUnzip(zfiles []*zip.File) ([]unzipEntry, error) {
	entries := make([]unzipEntry, 0, len(zfiles))
	seen := make(map[string]byte, len(zfiles))
	for _, f := range zfiles {
		e := unzipEntry{f: f, kind: 'f'}
		mode := f.Mode()
		switch {
		case strings.HasSuffix(f.Name, "/") || mode.IsDir():
			e.kind = 'd'
		case mode&fs.ModeSymlink != 0:
			e.kind = 'l'
		}
		name, err := cleanEntryName(f.Name)
		if err != nil {
			return nil, err
		}
		if e.kind != 'd' && f.Method != zip.Store && f.Method != zip.Deflate {
			return nil, fmt.Errorf("entry %q: unsupported compression method %d", f.Name, f.Method)
		}
		if name == "." {
			if e.kind != 'd' {
				return nil, fmt.Errorf("entry %q: invalid name", f.Name)
			}
			continue
		}
		e.name = name
		if _, dup := seen[name]; dup {
			return nil, fmt.Errorf("entry %q: duplicate name", f.Name)
		}
		seen[name] = e.kind
		if e.kind == 'l' {
			if e.target, err = readLink(f); err != nil {
				return nil, err
			}
		}
		entries = append(entries, e)
	}
	for _, e := range entries {
		for dir := path.Dir(e.name); dir != "."; dir = path.Dir(dir) {
			switch seen[dir] {
			case 'l':
				return nil, fmt.Errorf("entry %q: lies under symbolic link %q", e.f.Name, dir)
			case 'f':
				return nil, fmt.Errorf("entry %q: lies under file %q", e.f.Name, dir)
			}
		}
		if e.kind == 'l' {
			if err := checkLink(e.name, e.target, seen); err != nil {
				return nil, err
			}
		}
	}
	return entries, nil
}

// cleanEntryName returns the cleaned form of a zip entry name, or an error
// if the name is unsafe.
func cleanEntryName(name string) (string, error) {
	trimmed := strings.TrimSuffix(name, "/")
	switch {
	case trimmed == "":
		if name == "/" {
			return "", fmt.Errorf("entry %q: absolute path", name)
		}
		return "", fmt.Errorf("entry %q: empty name", name)
	case strings.HasPrefix(name, "/"):
		return "", fmt.Errorf("entry %q: absolute path", name)
	case strings.IndexByte(name, 0) >= 0:
		return "", fmt.Errorf("entry %q: name contains NUL", name)
	}
	for _, seg := range strings.Split(trimmed, "/") {
		if seg == ".." {
			return "", fmt.Errorf("entry %q: path escapes the destination", name)
		}
	}
	return path.Clean(trimmed), nil
}

// readLink reads the target of a symbolic link entry.
func readLink(f *zip.File) (string, error) {
	if f.UncompressedSize64 > maxSymlinkTarget {
		return "", fmt.Errorf("entry %q: symbolic link target too long", f.Name)
	}
	rc, err := f.Open()
	if err != nil {
		return "", fmt.Errorf("entry %q: %w", f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxSymlinkTarget+1))
	if err != nil {
		return "", fmt.Errorf("entry %q: %w", f.Name, err)
	}
	if len(b) > maxSymlinkTarget {
		return "", fmt.Errorf("entry %q: symbolic link target too long", f.Name)
	}
	return string(b), nil
}

// checkLink checks that the symbolic link entry name -> target resolves
// inside the destination, walking target's segments from the link's
// directory and refusing to continue past another link of the archive
// (kinds maps cleaned entry names to their kind).
func checkLink(name, target string, kinds map[string]byte) error {
	switch {
	case target == "":
		return fmt.Errorf("entry %q: empty symbolic link target", name)
	case strings.HasPrefix(target, "/"):
		return fmt.Errorf("entry %q: symbolic link to absolute path %q", name, target)
	case strings.IndexByte(target, 0) >= 0:
		return fmt.Errorf("entry %q: symbolic link target contains NUL", name)
	}
	var cur []string
	if dir := path.Dir(name); dir != "." {
		cur = strings.Split(dir, "/")
	}
	segs := strings.Split(target, "/")
	for i, seg := range segs {
		switch seg {
		case "", ".":
			continue
		case "..":
			if len(cur) == 0 {
				return fmt.Errorf("entry %q: symbolic link %q points outside the destination", name, target)
			}
			cur = cur[:len(cur)-1]
		default:
			cur = append(cur, seg)
		}
		if i < len(segs)-1 && kinds[strings.Join(cur, "/")] == 'l' {
			return fmt.Errorf("entry %q: symbolic link %q goes through symbolic link %q", name, target, strings.Join(cur, "/"))
		}
	}
	return nil
}

// extract creates the checked entries under root. Each directory is
// opened once as an os.Root of its own, so that creating a file is one
// openat of its base name.
func extract(root *os.Root, entries []unzipEntry) (files int, err error) {
	dirs := map[string]*os.Root{".": root}
	defer func() {
		for name, d := range dirs {
			if name != "." {
				d.Close()
			}
		}
	}()
	openDir := func(dir string) (*os.Root, error) {
		if d, ok := dirs[dir]; ok {
			return d, nil
		}
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		d, err := root.OpenRoot(dir)
		if err != nil {
			return nil, err
		}
		dirs[dir] = d
		return d, nil
	}
	bp := zipBufPool.Get().(*[]byte)
	defer zipBufPool.Put(bp)
	for _, e := range entries {
		switch e.kind {
		case 'd':
			_, err = openDir(e.name)
		case 'f':
			var d *os.Root
			if d, err = openDir(path.Dir(e.name)); err == nil {
				if err = extractFile(d, e, *bp); err == nil {
					files++
				}
			}
		}
		if err != nil {
			return files, err
		}
	}
	for _, e := range entries {
		if e.kind != 'l' {
			continue
		}
		d, err := openDir(path.Dir(e.name))
		if err != nil {
			return files, err
		}
		base := path.Base(e.name)
		err = d.Symlink(e.target, base)
		if errors.Is(err, fs.ErrExist) {
			if err = d.Remove(base); err == nil {
				err = d.Symlink(e.target, base)
			}
		}
		if err != nil {
			return files, err
		}
		files++
	}
	return files, nil
}

// extractFile writes the regular file entry e into its directory dir.
func extractFile(dir *os.Root, e unzipEntry, buf []byte) error {
	perm := os.FileMode(0o644)
	if e.f.Mode()&0o111 != 0 {
		perm = 0o755
	}
	base := path.Base(e.name)
	const flags = os.O_WRONLY | os.O_CREATE | os.O_EXCL
	out, err := dir.OpenFile(base, flags, perm)
	if errors.Is(err, fs.ErrExist) {
		if err = dir.Remove(base); err == nil {
			out, err = dir.OpenFile(base, flags, perm)
		}
	}
	if err != nil {
		return err
	}
	rc, err := e.f.Open()
	if err != nil {
		out.Close()
		return fmt.Errorf("entry %q: %w", e.f.Name, err)
	}
	_, err = io.CopyBuffer(onlyWriter{out}, rc, buf)
	rc.Close()
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("entry %q: %w", e.f.Name, err)
	}
	if mt := e.f.Modified; !mt.IsZero() {
		return dir.Chtimes(base, mt, mt)
	}
	return nil
}
