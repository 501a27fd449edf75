package server_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cd "github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdt "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
)

// hookAppspec is an appspec that copies site/ to /srv/www and runs, for
// each event of hooks, its script with the timeout given.
func hookAppspec(hooks map[string]string, timeout string) string {
	var b strings.Builder
	b.WriteString("version: 0.0\nos: linux\nfiles:\n  - source: site\n    destination: /srv/www\nfile_exists_behavior: OVERWRITE\nhooks:\n")
	for _, ev := range []string{"ApplicationStop", "BeforeInstall", "AfterInstall", "ApplicationStart", "ValidateService"} {
		if s, ok := hooks[ev]; ok {
			b.WriteString("  " + ev + ":\n    - location: " + s + "\n      timeout: " + timeout + "\n")
		}
	}
	return b.String()
}

// TestCodeDeployPWAgentHookFailures fails a hook by its exit status and
// one by its timeout, through pipewright's agent: the event shows AWS's
// error code, message and log tail, later events are Skipped, and a timed
// out script's process group is gone.
func TestCodeDeployPWAgentHookFailures(t *testing.T) {
	ts := startServer(t, fastHosts)
	c := deployFixture(t, ts, "CodeDeployDefault.OneAtATime")
	h := startPWAgents(t, ts, 1, 500*time.Millisecond)[0]

	failing := putBundle(t, ts, "fail.zip", map[string]string{"appspec.yml": hookAppspec(map[string]string{"AfterInstall": "scripts/fail.sh"}, "60"),
		"scripts/fail.sh": "#!/bin/sh\necho to-stdout\necho boom >&2\nexit 3\n", "site/index.html": "x\n"})
	id := createDeployment(t, c, failing, "fail")
	d := waitDeployment(t, c, id, cdt.DeploymentStatusFailed, 30*time.Second)
	if d.ErrorInformation == nil || d.ErrorInformation.Code != cdt.ErrorCodeHealthConstraints {
		t.Errorf("errorInformation %+v", d.ErrorInformation)
	}
	st, got, evs := events(t, c, id, h.name)
	want := []string{"ApplicationStop=Succeeded", "DownloadBundle=Succeeded", "BeforeInstall=Succeeded", "Install=Succeeded",
		"AfterInstall=Failed", "ApplicationStart=Skipped", "ValidateService=Skipped"}
	if st != cdt.InstanceStatusFailed || !slices.Equal(got, want) {
		t.Errorf("instance %s, events %v, want %v", st, got, want)
	}
	if dg := evs[4].Diagnostics; dg == nil || dg.ErrorCode != cdt.LifecycleErrorCodeScriptFailed || aws.ToString(dg.ScriptName) != "scripts/fail.sh" ||
		aws.ToString(dg.Message) != "Script at specified location: scripts/fail.sh failed with exit code 3" ||
		!strings.Contains(aws.ToString(dg.LogTail), "[stdout]to-stdout\n") || !strings.Contains(aws.ToString(dg.LogTail), "[stderr]boom\n") {
		t.Errorf("AfterInstall's diagnostics %+v", dg)
	}

	slow := putBundle(t, ts, "slow.zip", map[string]string{"appspec.yml": hookAppspec(map[string]string{"BeforeInstall": "scripts/slow.sh"}, "1"),
		"scripts/slow.sh": "#!/bin/sh\nsleep 300 # pw-timeout-" + h.name + "\n", "site/index.html": "x\n"})
	id = createDeployment(t, c, slow, "timeout")
	waitDeployment(t, c, id, cdt.DeploymentStatusFailed, 30*time.Second)
	_, got, evs = events(t, c, id, h.name)
	if got[2] != "BeforeInstall=Failed" || evs[2].Diagnostics == nil || evs[2].Diagnostics.ErrorCode != cdt.LifecycleErrorCodeScriptTimedOut ||
		aws.ToString(evs[2].Diagnostics.Message) != "Script at specified location: scripts/slow.sh failed to complete in 1 seconds" {
		t.Errorf("timed out: events %v, diagnostics %+v", got, evs[2].Diagnostics)
	}
	waitGone(t, "pw-timeout-"+h.name, 5*time.Second)
}

