package server_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cd "github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdt "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
)

// TestCodeDeployBadEnumValuesAnswerModelledErrors: a bad enum value or
// filter name answers the exception CodeDeploy's model gives the
// operation, not a ValidationException (which no CodeDeploy operation has).
func TestCodeDeployBadEnumValuesAnswerModelledErrors(t *testing.T) {
	ts := startServer(t)
	c, ctx := newCodeDeploy(ts), context.Background()
	_, err := c.ListOnPremisesInstances(ctx, &cd.ListOnPremisesInstancesInput{RegistrationStatus: "Sleeping"})
	wantCode(t, "registrationStatus", err, "InvalidRegistrationStatusException")
	_, err = c.ListDeployments(ctx, &cd.ListDeploymentsInput{IncludeOnlyStatuses: []cdt.DeploymentStatus{"Sleeping"}})
	wantCode(t, "includeOnlyStatuses", err, "InvalidDeploymentStatusException")
	_, err = c.ListDeploymentTargets(ctx, &cd.ListDeploymentTargetsInput{DeploymentId: aws.String("d-AAAAAAAAA"),
		TargetFilters: map[string][]string{"Colour": {"Blue"}}})
	wantCode(t, "targetFilters", err, "InvalidTargetFilterNameException")
	_, err = c.ListApplicationRevisions(ctx, &cd.ListApplicationRevisionsInput{ApplicationName: aws.String("web"), SortBy: "size"})
	wantCode(t, "sortBy", err, "InvalidSortByException")
	_, err = c.CreateApplication(ctx, &cd.CreateApplicationInput{ApplicationName: aws.String("web"), ComputePlatform: "Mainframe"})
	wantCode(t, "computePlatform", err, "InvalidComputePlatformException")
	// Other constraints keep their ValidationException.
	_, err = c.GetApplication(ctx, &cd.GetApplicationInput{ApplicationName: aws.String(string(make([]byte, 200)))})
	if err == nil {
		t.Errorf("a 200-character application name was taken")
	}
}
