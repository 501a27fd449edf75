package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
)

// Empty lists and maps on the wire: a list or map member the service fills
// in is sent even when empty ([] or {}), as AWS sends it; one it never fills
// in is absent. Checked on the raw JSON, which is what boto3 and the CLI's
// --query see.

// answer calls op with a raw signed request and decodes its 200 answer.
func (ts *testServer) answer(t *testing.T, op, body string) map[string]any {
	t.Helper()
	a := ts.wireCall(t, op, body)
	if a.Status != http.StatusOK {
		t.Fatalf("%s: HTTP %d %s", op, a.Status, a.Body)
	}
	var doc map[string]any
	if err := json.Unmarshal(a.Body, &doc); err != nil {
		t.Fatalf("%s: %v: %s", op, err, a.Body)
	}
	return doc
}

// at returns the member at path (map keys and list indexes) of a decoded
// JSON document, and whether it is there.
func at(doc any, path ...any) (any, bool) {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := doc.(map[string]any)
			if !ok {
				return nil, false
			}
			if doc, ok = m[k]; !ok {
				return nil, false
			}
		case int:
			l, ok := doc.([]any)
			if !ok || k >= len(l) {
				return nil, false
			}
			doc = l[k]
		}
	}
	return doc, true
}

// wantEmpty asserts that the member at path is an empty list ("[]") or an
// empty map ("{}").
func wantEmpty(t *testing.T, doc any, kind string, path ...any) {
	t.Helper()
	v, ok := at(doc, path...)
	got := fmt.Sprintf("%v", v)
	switch {
	case !ok:
		t.Errorf("%v is absent, want %s", path, kind)
	case kind == "[]" && got != "[]", kind == "{}" && got != "map[]":
		t.Errorf("%v = %v, want %s", path, v, kind)
	}
}

// wantAbsent asserts that there is no member at path.
func wantAbsent(t *testing.T, doc any, path ...any) {
	t.Helper()
	if v, ok := at(doc, path...); ok {
		t.Errorf("%v = %v, want it absent", path, v)
	}
}

// wantList asserts that the member at path is a list and returns it.
func wantList(t *testing.T, doc any, path ...any) []any {
	t.Helper()
	v, _ := at(doc, path...)
	l, ok := v.([]any)
	if !ok {
		t.Fatalf("%v = %v, want a list", path, v)
	}
	return l
}

// emptyDecl is a pipeline whose approval action declares no artifacts and
// no configuration, created without tags.
const emptyDecl = `{"pipeline": {"name": %q, "roleArn": "arn:aws:iam::000000000000:role/pipewright",
  "artifactStore": {"type": "S3", "location": "pipewright-artifacts"},
  "stages": [
    {"name": "Source", "actions": [{"name": "Source",
      "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeCommit", "version": "1"},
      "configuration": {"RepositoryName": %q, "BranchName": "main"}, "outputArtifacts": [{"name": "code"}]}]},
    {"name": "Approve", "actions": [{"name": "Ok",
      "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}}]}]}}`

func TestEmptyListsAndMapsAreSent(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	wantEmpty(t, ts.answer(t, "ListPipelines", `{}`), "[]", "pipelines")
	ts.gitRepo("app", map[string]string{"a": "a"})

	created := ts.answer(t, "CreatePipeline", fmt.Sprintf(emptyDecl, "empty", "app"))
	wantAbsent(t, created, "tags")
	got := ts.answer(t, "GetPipeline", `{"name": "empty"}`)
	for _, doc := range []map[string]any{created, got} {
		wantEmpty(t, doc, "[]", "pipeline", "stages", 0, "actions", 0, "inputArtifacts")
		wantEmpty(t, doc, "[]", "pipeline", "stages", 1, "actions", 0, "inputArtifacts")
		wantEmpty(t, doc, "[]", "pipeline", "stages", 1, "actions", 0, "outputArtifacts")
		wantAbsent(t, doc, "pipeline", "stages", 1, "actions", 0, "configuration")
		wantAbsent(t, doc, "pipeline", "variables")
	}
	wantEmpty(t, ts.answer(t, "ListTagsForResource", `{"resourceArn": "arn:aws:codepipeline:us-east-1:000000000000:empty"}`), "[]", "tags")

	ts.approvalToken("empty", "Approve", "Ok")
	id := ts.latestExecution("empty")
	exec := ts.answer(t, "GetPipelineExecution", fmt.Sprintf(`{"pipelineName": "empty", "pipelineExecutionId": %q}`, id))
	if revs := wantList(t, exec, "pipelineExecution", "artifactRevisions"); len(revs) != 1 {
		t.Errorf("artifactRevisions %v, want the source's", revs)
	}
	wantAbsent(t, exec, "pipelineExecution", "variables")

	acts := ts.answer(t, "ListActionExecutions", `{"pipelineName": "empty"}`)
	approval := wantList(t, acts, "actionExecutionDetails")[0]
	if name, _ := at(approval, "actionName"); name != "Ok" {
		t.Fatalf("newest action execution is %v, want the approval", name)
	}
	wantEmpty(t, approval, "[]", "input", "inputArtifacts")
	wantEmpty(t, approval, "{}", "input", "configuration")
	wantEmpty(t, approval, "{}", "input", "resolvedConfiguration")
	wantEmpty(t, approval, "[]", "output", "outputArtifacts")
	wantEmpty(t, approval, "{}", "output", "outputVariables")
	source := wantList(t, acts, "actionExecutionDetails")[1]
	wantEmpty(t, source, "[]", "input", "inputArtifacts")
	if vars, _ := at(source, "output", "outputVariables", "CommitId"); vars == nil {
		t.Errorf("source outputVariables lack CommitId: %v", source)
	}

	state := ts.answer(t, "GetPipelineState", `{"name": "empty"}`)
	for i := range wantList(t, state, "stageStates") {
		wantList(t, state, "stageStates", i, "actionStates")
		wantAbsent(t, state, "stageStates", i, "inboundExecutions")
		wantAbsent(t, state, "stageStates", i, "retryStageMetadata")
	}
	types := ts.answer(t, "ListActionTypes", `{}`)
	for i := range wantList(t, types, "actionTypes") {
		wantList(t, types, "actionTypes", i, "actionConfigurationProperties")
	}
}

// TestEmptyRevisionLists: an execution whose source never produced a
// revision has artifactRevisions and sourceRevisions [], not absent.
func TestEmptyRevisionLists(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.answer(t, "CreatePipeline", fmt.Sprintf(emptyDecl, "norepo", "missing"))
	id := ts.latestExecution("norepo")
	ts.waitStatus("norepo", id, types.PipelineExecutionStatusFailed, 20*time.Second)
	exec := ts.answer(t, "GetPipelineExecution", fmt.Sprintf(`{"pipelineName": "norepo", "pipelineExecutionId": %q}`, id))
	wantEmpty(t, exec, "[]", "pipelineExecution", "artifactRevisions")
	list := ts.answer(t, "ListPipelineExecutions", `{"pipelineName": "norepo"}`)
	wantEmpty(t, list, "[]", "pipelineExecutionSummaries", 0, "sourceRevisions")
	acts := ts.answer(t, "ListActionExecutions", `{"pipelineName": "norepo"}`)
	wantEmpty(t, acts, "[]", "actionExecutionDetails", 0, "output", "outputArtifacts")
	wantEmpty(t, acts, "{}", "actionExecutionDetails", 0, "output", "outputVariables")
}
