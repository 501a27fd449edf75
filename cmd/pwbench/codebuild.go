package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cb "github.com/aws/aws-sdk-go-v2/service/codebuild"
	cbt "github.com/aws/aws-sdk-go-v2/service/codebuild/types"
	"github.com/aws/smithy-go"
)

// The CodeBuild figures (f)-(i) talk to the same server with
// aws-sdk-go-v2's CodeBuild and CloudWatch Logs clients.

func newBuildClients(url string) (*cb.Client, *cwl.Client) {
	creds := credentials.NewStaticCredentialsProvider(benchKey, benchSecret, "")
	return cb.New(cb.Options{BaseEndpoint: aws.String(url), Region: region, Credentials: creds, RetryMaxAttempts: 1}),
		cwl.New(cwl.Options{BaseEndpoint: aws.String(url), Region: region, Credentials: creds, RetryMaxAttempts: 1})
}

// yamlQuote makes s a YAML double-quoted scalar (a JSON string is one).
func yamlQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// buildspecOf is a version 0.2 buildspec whose BUILD phase runs commands.
func buildspecOf(commands ...string) string {
	var b strings.Builder
	b.WriteString("version: 0.2\nphases:\n  build:\n    commands:\n")
	for _, c := range commands {
		b.WriteString("      - " + yamlQuote(c) + "\n")
	}
	return b.String()
}

// createProject creates a NO_SOURCE project with an inline buildspec.
func (b *bench) createProject(ctx context.Context, name, spec string) error {
	_, err := b.cb.CreateProject(ctx, &cb.CreateProjectInput{
		Name:        aws.String(name),
		Source:      &cbt.ProjectSource{Type: cbt.SourceTypeNoSource, Buildspec: aws.String(spec)},
		Artifacts:   &cbt.ProjectArtifacts{Type: cbt.ArtifactsTypeNoArtifacts},
		Environment: &cbt.ProjectEnvironment{Type: cbt.EnvironmentTypeLinuxContainer, Image: aws.String("aws/codebuild/standard:7.0"), ComputeType: cbt.ComputeTypeBuildGeneral1Small},
		ServiceRole: aws.String("arn:aws:iam::000000000000:role/codebuild"),
	})
	if err != nil {
		return fmt.Errorf("CreateProject %s: %w", name, err)
	}
	return nil
}

// startBuild starts a build of project with the environment variables
// given as NAME=VALUE, and returns it as StartBuild answered.
func (b *bench) startBuild(ctx context.Context, project string, vars ...string) (cbt.Build, error) {
	in := &cb.StartBuildInput{ProjectName: aws.String(project)}
	for _, kv := range vars {
		k, v, _ := strings.Cut(kv, "=")
		in.EnvironmentVariablesOverride = append(in.EnvironmentVariablesOverride, cbt.EnvironmentVariable{Name: aws.String(k), Value: aws.String(v), Type: cbt.EnvironmentVariableTypePlaintext})
	}
	out, err := b.cb.StartBuild(ctx, in)
	if err != nil {
		return cbt.Build{}, fmt.Errorf("StartBuild %s: %w", project, err)
	}
	return *out.Build, nil
}

// getBuilds returns the builds of ids (any number), in the order asked.
func (b *bench) getBuilds(ctx context.Context, ids []string) ([]cbt.Build, error) {
	var all []cbt.Build
	for len(ids) > 0 {
		n := min(len(ids), 100)
		out, err := b.cb.BatchGetBuilds(ctx, &cb.BatchGetBuildsInput{Ids: ids[:n]})
		if err != nil {
			return nil, fmt.Errorf("BatchGetBuilds: %w", err)
		}
		if len(out.Builds) != n {
			return nil, fmt.Errorf("BatchGetBuilds of %d builds answered %d (not found: %v)", n, len(out.Builds), out.BuildsNotFound)
		}
		byID := map[string]cbt.Build{}
		for _, x := range out.Builds {
			byID[aws.ToString(x.Id)] = x
		}
		for _, id := range ids[:n] {
			x, ok := byID[id]
			if !ok {
				return nil, fmt.Errorf("BatchGetBuilds did not answer build %s", id)
			}
			all = append(all, x)
		}
		ids = ids[n:]
	}
	return all, nil
}

