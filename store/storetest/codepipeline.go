// Package storetest is the conformance suite every store driver runs: the
// same tests, whatever the database behind the Store.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pipewright/pipewright/codepipeline"
)

// CodePipeline runs the suite of codepipeline.Store against stores made by
// open, which returns a new, empty store for each test.
func CodePipeline(t *testing.T, open func(t *testing.T) codepipeline.Store) {
	tests := map[string]func(*testing.T, codepipeline.Store){
		"Pipelines":               testPipelines,
		"PipelineCompareAndSet":   testPipelineCAS,
		"Executions":              testExecutions,
		"ExecutionCompareAndSet":  testExecutionCAS,
		"StageAndActionRuns":      testRuns,
		"ActionRunByToken":        testRunByToken,
		"UpdateIsAtomic":          testAtomic,
		"ProgressCommits":         testProgress,
		"DeleteRemovesHistory":    testDelete,
		"ConcurrentWritersSerial": testConcurrentCAS,
		"PruneEndedExecutions":    testPruneExecutions,
		"ArtifactGarbage":         testArtifactGarbage,
		"PanicRollsBack":          testPanicRollsBack,
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, open(t))
		})
	}
}

var ctx = context.Background()

var now = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func update(t *testing.T, s codepipeline.Store, fn func(codepipeline.Tx) error) {
	t.Helper()
	if err := s.Update(ctx, fn); err != nil {
		t.Fatal(err)
	}
}

func newPipeline(name string) *codepipeline.Pipeline {
	return &codepipeline.Pipeline{Name: name, Version: 1, Declaration: json.RawMessage(`{"name":"` + name + `"}`), Created: now, Updated: now,
		Tags: []codepipeline.Tag{{Key: "k", Value: "v"}}}
}

func newExecution(id, pipeline string, status codepipeline.ExecutionStatus) *codepipeline.Execution {
	return &codepipeline.Execution{ID: id, Pipeline: pipeline, PipelineVersion: 1, Status: status, Mode: "SUPERSEDED",
		StageName: "Source", Waiting: true, Started: now, Updated: now}
}

func testPipelines(t *testing.T, s codepipeline.Store) {
	update(t, s, func(tx codepipeline.Tx) error {
		for _, n := range []string{"b", "a", "c"} {
			if err := tx.CreatePipeline(newPipeline(n)); err != nil {
				return err
			}
		}
		return nil
	})
	err := s.Update(ctx, func(tx codepipeline.Tx) error { return tx.CreatePipeline(newPipeline("a")) })
	if !errors.Is(err, codepipeline.ErrExists) {
		t.Fatalf("duplicate create: %v", err)
	}
	s.View(ctx, func(tx codepipeline.Tx) error {
		p, err := tx.GetPipeline("a")
		if err != nil || p.Version != 1 || p.RowVersion != 1 || !p.Created.Equal(now) || len(p.Tags) != 1 || p.Tags[0].Value != "v" {
			t.Fatalf("get: %+v %v", p, err)
		}
		if _, err := tx.GetPipeline("zz"); !errors.Is(err, codepipeline.ErrNotFound) {
			t.Fatalf("missing: %v", err)
		}
		ps, err := tx.ListPipelines("", 2)
		if err != nil || len(ps) != 2 || ps[0].Name != "a" || ps[1].Name != "b" {
			t.Fatalf("list: %v %v", ps, err)
		}
		ps, _ = tx.ListPipelines("b", 10)
		if len(ps) != 1 || ps[0].Name != "c" {
			t.Fatalf("list after b: %v", ps)
		}
		return nil
	})
	update(t, s, func(tx codepipeline.Tx) error {
		p, _ := tx.GetPipeline("a")
		p.Version = 2
		p.Declaration = json.RawMessage(`{"name":"a","version":2}`)
		p.Transitions = map[string]codepipeline.Transition{"Build": {Enabled: false, Reason: "r", ChangedAt: now}}
		return tx.UpdatePipeline(p)
	})
	s.View(ctx, func(tx codepipeline.Tx) error {
		p, _ := tx.GetPipeline("a")
		if p.Version != 2 || p.RowVersion != 2 || p.Transitions["Build"].Reason != "r" {
			t.Fatalf("after update: %+v", p)
		}
		old, err := tx.GetPipelineVersion("a", 1)
		if err != nil || string(old) != `{"name":"a"}` {
			t.Fatalf("version 1: %s %v", old, err)
		}
		if _, err := tx.GetPipelineVersion("a", 3); !errors.Is(err, codepipeline.ErrNotFound) {
			t.Fatalf("version 3: %v", err)
		}
		return nil
	})
}

