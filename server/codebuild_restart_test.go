package server_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cb "github.com/aws/aws-sdk-go-v2/service/codebuild"
	cbt "github.com/aws/aws-sdk-go-v2/service/codebuild/types"
)

// TestCodeBuildAcrossKill9: the server is killed with SIGKILL right after
// a StopBuild returned (the build's SIGTERM-ignoring process is still
// alive, waiting for SIGKILL at the end of the grace) and while a second
// build runs. After the restart the stopped build is still STOPPED, the
// other one has ended FAULT (its process died with the server's life), and
// no process of either survives.
func TestCodeBuildAcrossKill9(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	data := t.TempDir()
	addr := freeAddr(t)
	p := startBinary(t, bin, data, addr)
	c := cb.New(cb.Options{BaseEndpoint: aws.String("http://" + addr), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(testKey, testSecret, ""), Retryer: onlyTransportRaceRetryer()})
	spec := func(arg string) string {
		return "version: 0.2\nphases:\n  build:\n    commands:\n      - (trap '' TERM; exec sleep " + arg + ") &\n      - sleep 1000\n"
	}
	noSourceProject(t, c, "stopped", spec("1000.161"))
	noSourceProject(t, c, "running", spec("1000.162"))
	stopped := aws.ToString(startBuild(t, c, &cb.StartBuildInput{ProjectName: aws.String("stopped")}).Id)
	running := aws.ToString(startBuild(t, c, &cb.StartBuildInput{ProjectName: aws.String("running")}).Id)
	eventually(t, 3*guard, "both builds' processes to run", func() bool {
		return len(processesRunning("sleep", "1000.161")) == 1 && len(processesRunning("sleep", "1000.162")) == 1
	})
	out, err := c.StopBuild(guarded(t), &cb.StopBuildInput{Id: aws.String(stopped)})
	if err != nil || out.Build.BuildStatus != cbt.StatusTypeStopped {
		t.Fatalf("StopBuild: %v", err)
	}
	p.kill9()
	if len(processesRunning("sleep", "1000.161")) == 0 || len(processesRunning("sleep", "1000.162")) == 0 {
		t.Fatal("the builds' processes did not outlive the server: there is nothing for the restart to end")
	}
	p = startBinary(t, bin, data, addr)
	defer p.kill9()
	got := waitComplete(t, c, stopped)
	if got.BuildStatus != cbt.StatusTypeStopped || !strings.HasSuffix(phaseList(got), "BUILD:STOPPED COMPLETED:") {
		t.Errorf("the stopped build after the restart: %s, phases %s", got.BuildStatus, phaseList(got))
	}
	got = waitComplete(t, c, running)
	if got.BuildStatus != cbt.StatusTypeFault {
		t.Errorf("the running build after the restart: %s, phases %s", got.BuildStatus, phaseList(got))
	}
	eventually(t, 3*guard, "no process of either build", func() bool {
		return len(processesRunning("sleep", "1000.161"))+len(processesRunning("sleep", "1000.162")) == 0
	})
}
