package codedeploy

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pipewright/pipewright/codedeploy/shape"
	"github.com/pipewright/pipewright/wire"
)

// inPlaceEvents are the lifecycle events of an in-place deployment without
// a load balancer, in the order AWS runs and shows them.
var inPlaceEvents = []string{"ApplicationStop", "DownloadBundle", "BeforeInstall", "Install", "AfterInstall", "ApplicationStart", "ValidateService"}

// deployment is a deployment's record: what DeploymentInfo shows, and the
// state the scheduler works on. Every change to it is one compare-and-set
// write of this record.
type deployment struct {
	shape.DeploymentInfo
	GroupID string `json:"pwGroupId"`
	// MinHealthy is the config's minimumHealthyHosts at creation.
	MinHealthy shape.MinimumHealthyHosts `json:"pwMinHealthy"`
	// Stop is set by StopDeployment: nothing more is scheduled.
	Stop bool `json:"pwStop,omitempty"`
	// StopRollback is StopDeployment's autoRollbackEnabled.
	StopRollback bool `json:"pwStopRollback,omitempty"`
	// TerminateHooks is set by StopDeployment when the group was tagged
	// pipewright:stop-terminates-hooks = true then: the hooks still running
	// are answered Failed by PostHostCommandUpdate, which has pipewright's
	// agent terminate them.
	TerminateHooks bool `json:"pwTerminateHooks,omitempty"`
	// Failing is set when the health constraints cannot be met any more:
	// nothing more is scheduled.
	Failing bool      `json:"pwFailing,omitempty"`
	Targets []*target `json:"pwTargets"`
	// Nonce numbers the commands handed out.
	Nonce int64 `json:"pwNonce"`
}

// target is one instance of a deployment.
type target struct {
	Instance    string               `json:"instance"`
	IamArn      string               `json:"iamArn"`
	Status      shape.InstanceStatus `json:"status"`
	LastUpdated *wire.Timestamp      `json:"lastUpdated"`
	Events      []shape.LifecycleEvent
	// Command is the token of the event handed to the host and not yet
	// reported on; Since is when it was handed out.
	Command string          `json:"command,omitempty"`
	Since   *wire.Timestamp `json:"since,omitempty"`
	// Timeouts counts the events that failed for want of a report.
	TimedOut bool `json:"timedOut,omitempty"`
}

func deploymentKey(id string) Key { return Key{Kind: KindDeployment, Name: id} }
func activeKey(id string) Key     { return Key{Kind: KindActive, Name: id} }

// active is the record that marks a deployment not finished yet, so that
// polls and the sweeper look at those only.
type active struct {
	Application string `json:"application"`
	Group       string `json:"group"`
}

func (d *deployment) done() bool {
	switch d.GetStatus() {
	case shape.DeploymentStatusSucceeded, shape.DeploymentStatusFailed, shape.DeploymentStatusStopped:
		return true
	}
	return false
}

// minHealthy is how many instances must end healthy.
func (d *deployment) minHealthy() int {
	n := len(d.Targets)
	v := int(d.MinHealthy.GetValue())
	switch d.MinHealthy.GetType() {
	case shape.MinimumHealthyHostsTypeFleetPercent:
		return (n*v + 99) / 100
	case shape.MinimumHealthyHostsTypeHostCount:
		return min(v, n)
	}
	return n - 1 // OneAtATime: every instance but the last deployed one
}

// concurrency is how many instances are deployed at once: as many as the
// minimum healthy hosts leave, at least one; one for OneAtATime.
func (d *deployment) concurrency() int {
	if d.MinHealthy.GetType() == minimumMostConcurrency {
		return 1
	}
	return max(1, len(d.Targets)-d.minHealthy())
}

// count is how many targets have status st.
func (d *deployment) count(st shape.InstanceStatus) int {
	n := 0
	for _, t := range d.Targets {
		if t.Status == st {
			n++
		}
	}
	return n
}

func (d *deployment) target(instance string) *target {
	for _, t := range d.Targets {
		if t.Instance == instance {
			return t
		}
	}
	return nil
}

