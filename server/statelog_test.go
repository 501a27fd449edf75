package server_test

import (
	"bufio"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/pipewright/pipewright/server"
)

// logBuffer collects a server's JSON log lines.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// records returns the log lines with the given message, decoded.
func (l *logBuffer) records(msg string) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(l.b.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

func withLog(w *logBuffer) option {
	return func(c *server.Config) {
		c.Log = slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
}

// TestStateChangesAreLogged: every status an execution, a stage and an
// action move to is one structured line, with its reason.
func TestStateChangesAreLogged(t *testing.T) {
	t.Parallel()
	logs := &logBuffer{}
	ts := startServer(t, withGrace(200*time.Millisecond), withLog(logs))
	ts.gitRepo("app", map[string]string{"a": "a"})
	g := newGate(t)
	defer g.open(t)
	id := ts.createPipeline(declaration("logged", "app", "", stage("Build", commandsAction("Wait", 1, g.wait()))))
	ts.waitAction("logged", "Build", "Wait", types.ActionExecutionStatusInProgress)
	if err := ts.stop("logged", id, true, "seen in the log"); err != nil {
		t.Fatal(err)
	}
	ts.waitStatus("logged", id, types.PipelineExecutionStatusStopped, 10*time.Second)

	has := func(msg string, want map[string]string) bool {
		for _, r := range logs.records(msg) {
			ok := true
			for k, v := range want {
				if r[k] != v {
					ok = false
				}
			}
			if ok {
				return true
			}
		}
		return false
	}
	for _, c := range []struct {
		msg  string
		want map[string]string
	}{
		{"execution", map[string]string{"pipelineExecutionId": id, "status": "InProgress"}},
		{"execution", map[string]string{"pipelineExecutionId": id, "status": "Stopping", "from": "InProgress", "stopMode": "abandon", "stopReason": "seen in the log"}},
		{"execution", map[string]string{"pipelineExecutionId": id, "status": "Stopped", "from": "Stopping", "reason": "abandon"}},
		{"stage", map[string]string{"pipelineExecutionId": id, "stage": "Source", "status": "Succeeded", "from": "InProgress"}},
		{"stage", map[string]string{"pipelineExecutionId": id, "stage": "Build", "status": "Stopped"}},
		{"action", map[string]string{"pipelineExecutionId": id, "action": "Source", "status": "Succeeded", "from": "InProgress"}},
		{"action", map[string]string{"pipelineExecutionId": id, "action": "Wait", "status": "Abandoned", "from": "InProgress"}},
	} {
		if !has(c.msg, c.want) {
			t.Errorf("no %q log line with %v", c.msg, c.want)
		}
	}
	if t.Failed() {
		logs.mu.Lock()
		t.Log(logs.b.String())
		logs.mu.Unlock()
	}
}
