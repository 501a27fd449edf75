// Package codepipeline is pipewright's AWS CodePipeline: the API operations,
// the execution state machine and the engine handler that runs pipelines
// with real source, commands and approval actions.
package codepipeline

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/pipewright/pipewright/artifacts"
	"github.com/pipewright/pipewright/engine"
	"github.com/pipewright/pipewright/runner"
)

// Config is what the service is built from.
type Config struct {
	Store     Store
	Engine    *engine.Engine
	Runner    *runner.Runner
	Artifacts *artifacts.Store
	GitRoot   string   // CodeCommit repositories are git repositories GitRoot/NAME
	WorkDir   string   // workspaces of running actions
	LogDir    string   // logs of job actions
	Hide      []string // directories jobs must not see (the data directory); each job's workspace stays visible
	Region    string
	AccountID string
	StopGrace time.Duration // SIGTERM → SIGKILL delay when jobs are terminated
	Now       func() time.Time
	Log       *slog.Logger
}

// Service implements the CodePipeline operations and runs executions.
type Service struct {
	cfg    Config
	store  Store
	engine *engine.Engine
	log    *slog.Logger
	jobs   *jobs

	defsMu sync.Mutex
	defs   map[defKey]*definition

	state stateCache

	archivesMu sync.Mutex
	archives   map[archiveKey]ArtifactRef

	trash       chan string
	janitorDone chan struct{}
}

// New returns the service; Start begins running executions.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Service{
		cfg: cfg, store: cfg.Store, engine: cfg.Engine, log: cfg.Log,
		jobs: &jobs{runner: cfg.Runner, grace: cfg.StopGrace, log: cfg.Log, live: map[string]*liveJob{}},
		defs: map[defKey]*definition{}, archives: map[archiveKey]ArtifactRef{},
		trash: make(chan string, 4096), janitorDone: make(chan struct{}),
	}
	go s.janitor()
	s.state.init()
	cfg.Engine.Register(kindPipeline, s.reconcile)
	return s
}

// Start wakes every pipeline that has active executions, so that work
// recorded before a restart carries on. Call it after the engine started.
func (s *Service) Start(ctx context.Context) error {
	s.removeWorkspaces()
	var names []string
	if err := s.store.View(ctx, func(tx Tx) error {
		var err error
		names, err = tx.PipelinesWithActiveExecutions()
		return err
	}); err != nil {
		return err
	}
	for _, n := range names {
		s.engine.Wake(kindPipeline, n)
	}
	return nil
}

// Close terminates the job actions of this life and waits until each has
// recorded how it ended. Call it before stopping the engine.
func (s *Service) Close() {
	s.jobs.closeAll()
	close(s.trash)
	<-s.janitorDone
}

func (s *Service) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Millisecond) }

// changed is called after every commit that changed a pipeline's state.
func (s *Service) changed(pipeline string) { s.state.invalidate(pipeline) }

// wake asks the engine to reconcile a pipeline after a change.
func (s *Service) wake(pipeline string) {
	s.changed(pipeline)
	s.engine.Wake(kindPipeline, pipeline)
}

func newUUID() string { return uuid.NewString() }

// removeWorkspaces deletes the workspaces an earlier life left behind: its
// job actions are failed (or were recorded) and nothing will use them.
func (s *Service) removeWorkspaces() {
	if s.cfg.WorkDir == "" {
		return
	}
	entries, err := os.ReadDir(s.cfg.WorkDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		s.discard(filepath.Join(s.cfg.WorkDir, e.Name()))
	}
}

// trashDir is where discarded workspaces wait for the janitor.
func (s *Service) trashDir() string { return filepath.Join(s.cfg.WorkDir, ".trash") }

// discard moves a directory out of the way at once (one rename) and leaves
// its deletion to the janitor.
func (s *Service) discard(dir string) {
	if dir == s.trashDir() {
		s.trash <- dir
		return
	}
	if err := os.MkdirAll(s.trashDir(), 0o700); err == nil {
		dst := filepath.Join(s.trashDir(), filepath.Base(dir))
		if os.Rename(dir, dst) == nil {
			dir = dst
		} else if _, err := os.Stat(dir); err != nil {
			return
		}
	}
	select {
	case s.trash <- dir:
	default:
		os.RemoveAll(dir)
	}
}

// Deleting waits for a quiet moment: no job started or ended for
// trashQuiet, unless more than maxTrash directories wait.
const (
	trashQuiet = 500 * time.Millisecond
	maxTrash   = 256
)

// janitor deletes discarded directories one at a time, when no job starts
// or ends, so that unlinking does not slow down the work that runs. What
// is left at Close is deleted at the next start.
func (s *Service) janitor() {
	defer close(s.janitorDone)
	var pending []string
	tick := time.NewTicker(trashQuiet / 5)
	defer tick.Stop()
	for {
		select {
		case dir, ok := <-s.trash:
			if !ok {
				return
			}
			pending = append(pending, dir)
		case <-tick.C:
		}
		for len(pending) > 0 && (len(pending) > maxTrash || time.Since(s.jobs.lastActivity()) >= trashQuiet) {
			os.RemoveAll(pending[0])
			pending = pending[1:]
		}
	}
}
