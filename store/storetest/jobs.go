package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pipewright/pipewright/jobs"
)

// Jobs runs the suite of jobs.Store against stores made by open, which
// returns a new, empty store for each test.
func Jobs(t *testing.T, open func(t *testing.T) jobs.Store) {
	tests := map[string]func(*testing.T, jobs.Store){
		"CreateGetAndTokens": testJobTokens,
		"CompareAndSet":      testJobCAS,
		"ActiveAndGroups":    testJobLists,
		"EndedBefore":        testJobsEndedBefore,
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, open(t))
		})
	}
}

func progress(t *testing.T, s jobs.Store, fn func(jobs.Tx) error) {
	t.Helper()
	if err := s.Progress(ctx, fn); err != nil {
		t.Fatal(err)
	}
}

func newJob(id, owner, token, group string, st jobs.Status) *jobs.Job {
	return &jobs.Job{ID: id, Owner: owner, Token: token, Group: group, Status: st, Created: now,
		Spec: jobs.Spec{Script: "echo " + id, Env: []string{"A=1"}, Inputs: []jobs.Artifact{{Name: "in", Bucket: "b", Key: "k"}},
			Outputs: []jobs.Output{{Artifact: jobs.Artifact{Name: "out", Bucket: "b", Key: "o"}, Files: []string{"**/*"}}}, Variables: []string{"V"}, Timeout: time.Minute}}
}

func testJobTokens(t *testing.T, s jobs.Store) {
	progress(t, s, func(tx jobs.Tx) error {
		if err := tx.CreateJob(newJob("j1", "cp", "t1", "p", jobs.StatusPending)); err != nil {
			return err
		}
		if err := tx.CreateJob(newJob("j2", "cp", "t1", "p", jobs.StatusPending)); !errors.Is(err, jobs.ErrExists) {
			t.Errorf("second job for one owner token: %v, want ErrExists", err)
		}
		if err := tx.CreateJob(newJob("j1", "cp", "t9", "p", jobs.StatusPending)); !errors.Is(err, jobs.ErrExists) {
			t.Errorf("second job with one id: %v, want ErrExists", err)
		}
		return tx.CreateJob(newJob("j3", "other", "t1", "p", jobs.StatusPending))
	})
	s.View(ctx, func(tx jobs.Tx) error {
		j, err := tx.GetJobByToken("cp", "t1")
		if err != nil || j.ID != "j1" || j.Spec.Script != "echo j1" || j.Spec.Timeout != time.Minute || j.Spec.Outputs[0].Files[0] != "**/*" || !j.Created.Equal(now) {
			t.Fatalf("by token: %+v %v", j, err)
		}
		if j, err := tx.GetJobByToken("other", "t1"); err != nil || j.ID != "j3" {
			t.Fatalf("same token, other owner: %+v %v", j, err)
		}
		if _, err := tx.GetJob("nope"); !errors.Is(err, jobs.ErrNotFound) {
			t.Fatalf("missing job: %v", err)
		}
		if _, err := tx.GetJobByToken("cp", "nope"); !errors.Is(err, jobs.ErrNotFound) {
			t.Fatalf("missing token: %v", err)
		}
		return nil
	})
}

