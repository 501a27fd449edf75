package server_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pipewright/pipewright/runner"
)

// This file holds what tests read from the process table (and heartbeat
// files) to prove that a job's processes run or are gone.

// alive reports whether a process exists (and is not a zombie).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// treeProcs lists the living processes of a job's tree: those whose
// environment carries the runner's marker with the job's id,
// keyed by PID, with their start time (field 22 of /proc/PID/stat), so
// that a PID taken over by another process does not count.
func treeProcs(jobID string) map[int]string {
	want := []byte("\x00" + runner.MarkerEnv + "=" + jobID + "\x00")
	out := map[int]string{}
	environs, _ := filepath.Glob("/proc/[0-9]*/environ")
	for _, name := range environs {
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(name)))
		env, err := os.ReadFile(name)
		if err != nil || !bytes.Contains(append(append([]byte{0}, env...), 0), want) || !alive(pid) {
			continue
		}
		if start := procStart(pid); start != "" {
			out[pid] = start
		}
	}
	return out
}

// procStat returns the fields of /proc/PID/stat from the state (field 3)
// on, nil if the process is gone.
func procStat(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	if f := strings.Fields(string(b[i+1:])); len(f) >= 20 {
		return f
	}
	return nil
}

// procStart returns a process's start time, empty if it is gone.
func procStart(pid int) string {
	if f := procStat(pid); f != nil {
		return f[19]
	}
	return ""
}

// procParent returns a process's parent PID, 0 if it is gone.
func procParent(pid int) int {
	if f := procStat(pid); f != nil {
		ppid, _ := strconv.Atoi(f[1])
		return ppid
	}
	return 0
}

// stillAlive returns those of the processes that are alive with the same
// start time.
func stillAlive(procs map[int]string) []int {
	var out []int
	for pid, start := range procs {
		if alive(pid) && procStart(pid) == start {
			out = append(out, pid)
		}
	}
	return out
}

// beating waits until the file's content changes from what it is now: the
// process that rewrites it ran after the call.
func beating(t *testing.T, file, what string) {
	t.Helper()
	last, _ := os.ReadFile(file)
	eventually(t, 30*time.Second, what, func() bool {
		now, _ := os.ReadFile(file)
		return len(now) > 0 && string(now) != string(last)
	})
}
