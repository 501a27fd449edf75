package runner

import (
	"bufio"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// startDoomedLife runs a helper process that plays a server life with the
// given scope: it starts a tree (a heartbeat counting up in beat, a
// background child, a setsid grandchild, a nohup'ed daemon) and waits; it
// returns once the tree is up.
func startDoomedLife(t *testing.T, method, scope, id, beat string) (*exec.Cmd, Handle) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=1", helperMethodEnv+"="+method, helperIDEnv+"="+id, helperScopeEnv+"="+scope, helperBeatEnv+"="+beat)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		for _, pid := range markerPIDs(id) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	var line string
	waitDone(t, goDone(func() { line, _ = bufio.NewReader(stdout).ReadString('\n') }), "the helper's handle")
	var h Handle
	if err := json.Unmarshal([]byte(line), &h); err != nil {
		t.Fatalf("handle %q: %v", line, err)
	}
	return cmd, h
}

// TestSweepKillsTreesOfAnEarlierLife: a server life dies (SIGKILL) with a
// tree running; a new runner of the same scope sweeps it without any record
// of it, and leaves the trees of another scope alone.
func TestSweepKillsTreesOfAnEarlierLife(t *testing.T) {
	eachMethod(t, func(t *testing.T, base *Runner) {
		scope, other := newID(t), newID(t)
		r, err := New(Options{Method: base.Method(), Scope: scope, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		id, otherID := newID(t), newID(t)
		life, h := startDoomedLife(t, r.Method(), scope, id, filepath.Join(t.TempDir(), "beat"))
		otherLife, _ := startDoomedLife(t, r.Method(), other, otherID, filepath.Join(t.TempDir(), "beat"))
		waitMarkers(t, id, 4)
		waitMarkers(t, otherID, 4)
		life.Process.Kill()
		life.Wait()
		if pids := markerPIDs(id); len(pids) < 4 {
			t.Fatalf("the tree did not outlive its server: %v", pids)
		}

		n, err := r.Sweep()
		if err != nil {
			t.Fatalf("Sweep: %v", err)
		}
		if n < 4 {
			t.Errorf("Sweep killed %d processes, want at least 4", n)
		}
		if pids := markerPIDs(id); len(pids) != 0 {
			t.Fatalf("processes of the swept scope alive: %v", pids)
		}
		if h.Cgroup != "" {
			if _, err := os.Stat(h.Cgroup); !os.IsNotExist(err) {
				t.Errorf("cgroup %s still exists after Sweep", h.Cgroup)
			}
		}
		if pids := markerPIDs(otherID); len(pids) < 4 {
			t.Fatalf("Sweep killed a tree of another scope: %v left", pids)
		}
		otherLife.Process.Kill()
		otherLife.Wait()
		r2, err := New(Options{Method: base.Method(), Scope: other, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r2.Sweep(); err != nil {
			t.Fatal(err)
		}
		if pids := markerPIDs(otherID); len(pids) != 0 {
			t.Fatalf("processes of the other scope alive after its sweep: %v", pids)
		}
		for _, x := range []*Runner{r, r2} {
			parent := x.CgroupParent()
			x.Close()
			if _, err := os.Stat(parent); parent != "" && !os.IsNotExist(err) {
				t.Errorf("scope cgroup %s left after Close", parent)
			}
		}
	})
}

// TestSweepSparesTreesOfThisProcess: a tree this process runs is not swept.
func TestSweepSparesTreesOfThisProcess(t *testing.T) {
	eachMethod(t, func(t *testing.T, base *Runner) {
		r, err := New(Options{Method: base.Method(), Scope: newID(t), Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		out := newLines()
		p, id := start(t, r, "sleep 300 & echo ready; wait", out)
		out.waitReady(t)
		if _, err := r.Sweep(); err != nil {
			t.Fatal(err)
		}
		if pids := markerPIDs(id); len(pids) < 2 {
			t.Fatalf("Sweep killed a running tree of this process: %v left", pids)
		}
		p.Kill()
		if res := waitResult(t, p, 10*time.Second); !res.Terminated {
			t.Fatalf("result %+v", res)
		}
	})
}
