package server_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cp "github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
)

// gate is a file a test creates to let a waiting command finish.
type gate string

func newGate(t *testing.T) gate { return gate(filepath.Join(jobDir(t), "gate")) }

// wait is a command that blocks until the gate is opened.
func (g gate) wait() string {
	return fmt.Sprintf("while [ ! -e '%s' ]; do sleep 0.02; done", string(g))
}

func (g gate) open(t *testing.T) {
	if err := os.WriteFile(string(g), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (ts *testServer) stop(pipeline, id string, abandon bool, reason string) error {
	_, err := ts.client.StopPipelineExecution(ctx, &cp.StopPipelineExecutionInput{PipelineName: &pipeline, PipelineExecutionId: &id, Abandon: abandon, Reason: &reason})
	return err
}

// waitAction waits until an action's latest execution has the status.
func (ts *testServer) waitAction(pipeline, stage, action string, want types.ActionExecutionStatus) *types.ActionExecution {
	ts.t.Helper()
	var a *types.ActionExecution
	eventually(ts.t, 30*time.Second, action+" to be "+string(want), func() bool {
		a = ts.actionState(pipeline, stage, action)
		return a != nil && a.Status == want
	})
	return a
}

func (ts *testServer) stageStatus(pipeline, stage string) types.StageExecutionStatus {
	for _, s := range ts.state(pipeline).StageStates {
		if aws.ToString(s.StageName) == stage && s.LatestExecution != nil {
			return s.LatestExecution.Status
		}
	}
	return ""
}

func (ts *testServer) stopTrigger(pipeline, id string) *types.StopExecutionTrigger {
	out, err := ts.client.ListPipelineExecutions(ctx, &cp.ListPipelineExecutionsInput{PipelineName: &pipeline})
	if err != nil {
		ts.t.Fatal(err)
	}
	for _, s := range out.PipelineExecutionSummaries {
		if aws.ToString(s.PipelineExecutionId) == id {
			return s.StopTrigger
		}
	}
	return nil
}

func TestStopAndWait(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.gitRepo("app", map[string]string{"a": "a"})
	g := newGate(t)
	id := ts.createPipeline(declaration("wait", "app", "",
		stage("Build", commandsAction("Slow", 1, g.wait()), commandsAction("Later", 2, "true")),
		stage("Deploy", commandsAction("Deploy", 1, "true"))))
	ts.waitAction("wait", "Build", "Slow", types.ActionExecutionStatusInProgress)

	if err := ts.stop("wait", id, false, "hotfix coming"); err != nil {
		t.Fatal(err)
	}
	if st := ts.execStatus("wait", id); st != types.PipelineExecutionStatusStopping {
		t.Fatalf("after stop-and-wait: %s", st)
	}
	apiErr[*types.DuplicatedStopRequestException](t, ts.stop("wait", id, false, "again"))
	eventually(t, 5*time.Second, "stage Stopping", func() bool { return ts.stageStatus("wait", "Build") == types.StageExecutionStatusStopping })
	if a := ts.actionState("wait", "Build", "Slow"); a.Status != types.ActionExecutionStatusInProgress {
		t.Fatalf("stop-and-wait must let the action run: %s", a.Status)
	}
	g.open(t)
	// Stopped is final and follows the recorded result of Slow: from then
	// on nothing can start for this execution, so what ran is all there is.
	ts.waitStatus("wait", id, types.PipelineExecutionStatusStopped, 10*time.Second)
	if a := ts.actionState("wait", "Build", "Slow"); a.Status != types.ActionExecutionStatusSucceeded {
		t.Fatalf("the in-progress action finishes: %s", a.Status)
	}
	var ran []string
	for _, d := range ts.actionRuns("wait", id) {
		ran = append(ran, aws.ToString(d.StageName)+"/"+aws.ToString(d.ActionName))
	}
	if strings.Join(ran, ",") != "Build/Slow,Source/Source" {
		t.Fatalf("after stop-and-wait neither Later nor the Deploy stage may start; ran: %v", ran)
	}
	if st := ts.stageStatus("wait", "Build"); st != types.StageExecutionStatusStopped {
		t.Fatalf("stage %s", st)
	}
	if tr := ts.stopTrigger("wait", id); tr == nil || aws.ToString(tr.Reason) != "hotfix coming" {
		t.Fatalf("stopTrigger %+v", tr)
	}
	apiErr[*types.PipelineExecutionNotStoppableException](t, ts.stop("wait", id, false, ""))
	apiErr[*types.PipelineExecutionNotStoppableException](t, ts.stop("wait", id, true, ""))

	// The stage unlocked: a new execution runs through it.
	next := ts.start("wait")
	ts.waitStatus("wait", next, types.PipelineExecutionStatusSucceeded, 30*time.Second)

	// RetryStageExecution of a stopped stage: the old execution is no
	// longer the latest in Build.
	_, err := ts.client.RetryStageExecution(ctx, &cp.RetryStageExecutionInput{PipelineName: aws.String("wait"), StageName: aws.String("Build"), PipelineExecutionId: &id, RetryMode: types.StageRetryModeFailedActions})
	apiErr[*types.NotLatestPipelineExecutionException](t, err)
}

func TestStopAndAbandonLeavesWorkRunning(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.gitRepo("app", map[string]string{"a": "a"})
	g := newGate(t)
	ran := filepath.Join(jobDir(t), "ran-after-abandon")
	id := ts.createPipeline(declaration("aband", "app", "",
		stage("Build", commandsAction("Slow", 1, g.wait(), fmt.Sprintf("touch '%s'", ran)))))
	ts.waitAction("aband", "Build", "Slow", types.ActionExecutionStatusInProgress)
	job := ts.jobOf("aband", "Build", "Slow")
	ts.jobWorkspace(job)
	if err := ts.stop("aband", id, true, "abandon it"); err != nil {
		t.Fatal(err)
	}
	ts.waitStatus("aband", id, types.PipelineExecutionStatusStopped, 5*time.Second)
	a := ts.actionState("aband", "Build", "Slow")
	if a.Status != types.ActionExecutionStatusAbandoned {
		t.Fatalf("action %s", a.Status)
	}
	if st := ts.stageStatus("aband", "Build"); st != types.StageExecutionStatusStopped {
		t.Fatalf("stage %s", st)
	}
	apiErr[*types.PipelineExecutionNotStoppableException](t, ts.stop("aband", id, true, ""))
	// As on AWS, abandon does not stop the work: the commands see the gate
	// opened after the abandon and go on to the next one.
	g.open(t)
	eventually(t, 30*time.Second, "the abandoned commands to run on past the gate", func() bool {
		_, err := os.Stat(ran)
		return err == nil
	})
	// Their late success, once the server handled it, leaves the recorded
	// Abandoned as it was.
	ts.waitJobEnded(job)
	if a := ts.actionState("aband", "Build", "Slow"); a.Status != types.ActionExecutionStatusAbandoned {
		t.Fatalf("a late result overwrote Abandoned: %s", a.Status)
	}
	if runs := ts.actionRuns("aband", id); runs[0].Status != types.ActionExecutionStatusAbandoned {
		t.Fatalf("ListActionExecutions shows %s", runs[0].Status)
	}
}

func TestAbandonCancelsJobsTagKillsWholeTree(t *testing.T) {
	t.Parallel()
	ts := startServer(t, withGrace(500*time.Millisecond))
	ts.gitRepo("app", map[string]string{"a": "a"})
	pids := filepath.Join(jobDir(t), "pids")
	// A tree with a background child, a setsid'd grandchild, a
	// double-forked daemon and a process that ignores SIGTERM.
	cmds := []string{
		fmt.Sprintf("sleep 300 & echo $! >> '%s'", pids),
		fmt.Sprintf("setsid sleep 301 & echo $! >> '%s'", pids),
		fmt.Sprintf("( setsid sh -c 'sleep 302 & echo $! >> %s' & )", pids),
		fmt.Sprintf("sh -c 'trap \"\" TERM; echo $$ >> %s; while true; do sleep 0.1; done' &", pids),
		"sleep 303",
	}
	tags := []types.Tag{{Key: aws.String("pipewright:abandon-cancels-jobs"), Value: aws.String("true")}}
	id := ts.createPipeline(declaration("kill", "app", "", stage("Build", commandsAction("Tree", 1, cmds...))), tags...)
	ts.waitAction("kill", "Build", "Tree", types.ActionExecutionStatusInProgress)
	tree := ts.jobOf("kill", "Build", "Tree")
	var list []int
	eventually(t, 10*time.Second, "4 pids", func() bool {
		b, _ := os.ReadFile(pids)
		list = nil
		for _, f := range strings.Fields(string(b)) {
			n, _ := strconv.Atoi(f)
			if pid := hostPID(tree, n); pid > 0 {
				list = append(list, pid)
			}
		}
		return len(list) == 4
	})
	for _, p := range list {
		if !alive(p) {
			t.Fatalf("pid %d not running before the stop", p)
		}
	}
	if err := ts.stop("kill", id, true, "kill it all"); err != nil {
		t.Fatal(err)
	}
	ts.waitStatus("kill", id, types.PipelineExecutionStatusStopped, 5*time.Second)
	eventually(t, 5*time.Second, "every process of the tree gone", func() bool {
		for _, p := range list {
			if alive(p) {
				return false
			}
		}
		return true
	})
	if a := ts.actionState("kill", "Build", "Tree"); a.Status != types.ActionExecutionStatusAbandoned {
		t.Fatalf("action %s", a.Status)
	}
}

func TestStopEscalatesFromWaitToAbandon(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.gitRepo("app", map[string]string{"a": "a"})
	g := newGate(t)
	defer g.open(t)
	id := ts.createPipeline(declaration("esc", "app", "", stage("Build", commandsAction("Slow", 1, g.wait()))))
	ts.waitAction("esc", "Build", "Slow", types.ActionExecutionStatusInProgress)
	if err := ts.stop("esc", id, false, "first wait"); err != nil {
		t.Fatal(err)
	}
	if err := ts.stop("esc", id, true, "then abandon"); err != nil {
		t.Fatalf("escalating to abandon must be allowed: %v", err)
	}
	// Once abandoned the execution is Stopping for a moment, then Stopped:
	// a repeated stop is a duplicate or not stoppable, never accepted.
	for _, abandon := range []bool{true, false} {
		err := ts.stop("esc", id, abandon, "again")
		var d *types.DuplicatedStopRequestException
		var ns *types.PipelineExecutionNotStoppableException
		if !asErr(err, &d) && !asErr(err, &ns) {
			t.Fatalf("repeated stop (abandon=%v): %v", abandon, err)
		}
	}
	ts.waitStatus("esc", id, types.PipelineExecutionStatusStopped, 5*time.Second)
	if a := ts.actionState("esc", "Build", "Slow"); a.Status != types.ActionExecutionStatusAbandoned {
		t.Fatalf("action %s", a.Status)
	}
	if tr := ts.stopTrigger("esc", id); aws.ToString(tr.Reason) != "then abandon" {
		t.Fatalf("reason %q", aws.ToString(tr.Reason))
	}
}

// TestConcurrentStops forces the race the stop rules name: many clients
// stop one execution at once; exactly one wins per mode.
func TestConcurrentStops(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.gitRepo("app", map[string]string{"a": "a"})
	g := newGate(t)
	defer g.open(t)
	const n = 16
	race := func(pipeline, id string, abandon bool) (won int, dup int) {
		var wg sync.WaitGroup
		errs := make([]error, n)
		startLine := make(chan struct{})
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				c := newClient(ts.url, testKey, testSecret)
				<-startLine
				_, errs[i] = c.StopPipelineExecution(ctx, &cp.StopPipelineExecutionInput{PipelineName: &pipeline, PipelineExecutionId: &id, Abandon: abandon, Reason: aws.String(fmt.Sprint("caller ", i))})
			}(i)
		}
		close(startLine)
		wg.Wait()
		for _, err := range errs {
			var d *types.DuplicatedStopRequestException
			var ns *types.PipelineExecutionNotStoppableException
			switch {
			case err == nil:
				won++
			case asErr(err, &d):
				dup++
			case asErr(err, &ns):
				dup++
			default:
				t.Fatalf("unexpected error: %v", err)
			}
		}
		return won, dup
	}
	for round := 0; round < 3; round++ {
		name := fmt.Sprint("race", round)
		id := ts.createPipeline(declaration(name, "app", "", stage("Build", commandsAction("Slow", 1, g.wait()))))
		ts.waitAction(name, "Build", "Slow", types.ActionExecutionStatusInProgress)
		if won, _ := race(name, id, false); won != 1 {
			t.Fatalf("round %d: %d stop-and-wait requests won, want exactly 1", round, won)
		}
		if won, _ := race(name, id, true); won != 1 {
			t.Fatalf("round %d: %d abandon requests won, want exactly 1", round, won)
		}
		ts.waitStatus(name, id, types.PipelineExecutionStatusStopped, 5*time.Second)
	}
}

