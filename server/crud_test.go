package server_test

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cp "github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/smithy-go"
)

// crudDecl is a small valid V2 pipeline: CodeCommit source, one Commands
// action. Its repository does not exist, so its executions fail quickly.
func crudDecl(name string) *types.PipelineDeclaration {
	return declaration(name, "crud-repo", "", stage("Build", commandsAction("Build", 1, "true")))
}

// modelledErr asserts that err is the modelled AWS error code, deserialized
// by the SDK into its own type (not a GenericAPIError), and returns it.
func modelledErr(t *testing.T, err error, code string) smithy.APIError {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want %s, got %v", code, err)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("want %s, got %s: %s", code, ae.ErrorCode(), ae.ErrorMessage())
	}
	var generic *smithy.GenericAPIError
	if errors.As(err, &generic) {
		t.Errorf("%s came back as a GenericAPIError, not the SDK's modelled type", code)
	}
	return ae
}

// codeErr asserts that err is an AWS error with the given code, modelled
// for the operation or not.
func codeErr(t *testing.T, err error, code string) smithy.APIError {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("want %s, got %v", code, err)
	}
	return ae
}

func TestCreatePipelineStartsExecution(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	out, err := ts.client.CreatePipeline(ctx, &cp.CreatePipelineInput{Pipeline: crudDecl("created")})
	if err != nil {
		t.Fatal(err)
	}
	p := out.Pipeline
	if aws.ToString(p.Name) != "created" || aws.ToInt32(p.Version) != 1 {
		t.Errorf("CreatePipeline returned name %q version %d, want created 1", aws.ToString(p.Name), aws.ToInt32(p.Version))
	}
	if p.PipelineType != types.PipelineTypeV2 || p.ExecutionMode != types.ExecutionModeSuperseded {
		t.Errorf("pipelineType %q executionMode %q, want V2 SUPERSEDED", p.PipelineType, p.ExecutionMode)
	}
	if len(p.Stages) != 2 || aws.ToString(p.Stages[1].Name) != "Build" || aws.ToString(p.Stages[1].Actions[0].Name) != "Build" {
		t.Errorf("stages not echoed: %+v", p.Stages)
	}
	if out.Tags != nil {
		t.Errorf("tags = %v, want none", out.Tags)
	}

	execs, err := ts.client.ListPipelineExecutions(ctx, &cp.ListPipelineExecutionsInput{PipelineName: aws.String("created")})
	if err != nil {
		t.Fatal(err)
	}
	if len(execs.PipelineExecutionSummaries) != 1 {
		t.Fatalf("want 1 execution after CreatePipeline, got %d", len(execs.PipelineExecutionSummaries))
	}
	e := execs.PipelineExecutionSummaries[0]
	if e.Trigger == nil || e.Trigger.TriggerType != types.TriggerTypeCreatePipeline {
		t.Errorf("trigger = %+v, want CreatePipeline", e.Trigger)
	}
	if !uuidRE.MatchString(aws.ToString(e.PipelineExecutionId)) {
		t.Errorf("execution id %q is not a UUID", aws.ToString(e.PipelineExecutionId))
	}
	got, err := ts.client.GetPipelineExecution(ctx, &cp.GetPipelineExecutionInput{PipelineName: aws.String("created"), PipelineExecutionId: e.PipelineExecutionId})
	if err != nil {
		t.Fatal(err)
	}
	if v := aws.ToInt32(got.PipelineExecution.PipelineVersion); v != 1 {
		t.Errorf("execution runs version %d, want 1", v)
	}
}

