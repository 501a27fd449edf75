package server_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cp "github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/pipewright/pipewright/server"
)

// createPipeline creates a pipeline and returns the id of the execution
// CreatePipeline started.
func (ts *testServer) createPipeline(decl *types.PipelineDeclaration, tags ...types.Tag) string {
	ts.t.Helper()
	if _, err := ts.client.CreatePipeline(ctx, &cp.CreatePipelineInput{Pipeline: decl, Tags: tags}); err != nil {
		ts.t.Fatalf("CreatePipeline: %v", err)
	}
	return ts.latestExecution(aws.ToString(decl.Name))
}

func (ts *testServer) start(pipeline string) string {
	ts.t.Helper()
	out, err := ts.client.StartPipelineExecution(ctx, &cp.StartPipelineExecutionInput{Name: &pipeline})
	if err != nil {
		ts.t.Fatalf("StartPipelineExecution: %v", err)
	}
	return aws.ToString(out.PipelineExecutionId)
}

func TestExecutionRunsEveryStage(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	commit := ts.gitRepo("app", map[string]string{"hello.sh": "echo hello from the repo\n", "lib/data.txt": "42\n"})
	build := commandsAction("Build", 1,
		"test -f hello.sh && test -f lib/data.txt",
		"bash hello.sh",
		`echo "commit #{SourceVariables.CommitId} exec #{codepipeline.PipelineExecutionId}"`,
		"mkdir -p dist && cp lib/data.txt dist/ && echo built > dist/out.txt",
		"export GREETING=hi")
	build.OutputArtifacts = []types.OutputArtifact{{Name: aws.String("dist"), Files: []string{"dist/**/*"}}}
	build.OutputVariables = []string{"GREETING"}
	build.Namespace = aws.String("BuildVariables")
	check := commandsAction("Check", 1, "test -f dist/out.txt", "test -f dist/data.txt", `test "#{BuildVariables.GREETING}" = hi`)
	check.InputArtifacts = []types.InputArtifact{{Name: aws.String("dist")}}
	id := ts.createPipeline(declaration("run", "app", "", stage("Build", build), stage("Check", check)))
	ts.waitStatus("run", id, types.PipelineExecutionStatusSucceeded, 30*time.Second)

	ex, err := ts.client.GetPipelineExecution(ctx, &cp.GetPipelineExecutionInput{PipelineName: aws.String("run"), PipelineExecutionId: &id})
	if err != nil {
		t.Fatal(err)
	}
	pe := ex.PipelineExecution
	if pe.Trigger.TriggerType != types.TriggerTypeCreatePipeline || aws.ToInt32(pe.PipelineVersion) != 1 || pe.ExecutionMode != types.ExecutionModeSuperseded {
		t.Fatalf("execution: %+v", pe)
	}
	if len(pe.ArtifactRevisions) != 1 || aws.ToString(pe.ArtifactRevisions[0].RevisionId) != commit || aws.ToString(pe.ArtifactRevisions[0].RevisionSummary) != "commit of app" {
		t.Fatalf("artifactRevisions: %+v", pe.ArtifactRevisions)
	}

	acts, err := ts.client.ListActionExecutions(ctx, &cp.ListActionExecutionsInput{PipelineName: aws.String("run"), Filter: &types.ActionExecutionFilter{PipelineExecutionId: &id}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(acts.ActionExecutionDetails); n != 3 {
		t.Fatalf("want 3 action executions, got %d", n)
	}
	// Newest first: Check, Build, Source.
	names := []string{}
	for _, d := range acts.ActionExecutionDetails {
		names = append(names, aws.ToString(d.ActionName))
		if d.Status != types.ActionExecutionStatusSucceeded {
			t.Fatalf("%s: %s", aws.ToString(d.ActionName), d.Status)
		}
	}
	if strings.Join(names, ",") != "Check,Build,Source" {
		t.Fatalf("order %v", names)
	}
	b := acts.ActionExecutionDetails[1]
	if got := b.Output.OutputVariables["GREETING"]; got != "hi" {
		t.Fatalf("output variable GREETING = %q", got)
	}
	if len(b.Output.OutputArtifacts) != 1 || b.Output.OutputArtifacts[0].S3location == nil || !strings.HasPrefix(aws.ToString(b.Output.OutputArtifacts[0].S3location.Key), "run/dist/") {
		t.Fatalf("output artifact %+v", b.Output.OutputArtifacts)
	}
	if len(b.Input.InputArtifacts) != 1 || aws.ToString(b.Input.InputArtifacts[0].Name) != "code" {
		t.Fatalf("input artifacts %+v", b.Input.InputArtifacts)
	}
	src := acts.ActionExecutionDetails[2]
	if src.Output.OutputVariables["CommitId"] != commit {
		t.Fatalf("source variables %v", src.Output.OutputVariables)
	}
	// The Commands output is kept as the log of its job, the action's
	// externalExecutionId.
	jobID := aws.ToString(b.Output.ExecutionResult.ExternalExecutionId)
	if jobID == "" || aws.ToString(b.Output.ExecutionResult.ExternalExecutionUrl) != "file://"+filepath.Join(ts.data, "logs", jobID+".log") {
		t.Fatalf("Commands execution result %+v", b.Output.ExecutionResult)
	}
	logs, _ := filepath.Glob(filepath.Join(ts.data, "logs", jobID+".log"))
	if len(logs) != 1 {
		t.Fatal("no log for the Build action")
	}
	body, _ := os.ReadFile(logs[0])
	if !strings.Contains(string(body), "hello from the repo") || !strings.Contains(string(body), "commit "+commit+" exec "+id) {
		t.Fatalf("log:\n%s", body)
	}

	// Workspaces go once their action's result is recorded.
	eventually(t, 5*time.Second, "workspaces removed", func() bool {
		entries, err := os.ReadDir(filepath.Join(ts.data, "work"))
		trash, _ := os.ReadDir(filepath.Join(ts.data, "work", ".trash"))
		return err == nil && len(trash) == 0 && (len(entries) == 0 || len(entries) == 1 && entries[0].Name() == ".trash")
	})

	st := ts.state("run")
	if len(st.StageStates) != 3 {
		t.Fatalf("stages %d", len(st.StageStates))
	}
	for _, s := range st.StageStates {
		if s.LatestExecution == nil || s.LatestExecution.Status != types.StageExecutionStatusSucceeded || aws.ToString(s.LatestExecution.PipelineExecutionId) != id {
			t.Fatalf("stage %s: %+v", aws.ToString(s.StageName), s.LatestExecution)
		}
	}
}

func TestFailingCommandFailsStageAndExecution(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.gitRepo("app", map[string]string{"a": "a"})
	id := ts.createPipeline(declaration("fail", "app", "", stage("Build", commandsAction("Build", 1, "echo before", "false", "echo never"))))
	ts.waitStatus("fail", id, types.PipelineExecutionStatusFailed, 30*time.Second)
	a := ts.actionState("fail", "Build", "Build")
	if a.Status != types.ActionExecutionStatusFailed || a.ErrorDetails == nil || !strings.Contains(aws.ToString(a.ErrorDetails.Message), "exit status 1") {
		t.Fatalf("action %+v", a)
	}
	if strings.Contains(aws.ToString(a.ErrorDetails.Message), "never") {
		t.Fatal("commands after the failing one ran")
	}
	ex, _ := ts.client.GetPipelineExecution(ctx, &cp.GetPipelineExecutionInput{PipelineName: aws.String("fail"), PipelineExecutionId: &id})
	if !strings.Contains(aws.ToString(ex.PipelineExecution.StatusSummary), "Build") {
		t.Fatalf("statusSummary %q", aws.ToString(ex.PipelineExecution.StatusSummary))
	}
}

func TestStartIsIdempotentAndTakesVariables(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.gitRepo("app", map[string]string{"a": "a"})
	decl := declaration("vars", "app", types.ExecutionModeParallel, stage("Build", commandsAction("Build", 1, `test "#{variables.Env}" = "${EXPECT}"`)))
	decl.Variables = []types.PipelineVariableDeclaration{{Name: aws.String("Env"), DefaultValue: aws.String("dev")}}
	decl.Stages[1].Actions[0].EnvironmentVariables = []types.EnvironmentVariable{{Name: aws.String("EXPECT"), Value: aws.String("#{variables.Env}")}}
	first := ts.createPipeline(decl)

	tok := "token-1"
	a, err := ts.client.StartPipelineExecution(ctx, &cp.StartPipelineExecutionInput{Name: aws.String("vars"), ClientRequestToken: &tok,
		Variables: []types.PipelineVariable{{Name: aws.String("Env"), Value: aws.String("prod")}}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := ts.client.StartPipelineExecution(ctx, &cp.StartPipelineExecutionInput{Name: aws.String("vars"), ClientRequestToken: &tok})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(a.PipelineExecutionId) != aws.ToString(b.PipelineExecutionId) {
		t.Fatal("the same clientRequestToken started a second execution")
	}
	_, err = ts.client.StartPipelineExecution(ctx, &cp.StartPipelineExecutionInput{Name: aws.String("vars"),
		Variables: []types.PipelineVariable{{Name: aws.String("Nope"), Value: aws.String("x")}}})
	apiErr[*types.ValidationException](t, err)
	_, err = ts.client.StartPipelineExecution(ctx, &cp.StartPipelineExecutionInput{Name: aws.String("missing")})
	apiErr[*types.PipelineNotFoundException](t, err)

	id := aws.ToString(a.PipelineExecutionId)
	ts.waitStatus("vars", id, types.PipelineExecutionStatusSucceeded, 30*time.Second)
	ts.waitStatus("vars", first, types.PipelineExecutionStatusSucceeded, 30*time.Second)
	ex, _ := ts.client.GetPipelineExecution(ctx, &cp.GetPipelineExecutionInput{PipelineName: aws.String("vars"), PipelineExecutionId: &id})
	if v := ex.PipelineExecution.Variables; len(v) != 1 || aws.ToString(v[0].ResolvedValue) != "prod" {
		t.Fatalf("variables %+v", v)
	}
}

func TestListPipelineExecutionsPages(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.gitRepo("app", map[string]string{"a": "a"})
	first := ts.createPipeline(declaration("pages", "app", types.ExecutionModeParallel, stage("Build", commandsAction("Build", 1, "true"))))
	ids := []string{first}
	for i := 0; i < 4; i++ {
		ids = append(ids, ts.start("pages"))
	}
	var got []string
	var tok *string
	for {
		out, err := ts.client.ListPipelineExecutions(ctx, &cp.ListPipelineExecutionsInput{PipelineName: aws.String("pages"), MaxResults: aws.Int32(2), NextToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range out.PipelineExecutionSummaries {
			got = append(got, aws.ToString(s.PipelineExecutionId))
		}
		if tok = out.NextToken; tok == nil {
			break
		}
	}
	if len(got) != 5 {
		t.Fatalf("got %d executions", len(got))
	}
	for i := range got {
		if got[i] != ids[len(ids)-1-i] {
			t.Fatalf("not newest first: %v vs %v", got, ids)
		}
	}
	_, err := ts.client.ListPipelineExecutions(ctx, &cp.ListPipelineExecutionsInput{PipelineName: aws.String("pages"), NextToken: aws.String("bogus")})
	apiErr[*types.InvalidNextTokenException](t, err)
	for _, id := range ids {
		ts.waitStatus("pages", id, types.PipelineExecutionStatusSucceeded, 30*time.Second)
	}
	out, err := ts.client.ListPipelineExecutions(ctx, &cp.ListPipelineExecutionsInput{PipelineName: aws.String("pages"),
		Filter: &types.PipelineExecutionFilter{SucceededInStage: &types.SucceededInStageFilter{StageName: aws.String("Build")}}})
	if err != nil || len(out.PipelineExecutionSummaries) != 5 {
		t.Fatalf("succeededInStage: %v %d", err, len(out.PipelineExecutionSummaries))
	}
	acts, err := ts.client.ListActionExecutions(ctx, &cp.ListActionExecutionsInput{PipelineName: aws.String("pages"), MaxResults: aws.Int32(3)})
	if err != nil || len(acts.ActionExecutionDetails) != 3 || acts.NextToken == nil {
		t.Fatalf("ListActionExecutions page: %v", err)
	}
	more, err := ts.client.ListActionExecutions(ctx, &cp.ListActionExecutionsInput{PipelineName: aws.String("pages"), NextToken: acts.NextToken})
	if err != nil || len(more.ActionExecutionDetails) != 7 {
		t.Fatalf("second page: %v", err)
	}
	_, err = ts.client.ListActionExecutions(ctx, &cp.ListActionExecutionsInput{PipelineName: aws.String("pages"),
		Filter: &types.ActionExecutionFilter{PipelineExecutionId: aws.String("00000000-0000-0000-0000-000000000000")}})
	apiErr[*types.PipelineExecutionNotFoundException](t, err)
}

// approvalToken waits until the approval shows a token and returns it.
func (ts *testServer) approvalToken(pipeline, stage, action string) string {
	ts.t.Helper()
	var tok string
	eventually(ts.t, 30*time.Second, "approval token", func() bool {
		if a := ts.actionState(pipeline, stage, action); a != nil && a.Status == types.ActionExecutionStatusInProgress {
			tok = aws.ToString(a.Token)
		}
		return tok != ""
	})
	return tok
}

func TestManualApproval(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.gitRepo("app", map[string]string{"a": "a"})
	id := ts.createPipeline(declaration("appr", "app", "", stage("Approve", approvalAction("Ok"))))
	tok := ts.approvalToken("appr", "Approve", "Ok")
	put := func(token string, s types.ApprovalStatus) error {
		_, err := ts.client.PutApprovalResult(ctx, &cp.PutApprovalResultInput{PipelineName: aws.String("appr"), StageName: aws.String("Approve"), ActionName: aws.String("Ok"),
			Token: &token, Result: &types.ApprovalResult{Status: s, Summary: aws.String("looks good")}})
		return err
	}
	apiErr[*types.InvalidApprovalTokenException](t, put("00000000-0000-0000-0000-000000000000", types.ApprovalStatusApproved))
	_, err := ts.client.PutApprovalResult(ctx, &cp.PutApprovalResultInput{PipelineName: aws.String("appr"), StageName: aws.String("Approve"), ActionName: aws.String("Nope"),
		Token: &tok, Result: &types.ApprovalResult{Status: types.ApprovalStatusApproved, Summary: aws.String("x")}})
	apiErr[*types.ActionNotFoundException](t, err)
	_, err = ts.client.PutApprovalResult(ctx, &cp.PutApprovalResultInput{PipelineName: aws.String("appr"), StageName: aws.String("Nope"), ActionName: aws.String("Ok"),
		Token: &tok, Result: &types.ApprovalResult{Status: types.ApprovalStatusApproved, Summary: aws.String("x")}})
	apiErr[*types.StageNotFoundException](t, err)
	if err := put(tok, types.ApprovalStatusApproved); err != nil {
		t.Fatal(err)
	}
	apiErr[*types.ApprovalAlreadyCompletedException](t, put(tok, types.ApprovalStatusApproved))
	ts.waitStatus("appr", id, types.PipelineExecutionStatusSucceeded, 10*time.Second)
	if a := ts.actionState("appr", "Approve", "Ok"); aws.ToString(a.Summary) != "looks good" || a.LastUpdatedBy == nil {
		t.Fatalf("approval state %+v", a)
	}

	second := ts.start("appr")
	tok2 := ts.approvalToken("appr", "Approve", "Ok")
	if tok2 == tok {
		t.Fatal("a new approval must get a new token")
	}
	if err := put(tok2, types.ApprovalStatusRejected); err != nil {
		t.Fatal(err)
	}
	ts.waitStatus("appr", second, types.PipelineExecutionStatusFailed, 10*time.Second)
}

func TestDisabledTransitionHoldsExecutions(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.gitRepo("app", map[string]string{"a": "a"})
	decl := declaration("hold", "app", "", stage("Build", commandsAction("Build", 1, "true")))
	if _, err := ts.client.CreatePipeline(ctx, &cp.CreatePipelineInput{Pipeline: decl}); err != nil {
		t.Fatal(err)
	}
	_, err := ts.client.DisableStageTransition(ctx, &cp.DisableStageTransitionInput{PipelineName: aws.String("hold"), StageName: aws.String("Build"),
		TransitionType: types.StageTransitionTypeInbound, Reason: aws.String("release freeze")})
	if err != nil {
		t.Fatal(err)
	}
	id := ts.latestExecution("hold")
	eventually(t, 10*time.Second, "execution waiting in front of Build", func() bool {
		for _, s := range ts.state("hold").StageStates {
			if aws.ToString(s.StageName) == "Build" && s.InboundExecution != nil {
				return aws.ToString(s.InboundExecution.PipelineExecutionId) == id && !s.InboundTransitionState.Enabled &&
					aws.ToString(s.InboundTransitionState.DisabledReason) == "release freeze"
			}
		}
		return false
	})
	// The reconcile that parked it in front of Build saw the transition
	// disabled; nothing else wakes the pipeline until the transition is
	// enabled.
	if st := ts.execStatus("hold", id); st != types.PipelineExecutionStatusInProgress {
		t.Fatalf("held execution is %s", st)
	}
	if runs := ts.actionRuns("hold", id); len(runs) != 1 || aws.ToString(runs[0].StageName) != "Source" {
		t.Fatalf("a held execution ran actions beyond Source: %d runs", len(runs))
	}
	_, err = ts.client.EnableStageTransition(ctx, &cp.EnableStageTransitionInput{PipelineName: aws.String("hold"), StageName: aws.String("Source"), TransitionType: types.StageTransitionTypeOutbound})
	if err != nil {
		t.Fatal(err)
	}
	ts.waitStatus("hold", id, types.PipelineExecutionStatusSucceeded, 30*time.Second)
	_, err = ts.client.EnableStageTransition(ctx, &cp.EnableStageTransitionInput{PipelineName: aws.String("hold"), StageName: aws.String("Nope"), TransitionType: types.StageTransitionTypeInbound})
	apiErr[*types.StageNotFoundException](t, err)
}

// TestRerunOfACommitGetsItsOwnArtifact: a second execution of an unchanged
// branch publishes the commit's archive under a new key (linked, not
// archived again), and a new commit is archived anew.
func TestRerunOfACommitGetsItsOwnArtifact(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.gitRepo("app", map[string]string{"v": "1"})
	first := ts.createPipeline(declaration("rerun", "app", "", stage("Build", commandsAction("Build", 1, "cat v"))))
	ts.waitStatus("rerun", first, types.PipelineExecutionStatusSucceeded, 20*time.Second)
	second := ts.start("rerun")
	ts.waitStatus("rerun", second, types.PipelineExecutionStatusSucceeded, 20*time.Second)
	ts.gitRepo("app", map[string]string{"v": "2"})
	third := ts.start("rerun")
	ts.waitStatus("rerun", third, types.PipelineExecutionStatusSucceeded, 20*time.Second)

	sourceArtifact := func(id string) []byte {
		acts, err := ts.client.ListActionExecutions(ctx, &cp.ListActionExecutionsInput{PipelineName: aws.String("rerun"), Filter: &types.ActionExecutionFilter{PipelineExecutionId: &id}})
		if err != nil {
			t.Fatal(err)
		}
		loc := acts.ActionExecutionDetails[len(acts.ActionExecutionDetails)-1].Output.OutputArtifacts[0].S3location
		b := ts.objectBytes(loc.Bucket, loc.Key)
		return append([]byte(aws.ToString(loc.Key)+"\n"), b...)
	}
	a, b, c := sourceArtifact(first), sourceArtifact(second), sourceArtifact(third)
	keyA, zipA, _ := strings.Cut(string(a), "\n")
	keyB, zipB, _ := strings.Cut(string(b), "\n")
	_, zipC, _ := strings.Cut(string(c), "\n")
	if keyA == keyB {
		t.Fatal("two executions share one artifact key")
	}
	if zipA != zipB {
		t.Fatal("the same commit gave different archives")
	}
	if zipC == zipA {
		t.Fatal("a new commit reused the old archive")
	}
}

func TestApprovalExpires(t *testing.T) {
	t.Parallel()
	// The services' clock can jump: once it is past the approval's
	// deadline, the next reconcile fails the approval. (That a timer wakes
	// the reconcile at the deadline is the engine's own test.)
	var offset atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	ts := startServer(t, func(c *server.Config) { c.Now = clock })
	ts.gitRepo("app", map[string]string{"a": "a"})
	ok := approvalAction("Ok")
	ok.TimeoutInMinutes = aws.Int32(5)
	id := ts.createPipeline(declaration("expire", "app", "", stage("Approve", ok)))
	ts.approvalToken("expire", "Approve", "Ok")
	offset.Store(int64(4 * time.Minute))
	// A second execution runs its Source and then waits in front of
	// Approve: the reconciles that take it there see the whole pipeline,
	// the first approval included, at the clock's new time.
	next := ts.start("expire")
	ts.waitInbound("expire", "Approve", next, id)
	if st := ts.execStatus("expire", id); st != types.PipelineExecutionStatusInProgress {
		t.Fatalf("expired before its timeout: %s", st)
	}
	// Out of the way, so that the approval's state below is the first's.
	if err := ts.stop("expire", next, false, ""); err != nil {
		t.Fatal(err)
	}
	ts.waitStatus("expire", next, types.PipelineExecutionStatusStopped, 10*time.Second)
	offset.Store(int64(5*time.Minute + time.Second))
	ts.tag("expire", "poke", "2")
	ts.waitStatus("expire", id, types.PipelineExecutionStatusFailed, 10*time.Second)
	a := ts.actionState("expire", "Approve", "Ok")
	if a.Status != types.ActionExecutionStatusFailed || a.ErrorDetails == nil || !strings.Contains(aws.ToString(a.ErrorDetails.Message), "expired") || a.Token != nil {
		t.Fatalf("expired approval: %+v", a)
	}
}

// tag tags a pipeline, which also makes the engine reconcile it.
func (ts *testServer) tag(pipeline, key, value string) {
	ts.t.Helper()
	arn := "arn:aws:codepipeline:us-east-1:000000000000:" + pipeline
	if _, err := ts.client.TagResource(ctx, &cp.TagResourceInput{ResourceArn: &arn, Tags: []types.Tag{{Key: &key, Value: &value}}}); err != nil {
		ts.t.Fatal(err)
	}
}
