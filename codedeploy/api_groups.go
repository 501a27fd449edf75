package codedeploy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/pipewright/pipewright/codedeploy/shape"
)

// group is a deployment group's record. Its applicationName is not kept
// (the record's scope is the application): it is set when the group is
// read.
type group struct {
	shape.DeploymentGroupInfo
	Tags []shape.Tag `json:"pwTags,omitempty"`
}

// maxTagSets is how many tag groups an onPremisesTagSet may have.
const maxTagSets = 3

func groupKey(app, name string) Key { return Key{Kind: KindGroup, Scope: app, Name: name} }

// checkGroupName refuses a missing or malformed deployment group name.
func checkGroupName(name *string) error {
	if name == nil || *name == "" {
		return apiError(excGroupNameRequired, "The deployment group name must be specified")
	}
	if !validName(*name) {
		return apiError(excInvalidGroupName, "The deployment group name is at most 100 characters: %s", *name)
	}
	return nil
}

// getGroup reads a deployment group of an application that exists;
// DeploymentGroupDoesNotExistException when there is none.
func getGroup(tx Tx, app, name string) (*group, *Record, error) {
	if _, _, err := getApp(tx, app); err != nil {
		return nil, nil, err
	}
	var g group
	r, ok, err := load(tx, groupKey(app, name), &g)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, groupNotFound(app, name)
	}
	g.ApplicationName = &app
	return &g, r, nil
}

// groupSettings is what CreateDeploymentGroup and UpdateDeploymentGroup
// share.
type groupSettings struct {
	DeploymentConfigName             *string
	Ec2TagFilters                    []shape.EC2TagFilter
	OnPremisesInstanceTagFilters     []shape.TagFilter
	AutoScalingGroups                []string
	ServiceRoleArn                   *string
	TriggerConfigurations            []shape.TriggerConfig
	AlarmConfiguration               *shape.AlarmConfiguration
	AutoRollbackConfiguration        *shape.AutoRollbackConfiguration
	OutdatedInstancesStrategy        *shape.OutdatedInstancesStrategy
	DeploymentStyle                  *shape.DeploymentStyle
	BlueGreenDeploymentConfiguration *shape.BlueGreenDeploymentConfiguration
	LoadBalancerInfo                 *shape.LoadBalancerInfo
	Ec2TagSet                        *shape.EC2TagSet
	EcsServices                      []shape.ECSService
	OnPremisesTagSet                 *shape.OnPremisesTagSet
	TerminationHookEnabled           *bool
}

// check refuses what pipewright cannot do (EC2 and Auto Scaling targets,
// blue/green deployments, load balancers, ECS services, triggers and
// alarms) and settings AWS refuses.
func (st *groupSettings) check(tx Tx) error {
	refuse := func(typ, what string) error {
		return apiError(typ, "pipewright deploys in place to on-premises instances only: %s is not supported", what)
	}
	switch {
	case len(st.Ec2TagFilters) > 0:
		return refuse(excInvalidEC2Tag, "ec2TagFilters")
	case st.Ec2TagSet != nil && len(st.Ec2TagSet.Ec2TagSetList) > 0:
		return refuse(excInvalidEC2Tag, "ec2TagSet")
	case len(st.AutoScalingGroups) > 0:
		return refuse(excInvalidAutoScalingGroup, "autoScalingGroups")
	case st.LoadBalancerInfo != nil && (len(st.LoadBalancerInfo.ElbInfoList) > 0 || len(st.LoadBalancerInfo.TargetGroupInfoList) > 0 || len(st.LoadBalancerInfo.TargetGroupPairInfoList) > 0):
		return refuse(excInvalidLoadBalancerInfo, "loadBalancerInfo")
	case st.DeploymentStyle != nil && st.DeploymentStyle.GetDeploymentType() == shape.DeploymentTypeBlueGreen:
		return refuse(excInvalidDeploymentStyle, "a BLUE_GREEN deploymentStyle")
	case st.DeploymentStyle != nil && st.DeploymentStyle.GetDeploymentOption() == shape.DeploymentOptionWithTrafficControl:
		return refuse(excInvalidDeploymentStyle, "a deploymentStyle WITH_TRAFFIC_CONTROL")
	case st.BlueGreenDeploymentConfiguration != nil:
		return refuse(excInvalidBlueGreenConfig, "blueGreenDeploymentConfiguration")
	case len(st.EcsServices) > 0:
		return refuse(excInvalidECSService, "ecsServices")
	case len(st.TriggerConfigurations) > 0:
		return refuse(excInvalidTriggerConfig, "triggerConfigurations")
	case st.AlarmConfiguration != nil && st.AlarmConfiguration.GetEnabled():
		return refuse(excInvalidAlarmConfig, "alarmConfiguration")
	}
	if r := st.ServiceRoleArn; r != nil && (!strings.HasPrefix(*r, "arn:") || !strings.Contains(*r, ":role/")) {
		return apiError(excInvalidRole, "The service role ARN is not an IAM role's: %s", *st.ServiceRoleArn)
	}
	if st.AutoRollbackConfiguration != nil {
		for _, e := range st.AutoRollbackConfiguration.Events {
			if e == shape.AutoRollbackEventDeploymentStopOnAlarm {
				return apiError(excInvalidAutoRollbackConfig, "pipewright has no alarms: the rollback event DEPLOYMENT_STOP_ON_ALARM is not supported")
			}
		}
	}
	if len(st.OnPremisesInstanceTagFilters) > 0 && st.OnPremisesTagSet != nil && len(st.OnPremisesTagSet.OnPremisesTagSetList) > 0 {
		return apiError(excInvalidOnPremisesTagCombo, "onPremisesInstanceTagFilters and onPremisesTagSet cannot both be specified")
	}
	if err := checkTagFilters(st.OnPremisesInstanceTagFilters, excInvalidTag); err != nil {
		return err
	}
	if st.OnPremisesTagSet != nil {
		if len(st.OnPremisesTagSet.OnPremisesTagSetList) > maxTagSets {
			return apiError(excTagSetListLimitExceeded, "An onPremisesTagSet has at most %d tag groups", maxTagSets)
		}
		for _, fs := range st.OnPremisesTagSet.OnPremisesTagSetList {
			if err := checkTagFilters(fs, excInvalidTag); err != nil {
				return err
			}
		}
	}
	if st.DeploymentConfigName != nil {
		if err := checkConfigName(st.DeploymentConfigName); err != nil {
			return err
		}
		if _, _, err := getConfig(tx, *st.DeploymentConfigName); err != nil {
			return err
		}
	}
	return nil
}

