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
	helperScopeEnv  = "PIPEWRIGHT_RUNNER_TEST_SCOPE"
	helperBeatEnv   = "PIPEWRIGHT_RUNNER_TEST_BEAT"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		helperMain()
		return
	}
	os.Exit(m.Run())
}

// helperMain plays a server life that starts a tree, prints its Handle as
// one JSON line once the tree is up, and then waits to be SIGKILLed. One
// process of the tree counts up in the file named by helperBeatEnv for as
// long as it lives.
func helperMain() {
	r, err := New(Options{Method: os.Getenv(helperMethodEnv), Scope: os.Getenv(helperScopeEnv)})
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
	beat := fmt.Sprintf("( i=0; while :; do i=$((i+1)); echo $i > '%s'; sleep 0.02; done ) & ", os.Getenv(helperBeatEnv))
	p, err := r.Start(Spec{
		ID:     os.Getenv(helperIDEnv),
		Script: beat + "sleep 300 & ( setsid sleep 301 & ); nohup sh -c 'sleep 302 &' >/dev/null 2>&1; echo ready; wait",
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

// allMethods lists every containment method, in order of preference.
var allMethods = []string{MethodCgroupV2, MethodCgroupV1Freezer, MethodProcessGroup}

// methodRunner returns the shared runner of a containment method, or why
// the method is not usable on this machine.
func methodRunner(m string) (*Runner, error) {
	runnersOnce.Do(func() {
		for _, m := range allMethods {
			r, err := New(Options{Method: m, Grace: 2 * time.Second, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				runnerErrs[m] = err
				continue
			}
			runners[m] = r
		}
	})
	return runners[m], runnerErrs[m]
}

// testOrBench is *testing.T or *testing.B: a TB that runs subtests (or
// sub-benchmarks) of its own kind.
type testOrBench[T any] interface {
	testing.TB
	Run(name string, f func(T)) bool
}

// eachMethod runs f once per containment method usable on this machine, as
// a subtest (or sub-benchmark) named after the method.
func eachMethod[T testOrBench[T]](t T, f func(t T, r *Runner)) {
	for _, m := range allMethods {
		t.Run(m, func(t T) {
			r, err := methodRunner(m)
			if r == nil {
				t.Skipf("method not usable here: %v", err)
			}
			f(t, r)
		})
	}
}

var idSeq atomic.Int64

func newID(t testing.TB) string {
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
	mu  sync.Mutex
	all []Line
	// added is closed, and replaced, whenever a line is added.
	added chan struct{}
}

func newLines() *lines { return &lines{added: make(chan struct{})} }

func (l *lines) add(x Line) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = append(l.all, x)
	close(l.added)
	l.added = make(chan struct{})
}

// index returns the position of the first line with the text, or -1.
func (l *lines) index(text string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, x := range l.all {
		if x.Text == text {
			return i
		}
	}
	return -1
}

// await waits until a line with the text was delivered; it reports false
// if none was after waitBound. Unlike waitFor it may be called from any
// goroutine.
func (l *lines) await(text string) bool {
	timeout := time.After(waitBound)
	for {
		l.mu.Lock()
		added := l.added
		l.mu.Unlock()
		if l.index(text) >= 0 {
			return true
		}
		select {
		case <-added:
		case <-timeout:
			return false
		}
	}
}

// waitFor waits until a line with the text was delivered.
func (l *lines) waitFor(t testing.TB, text string) {
	t.Helper()
	if !l.await(text) {
		t.Fatalf("the script never printed %q; output: %q", text, l.texts(""))
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

func (l *lines) waitReady(t testing.TB) {
	t.Helper()
	l.waitFor(t, "ready")
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
func waitMarkers(t testing.TB, id string, n int) []int {
	t.Helper()
	var pids []int
	waitUntil(t, fmt.Sprintf("%d processes carrying the marker", n), func() bool {
		pids = markerPIDs(id)
		return len(pids) >= n
	})
	return pids
}

// waitResult waits up to within for the tree's Result. The bound is a
// guard against a hang, not a claim about speed: pass waitBound.
func waitResult(t testing.TB, p *Process, within time.Duration) Result {
	t.Helper()
	var res Result
	done := goDone(func() { res = p.Wait() })
	select {
	case <-done:
		return res
	case <-time.After(within):
		p.Kill()
		t.Fatalf("Wait did not return after %s", within)
		return Result{}
	}
}

func start(t testing.TB, r *Runner, script string, out *lines) (*Process, string) {
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

func checkGone(t testing.TB, r *Runner, p *Process, id string) {
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
		res := waitResult(t, p, waitBound)
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
			res := waitResult(t, p, waitBound)
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
		waitResult(t, p, waitBound)
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

// waitNoZombies waits until the reaper collected every zombie child of the
// test process.
func waitNoZombies(t testing.TB) {
	t.Helper()
	waitUntil(t, "the reaper to collect every zombie", func() bool { return len(ourZombies()) == 0 })
}

// termReporter, put in front of a script, starts a process of the tree that
// prints "reporter-up" once its trap is set, then "got-term" whenever it
// receives SIGTERM, and runs on.
const termReporter = `bash -c 'trap "echo got-term" TERM; echo reporter-up; while :; do sleep 0.05; done' &
`

func TestTerminateKillsWholeTree(t *testing.T) {
	eachMethod(t, func(t *testing.T, r *Runner) {
		out := newLines()
		p, id := start(t, r, treeScript, out)
		out.waitReady(t)
		pids := waitMarkers(t, id, 6)
		checkContained(t, p, pids)
		// With an hour of grace, Terminate returns only if SIGTERM alone
		// ended every process of the tree.
		waitDone(t, goDone(func() { p.Terminate(time.Hour) }), "Terminate of a tree that obeys SIGTERM")
		if pids := markerPIDs(id); len(pids) != 0 {
			t.Fatalf("processes alive after Terminate returned: %v", pids)
		}
		res := waitResult(t, p, waitBound)
		if !res.Terminated || res.Signal != "SIGTERM" || res.ExitCode != 128+15 || res.Err != nil {
			t.Errorf("result %+v", res)
		}
		checkGone(t, r, p, id)
		waitNoZombies(t)
	})
}

// TestKillIsImmediate: Kill during a Terminate's grace ends a tree that
// ignores SIGTERM at once; the grace is an hour, so Kill and Terminate
// returning shows that neither waited for it.
func TestKillIsImmediate(t *testing.T) {
	eachMethod(t, func(t *testing.T, r *Runner) {
		out := newLines()
		p, id := start(t, r, termReporter+"trap '' TERM\n"+treeScript, out)
		out.waitReady(t)
		out.waitFor(t, "reporter-up")
		waitMarkers(t, id, 7)
		terminated := goDone(func() { p.Terminate(time.Hour) })
		out.waitFor(t, "got-term")
		waitDone(t, goDone(p.Kill), "Kill")
		if pids := markerPIDs(id); len(pids) != 0 {
			t.Fatalf("processes alive after Kill returned: %v", pids)
		}
		waitDone(t, terminated, "Terminate to return once Kill cut its grace short")
		res := waitResult(t, p, waitBound)
		if !res.Terminated || res.Signal != "SIGKILL" {
			t.Errorf("result %+v", res)
		}
		checkGone(t, r, p, id)
	})
}

// TestIgnoredSIGTERMGetsSIGKILLAfterGrace: the tree gets SIGTERM first, runs
// on during the grace (its trap waits for the test to open a gate and then
// finds the processes that ignore SIGTERM still alive), and gets SIGKILL
// once the grace is over. The children ignore SIGTERM from their fork on
// (inherited), so no signal can beat a trap.
func TestIgnoredSIGTERMGetsSIGKILLAfterGrace(t *testing.T) {
	eachMethod(t, func(t *testing.T, r *Runner) {
		// The grace has to pass in full; the methods wait for it side by
		// side.
		t.Parallel()
		out := newLines()
		gate := filepath.Join(t.TempDir(), "gate")
		p, id := start(t, r, fmt.Sprintf(`
trap '' TERM
sleep infinity &
child=$!
daemon=$(setsid sleep infinity >/dev/null 2>&1 & echo $!)
trap 'echo got-term; until [ -e "%[1]s" ]; do sleep 0.01; done; kill -0 $child $daemon && echo ignorers-alive-after-term' TERM
echo ready
while :; do sleep 0.05 || :; done`, gate), out)
		out.waitReady(t)
		waitMarkers(t, id, 3)
		// Long enough for the test to react to the trap's output even on a
		// loaded machine; the order checked below does not depend on it.
		const grace = 3 * time.Second
		terminated := goDone(func() { p.Terminate(grace) })
		out.waitFor(t, "got-term")
		if err := os.WriteFile(gate, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		out.waitFor(t, "ignorers-alive-after-term")
		waitDone(t, terminated, "Terminate to SIGKILL the tree after the grace")
		if pids := markerPIDs(id); len(pids) != 0 {
			t.Fatalf("processes alive after Terminate returned: %v", pids)
		}
		res := waitResult(t, p, waitBound)
		if !res.Terminated || res.Signal != "SIGKILL" {
			t.Errorf("result %+v, want the main shell, which traps SIGTERM, SIGKILLed", res)
		}
		if i, j := out.index("got-term"), out.index("ignorers-alive-after-term"); i < 0 || j < i {
			t.Errorf("output %q: SIGTERM's trap output missing or out of order", out.texts(""))
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
		// The loops are still forking when Terminate starts.
		waitMarkers(t, id, 100)
		p.Terminate(200 * time.Millisecond)
		if pids := markerPIDs(id); len(pids) != 0 {
			t.Fatalf("%d processes alive after Terminate returned", len(pids))
		}
		res := waitResult(t, p, waitBound)
		if !res.Terminated || res.Err != nil {
			t.Errorf("result %+v", res)
		}
		checkGone(t, r, p, id)
	})
}

// TestMainExitKillsLeftovers: when the main shell exits, a daemon and a
// background child that would run for ever, holding stdout and stderr
// open, are killed and Wait returns.
func TestMainExitKillsLeftovers(t *testing.T) {
	eachMethod(t, func(t *testing.T, r *Runner) {
		out := newLines()
		dir := t.TempDir()
		p, id := start(t, r, fmt.Sprintf(`
( setsid sh -c 'echo $$ > %[1]s/daemon; exec sleep infinity' & )
sh -c 'echo $$ > %[1]s/child; exec sleep infinity' &
until [ -s %[1]s/daemon ] && [ -s %[1]s/child ]; do sleep 0.01; done
echo bye`, dir), out)
		res := waitResult(t, p, waitBound)
		if res.ExitCode != 0 || res.Terminated || res.Err != nil {
			t.Errorf("result %+v", res)
		}
		if got := out.texts(""); len(got) != 1 || got[0] != "bye" {
			t.Errorf("output %q", got)
		}
		checkGone(t, r, p, id)
	})
}

// findByArg returns living processes whose command line contains arg.
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

// TestEscapeeHoldingOutputDoesNotHangWait: a process that left the tree
// (cleared its environment, left the session, lost its parent) while
// holding stdout and stderr does not keep Wait from returning. The main
// shell exits only once the escapee runs; the escapee would sleep longer
// than waitBound.
func TestEscapeeHoldingOutputDoesNotHangWait(t *testing.T) {
	eachMethod(t, func(t *testing.T, r *Runner) {
		out := newLines()
		arg := fmt.Sprintf("300.%d%d", os.Getpid(), idSeq.Add(1))
		up := filepath.Join(t.TempDir(), "up")
		p, _ := start(t, r, fmt.Sprintf(`
( env -i /usr/bin/setsid /bin/sh -c 'echo up > %[1]s; exec /usr/bin/sleep %[2]s' & )
until [ -e %[1]s ]; do sleep 0.01; done
echo bye`, up, arg), out)
		t.Cleanup(func() {
			for _, pid := range findByArg(arg) {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		})
		res := waitResult(t, p, waitBound)
		if res.ExitCode != 0 || res.Err != nil {
			t.Errorf("result %+v", res)
		}
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

// TestConcurrentTerminateKillWait: Terminates, Waits and, once SIGTERM
// reached the tree, Kills, all at once; every call returns.
func TestConcurrentTerminateKillWait(t *testing.T) {
	eachMethod(t, func(t *testing.T, r *Runner) {
		out := newLines()
		p, id := start(t, r, termReporter+treeScript, out)
		out.waitReady(t)
		out.waitFor(t, "reporter-up")
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ {
			wg.Add(3)
			go func() { defer wg.Done(); p.Terminate(time.Hour) }()
			go func() { defer wg.Done(); p.Wait() }()
			go func() { defer wg.Done(); out.await("got-term"); p.Kill() }()
		}
		waitDone(t, goDone(wg.Wait), "Terminate, Kill and Wait to return")
		res := p.Wait()
		if !res.Terminated {
			t.Errorf("result %+v", res)
		}
		if out.index("got-term") < 0 {
			t.Errorf("SIGTERM never reached the tree; output %q", out.texts(""))
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

// TestReapAfterServerDeath: a helper process plays a server that dies by
// SIGKILL while its tree runs; Reap from this process kills what is left.
// The tree's heartbeat advancing after the helper's death shows that there
// is something left to reap.
func TestReapAfterServerDeath(t *testing.T) {
	eachMethod(t, func(t *testing.T, r *Runner) {
		id := newID(t)
		beat := filepath.Join(t.TempDir(), "beat")
		cmd, h := startDoomedLife(t, r.Method(), "", id, beat)
		if h.ID != id || h.Method != r.Method() {
			t.Fatalf("handle %+v", h)
		}
		waitMarkers(t, id, 5)
		// The server dies without any chance to clean up.
		cmd.Process.Kill()
		cmd.Wait()
		last, _ := os.ReadFile(beat)
		waitUntil(t, "the tree's heartbeat to advance after the helper died", func() bool {
			now, _ := os.ReadFile(beat)
			return len(now) > 0 && string(now) != string(last)
		})
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

// TestReapSparesProcessThatReusedPID: Reap of handles whose recorded main
// shell has the PID, but not the start time, of an unrelated session
// leader leaves that process alone: it still answers after each Reap.
func TestReapSparesProcessThatReusedPID(t *testing.T) {
	eachMethod(t, func(t *testing.T, r *Runner) {
		cmd := exec.Command("sh", "-c", `while read -r l; do echo "got $l"; done`)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			stdin.Close()
			cmd.Process.Kill()
			cmd.Wait()
		})
		answers := make(chan string, 1)
		go func() {
			defer close(answers)
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				answers <- sc.Text()
			}
		}()
		answersAfter := func(what string) {
			t.Helper()
			fmt.Fprintln(stdin, what)
			select {
			case got, ok := <-answers:
				if !ok || got != "got "+what {
					t.Fatalf("after %s the unrelated process answered %q (open %v): Reap killed it", what, got, ok)
				}
			case <-time.After(waitBound):
				t.Fatalf("after %s the unrelated process does not answer", what)
			}
		}
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
		answersAfter("reap-with-an-earlier-start-time")
		h.StartTime = 0
		if err := r.Reap(h); err != nil {
			t.Fatalf("Reap: %v", err)
		}
		answersAfter("reap-without-a-start-time")
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
		waitNoZombies(t)
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
			waitResult(t, p, waitBound)
			checkGone(t, r, p, id)
			waitNoZombies(t)
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
