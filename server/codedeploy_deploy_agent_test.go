package server_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cd "github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdt "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"

	"github.com/pipewright/pipewright/server"
)

// inPlaceOrder is the lifecycle events of an in-place deployment, as AWS
// shows them.
var inPlaceOrder = []string{"ApplicationStop", "DownloadBundle", "BeforeInstall", "Install", "AfterInstall", "ApplicationStart", "ValidateService"}

// eventsAll is every event of inPlaceOrder with status st.
func eventsAll(st string) []string {
	out := make([]string, len(inPlaceOrder))
	for i, e := range inPlaceOrder {
		out[i] = e + "=" + st
	}
	return out
}

// TestCodeDeployDeployAWSAgent runs deployments of zip bundles from
// pipewright's S3 endpoint through AWS's own agent on one host: one that
// succeeds, one whose AfterInstall hook fails, one stopped while a hook
// runs, one during which the server restarts, and one stopped with
// rollback, whose rollback deployment puts the last good revision back.
func TestCodeDeployDeployAWSAgent(t *testing.T) {
	if inAgentNetns(t) {
		return
	}
	opt := func(c *server.Config) { c.HostPollWait = 2 * time.Second }
	ts := startServer(t, opt)
	c, ctx := deployFixture(t, ts, "CodeDeployDefault.OneAtATime"), context.Background()
	host := "arn:aws:iam::000000000000:user/host-1"
	registerHost(t, ts, "host-1", host, deployTag)
	out := t.TempDir()
	stop := startAWSAgent(t, ts.url, t.TempDir(), host)
	defer func() { stop(time.Now().Add(20 * time.Second)) }()

	hooks := map[string]string{"BeforeInstall": "scripts/hook.sh", "AfterInstall": "scripts/hook.sh", "ApplicationStart": "scripts/hook.sh", "ValidateService": "scripts/hook.sh"}
	good := putBundle(t, ts, "good.zip", map[string]string{
		"appspec.yml": appspec(out, hooks), "scripts/hook.sh": hookScript(out), "site/index.html": "v1\n"})

	// A deployment that succeeds; a group has one active deployment.
	id := aws.ToString(cdMust[*cd.CreateDeploymentOutput](t, "CreateDeployment")(c.CreateDeployment(ctx, &cd.CreateDeploymentInput{
		ApplicationName: aws.String("web"), DeploymentGroupName: aws.String("fleet"), Revision: good, Description: aws.String("first")})).DeploymentId)
	_, err := c.CreateDeployment(ctx, &cd.CreateDeploymentInput{ApplicationName: aws.String("web"), DeploymentGroupName: aws.String("fleet"), Revision: good})
	wantCode(t, "second active deployment", err, "DeploymentLimitExceededException")
	d := waitDeployment(t, c, id, cdt.DeploymentStatusSucceeded, 60*time.Second)
	if d.DeploymentOverview.Succeeded != 1 || d.DeploymentOverview.Pending != 0 || aws.ToString(d.Description) != "first" ||
		d.CreateTime == nil || d.StartTime == nil || d.CompleteTime == nil || d.Creator != cdt.DeploymentCreatorUser {
		t.Errorf("the succeeded deployment shows %+v", d)
	}
	st, got, evs := events(t, c, id, "host-1")
	if st != cdt.InstanceStatusSucceeded || !slices.Equal(got, eventsAll("Succeeded")) {
		t.Errorf("instance %s, events %v", st, got)
	}
	for _, e := range evs {
		if e.StartTime == nil || e.EndTime == nil || e.EndTime.Before(*e.StartTime) {
			t.Errorf("event %s: start %v end %v", aws.ToString(e.LifecycleEventName), e.StartTime, e.EndTime)
		}
	}
	log, _ := os.ReadFile(filepath.Join(out, "hooks.log"))
	if want := "BeforeInstall " + id + "\nAfterInstall " + id + "\nApplicationStart " + id + "\nValidateService " + id + "\n"; string(log) != want {
		t.Errorf("hooks.log = %q, want %q", log, want)
	}
	if b, err := os.ReadFile(filepath.Join(out, "www", "index.html")); err != nil || string(b) != "v1\n" {
		t.Errorf("www/index.html: %q, %v", b, err)
	}
	tg := cdMust[*cd.BatchGetDeploymentTargetsOutput](t, "BatchGetDeploymentTargets")(c.BatchGetDeploymentTargets(ctx,
		&cd.BatchGetDeploymentTargetsInput{DeploymentId: aws.String(id), TargetIds: []string{"host-1"}}))
	if len(tg.DeploymentTargets) != 1 || tg.DeploymentTargets[0].InstanceTarget.Status != cdt.TargetStatusSucceeded ||
		aws.ToString(tg.DeploymentTargets[0].InstanceTarget.TargetArn) != "arn:aws:codedeploy:us-east-1:000000000000:instance/host-1" {
		t.Errorf("targets %+v", tg.DeploymentTargets)
	}

	// A failing hook fails its instance and, through the health
	// constraints, the deployment; later events are Skipped.
	bad := putBundle(t, ts, "bad.zip", map[string]string{
		"appspec.yml":     appspec(out, map[string]string{"AfterInstall": "scripts/fail.sh", "ApplicationStart": "scripts/hook.sh"}),
		"scripts/fail.sh": "#!/bin/sh\necho boom >&2\nexit 3\n", "scripts/hook.sh": hookScript(out), "site/index.html": "v2\n"})
	id2 := aws.ToString(cdMust[*cd.CreateDeploymentOutput](t, "CreateDeployment bad")(c.CreateDeployment(ctx, &cd.CreateDeploymentInput{
		ApplicationName: aws.String("web"), DeploymentGroupName: aws.String("fleet"), Revision: bad, FileExistsBehavior: cdt.FileExistsBehaviorOverwrite})).DeploymentId)
	d = waitDeployment(t, c, id2, cdt.DeploymentStatusFailed, 60*time.Second)
	if d.ErrorInformation == nil || d.ErrorInformation.Code != cdt.ErrorCodeHealthConstraints || d.DeploymentOverview.Failed != 1 {
		t.Errorf("the failed deployment shows %+v, %+v", d.ErrorInformation, d.DeploymentOverview)
	}
	st, got, evs = events(t, c, id2, "host-1")
	want := []string{"ApplicationStop=Succeeded", "DownloadBundle=Succeeded", "BeforeInstall=Succeeded", "Install=Succeeded",
		"AfterInstall=Failed", "ApplicationStart=Skipped", "ValidateService=Skipped"}
	if st != cdt.InstanceStatusFailed || !slices.Equal(got, want) {
		t.Errorf("instance %s, events %v, want %v", st, got, want)
	}
	if dg := evs[4].Diagnostics; dg == nil || dg.ErrorCode != cdt.LifecycleErrorCodeScriptFailed ||
		aws.ToString(dg.ScriptName) != "scripts/fail.sh" || !strings.Contains(aws.ToString(dg.LogTail), "boom") {
		t.Errorf("AfterInstall's diagnostics %+v", dg)
	}
	list := cdMust[*cd.ListDeploymentsOutput](t, "ListDeployments")(c.ListDeployments(ctx, &cd.ListDeploymentsInput{
		ApplicationName: aws.String("web"), DeploymentGroupName: aws.String("fleet"), IncludeOnlyStatuses: []cdt.DeploymentStatus{cdt.DeploymentStatusFailed}}))
	if !slices.Equal(list.Deployments, []string{id2}) {
		t.Errorf("failed deployments %v, want [%s]", list.Deployments, id2)
	}

	// A stop while a hook runs: the hook finishes, nothing more runs, the
	// deployment ends Stopped.
	slow := putBundle(t, ts, "slow.zip", map[string]string{
		"appspec.yml":     appspec(out, map[string]string{"BeforeInstall": "scripts/slow.sh", "AfterInstall": "scripts/hook.sh"}),
		"scripts/slow.sh": "#!/bin/sh\ntouch " + out + "/started-$DEPLOYMENT_ID\nsleep 3\n", "scripts/hook.sh": hookScript(out), "site/index.html": "v3\n"})
	id3 := aws.ToString(cdMust[*cd.CreateDeploymentOutput](t, "CreateDeployment slow")(c.CreateDeployment(ctx, &cd.CreateDeploymentInput{
		ApplicationName: aws.String("web"), DeploymentGroupName: aws.String("fleet"), Revision: slow, FileExistsBehavior: cdt.FileExistsBehaviorOverwrite})).DeploymentId)
	waitFile(t, ts, filepath.Join(out, "started-"+id3), 60*time.Second)
	so := cdMust[*cd.StopDeploymentOutput](t, "StopDeployment")(c.StopDeployment(ctx, &cd.StopDeploymentInput{DeploymentId: aws.String(id3)}))
	if so.Status != cdt.StopStatusPending {
		t.Errorf("StopDeployment during a hook answered %s", so.Status)
	}
	d = waitDeployment(t, c, id3, cdt.DeploymentStatusStopped, 30*time.Second)
	_, got, _ = events(t, c, id3, "host-1")
	want = []string{"ApplicationStop=Succeeded", "DownloadBundle=Succeeded", "BeforeInstall=Succeeded", "Install=Skipped",
		"AfterInstall=Skipped", "ApplicationStart=Skipped", "ValidateService=Skipped"}
	if !slices.Equal(got, want) {
		t.Errorf("stopped deployment's events %v, want %v", got, want)
	}
	_, err = c.StopDeployment(ctx, &cd.StopDeploymentInput{DeploymentId: aws.String(id3)})
	wantCode(t, "stopping a stopped deployment", err, "DeploymentAlreadyCompletedException")

	// A server restart while a hook runs: the agent reports to the server's
	// next life, which carries the deployment on.
	id4 := aws.ToString(cdMust[*cd.CreateDeploymentOutput](t, "CreateDeployment restart")(c.CreateDeployment(ctx, &cd.CreateDeploymentInput{
		ApplicationName: aws.String("web"), DeploymentGroupName: aws.String("fleet"), Revision: slow, FileExistsBehavior: cdt.FileExistsBehaviorOverwrite})).DeploymentId)
	waitFile(t, ts, filepath.Join(out, "started-"+id4), 60*time.Second)
	ts.restartSameAddr(opt)
	c = newCodeDeploy(ts)
	waitDeployment(t, c, id4, cdt.DeploymentStatusSucceeded, 60*time.Second)
	if _, got, _ = events(t, c, id4, "host-1"); !slices.Equal(got, eventsAll("Succeeded")) {
		t.Errorf("after the restart, events %v", got)
	}

	// A stop with rollback after Install: the stopped revision's files
	// are in place until the rollback puts the last good one back.
	late := putBundle(t, ts, "late.zip", map[string]string{
		"appspec.yml":     appspec(out, map[string]string{"AfterInstall": "scripts/slow.sh"}),
		"scripts/slow.sh": "#!/bin/sh\ntouch " + out + "/started-$DEPLOYMENT_ID\nsleep 2\n", "site/index.html": "v5\n"})
	id5 := aws.ToString(cdMust[*cd.CreateDeploymentOutput](t, "CreateDeployment late")(c.CreateDeployment(ctx, &cd.CreateDeploymentInput{
		ApplicationName: aws.String("web"), DeploymentGroupName: aws.String("fleet"), Revision: late, FileExistsBehavior: cdt.FileExistsBehaviorOverwrite})).DeploymentId)
	waitFile(t, ts, filepath.Join(out, "started-"+id5), 60*time.Second)
	so = cdMust[*cd.StopDeploymentOutput](t, "StopDeployment rollback")(c.StopDeployment(ctx, &cd.StopDeploymentInput{DeploymentId: aws.String(id5), AutoRollbackEnabled: aws.Bool(true)}))
	if so.Status != cdt.StopStatusPending {
		t.Errorf("StopDeployment during a hook answered %s", so.Status)
	}
	d = waitDeployment(t, c, id5, cdt.DeploymentStatusStopped, 30*time.Second)
	if d.RollbackInfo == nil || d.RollbackInfo.RollbackDeploymentId == nil {
		t.Fatalf("the stopped deployment was not rolled back: %+v", d.RollbackInfo)
	}
	rb := aws.ToString(d.RollbackInfo.RollbackDeploymentId)
	r := waitDeployment(t, c, rb, cdt.DeploymentStatusSucceeded, 60*time.Second)
	if r.Creator != cdt.DeploymentCreatorCodeDeployRollback || aws.ToString(r.Revision.S3Location.Key) != "slow.zip" ||
		aws.ToString(r.RollbackInfo.RollbackTriggeringDeploymentId) != id5 {
		t.Errorf("the rollback: creator %s, revision %s, rollbackInfo %+v", r.Creator, aws.ToString(r.Revision.S3Location.Key), r.RollbackInfo)
	}
	if b, err := os.ReadFile(filepath.Join(out, "www", "index.html")); err != nil || string(b) != "v3\n" {
		t.Errorf("after the rollback, www/index.html: %q, %v", b, err)
	}
}
