package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cp "github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
)

// Answers that follow AWS's to the letter: map constraint wording, members
// AWS leaves out or always fills in.

func TestMapConstraintMessages(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	const cfg = "pipeline.stages.1.member.actions.1.member.configuration"
	keys := "Value at '" + cfg + "' failed to satisfy constraint: Map keys must satisfy constraint: " +
		"[Member must have length less than or equal to 50, Member must have length greater than or equal to 1]"
	values := "Value at '" + cfg + "' failed to satisfy constraint: Map value must satisfy constraint: " +
		"[Member must have length less than or equal to 1000, Member must have length greater than or equal to 1]"
	for _, tt := range []struct {
		name   string
		config map[string]string
		want   string
	}{
		{"empty value", map[string]string{"RepositoryName": "", "BranchName": "main"}, "1 validation error detected: " + values},
		{"long value", map[string]string{"RepositoryName": strings.Repeat("r", 1001), "BranchName": "main"}, "1 validation error detected: " + values},
		{"long key", map[string]string{strings.Repeat("k", 51): "v", "BranchName": "main"}, "1 validation error detected: " + keys},
		{"keys, then values, once each", map[string]string{"": "", strings.Repeat("k", 51): strings.Repeat("v", 1001), "BranchName": ""},
			"2 validation errors detected: " + keys + "; " + values},
	} {
		t.Run(tt.name, func(t *testing.T) {
			decl := declaration("maps", "app", "", stage("Approve", approvalAction("Ok")))
			decl.Stages[0].Actions[0].Configuration = tt.config
			_, err := ts.client.CreatePipeline(ctx, &cp.CreatePipelineInput{Pipeline: decl})
			if e := codeErr(t, err, "ValidationException"); e.ErrorMessage() != tt.want {
				t.Errorf("message\n got %s\nwant %s", e.ErrorMessage(), tt.want)
			}
		})
	}
}

func TestStopTriggerWithoutReason(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.gitRepo("app", map[string]string{"a": "a"})
	g := newGate(t)
	defer g.open(t)
	first := ts.createPipeline(declaration("why", "app", types.ExecutionModeParallel, stage("Build", commandsAction("Slow", 1, g.wait()))))
	second := ts.start("why")
	if _, err := ts.client.StopPipelineExecution(ctx, &cp.StopPipelineExecutionInput{PipelineName: aws.String("why"), PipelineExecutionId: &first, Abandon: true}); err != nil {
		t.Fatal(err)
	}
	if err := ts.stop("why", second, true, "a reason"); err != nil {
		t.Fatal(err)
	}
	ts.waitStatus("why", first, types.PipelineExecutionStatusStopped, 10*time.Second)
	ts.waitStatus("why", second, types.PipelineExecutionStatusStopped, 10*time.Second)
	list := ts.answer(t, "ListPipelineExecutions", `{"pipelineName": "why"}`)
	for i, s := range wantList(t, list, "pipelineExecutionSummaries") {
		id, _ := at(s, "pipelineExecutionId")
		switch id {
		case first:
			wantEmpty(t, s, "{}", "stopTrigger")
		case second:
			if r, _ := at(s, "stopTrigger", "reason"); r != "a reason" {
				t.Errorf("summary %d: stopTrigger %v, want reason 'a reason'", i, s)
			}
		}
	}
}

func TestRevisionChangeIdentifierAndRegion(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	commit := ts.gitRepo("app", map[string]string{"a": "a"})
	elsewhere := commandsAction("Elsewhere", 1, "true")
	elsewhere.Region = aws.String("eu-west-1")
	id := ts.createPipeline(declaration("revs", "app", "", stage("Build", commandsAction("Here", 1, "true"), elsewhere)))
	ts.waitStatus("revs", id, types.PipelineExecutionStatusSucceeded, 30*time.Second)

	ex, err := ts.client.GetPipelineExecution(ctx, &cp.GetPipelineExecutionInput{PipelineName: aws.String("revs"), PipelineExecutionId: &id})
	if err != nil {
		t.Fatal(err)
	}
	revs := ex.PipelineExecution.ArtifactRevisions
	if len(revs) != 1 || aws.ToString(revs[0].RevisionId) != commit || aws.ToString(revs[0].RevisionChangeIdentifier) != commit || aws.ToString(revs[0].Name) != "code" {
		t.Fatalf("artifactRevisions %+v, want the commit %s as revisionId and revisionChangeIdentifier", revs, commit)
	}

	acts, err := ts.client.ListActionExecutions(ctx, &cp.ListActionExecutionsInput{PipelineName: aws.String("revs")})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"Source": "us-east-1", "Here": "us-east-1", "Elsewhere": "eu-west-1"}
	for _, d := range acts.ActionExecutionDetails {
		name := aws.ToString(d.ActionName)
		if got := aws.ToString(d.Input.Region); got != want[name] {
			t.Errorf("%s: input.region %q, want %q", name, got, want[name])
		}
		delete(want, name)
	}
	if len(want) > 0 {
		t.Errorf("no action executions of %v", want)
	}
	if s := fmt.Sprint(acts.ActionExecutionDetails[0].Input.Configuration); s != "map[]" {
		t.Errorf("a Commands action without configuration has configuration %s, want {}", s)
	}
}
