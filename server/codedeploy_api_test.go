package server_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cd "github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdt "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

const cdRole = "arn:aws:iam::000000000000:role/CodeDeployServiceRole"

func newCodeDeploy(ts *testServer) *cd.Client {
	return cd.New(cd.Options{
		BaseEndpoint: aws.String(ts.url), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(testKey, testSecret, ""), Retryer: onlyTransportRaceRetryer(),
	})
}

// cdCode is the error code of err ("" for nil), failing the test for an
// error that is not an API error.
func cdCode(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("not an API error: %v", err)
	}
	return ae.ErrorCode()
}

// wantCode fails the test unless err is the API error code.
func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := cdCode(t, err); got != code {
		t.Fatalf("%s: error %q (%v), want %s", what, got, err, code)
	}
}

// cdMust returns a function that fails the test, saying what failed, on
// an error and returns the value otherwise.
func cdMust[T any](t *testing.T, what string) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

// cdNames is n distinct names.
func cdNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprint("n", i)
	}
	return out
}

func isUUID(s string) bool {
	return len(s) == 36 && strings.Count(s, "-") == 4
}

func TestCodeDeployApplications(t *testing.T) {
	ts := startServer(t)
	c, ctx := newCodeDeploy(ts), context.Background()

	out := cdMust[*cd.CreateApplicationOutput](t, "CreateApplication")(c.CreateApplication(ctx, &cd.CreateApplicationInput{
		ApplicationName: aws.String("web"), Tags: []cdt.Tag{{Key: aws.String("team"), Value: aws.String("a")}}}))
	if !isUUID(aws.ToString(out.ApplicationId)) {
		t.Fatalf("application id %q is not a UUID", aws.ToString(out.ApplicationId))
	}
	_, err := c.CreateApplication(ctx, &cd.CreateApplicationInput{ApplicationName: aws.String("web")})
	wantCode(t, "second CreateApplication", err, "ApplicationAlreadyExistsException")
	for _, p := range []cdt.ComputePlatform{cdt.ComputePlatformLambda, cdt.ComputePlatformEcs} {
		_, err = c.CreateApplication(ctx, &cd.CreateApplicationInput{ApplicationName: aws.String("fn"), ComputePlatform: p})
		wantCode(t, "CreateApplication "+string(p), err, "InvalidComputePlatformException")
		if !strings.Contains(err.Error(), "servers only") {
			t.Errorf("refusal of %s does not say why: %v", p, err)
		}
	}
	_, err = c.CreateApplication(ctx, &cd.CreateApplicationInput{ApplicationName: aws.String("")})
	wantCode(t, "CreateApplication with an empty name (the model's length constraint)", err, "ValidationException")

	got := cdMust[*cd.GetApplicationOutput](t, "GetApplication")(c.GetApplication(ctx, &cd.GetApplicationInput{ApplicationName: aws.String("web")}))
	a := got.Application
	if aws.ToString(a.ApplicationId) != aws.ToString(out.ApplicationId) || a.ComputePlatform != cdt.ComputePlatformServer || a.CreateTime == nil || a.LinkedToGitHub {
		t.Fatalf("GetApplication = %+v", a)
	}
	_, err = c.GetApplication(ctx, &cd.GetApplicationInput{ApplicationName: aws.String("nope")})
	wantCode(t, "GetApplication of none", err, "ApplicationDoesNotExistException")

	cdMust[*cd.CreateApplicationOutput](t, "CreateApplication api")(c.CreateApplication(ctx, &cd.CreateApplicationInput{ApplicationName: aws.String("api")}))
	batch := cdMust[*cd.BatchGetApplicationsOutput](t, "BatchGetApplications")(c.BatchGetApplications(ctx, &cd.BatchGetApplicationsInput{ApplicationNames: []string{"web", "api"}}))
	if len(batch.ApplicationsInfo) != 2 || aws.ToString(batch.ApplicationsInfo[1].ApplicationName) != "api" {
		t.Fatalf("BatchGetApplications = %+v", batch.ApplicationsInfo)
	}
	_, err = c.BatchGetApplications(ctx, &cd.BatchGetApplicationsInput{ApplicationNames: []string{"web", "nope"}})
	wantCode(t, "BatchGetApplications with one missing", err, "ApplicationDoesNotExistException")
	_, err = c.BatchGetApplications(ctx, &cd.BatchGetApplicationsInput{ApplicationNames: cdNames(101)})
	wantCode(t, "BatchGetApplications of 101", err, "BatchLimitExceededException")

	// A group and a revision move with their application's rename.
	cdMust[*cd.CreateDeploymentGroupOutput](t, "CreateDeploymentGroup")(c.CreateDeploymentGroup(ctx, &cd.CreateDeploymentGroupInput{
		ApplicationName: aws.String("web"), DeploymentGroupName: aws.String("prod"), ServiceRoleArn: aws.String(cdRole)}))
	_, err = c.UpdateApplication(ctx, &cd.UpdateApplicationInput{ApplicationName: aws.String("web"), NewApplicationName: aws.String("api")})
	wantCode(t, "rename onto another", err, "ApplicationAlreadyExistsException")
	cdMust[*cd.UpdateApplicationOutput](t, "UpdateApplication")(c.UpdateApplication(ctx, &cd.UpdateApplicationInput{ApplicationName: aws.String("web"), NewApplicationName: aws.String("site")}))
	_, err = c.GetApplication(ctx, &cd.GetApplicationInput{ApplicationName: aws.String("web")})
	wantCode(t, "old name", err, "ApplicationDoesNotExistException")
	g := cdMust[*cd.GetDeploymentGroupOutput](t, "GetDeploymentGroup after rename")(c.GetDeploymentGroup(ctx, &cd.GetDeploymentGroupInput{
		ApplicationName: aws.String("site"), DeploymentGroupName: aws.String("prod")}))
	if aws.ToString(g.DeploymentGroupInfo.ApplicationName) != "site" {
		t.Fatalf("group's application after rename = %q", aws.ToString(g.DeploymentGroupInfo.ApplicationName))
	}
	tags := cdMust[*cd.ListTagsForResourceOutput](t, "ListTagsForResource")(c.ListTagsForResource(ctx, &cd.ListTagsForResourceInput{
		ResourceArn: aws.String("arn:aws:codedeploy:us-east-1:000000000000:application:site")}))
	if len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "team" {
		t.Fatalf("tags after rename = %+v", tags.Tags)
	}
	_, err = c.UpdateApplication(ctx, &cd.UpdateApplicationInput{ApplicationName: aws.String("nope"), NewApplicationName: aws.String("x")})
	wantCode(t, "rename of none", err, "ApplicationDoesNotExistException")

	cdMust[*cd.DeleteApplicationOutput](t, "DeleteApplication")(c.DeleteApplication(ctx, &cd.DeleteApplicationInput{ApplicationName: aws.String("site")}))
	cdMust[*cd.DeleteApplicationOutput](t, "DeleteApplication of none")(c.DeleteApplication(ctx, &cd.DeleteApplicationInput{ApplicationName: aws.String("site")}))
	// A new application of the name has none of the old one's groups.
	cdMust[*cd.CreateApplicationOutput](t, "CreateApplication again")(c.CreateApplication(ctx, &cd.CreateApplicationInput{ApplicationName: aws.String("site")}))
	gs := cdMust[*cd.ListDeploymentGroupsOutput](t, "ListDeploymentGroups")(c.ListDeploymentGroups(ctx, &cd.ListDeploymentGroupsInput{ApplicationName: aws.String("site")}))
	if len(gs.DeploymentGroups) != 0 {
		t.Fatalf("groups of a new application = %v", gs.DeploymentGroups)
	}
}

