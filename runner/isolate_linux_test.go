package runner

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// nobody is the job user of the tests when they run as root.
var nobody = NobodyCredential

// isolatedKey names a runner of the tests: a containment method and an
// isolation mode.
type isolatedKey struct{ method, isolation string }

var (
	isolatedMu      sync.Mutex
	isolatedRunners = map[isolatedKey]*Runner{}
	isolatedErrs    = map[isolatedKey]error{}
)

// isolatedRunner returns the shared runner of a method and an isolation
// mode, its trees run as nobody when the test runs as root (but for
// IsolationNone). It skips the test when the method does not contain trees
// here, and fails it when the method does but the mode does not work:
// namespaces, and a job user under root, are expected to work where these
// tests run.
func isolatedRunner(t *testing.T, k isolatedKey) *Runner {
	t.Helper()
	isolatedMu.Lock()
	defer isolatedMu.Unlock()
	if r := isolatedRunners[k]; r != nil {
		return r
	}
	if err := isolatedErrs[k]; err != nil {
		t.Fatal(err)
	}
	opts := Options{Method: k.method, Isolation: IsolationNone, Logger: slog.New(slog.DiscardHandler)}
	if _, err := New(opts); err != nil {
		t.Skipf("method not usable here: %v", err)
	}
	opts.Isolation, opts.Grace = k.isolation, 2*time.Second
	if os.Geteuid() == 0 && k.isolation != IsolationNone {
		opts.JobUser = &nobody
	}
	r, err := New(opts)
	if err != nil {
		isolatedErrs[k] = fmt.Errorf("trees cannot be isolated here: %w", err)
		t.Fatal(isolatedErrs[k])
	}
	isolatedRunners[k] = r
	return r
}

// eachIsolatedMethod runs f once per containment method usable here, with
// a runner that isolates trees in namespaces (see isolatedRunner).
func eachIsolatedMethod(t *testing.T, f func(t *testing.T, r *Runner)) {
	for _, m := range []string{MethodCgroupV2, MethodCgroupV1Freezer, MethodProcessGroup} {
		t.Run(m, func(t *testing.T) { f(t, isolatedRunner(t, isolatedKey{m, IsolationNamespaces})) })
	}
}

// eachCombination runs f once per containment method usable here and
// isolation mode: namespaces, job-user (when the test runs as root) and
// none.
func eachCombination(t *testing.T, f func(t *testing.T, r *Runner)) {
	modes := []string{IsolationNamespaces, IsolationNone}
	if os.Geteuid() == 0 {
		modes = append(modes, IsolationJobUser)
	}
	for _, m := range []string{MethodCgroupV2, MethodCgroupV1Freezer, MethodProcessGroup} {
		for _, iso := range modes {
			t.Run(m+"/"+iso, func(t *testing.T) { f(t, isolatedRunner(t, isolatedKey{m, iso})) })
		}
	}
}

// resultWithin returns the tree's result, failing the test (after killing
// the tree) if it takes longer than d.
func resultWithin(t *testing.T, p *Process, d time.Duration) Result {
	t.Helper()
	done := make(chan Result, 1)
	go func() { done <- p.Wait() }()
	select {
	case res := <-done:
		return res
	case <-time.After(d):
		p.Kill()
		t.Fatalf("the tree did not end within %s", d)
	}
	return Result{}
}

// jobTree is a data directory laid out as the server's, with a workspace
// for one tree and another tree's workspace beside it.
type jobTree struct {
	data, ws, other string
}

