package main

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cd "github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdt "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/pipewright/pipewright/codedeploy/agent"
)

// The CodeDeploy figures (k) and (l) run pipewright's own host agent
// in-process, one agent per host with a root directory of its own,
// against the server the bench started, and talk to the server with
// aws-sdk-go-v2's CodeDeploy and S3 clients.
//
//	(k) StopDeployment → GetDeployment Stopped, every host in a hook that
//	    ignores SIGTERM, in a group tagged pipewright:stop-terminates-hooks
//	(l) a lifecycle event handed out (its startTime) → its hook's script
//	    runs its first command

const (
	deployApp       = "pwbench-deploy"
	deployBucket    = "pwbench-bundles"
	deployStopGroup = "stop"
	deployLatGroup  = "latency"
	// fleetTag selects every host, latencyTag the first one only.
	fleetTag   = "pwbench-fleet"
	latencyTag = "pwbench-latency"
)

// hookEvents are the lifecycle events whose hooks (l) times.
var hookEvents = []string{"ApplicationStop", "BeforeInstall", "AfterInstall", "ApplicationStart", "ValidateService"}

// deployFleet is the hosts of the CodeDeploy figures with their agents.
type deployFleet struct {
	c       *cd.Client
	hosts   []string
	logs    string // the agents' log file (warnings and errors)
	logFile *os.File
	cancel  context.CancelFunc
	done    chan error
	running int // agents started
	// pgids are the process groups of the (k) hooks, killed at the end
	// should any be left.
	pgids []int
	// retried counts the calls of the current figure asked again after
	// a transport error.
	retried retried
}

// retried counts calls that failed in transport and were asked again, and
// keeps the first such error, to report beside a figure.
type retried struct {
	n     int
	first string
}

// again calls fn, and once more when it failed in transport rather than
// with an answer of the server; fn must be safe to repeat.
func (f *deployFleet) again(ctx context.Context, what string, fn func() error) error {
	err := fn()
	var apiErr smithy.APIError
	if err == nil || errors.As(err, &apiErr) || ctx.Err() != nil {
		return err
	}
	f.retried.n++
	if f.retried.first == "" {
		f.retried.first = err.Error()
	}
	logf("%s failed in transport, asking again: %v", what, err)
	return fn()
}

// newCodeDeployClient is aws-sdk-go-v2's CodeDeploy client over the
// SDK's default HTTP client, with request bodies that hide WriteTo.
func newCodeDeployClient(url string) *cd.Client {
	return cd.New(cd.Options{BaseEndpoint: aws.String(url), Region: region, RetryMaxAttempts: 1,
		HTTPClient:  hideWriteTo{awshttp.NewBuildableClient()},
		Credentials: credentials.NewStaticCredentialsProvider(benchKey, benchSecret, "")})
}

// hideWriteTo sends requests whose body does not offer io.WriterTo to
// net/http. smithy-go wraps a body so that, once the SDK has closed it
// (which it does as soon as the answer's headers are in), its WriteTo
// returns io.EOF; net/http's last look at a body of known length (that
// nothing follows it) is an io.Copy, which calls WriteTo and takes that
// EOF for a failed write of the request: the transport closes the
// connection while the answer's body is still being read, and the call
// fails with "use of closed network connection" after a 200. Without
// WriteTo that look is a Read, which answers a plain end of file.
type hideWriteTo struct{ c *awshttp.BuildableClient }

func (h hideWriteTo) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = struct{ io.ReadCloser }{r.Body}
	}
	return h.c.Do(r)
}

