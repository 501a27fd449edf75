package main

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// Targets from the performance issue.
const (
	targetAbandonP99    = 50 * time.Millisecond
	targetWaitP99       = 50 * time.Millisecond
	targetStartP50      = 25 * time.Millisecond
	targetRPS           = 8000.0
	targetRPSSpread     = 0.20
	targetRSSKB         = 40 * 1024
	targetBuildStartP50 = 25 * time.Millisecond
	targetBuildStopP99  = 100 * time.Millisecond
	// MB are 10^6 bytes, VmRSS is in KiB.
	targetManyRSSKB   = 150 * 1000 * 1000 / 1024
	targetLogGrowthKB = 100 * 1000 * 1000 / 1024
	sectionMarkerHead = "<!-- pwbench run -->"
)

type results struct {
	opt        options
	machine    machine
	wrkVersion string
	a          *abandonResult
	b          *waitResult
	c          *startResult
	d          *stateResult
	f          *startResult
	g          *buildStopResult
	h          *manyResult
	i          *bigLogResult
	j          *s3Result
	k          *deployStopResult
	l          *hookStartResult
	rssStart   int
	rssEnd     int
	// rssCodeBuild is the idle VmRSS after the CodeBuild figures (0 when
	// none ran); rssEnd is read before them, as it was before they existed.
	rssCodeBuild int
	elapsed      time.Duration
	background   float64 // share of the CPUs other processes used just before the bench
}

type machine struct {
	nproc             int
	cpu, mem, kernel  string
	goVersion, osName string
	dataFS            string // the filesystem the data directory is on
}

// fsOf describes the mount that holds dir, from /proc/mounts.
func fsOf(dir string) string {
	b, err := os.ReadFile("/proc/mounts")
	if err != nil {
		return "unknown"
	}
	best, desc := "", "unknown"
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 4 {
			continue
		}
		mp := f[1]
		if (dir == mp || strings.HasPrefix(dir, strings.TrimSuffix(mp, "/")+"/")) && len(mp) >= len(best) {
			best, desc = mp, fmt.Sprintf("%s on %s mounted at %s (%s)", f[2], f[0], mp, f[3])
		}
	}
	return desc
}

func machineInfo() machine {
	m := machine{nproc: runtime.NumCPU(), cpu: "unknown", mem: "unknown", kernel: "unknown", goVersion: runtime.Version()}
	if out, err := exec.Command("nproc").Output(); err == nil {
		fmt.Sscan(string(out), &m.nproc)
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpu = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if kb, err := procFileKB("/proc/meminfo", "MemTotal"); err == nil {
		m.mem = fmt.Sprintf("%.1f GiB", float64(kb)/(1024*1024))
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = "Linux " + strings.TrimSpace(string(b))
	}
	if out, err := exec.Command("go", "version").Output(); err == nil {
		m.goVersion = strings.TrimSpace(string(out))
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
				m.osName = strings.Trim(v, `"`)
			}
		}
	}
	return m
}

func procFileKB(path, field string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && k == field {
			var n int
			_, err := fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &n)
			return n, err
		}
	}
	return 0, fmt.Errorf("no %s in %s", field, path)
}

func wrkVersion() string {
	out, _ := exec.Command("wrk", "-v").CombinedOutput()
	first, _, _ := strings.Cut(string(out), "\n")
	if f := strings.Fields(first); len(f) >= 2 {
		return f[0] + " " + f[1]
	}
	return "wrk"
}

func met(ok bool) string {
	if ok {
		return "yes"
	}
	return "**MISSED**"
}

func mib(kb int) string { return fmt.Sprintf("%.1f MiB (%d kB)", float64(kb)/1024, kb) }

