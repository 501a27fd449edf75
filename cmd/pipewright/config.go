package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"time"
)

// Config is the server's configuration, from flags.
type Config struct {
	Addr      string
	Data      string
	Region    string
	AccountID string
	GitRoot   string
	StopGrace time.Duration
	JobUser   string
}

func defaultConfig() Config {
	return Config{Addr: "127.0.0.1:7600", Data: "./.pipewright", Region: "us-east-1", AccountID: "000000000000", StopGrace: 10 * time.Second}
}

var (
	accountPattern = regexp.MustCompile(`^[0-9]{12}$`)
	regionPattern  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
)

func commonFlags(fs *flag.FlagSet, c *Config) {
	fs.StringVar(&c.Addr, "addr", c.Addr, "address to listen on")
	fs.StringVar(&c.Data, "data", c.Data, "directory that holds all state")
	fs.StringVar(&c.Region, "region", c.Region, "the AWS region pipewright answers as")
}

func parseServeFlags(args []string) (Config, error) {
	c := defaultConfig()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	commonFlags(fs, &c)
	fs.StringVar(&c.AccountID, "account-id", c.AccountID, "the 12-digit account id in ARNs")
	fs.StringVar(&c.GitRoot, "git-root", "", "directory of the git repositories CodeCommit actions read (default DATA/git)")
	fs.DurationVar(&c.StopGrace, "stop-grace", c.StopGrace, "time between SIGTERM and SIGKILL when a job is terminated")
	fs.StringVar(&c.JobUser, "job-user", "", "who jobs run as when pipewright runs as root: NAME or UID[:GID] (default nobody, 65534:65534)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.GitRoot == "" {
		c.GitRoot = filepath.Join(c.Data, "git")
	}
	if !accountPattern.MatchString(c.AccountID) {
		return c, fmt.Errorf("--account-id must be 12 digits, not %q", c.AccountID)
	}
	if !regionPattern.MatchString(c.Region) {
		return c, fmt.Errorf("--region %q is not a region name like us-east-1", c.Region)
	}
	if c.StopGrace < 0 {
		return c, fmt.Errorf("--stop-grace must not be negative")
	}
	return c, nil
}

func parseEnvFlags(args []string) (Config, error) {
	c := defaultConfig()
	fs := flag.NewFlagSet("env", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	commonFlags(fs, &c)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	return c, nil
}
