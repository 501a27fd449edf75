package runner

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const (
	helperEnv       = "PIPEWRIGHT_RUNNER_TEST_HELPER"
	helperMethodEnv = "PIPEWRIGHT_RUNNER_TEST_METHOD"
	helperIDEnv     = "PIPEWRIGHT_RUNNER_TEST_ID"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		helperMain()
		return
	}
	os.Exit(m.Run())
}

// helperMain plays a server life that starts a tree, prints its Handle as
// one JSON line once the tree is up, and then waits to be SIGKILLed.
func helperMain() {
	r, err := New(Options{Method: os.Getenv(helperMethodEnv)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ready := make(chan struct{})
	var once sync.Once
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PIPEWRIGHT_RUNNER_TEST_") {
			env = append(env, kv)
		}
	}
	p, err := r.Start(Spec{
		ID:     os.Getenv(helperIDEnv),
		Script: "sleep 300 & ( setsid sleep 301 & ); nohup sh -c 'sleep 302 &' >/dev/null 2>&1; echo ready; wait",
		Env:    env,
		OnLine: func(l Line) {
			if l.Text == "ready" {
				once.Do(func() { close(ready) })
			}
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	<-ready
	json.NewEncoder(os.Stdout).Encode(p.Handle())
	time.Sleep(time.Hour)
}

var (
	runnersOnce sync.Once
	runners     = map[string]*Runner{}
	runnerErrs  = map[string]error{}
)

// eachMethod runs f once per containment method usable on this machine.
func eachMethod(t *testing.T, f func(t *testing.T, r *Runner)) {
	runnersOnce.Do(func() {
		for _, m := range []string{MethodCgroupV2, MethodCgroupV1Freezer, MethodProcessGroup} {
			r, err := New(Options{Method: m, Grace: 2 * time.Second, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				runnerErrs[m] = err
				continue
			}
			runners[m] = r
		}
	})
	for _, m := range []string{MethodCgroupV2, MethodCgroupV1Freezer, MethodProcessGroup} {
		t.Run(m, func(t *testing.T) {
			r := runners[m]
			if r == nil {
				t.Skipf("method not usable here: %v", runnerErrs[m])
			}
			f(t, r)
		})
	}
}

var idSeq atomic.Int64

func newID(t *testing.T) string {
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, t.Name())
	if len(name) > 80 {
		name = name[:80]
	}
	return fmt.Sprintf("%s-%d-%d", name, os.Getpid(), idSeq.Add(1))
}

// lines collects delivered lines.
type lines struct {
	mu    sync.Mutex
	all   []Line
	ready chan struct{}
	once  sync.Once
}

func newLines() *lines { return &lines{ready: make(chan struct{})} }

func (l *lines) add(x Line) {
	l.mu.Lock()
	l.all = append(l.all, x)
	l.mu.Unlock()
	if x.Text == "ready" {
		l.once.Do(func() { close(l.ready) })
	}
}

func (l *lines) texts(stream string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, x := range l.all {
		if stream == "" || x.Stream == stream {
			out = append(out, x.Text)
		}
	}
	return out
}

func (l *lines) waitReady(t *testing.T) {
	t.Helper()
	select {
	case <-l.ready:
	case <-time.After(5 * time.Second):
		t.Fatalf("script never printed ready; output: %q", l.texts(""))
	}
}

// markerPIDs lists living processes whose environment carries the tree's
// marker, independently of the package's own scanning code.
func markerPIDs(id string) []int {
	ents, _ := os.ReadDir("/proc")
	want := []byte("\x00" + MarkerEnv + "=" + id + "\x00")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !bytes.Contains(append(append([]byte{0}, env...), 0), want) {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		if i := bytes.LastIndexByte(stat, ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
			continue
		}
		out = append(out, pid)
	}
	return out
}

// waitMarkers waits until at least n processes carry the marker.
func waitMarkers(t *testing.T, id string, n int) []int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		pids := markerPIDs(id)
		if len(pids) >= n {
			return pids
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d processes carry the marker, want >= %d", len(pids), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitResult(t *testing.T, p *Process, within time.Duration) Result {
	t.Helper()
	ch := make(chan Result, 1)
	go func() { ch <- p.Wait() }()
	select {
	case res := <-ch:
		return res
	case <-time.After(within):
		p.Kill()
		t.Fatalf("Wait did not return within %s", within)
		return Result{}
	}
}

func start(t *testing.T, r *Runner, script string, out *lines) (*Process, string) {
	t.Helper()
	id := newID(t)
	p, err := r.Start(Spec{ID: id, Script: script, Env: os.Environ(), OnLine: out.add})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		p.Kill()
		p.Wait()
	})
	return p, id
}

func checkGone(t *testing.T, r *Runner, p *Process, id string) {
	t.Helper()
	if pids := markerPIDs(id); len(pids) != 0 {
		t.Errorf("processes still alive after the tree ended: %v", pids)
	}
	if h := p.Handle(); h.Cgroup != "" {
		if _, err := os.Stat(h.Cgroup); !os.IsNotExist(err) {
			t.Errorf("cgroup %s still exists (err %v)", h.Cgroup, err)
		}
	}
}

// checkContained checks that every PID is in the tree's cgroup (if any).
func checkContained(t *testing.T, p *Process, pids []int) {
	t.Helper()
	h := p.Handle()
	if h.Cgroup == "" {
		return
	}
	in := map[int]bool{}
	filepath.WalkDir(h.Cgroup, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			b, _ := os.ReadFile(filepath.Join(path, "cgroup.procs"))
			for _, f := range strings.Fields(string(b)) {
				pid, _ := strconv.Atoi(f)
				in[pid] = true
			}
		}
		return nil
	})
	for _, pid := range pids {
		if !in[pid] {
			t.Errorf("process %d is not in cgroup %s", pid, h.Cgroup)
		}
	}
	if in[os.Getpid()] {
		t.Errorf("the server itself is in cgroup %s", h.Cgroup)
	}
}