// runCodeDeploy measures the CodeDeploy figures that o.only names; every
// agent and every process of a hook is gone when it returns.
func (b *bench) runCodeDeploy(ctx context.Context, r *results, want func(byte) bool) (err error) {
	o := b.opt
	f, err := b.startFleet(ctx, o.deployHosts, o.agentGrace)
	if err != nil {
		return err
	}
	defer func() {
		if serr := f.stop(); serr != nil && err == nil {
			err = serr
		}
	}()
	if want('l') {
		logf("(l) hook start latency: about %d events on one host, one deployment at a time", o.hookStartN)
		stopProf := b.profile(ctx, "l", true)
		f.retried = retried{}
		r.l, err = b.benchHookStart(ctx, f, o.hookStartN)
		stopProf()
		if err != nil {
			return fmt.Errorf("(l): %w%s", err, f.logTail())
		}
		r.l.retried = f.retried
		logf("(l) %s", r.l.total.summary())
	}
	if want('k') {
		logf("(k) StopDeployment with %d hosts in a hook ignoring SIGTERM, agents' grace %v: %d deployments, one at a time", len(f.hosts), o.agentGrace, o.deployStopN)
		stopProf := b.profile(ctx, "k", true)
		f.retried = retried{}
		r.k, err = b.benchDeployStop(ctx, f, o.deployStopN, o.agentGrace)
		stopProf()
		if err != nil {
			return fmt.Errorf("(k): %w%s", err, f.logTail())
		}
		r.k.retried = f.retried
		logf("(k) %s", r.k.total.summary())
	}
	return nil
}

// startFleet creates the application, its two groups and the bundle
// bucket, registers n hosts, and runs an agent for each.
func (b *bench) startFleet(ctx context.Context, n int, grace time.Duration) (*deployFleet, error) {
	f := &deployFleet{c: newCodeDeployClient(b.srv.url), logs: filepath.Join(b.tmp, "agents.log")}
	if _, err := f.c.CreateApplication(ctx, &cd.CreateApplicationInput{ApplicationName: aws.String(deployApp)}); err != nil {
		return nil, fmt.Errorf("CreateApplication: %w", err)
	}
	groups := []struct {
		name, config, tag string
		tags              []cdt.Tag
	}{
		{deployStopGroup, "CodeDeployDefault.AllAtOnce", fleetTag, []cdt.Tag{{Key: aws.String("pipewright:stop-terminates-hooks"), Value: aws.String("true")}}},
		{deployLatGroup, "CodeDeployDefault.OneAtATime", latencyTag, nil},
	}
	for _, g := range groups {
		if _, err := f.c.CreateDeploymentGroup(ctx, &cd.CreateDeploymentGroupInput{ApplicationName: aws.String(deployApp),
			DeploymentGroupName: aws.String(g.name), DeploymentConfigName: aws.String(g.config), Tags: g.tags,
			ServiceRoleArn:               aws.String("arn:aws:iam::000000000000:role/codedeploy"),
			OnPremisesInstanceTagFilters: []cdt.TagFilter{{Key: aws.String(g.tag), Value: aws.String("yes"), Type: cdt.TagFilterTypeKeyAndValue}}}); err != nil {
			return nil, fmt.Errorf("CreateDeploymentGroup %s: %w", g.name, err)
		}
	}
	if _, err := newS3Client(b.srv.url).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(deployBucket)}); err != nil {
		return nil, fmt.Errorf("CreateBucket: %w", err)
	}
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("pwbench-host-%d", i)
		if _, err := f.c.RegisterOnPremisesInstance(ctx, &cd.RegisterOnPremisesInstanceInput{InstanceName: aws.String(name),
			IamUserArn: aws.String("arn:aws:iam::000000000000:user/" + name)}); err != nil {
			return nil, fmt.Errorf("RegisterOnPremisesInstance %s: %w", name, err)
		}
		tags := []cdt.Tag{{Key: aws.String(fleetTag), Value: aws.String("yes")}}
		if i == 1 {
			tags = append(tags, cdt.Tag{Key: aws.String(latencyTag), Value: aws.String("yes")})
		}
		if _, err := f.c.AddTagsToOnPremisesInstances(ctx, &cd.AddTagsToOnPremisesInstancesInput{InstanceNames: []string{name}, Tags: tags}); err != nil {
			return nil, fmt.Errorf("AddTagsToOnPremisesInstances %s: %w", name, err)
		}
		f.hosts = append(f.hosts, name)
	}
	logFile, err := os.Create(f.logs)
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: slog.LevelWarn}))
	actx, cancel := context.WithCancel(context.Background())
	f.cancel, f.done, f.logFile = cancel, make(chan error, n), logFile
	for _, name := range f.hosts {
		a, err := agent.New(agent.Config{Endpoint: b.srv.url, Region: region, InstanceName: name, StopGrace: grace,
			Credentials: credentials.NewStaticCredentialsProvider(benchKey, benchSecret, ""),
			Root:        filepath.Join(b.tmp, "hosts", name), Log: log.With("host", name)})
		if err != nil {
			f.stop()
			return nil, err
		}
		f.running++
		go func() { f.done <- a.Run(actx) }()
	}
	logf("%d hosts registered, pipewright's agent running for each (in-process, --stop-grace %v; log %s)", n, grace, f.logs)
	return f, nil
}

