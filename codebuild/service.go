// Package codebuild is pipewright's AWS CodeBuild: projects, and builds that
// run buildspecs as real process trees through the job layer, with AWS's
// phases, queue, limits, timeouts and StopBuild rules.
package codebuild

import (
	"context"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pipewright/pipewright/artifacts"
	"github.com/pipewright/pipewright/jobs"
)

// Config is what the service is built from.
type Config struct {
	Store     Store
	Jobs      *jobs.Manager
	Artifacts *artifacts.Store
	// Logs is the CloudWatch Logs service that serves build logs (nil:
	// none).
	Logs LogStreams
	// GitRoot holds the repositories CODECOMMIT sources name: repository
	// NAME is GitRoot/NAME.
	GitRoot string
	// CacheDir holds the projects' LOCAL caches, one directory each.
	CacheDir string
	// TempDir holds scratch files (source archives being written).
	TempDir   string
	Region    string
	AccountID string
	// MaxBuilds is how many builds run at once (zero: 4 per core); more
	// wait QUEUED, at most 5 times as many.
	MaxBuilds int
	// Users says who builds run as and whom run-as may name (see
	// ResolveUsers).
	Users Users
	// BaseURL returns the server's own URL, for the links builds carry
	// (nil or "": http://localhost).
	BaseURL func() string
	// Minute is how long a minute of timeoutInMinutes and
	// queuedTimeoutInMinutes lasts (zero: a minute); for tests.
	Minute time.Duration
	Now    func() time.Time
	Log    *slog.Logger
}

// LogStreams is what the service needs of CloudWatch Logs: to make a
// build's log file readable as its group's stream.
type LogStreams interface {
	Attach(ctx context.Context, group, stream, filePath string, created time.Time) error
	Detach(ctx context.Context, group, stream string) error
}

// Service implements the CodeBuild operations and runs builds.
type Service struct {
	cfg   Config
	store Store
	jobs  *jobs.Manager
	log   *slog.Logger

	listeners pipelineListeners

	wake      chan struct{}
	done      chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
	ctx       context.Context
	cancel    context.CancelFunc

	// finishHook, when set by a test, is called instead of recording a
	// build's job end, with the function that records it, so that a test
	// can put a StopBuild in between.
	finishHook atomic.Pointer[func(j *jobs.Job, record func())]
}

// jobOwner is the name the service submits its jobs under.
const jobOwner = "codebuild"

// New returns the service; Start begins running builds.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Minute <= 0 {
		cfg.Minute = time.Minute
	}
	if cfg.MaxBuilds <= 0 {
		cfg.MaxBuilds = 4 * runtime.NumCPU()
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{cfg: cfg, store: cfg.Store, jobs: cfg.Jobs, log: cfg.Log,
		wake: make(chan struct{}, 1), done: make(chan struct{}), closed: make(chan struct{}), ctx: ctx, cancel: cancel}
	cfg.Jobs.Register(jobOwner, jobHandler{s})
	return s
}

// Start carries on the builds an earlier life left (queued ones wait on,
// those whose job ended are completed) and starts the scheduler.
func (s *Service) Start(ctx context.Context) error {
	go s.schedule()
	s.poke()
	return nil
}

// Close stops the scheduler. Running builds end with the job layer's
// shutdown.
func (s *Service) Close() {
	s.closeOnce.Do(func() {
		s.cancel()
		close(s.closed)
		<-s.done
	})
}

// poke wakes the scheduler.
func (s *Service) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Service) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Millisecond) }

// baseURL is the server's own URL.
func (s *Service) baseURL() string {
	if s.cfg.BaseURL != nil {
		if u := s.cfg.BaseURL(); u != "" {
			return u
		}
	}
	return "http://localhost"
}
