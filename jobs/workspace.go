package jobs

import (
	"os"
	"path/filepath"
	"time"
)

// workspace is the directory a job works in.
func (m *Manager) workspace(id string) string { return filepath.Join(m.cfg.WorkDir, id) }

// Workspace is the directory job id works in while it runs: its process
// can write there, and its owner may read what Spec.Keep names (see
// ReadKept) while it runs. It is discarded when the job ends.
func (m *Manager) Workspace(id string) string { return m.workspace(id) }

// trashDir is where discarded workspaces wait for the janitor.
func (m *Manager) trashDir() string { return filepath.Join(m.cfg.WorkDir, ".trash") }

// discard moves a directory out of the way at once (one rename) and leaves
// its deletion to the janitor.
func (m *Manager) discard(dir string) {
	if dir != m.trashDir() {
		if err := os.MkdirAll(m.trashDir(), 0o700); err == nil {
			dst := filepath.Join(m.trashDir(), filepath.Base(dir))
			if os.Rename(dir, dst) == nil {
				dir = dst
			} else if _, err := os.Lstat(dir); err != nil {
				return
			}
		}
	}
	select {
	case m.trash <- dir:
	default:
		os.RemoveAll(dir)
	}
}

// removeWorkspaces discards every workspace in WorkDir: at start, when no
// job of this life runs yet, they are all left over from an earlier life.
func (m *Manager) removeWorkspaces() {
	entries, err := os.ReadDir(m.cfg.WorkDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		m.discard(filepath.Join(m.cfg.WorkDir, e.Name()))
	}
}

// Deleting waits for a quiet moment: no job started or ended for
// trashQuiet, unless more than maxTrash directories wait.
const (
	trashQuiet = 500 * time.Millisecond
	maxTrash   = 256
)

// janitor deletes discarded directories one at a time, when no job starts
// or ends, so that unlinking many files does not stall the disk the store
// fsyncs on while work runs. What is left at Close is deleted at the next
// start.
func (m *Manager) janitor() {
	defer close(m.janitorDone)
	var pending []string
	tick := time.NewTicker(trashQuiet / 5)
	defer tick.Stop()
	for {
		select {
		case dir, ok := <-m.trash:
			if !ok {
				return
			}
			pending = append(pending, dir)
		case <-tick.C:
		}
		for len(pending) > 0 && (len(pending) > maxTrash || time.Since(m.reg.lastActivity()) >= trashQuiet) {
			os.RemoveAll(pending[0])
			pending = pending[1:]
		}
	}
}
