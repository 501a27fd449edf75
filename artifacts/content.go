package artifacts

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// contentIDLen is the length of a content file's name: 16 random bytes, hex.
const contentIDLen = 32

var copyBufPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// contentPath is the file of the content id.
func (s *Store) contentPath(id string) string { return filepath.Join(s.data, id) }

// newContentID returns a new random content file name.
func newContentID() string {
	var b [contentIDLen / 2]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validContentID reports whether a file name under data is one newContentID
// makes.
func validContentID(name string) bool {
	if len(name) != contentIDLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// newContent makes a content file: fill writes it (as a temporary file),
// then it is fsynced and renamed to its id, and the rename made durable.
// When fill or anything else fails, nothing is left behind. The caller
// commits metadata naming the id, or removes the file.
func (s *Store) newContent(fill func(f *os.File) error) (string, error) {
	f, err := os.CreateTemp(s.data, tmpPrefix+"*")
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := fill(f); err != nil {
		return "", err
	}
	if err := f.Sync(); err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	id := newContentID()
	if err := os.Rename(tmp, s.contentPath(id)); err != nil {
		return "", err
	}
	done = true
	if err := syncDir(s.data); err != nil {
		os.Remove(s.contentPath(id))
		return "", err
	}
	return id, nil
}

// writebackStep is how much of a content file being written may wait in
// the page cache before its writeback is started.
const writebackStep = 8 << 20

// streamContent makes a content file of what r yields, through d, never
// holding more than a buffer of it in memory. size is the length announced
// (-1 unknown): a body shorter or longer is a SizeError, and reading stops
// one byte past it. check runs once the body ended, to compare digests.
// A Read error of r is returned wrapped with %w.
func (s *Store) streamContent(r io.Reader, size int64, d *digester, check func() error) (string, error) {
	return s.newContent(func(f *os.File) error {
		limit := int64(-1)
		if size >= 0 {
			limit = size + 1
		}
		var written, flushed int64
		write := func(p []byte) error {
			n, err := f.Write(p)
			written += int64(n)
			if written-flushed >= writebackStep {
				startWriteback(f, flushed, written-flushed)
				flushed = written
			}
			return err
		}
		n, err := pipeCopy(r, limit, append(d.stages(), write)...)
		d.n += n
		if err != nil {
			return err
		}
		if size >= 0 && d.n != size {
			return &SizeError{Want: size, Got: d.n}
		}
		if check != nil {
			return check()
		}
		return nil
	})
}

// digestContent feeds the content file id through d.
func (s *Store) digestContent(id string, d *digester) error {
	f, err := os.Open(s.contentPath(id))
	if err != nil {
		return err
	}
	defer f.Close()
	return digestFile(f, d)
}

// digestFile feeds the whole of f, from its start, through d.
func digestFile(f *os.File, d *digester) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	return d.copyFrom(io.NewSectionReader(f, 0, fi.Size()), -1)
}

// removeContent removes content files nothing names any more; a failure
// leaves a file that the next Open removes.
func (s *Store) removeContent(ids ...string) {
	for _, id := range ids {
		if id != "" {
			os.Remove(s.contentPath(id))
		}
	}
}

// orphans returns those of ids (ignoring "" and repeats) that nothing in
// tx names any more: the files to remove once tx commits.
func orphans(tx IndexTx, ids ...string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, id := range ids {
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		named, err := tx.ContentNamed(id)
		if err != nil {
			return nil, err
		}
		if !named {
			out = append(out, id)
		}
	}
	return out, nil
}

// onlyWriter hides any ReaderFrom of the wrapped writer (such as
// *os.File's, which would allocate its own buffer) so that io.CopyBuffer
// uses the given buffer.
type onlyWriter struct{ w io.Writer }

func (o onlyWriter) Write(p []byte) (int, error) { return o.w.Write(p) }
