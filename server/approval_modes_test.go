package server_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cp "github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
)

// Manual approvals in every execution mode: the token names one action
// execution, so each waiting approval can be answered.

// waitingApprovalID waits until execution id's approval action waits and
// returns the token ListActionExecutions shows as its externalExecutionId.
func (ts *testServer) waitingApprovalID(pipeline, id, action string) string {
	ts.t.Helper()
	var tok string
	eventually(ts.t, 30*time.Second, "approval of "+id+" waiting", func() bool {
		out, err := ts.client.ListActionExecutions(ctx, &cp.ListActionExecutionsInput{PipelineName: &pipeline,
			Filter: &types.ActionExecutionFilter{PipelineExecutionId: &id}})
		if err != nil {
			ts.t.Fatal(err)
		}
		for _, d := range out.ActionExecutionDetails {
			if aws.ToString(d.ActionName) == action && d.Status == types.ActionExecutionStatusInProgress && d.Output != nil && d.Output.ExecutionResult != nil {
				tok = aws.ToString(d.Output.ExecutionResult.ExternalExecutionId)
			}
		}
		return tok != ""
	})
	return tok
}

func (ts *testServer) answerApproval(pipeline, token string, status types.ApprovalStatus) error {
	_, err := ts.client.PutApprovalResult(ctx, &cp.PutApprovalResultInput{PipelineName: &pipeline, StageName: aws.String("Approve"),
		ActionName: aws.String("Ok"), Token: &token, Result: &types.ApprovalResult{Status: status, Summary: aws.String("answer")}})
	return err
}

func TestParallelApprovalsAnsweredInAnyOrder(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.gitRepo("app", map[string]string{"a": "a"})
	ids := []string{ts.createPipeline(declaration("par-appr", "app", types.ExecutionModeParallel, stage("Approve", approvalAction("Ok")), stage("Deploy", commandsAction("Deploy", 1, "true"))))}
	ids = append(ids, ts.start("par-appr"), ts.start("par-appr"))
	tokens := map[string]string{}
	for _, id := range ids {
		tokens[id] = ts.waitingApprovalID("par-appr", id, "Ok")
	}
	if tokens[ids[0]] == tokens[ids[1]] || tokens[ids[1]] == tokens[ids[2]] || tokens[ids[0]] == tokens[ids[2]] {
		t.Fatalf("tokens are not per action execution: %v", tokens)
	}
	apiErr[*types.InvalidApprovalTokenException](t, ts.answerApproval("par-appr", "00000000-0000-0000-0000-000000000000", types.ApprovalStatusApproved))

	// The middle one, then the oldest (behind a newer one), then the newest;
	// the oldest is rejected.
	order := []struct {
		id     string
		status types.ApprovalStatus
		end    types.PipelineExecutionStatus
	}{
		{ids[1], types.ApprovalStatusApproved, types.PipelineExecutionStatusSucceeded},
		{ids[0], types.ApprovalStatusRejected, types.PipelineExecutionStatusFailed},
		{ids[2], types.ApprovalStatusApproved, types.PipelineExecutionStatusSucceeded},
	}
	for _, o := range order {
		if err := ts.answerApproval("par-appr", tokens[o.id], o.status); err != nil {
			t.Fatalf("answer the approval of %s: %v", o.id, err)
		}
		ts.waitStatus("par-appr", o.id, o.end, 20*time.Second)
		// Answering it again is refused, while the others still wait.
		apiErr[*types.ApprovalAlreadyCompletedException](t, ts.answerApproval("par-appr", tokens[o.id], types.ApprovalStatusApproved))
	}
	for _, id := range ids {
		out, err := ts.client.ListActionExecutions(ctx, &cp.ListActionExecutionsInput{PipelineName: aws.String("par-appr"), Filter: &types.ActionExecutionFilter{PipelineExecutionId: &id}})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range out.ActionExecutionDetails {
			if aws.ToString(d.ActionName) == "Ok" && aws.ToString(d.Output.ExecutionResult.ExternalExecutionSummary) != "answer" {
				t.Errorf("answered approval of %s: %+v", id, d.Output.ExecutionResult)
			}
		}
	}
}

// In SUPERSEDED and QUEUED pipelines one execution at a time waits at the
// approval; its token is the one GetPipelineState and ListActionExecutions
// show, and the executions behind it are superseded or queued as before.
func TestApprovalsInSupersededAndQueuedModes(t *testing.T) {
	t.Parallel()
	for _, mode := range []types.ExecutionMode{types.ExecutionModeSuperseded, types.ExecutionModeQueued} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			ts := startServer(t)
			ts.gitRepo("app", map[string]string{"a": "a"})
			a := ts.createPipeline(declaration("appr", "app", mode, stage("Approve", approvalAction("Ok"))))
			tokA := ts.waitingApprovalID("appr", a, "Ok")
			if st := ts.approvalToken("appr", "Approve", "Ok"); st != tokA {
				t.Fatalf("GetPipelineState token %s, ListActionExecutions %s", st, tokA)
			}
			b := ts.start("appr")
			eventually(t, 10*time.Second, "b waiting in front of Approve", func() bool {
				return len(ts.state("appr").StageStates[1].InboundExecutions) == 1
			})
			c := ts.start("appr")
			if mode == types.ExecutionModeSuperseded {
				ts.waitStatus("appr", b, types.PipelineExecutionStatusSuperseded, 10*time.Second)
			} else {
				eventually(t, 10*time.Second, "b and c queued", func() bool {
					return len(ts.state("appr").StageStates[1].InboundExecutions) == 2
				})
			}
			if err := ts.answerApproval("appr", tokA, types.ApprovalStatusApproved); err != nil {
				t.Fatal(err)
			}
			ts.waitStatus("appr", a, types.PipelineExecutionStatusSucceeded, 10*time.Second)
			next := []string{c}
			if mode == types.ExecutionModeQueued {
				next = []string{b, c}
			}
			for _, id := range next {
				tok := ts.waitingApprovalID("appr", id, "Ok")
				if tok == tokA {
					t.Fatal("a new approval must get a new token")
				}
				apiErr[*types.ApprovalAlreadyCompletedException](t, ts.answerApproval("appr", tokA, types.ApprovalStatusApproved))
				if err := ts.answerApproval("appr", tok, types.ApprovalStatusApproved); err != nil {
					t.Fatal(err)
				}
				ts.waitStatus("appr", id, types.PipelineExecutionStatusSucceeded, 10*time.Second)
			}
		})
	}
}
