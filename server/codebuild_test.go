package server_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cb "github.com/aws/aws-sdk-go-v2/service/codebuild"
	cbt "github.com/aws/aws-sdk-go-v2/service/codebuild/types"
	"github.com/aws/smithy-go"

	"github.com/pipewright/pipewright/jobs"
	"github.com/pipewright/pipewright/server"
)

// newCodeBuild is an SDK CodeBuild client of the test server.
func newCodeBuild(ts *testServer) *cb.Client {
	return cb.New(cb.Options{
		BaseEndpoint: aws.String(ts.url), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(testKey, testSecret, ""), Retryer: onlyTransportRaceRetryer(),
	})
}

func withBuilds(max int, minute time.Duration) option {
	return func(c *server.Config) { c.MaxBuilds, c.BuildMinute = max, minute }
}

// noSourceProject creates a NO_SOURCE project with an inline buildspec.
func noSourceProject(t *testing.T, c *cb.Client, name, spec string, mod ...func(*cb.CreateProjectInput)) {
	t.Helper()
	in := &cb.CreateProjectInput{
		Name:        aws.String(name),
		Source:      &cbt.ProjectSource{Type: cbt.SourceTypeNoSource, Buildspec: aws.String(spec)},
		Artifacts:   &cbt.ProjectArtifacts{Type: cbt.ArtifactsTypeNoArtifacts},
		Environment: &cbt.ProjectEnvironment{Type: cbt.EnvironmentTypeLinuxContainer, Image: aws.String("aws/codebuild/standard:7.0"), ComputeType: cbt.ComputeTypeBuildGeneral1Small},
		ServiceRole: aws.String("arn:aws:iam::000000000000:role/codebuild"),
	}
	for _, m := range mod {
		m(in)
	}
	if _, err := c.CreateProject(guarded(t), in); err != nil {
		t.Fatal(err)
	}
}

func startBuild(t *testing.T, c *cb.Client, in *cb.StartBuildInput) cbt.Build {
	t.Helper()
	out, err := c.StartBuild(guarded(t), in)
	if err != nil {
		t.Fatal(err)
	}
	return *out.Build
}

func getBuild(t *testing.T, c *cb.Client, id string) cbt.Build {
	t.Helper()
	out, err := c.BatchGetBuilds(guarded(t), &cb.BatchGetBuildsInput{Ids: []string{id}})
	if err != nil || len(out.Builds) != 1 {
		t.Fatalf("BatchGetBuilds %s: %v %+v", id, err, out)
	}
	return out.Builds[0]
}

