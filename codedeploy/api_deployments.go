package codedeploy

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"slices"
	"strings"

	"github.com/pipewright/pipewright/codedeploy/shape"
	"github.com/pipewright/pipewright/wire"
)

// deploymentBatchLimit is how many deployments, instances or targets a
// BatchGet operation takes.
const deploymentBatchLimit = 25

// newDeploymentID is d- and nine characters of AWS's alphabet.
func newDeploymentID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 9)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "d-" + string(b)
}

// checkDeploymentID refuses a missing or malformed deployment id.
func checkDeploymentID(id *string) error {
	if id == nil || *id == "" {
		return apiError(excDeploymentIDRequired, "The deployment ID must be specified")
	}
	if !strings.HasPrefix(*id, "d-") || len(*id) > 100 {
		return apiError(excInvalidDeploymentID, "The deployment ID is not valid: %s", *id)
	}
	return nil
}

// getDeployment reads a deployment; DeploymentDoesNotExistException when
// there is none.
func getDeployment(tx Tx, id string) (*deployment, *Record, error) {
	var d deployment
	r, ok, err := load(tx, deploymentKey(id), &d)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, apiError(excDeploymentDoesNotExist, "The deployment %s could not be found", id)
	}
	return &d, r, nil
}

// matchesGroup reports whether a registered instance's tags match a
// group's onPremisesInstanceTagFilters (any of them) or its
// onPremisesTagSet (some filter of every one of its lists).
func matchesGroup(i *instance, g *group) bool {
	if len(g.OnPremisesInstanceTagFilters) > 0 && matchesAny(i.Tags, g.OnPremisesInstanceTagFilters) {
		return true
	}
	var set [][]shape.TagFilter
	if g.OnPremisesTagSet != nil {
		set = g.OnPremisesTagSet.OnPremisesTagSetList
	}
	if len(set) == 0 {
		return false
	}
	for _, fs := range set {
		if !matchesAny(i.Tags, fs) {
			return false
		}
	}
	return true
}

// bundleType is a revision's bundle type: the one given, else what its
// key's extension says.
func bundleType(l *shape.S3Location) (shape.BundleType, error) {
	if t := l.GetBundleType(); t != "" {
		switch t {
		case shape.BundleTypeZip, shape.BundleTypeTar, shape.BundleTypeTarGZip:
			return t, nil
		}
		return "", apiError(excInvalidRevision, "The Server platform deploys zip, tar and tgz bundles, not %s", t)
	}
	k := l.GetKey()
	switch {
	case strings.HasSuffix(k, ".zip"):
		return shape.BundleTypeZip, nil
	case strings.HasSuffix(k, ".tar"):
		return shape.BundleTypeTar, nil
	case strings.HasSuffix(k, ".tgz"), strings.HasSuffix(k, ".tar.gz"):
		return shape.BundleTypeTarGZip, nil
	}
	return "", apiError(excInvalidRevision, "The revision's bundle type must be specified")
}

// CreateDeployment deploys an S3 revision of pipewright's store (the one
// given, else the group's target revision) in place to the registered
// on-premises instances that match the group's tags now. A group has one
// active deployment at a time. With no matching instance the deployment is
// created Failed with NO_INSTANCES, as on AWS.
func (s *Service) CreateDeployment(ctx context.Context, in *shape.CreateDeploymentInput) (*shape.CreateDeploymentOutput, error) {
	return s.createDeployment(ctx, in, newDeploymentID())
}

