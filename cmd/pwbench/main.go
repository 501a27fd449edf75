// Command pwbench measures pipewright against the real binary: it starts
// `pipewright serve` as a child process on a free loopback port over a
// temporary data directory, talks to it only over HTTP with aws-sdk-go-v2's
// CodePipeline client (real SigV4, one attempt per call) and wrk, and prints
// the figures of the performance issue with their targets:
//
//	(a) StopPipelineExecution(abandon) → GetPipelineExecution shows Stopped
//	(b) end of the last in-progress action of a stop-and-wait execution → Stopped
//	(c) StartPipelineExecution → the first Commands process runs
//	(d) GetPipelineState under wrk, with ~10 and ~10,000 past executions
//	(e) idle RSS of the server after start-up and after the benchmarks
//	(f) StartBuild → the first buildspec command runs
//	(g) StopBuild → every process of the build gone and STOPPED stored
//	(h) server RSS with 200 concurrent sleeping builds; stopping them all
//	(i) server RSS while a build prints 100 MB, and paging its log whole
//	(j) PutObject and GetObject of 100 MB against `cp`, and the server's RSS
//	(k) StopDeployment → Stopped, 5 hosts in hooks terminated after a grace
//	(l) a CodeDeploy lifecycle event handed out → its hook's script runs
//
// (f)-(i) use the CodeBuild and CloudWatch Logs clients of aws-sdk-go-v2,
// (j) its S3 client, (k) and (l) its CodeDeploy and S3 clients with
// pipewright's CodeDeploy agent (codedeploy/agent) running in-process.
//
// Missed targets are reported as MISSED; the exit status is non-zero only
// when the bench itself fails. See scripts/bench and docs/benchmarks.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cb "github.com/aws/aws-sdk-go-v2/service/codebuild"
	cp "github.com/aws/aws-sdk-go-v2/service/codepipeline"
)

type options struct {
	bin            string
	stopN          int
	stopWorkers    int
	waitN          int
	startN         int
	history        int
	historyWorkers int
	historyBudget  time.Duration
	wrkDuration    time.Duration
	wrkThreads     int
	wrkConns       int
	idle           time.Duration
	timeout        time.Duration
	record         string
	keep           bool
	only           string
	pprof          bool
	quietWait      time.Duration
	tmpdir         string
	serverFlags    string
	buildStartN    int
	buildStopN     int
	manyN          int
	manyWorkers    int
	manySleep      time.Duration
	maxBuilds      int
	logMB          int
	s3MB           int
	s3Rounds       int
	deployHosts    int
	deployStopN    int
	agentGrace     time.Duration
	hookStartN     int
}

