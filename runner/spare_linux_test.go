package runner

import (
	"log/slog"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// readySpare waits for the runner's spare helper and returns its PID.
func readySpare(t *testing.T, r *Runner) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if r.spares.isReady() {
			r.spares.mu.Lock()
			defer r.spares.mu.Unlock()
			return r.spares.ready.pid
		}
		if time.Now().After(deadline) {
			t.Fatal("no spare job init helper became ready")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func newSpareRunner(t *testing.T) *Runner {
	t.Helper()
	opts := isolatedOptions()
	opts.Logger = slog.New(slog.DiscardHandler)
	r, err := New(opts)
	if err != nil {
		t.Fatalf("no namespaces here: %v", err)
	}
	t.Cleanup(r.Close)
	return r
}

func TestTreeStartsThroughTheSpareHelper(t *testing.T) {
	r := newSpareRunner(t)
	for i := 0; i < 3; i++ {
		spare := readySpare(t, r)
		out := newLines()
		p, err := r.Start(Spec{ID: newID(t), Script: "echo ran", Env: []string{"PATH=/usr/bin:/bin"}, OnLine: out.add})
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Handle().PID; got != spare {
			t.Errorf("tree %d started through helper %d, not the spare %d", i, got, spare)
		}
		if res := resultWithin(t, p, 10*time.Second); res.ExitCode != 0 || res.Err != nil || len(out.texts("stdout")) != 1 {
			t.Errorf("result %+v, output %q", res, out.texts(""))
		}
	}
}

func TestDeadSpareHelperIsReplaced(t *testing.T) {
	r := newSpareRunner(t)
	spare := readySpare(t, r)
	if err := syscall.Kill(spare, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if st, err := readStat(spare); err != nil || !st.alive() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the killed spare is still alive")
		}
	}
	p, err := r.Start(Spec{ID: newID(t), Script: "exit 4", Env: []string{"PATH=/usr/bin:/bin"}})
	if err != nil {
		t.Fatalf("Start with a dead spare: %v", err)
	}
	if p.Handle().PID == spare {
		t.Error("the tree claims the dead spare")
	}
	if res := resultWithin(t, p, 10*time.Second); res.ExitCode != 4 || res.Err != nil {
		t.Errorf("result %+v", res)
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(spare)); err == nil {
		t.Errorf("the dead spare %d was not collected", spare)
	}
}

func TestCloseEndsTheSpareHelper(t *testing.T) {
	r := newSpareRunner(t)
	spare := readySpare(t, r)
	r.Close()
	if _, err := os.Stat("/proc/" + strconv.Itoa(spare)); err == nil {
		t.Errorf("spare %d still exists after Close", spare)
	}
}

// settleSpare waits until the runner keeps a spare job init helper ready
// and is starting none, so that a count of descriptors does not catch one
// being started.
func settleSpare(t testing.TB, r *Runner) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		r.spares.mu.Lock()
		settled := !r.spares.enabled || r.spares.closed || r.spares.ready != nil && !r.spares.filling
		r.spares.mu.Unlock()
		if settled {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the runner's spare job init helper did not settle")
		}
	}
}