func thousands(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// table renders the figures as a markdown table, with notes below it.
func (r *results) table() string {
	var b strings.Builder
	b.WriteString("| Figure | Target | Measured | Met |\n|---|---|---|---|\n")
	row := func(fig, target, measured string, ok bool) {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", fig, target, measured, met(ok))
	}
	var notes []string
	if r.a != nil {
		s := r.a.total.summary()
		row(fmt.Sprintf("(a) StopPipelineExecution(abandon) → GetPipelineExecution Stopped; %d executions, %d at a time, PARALLEL", s.n, r.a.workers),
			"p99 ≤ 50 ms", fmt.Sprintf("p50 %s, p99 %s, max %s", ms(s.p50), ms(s.p99), ms(s.max)), s.p99 <= targetAbandonP99)
		c := r.a.stopCall.summary()
		notes = append(notes, fmt.Sprintf("(a) of which the StopPipelineExecution call: p50 %s, p99 %s, max %s; %.1f GetPipelineExecution polls per sample",
			ms(c.p50), ms(c.p99), ms(c.max), float64(r.a.polls.Load())/float64(max(1, s.n))))
		notes = append(notes, "(a) breakdown, from t0 (server-recorded times, ms precision): "+r.a.phases.String())
	}
	if r.b != nil {
		s := r.b.total.summary()
		row(fmt.Sprintf("(b) end of the last in-progress action of a stop-and-wait execution → Stopped; %d executions, one at a time", s.n),
			"p99 ≤ 50 ms", fmt.Sprintf("p50 %s, p99 %s, max %s", ms(s.p50), ms(s.p99), ms(s.max)), s.p99 <= targetWaitP99)
		notes = append(notes, "(b) breakdown, from t0 (server-recorded times, ms precision): "+r.b.phases.String())
	}
	if r.c != nil {
		s := r.c.total.summary()
		row(fmt.Sprintf("(c) StartPipelineExecution → first Commands process runs (Source CodeCommit, 10 files → Commands); %d executions, one at a time, SUPERSEDED", s.n),
			"p50 ≤ 25 ms", fmt.Sprintf("p50 %s, p99 %s, max %s", ms(s.p50), ms(s.p99), ms(s.max)), s.p50 <= targetStartP50)
		notes = append(notes, r.c.notes("(c)", "StartPipelineExecution", "execution Succeeded", "server-recorded times")...)
	}
	if d := r.d; d != nil {
		wr := func(w *wrkResult) string {
			return fmt.Sprintf("%s req/s, p50 %s, p99 %s (%s requests, 0 non-2xx)", thousands(int(math.Round(w.rps))), ms(w.p50), ms(w.p99), thousands(w.requests))
		}
		cfg := fmt.Sprintf("wrk -t%d -c%d -d%v, pre-signed", r.opt.wrkThreads, r.opt.wrkConns, r.opt.wrkDuration)
		row(fmt.Sprintf("(d) GetPipelineState, 4-stage pipeline, %s past executions; %s", thousands(d.smallN), cfg), "≥ 8,000 req/s", wr(d.small), d.small.rps >= targetRPS)
		row(fmt.Sprintf("(d) GetPipelineState, same pipeline, %s past executions; %s", thousands(d.bigN), cfg), "≥ 8,000 req/s", wr(d.big), d.big.rps >= targetRPS)
		spread := d.big.rps/d.small.rps - 1
		row(fmt.Sprintf("(d) req/s with %s vs %s past executions", thousands(d.bigN), thousands(d.smallN)), "within ±20%", fmt.Sprintf("%+.1f%%", spread*100), math.Abs(spread) <= targetRPSSpread)
		hist := fmt.Sprintf("(d) creating the history through the API (%s executions, %d in flight, PARALLEL, commands `true`) took %v (%.1f executions/s)",
			thousands(d.bigN-d.smallN), r.opt.historyWorkers, d.historyTook.Round(time.Second), float64(d.bigN-d.smallN)/d.historyTook.Seconds())
		if d.historyShortfall {
			hist += fmt.Sprintf("; the budget of %v ran out before %s executions: the big-history run used %s", r.opt.historyBudget, thousands(d.historyTarget), thousands(d.bigN))
		}
		notes = append(notes, hist)
		notes = append(notes, fmt.Sprintf("(d) server CPU time per GetPipelineState: %.1f µs with %s past executions (server busy %.2f of %d CPUs), %.1f µs with %s (%.2f CPUs); wrk uses the rest of the CPUs, so req/s also follows how the scheduler shares them",
			float64(d.small.cpuPerRequest())/float64(time.Microsecond), thousands(d.smallN), d.small.cpuShare(), r.machine.nproc,
			float64(d.big.cpuPerRequest())/float64(time.Microsecond), thousands(d.bigN), d.big.cpuShare()))
	}
	row("(e) idle RSS (VmRSS) of the server after start-up", "≤ 40 MiB", mib(r.rssStart), r.rssStart <= targetRSSKB)
	row("(e) idle RSS (VmRSS) of the server after the benchmarks", "≤ 40 MiB", mib(r.rssEnd), r.rssEnd <= targetRSSKB)
	notes = append(notes, r.codeBuildRows(row)...)
	if r.rssCodeBuild > 0 {
		row("(e) idle RSS (VmRSS) of the server after the CodeBuild figures "+r.codeBuildRan()+" too", "≤ 40 MiB", mib(r.rssCodeBuild), r.rssCodeBuild <= targetRSSKB)
	}
	notes = append(notes, r.s3Rows(row)...)
	notes = append(notes, r.codeDeployRows(row)...)
	b.WriteString("\n")
	for _, n := range notes {
		b.WriteString("- " + n + "\n")
	}
	fmt.Fprintf(&b, "- whole bench: %v; other processes kept the CPUs %.0f%% busy just before it started\n", r.elapsed.Round(time.Second), r.background*100)
	if r.opt.pprof {
		b.WriteString("- **-pprof: these figures are of the profiling build cmd/pwbench/profserve (block/mutex profiling on), for diagnosis only**\n")
	}
	return b.String()
}

const docsHeader = `# Benchmarks

Figures of pipewright measured by ` + "`scripts/bench`" + ` (the command
` + "`cmd/pwbench`" + `) against the real binary: ` + "`pipewright serve`" + ` runs as a
child process on a free 127.0.0.1 port over a temporary ` + "`--data`" + `
directory, and the bench talks to it only over HTTP, with aws-sdk-go-v2's
CodePipeline, CodeBuild and CloudWatch Logs clients (real SigV4,
` + "`RetryMaxAttempts`" + ` 1) and wrk.

How each figure is measured:

- **(a)** A PARALLEL V2 pipeline, Source (CodeCommit) → Build with a Commands
  action ` + "`sleep 600`" + `, tagged ` + "`pipewright:abandon-cancels-jobs=true`" + ` so the
  abandoned processes are terminated. Per execution: start it, wait until
  its Commands action is InProgress (ListActionExecutions), then t0 just
  before StopPipelineExecution(abandon=true), GetPipelineExecution back to
  back until it shows Stopped, t1. Several executions run at once (bounded,
  see the table).
- **(b)** A PARALLEL pipeline whose Commands action waits for a named pipe the
  bench creates for its execution and runs ` + "`read line < fifo`" + `. Once the
  shell holds the fifo open, the bench stops the execution with
  stop-and-wait (checks it is Stopping), then t0 just before writing a line
  into the fifo (which ends the action at once), GetPipelineExecution back to
  back until Stopped, t1. One execution at a time.
- **(c)** A SUPERSEDED pipeline, Source (CodeCommit, a 10-file repository) →
  Commands whose first command is ` + "`echo $EPOCHREALTIME >> file`" + ` (a bash
  builtin). t0 = wall clock just before StartPipelineExecution, t1 = the
  recorded ` + "`$EPOCHREALTIME`" + ` (same machine, same clock). One execution at a
  time, each waited for until Succeeded.
- **(d)** GetPipelineState of a 4-stage PARALLEL pipeline (Source → Build →
  Test with 2 actions → Deploy, Commands ` + "`true`" + `) under wrk with one request
  pre-signed by aws-sdk-go-v2's v4 signer (checked to answer 200 first; wrk
  must report no non-2xx responses), first with ~10 past executions, then
  after creating the history through the API (StartPipelineExecution with
  bounded concurrency until the executions finished).
- **(e)** VmRSS of the server process from ` + "`/proc/PID/status`" + ` after a few
  seconds idle, after start-up and after (a)-(d); when a CodeBuild figure
  ran, once more after those (the row "after the CodeBuild figures … too").
- **(f)** A NO_SOURCE CodeBuild project whose buildspec has only a BUILD
  phase, its first command ` + "`echo $EPOCHREALTIME >> file`" + `. t0 = wall clock
  just before StartBuild, t1 = the recorded ` + "`$EPOCHREALTIME`" + `. 100 builds,
  one at a time (20 ms apart), each waited for until SUCCEEDED
  (BatchGetBuilds every 10 ms); the breakdown uses the phase start times the
  server reports.
- **(g)** A NO_SOURCE project whose build runs ` + "`setsid sleep 1000.TAG &`" + `,
  touches a ready file, then ` + "`sleep 2000.TAG`" + ` in the foreground (TAG unique
  per build, given with environmentVariablesOverride). Once the file exists
  and both sleeps show in ` + "`/proc`" + `, t0 just before StopBuild; the bench
  then polls those two pids' ` + "`/proc/PID/cmdline`" + ` (every 0.2 ms; gone or a
  zombie counts as gone) and calls BatchGetBuilds back to back until
  STOPPED. The sample is the later of the two; a full ` + "`/proc`" + ` scan after
  it checks no ` + "`sleep 1000.TAG`" + `/` + "`2000.TAG`" + ` is left. 100 builds, one at a
  time. The server runs with ` + "`--stop-grace 2s`" + `; sleep obeys SIGTERM.
- **(h)** The server runs with ` + "`--max-builds 200`" + ` (` + "`-max-builds`" + `; pwbench
  passes it whenever a CodeBuild figure runs). 200 builds of a project whose
  buildspec is ` + "`sleep 60.PID`" + ` are started (8 StartBuild calls in flight);
  once BatchGetBuilds shows all in BUILD and 200 such sleeps are in
  ` + "`/proc`" + `, the server's VmRSS is read. Then all are stopped (8 StopBuild
  calls in flight) and the bench reports when BatchGetBuilds shows every
  one STOPPED and when no sleep of theirs is left.
- **(i)** A NO_SOURCE build printing ` + "`seq -f '%099.0f' 1 1000000`" + `: a million
  numbered lines of 100 bytes, 100 MB. The server's VmRSS is sampled every
  50 ms from StartBuild until the build is seen complete; the row is the
  peak minus the VmRSS read just before. Then the build's log stream is
  read with GetLogEvents (startFromHead, following nextForwardToken until
  the same token comes back); every numbered line must come once, in order.
  The notes give the paging time and the peak VmRSS while paging.

MB in (h) and (i) are 10^6 bytes (VmRSS is in KiB).

Missed targets are marked **MISSED** (the command still exits 0; only a
failure of the bench itself is an error). wrk and the bench share the
machine with the server, so the figures include that contention. The data
directory is under ` + "`$TMPDIR`" + ` (default /tmp; ` + "`-tmpdir`" + ` moves it), so the
disk it lives on matters: every SQLite commit is fsynced and every job
unzips and deletes a workspace. The bench waits (up to ` + "`-quiet-wait`" + `) for
other processes to leave the CPUs idle and reports how busy they were:
on a shared 2-CPU machine a concurrent build or test run skews (a)-(c).

Before (b) writes to the fifo and before each (c) start the bench sleeps
20 ms so that each sample starts from a settled server.

To see where time goes, ` + "`scripts/bench -pprof -only abc`" + ` runs the same
benchmarks against ` + "`cmd/pwbench/profserve`" + ` (the same ` + "`server.Open`" + ` with
pprof hooks) and keeps, per figure, a CPU profile and a runtime execution
trace of the server in the kept temporary directory (` + "`go tool pprof`" + `,
` + "`go tool trace`" + `); those figures are for diagnosis only and cannot be
recorded.
`

// notes of figure (c) or (f): the start call, the whole run, the breakdown.
func (r *startResult) notes(fig, call, done, times string) []string {
	a, f := r.startAPI.summary(), r.finish.summary()
	return []string{
		fmt.Sprintf("%s of which the %s call: p50 %s, p99 %s; start → %s (10 ms polls): p50 %s, p99 %s", fig, call, ms(a.p50), ms(a.p99), done, ms(f.p50), ms(f.p99)),
		fmt.Sprintf("%s breakdown, from t0 (%s, ms precision): %s", fig, times, r.phases.String()),
	}
}

// record appends a dated section to the markdown file.
func (r *results) record(path, table string) error {
	var b strings.Builder
	if _, err := os.Stat(path); os.IsNotExist(err) {
		b.WriteString(docsHeader)
	}
	m := r.machine
	now := time.Now().UTC()
	cmd := os.Getenv("PWBENCH_COMMAND")
	if cmd == "" {
		cmd = "go run ./cmd/pwbench " + strings.Join(os.Args[1:], " ")
	}
	fmt.Fprintf(&b, "\n%s\n## %s\n\n", sectionMarkerHead, now.Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "- Machine: %d CPUs (`nproc`), %s, %s RAM, %s", m.nproc, m.cpu, m.mem, m.kernel)
	if m.osName != "" {
		fmt.Fprintf(&b, " (%s)", m.osName)
	}
	fmt.Fprintf(&b, "\n- Data directory: %s\n", m.dataFS)
	fmt.Fprintf(&b, "- Go: %s; %s\n", m.goVersion, r.wrkVersion)
	fmt.Fprintf(&b, "- Command: `%s`\n\n", cmd)
	b.WriteString(table)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
