package server_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cd "github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdt "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	cp "github.com/aws/aws-sdk-go-v2/service/codepipeline"
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

// TestCodeDeployActionAbandonAndRestart: on a pipeline tagged
// pipewright:abandon-cancels-jobs an abandon stops the action's deployment;
// a server restart while the deployment's hook runs carries the action on
// with the same deployment, never a second one.
func TestCodeDeployActionAbandonAndRestart(t *testing.T) {
	if inAgentNetns(t) {
		return
	}
	opt := func(c *server.Config) { c.HostPollWait = 2 * time.Second }
	ts := startServer(t, opt)
	c := deployFixture(t, ts, "CodeDeployDefault.OneAtATime")
	host := "arn:aws:iam::000000000000:user/host-1"
	registerHost(t, ts, "host-1", host, deployTag)
	out := t.TempDir()
	stop := startAWSAgent(t, ts.url, t.TempDir(), host)
	defer func() { stop(time.Now().Add(20 * time.Second)) }()

	ts.gitRepo("site", map[string]string{"appspec.yml": appspec(out, map[string]string{"BeforeInstall": "scripts/slow.sh"}),
		"scripts/slow.sh": "#!/bin/sh\ntouch " + out + "/started-$DEPLOYMENT_ID\nsleep 5\n", "site/index.html": "v1\n"})
	tags := []types.Tag{{Key: aws.String("pipewright:abandon-cancels-jobs"), Value: aws.String("true")}}
	id := ts.createPipeline(declaration("cdp", "site", "", stage("Deploy", codeDeployAction("Deploy"))), tags...)
	dep := runningDeployment(t, out)
	if _, err := ts.client.StopPipelineExecution(ctx, &cp.StopPipelineExecutionInput{PipelineName: aws.String("cdp"), PipelineExecutionId: &id, Abandon: true, Reason: aws.String("enough")}); err != nil {
		t.Fatalf("StopPipelineExecution: %v", err)
	}
	ts.waitStatus("cdp", id, types.PipelineExecutionStatusStopped, 30*time.Second)
	waitDeployment(t, c, dep, cdt.DeploymentStatusStopped, 30*time.Second)

	id2 := ts.start("cdp")
	dep2 := runningDeployment(t, out, dep)
	ts.restartSameAddr(opt)
	ts.waitStatus("cdp", id2, types.PipelineExecutionStatusSucceeded, 60*time.Second)
	run := deployRun(t, ts, "cdp", id2)
	if got := aws.ToString(run.Output.ExecutionResult.ExternalExecutionId); got != dep2 {
		t.Errorf("after the restart the action's deployment is %s, want %s", got, dep2)
	}
	waitDeployment(t, c, dep2, cdt.DeploymentStatusSucceeded, 5*time.Second)
	list, err := c.ListDeployments(ctx, &cd.ListDeploymentsInput{ApplicationName: aws.String("web"), DeploymentGroupName: aws.String("fleet")})
	if err != nil {
		t.Fatalf("ListDeployments: %v", err)
	}
	if len(list.Deployments) != 2 {
		t.Errorf("deployments %v, want %s and %s only", list.Deployments, dep, dep2)
	}
}

// runningDeployment waits until a deployment other than those seen has
// started its slow hook (out/started-ID), and returns its id.
func runningDeployment(t *testing.T, out string, seen ...string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		names, _ := filepath.Glob(filepath.Join(out, "started-*"))
		for _, n := range names {
			if dep := strings.TrimPrefix(filepath.Base(n), "started-"); !slices.Contains(seen, dep) {
				return dep
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no deployment started its hook within 60s")
	return ""
}

// TestCodeDeployActionStopModes: without pipewright:abandon-cancels-jobs
// an abandon leaves the deployment running to its end, as on AWS; a
// stop-and-wait waits for the deployment before the execution is Stopped.
func TestCodeDeployActionStopModes(t *testing.T) {
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

	ts.gitRepo("site", map[string]string{"appspec.yml": appspec(out, map[string]string{"BeforeInstall": "scripts/slow.sh"}),
		"scripts/slow.sh": "#!/bin/sh\ntouch " + out + "/started-$DEPLOYMENT_ID\nsleep 3\n", "site/index.html": "v1\n"})
	id := ts.createPipeline(declaration("cdp", "site", "", stage("Deploy", codeDeployAction("Deploy"))))
	dep := runningDeployment(t, out)
	if _, err := ts.client.StopPipelineExecution(ctx, &cp.StopPipelineExecutionInput{PipelineName: aws.String("cdp"), PipelineExecutionId: &id, Abandon: true}); err != nil {
		t.Fatalf("StopPipelineExecution abandon: %v", err)
	}
	ts.waitStatus("cdp", id, types.PipelineExecutionStatusStopped, 30*time.Second)
	waitDeployment(t, c, dep, cdt.DeploymentStatusSucceeded, 30*time.Second)

	id2 := ts.start("cdp")
	dep2 := runningDeployment(t, out, dep)
	if _, err := ts.client.StopPipelineExecution(ctx, &cp.StopPipelineExecutionInput{PipelineName: aws.String("cdp"), PipelineExecutionId: &id2}); err != nil {
		t.Fatalf("StopPipelineExecution: %v", err)
	}
	ts.waitStatus("cdp", id2, types.PipelineExecutionStatusStopped, 30*time.Second)
	got, err := c.GetDeployment(ctx, &cd.GetDeploymentInput{DeploymentId: aws.String(dep2)})
	if err != nil || got.DeploymentInfo.Status != cdt.DeploymentStatusSucceeded {
		t.Fatalf("when the stop-and-wait ended, the deployment %s was %+v (%v)", dep2, got, err)
	}
	if run := deployRun(t, ts, "cdp", id2); run.Status != types.ActionExecutionStatusSucceeded {
		t.Errorf("the waited-for Deploy action: %s", run.Status)
	}
}
