// Command pipewright is the pipewright server: one binary that serves the
// AWS CodePipeline API and runs the pipelines.
//
//	pipewright serve [flags]   run the server
//	pipewright env [--data DIR] print the export lines for the aws CLI and SDKs
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "pipewright:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		usage()
		return fmt.Errorf("missing command")
	}
	switch args[0] {
	case "serve":
		cfg, err := parseServeFlags(args[1:])
		if err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return serve(ctx, cfg, os.Stdout)
	case "env":
		cfg, err := parseEnvFlags(args[1:])
		if err != nil {
			return err
		}
		return printEnv(cfg, os.Stdout)
	case "help", "-h", "--help":
		usage()
		return nil
	}
	usage()
	return fmt.Errorf("unknown command %q", args[0])
}

func usage() {
	fmt.Fprint(os.Stderr, `usage:
  pipewright serve [--addr 127.0.0.1:7600] [--data ./.pipewright] [--region us-east-1]
                   [--account-id 000000000000] [--git-root DATA/git] [--stop-grace 10s] [--job-user nobody]
  pipewright env [--data ./.pipewright] [--addr 127.0.0.1:7600] [--region us-east-1]
`)
}