func asErr[T error](err error, target *T) bool { return errorsAs(err, target) }

func TestStopWaitingExecutionNeverEnters(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.gitRepo("app", map[string]string{"a": "a"})
	g := newGate(t)
	first := ts.createPipeline(declaration("inb", "app", "", stage("Build", commandsAction("Slow", 1, g.wait()))))
	ts.waitAction("inb", "Build", "Slow", types.ActionExecutionStatusInProgress)
	second := ts.start("inb")
	eventually(t, 10*time.Second, "second execution waiting in front of Build", func() bool {
		for _, s := range ts.state("inb").StageStates {
			if aws.ToString(s.StageName) == "Build" && s.InboundExecution != nil {
				return aws.ToString(s.InboundExecution.PipelineExecutionId) == second
			}
		}
		return false
	})
	if err := ts.stop("inb", second, false, "not this one"); err != nil {
		t.Fatal(err)
	}
	ts.waitStatus("inb", second, types.PipelineExecutionStatusStopped, 5*time.Second)
	g.open(t)
	ts.waitStatus("inb", first, types.PipelineExecutionStatusSucceeded, 10*time.Second)
	acts, _ := ts.client.ListActionExecutions(ctx, &cp.ListActionExecutionsInput{PipelineName: aws.String("inb"), Filter: &types.ActionExecutionFilter{PipelineExecutionId: &second}})
	for _, d := range acts.ActionExecutionDetails {
		if aws.ToString(d.StageName) == "Build" {
			t.Fatal("a stopped waiting execution entered the stage")
		}
	}
	_, err := ts.client.RetryStageExecution(ctx, &cp.RetryStageExecutionInput{PipelineName: aws.String("inb"), StageName: aws.String("Build"), PipelineExecutionId: &second, RetryMode: types.StageRetryModeAllActions})
	apiErr[*types.NotLatestPipelineExecutionException](t, err)
}

