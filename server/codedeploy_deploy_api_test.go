package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	cd "github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdt "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"

	"github.com/pipewright/pipewright/server"
)

// hostCall sends one codedeploy-commands request signed with the test key,
// as a host's agent does, and returns the answer's status and body.
func hostCall(t *testing.T, ts *testServer, op string, in any) (int, map[string]any) {
	t.Helper()
	body, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, ts.url+"/", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "CodeDeployCommandService_v20141006."+op)
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "codedeploy-commands", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s answered %d %q", op, resp.StatusCode, b)
	}
	return resp.StatusCode, out
}

// TestCodeDeployDeploymentsWithoutAgent checks what needs no agent:
// NO_INSTANCES, validation, a stop before anything ran, and the host
// protocol as a host that takes an event and never reports on it sees it,
// until the event times out.
func TestCodeDeployDeploymentsWithoutAgent(t *testing.T) {
	ts := startServer(t, func(c *server.Config) { c.HostPollWait = time.Second; c.DeployEventTimeout = 1500 * time.Millisecond })
	c, ctx := deployFixture(t, ts, "CodeDeployDefault.AllAtOnce"), context.Background()
	rev := putBundle(t, ts, "b.zip", map[string]string{"appspec.yml": "version: 0.0\nos: linux\n"})
	create := func() (string, error) {
		out, err := c.CreateDeployment(ctx, &cd.CreateDeploymentInput{ApplicationName: aws.String("web"), DeploymentGroupName: aws.String("fleet"), Revision: rev})
		if err != nil {
			return "", err
		}
		return aws.ToString(out.DeploymentId), nil
	}

	// No instance matches: Failed with NO_INSTANCES.
	id, err := create()
	if err != nil {
		t.Fatal(err)
	}
	d := waitDeployment(t, c, id, cdt.DeploymentStatusFailed, 5*time.Second)
	if d.ErrorInformation == nil || d.ErrorInformation.Code != cdt.ErrorCodeNoInstances {
		t.Errorf("no instances: %+v", d.ErrorInformation)
	}

	// Validation.
	_, err = c.CreateDeployment(ctx, &cd.CreateDeploymentInput{ApplicationName: aws.String("web"), DeploymentGroupName: aws.String("fleet"),
		Revision: &cdt.RevisionLocation{RevisionType: cdt.RevisionLocationTypeS3, S3Location: &cdt.S3Location{Bucket: aws.String("bundles"), Key: aws.String("none.zip")}}})
	wantCode(t, "missing object", err, "InvalidRevisionException")
	_, err = c.CreateDeployment(ctx, &cd.CreateDeploymentInput{ApplicationName: aws.String("web"), DeploymentGroupName: aws.String("fleet"),
		Revision: &cdt.RevisionLocation{RevisionType: cdt.RevisionLocationTypeS3, S3Location: &cdt.S3Location{Bucket: aws.String("b1"), Key: aws.String("a.zip")}}})
	wantCode(t, "a bucket name S3 refuses", err, "InvalidRevisionException")
	_, err = c.CreateDeployment(ctx, &cd.CreateDeploymentInput{ApplicationName: aws.String("web"), DeploymentGroupName: aws.String("nope"), Revision: rev})
	wantCode(t, "missing group", err, "DeploymentGroupDoesNotExistException")
	_, err = c.CreateDeployment(ctx, &cd.CreateDeploymentInput{ApplicationName: aws.String("web"), DeploymentGroupName: aws.String("fleet")})
	wantCode(t, "no revision", err, "RevisionRequiredException")
	_, err = c.GetDeployment(ctx, &cd.GetDeploymentInput{DeploymentId: aws.String("d-NOPE00000")})
	wantCode(t, "unknown deployment", err, "DeploymentDoesNotExistException")
	_, err = c.StopDeployment(ctx, &cd.StopDeploymentInput{DeploymentId: aws.String(id)})
	wantCode(t, "stop a failed deployment", err, "DeploymentAlreadyCompletedException")
	_, err = c.ListDeployments(ctx, &cd.ListDeploymentsInput{DeploymentGroupName: aws.String("fleet")})
	wantCode(t, "group without application", err, "ApplicationNameRequiredException")

	// An unregistered host is not answered.
	host := "arn:aws:iam::000000000000:user/host-1"
	if st, out := hostCall(t, ts, "PollHostCommand", map[string]string{"HostIdentifier": host}); st != 400 || !strings.Contains(out["__type"].(string), "HostNotFoundException") {
		t.Errorf("an unregistered host's poll: %d %v", st, out)
	}
	registerHost(t, ts, "host-1", host, deployTag)

	// A stop before any event ran ends the deployment at once.
	id, err = create()
	if err != nil {
		t.Fatal(err)
	}
	so := cdMust[*cd.StopDeploymentOutput](t, "StopDeployment")(c.StopDeployment(ctx, &cd.StopDeploymentInput{DeploymentId: aws.String(id)}))
	if so.Status != cdt.StopStatusSucceeded {
		t.Errorf("stop before anything ran: %s", so.Status)
	}
	waitDeployment(t, c, id, cdt.DeploymentStatusStopped, 5*time.Second)
	if st, got, _ := events(t, c, id, "host-1"); st != cdt.InstanceStatusSkipped || !slices.Equal(got, eventsAll("Skipped")) {
		t.Errorf("stopped before it started: instance %s, events %v", st, got)
	}

	// A host takes the first event, acknowledges it, reads the
	// specification and never reports its end: the event times out.
	id, err = create()
	if err != nil {
		t.Fatal(err)
	}
	_, out := hostCall(t, ts, "PollHostCommand", map[string]string{"HostIdentifier": host})
	cmd, _ := out["HostCommand"].(map[string]any)
	if cmd == nil || cmd["CommandName"] != "ApplicationStop" || cmd["HostIdentifier"] != host {
		t.Fatalf("the poll answered %v", out)
	}
	token, exec := cmd["HostCommandIdentifier"].(string), cmd["DeploymentExecutionId"].(string)
	if _, out := hostCall(t, ts, "GetDeploymentSpecification", map[string]string{"HostIdentifier": host, "DeploymentExecutionId": exec}); out["DeploymentSystem"] != "CodeDeploy" {
		t.Errorf("GetDeploymentSpecification answered %v", out)
	}
	if _, out := hostCall(t, ts, "PutHostCommandAcknowledgement", map[string]string{"HostCommandIdentifier": token}); out["CommandStatus"] != "InProgress" {
		t.Errorf("the acknowledgement was answered %v", out)
	}
	if _, out := hostCall(t, ts, "PostHostCommandUpdate", map[string]string{"HostCommandIdentifier": token}); out["CommandStatus"] != "InProgress" {
		t.Errorf("the update was answered %v", out)
	}
	if _, got, _ := events(t, c, id, "host-1"); got[0] != "ApplicationStop=InProgress" {
		t.Errorf("the event handed out shows %v", got)
	}
	d = waitDeployment(t, c, id, cdt.DeploymentStatusFailed, 10*time.Second)
	if d.ErrorInformation == nil || d.ErrorInformation.Code != cdt.ErrorCodeTimeout {
		t.Errorf("timed out: %+v", d.ErrorInformation)
	}
	_, got, evs := events(t, c, id, "host-1")
	if want := append([]string{"ApplicationStop=Failed"}, eventsAll("Skipped")[1:]...); !slices.Equal(got, want) {
		t.Errorf("timed out: events %v, want %v", got, want)
	}
	if dg := evs[0].Diagnostics; dg == nil || !strings.Contains(aws.ToString(dg.Message), "did not report") {
		t.Errorf("the timed-out event's diagnostics: %+v", dg)
	}
	// The host's late report is taken and changes nothing.
	if st, out := hostCall(t, ts, "PutHostCommandComplete", map[string]any{"HostCommandIdentifier": token, "CommandStatus": "Succeeded",
		"Diagnostics": map[string]string{"format": "JSON", "payload": `{"error_code":0,"script_name":"","message":"Succeeded","log":""}`}}); st != 200 {
		t.Errorf("the late report was answered %d %v", st, out)
	}
	if _, got2, _ := events(t, c, id, "host-1"); !slices.Equal(got2, got) {
		t.Errorf("after the late report, events %v", got2)
	}
	list := cdMust[*cd.ListDeploymentsOutput](t, "ListDeployments")(c.ListDeployments(ctx, &cd.ListDeploymentsInput{ApplicationName: aws.String("web")}))
	if len(list.Deployments) != 3 || list.Deployments[0] != id {
		t.Errorf("ListDeployments %v: want three, newest (%s) first", list.Deployments, id)
	}

	// Rollback on failure: with no earlier success there is nothing to
	// roll back to; after one, the failed deployment's instances get the
	// last good revision back.
	rollback := &cdt.AutoRollbackConfiguration{Enabled: true, Events: []cdt.AutoRollbackEvent{cdt.AutoRollbackEventDeploymentFailure}}
	createRB := func(rev *cdt.RevisionLocation) string {
		return aws.ToString(cdMust[*cd.CreateDeploymentOutput](t, "CreateDeployment")(c.CreateDeployment(ctx, &cd.CreateDeploymentInput{
			ApplicationName: aws.String("web"), DeploymentGroupName: aws.String("fleet"), Revision: rev, AutoRollbackConfiguration: rollback})).DeploymentId)
	}
	id = createRB(rev)
	driveHost(t, ts, host, 0)
	d = waitDeployment(t, c, id, cdt.DeploymentStatusFailed, 5*time.Second)
	if d.RollbackInfo == nil || d.RollbackInfo.RollbackDeploymentId != nil || !strings.Contains(aws.ToString(d.RollbackInfo.RollbackMessage), "no last known good revision") {
		t.Errorf("rollback without a good revision: %+v", d.RollbackInfo)
	}
	id = createRB(rev)
	driveHost(t, ts, host, len(eventsAll("")))
	waitDeployment(t, c, id, cdt.DeploymentStatusSucceeded, 5*time.Second)
	rev2 := putBundle(t, ts, "b2.zip", map[string]string{"appspec.yml": "version: 0.0\nos: linux\n"})
	failed := createRB(rev2)
	driveHost(t, ts, host, 2)
	d = waitDeployment(t, c, failed, cdt.DeploymentStatusFailed, 5*time.Second)
	if d.RollbackInfo == nil || d.RollbackInfo.RollbackDeploymentId == nil {
		t.Fatalf("the failed deployment was not rolled back: %+v", d.RollbackInfo)
	}
	rb := aws.ToString(d.RollbackInfo.RollbackDeploymentId)
	r := cdMust[*cd.GetDeploymentOutput](t, "GetDeployment rollback")(c.GetDeployment(ctx, &cd.GetDeploymentInput{DeploymentId: aws.String(rb)})).DeploymentInfo
	if r.Creator != cdt.DeploymentCreatorCodeDeployRollback || r.RollbackInfo == nil || aws.ToString(r.RollbackInfo.RollbackTriggeringDeploymentId) != failed ||
		aws.ToString(r.Revision.S3Location.Key) != "b.zip" {
		t.Errorf("the rollback deployment: creator %s, rollbackInfo %+v, revision %s", r.Creator, r.RollbackInfo, aws.ToString(r.Revision.S3Location.Key))
	}
	driveHost(t, ts, host, len(eventsAll("")))
	waitDeployment(t, c, rb, cdt.DeploymentStatusSucceeded, 5*time.Second)

	// Deployed revisions are registered and show their use.
	revs := cdMust[*cd.ListApplicationRevisionsOutput](t, "ListApplicationRevisions")(c.ListApplicationRevisions(ctx, &cd.ListApplicationRevisionsInput{
		ApplicationName: aws.String("web"), Deployed: cdt.ListStateFilterActionInclude}))
	if len(revs.Revisions) != 2 {
		t.Errorf("deployed revisions %+v, want b.zip and b2.zip", revs.Revisions)
	}
	ri := cdMust[*cd.GetApplicationRevisionOutput](t, "GetApplicationRevision")(c.GetApplicationRevision(ctx, &cd.GetApplicationRevisionInput{
		ApplicationName: aws.String("web"), Revision: rev})).RevisionInfo
	if !slices.Equal(ri.DeploymentGroups, []string{"fleet"}) || ri.FirstUsedTime == nil || ri.LastUsedTime == nil || ri.LastUsedTime.Before(*ri.FirstUsedTime) {
		t.Errorf("b.zip's revision info %+v", ri)
	}
}