type bench struct {
	opt       options
	tmp       string
	srv       *serverProc
	client    *cp.Client
	cb        *cb.Client
	logs      *cwl.Client
	pprofAddr string
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "bin/pipewright", "the pipewright binary to benchmark")
	flag.IntVar(&o.stopN, "abandon-n", 200, "(a) executions stopped with abandon")
	flag.IntVar(&o.stopWorkers, "abandon-workers", 4, "(a) executions started and stopped at once")
	flag.IntVar(&o.waitN, "stopwait-n", 100, "(b) stop-and-wait executions")
	flag.IntVar(&o.startN, "start-n", 100, "(c) executions started one at a time")
	flag.IntVar(&o.history, "history", 10000, "(d) past executions of the big-history run")
	flag.IntVar(&o.historyWorkers, "history-workers", 40, "(d) executions in flight while creating the history (< 50)")
	flag.DurationVar(&o.historyBudget, "history-budget", 20*time.Minute, "(d) time allowed for creating the history; fewer executions are used when it runs out")
	flag.DurationVar(&o.wrkDuration, "wrk-duration", 15*time.Second, "(d) length of each wrk run")
	flag.IntVar(&o.wrkThreads, "wrk-threads", 2, "(d) wrk threads")
	flag.IntVar(&o.wrkConns, "wrk-connections", 16, "(d) wrk connections")
	flag.DurationVar(&o.idle, "idle", 5*time.Second, "(e) idle time before reading VmRSS")
	flag.DurationVar(&o.timeout, "timeout", 60*time.Minute, "deadline of the whole bench")
	flag.StringVar(&o.record, "record", "", "append the results as a dated section to this markdown file (e.g. docs/benchmarks.md)")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (data, server log)")
	flag.IntVar(&o.buildStartN, "build-start-n", 100, "(f) builds started one at a time")
	flag.IntVar(&o.buildStopN, "build-stop-n", 100, "(g) builds stopped one at a time")
	flag.IntVar(&o.manyN, "many-n", 200, "(h) concurrent sleeping builds")
	flag.IntVar(&o.manyWorkers, "many-workers", 8, "(h) StartBuild and StopBuild calls in flight")
	flag.DurationVar(&o.manySleep, "many-sleep", 60*time.Second, "(h) how long each build sleeps (whole seconds)")
	flag.IntVar(&o.maxBuilds, "max-builds", 0, "the server's --max-builds when a CodeBuild figure runs (0: (h)'s -many-n, at least 200)")
	flag.IntVar(&o.logMB, "log-mb", 100, "(i) megabytes (10^6 bytes) of output of the big-log build")
	flag.IntVar(&o.s3MB, "s3-mb", 100, "(j) megabytes (10^6 bytes) of the object")
	flag.IntVar(&o.s3Rounds, "s3-rounds", 3, "(j) rounds of cp, PutObject and GetObject (medians are reported)")
	flag.IntVar(&o.deployHosts, "deploy-hosts", 5, "(k) hosts, each with pipewright's agent in-process ((l) uses the first)")
	flag.IntVar(&o.deployStopN, "deploy-stop-n", 25, "(k) deployments stopped one at a time")
	flag.DurationVar(&o.agentGrace, "agent-stop-grace", time.Second, "(k) the agents' --stop-grace: SIGTERM to SIGKILL of a terminated hook")
	flag.IntVar(&o.hookStartN, "hook-start-n", 50, "(l) lifecycle events timed (whole deployments of 5 hooks, one at a time)")
	flag.StringVar(&o.only, "only", "abcdefghijkl", "which figures to measure (letters of abcdefghijkl; e is always measured; fghi are CodeBuild's, j S3's, kl CodeDeploy's)")
	flag.BoolVar(&o.pprof, "pprof", false, "diagnose instead of measure: run cmd/pwbench/profserve (the same server with pprof hooks, built with go build) and keep a CPU profile and an execution trace of each figure in the temp dir (implies -keep)")
	flag.StringVar(&o.tmpdir, "tmpdir", "", "where the temporary directory (the server's --data, fifos, files) is created (default $TMPDIR or /tmp)")
	flag.StringVar(&o.serverFlags, "server-flags", "", "more flags for `pipewright serve`, space-separated (e.g. \"--log-level warn\"), to see what a setting costs")
	flag.DurationVar(&o.quietWait, "quiet-wait", 2*time.Minute, "wait up to this long for other processes to leave the CPUs idle before measuring")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "pwbench: unexpected argument", flag.Arg(0))
		os.Exit(2)
	}
	if o.pprof && o.record != "" {
		fmt.Fprintln(os.Stderr, "pwbench: -pprof measures a profiling build; it cannot -record")
		os.Exit(2)
	}
	if o.pprof {
		o.keep = true
	}
	if o.historyWorkers >= 50 {
		fmt.Fprintln(os.Stderr, "pwbench: -history-workers must stay below the server's 50 active executions")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "pwbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) (err error) {
	started := time.Now()
	bin, err := filepath.Abs(o.bin)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("pipewright binary: %w (build it with: go build -o bin/pipewright ./cmd/pipewright)", err)
	}
	for _, tool := range []string{"git", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is needed: %w", tool, err)
		}
	}
	if strings.Contains(o.only, "d") {
		if _, err := exec.LookPath("wrk"); err != nil {
			return fmt.Errorf("wrk is needed for (d): %w (apt-get install wrk)", err)
		}
	}
	o.bin = bin
	want := func(c byte) bool { return strings.IndexByte(o.only, c) >= 0 }
	codeBuild := strings.ContainsAny(o.only, "fghi")
	if o.maxBuilds == 0 {
		o.maxBuilds = max(200, o.manyN)
	}
	tmp, err := os.MkdirTemp(o.tmpdir, "pwbench-")
	if err != nil {
		return err
	}
	// Jobs of a root server run as nobody: they must pass through tmp to
	// the fifos and files the bench shares with them.
	if err := os.Chmod(tmp, 0o711); err != nil {
		return err
	}
	defer func() {
		if o.keep {
			logf("kept %s", tmp)
			return
		}
		os.RemoveAll(tmp)
	}()
	b := &bench{opt: o, tmp: tmp}
	data := filepath.Join(tmp, "data")
	files := map[string]string{"README.md": "# app\n", "main.go": "package main\n\nfunc main() {}\n", "go.mod": "module app\n",
		"Makefile": "all:\n\ttrue\n", "lib/a.go": "package lib\n", "lib/b.go": "package lib\n", "docs/guide.md": "guide\n",
		"scripts/build.sh": "#!/bin/sh\ntrue\n", "config/app.json": `{"a":1}` + "\n", ".gitignore": "*.out\n"}
	if err := gitRepo(filepath.Join(data, "git"), "app", files); err != nil {
		return err
	}

	var env []string
	if o.pprof {
		bin = filepath.Join(tmp, "profserve")
		logf("-pprof: building cmd/pwbench/profserve (figures below are of that build, for diagnosis only)")
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/pwbench/profserve").CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./cmd/pwbench/profserve: %v\n%s", err, out)
		}
		if b.pprofAddr, err = freePort(); err != nil {
			return err
		}
		env = append(env, "PWBENCH_PPROF_ADDR="+b.pprofAddr)
	}
	r := &results{opt: o, machine: machineInfo(), wrkVersion: wrkVersion()}
	r.machine.dataFS = fsOf(tmp)
	r.background, err = waitQuiet(ctx, o.quietWait)
	if err != nil {
		return err
	}
	serverFlags := strings.Fields(o.serverFlags)
	if codeBuild {
		// (h) needs every one of its builds running at once.
		serverFlags = append([]string{"--max-builds", strconv.Itoa(o.maxBuilds)}, serverFlags...)
	}
	logf("starting %s serve on a free loopback port (data %s)", bin, data)
	b.srv, err = startServer(ctx, bin, data, filepath.Join(tmp, "server.log"), env, serverFlags)
	if err != nil {
		return err
	}
	defer func() {
		logf("stopping the server")
		if serr := b.srv.stop(); serr != nil && err == nil {
			err = serr
		}
	}()
	b.client = newClient(b.srv.url)
	b.cb, b.logs = newBuildClients(b.srv.url)
	logf("pipewright pid %d listening on %s", b.srv.pid(), b.srv.addr)

	if err := sleepCtx(ctx, o.idle); err != nil {
		return err
	}
	if r.rssStart, err = b.srv.rssKB(); err != nil {
		return err
	}
	logf("(e) idle RSS after start-up: %d kB (%d threads)", r.rssStart, b.srv.threads())

	if want('a') {
		logf("(a) abandon: %d executions, %d at a time", o.stopN, o.stopWorkers)
		stopProf := b.profile(ctx, "a", true)
		r.a, err = b.benchAbandon(ctx, o.stopN, o.stopWorkers)
		stopProf()
		if err != nil {
			return fmt.Errorf("(a): %w", err)
		}
		logf("(a) %s", r.a.total.summary())
	}
	if want('b') {
		logf("(b) stop-and-wait: %d executions, one at a time", o.waitN)
		stopProf := b.profile(ctx, "b", true)
		r.b, err = b.benchStopWait(ctx, o.waitN)
		stopProf()
		if err != nil {
			return fmt.Errorf("(b): %w", err)
		}
		logf("(b) %s", r.b.total.summary())
	}
	if want('c') {
		logf("(c) start latency: %d executions, one at a time (SUPERSEDED)", o.startN)
		stopProf := b.profile(ctx, "c", true)
		r.c, err = b.benchStart(ctx, o.startN)
		stopProf()
		if err != nil {
			return fmt.Errorf("(c): %w", err)
		}
		logf("(c) %s", r.c.total.summary())
	}
	if want('d') {
		if r.d, err = b.benchState(ctx); err != nil {
			return fmt.Errorf("(d): %w", err)
		}
	}
	logf("(e) idling %v before reading VmRSS", o.idle)
	if err := sleepCtx(ctx, o.idle); err != nil {
		return err
	}
	b.snapshot("end")
	if r.rssEnd, err = b.srv.rssKB(); err != nil {
		return err
	}
	logf("(e) idle RSS after the benchmarks: %d kB (%d threads)", r.rssEnd, b.srv.threads())
	if codeBuild {
		if err := b.runCodeBuild(ctx, r, want); err != nil {
			return err
		}
	}
	if want('j') {
		logf("(j) S3: PutObject and GetObject of %d MB, %d rounds", o.s3MB, o.s3Rounds)
		stopProf := b.profile(ctx, "j", false)
		r.j, err = b.benchS3(ctx, o.s3MB, o.s3Rounds)
		stopProf()
		if err != nil {
			return fmt.Errorf("(j): %w", err)
		}
	}
	if want('k') || want('l') {
		if err := b.runCodeDeploy(ctx, r, want); err != nil {
			return err
		}
	}
	r.elapsed = time.Since(started)

	table := r.table()
	fmt.Println()
	fmt.Println(table)
	if o.record != "" {
		if err := r.record(o.record, table); err != nil {
			return err
		}
		logf("recorded in %s", o.record)
	}
	return nil
}