func TestMethodDetection(t *testing.T) {
	r, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("detected method: %s", r.Method())
}

func TestSuccessOutputAndEnvironment(t *testing.T) {
	eachMethod(t, func(t *testing.T, r *Runner) {
		out := newLines()
		dir := t.TempDir()
		id := newID(t)
		env := append(os.Environ(), MarkerEnv+"=spoofed")
		before := time.Now()
		p, err := r.Start(Spec{
			ID:     id,
			Dir:    dir,
			Env:    env,
			Script: "echo hello\necho oops >&2\npwd\necho \"$" + MarkerEnv + "\"\nprintf 'no newline'",
			OnLine: out.add,
		})
		if err != nil {
			t.Fatal(err)
		}
		h := p.Handle()
		if h.ID != id || h.PID <= 0 || h.PGID != h.PID || h.StartTime == 0 || h.Method != r.Method() || h.BootID == "" {
			t.Errorf("bad handle %+v", h)
		}
		if (r.Method() == MethodProcessGroup) != (h.Cgroup == "") {
			t.Errorf("handle cgroup %q with method %s", h.Cgroup, r.Method())
		}
		res := waitResult(t, p, 5*time.Second)
		if res.ExitCode != 0 || res.Signal != "" || res.Terminated || res.Err != nil {
			t.Errorf("result %+v", res)
		}
		if res.Started.Before(before) || res.Ended.Before(res.Started) {
			t.Errorf("times %v .. %v", res.Started, res.Ended)
		}
		want := []string{"hello", dir, id, "no newline"}
		if got := out.texts("stdout"); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("stdout %q, want %q", got, want)
		}
		if got := out.texts("stderr"); len(got) != 1 || got[0] != "oops" {
			t.Errorf("stderr %q", got)
		}
		for _, l := range out.all {
			if l.Time.Before(res.Started) || l.Time.After(res.Ended) {
				t.Errorf("line %q read at %v, outside %v..%v", l.Text, l.Time, res.Started, res.Ended)
			}
		}
		checkGone(t, r, p, id)
	})
}