// createDeployment creates the deployment id; when a deployment id exists
// already it answers that one and creates nothing (a pipeline action's
// deployment, asked for again after a restart).
func (s *Service) createDeployment(ctx context.Context, in *shape.CreateDeploymentInput, id string) (*shape.CreateDeploymentOutput, error) {
	if err := checkAppName(in.ApplicationName); err != nil {
		return nil, err
	}
	if err := checkGroupName(in.DeploymentGroupName); err != nil {
		return nil, err
	}
	if len(in.GetDescription()) > maxDescription {
		return nil, apiError(excDescriptionTooLong, "The description is at most %d characters", maxDescription)
	}
	if f := in.GetFileExistsBehavior(); f != "" && !slices.Contains(f.Values(), f) {
		return nil, apiError(excInvalidFileExistsBehavior, "fileExistsBehavior must be DISALLOW, OVERWRITE or RETAIN: %s", f)
	}
	if in.TargetInstances != nil {
		return nil, apiError(excInvalidTargetInstances, "pipewright does not take targetInstances (they are for blue/green deployments)")
	}
	app, name := *in.ApplicationName, *in.DeploymentGroupName
	rev := in.Revision
	if rev == nil {
		err := s.view(ctx, func(tx Tx) error {
			g, _, err := getGroup(tx, app, name)
			if err == nil {
				rev = g.TargetRevision
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	if err := checkRevision(rev); err != nil {
		return nil, err
	}
	l := *rev.S3Location
	bt, err := bundleType(&l)
	if err != nil {
		return nil, err
	}
	l.BundleType = &bt
	etag, err := s.revisionETag(ctx, &l)
	if err != nil {
		return nil, err
	}
	l.ETag = &etag
	now := s.now()
	err = s.update(ctx, func(tx Tx) error {
		if _, exists, err := load(tx, deploymentKey(id), &deployment{}); err != nil || exists {
			return err
		}
		if _, ahead, err := load(tx, stopAheadKey(id), &struct{}{}); err != nil || ahead {
			if err == nil {
				err = ErrStoppedAhead
			}
			return err
		}
		g, _, err := getGroup(tx, app, name)
		if err != nil {
			return err
		}
		cfgName := g.GetDeploymentConfigName()
		if in.GetDeploymentConfigName() != "" {
			cfgName = in.GetDeploymentConfigName()
		}
		c, _, err := getConfig(tx, cfgName)
		if err != nil {
			return err
		}
		actives, err := loadAll[active](tx, KindActive, "")
		if err != nil {
			return err
		}
		for _, a := range actives {
			if a.Application == app && a.Group == name {
				return apiError(excDeploymentLimitExceeded, "The deployment group %s of application %s already has an active deployment", name, app)
			}
		}
		fe := in.GetFileExistsBehavior()
		if fe == "" {
			fe = shape.FileExistsBehaviorDisallow
		}
		d := &deployment{DeploymentInfo: shape.DeploymentInfo{
			ApplicationName: &app, DeploymentGroupName: &name, DeploymentConfigName: &cfgName, DeploymentId: &id,
			Revision:   &shape.RevisionLocation{RevisionType: new(shape.RevisionLocationTypeS3), S3Location: &l},
			Status:     new(shape.DeploymentStatusCreated),
			CreateTime: wire.NewTimestamp(now), Description: in.Description, Creator: new(shape.DeploymentCreatorUser),
			IgnoreApplicationStopFailures: new(in.GetIgnoreApplicationStopFailures()),
			UpdateOutdatedInstancesOnly:   new(false),
			DeploymentStyle:               g.DeploymentStyle, FileExistsBehavior: &fe,
			ComputePlatform:           new(shape.ComputePlatformServer),
			AutoRollbackConfiguration: g.AutoRollbackConfiguration,
			DeploymentStatusMessages:  []string{},
		}, GroupID: g.GetDeploymentGroupId(), MinHealthy: *c.MinimumHealthyHosts}
		if in.AutoRollbackConfiguration != nil {
			d.AutoRollbackConfiguration = in.AutoRollbackConfiguration
		}
		instances, err := loadAll[instance](tx, KindInstance, "")
		if err != nil {
			return err
		}
		for _, i := range instances {
			if !i.registered() || !matchesGroup(i, g) {
				continue
			}
			arn := i.GetIamUserArn()
			if arn == "" {
				arn = i.GetIamSessionArn()
			}
			d.Targets = append(d.Targets, newTarget(i.GetInstanceName(), arn, now))
		}
		d.overview()
		if err := useRevision(tx, app, name, &l, now); err != nil {
			return err
		}
		if len(d.Targets) == 0 {
			d.Status = new(shape.DeploymentStatusFailed)
			d.CompleteTime = wire.NewTimestamp(now)
			d.ErrorInformation = &shape.ErrorInformation{Code: new(shape.ErrorCodeNoInstances),
				Message: new("The deployment failed because no instances were found for your deployment group. Check your deployment group settings to make sure the tags for your on-premises instances are correct.")}
		} else if err := save(tx, &Record{Key: activeKey(id)}, &active{Application: app, Group: name}); err != nil {
			return err
		}
		return save(tx, &Record{Key: deploymentKey(id)}, d)
	})
	if err != nil {
		return nil, err
	}
	s.changed()
	return &shape.CreateDeploymentOutput{DeploymentId: &id}, nil
}

// info is what GetDeployment shows of d.
func (d *deployment) info() *shape.DeploymentInfo {
	i := d.DeploymentInfo
	return &i
}

// GetDeployment answers a deployment.
func (s *Service) GetDeployment(ctx context.Context, in *shape.GetDeploymentInput) (*shape.GetDeploymentOutput, error) {
	if err := checkDeploymentID(in.DeploymentId); err != nil {
		return nil, err
	}
	var d *deployment
	err := s.view(ctx, func(tx Tx) (err error) {
		d, _, err = getDeployment(tx, *in.DeploymentId)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &shape.GetDeploymentOutput{DeploymentInfo: d.info()}, nil
}

// BatchGetDeployments answers up to 25 deployments; unknown ids are left
// out, as on AWS.
func (s *Service) BatchGetDeployments(ctx context.Context, in *shape.BatchGetDeploymentsInput) (*shape.BatchGetDeploymentsOutput, error) {
	if len(in.DeploymentIds) == 0 {
		return nil, apiError(excDeploymentIDRequired, "The deployment IDs must be specified")
	}
	if len(in.DeploymentIds) > deploymentBatchLimit {
		return nil, apiError(excBatchLimitExceeded, "The maximum number of deployment IDs allowed for this request (%d) was exceeded", deploymentBatchLimit)
	}
	out := &shape.BatchGetDeploymentsOutput{DeploymentsInfo: []shape.DeploymentInfo{}}
	err := s.view(ctx, func(tx Tx) error {
		for _, id := range in.DeploymentIds {
			d, _, err := getDeployment(tx, id)
			if isCode(err, excDeploymentDoesNotExist) {
				continue
			}
			if err != nil {
				return err
			}
			out.DeploymentsInfo = append(out.DeploymentsInfo, *d.info())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListDeployments answers the ids of deployments, newest first: of a group
// (which needs its application), of the statuses and in the create time
// range given.
func (s *Service) ListDeployments(ctx context.Context, in *shape.ListDeploymentsInput) (*shape.ListDeploymentsOutput, error) {
	app, grp := in.GetApplicationName(), in.GetDeploymentGroupName()
	if grp != "" && app == "" {
		return nil, apiError(excApplicationNameRequired, "The application name must be specified with a deployment group name")
	}
	for _, st := range in.IncludeOnlyStatuses {
		if !slices.Contains(st.Values(), st) {
			return nil, apiError(excInvalidDeploymentStatus, "The deployment status is not valid: %s", st)
		}
	}
	r := in.CreateTimeRange
	if r != nil && r.Start != nil && r.End != nil && r.End.Time().Before(r.Start.Time()) {
		return nil, apiError(excInvalidTimeRange, "The time range's end is before its start")
	}
	var ds []*deployment
	err := s.view(ctx, func(tx Tx) (err error) {
		if app != "" {
			if grp != "" {
				if _, _, err := getGroup(tx, app, grp); err != nil {
					return err
				}
			} else if _, _, err := getApp(tx, app); err != nil {
				return err
			}
		}
		ds, err = loadAll[deployment](tx, KindDeployment, "")
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(ds, func(a, b *deployment) int { return b.CreateTime.Time().Compare(a.CreateTime.Time()) })
	ids := []string{}
	for _, d := range ds {
		ct := d.CreateTime.Time()
		switch {
		case app != "" && d.GetApplicationName() != app, grp != "" && d.GetDeploymentGroupName() != grp,
			len(in.IncludeOnlyStatuses) > 0 && !slices.Contains(in.IncludeOnlyStatuses, d.GetStatus()),
			r != nil && r.Start != nil && ct.Before(r.Start.Time()), r != nil && r.End != nil && ct.After(r.End.Time()):
			continue
		}
		ids = append(ids, d.GetDeploymentId())
	}
	part, next, err := page(ids, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &shape.ListDeploymentsOutput{Deployments: append([]string{}, part...), NextToken: next}, nil
}

// StopDeployment records the stop first: no further lifecycle event is
// scheduled, and instances not started are Skipped. It answers Pending
// while events already handed to hosts run (they finish; the deployment
// then ends Stopped) and Succeeded once nothing more will run. With
// autoRollbackEnabled (or the group's DEPLOYMENT_STOP_ON_REQUEST rollback
// event) the stopped deployment is rolled back when it ends. In a group
// tagged pipewright:stop-terminates-hooks = true the running events are
// not let finish: PostHostCommandUpdate answers them Failed.
func (s *Service) StopDeployment(ctx context.Context, in *shape.StopDeploymentInput) (*shape.StopDeploymentOutput, error) {
	if err := checkDeploymentID(in.DeploymentId); err != nil {
		return nil, err
	}
	var ended bool
	err := s.update(ctx, func(tx Tx) (err error) {
		ended, err = s.stopIn(tx, *in.DeploymentId, in.GetAutoRollbackEnabled())
		return err
	})
	if err != nil {
		return nil, err
	}
	s.changed()
	if ended {
		return &shape.StopDeploymentOutput{Status: new(shape.StopStatusSucceeded), StatusMessage: new("The deployment is stopped")}, nil
	}
	return &shape.StopDeploymentOutput{Status: new(shape.StopStatusPending),
		StatusMessage: new("The deployment is stopping: lifecycle events already running on instances finish first")}, nil
}

// stopIn records the stop of deployment id in tx; ended reports that
// nothing more runs.
func (s *Service) stopIn(tx Tx, id string, rollback bool) (bool, error) {
	d, r, err := getDeployment(tx, id)
	if err != nil {
		return false, err
	}
	if d.done() {
		return false, apiError(excDeploymentAlreadyCompleted, "The deployment %s is already completed", id)
	}
	d.Stop = true
	d.StopRollback = rollback
	if d.TerminateHooks, err = stopTerminatesHooks(tx, d.GetApplicationName(), d.GetDeploymentGroupName()); err != nil {
		return false, err
	}
	ended := d.settle(s.now())
	return ended, s.saveDeployment(tx, r, d, ended)
}

// saveDeployment writes d and, when it ended, removes its active marker
// and creates its rollback if it wants one.
func (s *Service) saveDeployment(tx Tx, r *Record, d *deployment, ended bool) error {
	if ended && d.wantsRollback() {
		if err := s.rollback(tx, d, s.now()); err != nil {
			return err
		}
	}
	if err := save(tx, r, d); err != nil {
		return err
	}
	if !ended {
		return nil
	}
	ar, err := tx.Get(activeKey(d.GetDeploymentId()))
	if err != nil {
		return err
	}
	return tx.Delete(ar)
}

// renameDeployments gives the deployments of an application (of one of
// its groups when oldGroup is not "") and their active markers the
// application's or group's new name, in the rename's transaction, so that
// ListDeployments and the one-active-deployment check follow a rename.
func renameDeployments(tx Tx, oldApp, newApp, oldGroup, newGroup string) error {
	of := func(app, group string) bool { return app == oldApp && (oldGroup == "" || group == oldGroup) }
	rename := func(app, group *string) {
		*app = newApp
		if oldGroup != "" {
			*group = newGroup
		}
	}
	rs, err := tx.List(KindDeployment, "")
	if err != nil {
		return err
	}
	for _, r := range rs {
		var d deployment
		if err := json.Unmarshal(r.Doc, &d); err != nil {
			return err
		}
		if !of(d.GetApplicationName(), d.GetDeploymentGroupName()) {
			continue
		}
		app, group := d.GetApplicationName(), d.GetDeploymentGroupName()
		rename(&app, &group)
		d.ApplicationName, d.DeploymentGroupName = &app, &group
		if err := save(tx, r, &d); err != nil {
			return err
		}
	}
	rs, err = tx.List(KindActive, "")
	if err != nil {
		return err
	}
	for _, r := range rs {
		var a active
		if err := json.Unmarshal(r.Doc, &a); err != nil {
			return err
		}
		if of(a.Application, a.Group) {
			rename(&a.Application, &a.Group)
			if err := save(tx, r, &a); err != nil {
				return err
			}
		}
	}
	return nil
}
