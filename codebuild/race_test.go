package codebuild_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cb "github.com/aws/aws-sdk-go-v2/service/codebuild"
	cbt "github.com/aws/aws-sdk-go-v2/service/codebuild/types"

	"github.com/pipewright/pipewright/codebuild"
	"github.com/pipewright/pipewright/jobs"
	"github.com/pipewright/pipewright/server"
)

const (
	testKey    = "AKIAPIPEWRIGHTTEST01"
	testSecret = "pipewright-test-secret-key-0123456789abcdef"
)

// startServer runs a real server on a loopback port and returns it with an
// SDK CodeBuild client that signs every request.
func startServer(t *testing.T, minute time.Duration) (*server.Server, *cb.Client) {
	t.Helper()
	srv, err := server.Open(context.Background(), server.Config{Data: t.TempDir(), Region: "us-east-1", AccountID: "000000000000",
		StopGrace: 2 * time.Second, AccessKeyID: testKey, SecretAccessKey: testSecret, BuildMinute: minute})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return srv, cb.New(cb.Options{BaseEndpoint: aws.String("http://" + ln.Addr().String()), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(testKey, testSecret, "")})
}

// bound is the longest any wait of these tests may take: reaching it is a
// failure, never a measurement.
const bound = 20 * time.Second

func guarded(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	t.Cleanup(cancel)
	return ctx
}

// TestStopBuildWinsEveryRace: a build's job ends (its last command exits,
// or its timeout ends it) and, before that end is recorded, StopBuild is
// called. The stop succeeds, and the build stays STOPPED once the job's end
// is recorded after it.
func TestStopBuildWinsEveryRace(t *testing.T) {
	for _, tc := range []struct {
		name, command string
		timeout       *int32
		jobStatus     jobs.Status
	}{
		{"the last command exits", "true", nil, jobs.StatusSucceeded},
		{"the last command fails", "false", nil, jobs.StatusFailed},
		{"the timeout fires", "sleep 1000", aws.Int32(5), jobs.StatusTimedOut},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, c := startServer(t, 20*time.Millisecond)
			ended := make(chan *jobs.Job, 1)
			release, recorded := make(chan struct{}), make(chan struct{})
			codebuild.SetFinishHook(srv.CodeBuild(), func(j *jobs.Job, record func()) {
				select {
				case ended <- j:
				default:
					record()
					return
				}
				<-release
				record()
				close(recorded)
			})
			if _, err := c.CreateProject(guarded(t), &cb.CreateProjectInput{
				Name:        aws.String("race"),
				Source:      &cbt.ProjectSource{Type: cbt.SourceTypeNoSource, Buildspec: aws.String("version: 0.2\nphases:\n  build:\n    commands:\n      - " + tc.command + "\n")},
				Artifacts:   &cbt.ProjectArtifacts{Type: cbt.ArtifactsTypeNoArtifacts},
				Environment: &cbt.ProjectEnvironment{Type: cbt.EnvironmentTypeLinuxContainer, Image: aws.String("i"), ComputeType: cbt.ComputeTypeBuildGeneral1Small},
				ServiceRole: aws.String("r"),
			}); err != nil {
				t.Fatal(err)
			}
			out, err := c.StartBuild(guarded(t), &cb.StartBuildInput{ProjectName: aws.String("race"), TimeoutInMinutesOverride: tc.timeout})
			if err != nil {
				t.Fatal(err)
			}
			id := aws.ToString(out.Build.Id)
			var j *jobs.Job
			select {
			case j = <-ended:
			case <-time.After(bound):
				t.Fatal("the build's job never ended")
			}
			if j.Status != tc.jobStatus {
				t.Fatalf("the job ended %s, want %s", j.Status, tc.jobStatus)
			}
			stopped, err := c.StopBuild(guarded(t), &cb.StopBuildInput{Id: aws.String(id)})
			if err != nil {
				t.Fatal(err)
			}
			if stopped.Build.BuildStatus != cbt.StatusTypeStopped || !stopped.Build.BuildComplete {
				t.Fatalf("StopBuild between the job's end and its record answered %s", stopped.Build.BuildStatus)
			}
			close(release)
			select {
			case <-recorded:
			case <-time.After(bound):
				t.Fatal("the job's end was never recorded")
			}
			got, err := c.BatchGetBuilds(guarded(t), &cb.BatchGetBuildsInput{Ids: []string{id}})
			if err != nil {
				t.Fatal(err)
			}
			if b := got.Builds[0]; b.BuildStatus != cbt.StatusTypeStopped || !b.BuildComplete {
				t.Fatalf("after the job's end was recorded the build is %s", b.BuildStatus)
			}
		})
	}
}
