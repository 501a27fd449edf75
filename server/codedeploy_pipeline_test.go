package server_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cd "github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdt "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/pipewright/pipewright/server"
)

// codeDeployAction is a Deploy/AWS/CodeDeploy action of the application
// web's group fleet on the "code" artifact.
func codeDeployAction(name string) types.ActionDeclaration {
	return types.ActionDeclaration{
		Name:           aws.String(name),
		ActionTypeId:   &types.ActionTypeId{Category: types.ActionCategoryDeploy, Owner: types.ActionOwnerAws, Provider: aws.String("CodeDeploy"), Version: aws.String("1")},
		Configuration:  map[string]string{"ApplicationName": "web", "DeploymentGroupName": "fleet"},
		InputArtifacts: []types.InputArtifact{{Name: aws.String("code")}},
	}
}

// TestCodeDeployActionInAPipeline: a CodeCommit source deployed by a
// Deploy/AWS/CodeDeploy action to one host with AWS's agent (the appspec
// in the repository) succeeds with its deployment; a failing hook fails
// the action with the deployment's message.
func TestCodeDeployActionInAPipeline(t *testing.T) {
	if inAgentNetns(t) {
		return
	}
	ts := startServer(t, func(c *server.Config) { c.HostPollWait = 2 * time.Second })
	c := deployFixture(t, ts, "CodeDeployDefault.OneAtATime")
	host := "arn:aws:iam::000000000000:user/host-1"
	registerHost(t, ts, "host-1", host, deployTag)
	out := t.TempDir()
	stop := startAWSAgent(t, ts.url, t.TempDir(), host)
	defer func() { stop(time.Now().Add(20 * time.Second)) }()

	hooks := map[string]string{"BeforeInstall": "scripts/hook.sh", "ApplicationStart": "scripts/hook.sh"}
	ts.gitRepo("site", map[string]string{"appspec.yml": appspec(out, hooks), "scripts/hook.sh": hookScript(out), "site/index.html": "v1\n"})
	id := ts.createPipeline(declaration("cdp", "site", "", stage("Deploy", codeDeployAction("Deploy"))))
	ts.waitStatus("cdp", id, types.PipelineExecutionStatusSucceeded, 90*time.Second)
	run := deployRun(t, ts, "cdp", id)
	dep := aws.ToString(run.Output.ExecutionResult.ExternalExecutionId)
	if run.Status != types.ActionExecutionStatusSucceeded || !strings.HasPrefix(dep, "d-") ||
		!strings.Contains(aws.ToString(run.Output.ExecutionResult.ExternalExecutionUrl), dep) {
		t.Fatalf("the Deploy action: %s, result %+v", run.Status, run.Output.ExecutionResult)
	}
	d := waitDeployment(t, c, dep, cdt.DeploymentStatusSucceeded, 5*time.Second)
	if l := d.Revision.S3Location; l == nil || aws.ToString(l.Bucket) != "pipewright-artifacts" || l.BundleType != cdt.BundleTypeZip {
		t.Errorf("the deployment's revision %+v", d.Revision)
	}
	if b, err := os.ReadFile(filepath.Join(out, "www", "index.html")); err != nil || string(b) != "v1\n" {
		t.Errorf("www/index.html: %q, %v", b, err)
	}
	if log, _ := os.ReadFile(filepath.Join(out, "hooks.log")); string(log) != "BeforeInstall "+dep+"\nApplicationStart "+dep+"\n" {
		t.Errorf("hooks.log = %q", log)
	}

	// A failing hook fails the deployment and, with its message, the action.
	ts.gitRepo("site", map[string]string{"appspec.yml": appspec(out, map[string]string{"BeforeInstall": "scripts/fail.sh"}),
		"scripts/fail.sh": "#!/bin/sh\necho boom >&2\nexit 3\n"})
	id2 := ts.start("cdp")
	ts.waitStatus("cdp", id2, types.PipelineExecutionStatusFailed, 90*time.Second)
	run = deployRun(t, ts, "cdp", id2)
	dep2 := aws.ToString(run.Output.ExecutionResult.ExternalExecutionId)
	got, err := c.GetDeployment(ctx, &cd.GetDeploymentInput{DeploymentId: aws.String(dep2)})
	if err != nil {
		t.Fatalf("GetDeployment %s: %v", dep2, err)
	}
	gd := got.DeploymentInfo
	if gd.Status != cdt.DeploymentStatusFailed || gd.ErrorInformation == nil || run.Status != types.ActionExecutionStatusFailed ||
		run.Output.ExecutionResult.ErrorDetails == nil || aws.ToString(run.Output.ExecutionResult.ErrorDetails.Message) != aws.ToString(gd.ErrorInformation.Message) {
		t.Errorf("the failing Deploy action: %s %+v, its deployment %s %+v", run.Status, run.Output.ExecutionResult.ErrorDetails, gd.Status, gd.ErrorInformation)
	}
}

// deployRun is the Deploy action's run of a pipeline execution.
func deployRun(t *testing.T, ts *testServer, pipeline, id string) types.ActionExecutionDetail {
	t.Helper()
	for _, r := range ts.actionRuns(pipeline, id) {
		if aws.ToString(r.ActionName) == "Deploy" {
			return r
		}
	}
	t.Fatalf("execution %s has no Deploy action", id)
	return types.ActionExecutionDetail{}
}
