package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/pipewright/pipewright/artifacts"
	"github.com/pipewright/pipewright/runner"
)

// Config is what a Manager is built from.
type Config struct {
	Store     Store
	Runner    *runner.Runner
	Artifacts *artifacts.Store
	// WorkDir holds the workspaces, LogDir the logs.
	WorkDir, LogDir string
	// Hide lists the directories no job may see (the data directory); the
	// job's own workspace under it stays visible.
	Hide []string
	// Boot identifies this life of the server.
	Boot string
	// Grace is the SIGTERM to SIGKILL delay when a job is terminated.
	Grace time.Duration
	// Retention is how long ended jobs and their logs are kept (zero:
	// for ever).
	Retention time.Duration
	// StoreRetry bounds how long a failing store write (a full disk) is
	// retried before the job layer gives up on it (zero: 10 s).
	StoreRetry time.Duration
	Now        func() time.Time
	Log        *slog.Logger
}

// Owner is a service that submits jobs.
type Owner interface {
	// Wanted reports whether the job should still start its process; it
	// is asked just before, so that work whose purpose is gone (a deleted
	// pipeline, an abandoned action) never starts.
	Wanted(ctx context.Context, j *Job) bool
	// Ended is told of a job's terminal record, once it is committed. It
	// may be told more than once of one job (after a restart) and must
	// not block for long.
	Ended(j *Job)
}

// Manager runs jobs. Register every owner, then Start, before any Submit.
type Manager struct {
	cfg    Config
	log    *slog.Logger
	reg    *registry
	owners map[string]Owner

	trash       chan string
	janitorDone chan struct{}
	stopPrune   chan struct{}
	pruneDone   chan struct{}
	started     atomic.Bool
	closeOnce   sync.Once
}

// New returns a Manager; its janitor runs from now on.
func New(cfg Config) *Manager {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Grace <= 0 {
		cfg.Grace = runner.DefaultGrace
	}
	if cfg.StoreRetry <= 0 {
		cfg.StoreRetry = defaultStoreRetry
	}
	m := &Manager{
		cfg: cfg, log: cfg.Log, reg: newRegistry(), owners: map[string]Owner{},
		trash: make(chan string, 4096), janitorDone: make(chan struct{}),
		stopPrune: make(chan struct{}), pruneDone: make(chan struct{}),
	}
	go m.janitor()
	return m
}

// Register names the owner of jobs submitted as owner.
func (m *Manager) Register(owner string, o Owner) { m.owners[owner] = o }

func (m *Manager) now() time.Time { return m.cfg.Now().UTC().Truncate(time.Millisecond) }

// Submit returns the job of the owner's token, creating and starting it
// when there is none. A token names one job for ever: calling Submit again
// with it (after a crash between deciding to start work and starting it)
// returns the job the first call made, whatever became of it.
func (m *Manager) Submit(ctx context.Context, owner, token, group string, spec Spec) (*Job, error) {
	if token == "" {
		return nil, errors.New("jobs: empty client token")
	}
	var j *Job
	created := false
	err := m.cfg.Store.Progress(ctx, func(tx Tx) error {
		prev, err := tx.GetJobByToken(owner, token)
		if err == nil {
			j, created = prev, false
			return nil
		}
		if !errors.Is(err, ErrNotFound) {
			return err
		}
		id := IDFor(owner, token)
		j = &Job{
			ID: id, Owner: owner, Token: token, Group: group, Spec: spec, Status: StatusPending,
			LogPath: m.LogPath(id), Boot: m.cfg.Boot, Created: m.now(),
		}
		created = true
		return tx.CreateJob(j)
	})
	if err != nil {
		return nil, err
	}
	if created {
		m.launch(j)
	}
	return j, nil
}

// jobIDSpace is the namespace of job ids derived from client tokens.
var jobIDSpace = uuid.MustParse("6f1d4c7e-2b8a-4e55-9c3d-8a0f5e2b7d41")

// IDFor is the id of the job an owner's client token makes: derived from
// the token, so that an owner knows it (and can show it, or find the job's
// log) before the job exists.
func IDFor(owner, token string) string {
	return uuid.NewSHA1(jobIDSpace, []byte(owner+"\x00"+token)).String()
}

// LogPath is the file that holds (or will hold) a job's log.
func (m *Manager) LogPath(id string) string { return filepath.Join(m.cfg.LogDir, id+".log") }

// Get returns a job.
func (m *Manager) Get(ctx context.Context, id string) (*Job, error) {
	var j *Job
	err := m.cfg.Store.View(ctx, func(tx Tx) error {
		var err error
		j, err = tx.GetJob(id)
		return err
	})
	return j, err
}

// ByToken returns the job an owner's client token made.
func (m *Manager) ByToken(ctx context.Context, owner, token string) (*Job, error) {
	var j *Job
	err := m.cfg.Store.View(ctx, func(tx Tx) error {
		var err error
		j, err = tx.GetJobByToken(owner, token)
		return err
	})
	return j, err
}

