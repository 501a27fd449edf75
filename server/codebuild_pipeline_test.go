package server_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cb "github.com/aws/aws-sdk-go-v2/service/codebuild"
	cbt "github.com/aws/aws-sdk-go-v2/service/codebuild/types"
	cp "github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/pipewright/pipewright/jobs"
)

// codeBuildAction is a Build/AWS/CodeBuild (or Test/...) action of a
// project on the "code" artifact.
func codeBuildAction(name string, category types.ActionCategory, project string, outputs ...string) types.ActionDeclaration {
	a := types.ActionDeclaration{
		Name:           aws.String(name),
		ActionTypeId:   &types.ActionTypeId{Category: category, Owner: types.ActionOwnerAws, Provider: aws.String("CodeBuild"), Version: aws.String("1")},
		Configuration:  map[string]string{"ProjectName": project},
		InputArtifacts: []types.InputArtifact{{Name: aws.String("code")}},
	}
	for _, o := range outputs {
		a.OutputArtifacts = append(a.OutputArtifacts, types.OutputArtifact{Name: aws.String(o)})
	}
	return a
}

// pipelineProject creates a CODEPIPELINE project whose buildspec is the
// source's buildspec.yml unless spec is given.
func pipelineProject(t *testing.T, c *cb.Client, name, spec string) {
	t.Helper()
	noSourceProject(t, c, name, "", func(in *cb.CreateProjectInput) {
		in.Source = &cbt.ProjectSource{Type: cbt.SourceTypeCodepipeline}
		if spec != "" {
			in.Source.Buildspec = aws.String(spec)
		}
		in.Artifacts = &cbt.ProjectArtifacts{Type: cbt.ArtifactsTypeCodepipeline}
	})
}

func TestCodeBuildActionInAPipeline(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	c := newCodeBuild(ts)
	ts.gitRepo("app", map[string]string{
		"buildspec.yml": `version: 0.2
env:
  exported-variables: [VERSION]
phases:
  build:
    commands:
      - mkdir -p out/bin && echo "built from $(cat src.txt) with $MODE" > out/bin/app.txt && echo skip > out/skip.log
      - export VERSION=1.2.3
artifacts:
  base-directory: out
  files: ['**/*']
  exclude-paths: ['*.log']
  discard-paths: yes
`,
		"src.txt": "the source",
	})
	pipelineProject(t, c, "app-build", "")
	pipelineProject(t, c, "app-test", "version: 0.2\nphases:\n  build:\n    commands:\n      - test -f app.txt\n      - echo \"#test of $CODEBUILD_INITIATOR\"\n      - \"false\"\n")
	build := codeBuildAction("Build", types.ActionCategoryBuild, "app-build", "bin")
	build.Namespace = aws.String("BuildVariables")
	build.Configuration["EnvironmentVariables"] = `[{"name":"MODE","value":"release","type":"PLAINTEXT"}]`
	check := commandsAction("Check", 1, "echo checking the build", "test \"$(cat app.txt)\" = \"built from the source with release\"", "test ! -e skip.log", `test "#{BuildVariables.VERSION}" = 1.2.3`)
	check.InputArtifacts = []types.InputArtifact{{Name: aws.String("bin")}}
	testAct := codeBuildAction("Test", types.ActionCategoryTest, "app-test")
	testAct.InputArtifacts = []types.InputArtifact{{Name: aws.String("bin")}}
	testAct.RunOrder = aws.Int32(2)
	id := ts.createPipeline(declaration("cbp", "app", "", stage("Build", build), stage("Check", check, testAct)))
	ts.waitStatus("cbp", id, types.PipelineExecutionStatusFailed, 3*guard)

	runs := map[string]types.ActionExecutionDetail{}
	for _, r := range ts.actionRuns("cbp", id) {
		runs[aws.ToString(r.ActionName)] = r
	}
	br := runs["Build"]
	buildID := aws.ToString(br.Output.ExecutionResult.ExternalExecutionId)
	if br.Status != types.ActionExecutionStatusSucceeded || !strings.HasPrefix(buildID, "app-build:") ||
		!strings.Contains(aws.ToString(br.Output.ExecutionResult.ExternalExecutionUrl), buildID) || br.Output.OutputVariables["VERSION"] != "1.2.3" {
		t.Fatalf("the Build action: %s, result %+v, variables %v", br.Status, br.Output.ExecutionResult, br.Output.OutputVariables)
	}
	if runs["Check"].Status != types.ActionExecutionStatusSucceeded {
		t.Errorf("Check (reads the build's artifact): %s %+v", runs["Check"].Status, runs["Check"].Output)
	}
	b := getBuild(t, c, buildID)
	if got := aws.ToString(br.Output.ExecutionResult.LogStreamARN); got != aws.ToString(b.Logs.CloudWatchLogsArn) || got == "" {
		t.Errorf("the Build action's logStreamARN %q, its build's %q", got, aws.ToString(b.Logs.CloudWatchLogsArn))
	}
	for name, want := range map[string]string{"Build": "mkdir -p out/bin", "Check": "checking the build"} {
		arn := aws.ToString(runs[name].Output.ExecutionResult.LogStreamARN)
		if text := logStreamText(t, ts, arn); !strings.Contains(text, want) {
			t.Errorf("%s's log stream %s lacks %q:\n%s", name, arn, want, text)
		}
	}
	tr := runs["Test"]
	if tr.Status != types.ActionExecutionStatusFailed || tr.Output.ExecutionResult.ErrorDetails == nil ||
		aws.ToString(tr.Output.ExecutionResult.ErrorDetails.Message) != "Build terminated with state: FAILED" {
		t.Errorf("the failing Test action: %s %+v", tr.Status, tr.Output.ExecutionResult)
	}
	if aws.ToString(b.Initiator) != "codepipeline/cbp" || b.BuildStatus != cbt.StatusTypeSucceeded || b.Artifacts == nil ||
		!strings.HasPrefix(aws.ToString(b.Artifacts.Location), "arn:aws:s3:::pipewright-artifacts/") || len(aws.ToString(b.Artifacts.Sha256sum)) != 64 ||
		len(aws.ToString(b.Artifacts.Md5sum)) != 32 {
		t.Errorf("the pipeline's build: initiator %q, %s, artifacts %+v", aws.ToString(b.Initiator), b.BuildStatus, b.Artifacts)
	}
	if !strings.Contains(buildLog(ts, aws.ToString(tr.Output.ExecutionResult.ExternalExecutionId)), "#test of codepipeline/cbp") {
		t.Errorf("the test build's log:\n%s", buildLog(ts, aws.ToString(tr.Output.ExecutionResult.ExternalExecutionId)))
	}
}

