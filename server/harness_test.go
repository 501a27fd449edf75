package server_test

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cp "github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/pipewright/pipewright/server"
)

const (
	testKey    = "AKIAPIPEWRIGHTTEST01"
	testSecret = "pipewright-test-secret-key-0123456789abcdef"
)

// testServer is a real pipewright server on a loopback port with an SDK
// client that signs every request.
type testServer struct {
	t      *testing.T
	data   string
	srv    *server.Server
	url    string
	client *cp.Client
}

type option func(*server.Config)

func withGrace(d time.Duration) option { return func(c *server.Config) { c.StopGrace = d } }

func startServer(t *testing.T, opts ...option) *testServer {
	t.Helper()
	ts := &testServer{t: t, data: t.TempDir()}
	ts.open(opts...)
	t.Cleanup(func() { ts.close() })
	return ts
}

func (ts *testServer) open(opts ...option) {
	ts.t.Helper()
	cfg := server.Config{Data: ts.data, Region: "us-east-1", AccountID: "000000000000", StopGrace: 2 * time.Second,
		AccessKeyID: testKey, SecretAccessKey: testSecret}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := server.Open(context.Background(), cfg)
	if err != nil {
		ts.t.Fatal(err)
	}
	ln := listenFresh(ts.t)
	go srv.Serve(ln)
	ts.srv = srv
	ts.url = "http://" + ln.Addr().String()
	ts.client = newClient(ts.url, testKey, testSecret)
}

// usedPorts holds every port a test server of this process has listened
// on. A port is not used twice: connections that an earlier server on it
// has not closed yet would otherwise count as the new server's.
var usedPorts = struct {
	sync.Mutex
	m map[int]bool
}{m: map[int]bool{}}

// listenFresh listens on a loopback port that no earlier test server of
// this process used.
func listenFresh(t *testing.T) net.Listener {
	t.Helper()
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		usedPorts.Lock()
		seen := usedPorts.m[port]
		usedPorts.m[port] = true
		usedPorts.Unlock()
		if !seen {
			return ln
		}
		defer ln.Close()
	}
	t.Fatal("no fresh loopback port in 100 tries")
	return nil
}

func (ts *testServer) close() {
	if ts.srv != nil {
		ts.srv.Close()
		ts.srv = nil
	}
}

// restart shuts the server down cleanly and opens it again on the same data.
func (ts *testServer) restart(opts ...option) {
	ts.close()
	ts.open(opts...)
}

func newClient(url, key, secret string) *cp.Client {
	return cp.New(cp.Options{
		BaseEndpoint: aws.String(url),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(key, secret, ""),
		Retryer:      onlyTransportRaceRetryer(),
	})
}

// onlyTransportRaceRetryer retries nothing the server answered: every API
// error reaches the test. It retries once a request whose connection the
// client itself closed while reading a response (net.ErrClosed), a known
// race of net/http and smithy-go (aws-sdk-go-v2 issues 1825 and 2737) that
// the SDK's default retryer retries too.
func onlyTransportRaceRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 2
		o.Retryables = []retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
			if errors.Is(err, net.ErrClosed) {
				return aws.TrueTernary
			}
			return aws.FalseTernary
		})}
		o.RateLimiter = ratelimit.None
	})
}

// gitRepo creates a git repository NAME under the server's git root with
// the given files committed on branch main, and returns the commit id.
func (ts *testServer) gitRepo(name string, files map[string]string) string {
	ts.t.Helper()
	dir := filepath.Join(ts.data, "git", name)
	if _, err := os.Stat(filepath.Join(dir, ".git")); err != nil {
		ts.gitIn(dir, "init", "-q", "-b", "main")
	}
	for p, body := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			ts.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(body), 0o644); err != nil {
			ts.t.Fatal(err)
		}
	}
	ts.gitIn(dir, "add", "-A")
	ts.gitIn(dir, "commit", "-q", "--allow-empty", "-m", "commit of "+name)
	return strings.TrimSpace(ts.gitIn(dir, "rev-parse", "HEAD"))
}

func (ts *testServer) gitIn(dir string, args ...string) string {
	ts.t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		ts.t.Fatal(err)
	}
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		ts.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

var ctx = context.Background()

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// execStatus returns an execution's status.
func (ts *testServer) execStatus(pipeline, id string) types.PipelineExecutionStatus {
	ts.t.Helper()
	out, err := ts.client.GetPipelineExecution(ctx, &cp.GetPipelineExecutionInput{PipelineName: &pipeline, PipelineExecutionId: &id})
	if err != nil {
		ts.t.Fatalf("GetPipelineExecution: %v", err)
	}
	return out.PipelineExecution.Status
}