func TestGetAndUpdatePipelineVersions(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	before := time.Now().Add(-time.Second)
	if _, err := ts.client.CreatePipeline(ctx, &cp.CreatePipelineInput{Pipeline: crudDecl("versioned")}); err != nil {
		t.Fatal(err)
	}
	get := func(version *int32) *cp.GetPipelineOutput {
		t.Helper()
		out, err := ts.client.GetPipeline(ctx, &cp.GetPipelineInput{Name: aws.String("versioned"), Version: version})
		if err != nil {
			t.Fatalf("GetPipeline version %v: %v", version, err)
		}
		return out
	}
	v1 := get(nil)
	if aws.ToInt32(v1.Pipeline.Version) != 1 {
		t.Errorf("version = %d, want 1", aws.ToInt32(v1.Pipeline.Version))
	}
	m := v1.Metadata
	if m == nil {
		t.Fatal("no metadata")
	}
	if arn := aws.ToString(m.PipelineArn); arn != "arn:aws:codepipeline:us-east-1:000000000000:versioned" {
		t.Errorf("pipelineArn = %q", arn)
	}
	created, updated := aws.ToTime(m.Created), aws.ToTime(m.Updated)
	if created.Before(before) || created.After(time.Now().Add(time.Second)) || !updated.Equal(created) {
		t.Errorf("created %v updated %v, want both the creation time", created, updated)
	}

	time.Sleep(20 * time.Millisecond) // so that updated moves
	next := crudDecl("versioned")
	next.Stages = append(next.Stages, stage("Approve", approvalAction("Approve")))
	next.Version = aws.Int32(1)
	up, err := ts.client.UpdatePipeline(ctx, &cp.UpdatePipelineInput{Pipeline: next})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(up.Pipeline.Version) != 2 || len(up.Pipeline.Stages) != 3 {
		t.Errorf("UpdatePipeline returned version %d with %d stages, want 2 and 3", aws.ToInt32(up.Pipeline.Version), len(up.Pipeline.Stages))
	}

	cur := get(nil)
	if aws.ToInt32(cur.Pipeline.Version) != 2 || len(cur.Pipeline.Stages) != 3 {
		t.Errorf("current pipeline is version %d with %d stages, want 2 and 3", aws.ToInt32(cur.Pipeline.Version), len(cur.Pipeline.Stages))
	}
	if c := aws.ToTime(cur.Metadata.Created); !c.Equal(created) {
		t.Errorf("created changed from %v to %v", created, c)
	}
	if u := aws.ToTime(cur.Metadata.Updated); !u.After(updated) {
		t.Errorf("updated %v is not after %v", u, updated)
	}

	old := get(aws.Int32(1))
	if aws.ToInt32(old.Pipeline.Version) != 1 || len(old.Pipeline.Stages) != 2 {
		t.Errorf("version 1 reads as version %d with %d stages, want 1 and 2", aws.ToInt32(old.Pipeline.Version), len(old.Pipeline.Stages))
	}
	if aws.ToString(old.Metadata.PipelineArn) != aws.ToString(m.PipelineArn) {
		t.Errorf("old version's ARN %q", aws.ToString(old.Metadata.PipelineArn))
	}
	if v2 := get(aws.Int32(2)); aws.ToInt32(v2.Pipeline.Version) != 2 || len(v2.Pipeline.Stages) != 3 {
		t.Errorf("version 2 reads as version %d", aws.ToInt32(v2.Pipeline.Version))
	}

	_, err = ts.client.GetPipeline(ctx, &cp.GetPipelineInput{Name: aws.String("versioned"), Version: aws.Int32(3)})
	modelledErr(t, err, "PipelineVersionNotFoundException")
	_, err = ts.client.GetPipeline(ctx, &cp.GetPipelineInput{Name: aws.String("nope"), Version: aws.Int32(1)})
	modelledErr(t, err, "PipelineNotFoundException")

	// An invalid update changes nothing.
	bad := crudDecl("versioned")
	bad.Stages = bad.Stages[:1]
	_, err = ts.client.UpdatePipeline(ctx, &cp.UpdatePipelineInput{Pipeline: bad})
	modelledErr(t, err, "InvalidStructureException")
	if v := aws.ToInt32(get(nil).Pipeline.Version); v != 2 {
		t.Errorf("a rejected update moved the version to %d", v)
	}

	// Updating a pipeline that does not exist fails (PipelineNotFound is
	// not modelled for UpdatePipeline, so any AWS error will do for the SDK).
	_, err = ts.client.UpdatePipeline(ctx, &cp.UpdatePipelineInput{Pipeline: crudDecl("ghost")})
	ae := codeErr(t, err, "PipelineNotFoundException")
	if !strings.Contains(ae.ErrorMessage(), "ghost") {
		t.Errorf("message %q does not name the pipeline", ae.ErrorMessage())
	}
	_, err = ts.client.GetPipeline(ctx, &cp.GetPipelineInput{Name: aws.String("ghost")})
	modelledErr(t, err, "PipelineNotFoundException")
}

