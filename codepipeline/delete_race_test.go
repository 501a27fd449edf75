package codepipeline_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pipewright/pipewright/artifacts"
	"github.com/pipewright/pipewright/codepipeline"
	"github.com/pipewright/pipewright/codepipeline/shape"
	"github.com/pipewright/pipewright/engine"
	"github.com/pipewright/pipewright/jobs"
	"github.com/pipewright/pipewright/runner"
	"github.com/pipewright/pipewright/store/sqlite"
)

// TestDeleteBetweenDecidingAndStartingAJob forces the interleaving the
// engine can hit: a reconcile committed a Commands run, DeletePipeline
// runs, and only then does the reconcile start the run's job. The job must
// not run for the deleted pipeline.
func TestDeleteBetweenDecidingAndStartingAJob(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	arts, err := artifacts.Open(t.TempDir(), db.Objects())
	if err != nil {
		t.Fatal(err)
	}
	run, err := runner.New(runner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng := engine.New(1, nil)
	work := t.TempDir()
	mgr := jobs.New(jobs.Config{Store: db.Jobs(), Runner: run, Artifacts: arts, WorkDir: work, LogDir: t.TempDir(), Boot: eng.Boot()})
	s := codepipeline.New(codepipeline.Config{Store: db.CodePipeline(), Engine: eng, Jobs: mgr, Artifacts: arts, TempDir: work, AccountID: "000000000000", Region: "us-east-1"})
	if err := mgr.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer mgr.Close()

	mark := filepath.Join(t.TempDir(), "ran")
	r := &codepipeline.ActionRun{ID: "run-1", ExecutionID: "e1", Pipeline: "p", Stage: "Build", Action: "Make", Status: codepipeline.ActionInProgress, Boot: eng.Boot(),
		Input:    codepipeline.ActionInput{ActionTypeID: codepipeline.ActionTypeID{"Compute", "AWS", "Commands", "1"}},
		Commands: []string{"touch '" + mark + "'"}}
	err = db.CodePipeline().Update(ctx, func(tx codepipeline.Tx) error {
		if err := tx.CreatePipeline(&codepipeline.Pipeline{Name: "p", Version: 1, Declaration: []byte(`{}`)}); err != nil {
			return err
		}
		if err := tx.CreateExecution(&codepipeline.Execution{ID: "e1", Pipeline: "p", Status: codepipeline.ExecutionInProgress, StageName: "Build"}); err != nil {
			return err
		}
		return tx.CreateActionRun(r)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeletePipeline(ctx, &shape.DeletePipelineInput{Name: ptr("p")}); err != nil {
		t.Fatal(err)
	}
	s.StartJob(r, "bucket-x")
	var j *jobs.Job
	deadline := time.Now().Add(10 * time.Second)
	for {
		j, err = mgr.ByToken(ctx, codepipeline.JobOwner, r.ID)
		if err == nil && j.Status.Terminal() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job of the deleted pipeline did not end: %+v %v", j, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if j.Status != jobs.StatusStopped {
		t.Fatalf("job of a deleted pipeline: %s %s", j.Status, j.Message)
	}
	if _, err := os.Stat(mark); err == nil {
		t.Fatal("the job ran for a deleted pipeline")
	}
}