// Stop terminates a job (SIGTERM to its tree, SIGKILL after the grace);
// it ends Stopped with reason as its stop reason, unless it ended first.
// A job whose process has not started yet never starts it.
func (m *Manager) Stop(ctx context.Context, id, reason string) error {
	o := &stopOrder{status: StatusStopped, reason: ReasonStopped, text: reason}
	if lj := m.reg.get(id); lj != nil {
		lj.order(o, m.cfg.Grace)
		return nil
	}
	j, err := m.commit(id, func(j *Job) bool {
		if j.Status.Terminal() {
			return false
		}
		m.endRecord(j, o.status, o.reason, stopMessage(o.text))
		j.StopReason = o.text
		return true
	})
	if err == nil && j != nil && j.Status == StatusStopped {
		m.notify(j)
	}
	return err
}

// Note adds a line of pipewright's own to the end of a job's log: written
// when the job ends if it runs, at once otherwise.
func (m *Manager) Note(ctx context.Context, id, text string) error {
	if lj := m.reg.get(id); lj != nil {
		lj.mu.Lock()
		lj.endNotes = append(lj.endNotes, text)
		lj.mu.Unlock()
		return nil
	}
	j, err := m.Get(ctx, id)
	if err != nil {
		return err
	}
	return appendNote(j.LogPath, m.now(), text)
}

// Close terminates every job of this life (they end Failed with reason
// shutdown), waits until each recorded its end or the bound passes, and
// stops the janitor. Call it before closing the store.
func (m *Manager) Close() {
	m.closeOnce.Do(func() {
		close(m.stopPrune)
		o := &stopOrder{status: StatusFailed, reason: ReasonShutdown, text: "the pipewright server was shut down"}
		for _, id := range m.reg.close() {
			if lj := m.reg.get(id); lj != nil {
				lj.order(o, m.cfg.Grace)
			}
		}
		done := make(chan struct{})
		go func() { m.reg.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(m.cfg.Grace + closeBound):
			m.log.Error("jobs: shutdown gave up waiting for jobs to record their end; the next start fails them as lost", "waited", m.cfg.Grace+closeBound)
		}
		if m.started.Load() {
			<-m.pruneDone
		}
		close(m.trash)
		<-m.janitorDone
	})
}

// closeBound is how long Close waits for terminated jobs beyond the grace:
// the runner's SIGKILL bound plus time to record the ends.
const closeBound = 45 * time.Second

// Messages of the ends pipewright imposes.
const (
	MessageShutdown = "The pipewright server was shut down while this job was running; its process tree was terminated."
	MessageLost     = "The pipewright server stopped while this job was running and its process did not survive."
)

func stopMessage(reason string) string {
	if reason == "" {
		return "The job was stopped; its process tree was terminated."
	}
	return fmt.Sprintf("The job was stopped (%s); its process tree was terminated.", reason)
}

func timeoutMessage(d time.Duration) string {
	return fmt.Sprintf("The job did not finish within its timeout of %s; its process tree was terminated.", d)
}

// endRecord moves a record to a terminal status.
func (m *Manager) endRecord(j *Job, s Status, r Reason, msg string) {
	j.Status, j.Reason, j.Message, j.Ended = s, r, msg, m.now()
}

// notify tells the job's owner of its end.
func (m *Manager) notify(j *Job) {
	if o := m.owners[j.Owner]; o != nil {
		o.Ended(j)
	}
}

// Store writes that fail (a full disk) are retried for at most
// Config.StoreRetry, so nothing waits for ever on the store.
const defaultStoreRetry = 10 * time.Second

// commit applies change to the job's latest record and stores it, retrying
// lost compare-and-sets and, for a bounded time, store errors. change
// reports whether there is anything to store. It returns the record as
// stored (nil and ErrNotFound for a deleted job).
func (m *Manager) commit(id string, change func(*Job) bool) (*Job, error) {
	deadline := time.Now().Add(m.cfg.StoreRetry)
	backoff := 20 * time.Millisecond
	for {
		var out *Job
		err := m.cfg.Store.Progress(context.Background(), func(tx Tx) error {
			j, err := tx.GetJob(id)
			if err != nil {
				return err
			}
			out = j
			if !change(j) {
				return nil
			}
			return tx.UpdateJob(j)
		})
		switch {
		case err == nil:
			return out, nil
		case errors.Is(err, ErrConflict):
			continue
		case errors.Is(err, ErrNotFound):
			return nil, err
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("jobs: recording job %s: %w", id, err)
		}
		time.Sleep(backoff)
		backoff = min(2*backoff, time.Second)
	}
}

// removeLog deletes a job's log file.
func removeLog(path string) error {
	if path == "" {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
