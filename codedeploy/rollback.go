package codedeploy

import (
	"slices"
	"time"

	"github.com/pipewright/pipewright/codedeploy/shape"
	"github.com/pipewright/pipewright/wire"
)

// wantsRollback reports whether d, just ended, is to be rolled back: a
// stop asked for it (StopDeployment's autoRollbackEnabled), or d's
// autoRollbackConfiguration is enabled with the event that ended it
// (DEPLOYMENT_STOP_ON_REQUEST, DEPLOYMENT_FAILURE). A deployment that had
// no instance, and a rollback, are not rolled back.
func (d *deployment) wantsRollback() bool {
	if d.GetCreator() == shape.DeploymentCreatorCodeDeployRollback || len(d.Targets) == 0 {
		return false
	}
	c := d.AutoRollbackConfiguration
	on := func(e shape.AutoRollbackEvent) bool {
		return c != nil && c.GetEnabled() && slices.Contains(c.Events, e)
	}
	switch d.GetStatus() {
	case shape.DeploymentStatusStopped:
		return d.StopRollback || on(shape.AutoRollbackEventDeploymentStopOnRequest)
	case shape.DeploymentStatusFailed:
		return on(shape.AutoRollbackEventDeploymentFailure)
	}
	return false
}

// rollback creates, in the transaction that ends d, the deployment that
// redeploys the group's last successful revision to the instances that
// received d's (those where any event ran), linked both ways through
// rollbackInfo. With no such revision or instance, d's rollbackMessage
// says so and nothing is redeployed.
func (s *Service) rollback(tx Tx, d *deployment, now time.Time) error {
	var received []*target
	for _, t := range d.Targets {
		if slices.ContainsFunc(t.Events, func(e shape.LifecycleEvent) bool { return e.StartTime != nil }) {
			received = append(received, t)
		}
	}
	if len(received) == 0 {
		d.RollbackInfo = &shape.RollbackInfo{RollbackMessage: new("Automatic rollback was not performed: no instance received this deployment's revision")}
		return nil
	}
	all, err := loadAll[deployment](tx, KindDeployment, "")
	if err != nil {
		return err
	}
	var good *deployment
	for _, p := range all {
		if p.GetDeploymentId() != d.GetDeploymentId() && p.GetApplicationName() == d.GetApplicationName() &&
			p.GetDeploymentGroupName() == d.GetDeploymentGroupName() && p.GetStatus() == shape.DeploymentStatusSucceeded &&
			(good == nil || p.CompleteTime.Time().After(good.CompleteTime.Time())) {
			good = p
		}
	}
	if good == nil {
		d.RollbackInfo = &shape.RollbackInfo{RollbackMessage: new("Automatic rollback was not performed: no earlier deployment of this deployment group succeeded, so there is no last known good revision")}
		return nil
	}
	id := newDeploymentID()
	r := &deployment{DeploymentInfo: shape.DeploymentInfo{
		ApplicationName: d.ApplicationName, DeploymentGroupName: d.DeploymentGroupName, DeploymentConfigName: d.DeploymentConfigName,
		DeploymentId: &id, Revision: good.Revision, PreviousRevision: d.Revision, Status: new(shape.DeploymentStatusCreated),
		CreateTime: wire.NewTimestamp(now), Creator: new(shape.DeploymentCreatorCodeDeployRollback),
		IgnoreApplicationStopFailures: d.IgnoreApplicationStopFailures, UpdateOutdatedInstancesOnly: new(false),
		DeploymentStyle: d.DeploymentStyle, FileExistsBehavior: d.FileExistsBehavior, ComputePlatform: d.ComputePlatform,
		RollbackInfo:             &shape.RollbackInfo{RollbackTriggeringDeploymentId: d.DeploymentId},
		DeploymentStatusMessages: []string{},
	}, GroupID: d.GroupID, MinHealthy: d.MinHealthy}
	for _, t := range received {
		r.Targets = append(r.Targets, newTarget(t.Instance, t.IamArn, now))
	}
	r.overview()
	d.RollbackInfo = &shape.RollbackInfo{RollbackDeploymentId: &id,
		RollbackMessage: new("Rolled back by deployment " + id + ", which redeploys the revision of deployment " + good.GetDeploymentId())}
	if err := useRevision(tx, d.GetApplicationName(), d.GetDeploymentGroupName(), good.Revision.S3Location, now); err != nil {
		return err
	}
	if err := save(tx, &Record{Key: activeKey(id)}, &active{Application: d.GetApplicationName(), Group: d.GetDeploymentGroupName()}); err != nil {
		return err
	}
	return save(tx, &Record{Key: deploymentKey(id)}, r)
}

// newTarget is an instance of a new deployment, every event Pending.
func newTarget(instance, iamArn string, now time.Time) *target {
	t := &target{Instance: instance, IamArn: iamArn, Status: shape.InstanceStatusPending, LastUpdated: wire.NewTimestamp(now)}
	for _, e := range inPlaceEvents {
		t.Events = append(t.Events, shape.LifecycleEvent{LifecycleEventName: new(e), Status: new(shape.LifecycleEventStatusPending)})
	}
	return t
}
