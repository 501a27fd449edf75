package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// DeleteGroup deletes the jobs of an owner's group with their logs and
// workspaces; those that run are terminated first and forgotten when they
// end (their owner is not told).
func (m *Manager) DeleteGroup(ctx context.Context, owner, group string) error {
	var js []*Job
	if err := m.cfg.Store.View(ctx, func(tx Tx) error {
		var err error
		js, err = tx.ListJobsInGroup(owner, group)
		return err
	}); err != nil {
		return err
	}
	for _, j := range js {
		if lj := m.reg.get(j.ID); lj != nil {
			lj.mu.Lock()
			lj.forget = true
			lj.mu.Unlock()
			lj.order(&stopOrder{status: StatusStopped, reason: ReasonStopped, text: "what it was for was deleted"}, m.cfg.Grace)
			continue
		}
		m.forget(j.ID, j.LogPath)
	}
	return nil
}

// Groups names the groups an owner has jobs in, so that it can delete
// those whose purpose is gone.
func (m *Manager) Groups(ctx context.Context, owner string) ([]string, error) {
	var gs []string
	err := m.cfg.Store.View(ctx, func(tx Tx) error {
		var err error
		gs, err = tx.ListGroups(owner)
		return err
	})
	return gs, err
}

// pruneEvery is how often ended jobs older than the retention are deleted.
const pruneEvery = time.Hour

// pruneLoop deletes ended jobs older than the retention, with their logs,
// at start and then every pruneEvery, until Close.
func (m *Manager) pruneLoop() {
	defer close(m.pruneDone)
	if m.cfg.Retention <= 0 {
		<-m.stopPrune
		return
	}
	t := time.NewTicker(pruneEvery)
	defer t.Stop()
	for {
		m.Prune(context.Background(), m.now().Add(-m.cfg.Retention))
		select {
		case <-m.stopPrune:
			return
		case <-t.C:
		}
	}
}

// Prune deletes the jobs that ended before t, with their logs, and returns
// how many. Logs go first, so a crash in between leaves only records,
// which the next prune deletes.
func (m *Manager) Prune(ctx context.Context, before time.Time) int {
	n := 0
	for {
		var old []*Job
		if err := m.cfg.Store.View(ctx, func(tx Tx) error {
			var err error
			old, err = tx.ListEndedBefore(before, 100)
			return err
		}); err != nil {
			m.log.Warn("jobs: prune", "err", err)
			return n
		}
		if len(old) == 0 {
			return n
		}
		for _, j := range old {
			if err := m.forget(j.ID, j.LogPath); err != nil {
				return n
			}
			n++
		}
		select {
		case <-m.stopPrune:
			return n
		default:
		}
	}
}

// Forget deletes an ended job's record and its log (a job still running is
// left alone: stop it first). A job that does not exist is no error; a log
// its owner wrote for it (NoteWithout) is deleted then.
func (m *Manager) Forget(ctx context.Context, id string) error {
	j, err := m.Get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		// Its owner may have written its log without it (NoteWithout).
		return removeLog(m.LogPath(id))
	}
	if err != nil {
		return err
	}
	if !j.Status.Terminal() {
		return fmt.Errorf("jobs: job %s is %s, not ended", id, j.Status)
	}
	return m.forget(id, j.LogPath)
}

// NoteWithout writes a line of pipewright's own to the log of a job that
// was never submitted (its owner failed before it could start it), so
// that whoever follows the log reads why. Forget deletes it.
func (m *Manager) NoteWithout(id, text string) error {
	return appendNote(m.LogPath(id), m.now(), text)
}
