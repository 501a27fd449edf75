package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// commands are the commands of pipewright, in the order help lists them.
var commands = []struct{ name, args, summary string }{
	{"serve", "[flags]", "run the server"},
	{"agent", "[flags]", "run a CodeDeploy host agent that carries out deployments on this host"},
	{"env", "[flags]", "print the export lines for the aws CLI and SDKs"},
	{"version", "", "print the version, the commit and the Go version it was built with"},
	{"help", "[command]", "print this help, or a command's"},
}

// usage prints the help of every command, with every flag.
func usage(w io.Writer) {
	fmt.Fprint(w, "pipewright serves the AWS CodePipeline API and runs the pipelines.\n\nUsage:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  pipewright %-18s %s\n", strings.TrimSpace(c.name+" "+c.args), c.summary)
	}
	for _, name := range []string{"serve", "agent", "env"} {
		fmt.Fprintln(w)
		commandUsage(w, name)
	}
}

// commandUsage prints the help of one command. It reports false for a name
// that is not a command.
func commandUsage(w io.Writer, name string) bool {
	c := defaultConfig()
	for _, cmd := range commands {
		if cmd.name != name {
			continue
		}
		fmt.Fprintf(w, "pipewright %s: %s\n", strings.TrimSpace(cmd.name+" "+cmd.args), cmd.summary)
		switch name {
		case "serve":
			printFlags(w, serveFlags(&c))
		case "agent":
			printFlags(w, agentFlags(&agentConfig{StopGrace: 10 * time.Second, LogLevel: "info"}))
		case "env":
			printFlags(w, envFlags(&c))
		}
		return true
	}
	return false
}
