package storetest

import (
	"testing"
	"time"

	"github.com/pipewright/pipewright/codepipeline"
)

// testPruneExecutions: ended executions are listed oldest first by their
// last update, active ones never; deleting one takes its runs with it.
func testPruneExecutions(t *testing.T, s codepipeline.Store) {
	update(t, s, func(tx codepipeline.Tx) error {
		if err := tx.CreatePipeline(newPipeline("p")); err != nil {
			return err
		}
		for i, st := range []codepipeline.ExecutionStatus{codepipeline.ExecutionSucceeded, codepipeline.ExecutionFailed, codepipeline.ExecutionInProgress, codepipeline.ExecutionStopped} {
			e := newExecution(string(rune('a'+i)), "p", st)
			e.Updated = now.Add(time.Duration(3-i) * time.Hour)
			if err := tx.CreateExecution(e); err != nil {
				return err
			}
			if err := tx.CreateActionRun(&codepipeline.ActionRun{ID: e.ID + "-run", ExecutionID: e.ID, Pipeline: "p", Stage: "S", Action: "A", Status: codepipeline.ActionSucceeded}); err != nil {
				return err
			}
			if err := tx.CreateStageRun(&codepipeline.StageRun{ExecutionID: e.ID, Pipeline: "p", Stage: "S", Status: codepipeline.StageSucceeded}); err != nil {
				return err
			}
		}
		return nil
	})
	s.View(ctx, func(tx codepipeline.Tx) error {
		old, err := tx.ListExecutionsEndedBefore(now.Add(3*time.Hour), 10)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, e := range old {
			ids = append(ids, e.ID)
		}
		// d (ended, updated now), b (now+2h); a (now+3h) is not before; c is active.
		if len(ids) != 2 || ids[0] != "d" || ids[1] != "b" {
			t.Fatalf("ended before now+3h: %v, want [d b]", ids)
		}
		if one, _ := tx.ListExecutionsEndedBefore(now.Add(3*time.Hour), 1); len(one) != 1 || one[0].ID != "d" {
			t.Fatalf("limit 1: %v", one)
		}
		return nil
	})
	update(t, s, func(tx codepipeline.Tx) error { return tx.DeleteExecution("p", "b") })
	s.View(ctx, func(tx codepipeline.Tx) error {
		if _, err := tx.GetExecution("p", "b"); err != codepipeline.ErrNotFound {
			t.Fatalf("deleted execution: %v", err)
		}
		if _, err := tx.GetActionRun("b-run"); err != codepipeline.ErrNotFound {
			t.Fatalf("run of a deleted execution: %v", err)
		}
		if _, err := tx.GetStageRun("b", "S"); err != codepipeline.ErrNotFound {
			t.Fatalf("stage run of a deleted execution: %v", err)
		}
		if _, err := tx.GetActionRun("a-run"); err != nil {
			t.Fatalf("run of another execution: %v", err)
		}
		return nil
	})
}

// testArtifactGarbage: queued objects come back in order and go once deleted.
func testArtifactGarbage(t *testing.T, s codepipeline.Store) {
	update(t, s, func(tx codepipeline.Tx) error {
		return tx.AddArtifactGarbage([]codepipeline.ArtifactRef{{Bucket: "b", Key: "k1"}, {Bucket: "b", Key: "k2"}, {Bucket: "c", Key: "k3"}})
	})
	var first []codepipeline.ArtifactGarbage
	s.View(ctx, func(tx codepipeline.Tx) error {
		var err error
		first, err = tx.ListArtifactGarbage(2)
		if err != nil || len(first) != 2 || first[0].Key != "k1" || first[1].Key != "k2" || first[0].Bucket != "b" {
			t.Fatalf("first page: %+v %v", first, err)
		}
		return nil
	})
	update(t, s, func(tx codepipeline.Tx) error { return tx.DeleteArtifactGarbage([]int64{first[0].ID, first[1].ID}) })
	s.View(ctx, func(tx codepipeline.Tx) error {
		rest, err := tx.ListArtifactGarbage(10)
		if err != nil || len(rest) != 1 || rest[0].Key != "k3" || rest[0].Bucket != "c" {
			t.Fatalf("after delete: %+v %v", rest, err)
		}
		return nil
	})
}

// testPanicRollsBack: a panic inside a write transaction rolls it back and
// leaves the store usable.
func testPanicRollsBack(t *testing.T, s codepipeline.Store) {
	func() {
		defer func() { recover() }()
		s.Progress(ctx, func(tx codepipeline.Tx) error {
			if err := tx.CreatePipeline(newPipeline("half")); err != nil {
				return err
			}
			panic("in the middle of a transaction")
		})
	}()
	done := make(chan error, 1)
	go func() {
		done <- s.Update(ctx, func(tx codepipeline.Tx) error { return tx.CreatePipeline(newPipeline("after")) })
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("write after a panic: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the store hangs after a panic in a transaction")
	}
	s.View(ctx, func(tx codepipeline.Tx) error {
		if _, err := tx.GetPipeline("half"); err != codepipeline.ErrNotFound {
			t.Fatalf("the panicking transaction was committed: %v", err)
		}
		return nil
	})
}
