package runner

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// forkStorm keeps making session leaders that leave an orphan behind and
// exit at once: the orphans are tied to the tree by their marker only.
const forkStorm = `
while :; do setsid sh -c 'sleep 302 & :'; done &
while :; do setsid sh -c 'sleep 302 & :'; done &
echo ready
wait
`

// TestKillAcrossPidWrap kills a tree that makes orphans as fast as it can
// while the kernel's pids wrap around (the next pid set just below
// pid_max): the method that finds members by scanning /proc alone must
// still leave nothing behind, though a child made during a scan may get
// a pid the scan has passed. Root only (it sets ns_last_pid).
func TestKillAcrossPidWrap(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("setting /proc/sys/kernel/ns_last_pid needs root")
	}
	b, err := os.ReadFile("/proc/sys/kernel/pid_max")
	if err != nil {
		t.Skip(err)
	}
	pidMax, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	r := isolatedRunner(t, isolatedKey{MethodProcessGroup, IsolationNone})
	for i := range 30 {
		out := newLines()
		id := newID(t)
		p, err := r.Start(Spec{ID: id, Script: forkStorm, Env: []string{"PATH=/usr/bin:/bin"}, OnLine: out.add})
		if err != nil {
			t.Fatal(err)
		}
		out.waitReady(t)
		waitMarkers(t, id, 6)
		if err := os.WriteFile("/proc/sys/kernel/ns_last_pid", []byte(strconv.Itoa(pidMax-30)), 0); err != nil {
			p.Kill()
			t.Skipf("ns_last_pid: %v", err)
		}
		p.Kill()
		if left := markerPIDs(id); len(left) != 0 {
			t.Errorf("round %d: processes alive after Kill returned: %v", i, left)
			for _, pid := range left {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		resultWithin(t, p, 10*time.Second)
	}
}
