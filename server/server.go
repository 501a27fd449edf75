// Package server assembles pipewright: the store, the engine, the runner,
// the artifact store and the services behind the wire layer. The command and
// the tests build the same server with it.
package server

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/pipewright/pipewright/artifacts"
	"github.com/pipewright/pipewright/codebuild"
	cbshape "github.com/pipewright/pipewright/codebuild/shape"
	"github.com/pipewright/pipewright/codedeploy"
	"github.com/pipewright/pipewright/codedeploy/envelope"
	"github.com/pipewright/pipewright/codedeploy/hostcmd"
	cdshape "github.com/pipewright/pipewright/codedeploy/shape"
	"github.com/pipewright/pipewright/codepipeline"
	"github.com/pipewright/pipewright/codepipeline/shape"
	"github.com/pipewright/pipewright/engine"
	"github.com/pipewright/pipewright/jobs"
	cwlogs "github.com/pipewright/pipewright/logs"
	"github.com/pipewright/pipewright/runner"
	"github.com/pipewright/pipewright/s3"
	"github.com/pipewright/pipewright/sigv4"
	"github.com/pipewright/pipewright/store/sqlite"
	"github.com/pipewright/pipewright/wire"
)

// Config is what a server is built from.
type Config struct {
	Data            string // all state lives here
	GitRoot         string // default Data/git
	Region          string
	AccountID       string
	StopGrace       time.Duration
	AccessKeyID     string
	SecretAccessKey string
	Log             *slog.Logger
	// Containment forces the runner's method ("" = detect), for tests.
	Containment string
	// JobUser is who jobs run as when the server runs as root: NAME or UID,
	// optionally with :GROUP or :GID; empty means nobody (65534:65534). A
	// server that is not root runs jobs as its own user and refuses it.
	JobUser string
	// BuildUsers are the users, besides the job user, that a buildspec's
	// run-as may name (NAME or UID, optionally :GROUP or :GID); only a
	// server running as root may have them, and never root.
	BuildUsers []string
	// Isolation forces the runner's isolation mode ("" = detect), for tests.
	Isolation string
	// Now is the clock of the services (nil = time.Now), for tests.
	Now func() time.Time
	// Timeouts overrides CodePipeline's action timeouts, for tests.
	Timeouts codepipeline.Timeouts
	// Retention is how long ended executions, their artifacts and their
	// jobs' logs are kept (zero: for ever).
	Retention time.Duration
	// HTTP bounds what clients can hold of the server (zero = defaults).
	HTTP HTTPLimits
	// MaxBuilds is how many CodeBuild builds run at once (zero: 4 per
	// core); more wait QUEUED, up to five times as many.
	MaxBuilds int
	// BuildMinute is how long a minute of CodeBuild's timeouts lasts
	// (zero: a minute), for tests.
	BuildMinute time.Duration
	// HostPollWait bounds a CodeDeploy agent's PollHostCommand (zero:
	// hostcmd.DefaultPollWait), for tests.
	HostPollWait time.Duration
	// HostUpdateWait bounds how long a CodeDeploy agent's
	// PostHostCommandUpdate holds an InProgress answer (zero: HostPollWait,
	// itself hostcmd.DefaultUpdateWait when zero), for tests.
	HostUpdateWait time.Duration
	// DeployEventTimeout bounds a CodeDeploy lifecycle event handed to a
	// host (zero: codedeploy.DefaultEventTimeout), for tests.
	DeployEventTimeout time.Duration
}

// Server is a running pipewright.
type Server struct {
	cfg    Config
	log    *slog.Logger
	db     *sqlite.DB
	engine *engine.Engine
	runner *runner.Runner
	jobs   *jobs.Manager
	cp     *codepipeline.Service
	cb     *codebuild.Service
	logs   *cwlogs.Service
	hosts  *hostcmd.Service
	deploy *codedeploy.Service
	http   *httpFront
	lnMu   sync.Mutex
	ln     net.Listener
}