func (ts *testServer) waitStatus(pipeline, id string, want types.PipelineExecutionStatus, within time.Duration) {
	ts.t.Helper()
	deadline := time.Now().Add(within)
	for {
		last := ts.execStatus(pipeline, id)
		if last == want {
			return
		}
		if time.Now().After(deadline) {
			ts.t.Fatalf("timed out after %v waiting for execution %s to be %s; it is %s", within, id, want, last)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// state returns the pipeline's state.
func (ts *testServer) state(pipeline string) *cp.GetPipelineStateOutput {
	ts.t.Helper()
	out, err := ts.client.GetPipelineState(ctx, &cp.GetPipelineStateInput{Name: &pipeline})
	if err != nil {
		ts.t.Fatalf("GetPipelineState: %v", err)
	}
	return out
}

// actionState returns the latest execution of an action from GetPipelineState.
func (ts *testServer) actionState(pipeline, stage, action string) *types.ActionExecution {
	for _, s := range ts.state(pipeline).StageStates {
		if aws.ToString(s.StageName) != stage {
			continue
		}
		for _, a := range s.ActionStates {
			if aws.ToString(a.ActionName) == action {
				return a.LatestExecution
			}
		}
	}
	return nil
}

// apiErr asserts err is the AWS error T and returns it.
func apiErr[T error](t *testing.T, err error) T {
	t.Helper()
	var target T
	if !errors.As(err, &target) {
		t.Fatalf("want %T, got %v", target, err)
	}
	return target
}

// latestExecution returns the newest execution id of a pipeline.
func (ts *testServer) latestExecution(pipeline string) string {
	ts.t.Helper()
	out, err := ts.client.ListPipelineExecutions(ctx, &cp.ListPipelineExecutionsInput{PipelineName: &pipeline, MaxResults: aws.Int32(1)})
	if err != nil {
		ts.t.Fatal(err)
	}
	if len(out.PipelineExecutionSummaries) == 0 {
		ts.t.Fatal("no executions")
	}
	return aws.ToString(out.PipelineExecutionSummaries[0].PipelineExecutionId)
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// actionRuns lists the action executions of one pipeline execution, newest
// first.
func (ts *testServer) actionRuns(pipeline, id string) []types.ActionExecutionDetail {
	ts.t.Helper()
	out, err := ts.client.ListActionExecutions(ctx, &cp.ListActionExecutionsInput{PipelineName: &pipeline, Filter: &types.ActionExecutionFilter{PipelineExecutionId: &id}})
	if err != nil {
		ts.t.Fatalf("ListActionExecutions: %v", err)
	}
	return out.ActionExecutionDetails
}

// jobOf waits until the latest execution of a job action names its job
// (its externalExecutionId, recorded once the job was submitted) and
// returns the job's id, which is also its tree's marker.
func (ts *testServer) jobOf(pipeline, stage, action string) string {
	ts.t.Helper()
	var id string
	eventually(ts.t, 30*time.Second, "the job of "+action, func() bool {
		a := ts.actionState(pipeline, stage, action)
		if a != nil {
			id = aws.ToString(a.ExternalExecutionId)
		}
		return id != ""
	})
	return id
}

// jobWorkspace returns the workspace directory of a job action that runs
// now, and fails the test if there is none (so that waitJobEnded cannot
// pass for want of a workspace).
func (ts *testServer) jobWorkspace(jobID string) string {
	ts.t.Helper()
	dir := filepath.Join(ts.data, "work", jobID)
	if _, err := os.Stat(dir); err != nil {
		ts.t.Fatalf("the running job %s has no workspace: %v", jobID, err)
	}
	return dir
}

// waitJobEnded waits until the server has handled the end of a job
// action's process tree: it records the result (or discards it, when the
// action ended otherwise meanwhile, e.g. was abandoned) and only then
// removes the job's workspace. Check with jobWorkspace, while the job
// runs, that it has one.
func (ts *testServer) waitJobEnded(jobID string) {
	ts.t.Helper()
	dir := filepath.Join(ts.data, "work", jobID)
	eventually(ts.t, 30*time.Second, "the end of job "+jobID+" handled (its workspace removed)", func() bool {
		_, err := os.Stat(dir)
		return os.IsNotExist(err)
	})
}

// waitInbound waits until execution next waits in front of the stage, or
// until execution running is no longer InProgress (for the caller to
// report), whichever comes first.
func (ts *testServer) waitInbound(pipeline, stage, next, running string) {
	ts.t.Helper()
	eventually(ts.t, 30*time.Second, "execution "+next+" waiting in front of "+stage+" (or "+running+" ending)", func() bool {
		if ts.execStatus(pipeline, running) != types.PipelineExecutionStatusInProgress {
			return true
		}
		for _, s := range ts.state(pipeline).StageStates {
			if aws.ToString(s.StageName) == stage {
				return s.InboundExecution != nil && aws.ToString(s.InboundExecution.PipelineExecutionId) == next
			}
		}
		return false
	})
}