func testPipelineCAS(t *testing.T, s codepipeline.Store) {
	update(t, s, func(tx codepipeline.Tx) error { return tx.CreatePipeline(newPipeline("p")) })
	var stale *codepipeline.Pipeline
	s.View(ctx, func(tx codepipeline.Tx) error { stale, _ = tx.GetPipeline("p"); return nil })
	update(t, s, func(tx codepipeline.Tx) error {
		p, _ := tx.GetPipeline("p")
		p.Version = 5
		return tx.UpdatePipeline(p)
	})
	err := s.Update(ctx, func(tx codepipeline.Tx) error { stale.Version = 9; return tx.UpdatePipeline(stale) })
	if !errors.Is(err, codepipeline.ErrConflict) {
		t.Fatalf("stale update: %v", err)
	}
	s.View(ctx, func(tx codepipeline.Tx) error {
		if p, _ := tx.GetPipeline("p"); p.Version != 5 {
			t.Fatalf("a stale write overwrote the record: version %d", p.Version)
		}
		return nil
	})
}

func testExecutions(t *testing.T, s codepipeline.Store) {
	update(t, s, func(tx codepipeline.Tx) error {
		if err := tx.CreatePipeline(newPipeline("p")); err != nil {
			return err
		}
		for i := 1; i <= 5; i++ {
			e := newExecution(fmt.Sprint("e", i), "p", codepipeline.ExecutionInProgress)
			if i%2 == 0 {
				e.Status = codepipeline.ExecutionSucceeded
			}
			if i == 3 {
				e.ClientToken = "tok"
			}
			if err := tx.CreateExecution(e); err != nil {
				return err
			}
			if e.Seq != int64(i) {
				return fmt.Errorf("seq %d for execution %d", e.Seq, i)
			}
		}
		return nil
	})
	err := s.Update(ctx, func(tx codepipeline.Tx) error {
		e := newExecution("e9", "p", codepipeline.ExecutionInProgress)
		e.ClientToken = "tok"
		return tx.CreateExecution(e)
	})
	if !errors.Is(err, codepipeline.ErrExists) {
		t.Fatalf("reused token: %v", err)
	}
	err = s.Update(ctx, func(tx codepipeline.Tx) error {
		return tx.CreateExecution(newExecution("x", "nope", codepipeline.ExecutionInProgress))
	})
	if !errors.Is(err, codepipeline.ErrNotFound) {
		t.Fatalf("execution of a missing pipeline: %v", err)
	}
	s.View(ctx, func(tx codepipeline.Tx) error {
		e, err := tx.FindExecutionByToken("p", "tok")
		if err != nil || e.ID != "e3" {
			t.Fatalf("by token: %v %v", e, err)
		}
		active, _ := tx.ListActiveExecutions("p")
		if len(active) != 3 || active[0].ID != "e1" || active[2].ID != "e5" {
			t.Fatalf("active: %v", ids(active))
		}
		page, _ := tx.ListExecutions("p", 0, 2, "")
		if len(page) != 2 || page[0].ID != "e5" || page[1].ID != "e4" {
			t.Fatalf("newest first: %v", ids(page))
		}
		page, _ = tx.ListExecutions("p", page[1].Seq, 10, "")
		if len(page) != 3 || page[0].ID != "e3" {
			t.Fatalf("next page: %v", ids(page))
		}
		names, _ := tx.PipelinesWithActiveExecutions()
		if len(names) != 1 || names[0] != "p" {
			t.Fatalf("pipelines with active executions: %v", names)
		}
		if _, err := tx.GetExecution("p", "nope"); !errors.Is(err, codepipeline.ErrNotFound) {
			t.Fatalf("missing execution: %v", err)
		}
		if _, err := tx.GetExecution("other", "e1"); !errors.Is(err, codepipeline.ErrNotFound) {
			t.Fatal("an execution is found only in its own pipeline")
		}
		return nil
	})
}

