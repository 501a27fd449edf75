package codedeploy

import (
	"context"
	"slices"
	"strings"

	"github.com/pipewright/pipewright/codedeploy/shape"
)

// The instances of a deployment are named by their on-premises instance
// names, both as instance ids and as target ids.

// summary is what GetDeploymentInstance shows of t.
func (d *deployment) summary(t *target) shape.InstanceSummary {
	return shape.InstanceSummary{DeploymentId: d.DeploymentId, InstanceId: new(t.Instance), Status: new(t.Status),
		LastUpdatedAt: t.LastUpdated, LifecycleEvents: slices.Clone(t.Events)}
}

// instanceTarget is what GetDeploymentTarget shows of t.
func (s *Service) instanceTarget(d *deployment, t *target) shape.DeploymentTarget {
	return shape.DeploymentTarget{DeploymentTargetType: new(shape.DeploymentTargetTypeInstanceTarget),
		InstanceTarget: &shape.InstanceTarget{DeploymentId: d.DeploymentId, TargetId: new(t.Instance),
			TargetArn: new(s.instanceARN(t.Instance)), Status: new(shape.TargetStatus(t.Status)),
			LastUpdatedAt: t.LastUpdated, LifecycleEvents: slices.Clone(t.Events)}}
}

// readDeployment reads a deployment for the operations on its instances.
func (s *Service) readDeployment(ctx context.Context, id *string) (*deployment, error) {
	if err := checkDeploymentID(id); err != nil {
		return nil, err
	}
	var d *deployment
	err := s.view(ctx, func(tx Tx) (err error) {
		d, _, err = getDeployment(tx, *id)
		return err
	})
	return d, err
}

