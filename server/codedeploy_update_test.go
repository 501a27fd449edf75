package server_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cd "github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdt "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"

	"github.com/pipewright/pipewright/server"
)

// takeEvent plays a host that polls, gets the deployment's first event and
// acknowledges it; it returns the command's token.
func takeEvent(t *testing.T, ts *testServer, host string) string {
	t.Helper()
	_, out := hostCall(t, ts, "PollHostCommand", map[string]string{"HostIdentifier": host})
	cmd, _ := out["HostCommand"].(map[string]any)
	if cmd == nil || cmd["CommandName"] != inPlaceOrder[0] {
		t.Fatalf("the poll answered %v, want %s", out, inPlaceOrder[0])
	}
	token := cmd["HostCommandIdentifier"].(string)
	if _, out := hostCall(t, ts, "PutHostCommandAcknowledgement", map[string]string{"HostCommandIdentifier": token}); out["CommandStatus"] != "InProgress" {
		t.Fatalf("the acknowledgement was answered %v", out)
	}
	return token
}

// updateDuringStop sends a PostHostCommandUpdate for token and, stopAfter
// into its hold, a StopDeployment of id; it returns the update's answer,
// how long it took, and the stop's answer.
func updateDuringStop(t *testing.T, ts *testServer, c *cd.Client, id, token string, stopAfter time.Duration) (any, time.Duration, *cd.StopDeploymentOutput) {
	t.Helper()
	type result struct {
		out *cd.StopDeploymentOutput
		err error
	}
	stopped := make(chan result, 1)
	time.AfterFunc(stopAfter, func() {
		out, err := c.StopDeployment(context.Background(), &cd.StopDeploymentInput{DeploymentId: aws.String(id)})
		stopped <- result{out, err}
	})
	start := time.Now()
	st, out := hostCall(t, ts, "PostHostCommandUpdate", map[string]string{"HostCommandIdentifier": token})
	took := time.Since(start)
	if st != 200 {
		t.Fatalf("PostHostCommandUpdate answered %d %v", st, out)
	}
	r := <-stopped
	if r.err != nil {
		t.Fatalf("StopDeployment: %v", r.err)
	}
	return out["CommandStatus"], took, r.out
}

// reportEnd reports token's end with status, as a host's agent does.
func reportEnd(t *testing.T, ts *testServer, token, status string) {
	t.Helper()
	diag := map[string]string{"format": "JSON", "payload": `{"error_code":4,"script_name":"scripts/hook.sh","message":"terminated","log":""}`}
	if status == "Succeeded" {
		diag["payload"] = `{"error_code":0,"script_name":"","message":"Succeeded","log":""}`
	}
	if st, out := hostCall(t, ts, "PutHostCommandComplete", map[string]any{"HostCommandIdentifier": token, "CommandStatus": status, "Diagnostics": diag}); st != 200 {
		t.Fatalf("PutHostCommandComplete answered %d %v", st, out)
	}
}