// driveHost plays a host's agent by hand for one deployment: it takes each
// event in turn and reports it Succeeded, until ok events have succeeded;
// it reports the next one Failed (ok less than the seven events).
func driveHost(t *testing.T, ts *testServer, host string, ok int) {
	t.Helper()
	for i := 0; i <= ok && i < len(inPlaceOrder); i++ {
		_, out := hostCall(t, ts, "PollHostCommand", map[string]string{"HostIdentifier": host})
		cmd, _ := out["HostCommand"].(map[string]any)
		if cmd == nil || cmd["CommandName"] != inPlaceOrder[i] {
			t.Fatalf("poll %d answered %v, want %s", i, out, inPlaceOrder[i])
		}
		token := cmd["HostCommandIdentifier"].(string)
		hostCall(t, ts, "PutHostCommandAcknowledgement", map[string]string{"HostCommandIdentifier": token})
		status, code := "Succeeded", 0
		if i == ok {
			status, code = "Failed", 4
		}
		payload, _ := json.Marshal(map[string]any{"error_code": code, "script_name": "", "message": status, "log": ""})
		if st, out := hostCall(t, ts, "PutHostCommandComplete", map[string]any{"HostCommandIdentifier": token, "CommandStatus": status,
			"Diagnostics": map[string]string{"format": "JSON", "payload": string(payload)}}); st != 200 {
			t.Fatalf("PutHostCommandComplete answered %d %v", st, out)
		}
	}
}