// stateResult is figure (d).
type stateResult struct {
	small, big       *wrkResult
	smallN, bigN     int
	historyTook      time.Duration
	historyTarget    int
	historyShortfall bool
}

func (b *bench) benchState(ctx context.Context) (*stateResult, error) {
	const name = "bench-state"
	o := b.opt
	res := &stateResult{historyTarget: o.history}
	logf("(d) creating %s (Source → Build → Test (2 actions) → Deploy, PARALLEL) with 10 executions", name)
	first, err := b.createPipeline(ctx, stateDecl(name))
	if err != nil {
		return nil, err
	}
	if _, err := b.waitStatus(ctx, name, first, "Succeeded", 60*time.Second, 20*time.Millisecond); err != nil {
		return nil, err
	}
	n, err := b.runHistory(ctx, name, 9, 9, 5*time.Minute)
	if err != nil {
		return nil, err
	}
	res.smallN = n + 1
	if res.small, err = b.wrkState(ctx, name, "a", res.smallN); err != nil {
		return nil, err
	}
	logf("(d) creating the history: %d executions, %d in flight, budget %v", o.history-res.smallN, o.historyWorkers, o.historyBudget)
	t0 := time.Now()
	stopProf := b.profile(ctx, "history", false)
	n, err = b.runHistory(ctx, name, o.history-res.smallN, o.historyWorkers, o.historyBudget)
	stopProf()
	res.historyTook = time.Since(t0)
	if err != nil {
		return nil, err
	}
	res.bigN = res.smallN + n
	res.historyShortfall = res.bigN < o.history
	logf("(d) history: %d executions finished in %v (%.1f executions/s)", n, res.historyTook.Round(time.Second), float64(n)/res.historyTook.Seconds())
	if res.big, err = b.wrkState(ctx, name, "b", res.bigN); err != nil {
		return nil, err
	}
	return res, nil
}

