package server_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cp "github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
)

// serverProcess is the real binary, with its log kept for the test.
type serverProcess struct {
	cmd *exec.Cmd
	mu  sync.Mutex
	log strings.Builder
}

// startServerProcess starts the binary on data and addr with extra flags
// and waits until it listens.
func startServerProcess(t *testing.T, bin, data, addr string, extra ...string) *serverProcess {
	t.Helper()
	args := append([]string{"serve", "--data", data, "--addr", addr}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "PIPEWRIGHT_ACCESS_KEY_ID="+testKey, "PIPEWRIGHT_SECRET_ACCESS_KEY="+testSecret)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serverProcess{cmd: cmd}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			p.mu.Lock()
			p.log.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if strings.Contains(sc.Text(), "pipewright listening") {
				once.Do(func() { close(ready) })
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("the server did not start:\n%s", p.logText())
	}
	t.Cleanup(p.kill9)
	return p
}

func (p *serverProcess) kill9() {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Kill()
		p.cmd.Wait()
	}
}

func (p *serverProcess) logText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// treeCommands are the commands of an action whose tree has a background
// child, a setsid'd grandchild, a double-forked daemon and a process that
// ignores SIGTERM; each writes its pid to pids.
func treeCommands(pids string) []string {
	return []string{
		fmt.Sprintf("sleep 300 & echo $! >> '%s'", pids),
		fmt.Sprintf("setsid sleep 301 & echo $! >> '%s'", pids),
		fmt.Sprintf("( setsid sh -c 'sleep 302 & echo $! >> %s' & )", pids),
		fmt.Sprintf("sh -c 'trap \"\" TERM; echo $$ >> %s; while true; do sleep 0.1; done' &", pids),
		"sleep 303",
	}
}

// treeOf waits until the tree of an action's job wrote its four pids (in
// its own PID namespace, when jobs are isolated) and returns them as the
// test sees them, each checked to run.
func (ts *testServer) treeOf(pipeline, stage, action, pids string) []int {
	t := ts.t
	t.Helper()
	job := ts.jobOf(pipeline, stage, action)
	var list []int
	eventually(t, 20*time.Second, "the tree's 4 pids", func() bool {
		b, _ := os.ReadFile(pids)
		list = nil
		for _, f := range strings.Fields(string(b)) {
			n, _ := strconv.Atoi(f)
			if pid := hostPID(job, n); pid > 0 {
				list = append(list, pid)
			}
		}
		return len(list) == 4
	})
	for _, p := range list {
		if !alive(p) {
			t.Fatalf("pid %d of the tree is not running", p)
		}
	}
	return list
}

func anyAlive(pids []int) []int {
	var out []int
	for _, p := range pids {
		if alive(p) {
			out = append(out, p)
		}
	}
	return out
}