func TestFailingCommandFailsScript(t *testing.T) {
	eachMethod(t, func(t *testing.T, r *Runner) {
		for _, tc := range []struct {
			script string
			code   int
			out    string
		}{
			{"echo one; false; echo two", 1, "one"},
			{"echo one\n(exit 7)\necho two", 7, "one"},
			{"if false; then echo no; fi; false || echo handled; exit 3", 3, "handled"},
			{"-x 2>/dev/null || echo dash", 0, "dash"},
		} {
			out := newLines()
			p, _ := start(t, r, tc.script, out)
			res := waitResult(t, p, 5*time.Second)
			if res.ExitCode != tc.code || res.Terminated || res.Err != nil {
				t.Errorf("%q: result %+v, want exit %d", tc.script, res, tc.code)
			}
			if got := strings.Join(out.texts("stdout"), "|"); got != tc.out {
				t.Errorf("%q: output %q, want %q", tc.script, got, tc.out)
			}
		}
	})
}

func TestLongLinesAreSplit(t *testing.T) {
	eachMethod(t, func(t *testing.T, r *Runner) {
		out := newLines()
		p, _ := start(t, r, "head -c 150000 /dev/zero | tr '\\0' a; echo; printf 'x\\r\\ny'", out)
		waitResult(t, p, 5*time.Second)
		got := out.texts("stdout")
		var lens []int
		for _, s := range got {
			lens = append(lens, len(s))
		}
		if fmt.Sprint(lens) != "[65536 65536 18928 1 1]" || got[3] != "x" || got[4] != "y" {
			t.Errorf("line lengths %v", lens)
		}
	})
}

// treeScript starts (a) a background child, (b) a grandchild that calls
// setsid, (c) a double-forked setsid daemon and (d) a nohup'ed double fork.
const treeScript = `
sleep 300 &
bash -c 'setsid sleep 301; :' &
( setsid sleep 302 & )
nohup sh -c 'sleep 303 &' >/dev/null 2>&1
echo ready
wait
`

// ourZombies lists zombie children of the test process.
func ourZombies() []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := readStat(pid)
		if err == nil && st.ppid == os.Getpid() && st.state == 'Z' {
			out = append(out, pid)
		}
	}
	return out
}

func TestTerminateKillsWholeTree(t *testing.T) {
	eachMethod(t, func(t *testing.T, r *Runner) {
		out := newLines()
		p, id := start(t, r, treeScript, out)
		out.waitReady(t)
		pids := waitMarkers(t, id, 6)
		checkContained(t, p, pids)
		t0 := time.Now()
		p.Terminate(time.Second)
		if pids := markerPIDs(id); len(pids) != 0 {
			t.Fatalf("processes alive after Terminate returned: %v", pids)
		}
		res := waitResult(t, p, 5*time.Second)
		if !res.Terminated || res.Signal != "SIGTERM" || res.ExitCode != 128+15 || res.Err != nil {
			t.Errorf("result %+v", res)
		}
		if d := time.Since(t0); d > 900*time.Millisecond {
			t.Errorf("Terminate of a tree that obeys SIGTERM took %s", d)
		}
		checkGone(t, r, p, id)
		deadline := time.Now().Add(3 * time.Second)
		for len(ourZombies()) > 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if z := ourZombies(); len(z) > 0 {
			t.Errorf("zombies not collected: %v", z)
		}
	})
}

func TestKillIsImmediate(t *testing.T) {
	eachMethod(t, func(t *testing.T, r *Runner) {
		out := newLines()
		p, id := start(t, r, "trap '' TERM; "+treeScript, out)
		out.waitReady(t)
		waitMarkers(t, id, 6)
		t0 := time.Now()
		p.Kill()
		if d := time.Since(t0); d > time.Second {
			t.Errorf("Kill took %s", d)
		}
		res := waitResult(t, p, 5*time.Second)
		if !res.Terminated || res.Signal != "SIGKILL" {
			t.Errorf("result %+v", res)
		}
		checkGone(t, r, p, id)
	})
}

func TestIgnoredSIGTERMGetsSIGKILLAfterGrace(t *testing.T) {
	eachMethod(t, func(t *testing.T, r *Runner) {
		out := newLines()
		p, id := start(t, r, "trap '' TERM; sleep 300 & ( setsid sleep 301 & ); echo ready; while :; do sleep 0.05; done", out)
		out.waitReady(t)
		waitMarkers(t, id, 3)
		const grace = 300 * time.Millisecond
		t0 := time.Now()
		p.Terminate(grace)
		d := time.Since(t0)
		if d < grace || d > grace+2*time.Second {
			t.Errorf("Terminate returned after %s, grace %s", d, grace)
		}
		res := waitResult(t, p, 5*time.Second)
		if !res.Terminated || res.Signal != "SIGKILL" {
			t.Errorf("result %+v", res)
		}
		checkGone(t, r, p, id)
	})
}