func (d *deployment) targetOfHost(iamArn string) *target {
	for _, t := range d.Targets {
		if t.IamArn == iamArn {
			return t
		}
	}
	return nil
}

// command is a lifecycle event handed to a host.
type command struct {
	Token, ExecutionID, Name string
	Nonce                    int64
}

// commandToken is DEPLOYMENT/INSTANCE/EVENT-INDEX/NONCE: instance names
// hold no '/'.
func commandToken(id, instance string, event int, nonce int64) string {
	return fmt.Sprintf("%s/%s/%d/%d", id, instance, event, nonce)
}

// parseToken splits a command token; ok is false for one pipewright did
// not make.
func parseToken(tok string) (id, instance string, event int, ok bool) {
	p := strings.Split(tok, "/")
	if len(p) != 4 {
		return "", "", 0, false
	}
	ev, err := strconv.Atoi(p[2])
	if err != nil || ev < 0 || ev >= len(inPlaceEvents) {
		return "", "", 0, false
	}
	return p[0], p[1], ev, true
}

// executionID is the DeploymentExecutionId of a deployment's commands for
// an instance: four '/'-separated parts, as the model's pattern requires.
func executionID(region, id, instance string) string {
	return "pipewright/" + region + "/" + id + "/" + instance
}

// executionDeployment is the deployment an execution id names.
func executionDeployment(exec string) (string, bool) {
	p := strings.Split(exec, "/")
	if len(p) != 4 || p[0] != "pipewright" {
		return "", false
	}
	return p[2], true
}

// next hands t's host its next lifecycle event, starting the instance
// when the schedule allows; nil when there is none for it now.
func (d *deployment) next(t *target, region string, now time.Time) *command {
	if d.done() || t.Command != "" || d.Stop || d.Failing {
		return nil
	}
	if t.Status == shape.InstanceStatusPending {
		if d.count(shape.InstanceStatusInProgress) >= d.concurrency() {
			return nil
		}
		t.Status = shape.InstanceStatusInProgress
		t.LastUpdated = wire.NewTimestamp(now)
		if d.GetStatus() != shape.DeploymentStatusInProgress {
			d.Status = new(shape.DeploymentStatusInProgress)
			d.StartTime = wire.NewTimestamp(now)
		}
	}
	if t.Status != shape.InstanceStatusInProgress {
		return nil
	}
	for i := range t.Events {
		e := &t.Events[i]
		if e.GetStatus() != shape.LifecycleEventStatusPending {
			continue
		}
		e.Status = new(shape.LifecycleEventStatusInProgress)
		e.StartTime = wire.NewTimestamp(now)
		d.Nonce++
		t.Command = commandToken(d.GetDeploymentId(), t.Instance, i, d.Nonce)
		t.Since = wire.NewTimestamp(now)
		t.LastUpdated = wire.NewTimestamp(now)
		return &command{Token: t.Command, ExecutionID: executionID(region, d.GetDeploymentId(), t.Instance), Name: *e.LifecycleEventName, Nonce: d.Nonce}
	}
	return nil
}

// finishEvent records the end of t's outstanding event ev: its status,
// diagnostics and end time. A failure (other than an ApplicationStop one
// the deployment ignores) fails the instance and skips its later events;
// the last event's success makes the instance Succeeded.
func (d *deployment) finishEvent(t *target, ev int, st shape.LifecycleEventStatus, diag *shape.Diagnostics, now time.Time) {
	e := &t.Events[ev]
	e.Status = &st
	e.EndTime = wire.NewTimestamp(now)
	e.Diagnostics = diag
	t.Command, t.Since = "", nil
	t.LastUpdated = wire.NewTimestamp(now)
	failed := st == shape.LifecycleEventStatusFailed &&
		!(*e.LifecycleEventName == "ApplicationStop" && d.GetIgnoreApplicationStopFailures())
	switch {
	case st == shape.LifecycleEventStatusSkipped || failed:
		if failed {
			t.Status = shape.InstanceStatusFailed
		} else {
			t.Status = shape.InstanceStatusSkipped
			if ev > 0 {
				t.Status = shape.InstanceStatusFailed
			}
		}
		skipFrom(t, ev+1)
	case ev == len(t.Events)-1:
		t.Status = shape.InstanceStatusSucceeded
	}
}

