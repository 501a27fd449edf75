package server_test

import (
	"fmt"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cb "github.com/aws/aws-sdk-go-v2/service/codebuild"
	cbt "github.com/aws/aws-sdk-go-v2/service/codebuild/types"
)

// TestCodeBuildAcrossKill9: the server is killed with SIGKILL right after
// a StopBuild returned (the build's SIGTERM-ignoring process may still be
// alive, waiting for SIGKILL at the end of the grace) and while a second
// build runs. After the restart the stopped build is still STOPPED, the
// other one has ended FAULT (its process died with the server's life), and
// no process of either survives.
func TestCodeBuildAcrossKill9(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	data := t.TempDir()
	addr := freeAddr(t)
	// A long grace: the stopped build's process must still be waiting for
	// its SIGKILL when the server is killed, however slow the machine.
	longGrace := func(cmd *exec.Cmd) { cmd.Args = append(cmd.Args, "--stop-grace", "30s") }
	p := startBinary(t, bin, data, addr, longGrace)
	// Unique arguments tell this test's processes from any other's; they
	// and the server are killed when the test ends, whatever it found.
	stoppedArg, runningArg := uniqueSleep(), uniqueSleep()
	t.Cleanup(func() {
		p.kill9()
		for _, pid := range append(processesRunning("sleep", stoppedArg), processesRunning("sleep", runningArg)...) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	c := cb.New(cb.Options{BaseEndpoint: aws.String("http://" + addr), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(testKey, testSecret, ""), Retryer: onlyTransportRaceRetryer()})
	spec := func(arg string) string {
		return "version: 0.2\nphases:\n  build:\n    commands:\n      - (trap '' TERM; exec sleep " + arg + ") &\n      - sleep 1000\n"
	}
	noSourceProject(t, c, "stopped", spec(stoppedArg))
	noSourceProject(t, c, "running", spec(runningArg))
	stopped := aws.ToString(startBuild(t, c, &cb.StartBuildInput{ProjectName: aws.String("stopped")}).Id)
	running := aws.ToString(startBuild(t, c, &cb.StartBuildInput{ProjectName: aws.String("running")}).Id)
	eventually(t, 3*guard, "both builds' processes to run", func() bool {
		return len(processesRunning("sleep", stoppedArg)) == 1 && len(processesRunning("sleep", runningArg)) == 1
	})
	out, err := c.StopBuild(guarded(t), &cb.StopBuildInput{Id: aws.String(stopped)})
	if err != nil || out.Build.BuildStatus != cbt.StatusTypeStopped {
		t.Fatalf("StopBuild: %v", err)
	}
	p.kill9()
	// The running build's tree outlives the server: the restart must end
	// it. (The stopped one's main shell has already obeyed its SIGTERM;
	// under namespaces its leftover then dies with the job init helper,
	// soon after the server.)
	if len(processesRunning("sleep", runningArg)) == 0 {
		t.Fatalf("the running build's sleep %s did not outlive the server: there is nothing for the restart to end", runningArg)
	}
	p = startBinary(t, bin, data, addr, longGrace)
	got := waitComplete(t, c, stopped)
	if got.BuildStatus != cbt.StatusTypeStopped || !strings.HasSuffix(phaseList(got), "BUILD:STOPPED COMPLETED:") {
		t.Errorf("the stopped build after the restart: %s, phases %s", got.BuildStatus, phaseList(got))
	}
	got = waitComplete(t, c, running)
	if got.BuildStatus != cbt.StatusTypeFault {
		t.Errorf("the running build after the restart: %s, phases %s", got.BuildStatus, phaseList(got))
	}
	eventually(t, 3*guard, "no process of either build", func() bool {
		return len(processesRunning("sleep", stoppedArg))+len(processesRunning("sleep", runningArg)) == 0
	})
}

var sleepSeq atomic.Int64

// uniqueSleep is a sleep argument of 1000 seconds that no other test of
// any process uses, so that a scan of the machine's processes finds only
// the test's own.
func uniqueSleep() string {
	return fmt.Sprintf("1000.%d%06d", sleepSeq.Add(1), time.Now().UnixNano()%1000000)
}
