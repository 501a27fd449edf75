package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/pipewright/pipewright/codedeploy/agent"
)

// pwHost is one host served by pipewright's own agent, in-process.
type pwHost struct {
	name, arn, root string
	cancel          context.CancelFunc
	done            chan error
}

// startPWAgents registers n hosts host-1 … host-n tagged deployTag and
// runs pipewright's agent for each, its root a directory of its own; they
// stop at the test's end.
func startPWAgents(t *testing.T, ts *testServer, n int, grace time.Duration) []*pwHost {
	t.Helper()
	var hosts []*pwHost
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("host-%d", i)
		h := &pwHost{name: name, arn: "arn:aws:iam::000000000000:user/" + name, root: t.TempDir()}
		registerHost(t, ts, name, h.arn, deployTag)
		h.start(t, ts, grace)
		hosts = append(hosts, h)
	}
	return hosts
}

// start runs the host's agent (again, after stop).
func (h *pwHost) start(t *testing.T, ts *testServer, grace time.Duration) {
	t.Helper()
	a, err := agent.New(agent.Config{Endpoint: ts.url, Credentials: credentials.NewStaticCredentialsProvider(testKey, testSecret, ""),
		InstanceName: h.name, Root: h.root, StopGrace: grace,
		Log: slog.New(slog.NewTextHandler(testLogWriter{t, h.name}, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan error, 1)
	go func() { h.done <- a.Run(ctx) }()
	t.Cleanup(h.stop)
}

// stop ends the agent and waits for it.
func (h *pwHost) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	<-h.done
	h.cancel = nil
}

// file reads a host path under the host's root ("" when missing).
func (h *pwHost) file(p string) string {
	b, _ := os.ReadFile(filepath.Join(h.root, p))
	return string(b)
}

// testLogWriter sends an agent's log lines to the test's log.
type testLogWriter struct {
	t    *testing.T
	name string
}

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(w.name + ": " + strings.TrimSpace(string(p)))
	return len(p), nil
}

// waitGone waits until no process runs whose command line contains marker.
func waitGone(t *testing.T, marker string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		left := processesWith(marker)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes %v (%s) still run after %v", left, marker, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// processesWith lists the pids whose command line contains marker.
func processesWith(marker string) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(strings.ReplaceAll(string(b), "\x00", " "), marker) {
			out = append(out, e.Name())
		}
	}
	return out
}

var _ = aws.String