// TestAbandonedCodeBuildAction: abandoning an execution leaves its build
// running, as on AWS, unless the pipeline is tagged
// pipewright:abandon-cancels-jobs, and then the build ends STOPPED.
func TestAbandonedCodeBuildAction(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	c := newCodeBuild(ts)
	ts.gitRepo("app", map[string]string{"a": "a"})
	pipelineProject(t, c, "slow", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo started\n      - while [ ! -f \"$CODEBUILD_SRC_DIR/release\" ]; do sleep 0.05; done\n")
	for _, cancels := range []bool{false, true} {
		name := "keep"
		var tags []types.Tag
		if cancels {
			name = "cancel"
			tags = []types.Tag{{Key: aws.String("pipewright:abandon-cancels-jobs"), Value: aws.String("true")}}
		}
		id := ts.createPipeline(declaration(name, "app", "", stage("Build", codeBuildAction("Build", types.ActionCategoryBuild, "slow"))), tags...)
		var buildID string
		eventually(t, 3*guard, "the build to run", func() bool {
			a := ts.actionState(name, "Build", "Build")
			if a == nil || a.ExternalExecutionId == nil {
				return false
			}
			buildID = aws.ToString(a.ExternalExecutionId)
			return strings.Contains(buildLog(ts, buildID), "started")
		})
		if _, err := ts.client.StopPipelineExecution(ctx, &cp.StopPipelineExecutionInput{PipelineName: aws.String(name), PipelineExecutionId: &id, Abandon: true, Reason: aws.String("enough")}); err != nil {
			t.Fatal(err)
		}
		ts.waitStatus(name, id, types.PipelineExecutionStatusStopped, 3*guard)
		if cancels {
			b := waitComplete(t, c, buildID)
			if b.BuildStatus != cbt.StatusTypeStopped {
				t.Errorf("abandon-cancels-jobs: the build ended %s", b.BuildStatus)
			}
			continue
		}
		// The build runs on: once released it ends by itself.
		release := filepath.Join(ts.jobWorkspace(jobs.IDFor("codebuild", buildID)), "src", "release")
		if err := os.WriteFile(release, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if b := waitComplete(t, c, buildID); b.BuildStatus != cbt.StatusTypeSucceeded {
			t.Errorf("an abandon without the tag: the build ended %s", b.BuildStatus)
		}
	}
}

// logStreamText is the text of the events of the log stream an ARN names
// (arn:aws:logs:REGION:ACCOUNT:log-group:GROUP:log-stream:STREAM), read
// through the CloudWatch Logs API.
func logStreamText(t *testing.T, ts *testServer, arn string) string {
	t.Helper()
	rest, ok := strings.CutPrefix(arn, "arn:aws:logs:us-east-1:000000000000:log-group:")
	group, stream, found := strings.Cut(rest, ":log-stream:")
	if !ok || !found {
		t.Fatalf("not a log stream ARN: %q", arn)
	}
	out, err := ts.logsClient().GetLogEvents(guarded(t), &cwl.GetLogEventsInput{LogGroupName: &group, LogStreamName: &stream, StartFromHead: aws.Bool(true)})
	if err != nil {
		t.Fatalf("GetLogEvents %s: %v", arn, err)
	}
	var lines []string
	for _, e := range out.Events {
		lines = append(lines, aws.ToString(e.Message))
	}
	return strings.Join(lines, "\n")
}

// TestCodeBuildActionSecondarySources: with PrimarySource naming the second
// input, the build starts in that artifact and finds the other at
// CODEBUILD_SRC_DIR_<name>.
func TestCodeBuildActionSecondarySources(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	c := newCodeBuild(ts)
	ts.gitRepo("app", map[string]string{"repo.txt": "from the repo"})
	pipelineProject(t, c, "two", `version: 0.2
phases:
  build:
    commands:
      - test "$(cat out/extra.txt)" = "made by an action"
      - test "$(cat "$CODEBUILD_SRC_DIR_code/repo.txt")" = "from the repo"
`)
	make := commandsAction("Make", 1, "mkdir -p out && echo 'made by an action' > out/extra.txt")
	make.OutputArtifacts = []types.OutputArtifact{{Name: aws.String("extra"), Files: []string{"out/**/*"}}}
	build := codeBuildAction("Build", types.ActionCategoryBuild, "two")
	build.InputArtifacts = append(build.InputArtifacts, types.InputArtifact{Name: aws.String("extra")})
	build.Configuration["PrimarySource"] = "extra"
	build.RunOrder = aws.Int32(2)
	id := ts.createPipeline(declaration("two", "app", "", stage("Build", make, build)))
	ts.waitStatus("two", id, types.PipelineExecutionStatusSucceeded, 3*guard)
}