func ids(es []*codepipeline.Execution) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func testExecutionCAS(t *testing.T, s codepipeline.Store) {
	update(t, s, func(tx codepipeline.Tx) error {
		if err := tx.CreatePipeline(newPipeline("p")); err != nil {
			return err
		}
		return tx.CreateExecution(newExecution("e", "p", codepipeline.ExecutionInProgress))
	})
	var a, b *codepipeline.Execution
	s.View(ctx, func(tx codepipeline.Tx) error {
		a, _ = tx.GetExecution("p", "e")
		b, _ = tx.GetExecution("p", "e")
		return nil
	})
	a.Status, a.Stop = codepipeline.ExecutionStopping, &codepipeline.StopRequest{Mode: codepipeline.StopWait, Reason: "first", At: now}
	update(t, s, func(tx codepipeline.Tx) error { return tx.UpdateExecution(a) })
	if a.RowVersion != 2 {
		t.Fatalf("row version after update: %d", a.RowVersion)
	}
	b.Status, b.Stop = codepipeline.ExecutionStopping, &codepipeline.StopRequest{Mode: codepipeline.StopAbandon, Reason: "second", At: now}
	if err := s.Update(ctx, func(tx codepipeline.Tx) error { return tx.UpdateExecution(b) }); !errors.Is(err, codepipeline.ErrConflict) {
		t.Fatalf("the second writer must lose: %v", err)
	}
	s.View(ctx, func(tx codepipeline.Tx) error {
		e, _ := tx.GetExecution("p", "e")
		if e.Stop == nil || e.Stop.Reason != "first" || !e.Stop.At.Equal(now) {
			t.Fatalf("stored stop: %+v", e.Stop)
		}
		return nil
	})
	a.Status = codepipeline.ExecutionStopped
	update(t, s, func(tx codepipeline.Tx) error { return tx.UpdateExecution(a) })
	s.View(ctx, func(tx codepipeline.Tx) error {
		if active, _ := tx.ListActiveExecutions("p"); len(active) != 0 {
			t.Fatal("a Stopped execution is not active")
		}
		return nil
	})
}

// createPipelineWithExecutions creates pipeline p with executions e1 and
// e2, in progress.
func createPipelineWithExecutions(tx codepipeline.Tx) error {
	if err := tx.CreatePipeline(newPipeline("p")); err != nil {
		return err
	}
	for _, id := range []string{"e1", "e2"} {
		if err := tx.CreateExecution(newExecution(id, "p", codepipeline.ExecutionInProgress)); err != nil {
			return err
		}
	}
	return nil
}

func testRuns(t *testing.T, s codepipeline.Store) {
	update(t, s, func(tx codepipeline.Tx) error {
		if err := createPipelineWithExecutions(tx); err != nil {
			return err
		}
		for _, id := range []string{"e1", "e2"} {
			if err := tx.CreateStageRun(&codepipeline.StageRun{ExecutionID: id, Pipeline: "p", Stage: "Build", Status: codepipeline.StageInProgress, Attempt: 1, BaseAttempt: 1}); err != nil {
				return err
			}
			for _, a := range []string{"A", "B"} {
				r := &codepipeline.ActionRun{ID: id + a, ExecutionID: id, Pipeline: "p", Stage: "Build", Action: a, Status: codepipeline.ActionInProgress,
					Input: codepipeline.ActionInput{Configuration: map[string]string{"k": "v"}}, Outputs: []codepipeline.OutputDecl{{Name: "out", Files: []string{"**/*"}}}}
				if err := tx.CreateActionRun(r); err != nil {
					return err
				}
			}
		}
		dup := &codepipeline.StageRun{ExecutionID: "e1", Pipeline: "p", Stage: "Build"}
		if err := tx.CreateStageRun(dup); !errors.Is(err, codepipeline.ErrExists) {
			return fmt.Errorf("second run of a stage in one execution: %v", err)
		}
		return nil
	})
	s.View(ctx, func(tx codepipeline.Tx) error {
		sr, err := tx.LatestStageRun("p", "Build")
		if err != nil || sr.ExecutionID != "e2" {
			t.Fatalf("latest stage run: %+v %v", sr, err)
		}
		r, err := tx.LatestActionRun("p", "Build", "A")
		if err != nil || r.ID != "e2A" || r.Input.Configuration["k"] != "v" || len(r.Outputs) != 1 || r.Outputs[0].Files[0] != "**/*" {
			t.Fatalf("latest action run: %+v %v", r, err)
		}
		runs, _ := tx.ListActionRunsForExecution("e1")
		if len(runs) != 2 || runs[0].Action != "A" {
			t.Fatalf("runs of e1: %d", len(runs))
		}
		page, _ := tx.ListActionRuns("p", "", 0, 3)
		if len(page) != 3 || page[0].ID != "e2B" {
			t.Fatalf("newest first: %v", page[0].ID)
		}
		rest, _ := tx.ListActionRuns("p", "", page[2].Seq, 10)
		if len(rest) != 1 || rest[0].ID != "e1A" {
			t.Fatalf("second page: %d", len(rest))
		}
		only, _ := tx.ListActionRuns("p", "e1", 0, 10)
		if len(only) != 2 {
			t.Fatalf("runs filtered by execution: %d", len(only))
		}
		if _, err := tx.LatestStageRun("p", "Nope"); !errors.Is(err, codepipeline.ErrNotFound) {
			t.Fatal("no run of a stage nobody entered")
		}
		return nil
	})
	var r1, r2 *codepipeline.ActionRun
	s.View(ctx, func(tx codepipeline.Tx) error {
		r1, _ = tx.GetActionRun("e1A")
		r2, _ = tx.GetActionRun("e1A")
		return nil
	})
	r1.Status = codepipeline.ActionAbandoned
	update(t, s, func(tx codepipeline.Tx) error { return tx.UpdateActionRun(r1) })
	r2.Status = codepipeline.ActionSucceeded
	if err := s.Update(ctx, func(tx codepipeline.Tx) error { return tx.UpdateActionRun(r2) }); !errors.Is(err, codepipeline.ErrConflict) {
		t.Fatalf("a late result must not overwrite Abandoned: %v", err)
	}
	var sr1 *codepipeline.StageRun
	s.View(ctx, func(tx codepipeline.Tx) error { sr1, _ = tx.GetStageRun("e1", "Build"); return nil })
	stale := *sr1
	sr1.Status = codepipeline.StageStopped
	update(t, s, func(tx codepipeline.Tx) error { return tx.UpdateStageRun(sr1) })
	stale.Status = codepipeline.StageSucceeded
	if err := s.Update(ctx, func(tx codepipeline.Tx) error { return tx.UpdateStageRun(&stale) }); !errors.Is(err, codepipeline.ErrConflict) {
		t.Fatalf("stale stage run update: %v", err)
	}
}