func TestForkLoopIsContained(t *testing.T) {
	eachMethod(t, func(t *testing.T, r *Runner) {
		out := newLines()
		p, id := start(t, r, `
for j in 1 2 3; do
  ( i=0; while [ $i -lt 3000 ]; do ( setsid sleep 30 & ); i=$((i+1)); done ) &
done
echo ready
wait`, out)
		out.waitReady(t)
		waitMarkers(t, id, 20)
		time.Sleep(200 * time.Millisecond)
		t.Logf("%d processes before Terminate", len(markerPIDs(id)))
		t0 := time.Now()
		p.Terminate(200 * time.Millisecond)
		if pids := markerPIDs(id); len(pids) != 0 {
			t.Fatalf("%d processes alive after Terminate returned", len(pids))
		}
		t.Logf("Terminate took %s", time.Since(t0))
		res := waitResult(t, p, 10*time.Second)
		if !res.Terminated || res.Err != nil {
			t.Errorf("result %+v", res)
		}
		checkGone(t, r, p, id)
	})
}

func TestMainExitKillsLeftovers(t *testing.T) {
	eachMethod(t, func(t *testing.T, r *Runner) {
		out := newLines()
		// The daemon keeps stdout and stderr open.
		p, id := start(t, r, "( setsid sleep 300 & ); sleep 301 & echo bye", out)
		t0 := time.Now()
		res := waitResult(t, p, 3*time.Second)
		if res.ExitCode != 0 || res.Terminated || res.Err != nil {
			t.Errorf("result %+v", res)
		}
		if d := time.Since(t0); d > 2*time.Second {
			t.Errorf("Wait took %s", d)
		}
		if got := out.texts(""); len(got) != 1 || got[0] != "bye" {
			t.Errorf("output %q", got)
		}
		checkGone(t, r, p, id)
	})
}

// findByArg returns living children of the test process whose command line
// contains arg.
func findByArg(arg string) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(b, []byte("\x00"+arg+"\x00")) {
			continue
		}
		if st, err := readStat(pid); err == nil && st.alive() {
			out = append(out, pid)
		}
	}
	return out
}

