package server_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cp "github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
)

func TestSupersededMode(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.gitRepo("app", map[string]string{"a": "a"})
	g := newGate(t)
	a := ts.createPipeline(declaration("sup", "app", types.ExecutionModeSuperseded, stage("Build", commandsAction("Slow", 1, g.wait()))))
	ts.waitAction("sup", "Build", "Slow", types.ActionExecutionStatusInProgress)
	b := ts.start("sup")
	eventually(t, 10*time.Second, "b waiting in front of Build", func() bool {
		s := ts.state("sup").StageStates[1]
		return s.InboundExecution != nil && aws.ToString(s.InboundExecution.PipelineExecutionId) == b
	})
	c := ts.start("sup")
	ts.waitStatus("sup", b, types.PipelineExecutionStatusSuperseded, 10*time.Second)
	eventually(t, 10*time.Second, "c waiting in front of Build", func() bool {
		s := ts.state("sup").StageStates[1]
		return s.InboundExecution != nil && aws.ToString(s.InboundExecution.PipelineExecutionId) == c
	})
	g.open(t)
	ts.waitStatus("sup", a, types.PipelineExecutionStatusSucceeded, 10*time.Second)
	ts.waitStatus("sup", c, types.PipelineExecutionStatusSucceeded, 10*time.Second)
	apiErr[*types.PipelineExecutionNotStoppableException](t, ts.stop("sup", b, false, ""))
}

func TestQueuedMode(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.gitRepo("app", map[string]string{"a": "a"})
	g := newGate(t)
	a := ts.createPipeline(declaration("que", "app", types.ExecutionModeQueued, stage("Build", commandsAction("Slow", 1, g.wait()))))
	ts.waitAction("que", "Build", "Slow", types.ActionExecutionStatusInProgress)
	b := ts.start("que")
	c := ts.start("que")
	eventually(t, 10*time.Second, "b and c queued in front of Build", func() bool {
		return len(ts.state("que").StageStates[1].InboundExecutions) == 2
	})
	g.open(t)
	for _, id := range []string{a, b, c} {
		ts.waitStatus("que", id, types.PipelineExecutionStatusSucceeded, 20*time.Second)
	}
	// Executions went through Build one at a time, in order.
	acts, err := ts.client.ListActionExecutions(ctx, &cp.ListActionExecutionsInput{PipelineName: aws.String("que")})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for i := len(acts.ActionExecutionDetails) - 1; i >= 0; i-- {
		if d := acts.ActionExecutionDetails[i]; aws.ToString(d.StageName) == "Build" {
			order = append(order, aws.ToString(d.PipelineExecutionId))
		}
	}
	if len(order) != 3 || order[0] != a || order[1] != b || order[2] != c {
		t.Fatalf("queued order %v, want %v", order, []string{a, b, c})
	}
}

func TestParallelMode(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.gitRepo("app", map[string]string{"a": "a"})
	g := newGate(t)
	a := ts.createPipeline(declaration("par", "app", types.ExecutionModeParallel, stage("Build", commandsAction("Slow", 1, g.wait()))))
	b := ts.start("par")
	eventually(t, 10*time.Second, "both executions in Build at once", func() bool {
		acts, err := ts.client.ListActionExecutions(ctx, &cp.ListActionExecutionsInput{PipelineName: aws.String("par")})
		if err != nil {
			t.Fatal(err)
		}
		running := 0
		for _, d := range acts.ActionExecutionDetails {
			if aws.ToString(d.StageName) == "Build" && d.Status == types.ActionExecutionStatusInProgress {
				running++
			}
		}
		return running == 2
	})
	// Stopping one parallel execution leaves the other alone.
	if err := ts.stop("par", a, true, "only a"); err != nil {
		t.Fatal(err)
	}
	ts.waitStatus("par", a, types.PipelineExecutionStatusStopped, 5*time.Second)
	g.open(t)
	ts.waitStatus("par", b, types.PipelineExecutionStatusSucceeded, 10*time.Second)
}

