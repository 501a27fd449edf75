// Package artifacts stores pipeline artifacts as objects in local buckets
// and builds and extracts the zip files that carry them between actions.
//
// # Layout
//
// A [Store] keeps object key K of bucket B in the file root/D/P, where D is
// the bucket's directory name (B itself for ordinary lowercase S3 bucket
// names) and P is K with its '/'-separated segments as directories, escaped
// as described at [Store.Path]. Next to each object file F the store keeps a
// metadata sidecar ".m.F" holding the object's SHA-256 and MD5 together with
// the inode number, size and modification time of the file they were
// computed for. Files being written are named ".tmp-*". No escaped key
// segment starts with '.', so neither kind of file can be reached as an
// object.
//
// # Durability and atomicity
//
// [Store.Put] writes into a temporary file in the object's directory, fsyncs
// it, renames it over the object and fsyncs the directory: readers see the
// old object or the complete new one, never a partial one, and a Put that
// returned nil survives a crash. The sidecar is written (atomically, by
// rename, but without fsync) just before the object is renamed into place.
// It is trusted only when its inode, size and modification time match the
// object file; otherwise, for instance after a crash or a concurrent Put of
// the same key, the hashes are recomputed from the object and the sidecar is
// rewritten, so a stale or missing sidecar costs time, never correctness.
// Temporary files and orphaned sidecars left by a crash are removed by
// [Open]. Only one Store (one process) should use a root at a time, because
// Open removes every temporary file it finds.
package artifacts

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

var (
	// ErrNotFound is returned when an object does not exist. Errors for a
	// bucket that does not exist match both ErrNotFound and ErrNoSuchBucket.
	ErrNotFound = errors.New("artifacts: object not found")
	// ErrNoSuchBucket is returned by operations on a bucket that
	// EnsureBucket has not created.
	ErrNoSuchBucket = errors.New("artifacts: no such bucket")
	// ErrInvalidBucketName is returned for bucket names the store refuses.
	ErrInvalidBucketName = errors.New("artifacts: invalid bucket name")
	// ErrInvalidKey is returned for object keys the store refuses.
	ErrInvalidKey = errors.New("artifacts: invalid object key")
	// ErrKeyConflict is returned by Put when the key cannot be stored
	// because an object's file would have to be a directory or the
	// reverse: "a" and "a/b" cannot both exist.
	ErrKeyConflict = errors.New("artifacts: key conflicts with another object")
)

// Object describes a stored object.
type Object struct {
	Bucket string
	Key    string
	Size   int64
	// SHA256 is the hex SHA-256 of the content.
	SHA256 string
	// MD5 is the hex MD5 of the content, usable as the S3 ETag (quoted).
	MD5      string
	Modified time.Time
}

// Store is a directory of buckets of objects. It is safe for concurrent use.
type Store struct {
	root string
}

const (
	dirPerm  = 0o700
	filePerm = 0o600
)

var copyBufPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// Open returns the store rooted at root, creating the directory if needed
// (with mode 0700; objects are created with mode 0600). It removes the
// temporary files and orphaned sidecars a crash may have left behind.
func Open(root string) (*Store, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("artifacts: open %s: %w", root, err)
	}
	if err := os.MkdirAll(abs, dirPerm); err != nil {
		return nil, fmt.Errorf("artifacts: open: %w", err)
	}
	if err := cleanup(abs); err != nil {
		return nil, fmt.Errorf("artifacts: open: cleaning up %s: %w", abs, err)
	}
	return &Store{root: abs}, nil
}

// cleanup removes temporary files and sidecars without an object.
func cleanup(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		name := d.Name()
		switch {
		case strings.HasPrefix(name, tmpPrefix):
			return ignoreNotExist(os.Remove(p))
		case strings.HasPrefix(name, metaPrefix):
			obj := filepath.Join(filepath.Dir(p), name[len(metaPrefix):])
			if _, err := os.Lstat(obj); errors.Is(err, fs.ErrNotExist) {
				return ignoreNotExist(os.Remove(p))
			}
		}
		return nil
	})
}