// waitBuilds polls BatchGetBuilds every interval (0 = back to back) until
// every build satisfies ok, and returns them as last seen.
func (b *bench) waitBuilds(ctx context.Context, ids []string, what string, ok func(cbt.Build) bool, within, interval time.Duration) ([]cbt.Build, error) {
	deadline := time.Now().Add(within)
	for {
		builds, err := b.getBuilds(ctx, ids)
		if err != nil {
			return nil, err
		}
		pending := 0
		var example cbt.Build
		for _, x := range builds {
			if !ok(x) {
				if pending == 0 {
					example = x
				}
				pending++
			}
		}
		if pending == 0 {
			return builds, nil
		}
		if time.Now().After(deadline) {
			return builds, fmt.Errorf("%d of %d builds not %s after %v (e.g. %s: %s in %s): %w", pending, len(ids), what, within,
				aws.ToString(example.Id), example.BuildStatus, aws.ToString(example.CurrentPhase), errTimeout)
		}
		if interval > 0 {
			if err := sleepCtx(ctx, interval); err != nil {
				return nil, err
			}
		} else if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
}

func (b *bench) waitBuild(ctx context.Context, id, what string, ok func(cbt.Build) bool, within, interval time.Duration) (cbt.Build, error) {
	builds, err := b.waitBuilds(ctx, []string{id}, what, ok, within, interval)
	if len(builds) == 0 {
		return cbt.Build{}, err
	}
	return builds[0], err
}

func buildComplete(x cbt.Build) bool { return x.BuildComplete }

func buildStopped(x cbt.Build) bool { return x.BuildStatus == cbt.StatusTypeStopped }

func inBuildPhase(x cbt.Build) bool {
	return !x.BuildComplete && aws.ToString(x.CurrentPhase) == string(cbt.BuildPhaseTypeBuild)
}

// phaseStarts is when the server says each phase of a build started.
func phaseStarts(x cbt.Build) map[cbt.BuildPhaseType]time.Time {
	m := map[cbt.BuildPhaseType]time.Time{}
	for _, p := range x.Phases {
		m[p.PhaseType] = aws.ToTime(p.StartTime)
	}
	return m
}

// ---- processes, from /proc ----

// procsWithArg returns the pids of the sleep processes whose first
// argument is arg.
func procsWithArg(arg string) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if hasArg(pid, arg) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// hasArg reports whether process pid is alive (a zombie has no command
// line) and is `sleep arg` (a setsid or shell before its exec is not).
func hasArg(pid int, arg string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || len(b) == 0 {
		return false
	}
	args := strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
	return len(args) >= 2 && filepath.Base(args[0]) == "sleep" && args[1] == arg
}

// waitProcs waits until exactly n processes have arg, and returns them.
func waitProcs(ctx context.Context, arg string, n int, within time.Duration) ([]int, error) {
	deadline := time.Now().Add(within)
	for {
		pids := procsWithArg(arg)
		if len(pids) == n {
			return pids, nil
		}
		if len(pids) > n || time.Now().After(deadline) {
			return pids, fmt.Errorf("%d processes with the argument %s, want %d", len(pids), arg, n)
		}
		if err := sleepCtx(ctx, 2*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

// ---- server memory ----

// rssSampler reads the server's VmRSS every interval until stopped and
// keeps the peak.
type rssSampler struct {
	peak, n atomic.Int64
	stop    chan struct{}
	done    chan struct{}
}

func (b *bench) sampleRSS(interval time.Duration) *rssSampler {
	s := &rssSampler{stop: make(chan struct{}), done: make(chan struct{})}
	read := func() {
		if kb, err := b.srv.rssKB(); err == nil {
			s.n.Add(1)
			for {
				p := s.peak.Load()
				if int64(kb) <= p || s.peak.CompareAndSwap(p, int64(kb)) {
					break
				}
			}
		}
	}
	read()
	go func() {
		defer close(s.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				read()
				return
			case <-t.C:
				read()
			}
		}
	}()
	return s
}

// end stops the sampler and returns the peak VmRSS in kB and the number of
// readings.
func (s *rssSampler) end() (peakKB, readings int) {
	close(s.stop)
	<-s.done
	return int(s.peak.Load()), int(s.n.Load())
}

// ---- (f) StartBuild → the first buildspec command runs ----

func (b *bench) benchBuildStart(ctx context.Context, n int) (*startResult, error) {
	const project = "bench-build-start"
	file, err := b.epochFile("build-epochs")
	if err != nil {
		return nil, err
	}
	if err := b.createProject(ctx, project, buildspecOf("echo $EPOCHREALTIME >> "+shq(file))); err != nil {
		return nil, err
	}
	res := &startResult{}
	one := func(record bool) error {
		// As in (c): each sample starts from a settled server.
		time.Sleep(20 * time.Millisecond)
		before, err := readEpochs(file)
		if err != nil {
			return err
		}
		t0 := time.Now()
		x, err := b.startBuild(ctx, project)
		if err != nil {
			return err
		}
		started := time.Now()
		id := aws.ToString(x.Id)
		if x, err = b.waitBuild(ctx, id, "complete", buildComplete, 60*time.Second, 10*time.Millisecond); err != nil {
			return err
		}
		finished := time.Now()
		if x.BuildStatus != cbt.StatusTypeSucceeded {
			return fmt.Errorf("build %s ended %s, want SUCCEEDED", id, x.BuildStatus)
		}
		lines, err := readEpochs(file)
		if err != nil {
			return err
		}
		if len(lines) != len(before)+1 {
			return fmt.Errorf("%s has %d lines after build %s, want %d", file, len(lines), id, len(before)+1)
		}
		t1 := lines[len(lines)-1]
		if t1.Before(t0) {
			return fmt.Errorf("the first command ran at %v, before StartBuild was called at %v", t1, t0)
		}
		if !record {
			return nil
		}
		res.total.add(t1.Sub(t0))
		res.startAPI.add(started.Sub(t0))
		res.finish.add(finished.Sub(t0))
		res.phases.add("StartBuild answered", started.Sub(t0))
		at := phaseStarts(x)
		for _, p := range []cbt.BuildPhaseType{cbt.BuildPhaseTypeProvisioning, cbt.BuildPhaseTypeDownloadSource, cbt.BuildPhaseTypeInstall, cbt.BuildPhaseTypeBuild} {
			if t, ok := at[p]; ok {
				res.phases.add(string(p)+" started", t.Sub(t0))
			}
		}
		res.phases.add("first command ran", t1.Sub(t0))
		return nil
	}
	// The first build is a warm-up, not a sample.
	if err := one(false); err != nil {
		return nil, err
	}
	p := newProgress("(f) build start", n)
	for i := 0; i < n; i++ {
		if err := one(true); err != nil {
			return nil, err
		}
		p.tick()
	}
	return res, nil
}

// ---- (g) StopBuild → every process gone and STOPPED stored ----

type buildStopResult struct {
	total    samples // t0 (before StopBuild) → the later of (1) and (2)
	stopCall samples // the StopBuild call alone
	phases   phases
	stopSaid int // StopBuild answers that already said STOPPED
}

func (b *bench) benchBuildStop(ctx context.Context, n int) (*buildStopResult, error) {
	const project = "bench-build-stop"
	dir := filepath.Join(b.tmp, "ready")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		return nil, err
	}
	// A daemon in its own session, then readiness, then a foreground
	// sleep; both sleeps carry the build's unique tag and obey SIGTERM.
	spec := buildspecOf(
		"setsid sleep 1000.$PWBENCH_TAG &",
		"touch "+shq(dir)+"/$PWBENCH_TAG",
		"sleep 2000.$PWBENCH_TAG")
	if err := b.createProject(ctx, project, spec); err != nil {
		return nil, err
	}
	res := &buildStopResult{}
	run := os.Getpid() % 100000
	one := func(i int, record bool) error {
		tag := fmt.Sprintf("%05d%05d", run, i)
		daemonArg, fgArg := "1000."+tag, "2000."+tag
		ready := filepath.Join(dir, tag)
		defer os.Remove(ready)
		x, err := b.startBuild(ctx, project, "PWBENCH_TAG="+tag)
		if err != nil {
			return err
		}
		id := aws.ToString(x.Id)
		deadline := time.Now().Add(30 * time.Second)
		for {
			if _, err := os.Stat(ready); err == nil {
				break
			}
			if time.Now().After(deadline) {
				x, _ := b.waitBuild(ctx, id, "anything", func(cbt.Build) bool { return true }, 0, 0)
				return fmt.Errorf("build %s did not signal readiness within 30s (%s in %s): %w", id, x.BuildStatus, aws.ToString(x.CurrentPhase), errTimeout)
			}
			if err := sleepCtx(ctx, time.Millisecond); err != nil {
				return err
			}
		}
		daemon, err := waitProcs(ctx, daemonArg, 1, 10*time.Second)
		if err != nil {
			return fmt.Errorf("build %s: %w", id, err)
		}
		fg, err := waitProcs(ctx, fgArg, 1, 10*time.Second)
		if err != nil {
			return fmt.Errorf("build %s: %w", id, err)
		}
		pids := append(daemon, fg...)
		args := []string{daemonArg, fgArg}
		time.Sleep(20 * time.Millisecond)

		// (1): watch the two sleeps from t0 on.
		gone := make([]time.Time, len(pids))
		watchDone := make(chan struct{})
		t0 := time.Now()
		go func() {
			defer close(watchDone)
			left := len(pids)
			for left > 0 && time.Since(t0) < 30*time.Second {
				for k, pid := range pids {
					if gone[k].IsZero() && !hasArg(pid, args[k]) {
						gone[k] = time.Now()
						left--
					}
				}
				time.Sleep(200 * time.Microsecond)
			}
		}()
		out, err := b.cb.StopBuild(ctx, &cb.StopBuildInput{Id: aws.String(id)})
		answered := time.Now()
		if err != nil {
			<-watchDone
			return fmt.Errorf("StopBuild %s: %w", id, err)
		}
		// (2): BatchGetBuilds back to back until STOPPED.
		if _, err := b.waitBuild(ctx, id, "STOPPED", buildStopped, 10*time.Second, 0); err != nil {
			<-watchDone
			return err
		}
		seen := time.Now()
		<-watchDone
		for k := range pids {
			if gone[k].IsZero() {
				return fmt.Errorf("build %s: process %d (sleep %s) still alive 30s after StopBuild", id, pids[k], args[k])
			}
		}
		for _, a := range args {
			if left := procsWithArg(a); len(left) > 0 {
				return fmt.Errorf("build %s: processes %v (sleep %s) alive after StopBuild", id, left, a)
			}
		}
		if !record {
			return nil
		}
		last := seen
		for _, g := range gone {
			if g.After(last) {
				last = g
			}
		}
		res.total.add(last.Sub(t0))
		res.stopCall.add(answered.Sub(t0))
		if out.Build != nil && out.Build.BuildStatus == cbt.StatusTypeStopped {
			res.stopSaid++
		}
		res.phases.add("StopBuild answered", answered.Sub(t0))
		res.phases.add("STOPPED seen", seen.Sub(t0))
		res.phases.add("foreground sleep gone", gone[1].Sub(t0))
		res.phases.add("setsid daemon gone", gone[0].Sub(t0))
		return nil
	}
	if err := one(0, false); err != nil {
		return nil, err
	}
	p := newProgress("(g) build stop", n)
	for i := 1; i <= n; i++ {
		if err := one(i, true); err != nil {
			return nil, err
		}
		p.tick()
	}
	return res, nil
}

// ---- (h) many concurrent sleeping builds ----

type manyResult struct {
	n                  int
	sleep              time.Duration
	idleKB             int           // before the first StartBuild
	rssKB, threads     int           // once all are in BUILD
	peakKB             int           // peak while they started (50 ms samples)
	startTook          time.Duration // the StartBuild calls
	allBuildTook       time.Duration // first StartBuild → all in BUILD with their sleep running
	stoppedTook        time.Duration // first StopBuild → BatchGetBuilds shows all STOPPED
	goneTook           time.Duration // first StopBuild → no sleep of theirs is left
	stopCallsTook      time.Duration // the StopBuild calls
	stopWorkers        int
	settledKB, settled int // VmRSS and threads 5 s after all were stopped
}

func (b *bench) benchMany(ctx context.Context, n, workers int, sleep time.Duration) (*manyResult, error) {
	const project = "bench-build-many"
	// Every build's sleep has the same argument, unique to this run.
	arg := fmt.Sprintf("%d.%09d", int(sleep.Seconds()), os.Getpid())
	if err := b.createProject(ctx, project, buildspecOf("sleep "+arg)); err != nil {
		return nil, err
	}
	res := &manyResult{n: n, sleep: sleep, stopWorkers: workers}
	var err error
	if _, err := waitQuiet(ctx, 30*time.Second); err != nil {
		return nil, err
	}
	if res.idleKB, err = b.srv.rssKB(); err != nil {
		return nil, err
	}
	ids := make([]string, n)
	sampler := b.sampleRSS(50 * time.Millisecond)
	t0 := time.Now()
	p := newProgress("(h) StartBuild", n)
	err = parallel(ctx, workers, n, func(ctx context.Context, i int) error {
		x, err := b.startBuild(ctx, project)
		if err != nil {
			return err
		}
		ids[i] = aws.ToString(x.Id)
		p.tick()
		return nil
	})
	res.startTook = time.Since(t0)
	if err != nil {
		sampler.end()
		return nil, err
	}
	logf("(h) %d StartBuild calls took %v; waiting until all are in BUILD", n, res.startTook.Round(time.Millisecond))
	_, err = b.waitBuilds(ctx, ids, "in BUILD", inBuildPhase, sleep-5*time.Second, 100*time.Millisecond)
	if err == nil {
		_, err = waitProcs(ctx, arg, n, 10*time.Second)
	}
	res.allBuildTook = time.Since(t0)
	res.peakKB, _ = sampler.end()
	if err != nil {
		return nil, err
	}
	if res.rssKB, err = b.srv.rssKB(); err != nil {
		return nil, err
	}
	res.threads = b.srv.threads()
	logf("(h) all %d builds in BUILD after %v; server VmRSS %d kB, %d threads", n, res.allBuildTook.Round(time.Millisecond), res.rssKB, res.threads)
	// Still running: none may have ended before the stop.
	if builds, err := b.getBuilds(ctx, ids); err != nil {
		return nil, err
	} else {
		for _, x := range builds {
			if x.BuildComplete {
				return nil, fmt.Errorf("build %s ended %s before it was stopped (raise -many-sleep)", aws.ToString(x.Id), x.BuildStatus)
			}
		}
	}

	var goneAt atomic.Int64
	t1 := time.Now()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for time.Since(t1) < 60*time.Second && ctx.Err() == nil {
			if len(procsWithArg(arg)) == 0 {
				goneAt.Store(int64(time.Since(t1)))
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	err = parallel(ctx, workers, n, func(ctx context.Context, i int) error {
		if _, err := b.cb.StopBuild(ctx, &cb.StopBuildInput{Id: aws.String(ids[i])}); err != nil {
			return fmt.Errorf("StopBuild %s: %w", ids[i], err)
		}
		return nil
	})
	res.stopCallsTook = time.Since(t1)
	if err == nil {
		_, err = b.waitBuilds(ctx, ids, "STOPPED", buildStopped, 60*time.Second, 0)
	}
	res.stoppedTook = time.Since(t1)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	if goneAt.Load() == 0 {
		return nil, fmt.Errorf("%d sleeps of the stopped builds still alive 60s after the stops", len(procsWithArg(arg)))
	}
	res.goneTook = time.Duration(goneAt.Load())
	logf("(h) all STOPPED %v after the first StopBuild, every sleep gone after %v", res.stoppedTook.Round(time.Millisecond), res.goneTook.Round(time.Millisecond))
	if err := sleepCtx(ctx, 5*time.Second); err != nil {
		return nil, err
	}
	res.settledKB, _ = b.srv.rssKB()
	res.settled = b.srv.threads()
	return res, nil
}

// ---- (i) a build printing 100 MB ----

type bigLogResult struct {
	lines, lineBytes    int // numbered lines printed and bytes each, newline included
	idleKB              int
	buildPeakKB         int // during the build (50 ms samples)
	buildTook           time.Duration
	pagePeakKB          int // while paging
	pageTook            time.Duration
	pages               int
	events, otherEvents int   // all events, events that are not numbered lines
	messageBytes        int64 // of all events' messages
	numbered            int   // numbered lines found, in order
	samplesBuild        int
	samplesPaging       int
	retries             int      // pages asked again after a transport error
	retryErrs           []string // their errors
}

func (b *bench) benchBigLog(ctx context.Context, mb int) (*bigLogResult, error) {
	const project = "bench-build-log"
	const width = 99 // + the newline: 100 bytes a line
	res := &bigLogResult{lines: mb * 1000 * 1000 / (width + 1), lineBytes: width + 1}
	spec := buildspecOf(fmt.Sprintf("seq -f '%%0%d.0f' 1 %d", width, res.lines))
	if err := b.createProject(ctx, project, spec); err != nil {
		return nil, err
	}
	if _, err := waitQuiet(ctx, 30*time.Second); err != nil {
		return nil, err
	}
	var err error
	if res.idleKB, err = b.srv.rssKB(); err != nil {
		return nil, err
	}
	sampler := b.sampleRSS(50 * time.Millisecond)
	t0 := time.Now()
	x, err := b.startBuild(ctx, project)
	if err == nil {
		x, err = b.waitBuild(ctx, aws.ToString(x.Id), "complete", buildComplete, 10*time.Minute, 50*time.Millisecond)
	}
	res.buildTook = time.Since(t0)
	res.buildPeakKB, res.samplesBuild = sampler.end()
	if err != nil {
		return nil, err
	}
	id := aws.ToString(x.Id)
	if x.BuildStatus != cbt.StatusTypeSucceeded {
		return nil, fmt.Errorf("build %s ended %s, want SUCCEEDED", id, x.BuildStatus)
	}
	if x.Logs == nil || x.Logs.GroupName == nil || x.Logs.StreamName == nil {
		return nil, fmt.Errorf("build %s names no log group and stream", id)
	}
	logf("(i) build %s printed %d lines in %v; server peak VmRSS %d kB (idle %d kB); paging %s %s",
		id, res.lines, res.buildTook.Round(time.Millisecond), res.buildPeakKB, res.idleKB, aws.ToString(x.Logs.GroupName), aws.ToString(x.Logs.StreamName))

	sampler = b.sampleRSS(50 * time.Millisecond)
	t1 := time.Now()
	err = b.pageLog(ctx, aws.ToString(x.Logs.GroupName), aws.ToString(x.Logs.StreamName), width, res)
	res.pageTook = time.Since(t1)
	res.pagePeakKB, res.samplesPaging = sampler.end()
	if err != nil {
		return nil, err
	}
	logf("(i) paged %d events (%d numbered lines, %d others, %d message bytes) in %d pages, %v; server peak VmRSS %d kB",
		res.events, res.numbered, res.otherEvents, res.messageBytes, res.pages, res.pageTook.Round(time.Millisecond), res.pagePeakKB)
	if res.numbered != res.lines {
		return res, fmt.Errorf("the log of build %s holds %d of the %d numbered lines in order", id, res.numbered, res.lines)
	}
	return res, nil
}

// pageLog reads the stream with GetLogEvents from its head, following
// nextForwardToken until the same token comes back, and checks that the
// numbered lines come in order, each exactly once.
func (b *bench) pageLog(ctx context.Context, group, stream string, width int, res *bigLogResult) error {
	var token *string
	for {
		in := &cwl.GetLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream), StartFromHead: aws.Bool(true), NextToken: token}
		out, err := b.logs.GetLogEvents(ctx, in)
		// A connection the server closed under a page is asked again (at
		// most 3 times) and counted: the figure is about the log, the
		// failures are reported beside it.
		var apiErr smithy.APIError
		for try := 0; err != nil && !errors.As(err, &apiErr) && try < 3 && ctx.Err() == nil; try++ {
			res.retries++
			res.retryErrs = append(res.retryErrs, err.Error())
			logf("(i) GetLogEvents page %d failed, asking again: %v", res.pages+1, err)
			out, err = b.logs.GetLogEvents(ctx, in)
		}
		if err != nil {
			return fmt.Errorf("GetLogEvents page %d: %w", res.pages+1, err)
		}
		res.pages++
		for _, e := range out.Events {
			m := aws.ToString(e.Message)
			res.events++
			res.messageBytes += int64(len(m))
			if len(m) != width || m[0] != '0' {
				res.otherEvents++
				continue
			}
			v, err := strconv.Atoi(strings.TrimLeft(m, "0"))
			if err != nil {
				res.otherEvents++
				continue
			}
			if v != res.numbered+1 {
				return fmt.Errorf("page %d: numbered line %d follows %d", res.pages, v, res.numbered)
			}
			res.numbered = v
		}
		next := out.NextForwardToken
		if next == nil {
			return errors.New("GetLogEvents answered no nextForwardToken")
		}
		if token != nil && *next == *token {
			return nil
		}
		token = next
	}
}

// runCodeBuild measures the CodeBuild figures that o.only names, then the
// server's idle RSS after them.
func (b *bench) runCodeBuild(ctx context.Context, r *results, want func(byte) bool) error {
	o := b.opt
	figures := []struct {
		fig   string
		trace bool
		what  string
		run   func() error
	}{
		{"f", true, fmt.Sprintf("build start latency: %d NO_SOURCE builds, one at a time", o.buildStartN), func() (err error) {
			r.f, err = b.benchBuildStart(ctx, o.buildStartN)
			return err
		}},
		{"g", true, fmt.Sprintf("StopBuild → processes gone and STOPPED: %d builds, one at a time", o.buildStopN), func() (err error) {
			r.g, err = b.benchBuildStop(ctx, o.buildStopN)
			return err
		}},
		{"h", false, fmt.Sprintf("%d concurrent builds sleeping %v (server --max-builds %d)", o.manyN, o.manySleep, o.maxBuilds), func() (err error) {
			r.h, err = b.benchMany(ctx, o.manyN, o.manyWorkers, o.manySleep)
			return err
		}},
		{"i", false, fmt.Sprintf("a build printing %d MB", o.logMB), func() (err error) {
			r.i, err = b.benchBigLog(ctx, o.logMB)
			return err
		}},
	}
	for _, f := range figures {
		if !want(f.fig[0]) {
			continue
		}
		logf("(%s) %s", f.fig, f.what)
		stopProf := b.profile(ctx, f.fig, f.trace)
		err := f.run()
		stopProf()
		if err != nil {
			return fmt.Errorf("(%s): %w", f.fig, err)
		}
	}
	if r.f != nil {
		logf("(f) %s", r.f.total.summary())
	}
	if r.g != nil {
		logf("(g) %s", r.g.total.summary())
	}
	logf("(e) idling %v before reading VmRSS after the CodeBuild figures", o.idle)
	if err := sleepCtx(ctx, o.idle); err != nil {
		return err
	}
	b.snapshot("end-codebuild")
	var err error
	if r.rssCodeBuild, err = b.srv.rssKB(); err != nil {
		return err
	}
	logf("(e) idle RSS after the CodeBuild figures: %d kB (%d threads)", r.rssCodeBuild, b.srv.threads())
	return nil
}
