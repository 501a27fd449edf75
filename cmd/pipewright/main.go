// Command pipewright is the pipewright server: one binary that serves the
// AWS CodePipeline API and runs the pipelines.
//
//	pipewright serve [flags]    run the server
//	pipewright agent [flags]    run a CodeDeploy host agent
//	pipewright env [flags]      print the export lines for the aws CLI and SDKs
//	pipewright version          print the version
//	pipewright help [command]   print the help
//
// It exits 0 on success (help included), 2 for a mistake in the command
// line, 1 for any other failure.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	err := run(os.Args[1:], os.Stdout)
	if err == nil {
		return
	}
	var ue *usageError
	if errors.As(err, &ue) {
		name := strings.TrimSpace("pipewright " + ue.command)
		fmt.Fprintf(os.Stderr, "%s: %v\nRun '%s --help' for usage.\n", name, ue.err, name)
		os.Exit(2)
	}
	fmt.Fprintln(os.Stderr, "pipewright:", err)
	os.Exit(1)
}

// run runs the command args name, printing what it answers to stdout.
func run(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return &usageError{err: errors.New("missing command")}
	}
	var err error
	switch name, rest := args[0], args[1:]; name {
	case "serve":
		var cfg Config
		if cfg, err = parseServeFlags(rest, stdout); err == nil {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			err = serve(ctx, cfg, stdout, os.Stderr)
		}
	case "agent":
		var cfg agentConfig
		if cfg, err = parseAgentFlags(rest, stdout); err == nil {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			err = runAgent(ctx, cfg, os.Stderr)
		}
	case "env":
		var cfg Config
		if cfg, err = parseEnvFlags(rest, stdout); err == nil {
			err = printEnv(cfg, stdout)
		}
	case "version", "--version":
		writeVersion(stdout, buildInfo())
	case "help", "-h", "--help":
		switch {
		case len(rest) == 0:
			usage(stdout)
		case len(rest) > 1 || !commandUsage(stdout, rest[0]):
			err = &usageError{err: fmt.Errorf("no help for %q: the commands are serve, agent, env, version and help", strings.Join(rest, " "))}
		}
	default:
		err = &usageError{err: fmt.Errorf("unknown command %q", name)}
	}
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}