func TestRetryStoppedAndFailedStages(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.gitRepo("app", map[string]string{"a": "a"})
	g := newGate(t)
	flaky := filepath.Join(jobDir(t), "flaky")
	id := ts.createPipeline(declaration("retry", "app", "",
		stage("Build", commandsAction("Slow", 1, g.wait()), commandsAction("Flaky", 2, fmt.Sprintf("test -e '%s'", flaky))),
		stage("Deploy", commandsAction("Deploy", 1, "true"))))
	ts.waitAction("retry", "Build", "Slow", types.ActionExecutionStatusInProgress)
	retry := func(mode types.StageRetryMode) error {
		_, err := ts.client.RetryStageExecution(ctx, &cp.RetryStageExecutionInput{PipelineName: aws.String("retry"), StageName: aws.String("Build"), PipelineExecutionId: &id, RetryMode: mode})
		return err
	}
	apiErr[*types.StageNotRetryableException](t, retry(types.StageRetryModeFailedActions))
	if err := ts.stop("retry", id, false, "pause"); err != nil {
		t.Fatal(err)
	}
	g.open(t)
	ts.waitStatus("retry", id, types.PipelineExecutionStatusStopped, 10*time.Second)

	// Retrying the stopped stage goes on from where it stopped: Slow is
	// done, Flaky runs and fails.
	if err := retry(types.StageRetryModeFailedActions); err != nil {
		t.Fatal(err)
	}
	ts.waitStatus("retry", id, types.PipelineExecutionStatusFailed, 10*time.Second)
	slowRuns := func() int {
		acts, _ := ts.client.ListActionExecutions(ctx, &cp.ListActionExecutionsInput{PipelineName: aws.String("retry"), Filter: &types.ActionExecutionFilter{PipelineExecutionId: &id}})
		n := 0
		for _, d := range acts.ActionExecutionDetails {
			if aws.ToString(d.ActionName) == "Slow" {
				n++
			}
		}
		return n
	}
	if n := slowRuns(); n != 1 {
		t.Fatalf("FAILED_ACTIONS re-ran Slow: %d runs", n)
	}
	os.WriteFile(flaky, nil, 0o644)
	if err := retry(types.StageRetryModeAllActions); err != nil {
		t.Fatal(err)
	}
	ts.waitStatus("retry", id, types.PipelineExecutionStatusSucceeded, 20*time.Second)
	if n := slowRuns(); n != 2 {
		t.Fatalf("ALL_ACTIONS must re-run Slow: %d runs", n)
	}
	apiErr[*types.StageNotRetryableException](t, retry(types.StageRetryModeAllActions))
	_, err := ts.client.RetryStageExecution(ctx, &cp.RetryStageExecutionInput{PipelineName: aws.String("retry"), StageName: aws.String("Nope"), PipelineExecutionId: &id, RetryMode: types.StageRetryModeAllActions})
	apiErr[*types.StageNotFoundException](t, err)
}