// TestCodeDeployPWAgentStop stops deployments while hooks run on two
// hosts: in a group tagged pipewright:stop-terminates-hooks the scripts
// (which ignore SIGTERM) are killed after the agents' grace and the
// deployment ends Stopped at once; in an untagged group the scripts run
// to their end first, as on AWS. Then a stop with rollback puts the last
// good revision back on both hosts.
func TestCodeDeployPWAgentStop(t *testing.T) {
	ts := startServer(t, fastHosts)
	c, ctx := deployFixture(t, ts, "CodeDeployDefault.AllAtOnce"), context.Background()
	hosts := startPWAgents(t, ts, 2, 500*time.Millisecond)
	good := putBundle(t, ts, "good.zip", map[string]string{"appspec.yml": hookAppspec(nil, "60"), "site/index.html": "v1\n"})
	waitDeployment(t, c, createDeployment(t, c, good, "v1"), cdt.DeploymentStatusSucceeded, 30*time.Second)

	hang := func(key, marker string) *cdt.RevisionLocation {
		return putBundle(t, ts, key, map[string]string{"appspec.yml": hookAppspec(map[string]string{"BeforeInstall": "scripts/hang.sh", "AfterInstall": "scripts/hang.sh"}, "120"),
			"scripts/hang.sh": "#!/bin/sh\ntrap '' TERM\ntouch ../../../../../../started-$DEPLOYMENT_ID\nsleep 4 # " + marker + "\ntouch ../../../../../../ended-$DEPLOYMENT_ID\n",
			"site/index.html": "v2\n"})
	}
	started := func(id string) {
		t.Helper()
		for _, h := range hosts {
			waitFile(t, ts, filepath.Join(h.root, "started-"+id), 30*time.Second)
		}
	}

	// Untagged: the running scripts finish, then the deployment is Stopped.
	id := createDeployment(t, c, hang("wait.zip", "pw-stop-wait"), "wait")
	started(id)
	so := cdMust[*cd.StopDeploymentOutput](t, "StopDeployment")(c.StopDeployment(ctx, &cd.StopDeploymentInput{DeploymentId: aws.String(id)}))
	if so.Status != cdt.StopStatusPending {
		t.Errorf("StopDeployment while hooks run answered %s", so.Status)
	}
	waitDeployment(t, c, id, cdt.DeploymentStatusStopped, 30*time.Second)
	for _, h := range hosts {
		if h.file("ended-"+id) == "" && !ts.present(filepath.Join(h.root, "ended-"+id)) {
			t.Errorf("%s: the script was cut short in an untagged group", h.name)
		}
		_, got, _ := events(t, c, id, h.name)
		if got[2] != "BeforeInstall=Succeeded" || got[3] != "Install=Skipped" {
			t.Errorf("%s: events %v", h.name, got)
		}
	}

	// Tagged: the scripts are terminated, SIGKILLed after the grace.
	cdMust[*cd.TagResourceOutput](t, "TagResource")(c.TagResource(ctx, &cd.TagResourceInput{
		ResourceArn: aws.String("arn:aws:codedeploy:us-east-1:000000000000:deploymentgroup:web/fleet"),
		Tags:        []cdt.Tag{{Key: aws.String("pipewright:stop-terminates-hooks"), Value: aws.String("true")}}}))
	id = createDeployment(t, c, hang("kill.zip", "pw-stop-kill"), "kill")
	started(id)
	begin := time.Now()
	so = cdMust[*cd.StopDeploymentOutput](t, "StopDeployment")(c.StopDeployment(ctx, &cd.StopDeploymentInput{DeploymentId: aws.String(id)}))
	if so.Status != cdt.StopStatusPending {
		t.Errorf("StopDeployment while hooks run answered %s", so.Status)
	}
	waitDeployment(t, c, id, cdt.DeploymentStatusStopped, 30*time.Second)
	if took := time.Since(begin); took > 3500*time.Millisecond {
		t.Errorf("the tagged stop took %v: the scripts were not terminated", took)
	}
	waitGone(t, "pw-stop-kill", 5*time.Second)
	for _, h := range hosts {
		if ts.present(filepath.Join(h.root, "ended-"+id)) {
			t.Errorf("%s: the script ran to its end in a tagged group", h.name)
		}
		_, got, evs := events(t, c, id, h.name)
		if got[2] != "BeforeInstall=Failed" || got[3] != "Install=Skipped" || evs[2].Diagnostics == nil ||
			!strings.Contains(aws.ToString(evs[2].Diagnostics.Message), "was terminated: the deployment was stopped") {
			t.Errorf("%s: events %v, BeforeInstall's diagnostics %+v", h.name, got, evs[2].Diagnostics)
		}
	}

	// A stop with rollback: the rollback redeploys v1 to both hosts.
	id = createDeployment(t, c, hang("roll.zip", "pw-stop-roll"), "roll")
	started(id)
	cdMust[*cd.StopDeploymentOutput](t, "StopDeployment rollback")(c.StopDeployment(ctx, &cd.StopDeploymentInput{DeploymentId: aws.String(id), AutoRollbackEnabled: aws.Bool(true)}))
	d := waitDeployment(t, c, id, cdt.DeploymentStatusStopped, 30*time.Second)
	if d.RollbackInfo == nil || d.RollbackInfo.RollbackDeploymentId == nil {
		t.Fatalf("no rollback: %+v", d.RollbackInfo)
	}
	r := waitDeployment(t, c, aws.ToString(d.RollbackInfo.RollbackDeploymentId), cdt.DeploymentStatusSucceeded, 30*time.Second)
	if r.Creator != cdt.DeploymentCreatorCodeDeployRollback || aws.ToString(r.Revision.S3Location.Key) != "good.zip" {
		t.Errorf("the rollback: creator %s, revision %s", r.Creator, aws.ToString(r.Revision.S3Location.Key))
	}
	for _, h := range hosts {
		if got := h.file("srv/www/index.html"); got != "v1\n" {
			t.Errorf("%s: srv/www/index.html after the rollback: %q", h.name, got)
		}
	}
	waitGone(t, "pw-stop-roll", 5*time.Second)
}

