// Package codepipeline is pipewright's AWS CodePipeline: the API operations,
// the execution state machine and the engine handler that runs pipelines
// with real source, commands and approval actions.
package codepipeline

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/pipewright/pipewright/artifacts"
	"github.com/pipewright/pipewright/codebuild"
	"github.com/pipewright/pipewright/codedeploy"
	"github.com/pipewright/pipewright/engine"
	"github.com/pipewright/pipewright/jobs"
)

// Config is what the service is built from.
type Config struct {
	Store  Store
	Engine *engine.Engine
	Jobs   *jobs.Manager
	// Builds runs the builds of CodeBuild actions (nil: they fail).
	Builds *codebuild.Service
	// Deploys runs the deployments of CodeDeploy actions (nil: they fail).
	Deploys *codedeploy.Service
	// Logs serves the logs of Commands actions as CloudWatch Logs streams
	// (nil: none).
	Logs      LogStreams
	Artifacts *artifacts.Store
	GitRoot   string // CodeCommit repositories are git repositories GitRoot/NAME
	TempDir   string // scratch files (artifacts being written)
	Region    string
	AccountID string
	// Timeouts overrides the time an action of a kind may run before it
	// fails (the zero value: AWS's, see actionTimeout); for tests.
	Timeouts Timeouts
	// Retention is how long ended executions are kept with their
	// artifacts (zero: for ever).
	Retention time.Duration
	Now       func() time.Time
	Log       *slog.Logger
}

// Service implements the CodePipeline operations and runs executions.
type Service struct {
	cfg     Config
	store   Store
	engine  *engine.Engine
	jobs    *jobs.Manager
	builds  *codebuild.Service
	deploys *codedeploy.Service
	log     *slog.Logger
	tasks   *tasks

	defsMu sync.Mutex
	defs   map[defKey]*definition

	state stateCache

	archivesMu sync.Mutex
	archives   map[archiveKey]ArtifactRef

	collector *collector
}

// LogStreams is what the service needs of CloudWatch Logs.
type LogStreams interface {
	// Attach makes a log file readable as a group's stream.
	Attach(ctx context.Context, group, stream, filePath string, created time.Time) error
	// DeleteGroup deletes a group and its streams.
	DeleteGroup(ctx context.Context, group string) error
}

// commandsLogGroup is the log group of a pipeline's Commands actions; each
// action execution's log is the stream named by its id.
func commandsLogGroup(pipeline string) string { return "/aws/codepipeline/" + pipeline }

// jobOwner is the name the service submits its jobs under.
const jobOwner = "codepipeline"

// New returns the service; Start begins running executions.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Service{
		cfg: cfg, store: cfg.Store, engine: cfg.Engine, jobs: cfg.Jobs, builds: cfg.Builds, deploys: cfg.Deploys, log: cfg.Log, tasks: newTasks(),
		defs: map[defKey]*definition{}, archives: map[archiveKey]ArtifactRef{},
	}
	s.collector = newCollector(s)
	s.state.init()
	cfg.Engine.Register(kindPipeline, s.reconcile)
	cfg.Jobs.Register(jobOwner, jobHandler{s})
	if cfg.Builds != nil {
		cfg.Builds.OnPipelineBuildEnd(s.buildEnded)
	}
	return s
}

// Start wakes every pipeline that has active executions, so that work
// recorded before a restart carries on, deletes what deleted pipelines
// left behind, and starts the pruning of old history. Call it after the
// job layer and the engine started.
func (s *Service) Start(ctx context.Context) error {
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
	if err := s.forgetDeletedJobs(ctx); err != nil {
		return err
	}
	s.collector.start()
	return nil
}

// Close cancels the source actions this life runs (the next life runs
// them again) and stops the collector. The job layer terminates and
// records the jobs itself. Call it before stopping the engine.
func (s *Service) Close() {
	s.tasks.closeAll()
	s.collector.close()
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