func TestStopPendingApproval(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.gitRepo("app", map[string]string{"a": "a"})
	id := ts.createPipeline(declaration("apst", "app", "", stage("Approve", approvalAction("Ok"))))
	tok := ts.approvalToken("apst", "Approve", "Ok")
	if err := ts.stop("apst", id, false, "wait on approval"); err != nil {
		t.Fatal(err)
	}
	// The reconcile that carries the stop out marks the stage Stopping; it
	// has seen the pending approval and kept waiting for it.
	eventually(t, 10*time.Second, "stage Stopping", func() bool { return ts.stageStatus("apst", "Approve") == types.StageExecutionStatusStopping })
	if st := ts.execStatus("apst", id); st != types.PipelineExecutionStatusStopping {
		t.Fatalf("stop-and-wait keeps waiting for the approval: %s", st)
	}
	if a := ts.actionState("apst", "Approve", "Ok"); a.Status != types.ActionExecutionStatusInProgress || aws.ToString(a.Token) != tok {
		t.Fatalf("the pending approval under stop-and-wait: %s, token %q", a.Status, aws.ToString(a.Token))
	}
	if err := ts.stop("apst", id, true, "give up"); err != nil {
		t.Fatal(err)
	}
	ts.waitStatus("apst", id, types.PipelineExecutionStatusStopped, 5*time.Second)
	_, err := ts.client.PutApprovalResult(ctx, &cp.PutApprovalResultInput{PipelineName: aws.String("apst"), StageName: aws.String("Approve"), ActionName: aws.String("Ok"),
		Token: &tok, Result: &types.ApprovalResult{Status: types.ApprovalStatusApproved, Summary: aws.String("late")}})
	apiErr[*types.ApprovalAlreadyCompletedException](t, err)
}