// waitBuild waits until the build satisfies ok (the guard bounds it).
func waitBuild(t *testing.T, c *cb.Client, id, what string, ok func(cbt.Build) bool) cbt.Build {
	t.Helper()
	deadline := time.Now().Add(3 * guard)
	for {
		b := getBuild(t, c, id)
		if ok(b) {
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("build %s: %s never happened; it is %s in %s, phases %s", id, what, b.BuildStatus, aws.ToString(b.CurrentPhase), phaseList(b))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitComplete(t *testing.T, c *cb.Client, id string) cbt.Build {
	t.Helper()
	return waitBuild(t, c, id, "completion", func(b cbt.Build) bool { return b.BuildComplete })
}

// phaseList is "TYPE:STATUS ..." of a build's phases.
func phaseList(b cbt.Build) string {
	var parts []string
	for _, p := range b.Phases {
		parts = append(parts, string(p.PhaseType)+":"+string(p.PhaseStatus))
	}
	return strings.Join(parts, " ")
}

// buildLog is the build's output so far, from its job's log file.
func buildLog(ts *testServer, id string) string {
	b, _ := os.ReadFile(filepath.Join(ts.data, "logs", jobs.IDFor("codebuild", id)+".log"))
	return string(b)
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

const passingSpec = `version: 0.2
env:
  variables:
    GREETING: hello
  exported-variables:
    - RESULT
phases:
  install:
    commands:
      - mkdir -p sub && cd sub
      - export CARRIED=yes
  build:
    commands:
      - echo "in $(basename $PWD) carried=$CARRIED greeting=$GREETING number=$CODEBUILD_BUILD_NUMBER"
      - RESULT=built
  post_build:
    commands:
      - echo "succeeding=$CODEBUILD_BUILD_SUCCEEDING"
`

func TestCodeBuildProjects(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	c := newCodeBuild(ts)
	noSourceProject(t, c, "proj-a", passingSpec)
	if _, err := c.CreateProject(guarded(t), &cb.CreateProjectInput{Name: aws.String("proj-a"),
		Source:      &cbt.ProjectSource{Type: cbt.SourceTypeNoSource, Buildspec: aws.String(passingSpec)},
		Artifacts:   &cbt.ProjectArtifacts{Type: cbt.ArtifactsTypeNoArtifacts},
		Environment: &cbt.ProjectEnvironment{Type: cbt.EnvironmentTypeLinuxContainer, Image: aws.String("i"), ComputeType: cbt.ComputeTypeBuildGeneral1Small},
		ServiceRole: aws.String("r")}); apiCode(err) != "ResourceAlreadyExistsException" {
		t.Errorf("duplicate CreateProject: %v", err)
	}
	_, err := c.CreateProject(guarded(t), &cb.CreateProjectInput{Name: aws.String("gh"),
		Source:      &cbt.ProjectSource{Type: cbt.SourceTypeGithub, Location: aws.String("https://github.com/x/y")},
		Artifacts:   &cbt.ProjectArtifacts{Type: cbt.ArtifactsTypeNoArtifacts},
		Environment: &cbt.ProjectEnvironment{Type: cbt.EnvironmentTypeLinuxContainer, Image: aws.String("i"), ComputeType: cbt.ComputeTypeBuildGeneral1Small},
		ServiceRole: aws.String("r")})
	if apiCode(err) != "InvalidInputException" || !strings.Contains(err.Error(), "GITHUB") {
		t.Errorf("GITHUB source: %v", err)
	}
	got, err := c.BatchGetProjects(guarded(t), &cb.BatchGetProjectsInput{Names: []string{"proj-a", "nope"}})
	if err != nil || len(got.Projects) != 1 || len(got.ProjectsNotFound) != 1 {
		t.Fatalf("BatchGetProjects: %v %+v", err, got)
	}
	p := got.Projects[0]
	if aws.ToString(p.Arn) != "arn:aws:codebuild:us-east-1:000000000000:project/proj-a" || aws.ToInt32(p.TimeoutInMinutes) != 60 ||
		aws.ToInt32(p.QueuedTimeoutInMinutes) != 480 || p.Created == nil {
		t.Errorf("project %+v", p)
	}
	if _, err := c.UpdateProject(guarded(t), &cb.UpdateProjectInput{Name: aws.String("proj-a"), Description: aws.String("d")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateProject(guarded(t), &cb.UpdateProjectInput{Name: aws.String("nope")}); apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("UpdateProject of a missing project: %v", err)
	}
	list, err := c.ListProjects(guarded(t), &cb.ListProjectsInput{})
	if err != nil || len(list.Projects) != 1 || list.Projects[0] != "proj-a" {
		t.Errorf("ListProjects: %v %+v", err, list)
	}
	if _, err := c.DeleteProject(guarded(t), &cb.DeleteProjectInput{Name: aws.String("proj-a")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartBuild(guarded(t), &cb.StartBuildInput{ProjectName: aws.String("proj-a")}); apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("StartBuild of a deleted project: %v", err)
	}
	if _, err := c.StartBuildBatch(guarded(t), &cb.StartBuildBatchInput{ProjectName: aws.String("x")}); apiCode(err) != "UnknownOperationException" {
		t.Errorf("StartBuildBatch: %v", err)
	}
}

func TestCodeBuildPassingBuild(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	c := newCodeBuild(ts)
	noSourceProject(t, c, "pass", passingSpec)
	b := startBuild(t, c, &cb.StartBuildInput{ProjectName: aws.String("pass")})
	id := aws.ToString(b.Id)
	if !strings.HasPrefix(id, "pass:") || b.BuildNumber == nil || *b.BuildNumber != 1 || b.BuildStatus != cbt.StatusTypeInProgress ||
		aws.ToString(b.Arn) != "arn:aws:codebuild:us-east-1:000000000000:build/"+id {
		t.Fatalf("StartBuild answered %+v", b)
	}
	b = waitComplete(t, c, id)
	want := "SUBMITTED:SUCCEEDED QUEUED:SUCCEEDED PROVISIONING:SUCCEEDED DOWNLOAD_SOURCE:SUCCEEDED INSTALL:SUCCEEDED PRE_BUILD:SUCCEEDED BUILD:SUCCEEDED POST_BUILD:SUCCEEDED UPLOAD_ARTIFACTS:SUCCEEDED FINALIZING:SUCCEEDED COMPLETED:"
	if b.BuildStatus != cbt.StatusTypeSucceeded || phaseList(b) != want || aws.ToString(b.CurrentPhase) != "COMPLETED" || b.EndTime == nil {
		t.Errorf("build %s in %s, phases %s", b.BuildStatus, aws.ToString(b.CurrentPhase), phaseList(b))
	}
	log := buildLog(ts, id)
	if !strings.Contains(log, "in sub carried=yes greeting=hello number=1") || !strings.Contains(log, "succeeding=1") {
		t.Errorf("log:\n%s", log)
	}
	if len(b.ExportedEnvironmentVariables) != 1 || aws.ToString(b.ExportedEnvironmentVariables[0].Value) != "built" {
		t.Errorf("exported %+v", b.ExportedEnvironmentVariables)
	}
	if b.Logs == nil || aws.ToString(b.Logs.GroupName) != "/aws/codebuild/pass" || aws.ToString(b.Logs.StreamName) != strings.TrimPrefix(id, "pass:") {
		t.Errorf("logs %+v", b.Logs)
	}
	events, err := ts.logsClient().GetLogEvents(guarded(t), &cwl.GetLogEventsInput{
		LogGroupName: b.Logs.GroupName, LogStreamName: b.Logs.StreamName, StartFromHead: aws.Bool(true)})
	if err != nil {
		t.Fatalf("GetLogEvents of the build's stream: %v", err)
	}
	var text []string
	for _, e := range events.Events {
		text = append(text, aws.ToString(e.Message))
	}
	if all := strings.Join(text, "\n"); !strings.Contains(all, "in sub carried=yes greeting=hello number=1") {
		t.Errorf("the build's log through CloudWatch Logs:\n%s", all)
	}
	second := startBuild(t, c, &cb.StartBuildInput{ProjectName: aws.String("pass")})
	if aws.ToInt64(second.BuildNumber) != 2 {
		t.Errorf("second build number %d", aws.ToInt64(second.BuildNumber))
	}
	ids, err := c.ListBuildsForProject(guarded(t), &cb.ListBuildsForProjectInput{ProjectName: aws.String("pass")})
	if err != nil || len(ids.Ids) != 2 || ids.Ids[0] != aws.ToString(second.Id) {
		t.Errorf("ListBuildsForProject: %v %+v", err, ids)
	}
}

func TestCodeBuildFailingBuildRunsPostBuild(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	c := newCodeBuild(ts)
	noSourceProject(t, c, "fail", `version: 0.2
phases:
  build:
    commands:
      - echo before
      - "false"
      - echo never
    finally:
      - echo finally-ran
  post_build:
    commands:
      - echo "succeeding=$CODEBUILD_BUILD_SUCCEEDING"
`)
	b := waitComplete(t, c, aws.ToString(startBuild(t, c, &cb.StartBuildInput{ProjectName: aws.String("fail")}).Id))
	want := "SUBMITTED:SUCCEEDED QUEUED:SUCCEEDED PROVISIONING:SUCCEEDED DOWNLOAD_SOURCE:SUCCEEDED INSTALL:SUCCEEDED PRE_BUILD:SUCCEEDED BUILD:FAILED POST_BUILD:SUCCEEDED UPLOAD_ARTIFACTS:SUCCEEDED FINALIZING:SUCCEEDED COMPLETED:"
	if b.BuildStatus != cbt.StatusTypeFailed || phaseList(b) != want {
		t.Errorf("build %s, phases %s", b.BuildStatus, phaseList(b))
	}
	log := buildLog(ts, aws.ToString(b.Id))
	if strings.Contains(log, " never") || !strings.Contains(log, "finally-ran") || !strings.Contains(log, "succeeding=0") {
		t.Errorf("log:\n%s", log)
	}
	for _, p := range b.Phases {
		if p.PhaseType == cbt.BuildPhaseTypeBuild && (len(p.Contexts) == 0 || aws.ToString(p.Contexts[0].StatusCode) != "COMMAND_EXECUTION_ERROR") {
			t.Errorf("BUILD contexts %+v", p.Contexts)
		}
	}

	noSourceProject(t, c, "badyaml", "version: 0.2\nphases: [\n")
	b = waitComplete(t, c, aws.ToString(startBuild(t, c, &cb.StartBuildInput{ProjectName: aws.String("badyaml")}).Id))
	if b.BuildStatus != cbt.StatusTypeFailed || !strings.Contains(phaseList(b), "DOWNLOAD_SOURCE:FAILED FINALIZING:SUCCEEDED COMPLETED:") {
		t.Errorf("bad buildspec: %s, phases %s", b.BuildStatus, phaseList(b))
	}
	events, err := ts.logsClient().GetLogEvents(guarded(t), &cwl.GetLogEventsInput{
		LogGroupName: b.Logs.GroupName, LogStreamName: b.Logs.StreamName, StartFromHead: aws.Bool(true)})
	if err != nil || len(events.Events) != 1 || !strings.Contains(aws.ToString(events.Events[0].Message), "DOWNLOAD_SOURCE failed: YAML_FILE_ERROR") {
		t.Errorf("the log of a build that failed before it ran: %v %+v", err, events)
	}
	_, err = c.CreateProject(guarded(t), &cb.CreateProjectInput{Name: aws.String("two-sources"),
		Source:           &cbt.ProjectSource{Type: cbt.SourceTypeNoSource, Buildspec: aws.String(passingSpec)},
		SecondarySources: []cbt.ProjectSource{{Type: cbt.SourceTypeCodecommit, Location: aws.String("app"), SourceIdentifier: aws.String("other")}},
		Artifacts:        &cbt.ProjectArtifacts{Type: cbt.ArtifactsTypeNoArtifacts},
		Environment:      &cbt.ProjectEnvironment{Type: cbt.EnvironmentTypeLinuxContainer, Image: aws.String("i"), ComputeType: cbt.ComputeTypeBuildGeneral1Small},
		ServiceRole:      aws.String("r")})
	if apiCode(err) != "InvalidInputException" {
		t.Errorf("a project with secondary sources: %v", err)
	}
}

// TestCodeBuildStopKillsTheWholeTree: StopBuild answers the build STOPPED
// at once, and every process of it, a setsid'd daemon included, is gone
// within the grace.
func TestCodeBuildStopKillsTheWholeTree(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	c := newCodeBuild(ts)
	daemon := uniqueSleep()
	noSourceProject(t, c, "stop", `version: 0.2
phases:
  build:
    commands:
      - setsid sleep `+daemon+` &
      - echo started
      - sleep 1000
  post_build:
    commands:
      - echo post-build-ran
`)
	id := aws.ToString(startBuild(t, c, &cb.StartBuildInput{ProjectName: aws.String("stop")}).Id)
	waitBuild(t, c, id, "the BUILD phase", func(b cbt.Build) bool { return strings.Contains(buildLog(ts, id), "started") })
	eventually(t, 3*guard, "the build's daemon to run", func() bool { return len(processesRunning("sleep", daemon)) == 1 })
	out, err := c.StopBuild(guarded(t), &cb.StopBuildInput{Id: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	sb := *out.Build
	if sb.BuildStatus != cbt.StatusTypeStopped || !sb.BuildComplete || aws.ToString(sb.CurrentPhase) != "COMPLETED" ||
		!strings.HasSuffix(phaseList(sb), "BUILD:STOPPED COMPLETED:") {
		t.Errorf("StopBuild answered %s in %s, phases %s", sb.BuildStatus, aws.ToString(sb.CurrentPhase), phaseList(sb))
	}
	job := jobs.IDFor("codebuild", id)
	eventually(t, 3*guard, "the build's job to end", func() bool {
		return strings.Contains(buildLog(ts, id), "[pipewright]")
	})
	if left := processesRunning("sleep", daemon); len(left) != 0 {
		t.Errorf("the setsid'd daemon of job %s outlived the stop: %v", job, left)
	}
	final := getBuild(t, c, id)
	if final.BuildStatus != cbt.StatusTypeStopped || phaseList(final) != phaseList(sb) {
		t.Errorf("after the stop: %s, phases %s", final.BuildStatus, phaseList(final))
	}
	log := buildLog(ts, id)
	if strings.Contains(log, "post-build-ran") || !strings.Contains(log, "StopBuild called by "+testKey) {
		t.Errorf("log:\n%s", log)
	}
	again, err := c.StopBuild(guarded(t), &cb.StopBuildInput{Id: aws.String(id)})
	if err != nil || again.Build.BuildStatus != cbt.StatusTypeStopped {
		t.Errorf("stopping a stopped build: %v", err)
	}
}

func TestCodeBuildTimeoutQueueAndLimits(t *testing.T) {
	t.Parallel()
	ts := startServer(t, withBuilds(1, 200*time.Millisecond))
	c := newCodeBuild(ts)
	noSourceProject(t, c, "slow", "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 1000\n")
	first := aws.ToString(startBuild(t, c, &cb.StartBuildInput{ProjectName: aws.String("slow"), TimeoutInMinutesOverride: aws.Int32(5)}).Id)
	second := aws.ToString(startBuild(t, c, &cb.StartBuildInput{ProjectName: aws.String("slow"), QueuedTimeoutInMinutesOverride: aws.Int32(480)}).Id)
	if b := getBuild(t, c, second); aws.ToString(b.CurrentPhase) != "QUEUED" {
		t.Errorf("the second build with one slot is in %s", aws.ToString(b.CurrentPhase))
	}
	var queued []string
	for range 4 {
		queued = append(queued, aws.ToString(startBuild(t, c, &cb.StartBuildInput{ProjectName: aws.String("slow")}).Id))
	}
	if _, err := c.StartBuild(guarded(t), &cb.StartBuildInput{ProjectName: aws.String("slow")}); apiCode(err) != "AccountLimitExceededException" ||
		!strings.Contains(err.Error(), "Cannot have more than 5 builds in queue for the account") {
		t.Errorf("a sixth queued build: %v", err)
	}
	b := waitComplete(t, c, first)
	if b.BuildStatus != cbt.StatusTypeTimedOut || !strings.Contains(phaseList(b), "BUILD:TIMED_OUT") {
		t.Errorf("timed-out build: %s, phases %s", b.BuildStatus, phaseList(b))
	}
	waitBuild(t, c, second, "leaving the queue", func(b cbt.Build) bool { return aws.ToString(b.CurrentPhase) != "QUEUED" })
	for _, id := range append(queued, second) {
		c.StopBuild(guarded(t), &cb.StopBuildInput{Id: aws.String(id)})
	}

	noSourceProject(t, c, "limited", "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 1000\n",
		func(in *cb.CreateProjectInput) { in.ConcurrentBuildLimit = aws.Int32(1) })
	one := aws.ToString(startBuild(t, c, &cb.StartBuildInput{ProjectName: aws.String("limited")}).Id)
	if _, err := c.StartBuild(guarded(t), &cb.StartBuildInput{ProjectName: aws.String("limited")}); apiCode(err) != "AccountLimitExceededException" {
		t.Errorf("beyond the project's limit: %v", err)
	}
	c.StopBuild(guarded(t), &cb.StopBuildInput{Id: aws.String(one)})
}

// processesRunning lists the host's living processes whose command line is
// exactly args.
func processesRunning(args ...string) []int {
	want := strings.Join(args, "\x00") + "\x00"
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		st, _ := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err == nil && string(cmd) == want && !strings.Contains(string(st), ") Z ") {
			out = append(out, pid)
		}
	}
	return out
}

func TestCodeBuildCodeCommitSource(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	c := newCodeBuild(ts)
	spec := "version: 0.2\nphases:\n  build:\n    commands:\n      - echo \"file=$(cat file.txt) resolved=$CODEBUILD_RESOLVED_SOURCE_VERSION source=$CODEBUILD_SOURCE_VERSION\"\n"
	first := ts.gitRepo("app", map[string]string{"buildspec.yml": spec, "file.txt": "one"})
	second := ts.gitRepo("app", map[string]string{"file.txt": "two"})
	noSourceProject(t, c, "cc", "", func(in *cb.CreateProjectInput) {
		in.Source = &cbt.ProjectSource{Type: cbt.SourceTypeCodecommit, Location: aws.String("https://git-codecommit.us-east-1.amazonaws.com/v1/repos/app")}
	})
	for _, tc := range []struct{ version, commit, file string }{
		{"", second, "two"},
		{"main", second, "two"},
		{first, first, "one"},
	} {
		in := &cb.StartBuildInput{ProjectName: aws.String("cc")}
		if tc.version != "" {
			in.SourceVersion = aws.String(tc.version)
		}
		b := waitComplete(t, c, aws.ToString(startBuild(t, c, in).Id))
		if b.BuildStatus != cbt.StatusTypeSucceeded || aws.ToString(b.ResolvedSourceVersion) != tc.commit {
			t.Errorf("sourceVersion %q: %s, resolved %q, phases %s", tc.version, b.BuildStatus, aws.ToString(b.ResolvedSourceVersion), phaseList(b))
		}
		if want := "file=" + tc.file + " resolved=" + tc.commit + " source=" + tc.version; !strings.Contains(buildLog(ts, aws.ToString(b.Id)), want) {
			t.Errorf("sourceVersion %q: log lacks %q:\n%s", tc.version, want, buildLog(ts, aws.ToString(b.Id)))
		}
	}
	b := waitComplete(t, c, aws.ToString(startBuild(t, c, &cb.StartBuildInput{ProjectName: aws.String("cc"), SourceVersion: aws.String("no-such-branch")}).Id))
	if b.BuildStatus != cbt.StatusTypeFailed || !strings.Contains(phaseList(b), "DOWNLOAD_SOURCE:FAILED") {
		t.Errorf("a missing branch: %s, phases %s", b.BuildStatus, phaseList(b))
	}
}

func TestCodeBuildRetryDeleteAndIdempotency(t *testing.T) {
	t.Parallel()
	ts := startServer(t, withBuilds(1, time.Minute))
	c := newCodeBuild(ts)
	noSourceProject(t, c, "again", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo \"mode=$MODE\"\n")
	in := &cb.StartBuildInput{ProjectName: aws.String("again"), IdempotencyToken: aws.String("tok-1"),
		EnvironmentVariablesOverride: []cbt.EnvironmentVariable{{Name: aws.String("MODE"), Value: aws.String("first")}}}
	first := startBuild(t, c, in)
	if same := startBuild(t, c, in); aws.ToString(same.Id) != aws.ToString(first.Id) {
		t.Errorf("the same token made a second build %s", aws.ToString(same.Id))
	}
	in.EnvironmentVariablesOverride[0].Value = aws.String("other")
	if _, err := c.StartBuild(guarded(t), in); apiCode(err) != "InvalidInputException" {
		t.Errorf("the same token with other parameters: %v", err)
	}
	done := waitComplete(t, c, aws.ToString(first.Id))
	if _, err := c.BatchDeleteBuilds(guarded(t), &cb.BatchDeleteBuildsInput{Ids: []string{aws.ToString(first.Id)}}); err != nil {
		t.Fatal(err)
	}
	retry, err := c.RetryBuild(guarded(t), &cb.RetryBuildInput{Id: done.Id})
	if apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("RetryBuild of a deleted build: %v %+v", err, retry)
	}

	second := waitComplete(t, c, aws.ToString(startBuild(t, c, &cb.StartBuildInput{ProjectName: aws.String("again"),
		EnvironmentVariablesOverride: []cbt.EnvironmentVariable{{Name: aws.String("MODE"), Value: aws.String("second")}}}).Id))
	retry, err = c.RetryBuild(guarded(t), &cb.RetryBuildInput{Id: second.Id})
	if err != nil {
		t.Fatal(err)
	}
	again := waitComplete(t, c, aws.ToString(retry.Build.Id))
	if aws.ToString(again.Id) == aws.ToString(second.Id) || aws.ToInt64(again.BuildNumber) != aws.ToInt64(second.BuildNumber)+1 ||
		!strings.Contains(buildLog(ts, aws.ToString(again.Id)), "mode=second") {
		t.Errorf("the retry %s (#%d) of %s (#%d):\n%s", aws.ToString(again.Id), aws.ToInt64(again.BuildNumber),
			aws.ToString(second.Id), aws.ToInt64(second.BuildNumber), buildLog(ts, aws.ToString(again.Id)))
	}

	// One slot: a build that sleeps holds it, the next one waits QUEUED and
	// is stopped there, without ever running.
	noSourceProject(t, c, "hold", "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 1000\n")
	holder := aws.ToString(startBuild(t, c, &cb.StartBuildInput{ProjectName: aws.String("hold")}).Id)
	queued := aws.ToString(startBuild(t, c, &cb.StartBuildInput{ProjectName: aws.String("again")}).Id)
	out, err := c.StopBuild(guarded(t), &cb.StopBuildInput{Id: aws.String(queued)})
	if err != nil || out.Build.BuildStatus != cbt.StatusTypeStopped || !strings.HasSuffix(phaseList(*out.Build), "QUEUED:STOPPED COMPLETED:") {
		t.Errorf("stopping a queued build: %v %s", err, phaseList(*out.Build))
	}
	del, err := c.BatchDeleteBuilds(guarded(t), &cb.BatchDeleteBuildsInput{Ids: []string{holder, "again:nope"}})
	if err != nil || len(del.BuildsDeleted) != 0 || len(del.BuildsNotDeleted) != 2 {
		t.Errorf("deleting a running and a missing build: %v %+v", err, del)
	}
	c.StopBuild(guarded(t), &cb.StopBuildInput{Id: aws.String(holder)})
	ids, err := c.ListBuilds(guarded(t), &cb.ListBuildsInput{SortOrder: cbt.SortOrderTypeAscending})
	if err != nil || len(ids.Ids) != 4 || ids.Ids[0] != aws.ToString(second.Id) {
		t.Errorf("ListBuilds ascending after the delete: %v %v", err, ids.Ids)
	}
	if _, err := os.Stat(filepath.Join(ts.data, "logs", jobs.IDFor("codebuild", aws.ToString(first.Id))+".log")); !os.IsNotExist(err) {
		t.Errorf("the deleted build's log is still there: %v", err)
	}
}

func TestCodeBuildLocalCache(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	c := newCodeBuild(ts)
	noSourceProject(t, c, "cached", `version: 0.2
phases:
  build:
    commands:
      - if [ -f deps/marker ]; then echo "cache hit $(cat deps/marker)"; else echo "cache miss"; fi
      - if [ -f ~/.m2/seen ]; then echo "home hit"; fi
      - mkdir -p deps ~/.m2 && echo "$CODEBUILD_BUILD_NUMBER" > deps/marker && touch ~/.m2/seen
cache:
  paths:
    - deps/**/*
    - /root/.m2/**/*
`, func(in *cb.CreateProjectInput) {
		in.Cache = &cbt.ProjectCache{Type: cbt.CacheTypeLocal, Modes: []cbt.CacheMode{cbt.CacheModeLocalCustomCache}}
	})
	run := func() string {
		b := waitComplete(t, c, aws.ToString(startBuild(t, c, &cb.StartBuildInput{ProjectName: aws.String("cached")}).Id))
		if b.BuildStatus != cbt.StatusTypeSucceeded {
			t.Fatalf("build %s: %s", aws.ToString(b.Id), buildLog(ts, aws.ToString(b.Id)))
		}
		return buildLog(ts, aws.ToString(b.Id))
	}
	if log := run(); !strings.Contains(log, "Z cache miss\n") || !strings.Contains(log, "Saved 2 files to the local cache.") {
		t.Errorf("the first build:\n%s", log)
	}
	if log := run(); !strings.Contains(log, "Z cache hit 1\n") || !strings.Contains(log, "Z home hit\n") {
		t.Errorf("the second build:\n%s", log)
	}
	if _, err := c.InvalidateProjectCache(guarded(t), &cb.InvalidateProjectCacheInput{ProjectName: aws.String("cached")}); err != nil {
		t.Fatal(err)
	}
	if log := run(); !strings.Contains(log, "Z cache miss\n") || strings.Contains(log, "Z home hit\n") {
		t.Errorf("after InvalidateProjectCache:\n%s", log)
	}
	if _, err := c.InvalidateProjectCache(guarded(t), &cb.InvalidateProjectCacheInput{ProjectName: aws.String("nope")}); apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("InvalidateProjectCache of a missing project: %v", err)
	}
}

// TestCodeBuildLinksAreSignedPages: the build's URL and its logs deepLink
// answer its log as text to a SigV4-signed GET, and refuse an unsigned one.
func TestCodeBuildLinksAreSignedPages(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	c := newCodeBuild(ts)
	noSourceProject(t, c, "linked", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo linked-output\n")
	b := waitComplete(t, c, aws.ToString(startBuild(t, c, &cb.StartBuildInput{ProjectName: aws.String("linked")}).Id))
	get := func(link, service string, sign bool) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, link, nil)
		if err != nil {
			t.Fatal(err)
		}
		if sign {
			empty := sha256.Sum256(nil)
			if err := v4.NewSigner().SignHTTP(guarded(t), aws.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret},
				req, hex.EncodeToString(empty[:]), service, "us-east-1", time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	buildURL := ts.url + "/_pipewright/builds/" + aws.ToString(b.Id)
	for _, tc := range []struct{ link, service string }{{buildURL, "codebuild"}, {aws.ToString(b.Logs.DeepLink), "logs"}} {
		if !strings.HasPrefix(tc.link, ts.url+"/_pipewright/") {
			t.Fatalf("link %q is not the server's", tc.link)
		}
		if code, body := get(tc.link, tc.service, true); code != http.StatusOK || !strings.Contains(body, "Z linked-output\n") {
			t.Errorf("signed GET %s: %d\n%s", tc.link, code, body)
		}
		if code, body := get(tc.link, tc.service, false); code != http.StatusForbidden || strings.Contains(body, "linked-output") {
			t.Errorf("unsigned GET %s: %d %s", tc.link, code, body)
		}
	}
	if code, _ := get(ts.url+"/_pipewright/builds/linked:nope", "codebuild", true); code != http.StatusNotFound {
		t.Errorf("a missing build's page: %d", code)
	}
}

func TestCodeBuildQueuedTimeoutAndUnsupportedStores(t *testing.T) {
	t.Parallel()
	ts := startServer(t, withBuilds(1, 50*time.Millisecond))
	c := newCodeBuild(ts)
	noSourceProject(t, c, "busy", "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 1000\n")
	holder := aws.ToString(startBuild(t, c, &cb.StartBuildInput{ProjectName: aws.String("busy")}).Id)
	waited := aws.ToString(startBuild(t, c, &cb.StartBuildInput{ProjectName: aws.String("busy"), QueuedTimeoutInMinutesOverride: aws.Int32(5)}).Id)
	b := waitComplete(t, c, waited)
	if b.BuildStatus != cbt.StatusTypeTimedOut || phaseList(b) != "SUBMITTED:SUCCEEDED QUEUED:TIMED_OUT COMPLETED:" {
		t.Errorf("a build that waited past its queued timeout: %s, phases %s", b.BuildStatus, phaseList(b))
	}
	c.StopBuild(guarded(t), &cb.StopBuildInput{Id: aws.String(holder)})

	noSourceProject(t, c, "secrets", "version: 0.2\nenv:\n  secrets-manager:\n    TOKEN: prod/token\nphases:\n  build:\n    commands:\n      - echo never\n")
	b = waitComplete(t, c, aws.ToString(startBuild(t, c, &cb.StartBuildInput{ProjectName: aws.String("secrets")}).Id))
	if b.BuildStatus != cbt.StatusTypeFailed || !strings.Contains(phaseList(b), "DOWNLOAD_SOURCE:FAILED") {
		t.Errorf("a buildspec with secrets-manager: %s, phases %s", b.BuildStatus, phaseList(b))
	}
	_, err := c.StartBuild(guarded(t), &cb.StartBuildInput{ProjectName: aws.String("secrets"),
		EnvironmentVariablesOverride: []cbt.EnvironmentVariable{{Name: aws.String("P"), Value: aws.String("/x"), Type: cbt.EnvironmentVariableTypeParameterStore}}})
	if apiCode(err) != "InvalidInputException" || !strings.Contains(err.Error(), "PARAMETER_STORE") {
		t.Errorf("a PARAMETER_STORE variable: %v", err)
	}
}