func TestEscapeeHoldingOutputDoesNotHangWait(t *testing.T) {
	eachMethod(t, func(t *testing.T, r *Runner) {
		out := newLines()
		arg := fmt.Sprintf("30.%d%d", os.Getpid(), idSeq.Add(1))
		// env -i clears the marker, setsid leaves the session, the
		// subshell's exit breaks the parent chain.
		p, _ := start(t, r, "( env -i /usr/bin/setsid /usr/bin/sleep "+arg+" & ); sleep 0.3; echo bye", out)
		t.Cleanup(func() {
			for _, pid := range findByArg(arg) {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		})
		t0 := time.Now()
		res := waitResult(t, p, 3*time.Second)
		if res.ExitCode != 0 || res.Err != nil {
			t.Errorf("result %+v", res)
		}
		t.Logf("Wait returned after %s", time.Since(t0))
		if got := out.texts(""); len(got) != 1 || got[0] != "bye" {
			t.Errorf("output %q", got)
		}
		left := findByArg(arg)
		if r.Method() == MethodProcessGroup {
			t.Logf("escapee left alive as documented: %v", left)
		} else if len(left) != 0 {
			t.Errorf("escapee %v survived under %s", left, r.Method())
		}
	})
}

func TestConcurrentTerminateKillWait(t *testing.T) {
	eachMethod(t, func(t *testing.T, r *Runner) {
		out := newLines()
		p, id := start(t, r, treeScript, out)
		out.waitReady(t)
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ {
			wg.Add(3)
			go func() { defer wg.Done(); p.Terminate(5 * time.Second) }()
			go func() { defer wg.Done(); p.Wait() }()
			go func() { defer wg.Done(); time.Sleep(50 * time.Millisecond); p.Kill() }()
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Terminate/Kill/Wait did not all return")
		}
		res := p.Wait()
		if !res.Terminated {
			t.Errorf("result %+v", res)
		}
		p.Terminate(time.Second)
		p.Kill()
		checkGone(t, r, p, id)
	})
}

func TestStartErrors(t *testing.T) {
	eachMethod(t, func(t *testing.T, r *Runner) {
		for _, id := range []string{"", ".hidden", "a/b", "a b", strings.Repeat("x", 201)} {
			if p, err := r.Start(Spec{ID: id, Script: "true"}); err == nil {
				p.Kill()
				t.Errorf("Start accepted ID %q", id)
			}
		}
		out := newLines()
		p, id := start(t, r, "echo ready; sleep 300", out)
		if _, err := r.Start(Spec{ID: id, Script: "true"}); err == nil {
			t.Error("Start accepted a duplicate ID")
		}
		p.Kill()
		if _, err := r.Start(Spec{ID: newID(t), Script: "true", Dir: "/nonexistent/dir"}); err == nil {
			t.Error("Start accepted a missing directory")
		}
		// The ID is free again once the tree is gone.
		p.Wait()
		p2, err := r.Start(Spec{ID: id, Script: "true"})
		if err != nil {
			t.Fatalf("reusing a finished tree's ID: %v", err)
		}
		if res := p2.Wait(); res.ExitCode != 0 || res.Err != nil {
			t.Errorf("result %+v", res)
		}
	})
}

func TestReapAfterServerDeath(t *testing.T) {
	eachMethod(t, func(t *testing.T, r *Runner) {
		id := newID(t)
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), helperEnv+"=1", helperMethodEnv+"="+r.Method(), helperIDEnv+"="+id)
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
		})
		lineCh := make(chan string, 1)
		go func() {
			s, _ := bufio.NewReader(stdout).ReadString('\n')
			lineCh <- s
		}()
		var line string
		select {
		case line = <-lineCh:
		case <-time.After(10 * time.Second):
			t.Fatal("helper printed no handle")
		}
		var h Handle
		if err := json.Unmarshal([]byte(line), &h); err != nil {
			t.Fatalf("handle %q: %v", line, err)
		}
		if h.ID != id || h.Method != r.Method() {
			t.Fatalf("handle %+v", h)
		}
		waitMarkers(t, id, 4)
		// The server dies without any chance to clean up.
		cmd.Process.Kill()
		cmd.Wait()
		time.Sleep(100 * time.Millisecond)
		if pids := markerPIDs(id); len(pids) < 4 {
			t.Fatalf("tree did not outlive the helper: %v", pids)
		}
		if err := r.Reap(h); err != nil {
			t.Fatalf("Reap: %v", err)
		}
		if pids := markerPIDs(id); len(pids) != 0 {
			t.Fatalf("processes alive after Reap: %v", pids)
		}
		if h.Cgroup != "" {
			if _, err := os.Stat(h.Cgroup); !os.IsNotExist(err) {
				t.Errorf("cgroup %s still exists", h.Cgroup)
			}
		}
		if err := r.Reap(h); err != nil {
			t.Errorf("second Reap: %v", err)
		}
	})
}

