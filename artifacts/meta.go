package artifacts

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// meta is the content of a sidecar: the hashes of an object and the
// identity of the file they were computed for.
type meta struct {
	ino    uint64
	size   int64
	mtime  int64 // UnixNano
	sha256 string
	md5    string
}

const metaMagic = "pipewright-object-v1"

// metaPath returns the sidecar path of the object file p.
func metaPath(p string) string {
	return filepath.Join(filepath.Dir(p), metaPrefix+filepath.Base(p))
}

func (m meta) encode() []byte {
	return fmt.Appendf(nil, "%s %d %d %d %s %s\n", metaMagic, m.ino, m.size, m.mtime, m.sha256, m.md5)
}

// parseMeta parses a sidecar, refusing anything not exactly in the format
// encode writes (a torn write must not pass for valid metadata).
func parseMeta(b []byte) (meta, bool) {
	s, ok := strings.CutSuffix(string(b), "\n")
	if !ok {
		return meta{}, false
	}
	f := strings.Split(s, " ")
	if len(f) != 6 || f[0] != metaMagic || len(f[4]) != 64 || len(f[5]) != 32 {
		return meta{}, false
	}
	var m meta
	var err1, err2, err3 error
	m.ino, err1 = strconv.ParseUint(f[1], 10, 64)
	m.size, err2 = strconv.ParseInt(f[2], 10, 64)
	m.mtime, err3 = strconv.ParseInt(f[3], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || !isLowerHex(f[4]) || !isLowerHex(f[5]) {
		return meta{}, false
	}
	m.sha256, m.md5 = f[4], f[5]
	return m, true
}

func isLowerHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

// readMeta returns the sidecar of the object file p if it describes the
// file whose FileInfo is fi.
func readMeta(p string, fi os.FileInfo) (meta, bool) {
	b, err := os.ReadFile(metaPath(p))
	if err != nil {
		return meta{}, false
	}
	m, ok := parseMeta(b)
	if !ok || m.ino == 0 || m.ino != inode(fi) || m.size != fi.Size() || m.mtime != fi.ModTime().UnixNano() {
		return meta{}, false
	}
	return m, true
}

// writeMeta atomically replaces the sidecar of the object file p. It is
// best effort: on failure the hashes are recomputed when next needed.
func writeMeta(p string, m meta) {
	dir := filepath.Dir(p)
	f, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return
	}
	_, err = f.Write(m.encode())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), metaPath(p))
	}
	if err != nil {
		os.Remove(f.Name())
	}
}

func (m meta) object(fi os.FileInfo) Object {
	return Object{Size: m.size, SHA256: m.sha256, MD5: m.md5, Modified: fi.ModTime()}
}