func TestCodeDeployListPagination(t *testing.T) {
	ts := startServer(t)
	c, ctx := newCodeDeploy(ts), context.Background()
	var want []string
	for i := range 205 {
		name := fmt.Sprintf("app-%03d", i)
		want = append(want, name)
		cdMust[*cd.CreateApplicationOutput](t, "CreateApplication")(c.CreateApplication(ctx, &cd.CreateApplicationInput{ApplicationName: aws.String(name)}))
	}
	var got []string
	pages := 0
	for p := cd.NewListApplicationsPaginator(c, &cd.ListApplicationsInput{}); p.HasMorePages(); pages++ {
		out := cdMust[*cd.ListApplicationsOutput](t, "ListApplications")(p.NextPage(ctx))
		got = append(got, out.Applications...)
	}
	if pages != 3 || !slices.Equal(got, want) {
		t.Fatalf("%d pages, %d names (%v...), want 3 pages of %d", pages, len(got), got[:min(3, len(got))], len(want))
	}
	_, err := c.ListApplications(ctx, &cd.ListApplicationsInput{NextToken: aws.String("garbage")})
	wantCode(t, "bad token", err, "InvalidNextTokenException")
}

func TestCodeDeployDeploymentConfigs(t *testing.T) {
	ts := startServer(t)
	c, ctx := newCodeDeploy(ts), context.Background()

	for name, want := range map[string]cdt.MinimumHealthyHosts{
		"CodeDeployDefault.OneAtATime":  {Type: "MOST_CONCURRENCY", Value: 1},
		"CodeDeployDefault.HalfAtATime": {Type: cdt.MinimumHealthyHostsTypeFleetPercent, Value: 50},
		"CodeDeployDefault.AllAtOnce":   {Type: cdt.MinimumHealthyHostsTypeHostCount, Value: 0},
	} {
		out := cdMust[*cd.GetDeploymentConfigOutput](t, "GetDeploymentConfig "+name)(c.GetDeploymentConfig(ctx, &cd.GetDeploymentConfigInput{DeploymentConfigName: aws.String(name)}))
		info := out.DeploymentConfigInfo
		if *info.MinimumHealthyHosts != want || info.ComputePlatform != cdt.ComputePlatformServer || !isUUID(aws.ToString(info.DeploymentConfigId)) {
			t.Errorf("%s = %+v (%+v)", name, info, info.MinimumHealthyHosts)
		}
		_, err := c.DeleteDeploymentConfig(ctx, &cd.DeleteDeploymentConfigInput{DeploymentConfigName: aws.String(name)})
		wantCode(t, "delete "+name, err, "InvalidDeploymentConfigNameException")
	}

	create := func(name string, typ cdt.MinimumHealthyHostsType, v int32) error {
		_, err := c.CreateDeploymentConfig(ctx, &cd.CreateDeploymentConfigInput{DeploymentConfigName: aws.String(name),
			MinimumHealthyHosts: &cdt.MinimumHealthyHosts{Type: typ, Value: v}})
		return err
	}
	if err := create("two-healthy", cdt.MinimumHealthyHostsTypeHostCount, 2); err != nil {
		t.Fatal(err)
	}
	if err := create("most", cdt.MinimumHealthyHostsTypeFleetPercent, 75); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "second create", create("most", cdt.MinimumHealthyHostsTypeFleetPercent, 75), "DeploymentConfigAlreadyExistsException")
	wantCode(t, "100 percent", create("all", cdt.MinimumHealthyHostsTypeFleetPercent, 100), "InvalidMinimumHealthyHostValueException")
	wantCode(t, "negative count", create("neg", cdt.MinimumHealthyHostsTypeHostCount, -1), "InvalidMinimumHealthyHostValueException")
	wantCode(t, "reserved prefix", create("CodeDeployDefault.Mine", cdt.MinimumHealthyHostsTypeHostCount, 1), "InvalidDeploymentConfigNameException")
	_, err := c.CreateDeploymentConfig(ctx, &cd.CreateDeploymentConfigInput{DeploymentConfigName: aws.String("bare")})
	wantCode(t, "no minimum", err, "InvalidMinimumHealthyHostValueException")
	_, err = c.CreateDeploymentConfig(ctx, &cd.CreateDeploymentConfigInput{DeploymentConfigName: aws.String("fn"), ComputePlatform: cdt.ComputePlatformLambda,
		MinimumHealthyHosts: &cdt.MinimumHealthyHosts{Type: cdt.MinimumHealthyHostsTypeHostCount, Value: 1}})
	wantCode(t, "Lambda config", err, "InvalidComputePlatformException")
	_, err = c.CreateDeploymentConfig(ctx, &cd.CreateDeploymentConfigInput{DeploymentConfigName: aws.String("")})
	wantCode(t, "empty name", err, "ValidationException")

	list := cdMust[*cd.ListDeploymentConfigsOutput](t, "ListDeploymentConfigs")(c.ListDeploymentConfigs(ctx, &cd.ListDeploymentConfigsInput{}))
	want := []string{"CodeDeployDefault.AllAtOnce", "CodeDeployDefault.HalfAtATime", "CodeDeployDefault.OneAtATime", "most", "two-healthy"}
	if !slices.Equal(list.DeploymentConfigsList, want) {
		t.Fatalf("ListDeploymentConfigs = %v, want %v", list.DeploymentConfigsList, want)
	}

	// A config in use by a group cannot be deleted; once unused it can.
	cdMust[*cd.CreateApplicationOutput](t, "CreateApplication")(c.CreateApplication(ctx, &cd.CreateApplicationInput{ApplicationName: aws.String("web")}))
	cdMust[*cd.CreateDeploymentGroupOutput](t, "CreateDeploymentGroup")(c.CreateDeploymentGroup(ctx, &cd.CreateDeploymentGroupInput{
		ApplicationName: aws.String("web"), DeploymentGroupName: aws.String("prod"), ServiceRoleArn: aws.String(cdRole), DeploymentConfigName: aws.String("most")}))
	_, err = c.DeleteDeploymentConfig(ctx, &cd.DeleteDeploymentConfigInput{DeploymentConfigName: aws.String("most")})
	wantCode(t, "delete in use", err, "DeploymentConfigInUseException")
	cdMust[*cd.DeleteDeploymentGroupOutput](t, "DeleteDeploymentGroup")(c.DeleteDeploymentGroup(ctx, &cd.DeleteDeploymentGroupInput{
		ApplicationName: aws.String("web"), DeploymentGroupName: aws.String("prod")}))
	cdMust[*cd.DeleteDeploymentConfigOutput](t, "DeleteDeploymentConfig")(c.DeleteDeploymentConfig(ctx, &cd.DeleteDeploymentConfigInput{DeploymentConfigName: aws.String("most")}))
	_, err = c.GetDeploymentConfig(ctx, &cd.GetDeploymentConfigInput{DeploymentConfigName: aws.String("most")})
	wantCode(t, "get deleted", err, "DeploymentConfigDoesNotExistException")
}