// testRunByToken: an approval is found by its token while it waits and
// after it was answered, only within its own action.
func testRunByToken(t *testing.T, s codepipeline.Store) {
	update(t, s, func(tx codepipeline.Tx) error {
		if err := createPipelineWithExecutions(tx); err != nil {
			return err
		}
		for _, r := range []*codepipeline.ActionRun{
			{ID: "r1", ExecutionID: "e1", Pipeline: "p", Stage: "Approve", Action: "Ok", Status: codepipeline.ActionInProgress, Token: "t1"},
			{ID: "r2", ExecutionID: "e2", Pipeline: "p", Stage: "Approve", Action: "Ok", Status: codepipeline.ActionSucceeded, AnsweredToken: "t2"},
			{ID: "r3", ExecutionID: "e2", Pipeline: "p", Stage: "Approve", Action: "Other", Status: codepipeline.ActionInProgress, Token: "t3"},
		} {
			if err := tx.CreateActionRun(r); err != nil {
				return err
			}
		}
		return nil
	})
	s.View(ctx, func(tx codepipeline.Tx) error {
		for token, want := range map[string]string{"t1": "r1", "t2": "r2"} {
			r, err := tx.FindActionRunByToken("p", "Approve", "Ok", token)
			if err != nil || r.ID != want {
				t.Errorf("token %s: %+v %v, want run %s", token, r, err, want)
			}
		}
		for _, token := range []string{"t3", "", "nope"} {
			if r, err := tx.FindActionRunByToken("p", "Approve", "Ok", token); !errors.Is(err, codepipeline.ErrNotFound) {
				t.Errorf("token %q of no run of Approve/Ok: %+v %v", token, r, err)
			}
		}
		return nil
	})
}

