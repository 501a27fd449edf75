package runner

import (
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// TestStopThenKillWaitsForProcessesItCannotTell: a process in the middle of
// an exec shows no environment, so a scan cannot tell whether it carries a
// tree's marker. When the process was never seen before (a daemon born just
// before the kill, its parent gone, in a session of its own), stopping
// there would let it run on. stopThenKill rescans while a scan is unsure
// and kills the process once a scan finds it.
func TestStopThenKillWaitsForProcessesItCannotTell(t *testing.T) {
	for _, tc := range []struct {
		name        string
		unsureScans int // scans that cannot tell before the process is found; -1: none ever does
		wantKilled  bool
	}{
		{"found at once", 0, true},
		{"told after a few rescans", 3, true},
		{"never told", -1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command("sleep", "300")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			st, err := readStat(cmd.Process.Pid)
			if err != nil {
				t.Fatal(err)
			}
			scans := 0
			scan := func() ([]procStat, int, error) {
				scans++
				if tc.unsureScans < 0 || scans <= tc.unsureScans {
					return nil, 1, nil
				}
				if now, err := readStat(st.pid); err == nil && now.alive() {
					return []procStat{st}, 0, nil
				}
				return nil, 0, nil
			}
			began := time.Now()
			killed, err := stopThenKill(scan)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(killed) == 1; got != tc.wantKilled {
				t.Fatalf("killed %v after %d scans, want the process killed: %v", killed, scans, tc.wantKilled)
			}
			if !tc.wantKilled && time.Since(began) < unsureFor {
				t.Errorf("gave up on a process it could not tell after %s, before unsureFor (%s)", time.Since(began), unsureFor)
			}
			cmd.Process.Kill()
			cmd.Wait()
			ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if tc.wantKilled && (!ws.Signaled() || ws.Signal() != syscall.SIGKILL) {
				t.Errorf("sleep ended with %v, want SIGKILL from stopThenKill", cmd.ProcessState)
			}
		})
	}
}
