package jobs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pipewright/pipewright/artifacts"
)

// Cache is a set of a job's files that the server keeps between jobs (a
// CodeBuild project's LOCAL custom cache): restored into the workspace
// before the script runs, saved from it once the script has ended by
// itself (not when it was stopped or timed out).
type Cache struct {
	// Dir is the server's directory of the cache; it holds the files
	// as zips, one of the source directory's, one of HOME's.
	Dir string `json:"dir"`
	// Paths are patterns as Output.Files: relative to the source
	// directory, or to HOME when they start with "~/", "$HOME/" or
	// "/root/" (CodeBuild's images run as root). Other absolute paths are
	// not kept.
	Paths []string `json:"paths"`
}

// The two parts of a cache, by where their files live.
const (
	cacheSrc  = "src.zip"
	cacheHome = "home.zip"
)

// split sorts a cache's patterns by the directory they are relative to.
func (c *Cache) split() (src, home, ignored []string) {
	for _, p := range c.Paths {
		switch {
		case strings.HasPrefix(p, "~/"):
			home = append(home, p[2:])
		case strings.HasPrefix(p, "$HOME/"):
			home = append(home, p[len("$HOME/"):])
		case strings.HasPrefix(p, "/root/"):
			home = append(home, p[len("/root/"):])
		case strings.HasPrefix(p, "/"):
			ignored = append(ignored, p)
		default:
			src = append(src, p)
		}
	}
	return src, home, ignored
}

// restore extracts the cache into the source directory and HOME, and
// says what it did, for the job's log. A cache that cannot be read is
// skipped: it never fails the job.
func (c *Cache) restore(src, home string) string {
	n := 0
	for _, part := range []struct{ name, dir string }{{cacheSrc, src}, {cacheHome, home}} {
		zip := filepath.Join(c.Dir, part.name)
		if _, err := os.Stat(zip); errors.Is(err, os.ErrNotExist) {
			continue
		}
		got, err := artifacts.Unzip(zip, part.dir)
		if err != nil {
			return "The local cache could not be restored: " + err.Error()
		}
		n += got
	}
	if n == 0 {
		return "The local cache is empty."
	}
	return fmt.Sprintf("Restored %d files of the local cache.", n)
}

// save replaces the cache with the files of the source directory and HOME
// that its patterns match, and says what it did.
func (c *Cache) save(src, home string) string {
	srcPats, homePats, ignored := c.split()
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return "The local cache could not be saved: " + err.Error()
	}
	n := 0
	for _, part := range []struct {
		name, dir string
		pats      []string
	}{{cacheSrc, src, srcPats}, {cacheHome, home, homePats}} {
		got, err := c.savePart(part.name, part.dir, part.pats)
		if err != nil {
			return "The local cache could not be saved: " + err.Error()
		}
		n += got
	}
	msg := fmt.Sprintf("Saved %d files to the local cache.", n)
	if len(ignored) > 0 {
		msg += " Not kept (absolute paths outside HOME): " + strings.Join(ignored, ", ") + "."
	}
	return msg
}

// savePart writes one part of the cache atomically: a new zip renamed over
// the old one, or no zip when nothing matched.
func (c *Cache) savePart(name, dir string, pats []string) (int, error) {
	dst := filepath.Join(c.Dir, name)
	if len(pats) == 0 {
		os.Remove(dst)
		return 0, nil
	}
	tmp, err := os.CreateTemp(c.Dir, "."+name+"-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name())
	n, err := artifacts.ZipDir(dir, pats, tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	if n == 0 {
		os.Remove(dst)
		return 0, nil
	}
	return n, os.Rename(tmp.Name(), dst)
}