// TestCodeDeployDeployTwoAWSAgents deploys to two hosts at once
// (AllAtOnce), each its own AWS agent with its own config and root.
func TestCodeDeployDeployTwoAWSAgents(t *testing.T) {
	if inAgentNetns(t) {
		return
	}
	ts := startServer(t, func(c *server.Config) { c.HostPollWait = 2 * time.Second })
	c, ctx := deployFixture(t, ts, "CodeDeployDefault.AllAtOnce"), context.Background()
	var dirs []string
	for _, name := range []string{"host-1", "host-2"} {
		host := "arn:aws:iam::000000000000:user/" + name
		registerHost(t, ts, name, host, deployTag)
		dir := t.TempDir()
		dirs = append(dirs, dir)
		stop := startAWSAgent(t, ts.url, dir, host)
		defer func() { stop(time.Now().Add(20 * time.Second)) }()
	}
	out := t.TempDir()
	rev := putBundle(t, ts, "two.zip", map[string]string{
		"appspec.yml":     appspec(out, map[string]string{"AfterInstall": "scripts/hook.sh"}),
		"scripts/hook.sh": "#!/bin/sh\necho \"$LIFECYCLE_EVENT\" >> \"$HOME/hooks.log\"\n", "site/index.html": "v1\n"})
	id := aws.ToString(cdMust[*cd.CreateDeploymentOutput](t, "CreateDeployment")(c.CreateDeployment(ctx, &cd.CreateDeploymentInput{
		ApplicationName: aws.String("web"), DeploymentGroupName: aws.String("fleet"), Revision: rev, FileExistsBehavior: cdt.FileExistsBehaviorOverwrite})).DeploymentId)
	d := waitDeployment(t, c, id, cdt.DeploymentStatusSucceeded, 60*time.Second)
	if d.DeploymentOverview.Succeeded != 2 {
		t.Errorf("overview %+v", d.DeploymentOverview)
	}
	for i, name := range []string{"host-1", "host-2"} {
		if st, got, _ := events(t, c, id, name); st != cdt.InstanceStatusSucceeded || !slices.Equal(got, eventsAll("Succeeded")) {
			t.Errorf("%s: %s %v", name, st, got)
		}
		if b, err := os.ReadFile(filepath.Join(dirs[i], "hooks.log")); err != nil || string(b) != "AfterInstall\n" {
			t.Errorf("%s's hooks.log: %q, %v", name, b, err)
		}
	}
	tl := cdMust[*cd.ListDeploymentTargetsOutput](t, "ListDeploymentTargets")(c.ListDeploymentTargets(ctx, &cd.ListDeploymentTargetsInput{
		DeploymentId: aws.String(id), TargetFilters: map[string][]string{"TargetStatus": {"Succeeded"}}}))
	if !slices.Equal(tl.TargetIds, []string{"host-1", "host-2"}) {
		t.Errorf("targets %v", tl.TargetIds)
	}
}

