package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	cd "github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdt "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"

	"github.com/pipewright/pipewright/server"
)

// agentNetnsEnv marks the run of TestAWSAgentPollsHostCommands that is
// already inside a network namespace of its own.
const agentNetnsEnv = "PIPEWRIGHT_TEST_AGENT_NETNS"

// agentPackages are the Debian packages AWS's agent runs with here.
const agentPackages = "ruby ruby-aws-sdk-core ruby-aws-sdk-s3 ruby-zip ruby-logging ruby-concurrent ruby-rexml"

// TestAWSAgentPollsHostCommands runs AWS's own CodeDeploy agent (from
// ../shared/third-party, with its on-premises config, so that it never asks
// the EC2 metadata service) against a real server, and checks that its
// PollHostCommand calls arrive signed with its key, are verified, and are
// answered {}, which the agent reads as no command. As root the test runs
// again inside `unshare -n` with the loopback up, so that the agent and the
// server share a network namespace that nothing can leave; otherwise both
// use the machine's loopback.
func TestAWSAgentPollsHostCommands(t *testing.T) {
	if inAgentNetns(t) {
		return
	}
	logs := &lockedBuffer{}
	ts := startServer(t, func(c *server.Config) {
		c.HostPollWait = time.Second
		c.Log = slog.New(slog.NewJSONHandler(logs, nil))
	})
	host := "arn:aws:iam::000000000000:user/host-1"
	registerHost(t, ts, "host-1", host)
	dir := t.TempDir()
	deadline := time.Now().Add(30 * time.Second)
	stop := startAWSAgent(t, ts.url, dir, host)
	defer stop(deadline)

	agentLog := filepath.Join(dir, "log", "codedeploy-agent.log")
	for {
		polls := verifiedPolls(t, logs.String())
		text, _ := os.ReadFile(agentLog)
		if polls >= 2 && bytes.Contains(text, []byte("PollHostCommand: Host Command =  nil")) {
			if !bytes.Contains(text, []byte("Host Identifier = "+host)) {
				t.Errorf("the agent's log does not name its host identifier %s", host)
			}
			break
		}
		if time.Now().After(deadline.Add(-5 * time.Second)) {
			t.Fatalf("after 25 s, %d verified PollHostCommand answered {}; the agent's log:\n%s\nthe server's:\n%s", polls, text, logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// registerHost registers an on-premises instance for an IAM user ARN: the
// server answers only the polls of registered hosts.
func registerHost(t *testing.T, ts *testServer, name, iamUserArn string, tags ...cdt.Tag) {
	t.Helper()
	c, ctx := newCodeDeploy(ts), context.Background()
	if _, err := c.RegisterOnPremisesInstance(ctx, &cd.RegisterOnPremisesInstanceInput{InstanceName: aws.String(name), IamUserArn: aws.String(iamUserArn)}); err != nil {
		t.Fatalf("RegisterOnPremisesInstance %s: %v", name, err)
	}
	if len(tags) > 0 {
		if _, err := c.AddTagsToOnPremisesInstances(ctx, &cd.AddTagsToOnPremisesInstancesInput{InstanceNames: []string{name}, Tags: tags}); err != nil {
			t.Fatalf("AddTagsToOnPremisesInstances %s: %v", name, err)
		}
	}
}

// awsAgent is where AWS's agent and its launcher are; the test is skipped
// when they or ruby are missing.
func awsAgent(t *testing.T) (src, launch string) {
	t.Helper()
	third, err := filepath.Abs(filepath.Join("..", "..", "shared", "third-party"))
	if err != nil {
		t.Fatal(err)
	}
	src = filepath.Join(third, "aws-codedeploy-agent")
	launch = filepath.Join(third, "codedeploy-agent-launch.rb")
	if _, err := os.Stat(launch); err != nil {
		t.Skipf("AWS's agent is not at %s: %v", third, err)
	}
	if _, err := exec.LookPath("ruby"); err != nil {
		t.Skipf("ruby is missing: AWS's agent needs Debian's %s (scripts/test installs them as root)", agentPackages)
	}
	return src, launch
}

// inAgentNetns runs the test again inside `unshare -n` with the loopback
// up, when it runs as root and the machine allows, so that AWS's agent and
// the server share a network namespace that nothing can leave; it reports
// whether it did (the caller then returns). Otherwise both use the
// machine's loopback.
func inAgentNetns(t *testing.T) bool {
	t.Helper()
	awsAgent(t)
	if os.Getenv(agentNetnsEnv) != "" || os.Getuid() != 0 {
		return false
	}
	// A container without the right to make namespaces fails the probe.
	out, err := exec.Command("unshare", "-n", "ip", "link", "set", "lo", "up").CombinedOutput()
	if err != nil {
		t.Logf("unshare -n is not available (%v: %s): the agent and the server use the machine's loopback", err, bytes.TrimSpace(out))
		return false
	}
	runInNetns(t)
	return true
}

// startAWSAgent starts AWS's agent (with its on-premises config, so that
// it never asks the EC2 metadata service) for the server at url, with its
// config, logs, pids and root under dir, as the host iamUserArn. The
// function it returns stops it, by the deadline.
func startAWSAgent(t *testing.T, url, dir, host string) func(deadline time.Time) {
	t.Helper()
	src, launch := awsAgent(t)
	for _, d := range []string{"log", "pid", "root"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	writeAgentFile(t, filepath.Join(dir, "onprem.yml"), fmt.Sprintf(
		"---\nregion: us-east-1\naws_access_key_id: %s\naws_secret_access_key: %s\niam_user_arn: %s\n", testKey, testSecret, host))
	conf := filepath.Join(dir, "agent.yml")
	writeAgentFile(t, conf, strings.NewReplacer("AGENT_DIR", dir, "URL", url).Replace(`---
:log_dir: 'AGENT_DIR/log/'
:pid_dir: 'AGENT_DIR/pid/'
:program_name: codedeploy-agent
:root_dir: 'AGENT_DIR/root'
:verbose: true
:log_aws_wire: false
:wait_between_runs: 1
:max_revisions: 5
:disable_imds_v1: true
:deploy_control_endpoint: 'URL'
:s3_endpoint_override: 'URL'
:codedeploy_test_profile: 'beta'
:on_premises_config_file: 'AGENT_DIR/onprem.yml'
`))
	cmd := exec.Command("ruby", launch, conf, src)
	cmd.Dir = dir
	// Only the onprem.yml speaks for the agent: no AWS variables or files
	// of the test's environment.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "LANG=C.UTF-8"}
	// The launcher forks the agent's master, which keeps what it inherits:
	// its output goes to a file, never to a pipe that would stay open.
	launchLog := filepath.Join(dir, "launch.log")
	lf, err := os.Create(launchLog)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = lf, lf
	err = cmd.Run()
	lf.Close()
	if err != nil {
		out, _ := os.ReadFile(launchLog)
		t.Fatalf("starting the agent: %v\n%s", err, out)
	}
	return func(deadline time.Time) { stopAgent(t, dir, deadline) }
}

// runInNetns runs this test again in a network namespace of its own, with
// only the loopback up, and fails if that run fails.
func runInNetns(t *testing.T) {
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("unshare", "-n", "sh", "-c", `ip link set lo up && exec "$0" "$@"`, bin,
		"-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1", "-test.timeout=3m")
	cmd.Env = append(os.Environ(), agentNetnsEnv+"=1")
	out, err := cmd.CombinedOutput()
	t.Logf("inside unshare -n:\n%s", out)
	if err != nil {
		t.Fatalf("the run inside unshare -n failed: %v", err)
	}
	if !bytes.Contains(out, []byte("--- PASS: "+t.Name())) {
		t.Fatal("the run inside unshare -n did not pass")
	}
}

// verifiedPolls counts the server's log lines for PollHostCommand calls
// verified as signed by the agent's key and answered 200.
func verifiedPolls(t *testing.T, log string) int {
	n := 0
	for _, line := range strings.Split(log, "\n") {
		var rec struct {
			Msg, Op, AccessKeyID string
			Status               int
		}
		if json.Unmarshal([]byte(line), &rec) != nil || rec.Msg != "request" {
			continue
		}
		if rec.Op == "CodeDeployCommandService_v20141006.PollHostCommand" {
			if rec.Status != 200 || rec.AccessKeyID != testKey {
				t.Errorf("a PollHostCommand was answered %s", line)
				continue
			}
			n++
		}
	}
	return n
}

// stopAgent sends SIGTERM to the agent's processes (the pids in its
// pid_dir) and waits for them to end until deadline, then kills them.
func stopAgent(t *testing.T, dir string, deadline time.Time) {
	files, _ := filepath.Glob(filepath.Join(dir, "pid", "*.pid"))
	var pids []int
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
			pids = append(pids, pid)
		}
	}
	if len(pids) == 0 {
		t.Errorf("the agent wrote no pid to %s", filepath.Join(dir, "pid"))
		return
	}
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGTERM)
	}
	for _, pid := range pids {
		for syscall.Kill(pid, 0) == nil && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if syscall.Kill(pid, 0) == nil {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Errorf("the agent's process %d outlived SIGTERM and was killed", pid)
		}
	}
}

func writeAgentFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// lockedBuffer is a bytes.Buffer safe for the server's log and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestCloseAnswersWaitingHostPolls checks that a server closing answers
// its hosts' waiting polls {} at once instead of being held up by them.
func TestCloseAnswersWaitingHostPolls(t *testing.T) {
	ts := startServer(t)
	registerHost(t, ts, "host-1", "arn:aws:iam::000000000000:user/host-1")
	body := `{"HostIdentifier":"arn:aws:iam::000000000000:user/host-1"}`
	req, err := http.NewRequest(http.MethodPost, ts.url+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "CodeDeployCommandService_v20141006.PollHostCommand")
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "codedeploy-commands", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	type answer struct {
		status int
		body   string
		err    error
	}
	done := make(chan answer, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- answer{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- answer{resp.StatusCode, string(b), err}
	}()
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	ts.close()
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Close took %v with a host's poll waiting", took)
	}
	a := <-done
	if a.err != nil || a.status != 200 || a.body != "{}" {
		t.Errorf("the waiting poll was answered %d %q, %v; want 200 {}", a.status, a.body, a.err)
	}
}