// EnsureBucket creates the bucket if it does not exist yet. The name must be
// 3 to 63 characters of letters, digits, '.' and '-' (CodePipeline's
// artifactStore.location pattern with S3's length limits); names that are
// not valid S3 bucket names, such as ones with uppercase letters, are stored
// under an escaped directory name (see [Store.Path]).
func (s *Store) EnsureBucket(name string) error {
	dir, err := bucketDir(name)
	if err != nil {
		return err
	}
	p := filepath.Join(s.root, dir)
	if err := os.Mkdir(p, dirPerm); err != nil {
		if errors.Is(err, fs.ErrExist) {
			if fi, serr := os.Stat(p); serr == nil && fi.IsDir() {
				return nil
			}
		}
		return fmt.Errorf("artifacts: create bucket %s: %w", name, err)
	}
	if err := syncDir(s.root); err != nil {
		return fmt.Errorf("artifacts: create bucket %s: %w", name, err)
	}
	return nil
}

// Path returns the path of the file that holds the object, whether or not
// it exists, so that callers can read it without copying through the
// store. The path is root/<bucket dir>/<key path>, where the key path is the
// key's '/'-separated segments escaped so that any S3 key maps to a distinct
// path inside the bucket: '%' becomes "%25", a leading '.' of a segment
// "%2E" and an empty segment "%" ("pipe/SourceArti/abc.zip" is stored as
// is, ".env" as "%2Eenv", "folder/" as "folder/%").
//
// Keys that are empty, longer than 1024 bytes, not UTF-8, absolute, contain
// NUL or a "." or ".." segment, or have a segment longer than 250 bytes once
// escaped are refused with ErrInvalidKey. The file must only be read:
// writing it directly bypasses the metadata kept by the store.
func (s *Store) Path(bucket, key string) (string, error) {
	_, p, err := s.paths(bucket, key)
	return p, err
}

// paths returns the bucket directory and object path for bucket and key.
func (s *Store) paths(bucket, key string) (bdir, obj string, err error) {
	dir, err := bucketDir(bucket)
	if err != nil {
		return "", "", err
	}
	kp, err := keyPath(key)
	if err != nil {
		return "", "", err
	}
	bdir = filepath.Join(s.root, dir)
	return bdir, bdir + string(filepath.Separator) + kp, nil
}

// Put stores the content read from r under bucket/key, replacing any
// existing object, and returns its metadata. The bucket must exist. The
// object appears atomically and durably once r is drained: if r fails, or
// anything else does, no object or partial object is left behind and the
// previous object, if any, is unchanged.
func (s *Store) Put(bucket, key string, r io.Reader) (Object, error) {
	bdir, p, err := s.paths(bucket, key)
	if err != nil {
		return Object{}, err
	}
	if err := checkBucket(bdir, bucket); err != nil {
		return Object{}, err
	}
	obj, err := s.put(bdir, p, r)
	if err != nil {
		return Object{}, fmt.Errorf("artifacts: put %s/%s: %w", bucket, key, err)
	}
	obj.Bucket, obj.Key = bucket, key
	return obj, nil
}

func (s *Store) put(bdir, p string, r io.Reader) (Object, error) {
	dir := filepath.Dir(p)
	f, err := createTemp(bdir, dir)
	if err != nil {
		return Object{}, err
	}
	tmp := f.Name()
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(tmp)
		}
	}()

	sh, mh := sha256.New(), md5.New()
	bp := copyBufPool.Get().(*[]byte)
	_, err = io.CopyBuffer(hashingWriter{f, sh, mh}, onlyReader{r}, *bp)
	copyBufPool.Put(bp)
	if err != nil {
		return Object{}, err
	}
	if err := f.Sync(); err != nil {
		return Object{}, err
	}
	fi, err := f.Stat()
	if err != nil {
		return Object{}, err
	}
	if err := f.Close(); err != nil {
		return Object{}, err
	}
	m := meta{
		ino:    inode(fi),
		size:   fi.Size(),
		mtime:  fi.ModTime().UnixNano(),
		sha256: hex.EncodeToString(sh.Sum(nil)),
		md5:    hex.EncodeToString(mh.Sum(nil)),
	}
	// The sidecar goes first so that the new object is normally served
	// with its sidecar already in place. A failure to write it is not an
	// error: the hashes would be recomputed on demand.
	writeMeta(p, m)
	if err := renameObject(tmp, p); err != nil {
		os.Remove(metaPath(p))
		return Object{}, err
	}
	done = true
	// If a concurrent Delete has already removed the object and pruned
	// its directory, there is nothing left to make durable.
	if err := ignoreNotExist(syncDir(dir)); err != nil {
		return Object{}, err
	}
	return Object{Size: m.size, SHA256: m.sha256, MD5: m.md5, Modified: fi.ModTime()}, nil
}