func TestDeletePipeline(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	for _, n := range []string{"keep", "drop"} {
		if _, err := ts.client.CreatePipeline(ctx, &cp.CreatePipelineInput{Pipeline: crudDecl(n)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ts.client.DeletePipeline(ctx, &cp.DeletePipelineInput{Name: aws.String("drop")}); err != nil {
		t.Fatal(err)
	}
	_, err := ts.client.GetPipeline(ctx, &cp.GetPipelineInput{Name: aws.String("drop")})
	ae := modelledErr(t, err, "PipelineNotFoundException")
	if !strings.Contains(ae.ErrorMessage(), "drop") {
		t.Errorf("message %q does not name the pipeline", ae.ErrorMessage())
	}
	_, err = ts.client.ListPipelineExecutions(ctx, &cp.ListPipelineExecutionsInput{PipelineName: aws.String("drop")})
	modelledErr(t, err, "PipelineNotFoundException")

	// Deleting what does not exist succeeds, as on AWS.
	for _, n := range []string{"drop", "never-existed"} {
		if _, err := ts.client.DeletePipeline(ctx, &cp.DeletePipelineInput{Name: aws.String(n)}); err != nil {
			t.Errorf("DeletePipeline %s: %v", n, err)
		}
	}
	if names := listAllPipelines(t, ts.client, nil); !slices.Equal(names, []string{"keep"}) {
		t.Errorf("pipelines after delete = %v, want [keep]", names)
	}
	// The name is free again, and the new pipeline starts at version 1
	// without the old one's versions.
	if _, err := ts.client.UpdatePipeline(ctx, &cp.UpdatePipelineInput{Pipeline: crudDecl("keep")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.client.DeletePipeline(ctx, &cp.DeletePipelineInput{Name: aws.String("keep")}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"drop", "keep"} {
		out, err := ts.client.CreatePipeline(ctx, &cp.CreatePipelineInput{Pipeline: crudDecl(n)})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToInt32(out.Pipeline.Version) != 1 {
			t.Errorf("re-created pipeline %s has version %d", n, aws.ToInt32(out.Pipeline.Version))
		}
	}
	_, err = ts.client.GetPipeline(ctx, &cp.GetPipelineInput{Name: aws.String("keep"), Version: aws.Int32(2)})
	modelledErr(t, err, "PipelineVersionNotFoundException")
	up, err := ts.client.UpdatePipeline(ctx, &cp.UpdatePipelineInput{Pipeline: declaration("keep", "crud-repo", "", stage("Approve", approvalAction("Approve")))})
	if err != nil {
		t.Fatal(err)
	}
	v2, err := ts.client.GetPipeline(ctx, &cp.GetPipelineInput{Name: aws.String("keep"), Version: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(up.Pipeline.Version) != 2 || aws.ToString(v2.Pipeline.Stages[1].Name) != "Approve" {
		t.Errorf("version 2 of the re-created pipeline has stage %q", aws.ToString(v2.Pipeline.Stages[1].Name))
	}
}

func TestConcurrentCreateAndUpdate(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	const n = 8
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := ts.client.CreatePipeline(ctx, &cp.CreatePipelineInput{Pipeline: crudDecl("race")})
			errs <- err
		}()
	}
	wins := 0
	for range n {
		err := <-errs
		if err == nil {
			wins++
			continue
		}
		modelledErr(t, err, "PipelineNameInUseException")
	}
	if wins != 1 {
		t.Errorf("%d concurrent creates of one name succeeded, want 1", wins)
	}
	execs, err := ts.client.ListPipelineExecutions(ctx, &cp.ListPipelineExecutionsInput{PipelineName: aws.String("race")})
	if err != nil {
		t.Fatal(err)
	}
	if len(execs.PipelineExecutionSummaries) != 1 {
		t.Errorf("%d executions, want 1", len(execs.PipelineExecutionSummaries))
	}

	versions := make(chan int32, n)
	for range n {
		go func() {
			out, err := ts.client.UpdatePipeline(ctx, &cp.UpdatePipelineInput{Pipeline: crudDecl("race")})
			if err != nil {
				errs <- err
				versions <- 0
				return
			}
			errs <- nil
			versions <- aws.ToInt32(out.Pipeline.Version)
		}()
	}
	seen := map[int32]bool{}
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("concurrent UpdatePipeline: %v", err)
		}
		v := <-versions
		if v != 0 && seen[v] {
			t.Errorf("two updates both made version %d", v)
		}
		seen[v] = true
	}
	out, err := ts.client.GetPipeline(ctx, &cp.GetPipelineInput{Name: aws.String("race")})
	if err != nil {
		t.Fatal(err)
	}
	if v := aws.ToInt32(out.Pipeline.Version); v != n+1 {
		t.Errorf("after %d updates the version is %d, want %d", n, v, n+1)
	}
}

// listAllPipelines follows nextToken to the end and returns the names.
func listAllPipelines(t *testing.T, c *cp.Client, maxResults *int32) []string {
	t.Helper()
	var names []string
	pages := cp.NewListPipelinesPaginator(c, &cp.ListPipelinesInput{MaxResults: maxResults})
	for n := 0; pages.HasMorePages(); n++ {
		if n > 100 {
			t.Fatal("ListPipelines does not stop paging")
		}
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range page.Pipelines {
			names = append(names, aws.ToString(p.Name))
		}
	}
	return names
}

func TestListPipelinesPagination(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	created := []string{"p-c", "p-a", "P-z", "p-e", "p-b", "p-d"}
	for _, n := range created {
		d := crudDecl(n)
		if n == "p-b" {
			d.ExecutionMode = types.ExecutionModeQueued
		}
		if _, err := ts.client.CreatePipeline(ctx, &cp.CreatePipelineInput{Pipeline: d}); err != nil {
			t.Fatal(err)
		}
	}
	want := slices.Clone(created)
	slices.Sort(want)

	all, err := ts.client.ListPipelines(ctx, &cp.ListPipelinesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if all.NextToken != nil {
		t.Errorf("one page holds everything, yet nextToken = %q", aws.ToString(all.NextToken))
	}
	var names []string
	for _, p := range all.Pipelines {
		names = append(names, aws.ToString(p.Name))
		if aws.ToInt32(p.Version) != 1 || p.Created == nil || p.Updated == nil || p.PipelineType != types.PipelineTypeV2 {
			t.Errorf("summary %+v lacks version/created/updated/pipelineType", p)
		}
		wantMode := types.ExecutionModeSuperseded
		if aws.ToString(p.Name) == "p-b" {
			wantMode = types.ExecutionModeQueued
		}
		if p.ExecutionMode != wantMode {
			t.Errorf("%s executionMode = %q, want %q", aws.ToString(p.Name), p.ExecutionMode, wantMode)
		}
	}
	if !slices.Equal(names, want) {
		t.Errorf("ListPipelines = %v, want %v", names, want)
	}

	// Pages of 2: 2, 2, 2 and no token on the last one.
	var token *string
	var paged []string
	for page := 0; ; page++ {
		out, err := ts.client.ListPipelines(ctx, &cp.ListPipelinesInput{MaxResults: aws.Int32(2), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Pipelines) != 2 {
			t.Fatalf("page %d has %d pipelines, want 2", page, len(out.Pipelines))
		}
		for _, p := range out.Pipelines {
			paged = append(paged, aws.ToString(p.Name))
		}
		token = out.NextToken
		if page == 2 {
			if token != nil {
				t.Errorf("last page has nextToken %q", aws.ToString(token))
			}
			break
		}
		if token == nil {
			t.Fatalf("page %d has no nextToken", page)
		}
	}
	if !slices.Equal(paged, want) {
		t.Errorf("pages = %v, want %v", paged, want)
	}
	if got := listAllPipelines(t, ts.client, aws.Int32(4)); !slices.Equal(got, want) {
		t.Errorf("paginator with maxResults 4 = %v, want %v", got, want)
	}
	if got := listAllPipelines(t, ts.client, aws.Int32(1)); !slices.Equal(got, want) {
		t.Errorf("paginator with maxResults 1 = %v, want %v", got, want)
	}

	// A token survives the deletion of the pipeline it points after.
	first, err := ts.client.ListPipelines(ctx, &cp.ListPipelinesInput{MaxResults: aws.Int32(3)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.client.DeletePipeline(ctx, &cp.DeletePipelineInput{Name: first.Pipelines[2].Name}); err != nil {
		t.Fatal(err)
	}
	rest, err := ts.client.ListPipelines(ctx, &cp.ListPipelinesInput{NextToken: first.NextToken})
	if err != nil {
		t.Fatal(err)
	}
	if len(rest.Pipelines) != 3 || aws.ToString(rest.Pipelines[0].Name) != want[3] {
		t.Errorf("after deleting %s the next page starts at %v", aws.ToString(first.Pipelines[2].Name), rest.Pipelines)
	}

	for _, bad := range []string{"not-a-token", "bm90LWEtdG9rZW4", "%%%"} {
		_, err := ts.client.ListPipelines(ctx, &cp.ListPipelinesInput{NextToken: aws.String(bad)})
		modelledErr(t, err, "InvalidNextTokenException")
	}
}

func TestPipelineNameInUse(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	if _, err := ts.client.CreatePipeline(ctx, &cp.CreatePipelineInput{Pipeline: crudDecl("twice")}); err != nil {
		t.Fatal(err)
	}
	again := crudDecl("twice")
	again.Stages = append(again.Stages, stage("More", approvalAction("Approve")))
	_, err := ts.client.CreatePipeline(ctx, &cp.CreatePipelineInput{Pipeline: again})
	ae := modelledErr(t, err, "PipelineNameInUseException")
	if !strings.Contains(ae.ErrorMessage(), "twice") {
		t.Errorf("message %q does not name the pipeline", ae.ErrorMessage())
	}
	out, err := ts.client.GetPipeline(ctx, &cp.GetPipelineInput{Name: aws.String("twice")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(out.Pipeline.Version) != 1 || len(out.Pipeline.Stages) != 2 {
		t.Errorf("the failed create changed the pipeline: version %d, %d stages", aws.ToInt32(out.Pipeline.Version), len(out.Pipeline.Stages))
	}
	execs, err := ts.client.ListPipelineExecutions(ctx, &cp.ListPipelineExecutionsInput{PipelineName: aws.String("twice")})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(execs.PipelineExecutionSummaries); n != 1 {
		t.Errorf("the failed create left %d executions, want 1", n)
	}
}

func TestModelValidationErrors(t *testing.T) {
	t.Parallel()
	ts := startServer(t)

	validation := func(t *testing.T, err error, wantPrefix string) string {
		t.Helper()
		var ve *types.ValidationException
		if !errors.As(err, &ve) {
			t.Fatalf("want ValidationException, got %v", err)
		}
		msg := ve.ErrorMessage()
		if !strings.HasPrefix(msg, wantPrefix) {
			t.Errorf("message %q\nwant prefix %q", msg, wantPrefix)
		}
		return msg
	}

	t.Run("pipeline name with a space", func(t *testing.T) {
		_, err := ts.client.CreatePipeline(ctx, &cp.CreatePipelineInput{Pipeline: crudDecl("my pipeline")})
		msg := validation(t, err, "1 validation error detected: Value 'my pipeline' at 'pipeline.name' failed to satisfy constraint: Member must satisfy regular expression pattern: ")
		if !strings.Contains(msg, `[A-Za-z0-9.@\-_]+`) {
			t.Errorf("message %q does not give the name pattern", msg)
		}
		_, err = ts.client.GetPipeline(ctx, &cp.GetPipelineInput{Name: aws.String("my pipeline")})
		validation(t, err, "1 validation error detected: Value 'my pipeline' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ")
	})
	t.Run("nested paths are numbered from 1", func(t *testing.T) {
		d := crudDecl("nested")
		d.Stages[1].Actions[0].Name = aws.String("bad name")
		_, err := ts.client.CreatePipeline(ctx, &cp.CreatePipelineInput{Pipeline: d})
		validation(t, err, "1 validation error detected: Value 'bad name' at 'pipeline.stages.2.member.actions.1.member.name' failed to satisfy constraint: Member must satisfy regular expression pattern: ")
	})
	t.Run("pipeline name too long", func(t *testing.T) {
		long := strings.Repeat("a", 101)
		_, err := ts.client.CreatePipeline(ctx, &cp.CreatePipelineInput{Pipeline: crudDecl(long)})
		validation(t, err, "1 validation error detected: Value '"+long+"' at 'pipeline.name' failed to satisfy constraint: Member must have length less than or equal to 100")
	})
	t.Run("two violations", func(t *testing.T) {
		d := crudDecl("two bad")
		d.RoleArn = aws.String("not-a-role")
		_, err := ts.client.CreatePipeline(ctx, &cp.CreatePipelineInput{Pipeline: d})
		msg := validation(t, err, "2 validation errors detected: Value 'two bad' at 'pipeline.name' failed to satisfy constraint: ")
		if !strings.Contains(msg, "; Value 'not-a-role' at 'pipeline.roleArn' failed to satisfy constraint: ") {
			t.Errorf("message %q does not list the roleArn violation", msg)
		}
	})
	t.Run("maxResults 0", func(t *testing.T) {
		_, err := ts.client.ListPipelines(ctx, &cp.ListPipelinesInput{MaxResults: aws.Int32(0)})
		validation(t, err, "1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1")
	})
	t.Run("maxResults 1001", func(t *testing.T) {
		_, err := ts.client.ListPipelines(ctx, &cp.ListPipelinesInput{MaxResults: aws.Int32(1001)})
		validation(t, err, "1 validation error detected: Value '1001' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000")
	})
	t.Run("version 0", func(t *testing.T) {
		_, err := ts.client.GetPipeline(ctx, &cp.GetPipelineInput{Name: aws.String("x"), Version: aws.Int32(0)})
		validation(t, err, "1 validation error detected: Value '0' at 'version' failed to satisfy constraint: Member must have value greater than or equal to 1")
	})

	// The Go SDK checks required members itself, so these go raw.
	raw := []struct{ name, op, body, want string }{
		{"no pipeline", "CreatePipeline", `{}`,
			"1 validation error detected: Value null at 'pipeline' failed to satisfy constraint: Member must not be null"},
		{"no pipeline name", "CreatePipeline",
			`{"pipeline":{"roleArn":"arn:aws:iam::000000000000:role/r","artifactStore":{"type":"S3","location":"bucket"},"stages":[]}}`,
			"1 validation error detected: Value null at 'pipeline.name' failed to satisfy constraint: Member must not be null"},
		{"null name", "GetPipeline", `{"name":null}`,
			"1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null"},
		{"maxResults 0 raw", "ListPipelines", `{"maxResults":0}`,
			"1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"bad enum", "CreatePipeline",
			`{"pipeline":{"name":"enum","roleArn":"arn:aws:iam::000000000000:role/r","artifactStore":{"type":"S3","location":"bucket"},"stages":[],"executionMode":"SOMETIMES"}}`,
			"1 validation error detected: Value 'SOMETIMES' at 'pipeline.executionMode' failed to satisfy constraint: Member must satisfy enum value set: "},
	}
	for _, c := range raw {
		t.Run(c.name, func(t *testing.T) {
			msg := ts.wireCall(t, c.op, c.body).mustError(t, http.StatusBadRequest, "ValidationException")
			if !strings.HasPrefix(msg, c.want) {
				t.Errorf("message %q\nwant prefix %q", msg, c.want)
			}
		})
	}

	if names := listAllPipelines(t, ts.client, nil); len(names) != 0 {
		t.Errorf("invalid requests created pipelines %v", names)
	}
}

func TestPipelineStructureRules(t *testing.T) {
	t.Parallel()
	ts := startServer(t)

	build := func(name string, runOrder int32, in []string, out []string) types.ActionDeclaration {
		a := commandsAction(name, runOrder, "true")
		a.InputArtifacts = nil
		for _, n := range in {
			a.InputArtifacts = append(a.InputArtifacts, types.InputArtifact{Name: aws.String(n)})
		}
		for _, n := range out {
			a.OutputArtifacts = append(a.OutputArtifacts, types.OutputArtifact{Name: aws.String(n)})
		}
		return a
	}
	v1 := func(d *types.PipelineDeclaration) *types.PipelineDeclaration {
		d.PipelineType = types.PipelineTypeV1
		return d
	}
	secondSource := sourceAction("other")
	secondSource.Name = aws.String("Source2")
	secondSource.OutputArtifacts = []types.OutputArtifact{{Name: aws.String("other")}}
	secondSource.Namespace = aws.String("Other")
	noBranch := sourceAction("repo")
	delete(noBranch.Configuration, "BranchName")
	unknown := commandsAction("Mystery", 1)
	unknown.ActionTypeId = &types.ActionTypeId{Category: types.ActionCategoryBuild, Owner: types.ActionOwnerAws, Provider: aws.String("NoSuchProvider"), Version: aws.String("1")}
	unknown.Commands = nil

	cases := []struct {
		name   string
		decl   *types.PipelineDeclaration
		code   string // "" = valid
		phrase string
	}{
		{"one stage", declaration("s1", "repo", ""), "InvalidStructureException", "minimum of 2 stages"},
		{"non-source action in the first stage", func() *types.PipelineDeclaration {
			d := crudDecl("s2")
			d.Stages[0].Actions = append(d.Stages[0].Actions, approvalAction("Approve"))
			return d
		}(), "InvalidStructureException", "Approve"},
		{"source action in a later stage", declaration("s3", "repo", "", stage("Later", secondSource)), "InvalidStructureException", "Source2"},
		{"duplicate stage names", declaration("s4", "repo", "", stage("Build", approvalAction("A")), stage("Build", approvalAction("B"))), "InvalidStructureException", "Build"},
		{"duplicate action names", declaration("s5", "repo", "", stage("Build", approvalAction("Same"), approvalAction("Same"))), "InvalidStructureException", "Same"},
		{"stage without actions", declaration("s5b", "repo", "", types.StageDeclaration{Name: aws.String("Empty"), Actions: []types.ActionDeclaration{}}), "InvalidStageDeclarationException", "Empty"},
		{"input artifact never produced", declaration("s6", "repo", "", stage("Build", build("B", 1, []string{"nothing"}, nil))), "InvalidStructureException", "nothing"},
		{"input produced by a later action of the stage", declaration("s7", "repo", "", stage("Build",
			build("Use", 1, []string{"made"}, nil), build("Make", 2, []string{"code"}, []string{"made"}))), "InvalidStructureException", "made"},
		{"input produced by a parallel action", declaration("s8", "repo", "", stage("Build",
			build("Make", 1, []string{"code"}, []string{"made"}), build("Use", 1, []string{"made"}, nil))), "InvalidStructureException", "made"},
		{"input produced by a later stage", declaration("s9", "repo", "",
			stage("Use", build("Use", 1, []string{"made"}, nil)), stage("Make", build("Make", 1, []string{"code"}, []string{"made"}))), "InvalidStructureException", "made"},
		{"input produced by an earlier action of the stage", declaration("ok1", "repo", "", stage("Build",
			build("Use", 2, []string{"made"}, nil), build("Make", 1, []string{"code"}, []string{"made"}))), "", ""},
		{"input produced by an earlier stage", declaration("ok2", "repo", "",
			stage("Make", build("Make", 1, []string{"code"}, []string{"made"})), stage("Use", build("Use", 1, []string{"made", "code"}, nil))), "", ""},
		{"duplicate output artifact", declaration("s10", "repo", "", stage("Build", build("Make", 1, []string{"code"}, []string{"code"}))), "InvalidStructureException", "code"},
		{"unknown action provider", declaration("s11", "repo", "", stage("Build", unknown)), "InvalidActionDeclarationException", "NoSuchProvider"},
		{"CodeCommit without BranchName", &types.PipelineDeclaration{
			Name: aws.String("s12"), RoleArn: aws.String("arn:aws:iam::000000000000:role/pipewright"),
			ArtifactStore: &types.ArtifactStore{Type: types.ArtifactStoreTypeS3, Location: aws.String("pipewright-artifacts")},
			Stages:        []types.StageDeclaration{stage("Source", noBranch), stage("Approve", approvalAction("Approve"))},
		}, "InvalidActionDeclarationException", "BranchName"},
		{"Commands without input artifacts", declaration("s13", "repo", "", stage("Build", build("B", 1, nil, nil))), "InvalidActionDeclarationException", "B"},
		{"Commands without commands", declaration("s13b", "repo", "", stage("Build", commandsAction("B", 1))), "InvalidActionDeclarationException", "B"},
		{"Commands in a V1 pipeline", v1(crudDecl("s14")), "InvalidActionDeclarationException", "V2"},
		{"QUEUED on V1", v1(declaration("s15", "repo", types.ExecutionModeQueued, stage("Approve", approvalAction("Approve")))), "InvalidStructureException", "QUEUED"},
		{"PARALLEL on V1", v1(declaration("s15b", "repo", types.ExecutionModeParallel, stage("Approve", approvalAction("Approve")))), "InvalidStructureException", "PARALLEL"},
		{"SUPERSEDED V1 without Commands", v1(declaration("ok3", "repo", types.ExecutionModeSuperseded, stage("Approve", approvalAction("Approve")))), "", ""},
		{"artifactStore and artifactStores", func() *types.PipelineDeclaration {
			d := crudDecl("s16")
			d.ArtifactStores = map[string]types.ArtifactStore{"us-east-1": *d.ArtifactStore}
			return d
		}(), "InvalidStructureException", "artifactStore"},
		{"neither artifactStore nor artifactStores", func() *types.PipelineDeclaration {
			d := crudDecl("s17")
			d.ArtifactStore = nil
			return d
		}(), "InvalidStructureException", "artifactStore"},
		{"artifactStores alone", func() *types.PipelineDeclaration {
			d := crudDecl("ok4")
			d.ArtifactStores = map[string]types.ArtifactStore{"us-east-1": *d.ArtifactStore}
			d.ArtifactStore = nil
			return d
		}(), "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ts.client.CreatePipeline(ctx, &cp.CreatePipelineInput{Pipeline: c.decl})
			if c.code == "" {
				if err != nil {
					t.Fatalf("valid declaration refused: %v", err)
				}
				return
			}
			ae := modelledErr(t, err, c.code)
			if !strings.Contains(ae.ErrorMessage(), c.phrase) {
				t.Errorf("message %q does not mention %q", ae.ErrorMessage(), c.phrase)
			}
			_, err = ts.client.GetPipeline(ctx, &cp.GetPipelineInput{Name: c.decl.Name})
			modelledErr(t, err, "PipelineNotFoundException")
		})
	}

	// The same rules guard UpdatePipeline.
	if _, err := ts.client.CreatePipeline(ctx, &cp.CreatePipelineInput{Pipeline: crudDecl("guarded")}); err != nil {
		t.Fatal(err)
	}
	_, err := ts.client.UpdatePipeline(ctx, &cp.UpdatePipelineInput{Pipeline: declaration("guarded", "repo", "", stage("Build", unknown))})
	modelledErr(t, err, "InvalidActionDeclarationException")
	_, err = ts.client.UpdatePipeline(ctx, &cp.UpdatePipelineInput{Pipeline: v1(crudDecl("guarded"))})
	modelledErr(t, err, "InvalidActionDeclarationException")
}

// tagMap reads a pipeline's tags as a map, failing on duplicate keys.
func tagMap(t *testing.T, c *cp.Client, arn string) map[string]string {
	t.Helper()
	out, err := c.ListTagsForResource(ctx, &cp.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil {
		t.Fatalf("ListTagsForResource: %v", err)
	}
	m := map[string]string{}
	for _, tg := range out.Tags {
		k := aws.ToString(tg.Key)
		if _, dup := m[k]; dup {
			t.Errorf("tag %q listed twice", k)
		}
		m[k] = aws.ToString(tg.Value)
	}
	return m
}

func manyTags(n int) []types.Tag {
	tags := make([]types.Tag, n)
	for i := range tags {
		tags[i] = types.Tag{Key: aws.String(fmt.Sprintf("k%02d", i)), Value: aws.String("v")}
	}
	return tags
}

func TestPipelineTags(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	const arn = "arn:aws:codepipeline:us-east-1:000000000000:tagged"
	tags := []types.Tag{{Key: aws.String("team"), Value: aws.String("ci")}, {Key: aws.String("empty"), Value: aws.String("")}}
	out, err := ts.client.CreatePipeline(ctx, &cp.CreatePipelineInput{Pipeline: crudDecl("tagged"), Tags: tags})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Tags) != 2 {
		t.Errorf("CreatePipeline returned tags %v", out.Tags)
	}
	eq := func(got, want map[string]string) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("tags = %v, want %v", got, want)
		}
		for k, v := range want {
			if gv, ok := got[k]; !ok || gv != v {
				t.Fatalf("tags = %v, want %v", got, want)
			}
		}
	}
	eq(tagMap(t, ts.client, arn), map[string]string{"team": "ci", "empty": ""})

	// TagResource replaces existing keys and adds new ones.
	_, err = ts.client.TagResource(ctx, &cp.TagResourceInput{ResourceArn: aws.String(arn), Tags: []types.Tag{
		{Key: aws.String("team"), Value: aws.String("platform")}, {Key: aws.String("cost"), Value: aws.String("42")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	eq(tagMap(t, ts.client, arn), map[string]string{"team": "platform", "empty": "", "cost": "42"})

	// UntagResource removes keys; unknown keys are ignored.
	if _, err := ts.client.UntagResource(ctx, &cp.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: []string{"empty", "absent"}}); err != nil {
		t.Fatal(err)
	}
	eq(tagMap(t, ts.client, arn), map[string]string{"team": "platform", "cost": "42"})

	// Keys beginning with aws: are reserved.
	_, err = ts.client.TagResource(ctx, &cp.TagResourceInput{ResourceArn: aws.String(arn), Tags: []types.Tag{{Key: aws.String("aws:owner"), Value: aws.String("x")}}})
	modelledErr(t, err, "InvalidTagsException")
	_, err = ts.client.CreatePipeline(ctx, &cp.CreatePipelineInput{Pipeline: crudDecl("reserved"), Tags: []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("y")}}})
	modelledErr(t, err, "InvalidTagsException")
	_, err = ts.client.GetPipeline(ctx, &cp.GetPipelineInput{Name: aws.String("reserved")})
	modelledErr(t, err, "PipelineNotFoundException")

	// At most 50 tags, counting those already there.
	_, err = ts.client.CreatePipeline(ctx, &cp.CreatePipelineInput{Pipeline: crudDecl("crowded"), Tags: manyTags(51)})
	modelledErr(t, err, "TooManyTagsException")
	if _, err := ts.client.CreatePipeline(ctx, &cp.CreatePipelineInput{Pipeline: crudDecl("full"), Tags: manyTags(50)}); err != nil {
		t.Fatalf("50 tags refused: %v", err)
	}
	_, err = ts.client.TagResource(ctx, &cp.TagResourceInput{ResourceArn: aws.String(arn), Tags: manyTags(49)})
	modelledErr(t, err, "TooManyTagsException")
	eq(tagMap(t, ts.client, arn), map[string]string{"team": "platform", "cost": "42"})
	if _, err := ts.client.TagResource(ctx, &cp.TagResourceInput{ResourceArn: aws.String(arn), Tags: manyTags(48)}); err != nil {
		t.Fatalf("tagging up to 50: %v", err)
	}
	if n := len(tagMap(t, ts.client, arn)); n != 50 {
		t.Errorf("%d tags, want 50", n)
	}

	// A pipeline that does not exist.
	const missing = "arn:aws:codepipeline:us-east-1:000000000000:missing"
	_, err = ts.client.ListTagsForResource(ctx, &cp.ListTagsForResourceInput{ResourceArn: aws.String(missing)})
	modelledErr(t, err, "ResourceNotFoundException")
	_, err = ts.client.TagResource(ctx, &cp.TagResourceInput{ResourceArn: aws.String(missing), Tags: tags})
	modelledErr(t, err, "ResourceNotFoundException")
	_, err = ts.client.UntagResource(ctx, &cp.UntagResourceInput{ResourceArn: aws.String(missing), TagKeys: []string{"team"}})
	modelledErr(t, err, "ResourceNotFoundException")
	// Another account's or region's pipeline is not here either.
	_, err = ts.client.ListTagsForResource(ctx, &cp.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:codepipeline:eu-west-1:000000000000:tagged")})
	modelledErr(t, err, "ResourceNotFoundException")
	_, err = ts.client.ListTagsForResource(ctx, &cp.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:codepipeline:us-east-1:111111111111:tagged")})
	modelledErr(t, err, "ResourceNotFoundException")

	// An ARN that passes the model's pattern but is no CodePipeline ARN.
	for _, bad := range []string{
		"arn:aws:codepipeline:us-east-1:pipelines:000000000000:tagged", // the account is not 12 digits
		"arn:aws:codepipeline:not a region:000000000000:tagged",
	} {
		_, err = ts.client.ListTagsForResource(ctx, &cp.ListTagsForResourceInput{ResourceArn: aws.String(bad)})
		modelledErr(t, err, "InvalidArnException")
		_, err = ts.client.TagResource(ctx, &cp.TagResourceInput{ResourceArn: aws.String(bad), Tags: tags})
		modelledErr(t, err, "InvalidArnException")
	}
	// Something that is not an ARN at all breaks the model's pattern.
	_, err = ts.client.ListTagsForResource(ctx, &cp.ListTagsForResourceInput{ResourceArn: aws.String("not-an-arn")})
	var ve *types.ValidationException
	if !errors.As(err, &ve) || !strings.Contains(ve.ErrorMessage(), "at 'resourceArn' failed to satisfy constraint: Member must satisfy regular expression pattern") {
		t.Errorf("not-an-arn: want ValidationException on resourceArn, got %v", err)
	}

	// The tags go with the pipeline.
	if _, err := ts.client.DeletePipeline(ctx, &cp.DeletePipelineInput{Name: aws.String("tagged")}); err != nil {
		t.Fatal(err)
	}
	_, err = ts.client.ListTagsForResource(ctx, &cp.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	modelledErr(t, err, "ResourceNotFoundException")
	if _, err := ts.client.CreatePipeline(ctx, &cp.CreatePipelineInput{Pipeline: crudDecl("tagged")}); err != nil {
		t.Fatal(err)
	}
	if m := tagMap(t, ts.client, arn); len(m) != 0 {
		t.Errorf("re-created pipeline inherited tags %v", m)
	}
}

func TestListActionTypes(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	key := func(id *types.ActionTypeId) string {
		return string(id.Category) + "/" + string(id.Owner) + "/" + aws.ToString(id.Provider) + "/" + aws.ToString(id.Version)
	}
	list := func(owner types.ActionOwner) map[string]types.ActionType {
		t.Helper()
		out, err := ts.client.ListActionTypes(ctx, &cp.ListActionTypesInput{ActionOwnerFilter: owner})
		if err != nil {
			t.Fatalf("ListActionTypes %q: %v", owner, err)
		}
		if out.NextToken != nil {
			t.Errorf("unexpected nextToken")
		}
		m := map[string]types.ActionType{}
		for _, at := range out.ActionTypes {
			if at.Id == nil {
				t.Fatalf("action type without id: %+v", at)
			}
			m[key(at.Id)] = at
		}
		return m
	}
	all := list("")
	for _, want := range []string{"Source/AWS/CodeCommit/1", "Compute/AWS/Commands/1", "Approval/AWS/Manual/1"} {
		if _, ok := all[want]; !ok {
			t.Errorf("ListActionTypes lacks %s (has %v)", want, slices.Sorted(maps.Keys(all)))
		}
	}
	cc := all["Source/AWS/CodeCommit/1"]
	if d := cc.OutputArtifactDetails; d == nil || d.MinimumCount != 1 || d.MaximumCount != 1 {
		t.Errorf("CodeCommit output artifacts %+v, want exactly 1", d)
	}
	var branch bool
	for _, p := range cc.ActionConfigurationProperties {
		branch = branch || aws.ToString(p.Name) == "BranchName" && p.Required
	}
	if !branch {
		t.Errorf("CodeCommit does not list BranchName as required: %+v", cc.ActionConfigurationProperties)
	}
	if owned := list(types.ActionOwnerAws); len(owned) != len(all) {
		t.Errorf("owner AWS lists %d types, all %d", len(owned), len(all))
	}
	if custom := list(types.ActionOwnerCustom); len(custom) != 0 {
		t.Errorf("owner Custom lists %v, want none", custom)
	}
	if third := list(types.ActionOwnerThirdParty); len(third) != 0 {
		t.Errorf("owner ThirdParty lists %v, want none", third)
	}
}

func TestDeleteRunningPipelineAndRecreate(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.gitRepo("crud-app", map[string]string{"README": "hi\n"})
	pidFile := filepath.Join(jobDir(t), "pid")
	slow := declaration("busy", "crud-app", "", stage("Build", commandsAction("Build", 1, "echo $$ > "+pidFile, "sleep 60")))
	if _, err := ts.client.CreatePipeline(ctx, &cp.CreatePipelineInput{Pipeline: slow}); err != nil {
		t.Fatal(err)
	}
	var pid int
	eventually(t, 30*time.Second, "the Build action to start", func() bool {
		b, err := os.ReadFile(pidFile)
		a := ts.actionState("busy", "Build", "Build")
		if err != nil || a == nil {
			return false
		}
		n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		pid = hostPID(aws.ToString(a.ExternalExecutionId), n)
		return pid > 0
	})
	if _, err := ts.client.DeletePipeline(ctx, &cp.DeletePipelineInput{Name: aws.String("busy")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "the deleted pipeline's process to end", func() bool {
		return syscall.Kill(pid, 0) != nil
	})
	_, err := ts.client.GetPipelineState(ctx, &cp.GetPipelineStateInput{Name: aws.String("busy")})
	modelledErr(t, err, "PipelineNotFoundException")

	// A new pipeline of the same name starts from scratch.
	if _, err := ts.client.CreatePipeline(ctx, &cp.CreatePipelineInput{Pipeline: declaration("busy", "crud-app", "", stage("Build", commandsAction("Build", 1, "true")))}); err != nil {
		t.Fatal(err)
	}
	execs, err := ts.client.ListPipelineExecutions(ctx, &cp.ListPipelineExecutionsInput{PipelineName: aws.String("busy")})
	if err != nil {
		t.Fatal(err)
	}
	if len(execs.PipelineExecutionSummaries) != 1 {
		t.Fatalf("re-created pipeline has %d executions, want 1", len(execs.PipelineExecutionSummaries))
	}
	id := aws.ToString(execs.PipelineExecutionSummaries[0].PipelineExecutionId)
	ts.waitStatus("busy", id, types.PipelineExecutionStatusSucceeded, 30*time.Second)
	acts, err := ts.client.ListActionExecutions(ctx, &cp.ListActionExecutionsInput{PipelineName: aws.String("busy")})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range acts.ActionExecutionDetails {
		if aws.ToString(a.PipelineExecutionId) != id {
			t.Errorf("action execution %s of an execution of the deleted pipeline (%s) shows in the new one", aws.ToString(a.ActionExecutionId), aws.ToString(a.PipelineExecutionId))
		}
	}
}