// wrkState checks the pipeline's history size, pre-signs GetPipelineState,
// verifies it and runs wrk.
func (b *bench) wrkState(ctx context.Context, name, tag string, executions int) (*wrkResult, error) {
	// Let the server settle: the runs before leave background work (the
	// janitor deleting workspaces, terminated trees, a WAL checkpoint), and
	// both wrk runs must start from the same idle machine to be comparable.
	if _, err := waitQuiet(ctx, 30*time.Second); err != nil {
		return nil, err
	}
	p, err := presign(ctx, b.srv.url, b.srv.addr, name)
	if err != nil {
		return nil, err
	}
	if err := p.verify(ctx, name); err != nil {
		return nil, err
	}
	logf("(d) pre-signed GetPipelineState answers 200; wrk -t%d -c%d -d%v (%d past executions)", b.opt.wrkThreads, b.opt.wrkConns, b.opt.wrkDuration, executions)
	stopProf := b.profile(ctx, "d-"+tag, false)
	cpu0, cerr0 := b.srv.cpuTime()
	r, err := runWrk(ctx, b.tmp, p, b.opt.wrkThreads, b.opt.wrkConns, b.opt.wrkDuration)
	cpu1, cerr1 := b.srv.cpuTime()
	stopProf()
	if err != nil {
		return nil, err
	}
	if cerr0 == nil && cerr1 == nil {
		r.serverCPU = cpu1 - cpu0
	}
	logf("(d) %s", r)
	if r.non2xx > 0 || r.socketErrors > 0 {
		return nil, fmt.Errorf("wrk saw %d non-2xx responses and %d socket errors:\n%s", r.non2xx, r.socketErrors, r.raw)
	}
	if r.requests == 0 {
		return nil, fmt.Errorf("wrk made no requests:\n%s", r.raw)
	}
	return r, nil
}

// profile records a CPU profile (and an execution trace when withTrace) of
// the server while a figure runs, when -pprof is set; the returned func
// stops them.
func (b *bench) profile(ctx context.Context, tag string, withTrace bool) func() {
	if b.pprofAddr == "" {
		return func() {}
	}
	kinds := []string{"cpu"}
	if withTrace {
		kinds = append(kinds, "trace")
	}
	call := func(kind, op string) {
		file := filepath.Join(b.tmp, fmt.Sprintf("%s-%s.out", kind, tag))
		resp, err := http.Get(fmt.Sprintf("http://%s/pwbench/%s/%s?file=%s", b.pprofAddr, kind, op, url.QueryEscape(file)))
		if err != nil {
			logf("pprof %s %s: %v", kind, op, err)
			return
		}
		resp.Body.Close()
		if op == "stop" {
			logf("pprof: %s", file)
		}
	}
	for _, k := range kinds {
		call(k, "start")
	}
	return func() {
		for _, k := range kinds {
			call(k, "stop")
		}
		b.snapshot(tag)
	}
}

// snapshot saves the server's heap profile and goroutine dump (-pprof only).
func (b *bench) snapshot(tag string) {
	if b.pprofAddr == "" {
		return
	}
	for _, p := range []struct{ path, file string }{
		{"/debug/pprof/heap?gc=1", "heap-" + tag + ".out"},
		{"/debug/pprof/goroutine?debug=1", "goroutines-" + tag + ".txt"},
	} {
		resp, err := http.Get("http://" + b.pprofAddr + p.path)
		if err != nil {
			logf("pprof %s: %v", p.path, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		os.WriteFile(filepath.Join(b.tmp, p.file), body, 0o644)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
