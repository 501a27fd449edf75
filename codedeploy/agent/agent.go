// Package agent is pipewright's CodeDeploy host agent: a Go client of
// codedeploy-commands, the protocol AWS's own agent speaks. It polls for
// lifecycle events, fetches the revision from the S3 endpoint, runs the
// appspec's hooks, installs its files under a root directory, and reports
// each event with the error codes and log tail AWS's agent reports. It
// rides out restarts of the server (reports it could not deliver are kept
// on disk and delivered when the server is back) and of itself (an event
// that was running when the agent died is failed, and what its script left
// running is killed).
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/pipewright/pipewright/codedeploy/hostcmd"
)

// Config is what an Agent is built from.
type Config struct {
	// Endpoint is pipewright's URL (scheme, host, port).
	Endpoint string
	// Region signs requests ("us-east-1" when empty).
	Region      string
	Credentials aws.CredentialsProvider
	// InstanceName is the host's on-premises instance; its IAM ARN is the
	// HostIdentifier the agent polls with. HostIdentifier, when set, is
	// used instead of looking the instance up.
	InstanceName   string
	HostIdentifier string
	// Root is the directory the host's files go under: a destination
	// /var/www is Root/var/www, and the agent keeps its revisions in
	// Root/opt/codedeploy-agent/deployment-root, as AWS's agent does in
	// /opt/codedeploy-agent/deployment-root.
	Root string
	// StopGrace is how long a script has between SIGTERM and SIGKILL when
	// it is terminated (10 s when zero).
	StopGrace time.Duration
	// MaxRevisions is how many revisions of a group are kept (5 when zero,
	// AWS's agent's :max_revisions); the last successful one always is.
	MaxRevisions int
	Log          *slog.Logger
}

// Agent is one host's agent.
type Agent struct {
	cfg  Config
	c    *client
	host string
	dir  string // the deployment root
	log  *slog.Logger
}

// New returns the agent for cfg.
func New(cfg Config) (*Agent, error) {
	if cfg.Endpoint == "" || cfg.Root == "" || cfg.Credentials == nil {
		return nil, errors.New("agent: an endpoint, a root directory and credentials are required")
	}
	if cfg.InstanceName == "" && cfg.HostIdentifier == "" {
		return nil, errors.New("agent: an instance name is required")
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = 10 * time.Second
	}
	if cfg.MaxRevisions <= 0 {
		cfg.MaxRevisions = 5
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	root, err := filepath.Abs(cfg.Root)
	if err != nil {
		return nil, err
	}
	cfg.Root = root
	a := &Agent{cfg: cfg, c: newClient(cfg.Endpoint, cfg.Region, cfg.Credentials),
		dir: filepath.Join(root, "opt", "codedeploy-agent", "deployment-root"), log: cfg.Log, host: cfg.HostIdentifier}
	for _, d := range []string{a.instructions(), a.ongoing(), a.pending()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// Run polls and carries out lifecycle events until ctx ends. It returns
// an error only for what waiting cannot mend: an instance that is not
// registered, refused credentials.
func (a *Agent) Run(ctx context.Context) error {
	if err := a.identify(ctx); err != nil {
		return err
	}
	a.recover(ctx)
	back := newBackoff()
	for ctx.Err() == nil {
		if err := a.deliverPending(ctx); err != nil {
			a.log.Warn("agent: delivering reports", "err", err)
			back.wait(ctx)
			continue
		}
		cmd, err := a.poll(ctx)
		if err != nil {
			if permanent(err) && isAuth(err) {
				return err
			}
			if ctx.Err() == nil {
				a.log.Warn("agent: polling", "err", err)
			}
			back.wait(ctx)
			continue
		}
		back.reset()
		if cmd != nil {
			a.handle(ctx, cmd)
		}
	}
	return nil
}

// identify finds the HostIdentifier: the instance's IAM ARN.
func (a *Agent) identify(ctx context.Context) error {
	if a.host != "" {
		return nil
	}
	back := newBackoff()
	for {
		var out struct {
			InstanceInfo struct {
				IamUserArn     string `json:"iamUserArn"`
				IamSessionArn  string `json:"iamSessionArn"`
				DeregisterTime any    `json:"deregisterTime"`
			} `json:"instanceInfo"`
		}
		err := a.c.codedeploy(ctx, "GetOnPremisesInstance", map[string]string{"instanceName": a.cfg.InstanceName}, &out)
		if err == nil {
			a.host = out.InstanceInfo.IamSessionArn
			if a.host == "" {
				a.host = out.InstanceInfo.IamUserArn
			}
			if out.InstanceInfo.DeregisterTime != nil || a.host == "" {
				return fmt.Errorf("agent: the on-premises instance %s is deregistered", a.cfg.InstanceName)
			}
			a.log.Info("agent: polling", "instance", a.cfg.InstanceName, "hostIdentifier", a.host)
			return nil
		}
		if permanent(err) {
			return fmt.Errorf("agent: the on-premises instance %s: %w", a.cfg.InstanceName, err)
		}
		a.log.Warn("agent: looking up the instance", "err", err)
		if !back.wait(ctx) {
			return ctx.Err()
		}
	}
}

// isAuth reports whether err refuses the agent's credentials or host.
func isAuth(err error) bool {
	var ae *apiError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.Type {
	case "UnrecognizedClientException", "InvalidSignatureException", "AccessDeniedException", hostcmd.CodeHostNotFound:
		return true
	}
	return false
}

// poll asks for the host's next command; nil when there is none yet.
func (a *Agent) poll(ctx context.Context) (*hostcmd.HostCommandInstance, error) {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	var out hostcmd.PollHostCommandOutput
	if err := a.c.commands(ctx, "PollHostCommand", hostcmd.PollHostCommandInput{HostIdentifier: &a.host}, &out); err != nil {
		return nil, err
	}
	c := out.HostCommand
	if c == nil || c.HostCommandIdentifier == nil || c.CommandName == nil || c.DeploymentExecutionId == nil {
		return nil, nil
	}
	return c, nil
}

// backoff spaces out retries: 100 ms doubling up to 5 s.
type backoff struct{ d time.Duration }

func newBackoff() *backoff { return &backoff{d: 100 * time.Millisecond} }

func (b *backoff) reset() { b.d = 100 * time.Millisecond }

// wait sleeps the current delay; false when ctx ended first.
func (b *backoff) wait(ctx context.Context) bool {
	t := time.NewTimer(b.d)
	defer t.Stop()
	b.d = min(2*b.d, 5*time.Second)
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
