package codedeploy

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/pipewright/pipewright/codedeploy/shape"
	"github.com/pipewright/pipewright/wire"
)

// deploymentConfig is a custom deployment config's record.
type deploymentConfig struct {
	shape.DeploymentConfigInfo
	Tags []shape.Tag `json:"tags,omitempty"`
}

// The built-in deployment configs of the Server platform.
const (
	ConfigOneAtATime  = "CodeDeployDefault.OneAtATime"
	ConfigHalfAtATime = "CodeDeployDefault.HalfAtATime"
	ConfigAllAtOnce   = "CodeDeployDefault.AllAtOnce"
)

// builtinPrefix starts the names of AWS's built-in configs, which no
// custom config may take.
const builtinPrefix = "CodeDeployDefault."

// minimumMostConcurrency is the type AWS shows for OneAtATime's
// minimumHealthyHosts, which no custom config can set.
const minimumMostConcurrency shape.MinimumHealthyHostsType = "MOST_CONCURRENCY"

// builtin returns the built-in config of that name. Their ids and
// minimumHealthyHosts are AWS's: OneAtATime MOST_CONCURRENCY 1 (one
// instance at a time), HalfAtATime FLEET_PERCENT 50, AllAtOnce HOST_COUNT 0.
func builtin(name string) (*deploymentConfig, bool) {
	var id string
	var min shape.MinimumHealthyHosts
	switch name {
	case ConfigOneAtATime:
		id, min = "00000000-0000-0000-0000-000000000001", shape.MinimumHealthyHosts{Type: new(minimumMostConcurrency), Value: new(int32(1))}
	case ConfigHalfAtATime:
		id, min = "00000000-0000-0000-0000-000000000002", shape.MinimumHealthyHosts{Type: new(shape.MinimumHealthyHostsTypeFleetPercent), Value: new(int32(50))}
	case ConfigAllAtOnce:
		id, min = "00000000-0000-0000-0000-000000000003", shape.MinimumHealthyHosts{Type: new(shape.MinimumHealthyHostsTypeHostCount), Value: new(int32(0))}
	default:
		return nil, false
	}
	return &deploymentConfig{DeploymentConfigInfo: shape.DeploymentConfigInfo{
		DeploymentConfigId: &id, DeploymentConfigName: new(name), MinimumHealthyHosts: &min,
		CreateTime: wire.NewTimestamp(builtinTime), ComputePlatform: new(shape.ComputePlatformServer),
	}}, true
}

// builtinTime is the createTime the built-in configs show: the day
// CodeDeploy was announced.
var builtinTime = time.Date(2014, 11, 12, 0, 0, 0, 0, time.UTC)

// builtinNames are the built-in configs, by name.
var builtinNames = []string{ConfigAllAtOnce, ConfigHalfAtATime, ConfigOneAtATime}

func configKey(name string) Key { return Key{Kind: KindConfig, Name: name} }

// checkConfigName refuses a missing or malformed config name.
func checkConfigName(name *string) error {
	if name == nil || *name == "" {
		return apiError(excConfigNameRequired, "The deployment configuration name must be specified")
	}
	if !validName(*name) {
		return apiError(excInvalidConfigName, "The deployment configuration name is at most 100 characters: %s", *name)
	}
	return nil
}

// getConfig reads a built-in or custom config;
// DeploymentConfigDoesNotExistException when there is none.
func getConfig(tx Tx, name string) (*deploymentConfig, *Record, error) {
	if c, ok := builtin(name); ok {
		return c, nil, nil
	}
	var c deploymentConfig
	r, ok, err := load(tx, configKey(name), &c)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, configNotFound(name)
	}
	return &c, r, nil
}

