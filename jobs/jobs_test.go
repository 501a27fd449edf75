package jobs_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pipewright/pipewright/artifacts"
	"github.com/pipewright/pipewright/jobs"
	"github.com/pipewright/pipewright/runner"
	"github.com/pipewright/pipewright/store/sqlite"
)

// life is one life of a server's job layer over a data directory: a real
// store, runner and artifact store.
type life struct {
	t     *testing.T
	data  string
	db    *sqlite.DB
	arts  *artifacts.Store
	mgr   *jobs.Manager
	owner *owner
	boot  string
}

// owner is the simplest owner: it records every end it is told of and
// wants a job unless told otherwise.
type owner struct {
	mu      sync.Mutex
	ended   map[string]*jobs.Job
	unwant  map[string]bool
	endedCh chan *jobs.Job
}

func (o *owner) Wanted(ctx context.Context, j *jobs.Job) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return !o.unwant[j.Token]
}

func (o *owner) Ended(j *jobs.Job) {
	o.mu.Lock()
	o.ended[j.Token] = j
	o.mu.Unlock()
	select {
	case o.endedCh <- j:
	default:
	}
}

func (o *owner) get(token string) *jobs.Job {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.ended[token]
}

func newLife(t *testing.T, data, boot string) *life {
	t.Helper()
	for _, d := range []string{"work", "logs"} {
		if err := os.MkdirAll(filepath.Join(data, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	db, err := sqlite.Open(context.Background(), filepath.Join(data, "db"))
	if err != nil {
		t.Fatal(err)
	}
	arts, err := artifacts.Open(filepath.Join(data, "artifacts"), db.Objects())
	if err != nil {
		t.Fatal(err)
	}
	run, err := runner.New(runner.Options{Grace: 500 * time.Millisecond, Scope: "jobs-test-" + filepath.Base(data)})
	if err != nil {
		t.Fatal(err)
	}
	o := &owner{ended: map[string]*jobs.Job{}, unwant: map[string]bool{}, endedCh: make(chan *jobs.Job, 64)}
	mgr := jobs.New(jobs.Config{Store: db.Jobs(), Runner: run, Artifacts: arts, WorkDir: filepath.Join(data, "work"), LogDir: filepath.Join(data, "logs"),
		Hide: []string{data}, Boot: boot, Grace: 500 * time.Millisecond})
	mgr.Register("test", o)
	mgr.Register("buggy", panicky{o})
	l := &life{t: t, data: data, db: db, arts: arts, mgr: mgr, owner: o, boot: boot}
	if err := mgr.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return l
}

func (l *life) close() {
	l.mgr.Close()
	l.db.Close()
}

func (l *life) submit(token, script string) *jobs.Job {
	l.t.Helper()
	j, err := l.mgr.Submit(context.Background(), "test", token, "g", jobs.Spec{Script: script})
	if err != nil {
		l.t.Fatal(err)
	}
	return j
}

// waitEnd waits until the owner was told the job of token ended.
func (l *life) waitEnd(token string) *jobs.Job {
	l.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if j := l.owner.get(token); j != nil {
			return j
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("job %s did not end", token)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (l *life) logOf(j *jobs.Job) string {
	b, _ := os.ReadFile(j.LogPath)
	return string(b)
}

func waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never appeared", path)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSubmitIsIdempotentByToken(t *testing.T) {
	t.Parallel()
	l := newLife(t, t.TempDir(), "b1")
	defer l.close()
	a := l.submit("tok", "echo hello")
	b := l.submit("tok", "echo twice")
	if a.ID != b.ID {
		t.Fatalf("two jobs for one token: %s, %s", a.ID, b.ID)
	}
	j := l.waitEnd("tok")
	if j.Status != jobs.StatusSucceeded || j.Reason != jobs.ReasonExited {
		t.Fatalf("job ended %s/%s: %s", j.Status, j.Reason, j.Message)
	}
	if c := l.submit("tok", "echo thrice"); c.ID != a.ID || c.Status != jobs.StatusSucceeded {
		t.Fatalf("Submit after the end: %+v", c)
	}
	if log := l.logOf(j); !strings.Contains(log, " hello\n") || strings.Contains(log, "twice") {
		t.Fatalf("log:\n%s", log)
	}
}

func TestFailureMessageAndExitCode(t *testing.T) {
	t.Parallel()
	l := newLife(t, t.TempDir(), "b1")
	defer l.close()
	l.submit("f", "echo before; exit 3")
	j := l.waitEnd("f")
	if j.Status != jobs.StatusFailed || j.ExitCode != 3 || !strings.Contains(j.Message, "exit status 3") || !strings.Contains(j.Message, "before") {
		t.Fatalf("failed job: %+v", j)
	}
}

func TestStopEndsTheTreeWithAReasonInTheLog(t *testing.T) {
	t.Parallel()
	l := newLife(t, t.TempDir(), "b1")
	defer l.close()
	mark := filepath.Join(t.TempDir(), "started")
	j := l.submit("s", "trap '' TERM; touch '"+mark+"'; sleep 300 & sleep 301; wait")
	waitFile(t, mark)
	if err := l.mgr.Stop(context.Background(), j.ID, "the user said so"); err != nil {
		t.Fatal(err)
	}
	end := l.waitEnd("s")
	if end.Status != jobs.StatusStopped || end.Reason != jobs.ReasonStopped || end.StopReason != "the user said so" {
		t.Fatalf("stopped job: %+v", end)
	}
	log := l.logOf(end)
	lines := strings.Split(strings.TrimSpace(log), "\n")
	last := lines[len(lines)-1]
	if !strings.Contains(last, "[pipewright]") || !strings.Contains(last, "the user said so") {
		t.Fatalf("the log does not end with what ended the job:\n%s", log)
	}
}

func TestStopBeforeTheProcessStartsNeverStartsIt(t *testing.T) {
	t.Parallel()
	l := newLife(t, t.TempDir(), "b1")
	defer l.close()
	mark := filepath.Join(t.TempDir(), "ran")
	l.owner.mu.Lock()
	l.owner.unwant["gone"] = true
	l.owner.mu.Unlock()
	l.submit("gone", "touch '"+mark+"'")
	end := l.waitEnd("gone")
	if end.Status != jobs.StatusStopped || !strings.Contains(end.Message, "no longer wants") {
		t.Fatalf("unwanted job: %+v", end)
	}
	if _, err := os.Stat(mark); err == nil {
		t.Fatal("the unwanted job's commands ran")
	}
}

func TestTimeoutTerminatesTheTree(t *testing.T) {
	t.Parallel()
	l := newLife(t, t.TempDir(), "b1")
	defer l.close()
	j, err := l.mgr.Submit(context.Background(), "test", "slow", "g", jobs.Spec{Script: "sleep 300", Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	end := l.waitEnd("slow")
	if end.Status != jobs.StatusTimedOut || end.Reason != jobs.ReasonTimeout || !strings.Contains(end.Message, "200ms") {
		t.Fatalf("timed-out job: %+v", end)
	}
	if !strings.Contains(l.logOf(j), "did not finish within its timeout") {
		t.Fatalf("log:\n%s", l.logOf(end))
	}
}

func TestNoteEndsTheLog(t *testing.T) {
	t.Parallel()
	l := newLife(t, t.TempDir(), "b1")
	defer l.close()
	mark := filepath.Join(t.TempDir(), "go")
	j := l.submit("n", "while [ ! -e '"+mark+"' ]; do sleep 0.01; done; echo after the note")
	if err := l.mgr.Note(context.Background(), j.ID, "its action was abandoned"); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(mark, nil, 0o600)
	end := l.waitEnd("n")
	lines := strings.Split(strings.TrimSpace(l.logOf(end)), "\n")
	if len(lines) < 2 || !strings.Contains(lines[0], "after the note") || !strings.HasSuffix(lines[len(lines)-1], "[pipewright] its action was abandoned") {
		t.Fatalf("log:\n%s", l.logOf(end))
	}
}

// TestBootRule: a job Running under an earlier life failed as lost and its
// tree is gone; a Pending one starts in the new life.
func TestBootRule(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	first := newLife(t, data, "b1")
	mark := filepath.Join(t.TempDir(), "pid")
	running := first.submit("running", "echo $$ > '"+mark+"'; sleep 300")
	waitFile(t, mark)
	// The first life dies without closing anything: its record says
	// Running, its tree lives on. A Pending job is written as a life that
	// died between deciding and starting would leave it.
	pending := &jobs.Job{ID: "pending-job", Owner: "test", Token: "pending", Group: "g", Status: jobs.StatusPending, Boot: "b1",
		LogPath: filepath.Join(data, "logs", "pending-job.log"), Spec: jobs.Spec{Script: "echo ran in the second life"}}
	if err := first.db.Jobs().Progress(context.Background(), func(tx jobs.Tx) error { return tx.CreateJob(pending) }); err != nil {
		t.Fatal(err)
	}
	first.db.Close()
	if pids := treeOf(running.ID); len(pids) == 0 {
		t.Fatal("the tree of the first life is not running")
	}

	second := newLife(t, data, "b2")
	defer second.close()
	lost := second.waitEnd("running")
	if lost.ID != running.ID || lost.Status != jobs.StatusFailed || lost.Reason != jobs.ReasonLost {
		t.Fatalf("job of the dead life: %+v", lost)
	}
	if !strings.Contains(second.logOf(lost), "stopped while this job was running") {
		t.Fatalf("log:\n%s", second.logOf(lost))
	}
	if pids := treeOf(running.ID); len(pids) != 0 {
		t.Fatalf("the tree of the dead life survived its restart: %v", pids)
	}
	ran := second.waitEnd("pending")
	if ran.Status != jobs.StatusSucceeded || ran.Boot != "b2" || !strings.Contains(second.logOf(ran), "ran in the second life") {
		t.Fatalf("pending job of the dead life: %+v", ran)
	}
}

func TestDeleteGroupStopsAndForgets(t *testing.T) {
	t.Parallel()
	l := newLife(t, t.TempDir(), "b1")
	defer l.close()
	mark := filepath.Join(t.TempDir(), "up")
	done := l.submit("done", "true")
	l.waitEnd("done")
	live := l.submit("live", "touch '"+mark+"'; sleep 300")
	waitFile(t, mark)
	if err := l.mgr.DeleteGroup(context.Background(), "test", "g"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, e1 := l.mgr.Get(context.Background(), done.ID)
		_, e2 := l.mgr.Get(context.Background(), live.ID)
		if e1 == jobs.ErrNotFound && e2 == jobs.ErrNotFound {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs of a deleted group remain: %v %v", e1, e2)
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, p := range []string{done.LogPath, live.LogPath} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("log %s of a deleted group remains", p)
		}
	}
	if l.owner.get("live") != nil {
		t.Error("the owner was told of a job of a deleted group")
	}
}

func TestPruneDeletesOldJobsAndLogs(t *testing.T) {
	t.Parallel()
	l := newLife(t, t.TempDir(), "b1")
	defer l.close()
	old := l.submit("old", "true")
	l.waitEnd("old")
	if n := l.mgr.Prune(context.Background(), time.Now().Add(-time.Hour)); n != 0 {
		t.Fatalf("pruned %d jobs that ended after the cutoff", n)
	}
	if n := l.mgr.Prune(context.Background(), time.Now().Add(time.Hour)); n != 1 {
		t.Fatalf("pruned %d, want 1", n)
	}
	if _, err := os.Stat(old.LogPath); !os.IsNotExist(err) {
		t.Fatal("the pruned job's log remains")
	}
}

func TestCloseRecordsShutdown(t *testing.T) {
	t.Parallel()
	l := newLife(t, t.TempDir(), "b1")
	mark := filepath.Join(t.TempDir(), "up")
	j := l.submit("sd", "touch '"+mark+"'; sleep 300")
	waitFile(t, mark)
	l.mgr.Close()
	if pids := treeOf(j.ID); len(pids) != 0 {
		t.Fatalf("the job's tree outlived Close: %v", pids)
	}
	got, err := l.mgr.Get(context.Background(), j.ID)
	if err != nil || got.Status != jobs.StatusFailed || got.Reason != jobs.ReasonShutdown || got.Message != jobs.MessageShutdown {
		t.Fatalf("job after Close: %+v %v", got, err)
	}
	l.db.Close()
}

// fullDisk is a real store whose writes fail once it is full, as on a
// full disk.
type fullDisk struct {
	jobs.Store
	mu   sync.Mutex
	full bool
}

func (f *fullDisk) Progress(ctx context.Context, fn func(jobs.Tx) error) error {
	f.mu.Lock()
	full := f.full
	f.mu.Unlock()
	if full {
		return errors.New("database or disk is full")
	}
	return f.Store.Progress(ctx, fn)
}

// TestShutdownIsBoundedWhenTheStoreFails: with every store write failing,
// Close still terminates the job and returns; the job is left to the next
// life's boot rule.
func TestShutdownIsBoundedWhenTheStoreFails(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	for _, d := range []string{"work", "logs"} {
		os.MkdirAll(filepath.Join(data, d), 0o700)
	}
	db, err := sqlite.Open(context.Background(), filepath.Join(data, "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	arts, _ := artifacts.Open(filepath.Join(data, "artifacts"), db.Objects())
	run, err := runner.New(runner.Options{Scope: "jobs-test-disk-" + filepath.Base(data)})
	if err != nil {
		t.Fatal(err)
	}
	store := &fullDisk{Store: db.Jobs()}
	mgr := jobs.New(jobs.Config{Store: store, Runner: run, Artifacts: arts, WorkDir: filepath.Join(data, "work"), LogDir: filepath.Join(data, "logs"),
		Boot: "b1", Grace: 200 * time.Millisecond, StoreRetry: 300 * time.Millisecond})
	if err := mgr.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	mark := filepath.Join(t.TempDir(), "pid")
	j, err := mgr.Submit(context.Background(), "test", "t", "g", jobs.Spec{Script: "echo $$ > '" + mark + "'; sleep 300"})
	if err != nil {
		t.Fatal(err)
	}
	waitFile(t, mark)
	store.mu.Lock()
	store.full = true
	store.mu.Unlock()
	closed := make(chan struct{})
	go func() { mgr.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		t.Fatal("Close waits for ever on a failing store")
	}
	if pids := treeOf(j.ID); len(pids) != 0 {
		t.Fatalf("the job's tree outlived Close: %v", pids)
	}
}

// treeOf lists the living processes (as this test sees them) that carry a
// job's tree marker.
func treeOf(jobID string) []int {
	want := []byte("\x00" + runner.MarkerEnv + "=" + jobID + "\x00")
	var out []int
	environs, _ := filepath.Glob("/proc/[0-9]*/environ")
	for _, name := range environs {
		env, err := os.ReadFile(name)
		if err != nil || !bytes.Contains(append(append([]byte{0}, env...), 0), want) {
			continue
		}
		stat, err := os.ReadFile(filepath.Join(filepath.Dir(name), "stat"))
		if err != nil || bytes.Contains(stat, []byte(") Z")) {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(name)))
		out = append(out, pid)
	}
	return out
}

// panicky is an owner whose Wanted panics, as a bug in an owner would.
type panicky struct{ *owner }

func (p panicky) Wanted(ctx context.Context, j *jobs.Job) bool { panic("owner bug") }

// TestPanicFailsTheJobNotTheServer: a panic while a job runs fails that
// job with the reason, and the layer goes on running others.
func TestPanicFailsTheJobNotTheServer(t *testing.T) {
	t.Parallel()
	l := newLife(t, t.TempDir(), "b1")
	defer l.close()
	if _, err := l.mgr.Submit(context.Background(), "buggy", "p", "g", jobs.Spec{Script: "true"}); err != nil {
		t.Fatal(err)
	}
	end := l.waitEnd("p")
	if end.Status != jobs.StatusFailed || end.Reason != jobs.ReasonInternal || !strings.Contains(end.Message, "owner bug") {
		t.Fatalf("job whose run panicked: %+v", end)
	}
	l.submit("after", "true")
	if j := l.waitEnd("after"); j.Status != jobs.StatusSucceeded {
		t.Fatalf("a job after the panic: %+v", j)
	}
}