func TestUpdatePipelineCancelsOldExecutions(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.gitRepo("app", map[string]string{"a": "a"})
	g := newGate(t)
	decl := declaration("upd", "app", "", stage("Build", commandsAction("Slow", 1, g.wait())), stage("Deploy", commandsAction("Deploy", 1, "true")))
	id := ts.createPipeline(decl)
	ts.waitAction("upd", "Build", "Slow", types.ActionExecutionStatusInProgress)
	decl.Stages[2].Actions[0].Commands = []string{"echo changed"}
	if _, err := ts.client.UpdatePipeline(ctx, &cp.UpdatePipelineInput{Pipeline: decl}); err != nil {
		t.Fatal(err)
	}
	// An execution of the new version runs its Source and then waits in
	// front of Build, which the old one holds: the reconciles that take it
	// there also decide about the old execution, under the new version.
	next := ts.start("upd")
	ts.waitInbound("upd", "Build", next, id)
	if st := ts.execStatus("upd", id); st != types.PipelineExecutionStatusInProgress {
		t.Fatalf("running actions finish first: %s", st)
	}
	if runs := ts.actionRuns("upd", id); runs[0].Status != types.ActionExecutionStatusInProgress || aws.ToString(runs[0].ActionName) != "Slow" {
		t.Fatalf("the running action after the update: %s %s", aws.ToString(runs[0].ActionName), runs[0].Status)
	}
	g.open(t)
	ts.waitStatus("upd", id, types.PipelineExecutionStatusCancelled, 10*time.Second)
	if runs := ts.actionRuns("upd", id); runs[0].Status != types.ActionExecutionStatusSucceeded || aws.ToString(runs[0].ActionName) != "Slow" {
		t.Fatalf("running action %s %s", aws.ToString(runs[0].ActionName), runs[0].Status)
	}
	// The new execution then runs the new definition.
	ts.waitStatus("upd", next, types.PipelineExecutionStatusSucceeded, 30*time.Second)
}

func TestRecreatedPipelineRunsItsNewDefinition(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.gitRepo("app", map[string]string{"a": "a"})
	first := ts.createPipeline(declaration("again", "app", "", stage("Build", commandsAction("Build", 1, "exit 3"))))
	ts.waitStatus("again", first, types.PipelineExecutionStatusFailed, 20*time.Second)
	if _, err := ts.client.DeletePipeline(ctx, &cp.DeletePipelineInput{Name: aws.String("again")}); err != nil {
		t.Fatal(err)
	}
	second := ts.createPipeline(declaration("again", "app", "", stage("Deploy", commandsAction("Deploy", 1, "true"))))
	ts.waitStatus("again", second, types.PipelineExecutionStatusSucceeded, 20*time.Second)
	if a := ts.actionState("again", "Deploy", "Deploy"); a == nil || a.Status != types.ActionExecutionStatusSucceeded {
		t.Fatalf("the new definition did not run: %+v", a)
	}
}

func TestArtifactStoresUseTheServersRegion(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.gitRepo("app", map[string]string{"a": "a"})
	decl := declaration("regions", "app", "", stage("Build", commandsAction("Build", 1, "true")))
	decl.ArtifactStore = nil
	decl.ArtifactStores = map[string]types.ArtifactStore{
		"eu-west-1":  {Type: types.ArtifactStoreTypeS3, Location: aws.String("bucket-west")},
		"us-east-1":  {Type: types.ArtifactStoreTypeS3, Location: aws.String("bucket-east")},
		"ap-south-1": {Type: types.ArtifactStoreTypeS3, Location: aws.String("bucket-south")},
	}
	id := ts.createPipeline(decl)
	ts.waitStatus("regions", id, types.PipelineExecutionStatusSucceeded, 20*time.Second)
	acts, err := ts.client.ListActionExecutions(ctx, &cp.ListActionExecutionsInput{PipelineName: aws.String("regions"), Filter: &types.ActionExecutionFilter{PipelineExecutionId: &id}})
	if err != nil {
		t.Fatal(err)
	}
	src := acts.ActionExecutionDetails[len(acts.ActionExecutionDetails)-1]
	if b := aws.ToString(src.Output.OutputArtifacts[0].S3location.Bucket); b != "bucket-east" {
		t.Fatalf("artifacts went to %s, want the us-east-1 store bucket-east", b)
	}
}