// TestCodeDeployHostRunsOneDeploymentAtATime checks that a host in two
// groups with a deployment each gets every event of the older one before
// the first of the newer one.
func TestCodeDeployHostRunsOneDeploymentAtATime(t *testing.T) {
	ts := startServer(t, func(c *server.Config) { c.HostPollWait = time.Second })
	c, ctx := deployFixture(t, ts, "CodeDeployDefault.AllAtOnce"), context.Background()
	cdMust[*cd.CreateDeploymentGroupOutput](t, "CreateDeploymentGroup")(c.CreateDeploymentGroup(ctx, &cd.CreateDeploymentGroupInput{
		ApplicationName: aws.String("web"), DeploymentGroupName: aws.String("fleet2"), ServiceRoleArn: aws.String(cdRole),
		OnPremisesTagSet: &cdt.OnPremisesTagSet{OnPremisesTagSetList: [][]cdt.TagFilter{{{Key: deployTag.Key, Type: cdt.TagFilterTypeKeyOnly}}}}}))
	host := "arn:aws:iam::000000000000:user/host-1"
	registerHost(t, ts, "host-1", host, deployTag)
	rev := putBundle(t, ts, "b.zip", map[string]string{"appspec.yml": "version: 0.0\nos: linux\n"})
	var ids []string
	for _, g := range []string{"fleet", "fleet2"} {
		ids = append(ids, aws.ToString(cdMust[*cd.CreateDeploymentOutput](t, "CreateDeployment")(c.CreateDeployment(ctx, &cd.CreateDeploymentInput{
			ApplicationName: aws.String("web"), DeploymentGroupName: aws.String(g), Revision: rev})).DeploymentId))
		time.Sleep(5 * time.Millisecond)
	}
	driveHost(t, ts, host, len(inPlaceOrder))
	waitDeployment(t, c, ids[0], cdt.DeploymentStatusSucceeded, 5*time.Second)
	if d := cdMust[*cd.GetDeploymentOutput](t, "GetDeployment")(c.GetDeployment(ctx, &cd.GetDeploymentInput{DeploymentId: aws.String(ids[1])})); d.DeploymentInfo.Status != cdt.DeploymentStatusCreated {
		t.Errorf("the newer deployment is %s while the older ran", d.DeploymentInfo.Status)
	}
	driveHost(t, ts, host, len(inPlaceOrder))
	waitDeployment(t, c, ids[1], cdt.DeploymentStatusSucceeded, 5*time.Second)
}

