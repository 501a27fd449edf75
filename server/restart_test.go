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
// wait for approval and stop, then starts it again on the same data.
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

	pidFile := filepath.Join(jobDir(t), "pid")
	run := ts.createPipeline(declaration("run", "app", "", stage("Build", commandsAction("Long", 1, fmt.Sprintf("echo $$ > '%s'", pidFile), "sleep 300"))))
	appr := ts.createPipeline(declaration("appr", "app", "", stage("Approve", approvalAction("Ok"))))
	g := newGate(t)
	defer g.open(t)
	stopping := ts.createPipeline(declaration("stopping", "app", "", stage("Build", commandsAction("Slow", 1, g.wait()))))
	tree := aws.ToString(ts.waitAction("run", "Build", "Long", types.ActionExecutionStatusInProgress).ActionExecutionId)
	ts.waitAction("stopping", "Build", "Slow", types.ActionExecutionStatusInProgress)
	tok := ts.approvalToken("appr", "Approve", "Ok")
	if err := ts.stop("stopping", stopping, false, "stop across a crash"); err != nil {
		t.Fatal(err)
	}
	var shellPID int
	eventually(t, 10*time.Second, "the command's pid", func() bool {
		b, _ := os.ReadFile(pidFile)
		n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		shellPID = hostPID(tree, n)
		return shellPID > 0
	})

	p.kill9()
	if !alive(shellPID) {
		t.Log("the command died with the server")
	}

	p = startBinary(t, bin, data, addr)
	// The action whose process was lost ends Failed, saying why; its tree is reaped.
	ts.waitStatus("run", run, types.PipelineExecutionStatusFailed, 10*time.Second)
	a := ts.actionState("run", "Build", "Long")
	if a.Status != types.ActionExecutionStatusFailed || a.ErrorDetails == nil || aws.ToString(a.ErrorDetails.Message) != codepipeline.MessageServerRestarted {
		t.Fatalf("lost action: %s %+v", a.Status, a.ErrorDetails)
	}
	eventually(t, 5*time.Second, "the orphaned tree reaped", func() bool { return !alive(shellPID) })
	// The Stopping execution reaches Stopped.
	ts.waitStatus("stopping", stopping, types.PipelineExecutionStatusStopped, 10*time.Second)
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
	ts.waitStatus("appr", appr, types.PipelineExecutionStatusSucceeded, 10*time.Second)
	// And new work runs.
	next := ts.start("appr")
	ts.approvalToken("appr", "Approve", "Ok")
	if st := ts.execStatus("appr", next); st != types.PipelineExecutionStatusInProgress {
		t.Fatalf("new execution %s", st)
	}
}