func TestCodeDeployDeploymentGroups(t *testing.T) {
	ts := startServer(t)
	c, ctx := newCodeDeploy(ts), context.Background()
	cdMust[*cd.CreateApplicationOutput](t, "CreateApplication")(c.CreateApplication(ctx, &cd.CreateApplicationInput{ApplicationName: aws.String("web")}))
	filters := []cdt.TagFilter{{Key: aws.String("role"), Value: aws.String("web"), Type: cdt.TagFilterTypeKeyAndValue}}
	in := func(name string) *cd.CreateDeploymentGroupInput {
		return &cd.CreateDeploymentGroupInput{ApplicationName: aws.String("web"), DeploymentGroupName: aws.String(name), ServiceRoleArn: aws.String(cdRole),
			OnPremisesInstanceTagFilters: filters}
	}
	g0 := in("prod")
	g0.AutoRollbackConfiguration = &cdt.AutoRollbackConfiguration{Enabled: true, Events: []cdt.AutoRollbackEvent{cdt.AutoRollbackEventDeploymentFailure}}
	g0.Tags = []cdt.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}
	out := cdMust[*cd.CreateDeploymentGroupOutput](t, "CreateDeploymentGroup")(c.CreateDeploymentGroup(ctx, g0))
	if !isUUID(aws.ToString(out.DeploymentGroupId)) {
		t.Fatalf("group id %q", aws.ToString(out.DeploymentGroupId))
	}
	_, err := c.CreateDeploymentGroup(ctx, in("prod"))
	wantCode(t, "second create", err, "DeploymentGroupAlreadyExistsException")

	got := cdMust[*cd.GetDeploymentGroupOutput](t, "GetDeploymentGroup")(c.GetDeploymentGroup(ctx, &cd.GetDeploymentGroupInput{
		ApplicationName: aws.String("web"), DeploymentGroupName: aws.String("prod")})).DeploymentGroupInfo
	if aws.ToString(got.DeploymentGroupId) != aws.ToString(out.DeploymentGroupId) || aws.ToString(got.DeploymentConfigName) != "CodeDeployDefault.OneAtATime" ||
		aws.ToString(got.ServiceRoleArn) != cdRole || len(got.OnPremisesInstanceTagFilters) != 1 || got.AutoRollbackConfiguration == nil ||
		!got.AutoRollbackConfiguration.Enabled || got.DeploymentStyle == nil || got.DeploymentStyle.DeploymentType != cdt.DeploymentTypeInPlace ||
		got.ComputePlatform != cdt.ComputePlatformServer {
		t.Fatalf("GetDeploymentGroup = %+v", got)
	}

	// What pipewright cannot do is refused with the modelled errors.
	refusals := []struct {
		what string
		mod  func(*cd.CreateDeploymentGroupInput)
		code string
	}{
		{"ec2TagFilters", func(i *cd.CreateDeploymentGroupInput) {
			i.Ec2TagFilters = []cdt.EC2TagFilter{{Key: aws.String("k"), Type: cdt.EC2TagFilterTypeKeyOnly}}
		}, "InvalidEC2TagException"},
		{"autoScalingGroups", func(i *cd.CreateDeploymentGroupInput) { i.AutoScalingGroups = []string{"asg"} }, "InvalidAutoScalingGroupException"},
		{"blue/green", func(i *cd.CreateDeploymentGroupInput) {
			i.DeploymentStyle = &cdt.DeploymentStyle{DeploymentType: cdt.DeploymentTypeBlueGreen, DeploymentOption: cdt.DeploymentOptionWithTrafficControl}
		}, "InvalidDeploymentStyleException"},
		{"loadBalancerInfo", func(i *cd.CreateDeploymentGroupInput) {
			i.LoadBalancerInfo = &cdt.LoadBalancerInfo{ElbInfoList: []cdt.ELBInfo{{Name: aws.String("lb")}}}
		}, "InvalidLoadBalancerInfoException"},
		{"no role", func(i *cd.CreateDeploymentGroupInput) { i.ServiceRoleArn = aws.String("") }, "RoleRequiredException"},
		{"bad role", func(i *cd.CreateDeploymentGroupInput) { i.ServiceRoleArn = aws.String("role") }, "InvalidRoleException"},
		{"unknown config", func(i *cd.CreateDeploymentGroupInput) { i.DeploymentConfigName = aws.String("nope") }, "DeploymentConfigDoesNotExistException"},
		{"both tag kinds", func(i *cd.CreateDeploymentGroupInput) {
			i.OnPremisesTagSet = &cdt.OnPremisesTagSet{OnPremisesTagSetList: [][]cdt.TagFilter{filters}}
		}, "InvalidOnPremisesTagCombinationException"},
		{"filter without key", func(i *cd.CreateDeploymentGroupInput) {
			i.OnPremisesInstanceTagFilters = []cdt.TagFilter{{Type: cdt.TagFilterTypeKeyOnly}}
		}, "InvalidTagException"},
		{"no application", func(i *cd.CreateDeploymentGroupInput) { i.ApplicationName = aws.String("nope") }, "ApplicationDoesNotExistException"},
		{"empty name", func(i *cd.CreateDeploymentGroupInput) { i.DeploymentGroupName = aws.String("") }, "ValidationException"},
	}
	for _, r := range refusals {
		i := in("refused")
		r.mod(i)
		_, err := c.CreateDeploymentGroup(ctx, i)
		wantCode(t, r.what, err, r.code)
		if r.code != "RoleRequiredException" && strings.HasPrefix(r.code, "InvalidEC2") && !strings.Contains(err.Error(), "on-premises") {
			t.Errorf("%s: the refusal does not say why: %v", r.what, err)
		}
	}

	// A tag set group, then an update that renames and changes its config.
	ts2 := in("staging")
	ts2.OnPremisesInstanceTagFilters = nil
	ts2.OnPremisesTagSet = &cdt.OnPremisesTagSet{OnPremisesTagSetList: [][]cdt.TagFilter{filters, {{Key: aws.String("zone"), Type: cdt.TagFilterTypeKeyOnly}}}}
	cdMust[*cd.CreateDeploymentGroupOutput](t, "CreateDeploymentGroup staging")(c.CreateDeploymentGroup(ctx, ts2))
	cdMust[*cd.UpdateDeploymentGroupOutput](t, "UpdateDeploymentGroup")(c.UpdateDeploymentGroup(ctx, &cd.UpdateDeploymentGroupInput{
		ApplicationName: aws.String("web"), CurrentDeploymentGroupName: aws.String("staging"), NewDeploymentGroupName: aws.String("qa"),
		DeploymentConfigName: aws.String("CodeDeployDefault.AllAtOnce")}))
	qa := cdMust[*cd.GetDeploymentGroupOutput](t, "GetDeploymentGroup qa")(c.GetDeploymentGroup(ctx, &cd.GetDeploymentGroupInput{
		ApplicationName: aws.String("web"), DeploymentGroupName: aws.String("qa")})).DeploymentGroupInfo
	if aws.ToString(qa.DeploymentConfigName) != "CodeDeployDefault.AllAtOnce" || qa.OnPremisesTagSet == nil || len(qa.OnPremisesTagSet.OnPremisesTagSetList) != 2 {
		t.Fatalf("group after update = %+v", qa)
	}
	_, err = c.GetDeploymentGroup(ctx, &cd.GetDeploymentGroupInput{ApplicationName: aws.String("web"), DeploymentGroupName: aws.String("staging")})
	wantCode(t, "old group name", err, "DeploymentGroupDoesNotExistException")
	_, err = c.UpdateDeploymentGroup(ctx, &cd.UpdateDeploymentGroupInput{ApplicationName: aws.String("web"),
		CurrentDeploymentGroupName: aws.String("qa"), NewDeploymentGroupName: aws.String("prod")})
	wantCode(t, "rename onto another", err, "DeploymentGroupAlreadyExistsException")
	_, err = c.UpdateDeploymentGroup(ctx, &cd.UpdateDeploymentGroupInput{ApplicationName: aws.String("web"),
		CurrentDeploymentGroupName: aws.String("qa"), AutoScalingGroups: []string{"asg"}})
	wantCode(t, "update to autoscaling", err, "InvalidAutoScalingGroupException")
	_, err = c.UpdateDeploymentGroup(ctx, &cd.UpdateDeploymentGroupInput{ApplicationName: aws.String("web"), CurrentDeploymentGroupName: aws.String("nope")})
	wantCode(t, "update of none", err, "DeploymentGroupDoesNotExistException")

	batch := cdMust[*cd.BatchGetDeploymentGroupsOutput](t, "BatchGetDeploymentGroups")(c.BatchGetDeploymentGroups(ctx, &cd.BatchGetDeploymentGroupsInput{
		ApplicationName: aws.String("web"), DeploymentGroupNames: []string{"prod", "nope", "qa"}}))
	if len(batch.DeploymentGroupsInfo) != 2 || !strings.Contains(aws.ToString(batch.ErrorMessage), "nope") {
		t.Fatalf("BatchGetDeploymentGroups = %d groups, error %q", len(batch.DeploymentGroupsInfo), aws.ToString(batch.ErrorMessage))
	}
	list := cdMust[*cd.ListDeploymentGroupsOutput](t, "ListDeploymentGroups")(c.ListDeploymentGroups(ctx, &cd.ListDeploymentGroupsInput{ApplicationName: aws.String("web")}))
	if !slices.Equal(list.DeploymentGroups, []string{"prod", "qa"}) || aws.ToString(list.ApplicationName) != "web" {
		t.Fatalf("ListDeploymentGroups = %+v", list)
	}
	_, err = c.ListDeploymentGroups(ctx, &cd.ListDeploymentGroupsInput{ApplicationName: aws.String("nope")})
	wantCode(t, "groups of none", err, "ApplicationDoesNotExistException")

	// Tags of a group, by its ARN.
	arn := aws.String("arn:aws:codedeploy:us-east-1:000000000000:deploymentgroup:web/prod")
	cdMust[*cd.TagResourceOutput](t, "TagResource")(c.TagResource(ctx, &cd.TagResourceInput{ResourceArn: arn,
		Tags: []cdt.Tag{{Key: aws.String("env"), Value: aws.String("production")}, {Key: aws.String("owner"), Value: aws.String("me")}}}))
	cdMust[*cd.UntagResourceOutput](t, "UntagResource")(c.UntagResource(ctx, &cd.UntagResourceInput{ResourceArn: arn, TagKeys: []string{"owner"}}))
	tags := cdMust[*cd.ListTagsForResourceOutput](t, "ListTagsForResource")(c.ListTagsForResource(ctx, &cd.ListTagsForResourceInput{ResourceArn: arn}))
	if len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Value) != "production" {
		t.Fatalf("group tags = %+v", tags.Tags)
	}
	_, err = c.ListTagsForResource(ctx, &cd.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:codedeploy:us-east-1:000000000000:deploymentgroup:web/nope")})
	wantCode(t, "tags of no group", err, "InvalidArnException")
	_, err = c.ListTagsForResource(ctx, &cd.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:codedeploy:us-east-1:000000000000:instance/i1")})
	wantCode(t, "tags of an instance", err, "ArnNotSupportedException")
	_, err = c.ListTagsForResource(ctx, &cd.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:s3:::bucket")})
	wantCode(t, "tags of a bucket", err, "InvalidArnException")
	_, err = c.TagResource(ctx, &cd.TagResourceInput{ResourceArn: arn, Tags: []cdt.Tag{}})
	wantCode(t, "TagResource without tags", err, "TagRequiredException")

	cdMust[*cd.DeleteDeploymentGroupOutput](t, "DeleteDeploymentGroup")(c.DeleteDeploymentGroup(ctx, &cd.DeleteDeploymentGroupInput{
		ApplicationName: aws.String("web"), DeploymentGroupName: aws.String("prod")}))
	cdMust[*cd.DeleteDeploymentGroupOutput](t, "DeleteDeploymentGroup of none")(c.DeleteDeploymentGroup(ctx, &cd.DeleteDeploymentGroupInput{
		ApplicationName: aws.String("web"), DeploymentGroupName: aws.String("prod")}))
	_, err = c.GetDeploymentGroup(ctx, &cd.GetDeploymentGroupInput{ApplicationName: aws.String("web"), DeploymentGroupName: aws.String("prod")})
	wantCode(t, "get deleted", err, "DeploymentGroupDoesNotExistException")
}

func TestCodeDeployOnPremisesInstances(t *testing.T) {
	ts := startServer(t)
	c, ctx := newCodeDeploy(ts), context.Background()
	user := func(n string) *string { return aws.String("arn:aws:iam::000000000000:user/" + n) }
	register := func(name string, userArn, sessionArn *string) error {
		_, err := c.RegisterOnPremisesInstance(ctx, &cd.RegisterOnPremisesInstanceInput{InstanceName: aws.String(name), IamUserArn: userArn, IamSessionArn: sessionArn})
		return err
	}
	if err := register("host-1", user("h1"), nil); err != nil {
		t.Fatal(err)
	}
	if err := register("host-2", nil, aws.String("arn:aws:sts::000000000000:assumed-role/CodeDeployHost/host-2")); err != nil {
		t.Fatal(err)
	}
	if err := register("host-3", user("h3"), nil); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "same name", register("host-1", user("other"), nil), "InstanceNameAlreadyRegisteredException")
	wantCode(t, "same user", register("host-9", user("h1"), nil), "IamUserArnAlreadyRegisteredException")
	wantCode(t, "same session", register("host-9", nil, aws.String("arn:aws:sts::000000000000:assumed-role/CodeDeployHost/host-2")), "IamSessionArnAlreadyRegisteredException")
	wantCode(t, "no ARN", register("host-9", nil, nil), "IamArnRequiredException")
	wantCode(t, "two ARNs", register("host-9", user("x"), aws.String("arn:aws:sts::000000000000:assumed-role/R/s")), "MultipleIamArnsProvidedException")
	wantCode(t, "bad user ARN", register("host-9", aws.String("user"), nil), "InvalidIamUserArnException")
	wantCode(t, "bad session ARN", register("host-9", nil, aws.String("arn:aws:sts::1:x")), "InvalidIamSessionArnException")
	wantCode(t, "no name", register("", user("x"), nil), "InstanceNameRequiredException")

	web := []cdt.Tag{{Key: aws.String("role"), Value: aws.String("web")}}
	cdMust[*cd.AddTagsToOnPremisesInstancesOutput](t, "AddTags")(c.AddTagsToOnPremisesInstances(ctx, &cd.AddTagsToOnPremisesInstancesInput{
		InstanceNames: []string{"host-1", "host-2"}, Tags: append(web, cdt.Tag{Key: aws.String("zone"), Value: aws.String("a")})}))
	_, err := c.AddTagsToOnPremisesInstances(ctx, &cd.AddTagsToOnPremisesInstancesInput{InstanceNames: []string{"host-1", "nope"}, Tags: web})
	wantCode(t, "tag an unknown instance", err, "InstanceNotRegisteredException")
	_, err = c.AddTagsToOnPremisesInstances(ctx, &cd.AddTagsToOnPremisesInstancesInput{InstanceNames: []string{"host-1"}, Tags: []cdt.Tag{}})
	wantCode(t, "no tags", err, "TagRequiredException")
	_, err = c.AddTagsToOnPremisesInstances(ctx, &cd.AddTagsToOnPremisesInstancesInput{InstanceNames: []string{}, Tags: web})
	wantCode(t, "no instances", err, "InstanceNameRequiredException")
	many := make([]cdt.Tag, 11)
	for i := range many {
		many[i] = cdt.Tag{Key: aws.String(fmt.Sprint("k", i)), Value: aws.String("v")}
	}
	_, err = c.AddTagsToOnPremisesInstances(ctx, &cd.AddTagsToOnPremisesInstancesInput{InstanceNames: []string{"host-3"}, Tags: many})
	wantCode(t, "eleven tags", err, "TagLimitExceededException")
	cdMust[*cd.RemoveTagsFromOnPremisesInstancesOutput](t, "RemoveTags")(c.RemoveTagsFromOnPremisesInstances(ctx, &cd.RemoveTagsFromOnPremisesInstancesInput{
		InstanceNames: []string{"host-2"}, Tags: []cdt.Tag{{Key: aws.String("zone")}}}))

	h1 := cdMust[*cd.GetOnPremisesInstanceOutput](t, "GetOnPremisesInstance")(c.GetOnPremisesInstance(ctx, &cd.GetOnPremisesInstanceInput{InstanceName: aws.String("host-1")})).InstanceInfo
	if aws.ToString(h1.InstanceArn) != "arn:aws:codedeploy:us-east-1:000000000000:instance/host-1" || aws.ToString(h1.IamUserArn) != *user("h1") ||
		h1.RegisterTime == nil || h1.DeregisterTime != nil || len(h1.Tags) != 2 {
		t.Fatalf("GetOnPremisesInstance = %+v", h1)
	}
	_, err = c.GetOnPremisesInstance(ctx, &cd.GetOnPremisesInstanceInput{InstanceName: aws.String("nope")})
	wantCode(t, "get unknown", err, "InstanceNotRegisteredException")

	list := func(in *cd.ListOnPremisesInstancesInput) []string {
		t.Helper()
		return cdMust[*cd.ListOnPremisesInstancesOutput](t, "ListOnPremisesInstances")(c.ListOnPremisesInstances(ctx, in)).InstanceNames
	}
	if got := list(&cd.ListOnPremisesInstancesInput{}); !slices.Equal(got, []string{"host-1", "host-2", "host-3"}) {
		t.Fatalf("all instances = %v", got)
	}
	zone := []cdt.TagFilter{{Key: aws.String("zone"), Value: aws.String("a"), Type: cdt.TagFilterTypeKeyAndValue}}
	if got := list(&cd.ListOnPremisesInstancesInput{TagFilters: zone}); !slices.Equal(got, []string{"host-1"}) {
		t.Fatalf("instances in zone a = %v", got)
	}
	roles := []cdt.TagFilter{{Value: aws.String("web"), Type: cdt.TagFilterTypeValueOnly}}
	if got := list(&cd.ListOnPremisesInstancesInput{TagFilters: roles}); !slices.Equal(got, []string{"host-1", "host-2"}) {
		t.Fatalf("instances valued web = %v", got)
	}

	cdMust[*cd.DeregisterOnPremisesInstanceOutput](t, "Deregister")(c.DeregisterOnPremisesInstance(ctx, &cd.DeregisterOnPremisesInstanceInput{InstanceName: aws.String("host-3")}))
	_, err = c.DeregisterOnPremisesInstance(ctx, &cd.DeregisterOnPremisesInstanceInput{InstanceName: aws.String("host-3")})
	wantCode(t, "deregister twice", err, "InstanceNotRegisteredException")
	if got := list(&cd.ListOnPremisesInstancesInput{RegistrationStatus: cdt.RegistrationStatusRegistered}); !slices.Equal(got, []string{"host-1", "host-2"}) {
		t.Fatalf("registered = %v", got)
	}
	if got := list(&cd.ListOnPremisesInstancesInput{RegistrationStatus: cdt.RegistrationStatusDeregistered}); !slices.Equal(got, []string{"host-3"}) {
		t.Fatalf("deregistered = %v", got)
	}
	h3 := cdMust[*cd.GetOnPremisesInstanceOutput](t, "GetOnPremisesInstance host-3")(c.GetOnPremisesInstance(ctx, &cd.GetOnPremisesInstanceInput{InstanceName: aws.String("host-3")})).InstanceInfo
	if h3.DeregisterTime == nil {
		t.Fatalf("deregistered instance = %+v", h3)
	}
	// A deregistered instance's user ARN and name may be registered again.
	if err := register("host-3b", user("h3"), nil); err != nil {
		t.Fatalf("re-register of a deregistered user ARN: %v", err)
	}
	_, err = c.AddTagsToOnPremisesInstances(ctx, &cd.AddTagsToOnPremisesInstancesInput{InstanceNames: []string{"host-3"}, Tags: web})
	wantCode(t, "tag a deregistered instance", err, "InstanceNotRegisteredException")

	batch := cdMust[*cd.BatchGetOnPremisesInstancesOutput](t, "BatchGet")(c.BatchGetOnPremisesInstances(ctx, &cd.BatchGetOnPremisesInstancesInput{
		InstanceNames: []string{"host-1", "nope", "host-3"}}))
	if len(batch.InstanceInfos) != 2 {
		t.Fatalf("BatchGetOnPremisesInstances = %+v", batch.InstanceInfos)
	}
	_, err = c.BatchGetOnPremisesInstances(ctx, &cd.BatchGetOnPremisesInstancesInput{InstanceNames: cdNames(101)})
	wantCode(t, "batch of 101", err, "BatchLimitExceededException")
	_, err = c.ListOnPremisesInstances(ctx, &cd.ListOnPremisesInstancesInput{RegistrationStatus: "Lost"})
	wantCode(t, "bad status (the model's enum)", err, "InvalidRegistrationStatusException")
	_, err = c.ListOnPremisesInstances(ctx, &cd.ListOnPremisesInstancesInput{TagFilters: []cdt.TagFilter{{Type: cdt.TagFilterTypeKeyOnly}}})
	wantCode(t, "bad filter", err, "InvalidTagFilterException")

	for i := range 120 {
		if err := register(fmt.Sprintf("bulk-%03d", i), user(fmt.Sprint("bulk", i)), nil); err != nil {
			t.Fatal(err)
		}
	}
	var all []string
	in := &cd.ListOnPremisesInstancesInput{RegistrationStatus: cdt.RegistrationStatusRegistered}
	for pages := 0; ; pages++ {
		out := cdMust[*cd.ListOnPremisesInstancesOutput](t, "page")(c.ListOnPremisesInstances(ctx, in))
		all = append(all, out.InstanceNames...)
		if out.NextToken == nil {
			break
		}
		if pages > 2 {
			t.Fatal("more than 2 pages of 123 instances")
		}
		in.NextToken = out.NextToken
	}
	if len(all) != 123 {
		t.Fatalf("paged registered instances: %d, want 123", len(all))
	}
}

func TestCodeDeployRevisions(t *testing.T) {
	ts := startServer(t)
	c, ctx := newCodeDeploy(ts), context.Background()
	objs := ts.s3Client()
	mustBucket(t, objs, "releases")
	put := func(key, body string) string {
		out := cdMust[*s3.PutObjectOutput](t, "PutObject")(objs.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("releases"), Key: aws.String(key), Body: strings.NewReader(body)}))
		return strings.Trim(aws.ToString(out.ETag), `"`)
	}
	e1, e2 := put("web/v1.zip", "one"), put("web/v2.zip", "two")
	put("other/v1.zip", "x")
	cdMust[*cd.CreateApplicationOutput](t, "CreateApplication")(c.CreateApplication(ctx, &cd.CreateApplicationInput{ApplicationName: aws.String("web")}))
	s3rev := func(key, etag string) *cdt.RevisionLocation {
		return &cdt.RevisionLocation{RevisionType: cdt.RevisionLocationTypeS3, S3Location: &cdt.S3Location{
			Bucket: aws.String("releases"), Key: aws.String(key), BundleType: cdt.BundleTypeZip, ETag: aws.String(etag)}}
	}
	registerRev := func(rev *cdt.RevisionLocation, desc string) error {
		_, err := c.RegisterApplicationRevision(ctx, &cd.RegisterApplicationRevisionInput{ApplicationName: aws.String("web"), Revision: rev, Description: aws.String(desc)})
		return err
	}
	if err := registerRev(s3rev("web/v1.zip", e1), "first"); err != nil {
		t.Fatal(err)
	}
	if err := registerRev(s3rev("web/v2.zip", e2), "second"); err != nil {
		t.Fatal(err)
	}
	if err := registerRev(s3rev("other/v1.zip", ""), "other"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "missing object", registerRev(s3rev("web/v3.zip", ""), ""), "InvalidRevisionException")
	wantCode(t, "wrong ETag", registerRev(s3rev("web/v1.zip", e2), ""), "InvalidRevisionException")
	missingBucket := s3rev("web/v1.zip", "")
	missingBucket.S3Location.Bucket = aws.String("nope")
	wantCode(t, "missing bucket", registerRev(missingBucket, ""), "InvalidRevisionException")
	err := registerRev(&cdt.RevisionLocation{RevisionType: cdt.RevisionLocationTypeGitHub, GitHubLocation: &cdt.GitHubLocation{
		Repository: aws.String("o/r"), CommitId: aws.String("abc")}}, "")
	wantCode(t, "GitHub revision", err, "InvalidRevisionException")
	if !strings.Contains(err.Error(), "S3") {
		t.Errorf("refusal of GitHub does not say why: %v", err)
	}
	err = registerRev(&cdt.RevisionLocation{RevisionType: cdt.RevisionLocationTypeString, String_: &cdt.RawString{Content: aws.String("x")}}, "")
	wantCode(t, "String revision", err, "InvalidRevisionException")
	_, err = c.RegisterApplicationRevision(ctx, &cd.RegisterApplicationRevisionInput{ApplicationName: aws.String("nope"), Revision: s3rev("web/v1.zip", e1)})
	wantCode(t, "no application", err, "ApplicationDoesNotExistException")
	wantCode(t, "long description", registerRev(s3rev("web/v1.zip", e1), strings.Repeat("d", 257)), "DescriptionTooLongException")

	got := cdMust[*cd.GetApplicationRevisionOutput](t, "GetApplicationRevision")(c.GetApplicationRevision(ctx, &cd.GetApplicationRevisionInput{
		ApplicationName: aws.String("web"), Revision: s3rev("web/v1.zip", e1)}))
	if aws.ToString(got.RevisionInfo.Description) != "first" || got.RevisionInfo.RegisterTime == nil || aws.ToString(got.Revision.S3Location.ETag) != e1 {
		t.Fatalf("GetApplicationRevision = %+v %+v", got.Revision.S3Location, got.RevisionInfo)
	}
	// Without the ETag the key names the revision.
	bare := s3rev("web/v2.zip", "")
	bare.S3Location.ETag = nil
	got = cdMust[*cd.GetApplicationRevisionOutput](t, "GetApplicationRevision by key")(c.GetApplicationRevision(ctx, &cd.GetApplicationRevisionInput{
		ApplicationName: aws.String("web"), Revision: bare}))
	if aws.ToString(got.RevisionInfo.Description) != "second" {
		t.Fatalf("GetApplicationRevision by key = %+v", got.RevisionInfo)
	}
	_, err = c.GetApplicationRevision(ctx, &cd.GetApplicationRevisionInput{ApplicationName: aws.String("web"), Revision: s3rev("web/v9.zip", "")})
	wantCode(t, "unregistered revision", err, "RevisionDoesNotExistException")

	batch := cdMust[*cd.BatchGetApplicationRevisionsOutput](t, "BatchGetApplicationRevisions")(c.BatchGetApplicationRevisions(ctx, &cd.BatchGetApplicationRevisionsInput{
		ApplicationName: aws.String("web"), Revisions: []cdt.RevisionLocation{*s3rev("web/v1.zip", e1), *s3rev("web/v9.zip", ""), *s3rev("web/v2.zip", e2)}}))
	if len(batch.Revisions) != 2 || !strings.Contains(aws.ToString(batch.ErrorMessage), "web/v9.zip") {
		t.Fatalf("BatchGetApplicationRevisions = %d, %q", len(batch.Revisions), aws.ToString(batch.ErrorMessage))
	}
	tooMany := make([]cdt.RevisionLocation, 26)
	for i := range tooMany {
		tooMany[i] = *s3rev("web/v1.zip", e1)
	}
	_, err = c.BatchGetApplicationRevisions(ctx, &cd.BatchGetApplicationRevisionsInput{ApplicationName: aws.String("web"), Revisions: tooMany})
	wantCode(t, "batch of 26", err, "BatchLimitExceededException")

	keys := func(in *cd.ListApplicationRevisionsInput) []string {
		t.Helper()
		in.ApplicationName = aws.String("web")
		var ks []string
		for _, r := range cdMust[*cd.ListApplicationRevisionsOutput](t, "ListApplicationRevisions")(c.ListApplicationRevisions(ctx, in)).Revisions {
			ks = append(ks, aws.ToString(r.S3Location.Key))
		}
		return ks
	}
	if got := keys(&cd.ListApplicationRevisionsInput{SortBy: cdt.ApplicationRevisionSortByRegisterTime, SortOrder: cdt.SortOrderDescending}); !slices.Equal(got, []string{"other/v1.zip", "web/v2.zip", "web/v1.zip"}) {
		t.Fatalf("revisions newest first = %v", got)
	}
	if got := keys(&cd.ListApplicationRevisionsInput{S3Bucket: aws.String("releases"), S3KeyPrefix: aws.String("web/")}); !slices.Equal(got, []string{"web/v1.zip", "web/v2.zip"}) {
		t.Fatalf("revisions under web/ = %v", got)
	}
	if got := keys(&cd.ListApplicationRevisionsInput{Deployed: cdt.ListStateFilterActionInclude}); len(got) != 0 {
		t.Fatalf("deployed revisions = %v", got)
	}
	_, err = c.ListApplicationRevisions(ctx, &cd.ListApplicationRevisionsInput{ApplicationName: aws.String("web"), S3KeyPrefix: aws.String("web/")})
	wantCode(t, "prefix without bucket", err, "BucketNameFilterRequiredException")
	_, err = c.ListApplicationRevisions(ctx, &cd.ListApplicationRevisionsInput{ApplicationName: aws.String("web"), SortBy: "size"})
	wantCode(t, "bad sort (the model's enum)", err, "InvalidSortByException")
	_, err = c.ListApplicationRevisions(ctx, &cd.ListApplicationRevisionsInput{ApplicationName: aws.String("nope")})
	wantCode(t, "revisions of none", err, "ApplicationDoesNotExistException")
}