// TestCodeDeployUpdateStopTerminatesHooks checks PostHostCommandUpdate's
// hold through the server: in a group tagged
// pipewright:stop-terminates-hooks = true, a StopDeployment made while an
// update is held has it answer Failed at once (the agent then terminates
// the hook, reports it Failed, and the deployment ends Stopped); in an
// untagged group the held update answers InProgress at its bound, and the
// event is let finish.
func TestCodeDeployUpdateStopTerminatesHooks(t *testing.T) {
	const bound = 4 * time.Second
	ts := startServer(t, func(c *server.Config) { c.HostPollWait = time.Second; c.HostUpdateWait = bound })
	c, ctx := deployFixture(t, ts, "CodeDeployDefault.AllAtOnce"), context.Background()
	cdMust[*cd.CreateDeploymentGroupOutput](t, "CreateDeploymentGroup")(c.CreateDeploymentGroup(ctx, &cd.CreateDeploymentGroupInput{
		ApplicationName: aws.String("web"), DeploymentGroupName: aws.String("stoppable"), ServiceRoleArn: aws.String(cdRole),
		OnPremisesInstanceTagFilters: []cdt.TagFilter{{Key: deployTag.Key, Value: deployTag.Value, Type: cdt.TagFilterTypeKeyAndValue}},
		Tags:                         []cdt.Tag{{Key: aws.String("pipewright:stop-terminates-hooks"), Value: aws.String("TRUE")}}}))
	host := "arn:aws:iam::000000000000:user/host-1"
	registerHost(t, ts, "host-1", host, deployTag)
	rev := putBundle(t, ts, "b.zip", map[string]string{"appspec.yml": "version: 0.0\nos: linux\n"})
	create := func(group string) string {
		return aws.ToString(cdMust[*cd.CreateDeploymentOutput](t, "CreateDeployment")(c.CreateDeployment(ctx, &cd.CreateDeploymentInput{
			ApplicationName: aws.String("web"), DeploymentGroupName: aws.String(group), Revision: rev})).DeploymentId)
	}
	stoppedEvents := func(first string) []string {
		return append([]string{inPlaceOrder[0] + "=" + first}, eventsAll("Skipped")[1:]...)
	}

	// Tagged: the held update answers Failed as soon as the stop is made.
	id := create("stoppable")
	token := takeEvent(t, ts, host)
	const stopAfter = 500 * time.Millisecond
	status, took, stop := updateDuringStop(t, ts, c, id, token, stopAfter)
	if status != "Failed" || took < stopAfter || took > stopAfter+time.Second {
		t.Errorf("tagged group: the held update answered %v after %v, want Failed soon after the stop at %v", status, took, stopAfter)
	}
	if stop.Status != cdt.StopStatusPending {
		t.Errorf("tagged group: StopDeployment answered %s while the event ran, want Pending", stop.Status)
	}
	start := time.Now()
	if _, out := hostCall(t, ts, "PostHostCommandUpdate", map[string]string{"HostCommandIdentifier": token}); out["CommandStatus"] != "Failed" || time.Since(start) > time.Second {
		t.Errorf("tagged group: a later update answered %v after %v, want Failed at once", out, time.Since(start))
	}
	reportEnd(t, ts, token, "Failed")
	d := waitDeployment(t, c, id, cdt.DeploymentStatusStopped, 5*time.Second)
	if d.ErrorInformation == nil || d.ErrorInformation.Code != cdt.ErrorCodeManualStop {
		t.Errorf("tagged group: the stopped deployment's error %+v", d.ErrorInformation)
	}
	if st, got, _ := events(t, c, id, "host-1"); st != cdt.InstanceStatusFailed || !slices.Equal(got, stoppedEvents("Failed")) {
		t.Errorf("tagged group: instance %s, events %v", st, got)
	}
	if _, out := hostCall(t, ts, "PostHostCommandUpdate", map[string]string{"HostCommandIdentifier": token}); out["CommandStatus"] != "Failed" {
		t.Errorf("tagged group: an update after the report answered %v, want Failed", out)
	}

	// Untagged: the stop leaves the held update InProgress to its bound,
	// and the event finishes.
	id = create("fleet")
	token = takeEvent(t, ts, host)
	status, took, stop = updateDuringStop(t, ts, c, id, token, stopAfter)
	if status != "InProgress" || took < bound || took > bound+2*time.Second {
		t.Errorf("untagged group: the held update answered %v after %v, want InProgress at %v", status, took, bound)
	}
	if stop.Status != cdt.StopStatusPending {
		t.Errorf("untagged group: StopDeployment answered %s while the event ran, want Pending", stop.Status)
	}
	reportEnd(t, ts, token, "Succeeded")
	waitDeployment(t, c, id, cdt.DeploymentStatusStopped, 5*time.Second)
	if st, got, _ := events(t, c, id, "host-1"); st != cdt.InstanceStatusFailed || !slices.Equal(got, stoppedEvents("Succeeded")) {
		t.Errorf("untagged group: instance %s, events %v", st, got)
	}
	if _, out := hostCall(t, ts, "PostHostCommandUpdate", map[string]string{"HostCommandIdentifier": token}); out["CommandStatus"] != "Succeeded" {
		t.Errorf("untagged group: an update after the report answered %v, want Succeeded", out)
	}
	if st, out := hostCall(t, ts, "PostHostCommandUpdate", map[string]string{"HostCommandIdentifier": "nope"}); st != 400 || out["__type"] == nil {
		t.Errorf("an update of an unknown command: %d %v, want a ClientException", st, out)
	}
}

// TestCodeDeployUpdateHoldFitsWriteTimeout checks that the host protocol's
// holds end within the HTTP write timeout, which would otherwise cut
// their answers: with a 2 s write timeout and 10 s asked for, a poll and
// an update are answered, within about a second.
func TestCodeDeployUpdateHoldFitsWriteTimeout(t *testing.T) {
	ts := startServer(t, func(c *server.Config) {
		c.HostPollWait, c.HostUpdateWait = 10*time.Second, 10*time.Second
		c.HTTP = server.HTTPLimits{WriteTimeout: 2 * time.Second}
	})
	c, ctx := deployFixture(t, ts, "CodeDeployDefault.AllAtOnce"), context.Background()
	host := "arn:aws:iam::000000000000:user/host-1"
	registerHost(t, ts, "host-1", host, deployTag)
	start := time.Now()
	if st, out := hostCall(t, ts, "PollHostCommand", map[string]string{"HostIdentifier": host}); st != 200 || len(out) != 0 || time.Since(start) > 1500*time.Millisecond {
		t.Errorf("an idle poll answered %d %v after %v, want 200 {} within the write timeout", st, out, time.Since(start))
	}
	rev := putBundle(t, ts, "b.zip", map[string]string{"appspec.yml": "version: 0.0\nos: linux\n"})
	cdMust[*cd.CreateDeploymentOutput](t, "CreateDeployment")(c.CreateDeployment(ctx, &cd.CreateDeploymentInput{
		ApplicationName: aws.String("web"), DeploymentGroupName: aws.String("fleet"), Revision: rev}))
	token := takeEvent(t, ts, host)
	start = time.Now()
	if st, out := hostCall(t, ts, "PostHostCommandUpdate", map[string]string{"HostCommandIdentifier": token}); st != 200 || out["CommandStatus"] != "InProgress" || time.Since(start) > 1500*time.Millisecond {
		t.Errorf("a held update answered %d %v after %v, want 200 InProgress within the write timeout", st, out, time.Since(start))
	}
}
