package codedeploy

import (
	"context"
	"errors"
	"strings"

	"github.com/pipewright/pipewright/codedeploy/shape"
	"github.com/pipewright/pipewright/wire"
)

// memberError is the exception CodeDeploy's model gives an operation for
// a bad value of one of its members (an enum or a filter), which the wire
// layer's model checks would otherwise answer as a ValidationException,
// a type no CodeDeploy operation has.
type memberError struct {
	member, code string
}

// memberErrors lists them by operation.
var memberErrors = map[string][]memberError{
	"ListOnPremisesInstances":  {{"registrationStatus", excInvalidRegistrationStatus}, {"tagFilters", excInvalidTagFilter}},
	"ListDeployments":          {{"includeOnlyStatuses", excInvalidDeploymentStatus}, {"createTimeRange", excInvalidTimeRange}},
	"ListDeploymentTargets":    {{"targetFilters", excInvalidTargetFilterName}},
	"ListDeploymentInstances":  {{"instanceStatusFilter", excInvalidInstanceStatus}, {"instanceTypeFilter", excInvalidInstanceType}},
	"ListApplicationRevisions": {{"sortBy", excInvalidSortBy}, {"sortOrder", excInvalidSortOrder}, {"deployed", excInvalidDeployedStateFilter}},
	"CreateApplication":        {{"computePlatform", excInvalidComputePlatform}},
	"CreateDeploymentConfig":   {{"minimumHealthyHosts", excInvalidMinimumHealthyHosts}, {"computePlatform", excInvalidComputePlatform}},
	"CreateDeployment": {{"fileExistsBehavior", excInvalidFileExistsBehavior}, {"revision", excInvalidRevision},
		{"autoRollbackConfiguration", excInvalidAutoRollbackConfig}},
	"CreateDeploymentGroup": {{"onPremisesInstanceTagFilters", excInvalidTagFilter}, {"onPremisesTagSet", excInvalidTagFilter},
		{"autoRollbackConfiguration", excInvalidAutoRollbackConfig}, {"deploymentStyle", excInvalidDeploymentStyle}},
	"UpdateDeploymentGroup": {{"onPremisesInstanceTagFilters", excInvalidTagFilter}, {"onPremisesTagSet", excInvalidTagFilter},
		{"autoRollbackConfiguration", excInvalidAutoRollbackConfig}, {"deploymentStyle", excInvalidDeploymentStyle}},
	"RegisterApplicationRevision":  {{"revision", excInvalidRevision}},
	"GetApplicationRevision":       {{"revision", excInvalidRevision}},
	"BatchGetApplicationRevisions": {{"revisions", excInvalidRevision}},
}

// Operations is the service's operations as the wire layer serves them:
// the generated ones, with the model's own exception, rather than a
// ValidationException, for a bad value of the members memberErrors names.
func (s *Service) Operations() map[string]wire.Op {
	ops := shape.Operations(s)
	for name, members := range memberErrors {
		op, ok := ops[name]
		if !ok {
			continue
		}
		ops[name] = func(ctx context.Context, body []byte) (any, error) {
			out, err := op(ctx, body)
			return out, modelledError(err, members)
		}
	}
	return ops
}

// modelledError is err with the exception of the member a
// ValidationException's first violation is about, when members names it.
func modelledError(err error, members []memberError) error {
	var we *wire.Error
	if !errors.As(err, &we) || we.Code != wire.CodeValidation || len(we.Paths) == 0 {
		return err
	}
	first, _, _ := strings.Cut(we.Paths[0], ".")
	for _, m := range members {
		if first == m.member {
			_, detail, _ := strings.Cut(we.Message, ": ")
			return apiError(m.code, "%s", detail)
		}
	}
	return err
}