// TestCodeDeployPWAgentLeftChildren: a script that exits but leaves a
// child holding its outputs keeps its event running, as with AWS's agent:
// until its timeout (the event fails with UnknownError, "failed to close
// STDOUT"), or a stop in a stop-terminates-hooks group (the event fails as
// terminated); either way the child is killed with the script's process
// group.
func TestCodeDeployPWAgentLeftChildren(t *testing.T) {
	ts := startServer(t, fastHosts)
	c, ctx := deployFixture(t, ts, "CodeDeployDefault.OneAtATime"), context.Background()
	cdMust[*cd.TagResourceOutput](t, "TagResource")(c.TagResource(ctx, &cd.TagResourceInput{
		ResourceArn: aws.String("arn:aws:codedeploy:us-east-1:000000000000:deploymentgroup:web/fleet"),
		Tags:        []cdt.Tag{{Key: aws.String("pipewright:stop-terminates-hooks"), Value: aws.String("true")}}}))
	h := startPWAgents(t, ts, 1, 500*time.Millisecond)[0]
	left := func(key, marker, timeout string) *cdt.RevisionLocation {
		return putBundle(t, ts, key, map[string]string{"appspec.yml": hookAppspec(map[string]string{"BeforeInstall": "scripts/left.sh"}, timeout),
			"scripts/left.sh": "#!/bin/sh\n(trap '' TERM; sleep 300 # " + marker + "\n) &\ntouch ../../../../../../started-$DEPLOYMENT_ID\n",
			"site/index.html": "x\n"})
	}

	id := createDeployment(t, c, left("timeout.zip", "pw-left-timeout", "2"), "timeout")
	waitDeployment(t, c, id, cdt.DeploymentStatusFailed, 30*time.Second)
	_, got, evs := events(t, c, id, h.name)
	if got[2] != "BeforeInstall=Failed" || evs[2].Diagnostics == nil || evs[2].Diagnostics.ErrorCode != cdt.LifecycleErrorCodeUnknownError ||
		!strings.HasSuffix(aws.ToString(evs[2].Diagnostics.Message), "failed to close STDOUT") {
		t.Errorf("outputs left open: events %v, diagnostics %+v", got, evs[2].Diagnostics)
	}
	waitGone(t, "pw-left-timeout", 5*time.Second)

	id = createDeployment(t, c, left("stop.zip", "pw-left-stop", "120"), "stop")
	waitFile(t, ts, filepath.Join(h.root, "started-"+id), 30*time.Second)
	time.Sleep(200 * time.Millisecond)
	cdMust[*cd.StopDeploymentOutput](t, "StopDeployment")(c.StopDeployment(ctx, &cd.StopDeploymentInput{DeploymentId: aws.String(id)}))
	waitDeployment(t, c, id, cdt.DeploymentStatusStopped, 10*time.Second)
	_, got, evs = events(t, c, id, h.name)
	if got[2] != "BeforeInstall=Failed" || evs[2].Diagnostics == nil || evs[2].Diagnostics.ErrorCode != cdt.LifecycleErrorCodeScriptFailed ||
		!strings.HasSuffix(aws.ToString(evs[2].Diagnostics.Message), "was terminated: the deployment was stopped") {
		t.Errorf("stopped with a child left: events %v, diagnostics %+v", got, evs[2].Diagnostics)
	}
	waitGone(t, "pw-left-stop", 5*time.Second)
}