// TestCodeDeployDeploymentsFollowRenames checks that a deployment follows
// its group's and application's renames: it is listed under the new
// names and still holds the group's one active deployment.
func TestCodeDeployDeploymentsFollowRenames(t *testing.T) {
	ts := startServer(t)
	c, ctx := deployFixture(t, ts, "CodeDeployDefault.AllAtOnce"), context.Background()
	registerHost(t, ts, "host-1", "arn:aws:iam::000000000000:user/host-1", deployTag)
	rev := putBundle(t, ts, "b.zip", map[string]string{"appspec.yml": "version: 0.0\nos: linux\n"})
	id := aws.ToString(cdMust[*cd.CreateDeploymentOutput](t, "CreateDeployment")(c.CreateDeployment(ctx, &cd.CreateDeploymentInput{
		ApplicationName: aws.String("web"), DeploymentGroupName: aws.String("fleet"), Revision: rev})).DeploymentId)
	cdMust[*cd.UpdateDeploymentGroupOutput](t, "UpdateDeploymentGroup")(c.UpdateDeploymentGroup(ctx, &cd.UpdateDeploymentGroupInput{
		ApplicationName: aws.String("web"), CurrentDeploymentGroupName: aws.String("fleet"), NewDeploymentGroupName: aws.String("fleet-b")}))
	cdMust[*cd.UpdateApplicationOutput](t, "UpdateApplication")(c.UpdateApplication(ctx, &cd.UpdateApplicationInput{
		ApplicationName: aws.String("web"), NewApplicationName: aws.String("web2")}))
	_, err := c.CreateDeployment(ctx, &cd.CreateDeploymentInput{ApplicationName: aws.String("web2"), DeploymentGroupName: aws.String("fleet-b"), Revision: rev})
	wantCode(t, "a second deployment after the renames", err, "DeploymentLimitExceededException")
	list := cdMust[*cd.ListDeploymentsOutput](t, "ListDeployments")(c.ListDeployments(ctx, &cd.ListDeploymentsInput{
		ApplicationName: aws.String("web2"), DeploymentGroupName: aws.String("fleet-b")}))
	if !slices.Equal(list.Deployments, []string{id}) {
		t.Errorf("deployments under the new names %v, want [%s]", list.Deployments, id)
	}
	d := cdMust[*cd.GetDeploymentOutput](t, "GetDeployment")(c.GetDeployment(ctx, &cd.GetDeploymentInput{DeploymentId: aws.String(id)})).DeploymentInfo
	if aws.ToString(d.ApplicationName) != "web2" || aws.ToString(d.DeploymentGroupName) != "fleet-b" {
		t.Errorf("the deployment shows %s/%s", aws.ToString(d.ApplicationName), aws.ToString(d.DeploymentGroupName))
	}
}