func testJobCAS(t *testing.T, s jobs.Store) {
	progress(t, s, func(tx jobs.Tx) error { return tx.CreateJob(newJob("j", "cp", "t", "p", jobs.StatusPending)) })
	var a, b *jobs.Job
	s.View(ctx, func(tx jobs.Tx) error { a, _ = tx.GetJob("j"); b, _ = tx.GetJob("j"); return nil })
	a.Status, a.Handle, a.Boot = jobs.StatusRunning, []byte(`{"pid":7}`), "boot"
	progress(t, s, func(tx jobs.Tx) error { return tx.UpdateJob(a) })
	b.Status = jobs.StatusStopped
	if err := s.Progress(ctx, func(tx jobs.Tx) error { return tx.UpdateJob(b) }); !errors.Is(err, jobs.ErrConflict) {
		t.Fatalf("stale update: %v, want ErrConflict", err)
	}
	a.Status, a.Reason, a.Message, a.ExitCode, a.Ended = jobs.StatusFailed, jobs.ReasonExited, "m", 3, now.Add(time.Second)
	a.Outputs, a.Variables = []jobs.Artifact{{Name: "out", Bucket: "b", Key: "o"}}, map[string]string{"V": "x"}
	progress(t, s, func(tx jobs.Tx) error { return tx.UpdateJob(a) })
	s.View(ctx, func(tx jobs.Tx) error {
		j, _ := tx.GetJob("j")
		if j.Status != jobs.StatusFailed || j.Reason != jobs.ReasonExited || j.ExitCode != 3 || j.Variables["V"] != "x" || string(j.Handle) != `{"pid":7}` || j.Boot != "boot" || !j.Ended.Equal(now.Add(time.Second)) || j.RowVersion != a.RowVersion {
			t.Fatalf("stored: %+v", j)
		}
		return nil
	})
	// Concurrent writers of one record: exactly one wins each version.
	var wg sync.WaitGroup
	wins := make(chan struct{}, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cp := *a
			cp.Message = "racer"
			if s.Progress(ctx, func(tx jobs.Tx) error { return tx.UpdateJob(&cp) }) == nil {
				wins <- struct{}{}
			}
		}()
	}
	wg.Wait()
	if len(wins) != 1 {
		t.Fatalf("%d writers of one version won, want 1", len(wins))
	}
}

func testJobLists(t *testing.T, s jobs.Store) {
	progress(t, s, func(tx jobs.Tx) error {
		for _, j := range []*jobs.Job{
			newJob("a", "cp", "1", "p1", jobs.StatusPending), newJob("b", "cp", "2", "p1", jobs.StatusRunning),
			newJob("c", "cp", "3", "p2", jobs.StatusSucceeded), newJob("d", "cb", "4", "x", jobs.StatusRunning),
		} {
			if err := tx.CreateJob(j); err != nil {
				return err
			}
		}
		return nil
	})
	s.View(ctx, func(tx jobs.Tx) error {
		active, _ := tx.ListActiveJobs()
		if len(active) != 3 || active[0].ID != "a" || active[1].ID != "b" || active[2].ID != "d" {
			t.Fatalf("active: %d", len(active))
		}
		inP1, _ := tx.ListJobsInGroup("cp", "p1")
		if len(inP1) != 2 {
			t.Fatalf("group p1: %d", len(inP1))
		}
		groups, _ := tx.ListGroups("cp")
		if len(groups) != 2 || groups[0] != "p1" || groups[1] != "p2" {
			t.Fatalf("groups: %v", groups)
		}
		return nil
	})
	progress(t, s, func(tx jobs.Tx) error { return tx.DeleteJob("a") })
	s.View(ctx, func(tx jobs.Tx) error {
		if _, err := tx.GetJob("a"); !errors.Is(err, jobs.ErrNotFound) {
			t.Fatalf("deleted job: %v", err)
		}
		if _, err := tx.GetJobByToken("cp", "1"); !errors.Is(err, jobs.ErrNotFound) {
			t.Fatalf("token of a deleted job: %v", err)
		}
		return nil
	})
}

func testJobsEndedBefore(t *testing.T, s jobs.Store) {
	progress(t, s, func(tx jobs.Tx) error {
		for i, st := range []jobs.Status{jobs.StatusSucceeded, jobs.StatusRunning, jobs.StatusFailed, jobs.StatusStopped} {
			j := newJob(string(rune('a'+i)), "cp", string(rune('a'+i)), "p", st)
			if st.Terminal() {
				j.Ended = now.Add(time.Duration(3-i) * time.Hour)
			}
			if err := tx.CreateJob(j); err != nil {
				return err
			}
		}
		return nil
	})
	s.View(ctx, func(tx jobs.Tx) error {
		old, _ := tx.ListEndedBefore(now.Add(3*time.Hour), 10)
		if len(old) != 2 || old[0].ID != "d" || old[1].ID != "c" {
			t.Fatalf("ended before: %+v", old)
		}
		return nil
	})
}