// apply sets what the settings give on a group (nil members keep what it
// has: UpdateDeploymentGroup changes only what it names).
func (st *groupSettings) apply(g *shape.DeploymentGroupInfo) {
	if st.DeploymentConfigName != nil {
		g.DeploymentConfigName = st.DeploymentConfigName
	}
	if st.OnPremisesInstanceTagFilters != nil {
		g.OnPremisesInstanceTagFilters = st.OnPremisesInstanceTagFilters
		g.OnPremisesTagSet = nil
	}
	if st.OnPremisesTagSet != nil {
		g.OnPremisesTagSet = st.OnPremisesTagSet
		if len(st.OnPremisesTagSet.OnPremisesTagSetList) > 0 {
			g.OnPremisesInstanceTagFilters = nil
		}
	}
	if st.ServiceRoleArn != nil {
		g.ServiceRoleArn = st.ServiceRoleArn
	}
	if st.AutoRollbackConfiguration != nil {
		g.AutoRollbackConfiguration = st.AutoRollbackConfiguration
	}
	if st.OutdatedInstancesStrategy != nil {
		g.OutdatedInstancesStrategy = st.OutdatedInstancesStrategy
	}
	if st.AlarmConfiguration != nil {
		g.AlarmConfiguration = st.AlarmConfiguration
	}
	if st.TerminationHookEnabled != nil {
		g.TerminationHookEnabled = st.TerminationHookEnabled
	}
}

