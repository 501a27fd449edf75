package server_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cd "github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdt "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
)

// TestCodeDeployPWAgentStopAtEachStage stops a deployment, with and
// without rollback, before any event ran and while each hook event runs
// on the host (pipewright's agent): the running event finishes and is
// recorded, the later ones are Skipped, the deployment ends Stopped, and
// a rollback puts the first revision back.
func TestCodeDeployPWAgentStopAtEachStage(t *testing.T) {
	ts := startServer(t, fastHosts)
	c, ctx := deployFixture(t, ts, "CodeDeployDefault.OneAtATime"), context.Background()
	h := startPWAgents(t, ts, 1, 500*time.Millisecond)[0]
	up := "../../../../../../"
	step := "#!/bin/sh\ntouch " + up + "at-$DEPLOYMENT_ID-$LIFECYCLE_EVENT\nwhile [ -e " + up + "block-$LIFECYCLE_EVENT ]; do sleep 0.05; done\n"
	hooks := map[string]string{}
	for _, ev := range []string{"ApplicationStop", "BeforeInstall", "AfterInstall", "ApplicationStart", "ValidateService"} {
		hooks[ev] = "scripts/step.sh"
	}
	rev := func(key, text string) *cdt.RevisionLocation {
		return putBundle(t, ts, key, map[string]string{"appspec.yml": hookAppspec(hooks, "60"), "scripts/step.sh": step, "site/index.html": text})
	}
	v1, v2 := rev("v1.zip", "v1\n"), rev("v2.zip", "v2\n")
	waitDeployment(t, c, createDeployment(t, c, v1, "v1"), cdt.DeploymentStatusSucceeded, 30*time.Second)

	rolledBack := func(d *cdt.DeploymentInfo) {
		t.Helper()
		if d.RollbackInfo == nil || d.RollbackInfo.RollbackDeploymentId == nil {
			t.Fatalf("%s was not rolled back: %+v", aws.ToString(d.DeploymentId), d.RollbackInfo)
		}
		waitDeployment(t, c, aws.ToString(d.RollbackInfo.RollbackDeploymentId), cdt.DeploymentStatusSucceeded, 30*time.Second)
		if got := h.file("srv/www/index.html"); got != "v1\n" {
			t.Errorf("after the rollback of %s srv/www/index.html is %q", aws.ToString(d.DeploymentId), got)
		}
	}

	for _, rollback := range []bool{false, true} {
		// Before any event: the host is not polling.
		h.stop()
		id := createDeployment(t, c, v2, "created")
		so := cdMust[*cd.StopDeploymentOutput](t, "StopDeployment")(c.StopDeployment(ctx, &cd.StopDeploymentInput{DeploymentId: aws.String(id), AutoRollbackEnabled: aws.Bool(rollback)}))
		if so.Status != cdt.StopStatusSucceeded {
			t.Errorf("a stop before any event answered %s", so.Status)
		}
		d := waitDeployment(t, c, id, cdt.DeploymentStatusStopped, 10*time.Second)
		if _, got, _ := events(t, c, id, h.name); !slices.Equal(got, eventsAll("Skipped")) {
			t.Errorf("stopped before any event: %v", got)
		}
		if rollback && (d.RollbackInfo == nil || d.RollbackInfo.RollbackDeploymentId != nil) {
			t.Errorf("nothing ran, yet rollbackInfo is %+v", d.RollbackInfo)
		}
		h.start(t, ts, 500*time.Millisecond)

		for i, ev := range inPlaceOrder {
			if hooks[ev] == "" {
				continue
			}
			block := filepath.Join(h.root, "block-"+ev)
			if err := os.WriteFile(block, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			id := createDeployment(t, c, v2, "stop in "+ev)
			waitFile(t, ts, filepath.Join(h.root, "at-"+id+"-"+ev), 30*time.Second)
			so := cdMust[*cd.StopDeploymentOutput](t, "StopDeployment")(c.StopDeployment(ctx, &cd.StopDeploymentInput{DeploymentId: aws.String(id), AutoRollbackEnabled: aws.Bool(rollback)}))
			if so.Status != cdt.StopStatusPending {
				t.Errorf("%s: a stop while it runs answered %s", ev, so.Status)
			}
			os.Remove(block)
			d := waitDeployment(t, c, id, cdt.DeploymentStatusStopped, 30*time.Second)
			_, got, _ := events(t, c, id, h.name)
			var want []string
			for j, e := range inPlaceOrder {
				st := "Skipped"
				if j <= i {
					st = "Succeeded"
				}
				want = append(want, e+"="+st)
			}
			if !slices.Equal(got, want) {
				t.Errorf("stopped in %s (rollback %v): events %v, want %v", ev, rollback, got, want)
			}
			if d.ErrorInformation == nil || d.ErrorInformation.Code != cdt.ErrorCodeManualStop {
				t.Errorf("stopped in %s: errorInformation %+v", ev, d.ErrorInformation)
			}
			if rollback {
				rolledBack(d)
			} else if d.RollbackInfo != nil && d.RollbackInfo.RollbackDeploymentId != nil {
				t.Errorf("stopped in %s without rollback, yet rolled back: %+v", ev, d.RollbackInfo)
			}
		}
	}
}
