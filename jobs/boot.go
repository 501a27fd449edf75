package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/pipewright/pipewright/runner"
)

// Start begins this server life: it terminates every process tree of this
// data directory left by an earlier life (no job of this life runs yet),
// deletes their workspaces, applies the boot rule to the jobs an earlier
// life left active, and starts the pruning of old jobs. Register every
// owner before Start, and call it before any Submit.
func (m *Manager) Start(ctx context.Context) error {
	if _, err := m.cfg.Runner.Sweep(); err != nil {
		m.log.Warn("jobs: sweeping the trees of an earlier life", "err", err)
	}
	m.removeWorkspaces()
	var active []*Job
	if err := m.cfg.Store.View(ctx, func(tx Tx) error {
		var err error
		active, err = tx.ListActiveJobs()
		return err
	}); err != nil {
		return err
	}
	for _, j := range active {
		if j.Boot == m.cfg.Boot {
			continue
		}
		if err := m.carryOver(j); err != nil {
			return err
		}
	}
	m.started.Store(true)
	go m.pruneLoop()
	return nil
}

// carryOver applies the boot rule to a job of an earlier life: a job whose
// process started died with that life (what is left of its tree is killed)
// and fails as lost; a job that never got its process starts now.
func (m *Manager) carryOver(j *Job) error {
	if j.Status == StatusPending {
		rec, err := m.commit(j.ID, func(cur *Job) bool {
			if cur.Status != StatusPending {
				return false
			}
			cur.Boot = m.cfg.Boot
			return true
		})
		if err != nil {
			return err
		}
		if rec.Status == StatusPending {
			m.launch(rec)
		}
		return nil
	}
	m.reap(j)
	rec, err := m.commit(j.ID, func(cur *Job) bool {
		if cur.Status != StatusRunning || cur.Boot == m.cfg.Boot {
			return false
		}
		m.endRecord(cur, StatusFailed, ReasonLost, MessageLost)
		return true
	})
	if err != nil {
		return err
	}
	if rec.Status.Terminal() {
		appendNote(rec.LogPath, m.now(), fmt.Sprintf("The pipewright server stopped while this job was running (it was found at the next start, %s); its process tree did not survive.", m.now().Format(time.RFC3339)))
		m.notify(rec)
	}
	return nil
}

// reap kills what is left of a job's tree from an earlier life, found by
// its recorded handle (the sweep found those in this scope already).
func (m *Manager) reap(j *Job) {
	h := runner.Handle{ID: j.ID}
	if len(j.Handle) > 0 {
		if err := json.Unmarshal(j.Handle, &h); err != nil {
			m.log.Error("jobs: bad process handle", "jobId", j.ID, "err", err)
			h = runner.Handle{ID: j.ID}
		}
	}
	if err := m.cfg.Runner.Reap(h); err != nil {
		m.log.Warn("jobs: reap", "jobId", j.ID, "err", err)
	}
}