func TestCodeDeployConfigTagsAndUnbuiltOperations(t *testing.T) {
	ts := startServer(t)
	c, ctx := newCodeDeploy(ts), context.Background()
	cdMust[*cd.CreateDeploymentConfigOutput](t, "CreateDeploymentConfig")(c.CreateDeploymentConfig(ctx, &cd.CreateDeploymentConfigInput{
		DeploymentConfigName: aws.String("two"), MinimumHealthyHosts: &cdt.MinimumHealthyHosts{Type: cdt.MinimumHealthyHostsTypeHostCount, Value: 2}}))
	arn := aws.String("arn:aws:codedeploy:us-east-1:000000000000:deploymentconfig:two")
	cdMust[*cd.TagResourceOutput](t, "TagResource")(c.TagResource(ctx, &cd.TagResourceInput{ResourceArn: arn, Tags: []cdt.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}))
	tags := cdMust[*cd.ListTagsForResourceOutput](t, "ListTagsForResource")(c.ListTagsForResource(ctx, &cd.ListTagsForResourceInput{ResourceArn: arn}))
	if len(tags.Tags) != 1 {
		t.Fatalf("config tags = %+v", tags.Tags)
	}
	_, err := c.TagResource(ctx, &cd.TagResourceInput{ResourceArn: aws.String("arn:aws:codedeploy:us-east-1:000000000000:deploymentconfig:nope"),
		Tags: []cdt.Tag{{Key: aws.String("k")}}})
	wantCode(t, "tag no config", err, "DeploymentConfigDoesNotExistException")

	// Operations not built yet say so by name.
	_, err = c.ContinueDeployment(ctx, &cd.ContinueDeploymentInput{DeploymentId: aws.String("d-AAAAAAAAA")})
	wantCode(t, "ContinueDeployment", err, "UnknownOperationException")
	if !strings.Contains(err.Error(), "ContinueDeployment") {
		t.Errorf("ContinueDeployment's refusal does not name it: %v", err)
	}
}