func TestReapSparesProcessThatReusedPID(t *testing.T) {
	eachMethod(t, func(t *testing.T, r *Runner) {
		// An unrelated session leader, as if it had got the PID of a
		// recorded main shell.
		cmd := exec.Command("sleep", "30")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
		})
		st, err := readStat(cmd.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		h := Handle{
			ID:        newID(t),
			Method:    r.Method(),
			PID:       st.pid,
			PGID:      st.pid,
			StartTime: st.start - 1,
			BootID:    bootID(),
		}
		if err := r.Reap(h); err != nil {
			t.Fatalf("Reap: %v", err)
		}
		h.StartTime = 0
		if err := r.Reap(h); err != nil {
			t.Fatalf("Reap: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
		if st, err := readStat(cmd.Process.Pid); err != nil || !st.alive() {
			t.Fatalf("unrelated process was killed (%v, %c)", err, st.state)
		}
		h.Cgroup = "/etc"
		if err := r.Reap(h); err == nil {
			t.Error("Reap accepted a cgroup path that is not the tree's")
		}
	})
}

func TestReapOfOtherBootIsNoop(t *testing.T) {
	r, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Reap(Handle{ID: "x", PID: os.Getpid(), PGID: os.Getpid(), BootID: "other-boot"}); err != nil {
		t.Fatal(err)
	}
}

func TestReaperLeavesOsExecChildrenAlone(t *testing.T) {
	eachMethod(t, func(t *testing.T, r *Runner) {
		// A stream of short-lived orphans keeps the reaper busy while
		// os/exec children of the same process come and go.
		out := newLines()
		p, _ := start(t, r, "echo ready; while :; do ( sleep 0.01 & ); sleep 0.002; done", out)
		out.waitReady(t)
		var wg sync.WaitGroup
		var failures atomic.Int64
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := 0; j < 25; j++ {
					cmd := exec.Command("sh", "-c", "exit 3")
					err := cmd.Run()
					if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
						failures.Add(1)
						t.Errorf("os/exec child: %v", err)
					}
				}
			}()
		}
		wg.Wait()
		p.Terminate(time.Second)
		if n := failures.Load(); n > 0 {
			t.Fatalf("%d os/exec children lost their exit status", n)
		}
		deadline := time.Now().Add(3 * time.Second)
		for len(ourZombies()) > 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if z := ourZombies(); len(z) > 0 {
			t.Errorf("zombies not collected: %v", z)
		}
	})
}

func TestReaperWithoutPidfds(t *testing.T) {
	eachMethod(t, func(t *testing.T, r *Runner) {
		reaper.mu.Lock()
		saved := reaper.pidfds
		reaper.pidfds = false
		reaper.mu.Unlock()
		defer func() {
			reaper.mu.Lock()
			reaper.pidfds = saved
			reaper.mu.Unlock()
		}()
		for _, terminate := range []bool{true, false} {
			out := newLines()
			script := treeScript
			if !terminate {
				script = "( setsid sleep 300 & ); nohup sh -c 'sleep 303 &' >/dev/null 2>&1; echo ready"
			}
			p, id := start(t, r, script, out)
			out.waitReady(t)
			if terminate {
				waitMarkers(t, id, 6)
				p.Terminate(time.Second)
			}
			waitResult(t, p, 5*time.Second)
			checkGone(t, r, p, id)
			deadline := time.Now().Add(3 * time.Second)
			for len(ourZombies()) > 0 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if z := ourZombies(); len(z) > 0 {
				t.Errorf("terminate=%v: zombies not collected: %v", terminate, z)
			}
		}
	})
}

func TestNoDescriptorLeak(t *testing.T) {
	eachMethod(t, func(t *testing.T, r *Runner) {
		count := func() int {
			settleSpare(t, r)
			ents, _ := os.ReadDir("/proc/self/fd")
			return len(ents)
		}
		run := func() {
			p, err := r.Start(Spec{ID: newID(t), Script: "echo out; echo err >&2; ( setsid sleep 300 & )"})
			if err != nil {
				t.Fatal(err)
			}
			p.Wait()
		}
		run()
		before := count()
		for i := 0; i < 20; i++ {
			run()
		}
		if after := count(); after > before+2 {
			t.Errorf("%d descriptors open before, %d after 20 trees", before, after)
		}
	})
}

func TestCgroupRootOverride(t *testing.T) {
	eachMethod(t, func(t *testing.T, base *Runner) {
		if base.hier == nil {
			t.Skip("no cgroup")
		}
		root := filepath.Join(base.hier.mount, fmt.Sprintf("pipewright-test-%d", os.Getpid()))
		t.Cleanup(func() { syscall.Rmdir(root) })
		r, err := New(Options{CgroupRoot: root, Grace: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if r.Method() != base.Method() {
			t.Fatalf("method %s, want %s", r.Method(), base.Method())
		}
		out := newLines()
		p, id := start(t, r, "echo ready; sleep 300", out)
		out.waitReady(t)
		if h := p.Handle(); filepath.Dir(h.Cgroup) != root {
			t.Errorf("cgroup %s not under %s", h.Cgroup, root)
		}
		checkContained(t, p, waitMarkers(t, id, 1))
		p.Terminate(time.Second)
		p.Wait()
		checkGone(t, r, p, id)
	})
}