// CreateDeploymentConfig creates a custom config of the Server platform:
// minimumHealthyHosts HOST_COUNT (at least 0) or FLEET_PERCENT (0 to 99).
func (s *Service) CreateDeploymentConfig(ctx context.Context, in *shape.CreateDeploymentConfigInput) (*shape.CreateDeploymentConfigOutput, error) {
	if err := checkConfigName(in.DeploymentConfigName); err != nil {
		return nil, err
	}
	name := *in.DeploymentConfigName
	if strings.HasPrefix(name, builtinPrefix) {
		return nil, apiError(excInvalidConfigName, "A deployment configuration name cannot start with %s: %s", builtinPrefix, name)
	}
	if p := in.GetComputePlatform(); p != "" && p != shape.ComputePlatformServer {
		return nil, apiError(excInvalidComputePlatform, "pipewright deploys to servers only (computePlatform Server), not %s", p)
	}
	if in.TrafficRoutingConfig != nil {
		return nil, apiError(excInvalidTrafficRouting, "trafficRoutingConfig is for the Lambda and ECS platforms; pipewright deploys to servers only")
	}
	if in.ZonalConfig != nil {
		return nil, apiError(excInvalidZonalConfig, "pipewright does not deploy zone by zone: zonalConfig is not supported")
	}
	m := in.MinimumHealthyHosts
	if m == nil || m.Value == nil {
		return nil, apiError(excInvalidMinimumHealthyHosts, "The minimum healthy hosts (type and value) must be specified")
	}
	switch v := m.GetValue(); m.GetType() {
	case shape.MinimumHealthyHostsTypeHostCount:
		if v < 0 {
			return nil, apiError(excInvalidMinimumHealthyHosts, "The minimum healthy host count must be at least 0: %d", v)
		}
	case shape.MinimumHealthyHostsTypeFleetPercent:
		if v < 0 || v > 99 {
			return nil, apiError(excInvalidMinimumHealthyHosts, "The minimum healthy fleet percent must be between 0 and 99: %d", v)
		}
	default:
		return nil, apiError(excInvalidMinimumHealthyHosts, "The minimum healthy hosts type must be HOST_COUNT or FLEET_PERCENT")
	}
	c := &deploymentConfig{DeploymentConfigInfo: shape.DeploymentConfigInfo{
		DeploymentConfigId: new(uuid.NewString()), DeploymentConfigName: &name,
		MinimumHealthyHosts: &shape.MinimumHealthyHosts{Type: m.Type, Value: m.Value},
		CreateTime:          wire.NewTimestamp(s.now()), ComputePlatform: new(shape.ComputePlatformServer),
	}}
	err := s.update(ctx, func(tx Tx) error {
		err := save(tx, &Record{Key: configKey(name)}, c)
		if errors.Is(err, ErrExists) {
			return apiError(excConfigAlreadyExists, "A deployment configuration with the name %s already exists", name)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &shape.CreateDeploymentConfigOutput{DeploymentConfigId: c.DeploymentConfigId}, nil
}

// GetDeploymentConfig answers a built-in or custom config.
func (s *Service) GetDeploymentConfig(ctx context.Context, in *shape.GetDeploymentConfigInput) (*shape.GetDeploymentConfigOutput, error) {
	if err := checkConfigName(in.DeploymentConfigName); err != nil {
		return nil, err
	}
	var c *deploymentConfig
	err := s.view(ctx, func(tx Tx) (err error) {
		c, _, err = getConfig(tx, *in.DeploymentConfigName)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &shape.GetDeploymentConfigOutput{DeploymentConfigInfo: &c.DeploymentConfigInfo}, nil
}

// ListDeploymentConfigs answers the names of the built-in and custom
// configs, by name, 100 a page.
func (s *Service) ListDeploymentConfigs(ctx context.Context, in *shape.ListDeploymentConfigsInput) (*shape.ListDeploymentConfigsOutput, error) {
	names := slices.Clone(builtinNames)
	err := s.view(ctx, func(tx Tx) error {
		rs, err := tx.List(KindConfig, "")
		for _, r := range rs {
			names = append(names, r.Name)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	part, next, err := page(names, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &shape.ListDeploymentConfigsOutput{DeploymentConfigsList: append([]string{}, part...), NextToken: next}, nil
}

// DeleteDeploymentConfig deletes a custom config that no deployment group
// uses. The built-in ones cannot be deleted; deleting one that does not
// exist succeeds, as on AWS.
func (s *Service) DeleteDeploymentConfig(ctx context.Context, in *shape.DeleteDeploymentConfigInput) (*shape.DeleteDeploymentConfigOutput, error) {
	if err := checkConfigName(in.DeploymentConfigName); err != nil {
		return nil, err
	}
	name := *in.DeploymentConfigName
	if strings.HasPrefix(name, builtinPrefix) {
		return nil, apiError(excInvalidConfigName, "The built-in deployment configuration %s cannot be deleted", name)
	}
	err := s.update(ctx, func(tx Tx) error {
		r, err := tx.Get(configKey(name))
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		apps, err := tx.List(KindApplication, "")
		if err != nil {
			return err
		}
		for _, a := range apps {
			groups, err := loadAll[group](tx, KindGroup, a.Name)
			if err != nil {
				return err
			}
			for _, g := range groups {
				if g.GetDeploymentConfigName() == name {
					return apiError(excConfigInUse, "The deployment configuration %s is in use by deployment group %s of application %s", name, g.GetDeploymentGroupName(), a.Name)
				}
			}
		}
		return tx.Delete(r)
	})
	if err != nil {
		return nil, err
	}
	return &shape.DeleteDeploymentConfigOutput{}, nil
}