// stop ends the agents (a script still running is terminated within the
// grace) and kills whatever is left of the (k) hooks' process groups.
func (f *deployFleet) stop() error {
	f.cancel()
	var errs []error
	timeout := time.After(30 * time.Second)
wait:
	for range f.running {
		select {
		case err := <-f.done:
			if err != nil {
				errs = append(errs, err)
			}
		case <-timeout:
			errs = append(errs, errors.New("an agent did not return within 30s of its context's end"))
			break wait
		}
	}
	f.logFile.Close()
	left := 0
	for _, g := range f.pgids {
		if len(groupMembers(g)) > 0 {
			left++
			syscall.Kill(-g, syscall.SIGKILL)
		}
	}
	if left > 0 {
		errs = append(errs, fmt.Errorf("%d hook process groups were left after the agents stopped; killed", left))
	}
	return errors.Join(errs...)
}

// logTail is the end of the agents' log, for an error's message.
func (f *deployFleet) logTail() string {
	if t := tail(f.logs, 20); t != "" {
		return "\nagents' log " + f.logs + ":\n" + t
	}
	return ""
}

// putBundle stores a zip of files (those under scripts/ executable) in
// the bundle bucket as key, and returns its revision.
func (b *bench) putBundle(ctx context.Context, key string, files map[string]string) (*cdt.RevisionLocation, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, text := range files {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		h.SetMode(0o644)
		if strings.HasPrefix(name, "scripts/") {
			h.SetMode(0o755)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write([]byte(text)); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if _, err := newS3Client(b.srv.url).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(deployBucket), Key: aws.String(key), Body: bytes.NewReader(buf.Bytes())}); err != nil {
		return nil, fmt.Errorf("PutObject %s: %w", key, err)
	}
	return &cdt.RevisionLocation{RevisionType: cdt.RevisionLocationTypeS3,
		S3Location: &cdt.S3Location{Bucket: aws.String(deployBucket), Key: aws.String(key), BundleType: cdt.BundleTypeZip}}, nil
}

// hookAppspec is an appspec that copies site/ to /srv/www (under each
// host's root) and runs script for each of events within timeout seconds.
func hookAppspec(script string, timeout int, events ...string) string {
	var b strings.Builder
	b.WriteString("version: 0.0\nos: linux\nfiles:\n  - source: site\n    destination: /srv/www\nfile_exists_behavior: OVERWRITE\nhooks:\n")
	for _, ev := range events {
		fmt.Fprintf(&b, "  %s:\n    - location: %s\n      timeout: %d\n", ev, script, timeout)
	}
	return b.String()
}

// createDeployment starts a deployment of rev to group.
func (f *deployFleet) createDeployment(ctx context.Context, group string, rev *cdt.RevisionLocation) (string, error) {
	out, err := f.c.CreateDeployment(ctx, &cd.CreateDeploymentInput{ApplicationName: aws.String(deployApp),
		DeploymentGroupName: aws.String(group), Revision: rev})
	if err != nil {
		return "", fmt.Errorf("CreateDeployment %s: %w", group, err)
	}
	return aws.ToString(out.DeploymentId), nil
}