func testAtomic(t *testing.T, s codepipeline.Store) {
	boom := errors.New("boom")
	err := s.Update(ctx, func(tx codepipeline.Tx) error {
		if err := tx.CreatePipeline(newPipeline("p")); err != nil {
			return err
		}
		if err := tx.CreateExecution(newExecution("e", "p", codepipeline.ExecutionInProgress)); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update must return fn's error: %v", err)
	}
	s.View(ctx, func(tx codepipeline.Tx) error {
		if _, err := tx.GetPipeline("p"); !errors.Is(err, codepipeline.ErrNotFound) {
			t.Fatal("a failed Update left a pipeline behind")
		}
		if _, err := tx.GetExecution("p", "e"); !errors.Is(err, codepipeline.ErrNotFound) {
			t.Fatal("a failed Update left an execution behind")
		}
		return nil
	})
}

func testDelete(t *testing.T, s codepipeline.Store) {
	update(t, s, func(tx codepipeline.Tx) error {
		if err := tx.CreatePipeline(newPipeline("p")); err != nil {
			return err
		}
		if err := tx.CreateExecution(newExecution("e", "p", codepipeline.ExecutionInProgress)); err != nil {
			return err
		}
		if err := tx.CreateStageRun(&codepipeline.StageRun{ExecutionID: "e", Pipeline: "p", Stage: "S", Status: codepipeline.StageInProgress}); err != nil {
			return err
		}
		return tx.CreateActionRun(&codepipeline.ActionRun{ID: "r", ExecutionID: "e", Pipeline: "p", Stage: "S", Action: "A", Status: codepipeline.ActionInProgress})
	})
	update(t, s, func(tx codepipeline.Tx) error { return tx.DeletePipeline("p") })
	update(t, s, func(tx codepipeline.Tx) error { return tx.CreatePipeline(newPipeline("p")) })
	s.View(ctx, func(tx codepipeline.Tx) error {
		if _, err := tx.GetExecution("p", "e"); !errors.Is(err, codepipeline.ErrNotFound) {
			t.Fatal("a recreated pipeline inherited an execution")
		}
		if _, err := tx.GetActionRun("r"); !errors.Is(err, codepipeline.ErrNotFound) {
			t.Fatal("action runs survived the delete")
		}
		if _, err := tx.LatestStageRun("p", "S"); !errors.Is(err, codepipeline.ErrNotFound) {
			t.Fatal("stage runs survived the delete")
		}
		return nil
	})
}

// testConcurrentCAS runs many read-modify-write transactions at once: each
// increments a counter held in the pipeline's version with compare-and-set
// and retries on conflict; no increment may be lost.
func testConcurrentCAS(t *testing.T, s codepipeline.Store) {
	update(t, s, func(tx codepipeline.Tx) error { return tx.CreatePipeline(newPipeline("p")) })
	const n = 40
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				err := s.Update(ctx, func(tx codepipeline.Tx) error {
					p, err := tx.GetPipeline("p")
					if err != nil {
						return err
					}
					p.Version++
					return tx.UpdatePipeline(p)
				})
				if err == nil {
					return
				}
				if !errors.Is(err, codepipeline.ErrConflict) {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	s.View(ctx, func(tx codepipeline.Tx) error {
		if p, _ := tx.GetPipeline("p"); p.Version != 1+n {
			t.Fatalf("lost updates: version %d, want %d", p.Version, 1+n)
		}
		return nil
	})
}

// testProgress checks that Progress commits and rolls back like Update and
// that durable and progress commits interleave.
func testProgress(t *testing.T, s codepipeline.Store) {
	if err := s.Progress(ctx, func(tx codepipeline.Tx) error { return tx.CreatePipeline(newPipeline("p")) }); err != nil {
		t.Fatal(err)
	}
	update(t, s, func(tx codepipeline.Tx) error {
		return tx.CreateExecution(newExecution("e", "p", codepipeline.ExecutionInProgress))
	})
	boom := errors.New("boom")
	err := s.Progress(ctx, func(tx codepipeline.Tx) error {
		e, err := tx.GetExecution("p", "e")
		if err != nil {
			return err
		}
		e.Status = codepipeline.ExecutionSucceeded
		if err := tx.UpdateExecution(e); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Progress must return fn's error: %v", err)
	}
	if err := s.Progress(ctx, func(tx codepipeline.Tx) error {
		e, _ := tx.GetExecution("p", "e")
		if e.Status != codepipeline.ExecutionInProgress {
			return fmt.Errorf("a failed Progress changed the execution: %s", e.Status)
		}
		e.Status = codepipeline.ExecutionFailed
		return tx.UpdateExecution(e)
	}); err != nil {
		t.Fatal(err)
	}
	s.View(ctx, func(tx codepipeline.Tx) error {
		if e, _ := tx.GetExecution("p", "e"); e.Status != codepipeline.ExecutionFailed {
			t.Fatalf("after Progress: %s", e.Status)
		}
		return nil
	})
}
