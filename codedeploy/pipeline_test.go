package codedeploy_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/pipewright/pipewright/artifacts"
	"github.com/pipewright/pipewright/codedeploy"
	"github.com/pipewright/pipewright/codedeploy/shape"
	"github.com/pipewright/pipewright/store/sqlite"
)

// openService opens a Service over a real SQLite store and artifact
// store, with the application web, its group fleet over the instances
// tagged env=test, one such instance and a revision in bundles/app.zip.
func openService(t *testing.T) (*codedeploy.Service, *shape.CreateDeploymentInput) {
	t.Helper()
	ctx, dir := context.Background(), t.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	arts, err := artifacts.Open(filepath.Join(dir, "artifacts"), db.Objects())
	if err != nil {
		t.Fatal(err)
	}
	if err := arts.CreateBucket(ctx, "bundles"); err != nil {
		t.Fatal(err)
	}
	zip := append([]byte("PK\x05\x06"), make([]byte, 18)...)
	if _, err := arts.PutObject(ctx, "bundles", "app.zip", bytes.NewReader(zip), artifacts.PutOptions{Size: int64(len(zip))}); err != nil {
		t.Fatal(err)
	}
	s := codedeploy.New(codedeploy.Config{Store: db.CodeDeploy(), Artifacts: arts, Region: "us-east-1", AccountID: "000000000000"})
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	app, group, name := "web", "fleet", "host-1"
	key, value := "env", "test"
	must(s.CreateApplication(ctx, &shape.CreateApplicationInput{ApplicationName: &app}))
	must(s.CreateDeploymentGroup(ctx, &shape.CreateDeploymentGroupInput{ApplicationName: &app, DeploymentGroupName: &group,
		ServiceRoleArn:               new("arn:aws:iam::000000000000:role/cd"),
		OnPremisesInstanceTagFilters: []shape.TagFilter{{Key: &key, Value: &value, Type: new(shape.TagFilterTypeKeyAndValue)}}}))
	must(s.RegisterOnPremisesInstance(ctx, &shape.RegisterOnPremisesInstanceInput{InstanceName: &name, IamUserArn: new("arn:aws:iam::000000000000:user/host-1")}))
	must(s.AddTagsToOnPremisesInstances(ctx, &shape.AddTagsToOnPremisesInstancesInput{InstanceNames: []string{name}, Tags: []shape.Tag{{Key: &key, Value: &value}}}))
	return s, &shape.CreateDeploymentInput{ApplicationName: &app, DeploymentGroupName: &group,
		Revision: &shape.RevisionLocation{RevisionType: new(shape.RevisionLocationTypeS3),
			S3Location: &shape.S3Location{Bucket: new("bundles"), Key: new("app.zip"), BundleType: new(shape.BundleTypeZip)}}}
}

// TestStopPipelineDeploymentAhead: a pipeline action's deployment stopped
// before it is created is never created; one stopped after is Stopped;
// and a stop racing the creation ends either way, never with a
// deployment left running.
func TestStopPipelineDeploymentAhead(t *testing.T) {
	s, in := openService(t)
	ctx := context.Background()
	if err := s.StopPipelineDeployment(ctx, "run-1"); err != nil {
		t.Fatalf("a stop ahead: %v", err)
	}
	if err := s.StopPipelineDeployment(ctx, "run-1"); err != nil {
		t.Fatalf("a second stop ahead: %v", err)
	}
	if _, err := s.CreatePipelineDeployment(ctx, "run-1", in); !errors.Is(err, codedeploy.ErrStoppedAhead) {
		t.Fatalf("creating a deployment stopped ahead: %v", err)
	}
	id := codedeploy.PipelineDeploymentID("run-1")
	if _, err := s.GetDeployment(ctx, &shape.GetDeploymentInput{DeploymentId: &id}); err == nil {
		t.Fatalf("the deployment stopped ahead exists")
	}

	if _, err := s.CreatePipelineDeployment(ctx, "run-2", in); err != nil {
		t.Fatal(err)
	}
	if err := s.StopPipelineDeployment(ctx, "run-2"); err != nil {
		t.Fatal(err)
	}
	if err := s.StopPipelineDeployment(ctx, "run-2"); err != nil {
		t.Fatalf("stopping a stopped deployment: %v", err)
	}
	id = codedeploy.PipelineDeploymentID("run-2")
	if d, err := s.GetDeployment(ctx, &shape.GetDeploymentInput{DeploymentId: &id}); err != nil || d.DeploymentInfo.GetStatus() != shape.DeploymentStatusStopped {
		t.Fatalf("run-2's deployment: %+v, %v", d, err)
	}

	ahead := 0
	for i := range 20 {
		token := fmt.Sprintf("race-%d", i)
		var wg sync.WaitGroup
		var createErr, stopErr error
		wg.Add(2)
		go func() { defer wg.Done(); _, createErr = s.CreatePipelineDeployment(ctx, token, in) }()
		go func() { defer wg.Done(); stopErr = s.StopPipelineDeployment(ctx, token) }()
		wg.Wait()
		if stopErr != nil || createErr != nil && !errors.Is(createErr, codedeploy.ErrStoppedAhead) {
			t.Fatalf("%s: create %v, stop %v", token, createErr, stopErr)
		}
		id := codedeploy.PipelineDeploymentID(token)
		d, err := s.GetDeployment(ctx, &shape.GetDeploymentInput{DeploymentId: &id})
		switch {
		case createErr != nil && err == nil:
			t.Fatalf("%s: refused, yet its deployment exists", token)
		case createErr == nil && (err != nil || d.DeploymentInfo.GetStatus() != shape.DeploymentStatusStopped):
			t.Fatalf("%s: created and stopped, yet its deployment is %+v (%v)", token, d, err)
		}
		if createErr != nil {
			ahead++
		}
	}
	t.Logf("of 20 races, %d stops came first", ahead)
}
