package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cp "github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
)

// Members and operations newer than ../shared/aws-models, known from the
// generator's overlay (codepipeline/shape/overlay.json).

func TestEnvironmentVariableTypeIsKept(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.gitRepo("app", map[string]string{"a": "a"})
	build := commandsAction("Build", 1, `test "$PLAIN" = p`, `test "$SECRET" = my-secret`, `test "$UNTYPED" = u`)
	build.EnvironmentVariables = []types.EnvironmentVariable{
		{Name: aws.String("PLAIN"), Value: aws.String("p"), Type: types.EnvironmentVariableTypePlaintext},
		{Name: aws.String("SECRET"), Value: aws.String("my-secret"), Type: types.EnvironmentVariableTypeSecretsManager},
		{Name: aws.String("UNTYPED"), Value: aws.String("u")},
	}
	created, err := ts.client.CreatePipeline(ctx, &cp.CreatePipelineInput{Pipeline: declaration("env", "app", "", stage("Build", build))})
	if err != nil {
		t.Fatal(err)
	}
	got, err := ts.client.GetPipeline(ctx, &cp.GetPipelineInput{Name: aws.String("env")})
	if err != nil {
		t.Fatal(err)
	}
	want := []types.EnvironmentVariableType{types.EnvironmentVariableTypePlaintext, types.EnvironmentVariableTypeSecretsManager, ""}
	for _, p := range []*types.PipelineDeclaration{created.Pipeline, got.Pipeline} {
		env := p.Stages[1].Actions[0].EnvironmentVariables
		if len(env) != 3 {
			t.Fatalf("environmentVariables %+v", env)
		}
		for i, e := range env {
			if e.Type != want[i] {
				t.Errorf("%s has type %q, want %q", aws.ToString(e.Name), e.Type, want[i])
			}
		}
	}
	// The value of a SECRETS_MANAGER variable is used as written.
	ts.waitStatus("env", ts.latestExecution("env"), types.PipelineExecutionStatusSucceeded, 30*time.Second)

	a := ts.wireCall(t, "CreatePipeline", strings.Replace(envDecl, "PLAINTEXT", "PLAIN", 1))
	msg := a.mustError(t, http.StatusBadRequest, "ValidationException")
	if want := "1 validation error detected: Value 'PLAIN' at 'pipeline.stages.2.member.actions.1.member.environmentVariables.1.member.type' " +
		"failed to satisfy constraint: Member must satisfy enum value set: [PLAINTEXT, SECRETS_MANAGER]"; msg != want {
		t.Errorf("message\n got %s\nwant %s", msg, want)
	}
}

const envDecl = `{"pipeline": {"name": "bad-env", "roleArn": "arn:aws:iam::000000000000:role/pipewright",
  "artifactStore": {"type": "S3", "location": "pipewright-artifacts"},
  "stages": [
    {"name": "Source", "actions": [{"name": "Source",
      "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeCommit", "version": "1"},
      "configuration": {"RepositoryName": "app", "BranchName": "main"}, "outputArtifacts": [{"name": "code"}]}]},
    {"name": "Build", "actions": [{"name": "Build", "commands": ["true"], "inputArtifacts": [{"name": "code"}],
      "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
      "environmentVariables": [{"name": "A", "value": "a", "type": "PLAINTEXT"}]}]}]}}`

func TestListDeployActionExecutionTargetsIsKnown(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	_, err := ts.client.ListDeployActionExecutionTargets(ctx, &cp.ListDeployActionExecutionTargetsInput{
		PipelineName: aws.String("p"), ActionExecutionId: aws.String("a")})
	e := codeErr(t, err, "UnknownOperationException")
	if want := "pipewright does not implement CodePipeline_20150709.ListDeployActionExecutionTargets yet"; e.ErrorMessage() != want {
		t.Errorf("message %q, want %q", e.ErrorMessage(), want)
	}
	// A target the model does not have at all is refused differently.
	a := ts.wireCall(t, "ListDeployActionExecutionTargetz", `{}`)
	if msg := a.mustError(t, http.StatusBadRequest, "UnknownOperationException"); strings.Contains(msg, "does not implement") {
		t.Errorf("an operation of no model: %q", msg)
	}
}