// ListDeploymentInstances answers the names of a deployment's instances,
// of the statuses given. Every instance of an in-place deployment is Blue.
func (s *Service) ListDeploymentInstances(ctx context.Context, in *shape.ListDeploymentInstancesInput) (*shape.ListDeploymentInstancesOutput, error) {
	for _, st := range in.InstanceStatusFilter {
		if !slices.Contains(st.Values(), st) {
			return nil, apiError(excInvalidInstanceStatus, "The instance status is not valid: %s", st)
		}
	}
	for _, ty := range in.InstanceTypeFilter {
		if !slices.Contains(ty.Values(), ty) {
			return nil, apiError(excInvalidInstanceType, "The instance type is not valid: %s", ty)
		}
	}
	d, err := s.readDeployment(ctx, in.DeploymentId)
	if err != nil {
		return nil, err
	}
	names := []string{}
	if len(in.InstanceTypeFilter) == 0 || slices.Contains(in.InstanceTypeFilter, shape.InstanceTypeBlue) {
		for _, t := range d.Targets {
			if len(in.InstanceStatusFilter) == 0 || slices.Contains(in.InstanceStatusFilter, t.Status) {
				names = append(names, t.Instance)
			}
		}
	}
	part, next, err := page(names, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &shape.ListDeploymentInstancesOutput{InstancesList: append([]string{}, part...), NextToken: next}, nil
}

// GetDeploymentInstance answers one instance of a deployment.
func (s *Service) GetDeploymentInstance(ctx context.Context, in *shape.GetDeploymentInstanceInput) (*shape.GetDeploymentInstanceOutput, error) {
	if in.GetInstanceId() == "" {
		return nil, apiError(excInstanceIDRequired, "The instance ID must be specified")
	}
	d, err := s.readDeployment(ctx, in.DeploymentId)
	if err != nil {
		return nil, err
	}
	t := d.target(*in.InstanceId)
	if t == nil {
		return nil, apiError(excInstanceDoesNotExist, "The instance %s is not part of deployment %s", *in.InstanceId, d.GetDeploymentId())
	}
	sum := d.summary(t)
	return &shape.GetDeploymentInstanceOutput{InstanceSummary: &sum}, nil
}

// BatchGetDeploymentInstances answers up to 25 instances of a deployment;
// the others are named in errorMessage.
func (s *Service) BatchGetDeploymentInstances(ctx context.Context, in *shape.BatchGetDeploymentInstancesInput) (*shape.BatchGetDeploymentInstancesOutput, error) {
	if len(in.InstanceIds) == 0 {
		return nil, apiError(excInstanceIDRequired, "The instance IDs must be specified")
	}
	if len(in.InstanceIds) > deploymentBatchLimit {
		return nil, apiError(excBatchLimitExceeded, "The maximum number of instance IDs allowed for this request (%d) was exceeded", deploymentBatchLimit)
	}
	d, err := s.readDeployment(ctx, in.DeploymentId)
	if err != nil {
		return nil, err
	}
	out := &shape.BatchGetDeploymentInstancesOutput{InstancesSummary: []shape.InstanceSummary{}}
	var missing []string
	for _, id := range in.InstanceIds {
		if t := d.target(id); t != nil {
			out.InstancesSummary = append(out.InstancesSummary, d.summary(t))
		} else {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		out.ErrorMessage = new("Instances not part of the deployment: " + strings.Join(missing, ", "))
	}
	return out, nil
}

// ListDeploymentTargets answers the target ids of a deployment, filtered
// by TargetStatus and ServerInstanceLabel (Blue for every in-place one).
func (s *Service) ListDeploymentTargets(ctx context.Context, in *shape.ListDeploymentTargetsInput) (*shape.ListDeploymentTargetsOutput, error) {
	for k := range in.TargetFilters {
		if !slices.Contains(shape.TargetFilterName("").Values(), shape.TargetFilterName(k)) {
			return nil, apiError(excInvalidTargetFilterName, "The target filter name is not valid: %s", k)
		}
	}
	d, err := s.readDeployment(ctx, in.DeploymentId)
	if err != nil {
		return nil, err
	}
	ids := []string{}
	statuses, labels := in.TargetFilters[string(shape.TargetFilterNameTargetStatus)], in.TargetFilters[string(shape.TargetFilterNameServerInstanceLabel)]
	for _, t := range d.Targets {
		if (len(statuses) == 0 || slices.Contains(statuses, string(t.Status))) &&
			(len(labels) == 0 || slices.Contains(labels, string(shape.TargetLabelBlue))) {
			ids = append(ids, t.Instance)
		}
	}
	part, next, err := page(ids, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &shape.ListDeploymentTargetsOutput{TargetIds: append([]string{}, part...), NextToken: next}, nil
}

// GetDeploymentTarget answers one target of a deployment.
func (s *Service) GetDeploymentTarget(ctx context.Context, in *shape.GetDeploymentTargetInput) (*shape.GetDeploymentTargetOutput, error) {
	if in.GetTargetId() == "" {
		return nil, apiError(excTargetIDRequired, "The target ID must be specified")
	}
	d, err := s.readDeployment(ctx, in.DeploymentId)
	if err != nil {
		return nil, err
	}
	t := d.target(*in.TargetId)
	if t == nil {
		return nil, apiError(excTargetDoesNotExist, "The target %s is not part of deployment %s", *in.TargetId, d.GetDeploymentId())
	}
	dt := s.instanceTarget(d, t)
	return &shape.GetDeploymentTargetOutput{DeploymentTarget: &dt}, nil
}

// BatchGetDeploymentTargets answers up to 25 targets of a deployment;
// DeploymentTargetDoesNotExistException names one that is not.
func (s *Service) BatchGetDeploymentTargets(ctx context.Context, in *shape.BatchGetDeploymentTargetsInput) (*shape.BatchGetDeploymentTargetsOutput, error) {
	if len(in.TargetIds) == 0 {
		return nil, apiError(excTargetIDRequired, "The target IDs must be specified")
	}
	if len(in.TargetIds) > deploymentBatchLimit {
		return nil, apiError(excTargetListSizeExceeded, "The maximum number of target IDs allowed for this request (%d) was exceeded", deploymentBatchLimit)
	}
	d, err := s.readDeployment(ctx, in.DeploymentId)
	if err != nil {
		return nil, err
	}
	out := &shape.BatchGetDeploymentTargetsOutput{DeploymentTargets: []shape.DeploymentTarget{}}
	for _, id := range in.TargetIds {
		t := d.target(id)
		if t == nil {
			return nil, apiError(excTargetDoesNotExist, "The target %s is not part of deployment %s", id, d.GetDeploymentId())
		}
		out.DeploymentTargets = append(out.DeploymentTargets, s.instanceTarget(d, t))
	}
	return out, nil
}