// Open builds a server over cfg.Data and starts carrying on the work that
// was recorded there; Serve then answers requests.
func Open(ctx context.Context, cfg Config) (*Server, error) {
	// Paths are made absolute: commands run in their own workspaces and
	// must see the same files the server does.
	var err error
	if cfg.Data, err = filepath.Abs(cfg.Data); err != nil {
		return nil, err
	}
	if cfg.GitRoot == "" {
		cfg.GitRoot = filepath.Join(cfg.Data, "git")
	}
	if cfg.GitRoot, err = filepath.Abs(cfg.GitRoot); err != nil {
		return nil, err
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if err := runner.ProtectServer(); err != nil {
		return nil, err
	}
	// The programs the server runs itself (git) do not inherit a key pair
	// given in the environment.
	os.Unsetenv("PIPEWRIGHT_ACCESS_KEY_ID")
	os.Unsetenv("PIPEWRIGHT_SECRET_ACCESS_KEY")
	jobUser, err := jobCredential(cfg.JobUser)
	if err != nil {
		return nil, err
	}
	work, logs := filepath.Join(cfg.Data, "work"), filepath.Join(cfg.Data, "logs")
	for _, d := range []string{cfg.Data, cfg.GitRoot, work, logs} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	dbPath := filepath.Join(cfg.Data, "pipewright.db")
	if err := ownerOnly(dbPath); err != nil {
		return nil, err
	}
	db, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		return nil, err
	}
	arts, err := artifacts.Open(filepath.Join(cfg.Data, "artifacts"), db.Objects())
	if err != nil {
		db.Close()
		return nil, err
	}
	run, err := runner.New(runner.Options{Grace: cfg.StopGrace, Logger: cfg.Log, Method: cfg.Containment, Scope: scopeOf(cfg.Data),
		Isolation: cfg.Isolation, JobUser: jobUser})
	if err == nil {
		// The data directory is the server's alone (an existing one made
		// looser is tightened). Without namespaces a job user must search,
		// not list, its way to its workspace; everything else in them is
		// 0700 or 0600.
		mode := os.FileMode(0o700)
		if run.Isolation() == runner.IsolationJobUser {
			mode = 0o711
		}
		for _, d := range []string{cfg.Data, work} {
			if err = os.Chmod(d, mode); err != nil {
				break
			}
		}
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	users, err := codebuild.ResolveUsers(cfg.BuildUsers, run)
	if err != nil {
		run.Close()
		db.Close()
		return nil, err
	}
	eng := engine.New(4, cfg.Log)
	jm := jobs.New(jobs.Config{
		Store: db.Jobs(), Runner: run, Artifacts: arts, WorkDir: work, LogDir: logs, Hide: []string{cfg.Data},
		Boot: eng.Boot(), Grace: cfg.StopGrace, Retention: cfg.Retention, Now: cfg.Now, Log: cfg.Log,
	})
	// CloudWatch Logs: the files of streams made through its API are
	// under DATA/cwlogs.
	lg, err := cwlogs.New(cwlogs.Config{Store: db.Logs(), Dir: filepath.Join(cfg.Data, "cwlogs"),
		Region: cfg.Region, AccountID: cfg.AccountID, Now: cfg.Now, Log: cfg.Log})
	if err != nil {
		db.Close()
		return nil, err
	}
	// CodeDeploy's host protocol: deployment specifications are signed by
	// the key and certificate kept in DATA/codedeploy.
	signer, err := envelope.Open(filepath.Join(cfg.Data, "codedeploy"))
	if err != nil {
		db.Close()
		return nil, err
	}
	deploy := codedeploy.New(codedeploy.Config{Store: db.CodeDeploy(), Artifacts: arts, Region: cfg.Region, AccountID: cfg.AccountID,
		EventTimeout: cfg.DeployEventTimeout, Now: cfg.Now, Log: cfg.Log})
	hosts := hostcmd.New(hostcmd.Config{Signer: signer, Commands: deploy.Commands(), Identify: deploy.Identify,
		PollWait:   holdWait(cfg.HostPollWait, hostcmd.DefaultPollWait, cfg.HTTP),
		UpdateWait: holdWait(cmp.Or(cfg.HostUpdateWait, cfg.HostPollWait), hostcmd.DefaultUpdateWait, cfg.HTTP)})
	s := &Server{cfg: cfg, log: cfg.Log, db: db, engine: eng, runner: run, jobs: jm, logs: lg}
	s.hosts, s.deploy = hosts, deploy
	s.cb = codebuild.New(codebuild.Config{
		Store: db.CodeBuild(), Jobs: jm, Artifacts: arts, Logs: lg, GitRoot: cfg.GitRoot, TempDir: work, CacheDir: filepath.Join(cfg.Data, "cache"),
		Region: cfg.Region, AccountID: cfg.AccountID, MaxBuilds: cfg.MaxBuilds, Users: users, Minute: cfg.BuildMinute, BaseURL: s.baseURL, Now: cfg.Now, Log: cfg.Log,
	})
	cp := codepipeline.New(codepipeline.Config{
		Store: db.CodePipeline(), Engine: eng, Jobs: jm, Builds: s.cb, Deploys: deploy, Logs: lg, Artifacts: arts,
		GitRoot: cfg.GitRoot, TempDir: work, Timeouts: cfg.Timeouts, Retention: cfg.Retention,
		Region: cfg.Region, AccountID: cfg.AccountID, Log: cfg.Log, Now: cfg.Now,
	})
	s.cp = cp
	auth := &authenticator{v: &sigv4.Verifier{Region: cfg.Region, Lookup: s.lookupKey}}
	api := wire.NewServer(auth, cfg.Log, &wire.Service{
		TargetPrefix: shape.TargetPrefix, SigningName: shape.SigningName,
		Ops: shape.Operations(cp), Known: shape.OperationNames,
	}, &wire.Service{
		TargetPrefix: cbshape.TargetPrefix, SigningName: cbshape.SigningName,
		Ops: cbshape.Operations(s.cb), Known: cbshape.OperationNames,
	}, &wire.Service{
		TargetPrefix: cdshape.TargetPrefix, SigningName: cdshape.SigningName,
		Ops: deploy.Operations(), Known: cdshape.OperationNames,
	}, lg.Wire(), hosts.Wire())
	objects := s3.New(s3.Config{Store: arts, Verifier: auth.v, Region: cfg.Region, AccountID: cfg.AccountID,
		BodyIdle: cfg.HTTP.withDefaults().ReadTimeout, Log: cfg.Log, Now: cfg.Now})
	s.http = newHTTPFront(api, objects, &links{auth: auth, cb: s.cb, logs: lg}, cfg.HTTP, cfg.Log)
	// The job layer starts first: it sweeps what an earlier life left
	// running before anything of this life starts.
	if err := jm.Start(ctx); err != nil {
		jm.Close()
		run.Close()
		db.Close()
		return nil, err
	}
	eng.Start()
	if err := s.cb.Start(ctx); err != nil {
		s.cb.Close()
		jm.Close()
		eng.Stop()
		run.Close()
		db.Close()
		return nil, err
	}
	if err := cp.Start(ctx); err != nil {
		s.cb.Close()
		cp.Close()
		jm.Close()
		eng.Stop()
		run.Close()
		db.Close()
		return nil, err
	}
	deploy.Start()
	return s, nil
}

// scopeOf names the process trees of one data directory among all those
// on the machine (see runner.Options.Scope): a server sweeps only the trees
// its own data directory's earlier lives left.
func scopeOf(data string) string {
	sum := sha256.Sum256([]byte(data))
	return "pw-" + hex.EncodeToString(sum[:8])
}

func (s *Server) lookupKey(id string) (string, bool) {
	if id == s.cfg.AccessKeyID {
		return s.cfg.SecretAccessKey, true
	}
	return "", false
}

// Logs is the CloudWatch Logs service, for the services that attach
// their jobs' log files to it.
func (s *Server) Logs() *cwlogs.Service { return s.logs }

// CodeBuild returns the CodeBuild service.
func (s *Server) CodeBuild() *codebuild.Service { return s.cb }

// Containment says how the runner contains process trees.
func (s *Server) Containment() string { return s.runner.Method() }

// Isolation says how the runner keeps jobs from the server's files and
// processes: "namespaces", "job-user" or "none".
func (s *Server) Isolation() string { return s.runner.Isolation() }

// ownerOnly makes the database file exist with mode 0600, and its WAL and
// shared-memory files too where they exist (SQLite creates those with the
// database file's mode): a job user that may pass through the data
// directory must not read them.
func ownerOnly(db string) error {
	f, err := os.OpenFile(db, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	for _, p := range []string{db, db + "-wal", db + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// jobCredential resolves Config.JobUser: nil (the server's own user) when
// the server is not root.
func jobCredential(name string) (*runner.Credential, error) {
	if os.Geteuid() != 0 {
		if name != "" {
			return nil, fmt.Errorf("--job-user %s: only a server running as root runs jobs as another user; this one runs as uid %d, and so do its jobs", name, os.Geteuid())
		}
		return nil, nil
	}
	if name == "" {
		c := runner.NobodyCredential
		return &c, nil
	}
	c, err := runner.ParseCredential(name)
	if err != nil {
		return nil, fmt.Errorf("--job-user: %w", err)
	}
	return &c, nil
}

// Serve answers requests on ln until Close.
func (s *Server) Serve(ln net.Listener) error {
	s.lnMu.Lock()
	s.ln = ln
	s.lnMu.Unlock()
	return s.http.serve(ln)
}

// baseURL is the URL the server answers on once it serves.
func (s *Server) baseURL() string {
	s.lnMu.Lock()
	defer s.lnMu.Unlock()
	if s.ln == nil {
		return ""
	}
	return "http://" + s.ln.Addr().String()
}

// Close shuts the server down: no new requests, running jobs terminated and
// their ends recorded, the engine stopped, the database closed.
func (s *Server) Close() error {
	s.hosts.Close()
	s.http.shutdown(15 * time.Second)
	s.deploy.Close()
	s.cp.Close()
	s.cb.Close()
	s.jobs.Close()
	s.engine.Stop()
	s.runner.Close()
	return s.db.Close()
}

// authenticator adapts the SigV4 verifier to the wire layer.
type authenticator struct{ v *sigv4.Verifier }

func (a *authenticator) Authenticate(r *http.Request, body []byte, signingName string) (wire.Caller, error) {
	id, err := a.v.Verify(r, body, signingName)
	if err != nil {
		var e *sigv4.Error
		if errors.As(err, &e) {
			return wire.Caller{}, wire.NewError(e.Code, e.Message)
		}
		return wire.Caller{}, fmt.Errorf("verify signature: %w", err)
	}
	return wire.Caller{AccessKeyID: id.AccessKeyID}, nil
}

// holdWait is how long a host's long poll holds its answer: want (def
// when zero), and at most half the HTTP write timeout, so that the answer
// is written before the server cuts it off.
func holdWait(want, def time.Duration, limits HTTPLimits) time.Duration {
	if want <= 0 {
		want = def
	}
	return min(want, limits.withDefaults().WriteTimeout/2)
}
