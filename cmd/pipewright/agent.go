package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"

	"github.com/pipewright/pipewright/codedeploy/agent"
)

// agentConfig is the configuration of `pipewright agent`, from flags.
type agentConfig struct {
	Endpoint     string
	InstanceName string
	Root         string
	Region       string
	StopGrace    time.Duration
	LogLevel     string
}

// agentFlags is the flag set of `pipewright agent`, writing into c.
func agentFlags(c *agentConfig) *flag.FlagSet {
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.StringVar(&c.Endpoint, "endpoint", c.Endpoint, "the `URL` of the pipewright server (required)")
	fs.StringVar(&c.InstanceName, "instance-name", c.InstanceName, "the on-premises instance `NAME` this host is registered as (required)")
	fs.StringVar(&c.Root, "root", c.Root, "the `DIR` the appspec's destinations are taken under, which also keeps the revisions (required)")
	fs.StringVar(&c.Region, "region", c.Region, "the `REGION` requests are signed for (default: AWS_REGION, the profile's, or us-east-1)")
	fs.DurationVar(&c.StopGrace, "stop-grace", c.StopGrace, "the `TIME` between SIGTERM and SIGKILL when a running script is terminated")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "the least `LEVEL` logged: debug, info, warn, error")
	return fs
}

func parseAgentFlags(args []string, stdout io.Writer) (agentConfig, error) {
	c := agentConfig{StopGrace: 10 * time.Second, LogLevel: "info"}
	if err := parseFlags(agentFlags(&c), args, stdout); err != nil {
		return c, err
	}
	bad := func(format string, args ...any) (agentConfig, error) {
		return c, &usageError{"agent", fmt.Errorf(format, args...)}
	}
	u, err := url.Parse(c.Endpoint)
	switch {
	case c.Endpoint == "":
		return bad("--endpoint is required")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return bad("--endpoint must be an http or https URL, not %q", c.Endpoint)
	case c.InstanceName == "":
		return bad("--instance-name is required")
	case c.Root == "":
		return bad("--root is required")
	case c.StopGrace < 0:
		return bad("--stop-grace must not be negative")
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		return bad("%v", err)
	}
	return c, nil
}

// parseLevel reads a --log-level.
func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return l, fmt.Errorf("--log-level must be one of debug, info, warn, error, not %q", s)
	}
	return l, nil
}

// runAgent runs the host agent until ctx ends. Credentials come from the
// standard AWS environment variables and shared files; the EC2 metadata
// service is never asked.
func runAgent(ctx context.Context, c agentConfig, stderr io.Writer) error {
	aws, err := config.LoadDefaultConfig(ctx, config.WithEC2IMDSClientEnableState(imds.ClientDisabled))
	if err != nil {
		return fmt.Errorf("agent: loading AWS credentials: %w", err)
	}
	region := c.Region
	if region == "" {
		region = aws.Region
	}
	level, _ := parseLevel(c.LogLevel)
	a, err := agent.New(agent.Config{Endpoint: c.Endpoint, Region: region, Credentials: aws.Credentials,
		InstanceName: c.InstanceName, Root: c.Root, StopGrace: c.StopGrace,
		Log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))})
	if err != nil {
		return err
	}
	if _, err := aws.Credentials.Retrieve(ctx); err != nil {
		return fmt.Errorf("agent: no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile: %w", err)
	}
	return a.Run(ctx)
}
