package server_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cp "github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/pipewright/pipewright/codepipeline"
)

func TestCleanRestartCarriesOn(t *testing.T) {
	t.Parallel()
	ts := startServer(t, withGrace(200*time.Millisecond))
	ts.gitRepo("app", map[string]string{"a": "a"})
	appr := ts.createPipeline(declaration("appr", "app", "", stage("Approve", approvalAction("Ok"))))
	tok := ts.approvalToken("appr", "Approve", "Ok")
	g := newGate(t)
	defer g.open(t)
	slow := ts.createPipeline(declaration("slow", "app", "", stage("Build", commandsAction("Slow", 1, g.wait()))))
	ts.waitAction("slow", "Build", "Slow", types.ActionExecutionStatusInProgress)
	if err := ts.stop("slow", slow, false, "before restart"); err != nil {
		t.Fatal(err)
	}

	ts.restart(withGrace(200 * time.Millisecond))

	// The approval still waits, with the same token.
	if got := ts.approvalToken("appr", "Approve", "Ok"); got != tok {
		t.Fatalf("token changed across a restart: %s → %s", tok, got)
	}
	_, err := ts.client.PutApprovalResult(ctx, &cp.PutApprovalResultInput{PipelineName: aws.String("appr"), StageName: aws.String("Approve"), ActionName: aws.String("Ok"),
		Token: &tok, Result: &types.ApprovalResult{Status: types.ApprovalStatusApproved, Summary: aws.String("after restart")}})
	if err != nil {
		t.Fatal(err)
	}
	ts.waitStatus("appr", appr, types.PipelineExecutionStatusSucceeded, 10*time.Second)
	// The shutdown terminated the running job and said so; the Stopping
	// execution reached Stopped.
	ts.waitStatus("slow", slow, types.PipelineExecutionStatusStopped, 10*time.Second)
	a := ts.actionState("slow", "Build", "Slow")
	if a.Status != types.ActionExecutionStatusFailed || aws.ToString(a.ErrorDetails.Message) != codepipeline.MessageServerShutdown {
		t.Fatalf("action after shutdown: %s %+v", a.Status, a.ErrorDetails)
	}
}

// binary builds the pipewright command once per test run.
func binary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "pipewright")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/pipewright/pipewright/cmd/pipewright").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// process is the real binary serving on addr.
type process struct {
	cmd       *exec.Cmd
	addr      string
	isolation string // as its "pipewright listening" line says
}

// startBinary starts the binary on data; each tweak may change the command
// before it starts.
func startBinary(t *testing.T, bin, data, addr string, tweaks ...func(*exec.Cmd)) *process {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--data", data, "--addr", addr, "--stop-grace", "500ms")
	cmd.Env = append(os.Environ(), "PIPEWRIGHT_ACCESS_KEY_ID="+testKey, "PIPEWRIGHT_SECRET_ACCESS_KEY="+testSecret)
	for _, tweak := range tweaks {
		tweak(cmd)
	}
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "pipewright listening") {
				ready <- sc.Text()
			}
		}
	}()
	p := &process{cmd: cmd, addr: addr}
	select {
	case line := <-ready:
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "isolation="); ok {
				p.isolation = v
			}
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the server did not start")
	}
	return p
}

func (p *process) kill9() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
}