// CreateDeploymentGroup creates an in-place deployment group over the
// on-premises instances its tag filters match.
func (s *Service) CreateDeploymentGroup(ctx context.Context, in *shape.CreateDeploymentGroupInput) (*shape.CreateDeploymentGroupOutput, error) {
	if err := checkAppName(in.ApplicationName); err != nil {
		return nil, err
	}
	if err := checkGroupName(in.DeploymentGroupName); err != nil {
		return nil, err
	}
	if in.GetServiceRoleArn() == "" {
		return nil, apiError(excRoleRequired, "The service role ARN must be specified")
	}
	if err := checkTags(in.Tags, excInvalidTagsToAdd); err != nil {
		return nil, err
	}
	st := groupSettings{
		DeploymentConfigName: in.DeploymentConfigName, Ec2TagFilters: in.Ec2TagFilters, OnPremisesInstanceTagFilters: in.OnPremisesInstanceTagFilters,
		AutoScalingGroups: in.AutoScalingGroups, ServiceRoleArn: in.ServiceRoleArn, TriggerConfigurations: in.TriggerConfigurations,
		AlarmConfiguration: in.AlarmConfiguration, AutoRollbackConfiguration: in.AutoRollbackConfiguration,
		OutdatedInstancesStrategy: in.OutdatedInstancesStrategy, DeploymentStyle: in.DeploymentStyle,
		BlueGreenDeploymentConfiguration: in.BlueGreenDeploymentConfiguration, LoadBalancerInfo: in.LoadBalancerInfo,
		Ec2TagSet: in.Ec2TagSet, EcsServices: in.EcsServices, OnPremisesTagSet: in.OnPremisesTagSet, TerminationHookEnabled: in.TerminationHookEnabled,
	}
	app, name := *in.ApplicationName, *in.DeploymentGroupName
	g := &group{DeploymentGroupInfo: shape.DeploymentGroupInfo{
		DeploymentGroupId: new(uuid.NewString()), DeploymentGroupName: &name, DeploymentConfigName: new(ConfigOneAtATime),
		DeploymentStyle:           &shape.DeploymentStyle{DeploymentType: new(shape.DeploymentTypeInPlace), DeploymentOption: new(shape.DeploymentOptionWithoutTrafficControl)},
		OutdatedInstancesStrategy: new(shape.OutdatedInstancesStrategyUpdate), ComputePlatform: new(shape.ComputePlatformServer),
		TerminationHookEnabled: new(false),
	}, Tags: in.Tags}
	st.apply(&g.DeploymentGroupInfo)
	err := s.update(ctx, func(tx Tx) error {
		if _, _, err := getApp(tx, app); err != nil {
			return err
		}
		if err := st.check(tx); err != nil {
			return err
		}
		err := save(tx, &Record{Key: groupKey(app, name)}, g)
		if errors.Is(err, ErrExists) {
			return apiError(excGroupAlreadyExists, "A deployment group with the name %s already exists in application %s", name, app)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &shape.CreateDeploymentGroupOutput{DeploymentGroupId: g.DeploymentGroupId}, nil
}

// GetDeploymentGroup answers a deployment group.
func (s *Service) GetDeploymentGroup(ctx context.Context, in *shape.GetDeploymentGroupInput) (*shape.GetDeploymentGroupOutput, error) {
	if err := checkAppName(in.ApplicationName); err != nil {
		return nil, err
	}
	if err := checkGroupName(in.DeploymentGroupName); err != nil {
		return nil, err
	}
	var g *group
	err := s.view(ctx, func(tx Tx) (err error) {
		g, _, err = getGroup(tx, *in.ApplicationName, *in.DeploymentGroupName)
		return err
	})
	if err != nil {
		return nil, err
	}
	info := g.shown()
	return &shape.GetDeploymentGroupOutput{DeploymentGroupInfo: &info}, nil
}

// shown is the group as GetDeploymentGroup shows it: the lists AWS sends
// for a Server group are there, [] when empty.
func (g *group) shown() shape.DeploymentGroupInfo {
	info := g.DeploymentGroupInfo
	if info.Ec2TagFilters == nil {
		info.Ec2TagFilters = []shape.EC2TagFilter{}
	}
	if info.OnPremisesInstanceTagFilters == nil {
		info.OnPremisesInstanceTagFilters = []shape.TagFilter{}
	}
	if info.AutoScalingGroups == nil {
		info.AutoScalingGroups = []shape.AutoScalingGroup{}
	}
	if info.TriggerConfigurations == nil {
		info.TriggerConfigurations = []shape.TriggerConfig{}
	}
	return info
}

// BatchGetDeploymentGroups answers up to 100 groups of an application;
// those that do not exist are named in errorMessage.
func (s *Service) BatchGetDeploymentGroups(ctx context.Context, in *shape.BatchGetDeploymentGroupsInput) (*shape.BatchGetDeploymentGroupsOutput, error) {
	if err := checkAppName(in.ApplicationName); err != nil {
		return nil, err
	}
	if err := checkBatch(len(in.DeploymentGroupNames), excGroupNameRequired, "The deployment group names must be specified"); err != nil {
		return nil, err
	}
	out := &shape.BatchGetDeploymentGroupsOutput{DeploymentGroupsInfo: []shape.DeploymentGroupInfo{}}
	var missing []string
	err := s.view(ctx, func(tx Tx) error {
		for _, name := range in.DeploymentGroupNames {
			if err := checkGroupName(&name); err != nil {
				return err
			}
			g, _, err := getGroup(tx, *in.ApplicationName, name)
			if isCode(err, excGroupDoesNotExist) {
				missing = append(missing, name)
				continue
			}
			if err != nil {
				return err
			}
			out.DeploymentGroupsInfo = append(out.DeploymentGroupsInfo, g.shown())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		out.ErrorMessage = new(fmt.Sprintf("Deployment groups not found in application %s: %s", *in.ApplicationName, strings.Join(missing, ", ")))
	}
	return out, nil
}

// ListDeploymentGroups answers the names of an application's groups, by
// name, 100 a page.
func (s *Service) ListDeploymentGroups(ctx context.Context, in *shape.ListDeploymentGroupsInput) (*shape.ListDeploymentGroupsOutput, error) {
	if err := checkAppName(in.ApplicationName); err != nil {
		return nil, err
	}
	var names []string
	err := s.view(ctx, func(tx Tx) error {
		if _, _, err := getApp(tx, *in.ApplicationName); err != nil {
			return err
		}
		rs, err := tx.List(KindGroup, *in.ApplicationName)
		for _, r := range rs {
			names = append(names, r.Name)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	part, next, err := page(names, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &shape.ListDeploymentGroupsOutput{ApplicationName: in.ApplicationName, DeploymentGroups: append([]string{}, part...), NextToken: next}, nil
}

// UpdateDeploymentGroup changes what it names of a group, and renames it
// with newDeploymentGroupName.
func (s *Service) UpdateDeploymentGroup(ctx context.Context, in *shape.UpdateDeploymentGroupInput) (*shape.UpdateDeploymentGroupOutput, error) {
	if err := checkAppName(in.ApplicationName); err != nil {
		return nil, err
	}
	if err := checkGroupName(in.CurrentDeploymentGroupName); err != nil {
		return nil, err
	}
	if in.NewDeploymentGroupName != nil {
		if err := checkGroupName(in.NewDeploymentGroupName); err != nil {
			return nil, err
		}
	}
	st := groupSettings{
		DeploymentConfigName: in.DeploymentConfigName, Ec2TagFilters: in.Ec2TagFilters, OnPremisesInstanceTagFilters: in.OnPremisesInstanceTagFilters,
		AutoScalingGroups: in.AutoScalingGroups, ServiceRoleArn: in.ServiceRoleArn, TriggerConfigurations: in.TriggerConfigurations,
		AlarmConfiguration: in.AlarmConfiguration, AutoRollbackConfiguration: in.AutoRollbackConfiguration,
		OutdatedInstancesStrategy: in.OutdatedInstancesStrategy, DeploymentStyle: in.DeploymentStyle,
		BlueGreenDeploymentConfiguration: in.BlueGreenDeploymentConfiguration, LoadBalancerInfo: in.LoadBalancerInfo,
		Ec2TagSet: in.Ec2TagSet, EcsServices: in.EcsServices, OnPremisesTagSet: in.OnPremisesTagSet, TerminationHookEnabled: in.TerminationHookEnabled,
	}
	app, name := *in.ApplicationName, *in.CurrentDeploymentGroupName
	err := s.update(ctx, func(tx Tx) error {
		g, r, err := getGroup(tx, app, name)
		if err != nil {
			return err
		}
		if err := st.check(tx); err != nil {
			return err
		}
		st.apply(&g.DeploymentGroupInfo)
		g.ApplicationName = nil
		newName := in.GetNewDeploymentGroupName()
		if newName == "" || newName == name {
			return save(tx, r, g)
		}
		g.DeploymentGroupName = &newName
		if r.Doc, err = jsonOf(g); err != nil {
			return err
		}
		if err := tx.Rename(r, newName); errors.Is(err, ErrExists) {
			return apiError(excGroupAlreadyExists, "A deployment group with the name %s already exists in application %s", newName, app)
		} else if err != nil {
			return err
		}
		return renameDeployments(tx, app, app, name, newName)
	})
	if err != nil {
		return nil, err
	}
	return &shape.UpdateDeploymentGroupOutput{HooksNotCleanedUp: []shape.AutoScalingGroup{}}, nil
}

// DeleteDeploymentGroup deletes a group; deleting one that does not exist
// succeeds, as on AWS.
func (s *Service) DeleteDeploymentGroup(ctx context.Context, in *shape.DeleteDeploymentGroupInput) (*shape.DeleteDeploymentGroupOutput, error) {
	if err := checkAppName(in.ApplicationName); err != nil {
		return nil, err
	}
	if err := checkGroupName(in.DeploymentGroupName); err != nil {
		return nil, err
	}
	err := s.update(ctx, func(tx Tx) error {
		r, err := tx.Get(groupKey(*in.ApplicationName, *in.DeploymentGroupName))
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return tx.Delete(r)
	})
	if err != nil {
		return nil, err
	}
	return &shape.DeleteDeploymentGroupOutput{HooksNotCleanedUp: []shape.AutoScalingGroup{}}, nil
}