// newJobTree makes the directories in data, the workspace owned by the
// tree's user. With data from t.TempDir (mode 0700 in a 0700 parent) a job
// user cannot search the path to its workspace but through the covers.
// When the test runs as root the workspace holds a setuid-root copy of id.
func newJobTree(t *testing.T, data string, user Credential) jobTree {
	t.Helper()
	jt := jobTree{data: data, ws: filepath.Join(data, "work", "mine"), other: filepath.Join(data, "work", "other")}
	for _, d := range []string{jt.ws, jt.other} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		filepath.Join(jt.data, "credentials.json"): "the-secret",
		filepath.Join(jt.other, "theirs.txt"):      "other tree's file",
		filepath.Join(jt.ws, "input.txt"):          "my input",
	}
	for name, body := range files {
		if err := os.WriteFile(name, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{jt.ws, filepath.Join(jt.ws, "input.txt")} {
		if err := os.Chown(p, int(user.UID), int(user.GID)); err != nil {
			t.Fatal(err)
		}
	}
	if os.Geteuid() == 0 {
		b, err := os.ReadFile("/usr/bin/id")
		if err != nil {
			t.Fatal(err)
		}
		id := filepath.Join(jt.ws, "setuid-id")
		if err := os.WriteFile(id, b, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(id, 0o755|os.ModeSetuid); err != nil {
			t.Fatal(err)
		}
	}
	return jt
}

// env is the environment of the tree that runs isolationScript.
func (jt jobTree) env() []string {
	return []string{"PATH=/usr/bin:/bin", "DATA=" + jt.data, "WS=" + jt.ws}
}

// spec is the Spec of the tree that runs isolationScript.
func (jt jobTree) spec(id string, onLine func(Line)) Spec {
	return Spec{ID: id, Script: isolationScript, Dir: jt.ws, Env: jt.env(), OnLine: onLine,
		Isolation: Isolation{Hide: []string{jt.data}, Keep: []string{jt.ws}}}
}

// jobUserOf returns who the runner's trees run as.
func jobUserOf(r *Runner) Credential {
	if c, ok := r.JobCredential(); ok {
		return c
	}
	return Credential{UID: uint32(os.Geteuid()), GID: uint32(os.Getegid())}
}

// environOf returns the entries of an environment block.
func environOf(b []byte) map[string]bool {
	out := map[string]bool{}
	for _, kv := range bytes.Split(b, []byte{0}) {
		if len(kv) > 0 {
			out[string(kv)] = true
		}
	}
	return out
}

// isolationScript reports what a tree sees: lines checkIsolated checks.
const isolationScript = `
ls -A "$DATA" | sed 's/^/DATA /'
ls -A "$DATA/work" | sed 's/^/WORK /'
[ -e "$DATA/credentials.json" ] && echo SEES-CREDENTIALS
cat "$DATA/work/other/theirs.txt" 2>/dev/null && echo READ-OTHER
cat "$WS/input.txt"; echo
echo written > "$WS/out.txt" && echo WROTE-WORKSPACE
touch "$DATA/new" 2>/dev/null && echo WROTE-COVER
umount "$DATA/work/mine" 2>/dev/null && echo UNMOUNTED-KEEP
umount "$DATA" 2>/dev/null && echo UNMOUNTED-COVER
umount /proc 2>/dev/null && echo UNMOUNTED-PROC
unshare -Urm sh -c "umount '$DATA/work/mine'; umount '$DATA'; umount /proc; ls -A '$DATA'" 2>/dev/null | sed 's/^/NESTED /'
"$WS/setuid-id" -u 2>/dev/null | sed 's/^/SETUID-EUID /'
for d in /proc/[0-9]*; do echo "PROC ${d#/proc/}"; done
for f in /proc/[0-9]*/environ; do tr '\0' '\n' < "$f" 2>/dev/null | sed 's/^/ENV /'; done
grep -E '^(CapBnd|NoNewPrivs):' /proc/self/status
echo "EUID $EUID"
`

// checkIsolated checks what a tree running isolationScript over jt as
// user reported (its stdout): its workspace, and nothing else of the data
// directory, of the server's environment or of other processes, and no way
// to undo its mounts or gain a privilege.
func checkIsolated(t *testing.T, jt jobTree, got []string, user Credential, id string, serverEnv map[string]bool) {
	t.Helper()
	has := map[string]bool{}
	var procs []int
	for _, l := range got {
		has[l] = true
		if n, ok := strings.CutPrefix(l, "PROC "); ok {
			pid, _ := strconv.Atoi(n)
			procs = append(procs, pid)
		}
	}
	for _, want := range []string{"DATA work", "WORK mine", "my input", "WROTE-WORKSPACE", "NESTED work",
		"CapBnd:\t0000000000000000", "NoNewPrivs:\t1", fmt.Sprintf("EUID %d", user.UID)} {
		if !has[want] {
			t.Errorf("the tree did not report %q; output %q", want, got)
		}
	}
	treeEnv := map[string]bool{MarkerEnv + "=" + id: true}
	for _, kv := range jt.env() {
		treeEnv[kv] = true
	}
	for _, l := range got {
		for _, bad := range []string{"SEES-", "READ-", "WROTE-COVER", "UNMOUNTED-", "SETUID-EUID 0"} {
			if strings.HasPrefix(l, bad) {
				t.Errorf("the tree reported %q", l)
			}
		}
		if strings.HasPrefix(l, "WORK ") && l != "WORK mine" || strings.HasPrefix(l, "NESTED ") && l != "NESTED work" {
			t.Errorf("the tree sees %q", l)
		}
		// What the tree's own shells set is no leak.
		if kv, ok := strings.CutPrefix(l, "ENV "); ok && serverEnv[kv] && !treeEnv[kv] && !shellSet(kv) {
			t.Errorf("the tree read the server's environment entry %q", kv)
		}
	}
	if b, err := os.ReadFile(filepath.Join(jt.ws, "out.txt")); err != nil || string(b) != "written\n" {
		t.Errorf("the tree's write to its workspace: %q, %v", b, err)
	}
	// Its /proc shows the helper as PID 1 and the tree's own few processes.
	if len(procs) == 0 || procs[0] != 1 || len(procs) > 20 {
		t.Errorf("the tree sees processes %v", procs)
	}
}

// shellSet reports whether an environment entry is one bash sets itself.
func shellSet(kv string) bool {
	name, _, _ := strings.Cut(kv, "=")
	return name == "SHLVL" || name == "PWD" || name == "OLDPWD" || name == "_"
}

func TestIsolatedTreeSeesOnlyWhatItMay(t *testing.T) {
	own, err := os.ReadFile("/proc/self/environ")
	if err != nil {
		t.Fatal(err)
	}
	eachIsolatedMethod(t, func(t *testing.T, r *Runner) {
		user := jobUserOf(r)
		jt := newJobTree(t, t.TempDir(), user)
		out := newLines()
		id := newID(t)
		p, err := r.Start(jt.spec(id, out.add))
		if err != nil {
			t.Fatal(err)
		}
		res := resultWithin(t, p, 20*time.Second)
		if res.ExitCode != 0 || res.Err != nil {
			t.Fatalf("result %+v, output %q, stderr %q", res, out.texts("stdout"), out.texts("stderr"))
		}
		checkIsolated(t, jt, out.texts("stdout"), user, id, environOf(own))
	})
}

func TestIsolatedExitStatusIsTheMainShells(t *testing.T) {
	plain, err := New(Options{Isolation: IsolationNone, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	scripts := []string{"true", "exit 3", "exit 255", "kill -TERM $$", "kill -KILL $$", "ulimit -c 0; kill -SEGV $$", "( sleep 300 & ); exit 7"}
	eachIsolatedMethod(t, func(t *testing.T, r *Runner) {
		for _, script := range scripts {
			var results [2]Result
			for i, run := range []*Runner{plain, r} {
				p, err := run.Start(Spec{ID: newID(t), Script: script, Env: []string{"PATH=/usr/bin:/bin"}})
				if err != nil {
					t.Fatal(err)
				}
				results[i] = resultWithin(t, p, 10*time.Second)
			}
			want, got := results[0], results[1]
			if got.ExitCode != want.ExitCode || got.Signal != want.Signal || got.Terminated || got.Err != nil {
				t.Errorf("%q isolated: exit %d signal %q terminated %v err %v; without isolation: exit %d signal %q",
					script, got.ExitCode, got.Signal, got.Terminated, got.Err, want.ExitCode, want.Signal)
			}
		}
	})
}

// daemonTree starts a background child, a setsid'd double-forked daemon
// and a process that ignores SIGTERM, then prints ready.
const daemonTree = `
sleep 300 &
( setsid sh -c 'sleep 301 & :' & )
sh -c 'trap "" TERM; while :; do sleep 0.05; done' &
echo ready
wait
`

func TestTreeIsKilledWholeInEveryMode(t *testing.T) {
	eachCombination(t, func(t *testing.T, r *Runner) {
		for _, how := range []string{"terminate", "kill"} {
			out := newLines()
			id := newID(t)
			p, err := r.Start(Spec{ID: id, Script: daemonTree, Env: []string{"PATH=/usr/bin:/bin"}, OnLine: out.add})
			if err != nil {
				t.Fatal(err)
			}
			out.waitReady(t)
			waitMarkers(t, id, 5)
			if how == "terminate" {
				p.Terminate(300 * time.Millisecond)
			} else {
				p.Kill()
			}
			if left := markerPIDs(id); len(left) != 0 {
				t.Errorf("%s: processes alive after it returned: %v", how, left)
			}
			res := resultWithin(t, p, 10*time.Second)
			// The main shell waits, so SIGTERM ends it; under Kill,
			// SIGKILL does.
			want := "SIGTERM"
			if how == "kill" {
				want = "SIGKILL"
			}
			if !res.Terminated || res.Signal != want || res.Err != nil {
				t.Errorf("%s: result %+v", how, res)
			}
		}
	})
}

func TestIsolationNeedsValidSetup(t *testing.T) {
	if os.Geteuid() != 0 {
		if _, err := New(Options{JobUser: &nobody}); err == nil {
			t.Error("New accepted a job user in a server that is not root")
		}
	}
	if _, err := New(Options{Isolation: "chroot"}); err == nil {
		t.Error("New accepted an unknown isolation")
	}
	if _, err := New(Options{Isolation: IsolationJobUser}); err == nil {
		t.Error("New accepted job-user isolation without a job user")
	}
	r, err := New(Options{Isolation: IsolationNamespaces})
	if err != nil {
		t.Skipf("no namespaces here: %v", err)
	}
	for _, iso := range []Isolation{{Hide: []string{"relative"}}, {Hide: []string{"/nonexistent/dir"}}, {Keep: []string{"/etc/hostname"}}} {
		if p, err := r.Start(Spec{ID: newID(t), Script: "true", Isolation: iso}); err == nil {
			p.Wait()
			t.Errorf("Start accepted isolation %+v", iso)
		}
	}
}

func TestJobInitRefusesToRunOutsideItsNamespaces(t *testing.T) {
	r, err := New(Options{Isolation: IsolationNamespaces})
	if err != nil {
		t.Fatalf("no namespaces here: %v", err)
	}
	defer r.Close()
	for _, flags := range []uintptr{syscall.CLONE_NEWNS, syscall.CLONE_NEWNS | syscall.CLONE_NEWPID} {
		// Never the test's own mount namespace: a helper whose check failed
		// must not change the test's mounts.
		attr := namespaceAttr()
		attr.Cloneflags = flags | attr.Cloneflags&syscall.CLONE_NEWUSER
		l, err := spawnHelper(attr)
		if err != nil {
			t.Fatal(err)
		}
		spec, err := r.initSpecFor(Spec{Script: "echo ran"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if flags&syscall.CLONE_NEWPID != 0 {
			// In a PID namespace of its own, it is told that its mount
			// namespace is the server's.
			if spec.ServerMountNS, err = os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", l.pid)); err != nil {
				t.Fatal(err)
			}
		}
		devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		herr := l.handshake(spec, devnull, devnull, -1)
		devnull.Close()
		l.discard()
		if herr == nil || !strings.Contains(herr.Error(), jobInitName) {
			t.Errorf("clone flags %#x: the helper did not refuse (%v)", flags, herr)
		}
	}
}

func TestJobUserWithoutNamespaces(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	r, err := New(Options{Isolation: IsolationJobUser, JobUser: &nobody, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := r.JobCredential(); !ok || c != nobody || r.Isolation() != IsolationJobUser {
		t.Fatalf("job credential %v %v, isolation %s", c, ok, r.Isolation())
	}
	jt := newJobTree(t, t.TempDir(), nobody)
	// Without covers, the job user reaches its workspace through
	// directories it may search but not list.
	for _, d := range []string{filepath.Dir(jt.data), jt.data, filepath.Join(jt.data, "work")} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	out := newLines()
	p, err := r.Start(Spec{ID: newID(t), Dir: jt.ws, Env: []string{"PATH=/usr/bin:/bin"}, OnLine: out.add,
		Script: fmt.Sprintf(`echo "EUID $EUID"; cat input.txt; echo; cat %s/credentials.json 2>/dev/null || ls %s 2>/dev/null || cat %s/theirs.txt 2>/dev/null || echo end`, jt.data, jt.data, jt.other)})
	if err != nil {
		t.Fatal(err)
	}
	res := resultWithin(t, p, 10*time.Second)
	if got := strings.Join(out.texts("stdout"), "|"); res.ExitCode != 0 || got != "EUID 65534|my input|end" {
		t.Errorf("result %+v, output %q", res, got)
	}
}