// createTemp creates a temporary file in dir, creating dir and its parents
// (up to the bucket directory bdir) as needed and making their creation
// durable. It retries when a concurrent Delete prunes the directory in
// between.
func createTemp(bdir, dir string) (*os.File, error) {
	for attempt := 0; ; attempt++ {
		err := mkdirs(bdir, dir)
		if err == nil {
			var f *os.File
			if f, err = os.CreateTemp(dir, tmpPrefix+"*"); err == nil {
				return f, nil
			}
		}
		if !errors.Is(err, fs.ErrNotExist) || attempt == 3 {
			return nil, err
		}
	}
}

// mkdirs creates dir and any missing parents below bdir and fsyncs the
// parents of the directories it created.
func mkdirs(bdir, dir string) error {
	if dir == bdir {
		return nil
	}
	fi, err := os.Stat(dir)
	if err == nil {
		if fi.IsDir() {
			return nil
		}
		return fmt.Errorf("%w: %s is an object", ErrKeyConflict, dir)
	}
	if isNotDir(err) {
		return fmt.Errorf("%w: %v", ErrKeyConflict, err)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	parent := filepath.Dir(dir)
	if err := mkdirs(bdir, parent); err != nil {
		return err
	}
	if err := os.Mkdir(dir, dirPerm); err != nil {
		if errors.Is(err, fs.ErrExist) {
			if fi, serr := os.Stat(dir); serr == nil && fi.IsDir() {
				return nil
			}
			return fmt.Errorf("%w: %v", ErrKeyConflict, err)
		}
		if isNotDir(err) {
			return fmt.Errorf("%w: %v", ErrKeyConflict, err)
		}
		return err
	}
	return syncDir(parent)
}

// renameObject renames the temporary file tmp to the object path p. An
// empty directory in the way (left by an interrupted Put of a longer key)
// is removed; a non-empty one is a key conflict.
func renameObject(tmp, p string) error {
	err := os.Rename(tmp, p)
	if err == nil {
		return nil
	}
	if fi, serr := os.Lstat(p); serr == nil && fi.IsDir() {
		if os.Remove(p) == nil {
			if err = os.Rename(tmp, p); err == nil {
				return nil
			}
		}
		return fmt.Errorf("%w: %v", ErrKeyConflict, err)
	}
	return err
}

// Get opens the object for reading and returns it with its metadata. The
// caller must close the file. It returns ErrNotFound if the object does not
// exist. The file stays readable even if the object is replaced or deleted
// while it is open.
func (s *Store) Get(bucket, key string) (*os.File, Object, error) {
	bdir, p, err := s.paths(bucket, key)
	if err != nil {
		return nil, Object{}, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, Object{}, s.missing(bdir, bucket, key, err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fs.ErrNotExist
	}
	if err != nil {
		f.Close()
		return nil, Object{}, s.missing(bdir, bucket, key, err)
	}
	obj, err := describe(p, f, fi)
	if err != nil {
		f.Close()
		return nil, Object{}, fmt.Errorf("artifacts: get %s/%s: %w", bucket, key, err)
	}
	obj.Bucket, obj.Key = bucket, key
	return f, obj, nil
}

// Stat returns the object's metadata, or ErrNotFound. The hashes come from
// the sidecar when it matches the object file, and are otherwise
// recomputed by reading the object.
func (s *Store) Stat(bucket, key string) (Object, error) {
	bdir, p, err := s.paths(bucket, key)
	if err != nil {
		return Object{}, err
	}
	fi, err := os.Stat(p)
	if err == nil && !fi.Mode().IsRegular() {
		err = fs.ErrNotExist
	}
	if err != nil {
		return Object{}, s.missing(bdir, bucket, key, err)
	}
	var obj Object
	if m, ok := readMeta(p, fi); ok {
		obj = m.object(fi)
	} else {
		f, err := os.Open(p)
		if err != nil {
			return Object{}, s.missing(bdir, bucket, key, err)
		}
		defer f.Close()
		if fi, err = f.Stat(); err != nil {
			return Object{}, fmt.Errorf("artifacts: stat %s/%s: %w", bucket, key, err)
		}
		if obj, err = rehash(p, f, fi); err != nil {
			return Object{}, fmt.Errorf("artifacts: stat %s/%s: %w", bucket, key, err)
		}
	}
	obj.Bucket, obj.Key = bucket, key
	return obj, nil
}

// describe returns the metadata of the object file f at path p, whose
// FileInfo is fi, from its sidecar or else by rehashing it.
func describe(p string, f *os.File, fi os.FileInfo) (Object, error) {
	if m, ok := readMeta(p, fi); ok {
		return m.object(fi), nil
	}
	return rehash(p, f, fi)
}

// rehash computes the metadata of the object file f at path p by reading
// it (without moving its offset) and rewrites its sidecar.
func rehash(p string, f *os.File, fi os.FileInfo) (Object, error) {
	sh, mh := sha256.New(), md5.New()
	bp := copyBufPool.Get().(*[]byte)
	n, err := io.CopyBuffer(hashingWriter{io.Discard, sh, mh}, io.NewSectionReader(f, 0, fi.Size()), *bp)
	copyBufPool.Put(bp)
	if err != nil {
		return Object{}, err
	}
	if n != fi.Size() {
		return Object{}, fmt.Errorf("object changed while being read")
	}
	m := meta{
		ino:    inode(fi),
		size:   fi.Size(),
		mtime:  fi.ModTime().UnixNano(),
		sha256: hex.EncodeToString(sh.Sum(nil)),
		md5:    hex.EncodeToString(mh.Sum(nil)),
	}
	writeMeta(p, m)
	return m.object(fi), nil
}

// Delete removes the object. Deleting an object that does not exist is not
// an error; deleting from a bucket that does not exist is (ErrNoSuchBucket).
// Directories left empty are removed.
func (s *Store) Delete(bucket, key string) error {
	bdir, p, err := s.paths(bucket, key)
	if err != nil {
		return err
	}
	fi, err := os.Lstat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || isNotDir(err) {
			return checkBucket(bdir, bucket)
		}
		return fmt.Errorf("artifacts: delete %s/%s: %w", bucket, key, err)
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	if err := ignoreNotExist(os.Remove(p)); err != nil {
		return fmt.Errorf("artifacts: delete %s/%s: %w", bucket, key, err)
	}
	dir := filepath.Dir(p)
	os.Remove(metaPath(p))
	if err := ignoreNotExist(syncDir(dir)); err != nil {
		return fmt.Errorf("artifacts: delete %s/%s: %w", bucket, key, err)
	}
	for dir != bdir && os.Remove(dir) == nil {
		dir = filepath.Dir(dir)
	}
	return nil
}

// missing converts the error of opening an object into ErrNotFound (and
// ErrNoSuchBucket if the bucket is missing) when it means the object does
// not exist.
func (s *Store) missing(bdir, bucket, key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || isNotDir(err) {
		if berr := checkBucket(bdir, bucket); berr != nil {
			return berr
		}
		return fmt.Errorf("%w: %s/%s", ErrNotFound, bucket, key)
	}
	return fmt.Errorf("artifacts: %s/%s: %w", bucket, key, err)
}

// checkBucket returns an error matching ErrNoSuchBucket and ErrNotFound if
// the bucket directory bdir does not exist.
func checkBucket(bdir, bucket string) error {
	fi, err := os.Stat(bdir)
	if err == nil && fi.IsDir() {
		return nil
	}
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s: %w", ErrNoSuchBucket, bucket, ErrNotFound)
	}
	return fmt.Errorf("artifacts: bucket %s: %w", bucket, err)
}

// syncDir fsyncs a directory so that entries created, renamed or removed in
// it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

func isNotDir(err error) bool { return errors.Is(err, syscall.ENOTDIR) }

func ignoreNotExist(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// hashingWriter writes to w and feeds the two hashes.
type hashingWriter struct {
	w       io.Writer
	sha, md hash.Hash
}

func (h hashingWriter) Write(p []byte) (int, error) {
	n, err := h.w.Write(p)
	h.sha.Write(p[:n])
	h.md.Write(p[:n])
	return n, err
}

// onlyReader hides any WriterTo of the wrapped reader so that io.CopyBuffer
// uses the given buffer.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// onlyWriter hides any ReaderFrom of the wrapped writer (such as
// *os.File's, which would allocate its own buffer) so that io.CopyBuffer
// uses the given buffer.
type onlyWriter struct{ w io.Writer }

func (o onlyWriter) Write(p []byte) (int, error) { return o.w.Write(p) }