// waitDeployment polls GetDeployment every interval until the deployment
// is want; another final status or the end of within is an error.
func (f *deployFleet) waitDeployment(ctx context.Context, id string, want cdt.DeploymentStatus, within, interval time.Duration) (*cdt.DeploymentInfo, error) {
	deadline := time.Now().Add(within)
	for {
		var out *cd.GetDeploymentOutput
		err := f.again(ctx, "GetDeployment", func() (err error) {
			out, err = f.c.GetDeployment(ctx, &cd.GetDeploymentInput{DeploymentId: aws.String(id)})
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("GetDeployment %s: %w", id, err)
		}
		d := out.DeploymentInfo
		if d.Status == want {
			return d, nil
		}
		switch d.Status {
		case cdt.DeploymentStatusSucceeded, cdt.DeploymentStatusFailed, cdt.DeploymentStatusStopped:
			return nil, fmt.Errorf("deployment %s ended %s (%s), want %s; %s", id, d.Status, errorInfo(d), want, f.instances(ctx, id))
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("deployment %s still %s after %v, want %s: %w; %s", id, d.Status, within, want, errTimeout, f.instances(ctx, id))
		}
		if err := sleepCtx(ctx, interval); err != nil {
			return nil, err
		}
	}
}

func errorInfo(d *cdt.DeploymentInfo) string {
	if d.ErrorInformation == nil {
		return "no error information"
	}
	return string(d.ErrorInformation.Code) + ": " + aws.ToString(d.ErrorInformation.Message)
}

// instanceSummaries is every host's summary in deployment id.
func (f *deployFleet) instanceSummaries(ctx context.Context, id string) ([]cdt.InstanceSummary, error) {
	var out *cd.BatchGetDeploymentInstancesOutput
	err := f.again(ctx, "BatchGetDeploymentInstances", func() (err error) {
		out, err = f.c.BatchGetDeploymentInstances(ctx, &cd.BatchGetDeploymentInstancesInput{DeploymentId: aws.String(id), InstanceIds: f.hosts})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("BatchGetDeploymentInstances %s: %w", id, err)
	}
	return out.InstancesSummary, nil
}

// instances describes the hosts' events in deployment id, for an error.
func (f *deployFleet) instances(ctx context.Context, id string) string {
	sums, err := f.instanceSummaries(ctx, id)
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	b.WriteString("its instances:")
	for _, s := range sums {
		fmt.Fprintf(&b, "\n  %s %s:", aws.ToString(s.InstanceId), s.Status)
		for _, e := range s.LifecycleEvents {
			fmt.Fprintf(&b, " %s=%s", aws.ToString(e.LifecycleEventName), e.Status)
			if dg := e.Diagnostics; dg != nil && dg.ErrorCode != cdt.LifecycleErrorCodeSuccess {
				fmt.Fprintf(&b, " (%s: %s)", dg.ErrorCode, aws.ToString(dg.Message))
			}
		}
	}
	return b.String()
}

// ---- (l) lifecycle event handed out → its hook's first command ----

// hookStartResult is figure (l).
type hookStartResult struct {
	total       samples // the event's startTime → the script's first `date`
	handout     samples // the previous event's endTime → this one's startTime
	byEvent     phases
	deployments int
	retried     retried
}

// benchHookStart deploys, one deployment at a time to the first host, a
// revision whose every hook's first command writes `date +%s.%N` to a file
// named by its deployment and event, until n events are timed; each is
// compared with the event's startTime as GetDeploymentInstance shows it.
// The first deployment is a warm-up.
func (b *bench) benchHookStart(ctx context.Context, f *deployFleet, n int) (*hookStartResult, error) {
	dir := filepath.Join(b.tmp, "hook-starts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	script := "#!/bin/sh\ndate +%s.%N > " + shq(dir) + "/\"$DEPLOYMENT_ID.$LIFECYCLE_EVENT\"\n"
	rev, err := b.putBundle(ctx, "latency.zip", map[string]string{"appspec.yml": hookAppspec("scripts/stamp.sh", 60, hookEvents...),
		"scripts/stamp.sh": script, "site/index.html": "latency\n"})
	if err != nil {
		return nil, err
	}
	res := &hookStartResult{}
	p := newProgress("(l) hook start", n)
	timed := 0
	for warm := true; timed < n; warm = false {
		time.Sleep(20 * time.Millisecond)
		id, err := f.createDeployment(ctx, deployLatGroup, rev)
		if err != nil {
			return nil, err
		}
		if _, err := f.waitDeployment(ctx, id, cdt.DeploymentStatusSucceeded, 60*time.Second, 20*time.Millisecond); err != nil {
			return nil, err
		}
		var out *cd.GetDeploymentInstanceOutput
		err = f.again(ctx, "GetDeploymentInstance", func() (err error) {
			out, err = f.c.GetDeploymentInstance(ctx, &cd.GetDeploymentInstanceInput{DeploymentId: aws.String(id), InstanceId: aws.String(f.hosts[0])})
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("GetDeploymentInstance: %w", err)
		}
		evs := out.InstanceSummary.LifecycleEvents
		for i, e := range evs {
			name := aws.ToString(e.LifecycleEventName)
			file := filepath.Join(dir, id+"."+name)
			ran, err := readStamp(file)
			if errors.Is(err, os.ErrNotExist) {
				// ApplicationStop of the first deployment has no earlier
				// revision's script to run; DownloadBundle and Install none.
				continue
			}
			if err != nil {
				return nil, err
			}
			start := aws.ToTime(e.StartTime)
			if e.StartTime == nil || ran.Before(start) {
				return nil, fmt.Errorf("deployment %s: %s's script ran at %v, its event started at %v", id, name, ran, start)
			}
			if warm {
				continue
			}
			timed++
			res.total.add(ran.Sub(start))
			res.byEvent.add(name, ran.Sub(start))
			if i > 0 && evs[i-1].EndTime != nil {
				res.handout.add(start.Sub(aws.ToTime(evs[i-1].EndTime)))
			}
			p.tick()
		}
		if !warm {
			res.deployments++
		}
	}
	return res, nil
}

// readStamp parses the `date +%s.%N` a hook wrote to file.
func readStamp(file string) (time.Time, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return time.Time{}, err
	}
	s := strings.TrimSpace(string(b))
	sec, frac, _ := strings.Cut(s, ".")
	secs, err1 := strconv.ParseInt(sec, 10, 64)
	ns, err2 := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
	if err1 != nil || err2 != nil {
		return time.Time{}, fmt.Errorf("%s: bad time %q", file, s)
	}
	return time.Unix(secs, ns), nil
}

// ---- (k) StopDeployment → Stopped, hooks terminated ----

// deployStopResult is figure (k).
type deployStopResult struct {
	total       samples // t0 (before StopDeployment) → GetDeployment shows Stopped
	phases      phases
	hosts       int
	grace       time.Duration
	pendingSaid int // StopDeployment answers that said Pending
	leftAtSeen  int // samples with a hook process still there when Stopped was seen
	retried     retried
}

// benchDeployStop deploys, n times one at a time, a revision whose
// BeforeInstall hook ignores SIGTERM, touches a file named by its
// deployment and its pid, and sleeps 60 s, to every host of the group
// tagged pipewright:stop-terminates-hooks; once every host's hook runs,
// t0 just before StopDeployment, GetDeployment every 5 ms until Stopped,
// t1. Each hook's process group must then be gone. The first deployment
// is a warm-up.
func (b *bench) benchDeployStop(ctx context.Context, f *deployFleet, n int, grace time.Duration) (*deployStopResult, error) {
	dir := filepath.Join(b.tmp, "hook-pids")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	script := "#!/bin/sh\ntrap '' TERM\ntouch " + shq(dir) + "/\"$DEPLOYMENT_ID.$$\"\nsleep 60\n"
	rev, err := b.putBundle(ctx, "hang.zip", map[string]string{"appspec.yml": hookAppspec("scripts/hang.sh", 120, "BeforeInstall"),
		"scripts/hang.sh": script, "site/index.html": "hang\n"})
	if err != nil {
		return nil, err
	}
	res := &deployStopResult{hosts: len(f.hosts), grace: grace}
	p := newProgress("(k) stop", n)
	for i := 0; i <= n; i++ {
		record := i > 0
		id, err := f.createDeployment(ctx, deployStopGroup, rev)
		if err != nil {
			return nil, err
		}
		pgids, err := f.waitHooks(ctx, dir, id, 60*time.Second)
		if err != nil {
			return nil, err
		}
		time.Sleep(20 * time.Millisecond)
		t0 := time.Now()
		// Asked again after a transport error, a stop already recorded
		// answers Pending, or DeploymentAlreadyCompleted once it is done.
		var so *cd.StopDeploymentOutput
		err = f.again(ctx, "StopDeployment", func() (err error) {
			so, err = f.c.StopDeployment(ctx, &cd.StopDeploymentInput{DeploymentId: aws.String(id)})
			var done *cdt.DeploymentAlreadyCompletedException
			if errors.As(err, &done) {
				so, err = &cd.StopDeploymentOutput{}, nil
			}
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("StopDeployment %s: %w", id, err)
		}
		answered := time.Now()
		d, err := f.waitDeployment(ctx, id, cdt.DeploymentStatusStopped, 30*time.Second, 5*time.Millisecond)
		if err != nil {
			return nil, err
		}
		t1 := time.Now()
		left := 0
		for _, g := range pgids {
			if len(groupMembers(g)) > 0 {
				left++
			}
		}
		if err := waitGroupsGone(ctx, pgids, 5*time.Second); err != nil {
			return nil, fmt.Errorf("deployment %s: %w", id, err)
		}
		if !record {
			continue
		}
		if left > 0 {
			res.leftAtSeen++
		}
		if so.Status == cdt.StopStatusPending {
			res.pendingSaid++
		}
		res.total.add(t1.Sub(t0))
		res.phases.add("StopDeployment answered", answered.Sub(t0))
		sums, err := f.instanceSummaries(ctx, id)
		if err != nil {
			return nil, err
		}
		var last time.Time
		for _, s := range sums {
			for _, e := range s.LifecycleEvents {
				if aws.ToString(e.LifecycleEventName) == "BeforeInstall" && e.EndTime != nil && e.EndTime.After(last) {
					last = *e.EndTime
				}
			}
		}
		if !last.IsZero() {
			res.phases.add("last hook's event end recorded", last.Sub(t0))
		}
		if d.CompleteTime != nil {
			res.phases.add("Stopped recorded", d.CompleteTime.Sub(t0))
		}
		res.phases.add("Stopped seen", t1.Sub(t0))
		p.tick()
	}
	return res, nil
}

// waitHooks waits until every host's hook of deployment id has touched
// its file, and returns their pids, which lead their process groups.
func (f *deployFleet) waitHooks(ctx context.Context, dir, id string, within time.Duration) ([]int, error) {
	deadline := time.Now().Add(within)
	for {
		matches, err := filepath.Glob(filepath.Join(dir, id+".*"))
		if err != nil {
			return nil, err
		}
		if len(matches) >= len(f.hosts) {
			var pgids []int
			for _, m := range matches {
				pid, err := strconv.Atoi(strings.TrimPrefix(filepath.Ext(m), "."))
				if err != nil {
					return nil, fmt.Errorf("%s: not a pid", m)
				}
				pgids = append(pgids, pid)
			}
			f.pgids = append(f.pgids, pgids...)
			return pgids, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%d of %d hooks of deployment %s ran within %v: %w; %s", len(matches), len(f.hosts), id, within, errTimeout, f.instances(ctx, id))
		}
		if err := sleepCtx(ctx, 10*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

// groupMembers lists the live processes (not zombies) of process group
// pgid, from /proc.
func groupMembers(pgid int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		// After the command: state, ppid, pgrp.
		fields := strings.Fields(s[i+1:])
		if len(fields) >= 3 && fields[0] != "Z" && fields[2] == strconv.Itoa(pgid) {
			out = append(out, pid)
		}
	}
	return out
}

// waitGroupsGone waits until no live process is left in the groups.
func waitGroupsGone(ctx context.Context, pgids []int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		var left []int
		for _, g := range pgids {
			left = append(left, groupMembers(g)...)
		}
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v of the stopped hooks still run %v after Stopped was seen", left, within)
		}
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
}
