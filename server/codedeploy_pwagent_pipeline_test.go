package server_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cd "github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdt "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	cp "github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/pipewright/pipewright/server"
)

// TestCodeDeployActionAbandonRollsBack: a Deploy/AWS/CodeDeploy action on
// a pipeline tagged pipewright:abandon-cancels-jobs, to a group with
// automatic rollback on DEPLOYMENT_STOP_ON_REQUEST and tagged
// pipewright:stop-terminates-hooks, carried out by pipewright's agent: an
// abandon while the second revision's hook runs (it ignores SIGTERM)
// stops the deployment at once, the hook's tree is killed, and the
// rollback puts the first revision back on the host.
func TestCodeDeployActionAbandonRollsBack(t *testing.T) {
	ts := startServer(t, fastHosts)
	c := deployFixture(t, ts, "CodeDeployDefault.OneAtATime")
	cdMust[*cd.UpdateDeploymentGroupOutput](t, "UpdateDeploymentGroup")(c.UpdateDeploymentGroup(ctx, &cd.UpdateDeploymentGroupInput{
		ApplicationName: aws.String("web"), CurrentDeploymentGroupName: aws.String("fleet"),
		AutoRollbackConfiguration: &cdt.AutoRollbackConfiguration{Enabled: true, Events: []cdt.AutoRollbackEvent{cdt.AutoRollbackEventDeploymentStopOnRequest}}}))
	cdMust[*cd.TagResourceOutput](t, "TagResource")(c.TagResource(ctx, &cd.TagResourceInput{
		ResourceArn: aws.String("arn:aws:codedeploy:us-east-1:000000000000:deploymentgroup:web/fleet"),
		Tags:        []cdt.Tag{{Key: aws.String("pipewright:stop-terminates-hooks"), Value: aws.String("true")}}}))
	h := startPWAgents(t, ts, 1, 500*time.Millisecond)[0]

	ts.gitRepo("site", map[string]string{"appspec.yml": hookAppspec(nil, "60"), "site/index.html": "v1\n"})
	tags := []types.Tag{{Key: aws.String("pipewright:abandon-cancels-jobs"), Value: aws.String("true")}}
	id := ts.createPipeline(declaration("cdp", "site", "", stage("Deploy", codeDeployAction("Deploy"))), tags...)
	ts.waitStatus("cdp", id, types.PipelineExecutionStatusSucceeded, 60*time.Second)
	first := aws.ToString(deployRun(t, ts, "cdp", id).Output.ExecutionResult.ExternalExecutionId)
	if got := h.file("srv/www/index.html"); got != "v1\n" {
		t.Fatalf("after the first run srv/www/index.html is %q", got)
	}

	ts.gitRepo("site", map[string]string{"appspec.yml": hookAppspec(map[string]string{"BeforeInstall": "scripts/hang.sh"}, "120"),
		"scripts/hang.sh": "#!/bin/sh\ntrap '' TERM\ntouch ../../../../../../started-$DEPLOYMENT_ID\nsleep 60 # pw-abandon-roll\n", "site/index.html": "v2\n"})
	id2 := ts.start("cdp")
	dep := runningDeployment(t, h.root, first)
	begin := time.Now()
	if _, err := ts.client.StopPipelineExecution(ctx, &cp.StopPipelineExecutionInput{PipelineName: aws.String("cdp"), PipelineExecutionId: &id2, Abandon: true, Reason: aws.String("bad release")}); err != nil {
		t.Fatalf("StopPipelineExecution: %v", err)
	}
	ts.waitStatus("cdp", id2, types.PipelineExecutionStatusStopped, 30*time.Second)
	d := waitDeployment(t, c, dep, cdt.DeploymentStatusStopped, 30*time.Second)
	if took := time.Since(begin); took > 10*time.Second {
		t.Errorf("the abandoned deployment took %v to stop: its hook was not terminated", took)
	}
	waitGone(t, "pw-abandon-roll", 5*time.Second)
	if d.RollbackInfo == nil || d.RollbackInfo.RollbackDeploymentId == nil {
		t.Fatalf("the stopped deployment was not rolled back: %+v", d.RollbackInfo)
	}
	r := waitDeployment(t, c, aws.ToString(d.RollbackInfo.RollbackDeploymentId), cdt.DeploymentStatusSucceeded, 30*time.Second)
	if r.Creator != cdt.DeploymentCreatorCodeDeployRollback || aws.ToString(r.RollbackInfo.RollbackTriggeringDeploymentId) != dep {
		t.Errorf("the rollback: creator %s, rollbackInfo %+v", r.Creator, r.RollbackInfo)
	}
	if got := h.file("srv/www/index.html"); got != "v1\n" {
		t.Errorf("after the rollback srv/www/index.html is %q, want v1", got)
	}
}

// TestCodeDeployActionTimeout: a Deploy/AWS/CodeDeploy action that runs
// past its timeout (AWS's is 5 days; 3 s here) fails with a message
// saying so, and its deployment is stopped: in a stop-terminates-hooks
// group the hook running on the host is killed.
func TestCodeDeployActionTimeout(t *testing.T) {
	ts := startServer(t, fastHosts, func(c *server.Config) { c.Timeouts.CodeDeploy = 3 * time.Second })
	c := deployFixture(t, ts, "CodeDeployDefault.OneAtATime")
	cdMust[*cd.TagResourceOutput](t, "TagResource")(c.TagResource(ctx, &cd.TagResourceInput{
		ResourceArn: aws.String("arn:aws:codedeploy:us-east-1:000000000000:deploymentgroup:web/fleet"),
		Tags:        []cdt.Tag{{Key: aws.String("pipewright:stop-terminates-hooks"), Value: aws.String("true")}}}))
	h := startPWAgents(t, ts, 1, 500*time.Millisecond)[0]
	ts.gitRepo("site", map[string]string{"appspec.yml": hookAppspec(map[string]string{"BeforeInstall": "scripts/hang.sh"}, "120"),
		"scripts/hang.sh": "#!/bin/sh\ntouch ../../../../../../started-$DEPLOYMENT_ID\nsleep 60 # pw-action-timeout\n", "site/index.html": "v1\n"})
	id := ts.createPipeline(declaration("cdp", "site", "", stage("Deploy", codeDeployAction("Deploy"))))
	dep := runningDeployment(t, h.root)
	ts.waitStatus("cdp", id, types.PipelineExecutionStatusFailed, 30*time.Second)
	run := deployRun(t, ts, "cdp", id)
	if run.Status != types.ActionExecutionStatusFailed || run.Output == nil || run.Output.ExecutionResult == nil ||
		run.Output.ExecutionResult.ErrorDetails == nil ||
		aws.ToString(run.Output.ExecutionResult.ErrorDetails.Message) != "The action timed out: its deployment did not finish within 3s; the deployment was stopped." {
		t.Errorf("the timed out action: %s %+v", run.Status, run.Output)
	}
	waitDeployment(t, c, dep, cdt.DeploymentStatusStopped, 10*time.Second)
	waitGone(t, "pw-action-timeout", 5*time.Second)
}