func TestCodeDeployStateOutlivesRestart(t *testing.T) {
	ts := startServer(t)
	c, ctx := newCodeDeploy(ts), context.Background()
	id := cdMust[*cd.CreateApplicationOutput](t, "CreateApplication")(c.CreateApplication(ctx, &cd.CreateApplicationInput{ApplicationName: aws.String("web")})).ApplicationId
	cdMust[*cd.CreateDeploymentGroupOutput](t, "CreateDeploymentGroup")(c.CreateDeploymentGroup(ctx, &cd.CreateDeploymentGroupInput{
		ApplicationName: aws.String("web"), DeploymentGroupName: aws.String("prod"), ServiceRoleArn: aws.String(cdRole)}))
	cdMust[*cd.RegisterOnPremisesInstanceOutput](t, "RegisterOnPremisesInstance")(c.RegisterOnPremisesInstance(ctx, &cd.RegisterOnPremisesInstanceInput{
		InstanceName: aws.String("host-1"), IamUserArn: aws.String("arn:aws:iam::000000000000:user/h1")}))

	ts.restart()
	c = newCodeDeploy(ts)
	a := cdMust[*cd.GetApplicationOutput](t, "GetApplication after restart")(c.GetApplication(ctx, &cd.GetApplicationInput{ApplicationName: aws.String("web")})).Application
	if aws.ToString(a.ApplicationId) != aws.ToString(id) {
		t.Fatalf("application id after restart %q, want %q", aws.ToString(a.ApplicationId), aws.ToString(id))
	}
	cdMust[*cd.GetDeploymentGroupOutput](t, "GetDeploymentGroup after restart")(c.GetDeploymentGroup(ctx, &cd.GetDeploymentGroupInput{
		ApplicationName: aws.String("web"), DeploymentGroupName: aws.String("prod")}))
	cdMust[*cd.GetOnPremisesInstanceOutput](t, "GetOnPremisesInstance after restart")(c.GetOnPremisesInstance(ctx, &cd.GetOnPremisesInstanceInput{InstanceName: aws.String("host-1")}))
}

// Concurrent registrations of one IAM user ARN under different names: one
// wins, the others are refused, never two instances with the same user.
func TestCodeDeployConcurrentRegistrations(t *testing.T) {
	ts := startServer(t)
	c, ctx := newCodeDeploy(ts), context.Background()
	const n = 8
	errs := make(chan error, n)
	for i := range n {
		go func() {
			_, err := c.RegisterOnPremisesInstance(ctx, &cd.RegisterOnPremisesInstanceInput{
				InstanceName: aws.String(fmt.Sprint("host-", i)), IamUserArn: aws.String("arn:aws:iam::000000000000:user/shared")})
			errs <- err
		}()
	}
	won := 0
	for range n {
		switch err := <-errs; cdCode(t, err) {
		case "":
			won++
		case "IamUserArnAlreadyRegisteredException":
		default:
			t.Errorf("register: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d registrations of one IAM user succeeded, want 1", won)
	}
}