// TestKill9CarriesOn kills the server with SIGKILL while executions run,
// wait for approval and stop, then starts it again on the same data. The
// running job's tree, which holds a SIGTERM-ignoring child, a background
// child and a setsid'd daemon, is checked to be alive after the kill (else
// the test fails: there would be nothing to reap) and to be gone after the
// restart.
func TestKill9CarriesOn(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	data := t.TempDir()
	ts := &testServer{t: t, data: data}
	ts.gitRepo("app", map[string]string{"a": "a"})
	addr := freeAddr(t)
	p := startBinary(t, bin, data, addr)
	t.Cleanup(func() { p.kill9() })
	ts.client = newClient("http://"+addr, testKey, testSecret)

	beat := filepath.Join(jobDir(t), "beat")
	run := ts.createPipeline(declaration("run", "app", "", stage("Build", commandsAction("Long", 1,
		fmt.Sprintf(`sh -c 'trap "" TERM; i=0; while :; do i=$((i+1)); echo "$$ $i" > "%s"; sleep 0.05; done' &`, beat),
		"sleep infinity &",
		"( setsid sleep infinity & )",
		"sleep infinity"))))
	appr := ts.createPipeline(declaration("appr", "app", "", stage("Approve", approvalAction("Ok"))))
	g := newGate(t)
	defer g.open(t)
	stopping := ts.createPipeline(declaration("stopping", "app", "", stage("Build", commandsAction("Slow", 1, g.wait()))))
	ts.waitAction("run", "Build", "Long", types.ActionExecutionStatusInProgress)
	ts.waitAction("stopping", "Build", "Slow", types.ActionExecutionStatusInProgress)
	long, slow := ts.jobOf("run", "Build", "Long"), ts.jobOf("stopping", "Build", "Slow")
	t.Cleanup(func() {
		for _, id := range []string{long, slow} {
			for pid := range treeProcs(id) {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	tok := ts.approvalToken("appr", "Approve", "Ok")
	if err := ts.stop("stopping", stopping, false, "stop across a crash"); err != nil {
		t.Fatal(err)
	}
	// The tree runs: the heartbeat advances, and the heartbeat and the
	// three sleeps (the background one, the daemon and the one in front)
	// carry the marker.
	beating(t, beat, "the heartbeat of the SIGTERM-ignoring child")
	// The heartbeat writes its PID in the tree's own PID namespace (when
	// jobs are isolated); the test knows it by its PID here.
	var heart int
	if b, err := os.ReadFile(beat); err != nil || len(strings.Fields(string(b))) != 2 {
		t.Fatalf("heartbeat file %q: %v", b, err)
	} else if n, _ := strconv.Atoi(strings.Fields(string(b))[0]); n <= 0 {
		t.Fatalf("heartbeat file %q", b)
	} else if heart = hostPID(long, n); heart <= 0 {
		t.Fatalf("no process of the tree has PID %d in its namespace", n)
	}
	var tree map[int]string
	eventually(t, 30*time.Second, "the job's tree: the heartbeat and three sleeps", func() bool {
		tree = treeProcs(long)
		sleeps := 0
		for pid := range tree {
			if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); string(b) == "sleep\x00infinity\x00" {
				sleeps++
			} else if pid != heart {
				delete(tree, pid)
			}
		}
		_, beats := tree[heart]
		return beats && sleeps == 3
	})
	slowTree := treeProcs(slow)
	if len(slowTree) == 0 {
		t.Fatal("the Slow action's tree is not running")
	}

	p.kill9()
	// Nothing ended the tree with the server: it is there to be reaped.
	beating(t, beat, "the heartbeat to advance after the kill (the tree must outlive the server for the reap to be tested)")
	if survivors := stillAlive(tree); len(survivors) != len(tree) {
		t.Fatalf("only %v of the tree's processes %v outlived the server", survivors, tree)
	}

	p = startBinary(t, bin, data, addr)
	// The action whose process was lost ends Failed, saying why; its tree is reaped.
	ts.waitStatus("run", run, types.PipelineExecutionStatusFailed, 30*time.Second)
	a := ts.actionState("run", "Build", "Long")
	if a.Status != types.ActionExecutionStatusFailed || a.ErrorDetails == nil || aws.ToString(a.ErrorDetails.Message) != codepipeline.MessageServerRestarted {
		t.Fatalf("lost action: %s %+v", a.Status, a.ErrorDetails)
	}
	eventually(t, 30*time.Second, "the orphaned trees reaped", func() bool {
		return len(stillAlive(tree)) == 0 && len(treeProcs(long)) == 0 && len(stillAlive(slowTree)) == 0 && len(treeProcs(slow)) == 0
	})
	// The Stopping execution reaches Stopped.
	ts.waitStatus("stopping", stopping, types.PipelineExecutionStatusStopped, 30*time.Second)
	if tr := ts.stopTrigger("stopping", stopping); aws.ToString(tr.Reason) != "stop across a crash" {
		t.Fatalf("stop reason lost: %+v", tr)
	}
	// The approval still waits, with its token.
	if got := ts.approvalToken("appr", "Approve", "Ok"); got != tok {
		t.Fatalf("token %s → %s", tok, got)
	}
	_, err := ts.client.PutApprovalResult(ctx, &cp.PutApprovalResultInput{PipelineName: aws.String("appr"), StageName: aws.String("Approve"), ActionName: aws.String("Ok"),
		Token: &tok, Result: &types.ApprovalResult{Status: types.ApprovalStatusApproved, Summary: aws.String("ok")}})
	if err != nil {
		t.Fatal(err)
	}
	ts.waitStatus("appr", appr, types.PipelineExecutionStatusSucceeded, 30*time.Second)
	// And new work runs.
	next := ts.start("appr")
	ts.approvalToken("appr", "Approve", "Ok")
	if st := ts.execStatus("appr", next); st != types.PipelineExecutionStatusInProgress {
		t.Fatalf("new execution %s", st)
	}
}
