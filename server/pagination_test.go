package server_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cp "github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
)

func TestListTagsForResourcePages(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.gitRepo("app", map[string]string{"a": "a"})
	tags := manyTags(5)
	ts.createPipeline(declaration("tagged", "app", "", stage("Approve", approvalAction("Ok"))), tags...)
	arn := aws.String("arn:aws:codepipeline:us-east-1:000000000000:tagged")

	var keys []string
	var tok *string
	pages := 0
	for {
		out, err := ts.client.ListTagsForResource(ctx, &cp.ListTagsForResourceInput{ResourceArn: arn, MaxResults: aws.Int32(2), NextToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Tags) > 2 {
			t.Fatalf("page of %d tags with maxResults 2", len(out.Tags))
		}
		for _, tag := range out.Tags {
			keys = append(keys, aws.ToString(tag.Key))
		}
		pages++
		if tok = out.NextToken; tok == nil {
			break
		}
	}
	var want []string
	for _, tag := range tags {
		want = append(want, aws.ToString(tag.Key))
	}
	if pages != 3 || !slices.Equal(keys, want) {
		t.Fatalf("%d pages of keys %v, want 3 pages of %v", pages, keys, want)
	}

	all, err := ts.client.ListTagsForResource(ctx, &cp.ListTagsForResourceInput{ResourceArn: arn})
	if err != nil || len(all.Tags) != 5 || all.NextToken != nil {
		t.Fatalf("without maxResults every tag comes at once: %v %+v", err, all)
	}
	exact, err := ts.client.ListTagsForResource(ctx, &cp.ListTagsForResourceInput{ResourceArn: arn, MaxResults: aws.Int32(5)})
	if err != nil || len(exact.Tags) != 5 || exact.NextToken != nil {
		t.Fatalf("a page that holds every tag has no nextToken: %v %+v", err, exact)
	}

	for _, bad := range []string{"bogus", "dGFnczow", "dGFnczp4"} { // "tags:0", "tags:x"
		_, err := ts.client.ListTagsForResource(ctx, &cp.ListTagsForResourceInput{ResourceArn: arn, NextToken: aws.String(bad)})
		apiErr[*types.InvalidNextTokenException](t, err)
	}
	// Another list's token is not one of ListTagsForResource.
	ts.createPipeline(declaration("other", "app", "", stage("Approve", approvalAction("Ok"))))
	pipelines, err := ts.client.ListPipelines(ctx, &cp.ListPipelinesInput{MaxResults: aws.Int32(1)})
	if err != nil || pipelines.NextToken == nil {
		t.Fatalf("ListPipelines page: %v %+v", err, pipelines)
	}
	_, err = ts.client.ListTagsForResource(ctx, &cp.ListTagsForResourceInput{ResourceArn: arn, NextToken: pipelines.NextToken})
	apiErr[*types.InvalidNextTokenException](t, err)

	for _, n := range []int32{0, 101} {
		_, err := ts.client.ListTagsForResource(ctx, &cp.ListTagsForResourceInput{ResourceArn: arn, MaxResults: aws.Int32(n)})
		e := codeErr(t, err, "ValidationException")
		bound := "greater than or equal to 1"
		if n > 0 {
			bound = "less than or equal to 100"
		}
		if want := fmt.Sprintf("1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value %s", n, bound); e.ErrorMessage() != want {
			t.Errorf("maxResults %d: %q, want %q", n, e.ErrorMessage(), want)
		}
	}
}

// retriedExecution creates a pipeline whose Build stage has a Flaky action
// that fails its first `failures` runs and a Steady one that succeeds,
// retries the stage (FAILED_ACTIONS) until it succeeds, and returns the
// execution id.
func (ts *testServer) retriedExecution(name string, failures int) string {
	ts.t.Helper()
	ts.gitRepo("app", map[string]string{"a": "a"})
	counter := filepath.Join(jobDir(ts.t), "runs")
	flaky := commandsAction("Flaky", 1, fmt.Sprintf(`n=$(cat '%s' 2>/dev/null || echo 0); echo $((n+1)) > '%s'; [ "$n" -ge %d ]`, counter, counter, failures))
	id := ts.createPipeline(declaration(name, "app", "", stage("Build", flaky, commandsAction("Steady", 1, "true"))))
	for i := 0; i < failures; i++ {
		ts.waitStatus(name, id, types.PipelineExecutionStatusFailed, 30*time.Second)
		if _, err := ts.client.RetryStageExecution(ctx, &cp.RetryStageExecutionInput{PipelineName: &name, StageName: aws.String("Build"),
			PipelineExecutionId: &id, RetryMode: types.StageRetryModeFailedActions}); err != nil {
			ts.t.Fatal(err)
		}
	}
	ts.waitStatus(name, id, types.PipelineExecutionStatusSucceeded, 30*time.Second)
	return id
}

func TestLatestActionExecutionsAcrossPages(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	id := ts.retriedExecution("latest", 2)
	filter := &types.ActionExecutionFilter{LatestInPipelineExecution: &types.LatestInPipelineExecutionFilter{
		PipelineExecutionId: &id, StartTimeRange: types.StartTimeRangeLatest}}
	all, err := ts.client.ListActionExecutions(ctx, &cp.ListActionExecutionsInput{PipelineName: aws.String("latest"), Filter: &types.ActionExecutionFilter{PipelineExecutionId: &id}})
	if err != nil || len(all.ActionExecutionDetails) != 5 {
		t.Fatalf("every run: %v, %d runs, want Source, Steady and three of Flaky", err, len(all.ActionExecutionDetails))
	}
	for _, size := range []int32{1, 2, 100} {
		var names []string
		var tok *string
		for {
			out, err := ts.client.ListActionExecutions(ctx, &cp.ListActionExecutionsInput{PipelineName: aws.String("latest"), Filter: filter, MaxResults: &size, NextToken: tok})
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range out.ActionExecutionDetails {
				names = append(names, aws.ToString(d.ActionName))
				if aws.ToString(d.ActionName) == "Flaky" && d.Status != types.ActionExecutionStatusSucceeded {
					t.Errorf("page size %d lists a replaced run of Flaky (%s)", size, d.Status)
				}
			}
			if tok = out.NextToken; tok == nil {
				break
			}
		}
		slices.Sort(names)
		if !slices.Equal(names, []string{"Flaky", "Source", "Steady"}) {
			t.Errorf("page size %d: latest runs %v, want each action once", size, names)
		}
	}
}

func TestRetryStageMetadata(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.retriedExecution("retried", 2)
	for _, s := range ts.state("retried").StageStates {
		m := s.RetryStageMetadata
		switch aws.ToString(s.StageName) {
		case "Build":
			if m == nil || aws.ToInt32(m.ManualStageRetryAttempt) != 2 || m.LatestRetryTrigger != types.RetryTriggerManualStageRetry || m.AutoStageRetryAttempt != nil {
				t.Errorf("Build retryStageMetadata %+v, want 2 manual retries", m)
			}
		default:
			if m != nil {
				t.Errorf("%s was never retried: retryStageMetadata %+v", aws.ToString(s.StageName), m)
			}
		}
	}
	// A new execution's run of the stage was not retried.
	id := ts.start("retried")
	ts.waitStatus("retried", id, types.PipelineExecutionStatusSucceeded, 30*time.Second)
	if m := ts.state("retried").StageStates[1].RetryStageMetadata; m != nil {
		t.Errorf("the new run of Build shows retryStageMetadata %+v", m)
	}
}