// skipFrom marks t's events from the index from on Skipped.
func skipFrom(t *target, from int) {
	for i := from; i < len(t.Events); i++ {
		t.Events[i].Status = new(shape.LifecycleEventStatusSkipped)
	}
}

// settle applies what the targets' states imply: the health constraints,
// a stop, and the deployment's end once nothing more will run. It reports
// whether the deployment ended.
func (d *deployment) settle(now time.Time) bool {
	if d.done() {
		return false
	}
	n, failed := len(d.Targets), d.count(shape.InstanceStatusFailed)
	pending := d.count(shape.InstanceStatusPending)
	oneAtATime := d.MinHealthy.GetType() == minimumMostConcurrency
	if !d.Failing && failed > 0 && (n-failed < d.minHealthy() || oneAtATime && pending > 0) {
		d.Failing = true
	}
	running := false
	for _, t := range d.Targets {
		switch {
		case t.Status == shape.InstanceStatusPending && (d.Stop || d.Failing):
			t.Status = shape.InstanceStatusSkipped
			t.LastUpdated = wire.NewTimestamp(now)
			skipFrom(t, 0)
		case t.Status == shape.InstanceStatusInProgress && t.Command == "" && (d.Stop || d.Failing):
			// Between two events: the instance gets no more.
			t.Status = shape.InstanceStatusFailed
			t.LastUpdated = wire.NewTimestamp(now)
			for i := range t.Events {
				if t.Events[i].GetStatus() == shape.LifecycleEventStatusPending {
					t.Events[i].Status = new(shape.LifecycleEventStatusSkipped)
				}
			}
		}
		if t.Status == shape.InstanceStatusPending || t.Status == shape.InstanceStatusInProgress {
			running = true
		}
	}
	d.overview()
	if running {
		return false
	}
	succeeded := d.count(shape.InstanceStatusSucceeded)
	switch {
	case d.Stop:
		d.Status = new(shape.DeploymentStatusStopped)
		d.ErrorInformation = &shape.ErrorInformation{Code: new(shape.ErrorCodeManualStop), Message: new("The deployment was stopped by a StopDeployment request")}
	case d.Failing || succeeded == 0 || succeeded < d.minHealthy():
		d.Status = new(shape.DeploymentStatusFailed)
		code := shape.ErrorCodeHealthConstraints
		msg := "The overall deployment failed because too many individual instances failed deployment, too few healthy instances are available for deployment, or some instances in your deployment group are experiencing problems."
		for _, t := range d.Targets {
			if t.TimedOut {
				code, msg = shape.ErrorCodeTimeout, "The overall deployment failed because an instance's host did not report the end of a lifecycle event within its time limit."
			}
		}
		d.ErrorInformation = &shape.ErrorInformation{Code: &code, Message: &msg}
	default:
		d.Status = new(shape.DeploymentStatusSucceeded)
	}
	d.CompleteTime = wire.NewTimestamp(now)
	return true
}

// overview recounts deploymentOverview.
func (d *deployment) overview() {
	c := func(st shape.InstanceStatus) *int64 { return new(int64(d.count(st))) }
	d.DeploymentOverview = &shape.DeploymentOverview{
		Pending: c(shape.InstanceStatusPending), InProgress: c(shape.InstanceStatusInProgress),
		Succeeded: c(shape.InstanceStatusSucceeded), Failed: c(shape.InstanceStatusFailed),
		Skipped: c(shape.InstanceStatusSkipped), Ready: c(shape.InstanceStatusReady),
	}
}

// lifecycleErrorCode maps an agent's error_code to the model's.
func lifecycleErrorCode(code string) shape.LifecycleErrorCode {
	switch code {
	case "0":
		return shape.LifecycleErrorCodeSuccess
	case "1":
		return shape.LifecycleErrorCodeScriptMissing
	case "2":
		return shape.LifecycleErrorCodeScriptNotExecutable
	case "3":
		return shape.LifecycleErrorCodeScriptTimedOut
	case "4":
		return shape.LifecycleErrorCodeScriptFailed
	}
	return shape.LifecycleErrorCodeUnknownError
}
