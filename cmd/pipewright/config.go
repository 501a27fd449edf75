package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
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
	Retention time.Duration
	MaxBuilds int
	JobUser   string
	// BuildUsers are the users besides JobUser that a buildspec's run-as
	// may name (--build-users, comma-separated).
	BuildUsers []string
	LogLevel   string // one of logLevels
	LogFormat  string // one of logFormats
}

func defaultConfig() Config {
	return Config{Addr: "127.0.0.1:7600", Data: "./.pipewright", Region: "us-east-1", AccountID: "000000000000", StopGrace: 10 * time.Second,
		Retention: defaultRetention, LogLevel: "info", LogFormat: "text"}
}

// defaultRetention is how long AWS keeps pipeline execution history: 12
// months.
const defaultRetention = 365 * 24 * time.Hour

var (
	accountPattern = regexp.MustCompile(`^[0-9]{12}$`)
	regionPattern  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	logLevels      = []string{"debug", "info", "warn", "error"}
	logFormats     = []string{"text", "json"}
)

// errHelp is returned by the parsers when the flags asked for help, which
// they have printed.
var errHelp = errors.New("help printed")

// usageError is a mistake in the command line: main prints it with a
// pointer to the help and exits 2.
type usageError struct {
	command string // "" for the command itself
	err     error
}

func (e *usageError) Error() string { return e.err.Error() }

func commonFlags(fs *flag.FlagSet, c *Config) {
	fs.StringVar(&c.Addr, "addr", c.Addr, "the `HOST:PORT` the API listens on (port 0 picks a free one)")
	fs.StringVar(&c.Data, "data", c.Data, "the `DIR` that holds all state")
	fs.StringVar(&c.Region, "region", c.Region, "the AWS `REGION` pipewright answers as")
}

// serveFlags is the flag set of `pipewright serve`, writing into c.
func serveFlags(c *Config) *flag.FlagSet {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	commonFlags(fs, c)
	fs.StringVar(&c.AccountID, "account-id", c.AccountID, "the 12-digit account `ID` in ARNs")
	fs.StringVar(&c.GitRoot, "git-root", "", "the `DIR` of the git repositories CodeCommit actions read (default DATA/git)")
	fs.DurationVar(&c.StopGrace, "stop-grace", c.StopGrace, "the `TIME` between SIGTERM and SIGKILL when a job's process tree is terminated")
	fs.DurationVar(&c.Retention, "retention", c.Retention, "the `TIME` ended executions are kept, with their artifacts and logs (0: for ever)")
	fs.IntVar(&c.MaxBuilds, "max-builds", c.MaxBuilds, "the `N` CodeBuild builds that run at once; more wait QUEUED, up to 5 times as many (0: 4 per core)")
	fs.StringVar(&c.JobUser, "job-user", "", "`WHO` jobs run as when pipewright runs as root: NAME or UID, with :GROUP or :GID (default nobody, 65534:65534)")
	fs.Func("build-users", "the `NAME[,NAME...]` a buildspec's run-as may name besides the job user, when pipewright runs as root (NAME or UID, with :GROUP or :GID; never root)", func(v string) error {
		users, err := splitUsers(v)
		c.BuildUsers = append(c.BuildUsers, users...)
		return err
	})
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "the least `LEVEL` logged: "+strings.Join(logLevels, ", "))
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "the log's `FORMAT` on stderr: text (key=value) or json")
	return fs
}

// splitUsers reads a --build-users value: names separated by commas.
func splitUsers(v string) ([]string, error) {
	var out []string
	for _, name := range strings.Split(v, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			return nil, fmt.Errorf("want NAME[,NAME...], not %q", v)
		}
		out = append(out, name)
	}
	return out, nil
}

// envFlags is the flag set of `pipewright env`, writing into c.
func envFlags(c *Config) *flag.FlagSet {
	fs := flag.NewFlagSet("env", flag.ContinueOnError)
	commonFlags(fs, c)
	return fs
}

// parseFlags parses args with fs. On -h or --help it prints the command's
// usage to stdout and returns errHelp; a bad flag is a *usageError.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		commandUsage(stdout, fs.Name())
		return errHelp
	}
	if err != nil {
		return &usageError{fs.Name(), err}
	}
	if fs.NArg() > 0 {
		return &usageError{fs.Name(), fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

func parseServeFlags(args []string, stdout io.Writer) (Config, error) {
	c := defaultConfig()
	if err := parseFlags(serveFlags(&c), args, stdout); err != nil {
		return c, err
	}
	if c.GitRoot == "" {
		c.GitRoot = filepath.Join(c.Data, "git")
	}
	bad := func(format string, args ...any) (Config, error) {
		return c, &usageError{"serve", fmt.Errorf(format, args...)}
	}
	switch {
	case !accountPattern.MatchString(c.AccountID):
		return bad("--account-id must be 12 digits, not %q", c.AccountID)
	case !regionPattern.MatchString(c.Region):
		return bad("--region %q is not a region name like us-east-1", c.Region)
	case c.StopGrace < 0:
		return bad("--stop-grace must not be negative")
	case c.Retention < 0:
		return bad("--retention must not be negative")
	case c.MaxBuilds < 0:
		return bad("--max-builds must not be negative")
	case !slices.Contains(logLevels, c.LogLevel):
		return bad("--log-level must be one of %s, not %q", strings.Join(logLevels, ", "), c.LogLevel)
	case !slices.Contains(logFormats, c.LogFormat):
		return bad("--log-format must be text or json, not %q", c.LogFormat)
	}
	return c, nil
}

func parseEnvFlags(args []string, stdout io.Writer) (Config, error) {
	c := defaultConfig()
	err := parseFlags(envFlags(&c), args, stdout)
	return c, err
}

// printFlags lists every flag of fs, one a line, with its default.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fs.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		def := ""
		if f.DefValue != "" {
			def = " (default " + f.DefValue + ")"
		}
		fmt.Fprintf(tw, "  --%s %s\t%s%s\n", f.Name, arg, usage, def)
	})
	tw.Flush()
}