// TestNoTreeOfAnEarlierLifeSurvives: an abandon on a pipeline tagged
// pipewright:abandon-cancels-jobs, then kill -9 of the server inside
// --stop-grace, while the SIGTERM-ignoring process still lives; and an
// untagged abandon whose tree runs on, then kill -9. At the next start
// nothing of either tree is left.
func TestNoTreeOfAnEarlierLifeSurvives(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	data := t.TempDir()
	ts := &testServer{t: t, data: data}
	ts.gitRepo("app", map[string]string{"a": "a"})
	addr := freeAddr(t)
	p := startServerProcess(t, bin, data, addr, "--stop-grace", "60s")
	ts.client = newClient("http://"+addr, testKey, testSecret)

	tagged, untagged := filepath.Join(jobDir(t), "tagged"), filepath.Join(jobDir(t), "untagged")
	cancel := []types.Tag{{Key: aws.String("pipewright:abandon-cancels-jobs"), Value: aws.String("true")}}
	tid := ts.createPipeline(declaration("tagged", "app", "", stage("Build", commandsAction("Tree", 1, treeCommands(tagged)...))), cancel...)
	uid := ts.createPipeline(declaration("untagged", "app", "", stage("Build", commandsAction("Tree", 1, treeCommands(untagged)...))))
	tp, up := ts.treeOf("tagged", "Build", "Tree", tagged), ts.treeOf("untagged", "Build", "Tree", untagged)

	for _, x := range []struct{ name, id string }{{"tagged", tid}, {"untagged", uid}} {
		if err := ts.stop(x.name, x.id, true, "abandon before a crash"); err != nil {
			t.Fatal(err)
		}
		ts.waitStatus(x.name, x.id, types.PipelineExecutionStatusStopped, 10*time.Second)
	}
	// The tagged tree got SIGTERM; all but the process that ignores it end.
	// The grace (60 s) has not passed when the server dies.
	eventually(t, 10*time.Second, "the tagged tree down to its SIGTERM-ignoring process", func() bool { return len(anyAlive(tp)) == 1 })
	if left := anyAlive(up); len(left) != 4 {
		t.Fatalf("the untagged abandoned tree did not run on: %d of 4 alive", len(left))
	}
	p.kill9()
	if len(anyAlive(tp)) != 1 || len(anyAlive(up)) != 4 {
		t.Fatalf("before the restart: tagged %v, untagged %v alive; want 1 and 4", anyAlive(tp), anyAlive(up))
	}

	p = startServerProcess(t, bin, data, addr, "--stop-grace", "60s")
	// Open answers only after the sweep: nothing may be left by now.
	if left := append(anyAlive(tp), anyAlive(up)...); len(left) != 0 {
		t.Fatalf("processes of the earlier life survived its restart: %v\n%s", left, p.logText())
	}
	for _, name := range []string{"tagged", "untagged"} {
		if a := ts.actionState(name, "Build", "Tree"); a.Status != types.ActionExecutionStatusAbandoned {
			t.Fatalf("%s action after the restart: %s", name, a.Status)
		}
	}
	// The jobs ended and their logs say so.
	for _, name := range []string{"tagged", "untagged"} {
		acts := ts.listActions(name)
		jobID := aws.ToString(acts[0].Output.ExecutionResult.ExternalExecutionId)
		log, _ := os.ReadFile(filepath.Join(data, "logs", jobID+".log"))
		lines := strings.Split(strings.TrimSpace(string(log)), "\n")
		if last := lines[len(lines)-1]; !strings.Contains(last, "[pipewright]") {
			t.Fatalf("the log of the %s job does not end with what ended it:\n%s", name, log)
		}
	}
}

// listActions returns a pipeline's action executions, newest first.
func (ts *testServer) listActions(pipeline string) []types.ActionExecutionDetail {
	ts.t.Helper()
	out, err := ts.client.ListActionExecutions(ctx, &cp.ListActionExecutionsInput{PipelineName: &pipeline})
	if err != nil {
		ts.t.Fatal(err)
	}
	return out.ActionExecutionDetails
}

// TestCleanShutdownLogsNoErrors: SIGTERM to a server running a job and a
// Stopping execution shuts it down cleanly: exit status 0, the job recorded
// as ended by the shutdown, and no error logged for the work it cancelled
// itself.
func TestCleanShutdownLogsNoErrors(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	data := t.TempDir()
	ts := &testServer{t: t, data: data}
	ts.gitRepo("app", map[string]string{"a": "a"})
	addr := freeAddr(t)
	p := startServerProcess(t, bin, data, addr, "--stop-grace", "1s")
	ts.client = newClient("http://"+addr, testKey, testSecret)
	g := newGate(t)
	defer g.open(t)
	ts.createPipeline(declaration("busy", "app", "", stage("Build", commandsAction("Wait", 1, "trap '' TERM", g.wait()))))
	stopping := ts.createPipeline(declaration("stopping", "app", "", stage("Build", commandsAction("Wait", 1, g.wait()))))
	ts.waitAction("busy", "Build", "Wait", types.ActionExecutionStatusInProgress)
	ts.waitAction("stopping", "Build", "Wait", types.ActionExecutionStatusInProgress)
	if err := ts.stop("stopping", stopping, false, "before the shutdown"); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the server exited with %v:\n%s", err, p.logText())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the server did not shut down:\n%s", p.logText())
	}
	log := p.logText()
	if strings.Contains(log, "level=ERROR") || strings.Contains(log, "level=WARN") {
		t.Fatalf("a clean shutdown logged errors or warnings:\n%s", log)
	}
	if !strings.Contains(log, "shutting down") {
		t.Fatalf("no shutdown line:\n%s", log)
	}
}
