package main

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cd "github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdt "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// The key pair the test servers are started with and the agents sign with.
const (
	procKey    = "AKIAENVKEY0000000000"
	procSecret = "env-secret"
)

// procOrder is the lifecycle events of an in-place deployment, in order.
var procOrder = []string{"ApplicationStop", "DownloadBundle", "BeforeInstall", "Install", "AfterInstall", "ApplicationStart", "ValidateService"}

// procServer is `pipewright serve` as a process of its own, on a fixed
// data directory and address so that it can be killed and started again.
type procServer struct {
	t          *testing.T
	bin, data  string
	addr, logs string
	cmd        *exec.Cmd
}

// startProcServer starts the server; it is killed at the test's end, and
// its log is shown when the test failed.
func startProcServer(t *testing.T, bin string) *procServer {
	t.Helper()
	dir := t.TempDir()
	s := &procServer{t: t, bin: bin, data: filepath.Join(dir, "data"), addr: freeAddr(t), logs: filepath.Join(dir, "serve.log")}
	s.start()
	t.Cleanup(func() {
		s.kill()
		if t.Failed() {
			b, _ := os.ReadFile(s.logs)
			t.Logf("server log:\n%s", tail(b, 8000))
		}
	})
	return s
}

// start runs the server (again) and waits until it is ready.
func (s *procServer) start() {
	s.t.Helper()
	f, err := os.OpenFile(s.logs, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		s.t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(s.bin, "serve", "--data", s.data, "--addr", s.addr, "--log-level", "debug")
	cmd.Env = append(withoutPipewrightKeys(), "PIPEWRIGHT_ACCESS_KEY_ID="+procKey, "PIPEWRIGHT_SECRET_ACCESS_KEY="+procSecret)
	cmd.Stderr = f
	serveUntilReady(s.t, cmd)
	s.cmd = cmd
}

// kill sends the server SIGKILL and waits for it to end.
func (s *procServer) kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

func (s *procServer) url() string { return "http://" + s.addr }

func (s *procServer) codedeploy() *cd.Client {
	return cd.New(cd.Options{BaseEndpoint: aws.String(s.url()), Region: "us-east-1", RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(procKey, procSecret, "")})
}

func (s *procServer) s3() *s3.Client {
	return s3.New(s3.Options{BaseEndpoint: aws.String(s.url()), Region: "us-east-1", RetryMaxAttempts: 1, UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(procKey, procSecret, "")})
}

// agentProc is `pipewright agent` as a process of its own.
type agentProc struct {
	t    *testing.T
	args []string
	logs string
	cred *syscall.Credential
	cmd  *exec.Cmd
	done chan error
}

// newAgentProc prepares an agent of instance name under root against s;
// start runs it. It is killed at the test's end, and its log is shown
// when the test failed.
func newAgentProc(t *testing.T, bin string, s *procServer, name, root string) *agentProc {
	a := &agentProc{t: t, logs: filepath.Join(t.TempDir(), "agent.log"),
		args: []string{bin, "agent", "--endpoint", s.url(), "--instance-name", name, "--root", root, "--stop-grace", "1s", "--log-level", "debug"}}
	t.Cleanup(func() {
		a.kill()
		if t.Failed() {
			b, _ := os.ReadFile(a.logs)
			t.Logf("agent log:\n%s", tail(b, 8000))
		}
	})
	return a
}

// agentEnv is the environment of an agent: the test's without AWS or
// pipewright settings, with the server's key pair as AWS credentials.
func agentEnv() []string {
	var env []string
	for _, kv := range withoutPipewrightKeys() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	return append(env, "AWS_ACCESS_KEY_ID="+procKey, "AWS_SECRET_ACCESS_KEY="+procSecret, "AWS_REGION=us-east-1",
		"AWS_CONFIG_FILE=/nonexistent/config", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent/credentials", "HOME=/nonexistent")
}

// start runs the agent (again).
func (a *agentProc) start() {
	a.t.Helper()
	f, err := os.OpenFile(a.logs, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		a.t.Fatal(err)
	}
	defer f.Close()
	fmt.Fprintf(f, "--- start %s\n", time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(a.args[0], a.args[1:]...)
	cmd.Env = agentEnv()
	cmd.Stdout, cmd.Stderr = f, f
	if a.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: a.cred}
	}
	if err := cmd.Start(); err != nil {
		a.t.Fatal(err)
	}
	a.cmd, a.done = cmd, make(chan error, 1)
	go func() { a.done <- cmd.Wait() }()
}

// kill sends the agent SIGKILL and waits for it to end.
func (a *agentProc) kill() {
	if a.cmd == nil {
		return
	}
	_ = a.cmd.Process.Kill()
	<-a.done
	a.cmd = nil
}

// signal sends the running agent sig.
func (a *agentProc) signal(sig syscall.Signal) {
	if a.cmd != nil {
		_ = a.cmd.Process.Signal(sig)
	}
}

// tail is the end of b, at most n bytes.
func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// procFixture registers the instance name (IAM user ARN arn) tagged
// env=test, and makes the application web, its group fleet over the
// instances tagged env=test and the bucket bundles.
func procFixture(t *testing.T, s *procServer, name string) {
	t.Helper()
	c, ctx := s.codedeploy(), context.Background()
	tag := cdt.Tag{Key: aws.String("env"), Value: aws.String("test")}
	steps := []func() error{
		func() error {
			_, err := c.RegisterOnPremisesInstance(ctx, &cd.RegisterOnPremisesInstanceInput{InstanceName: aws.String(name),
				IamUserArn: aws.String("arn:aws:iam::000000000000:user/" + name)})
			return err
		},
		func() error {
			_, err := c.AddTagsToOnPremisesInstances(ctx, &cd.AddTagsToOnPremisesInstancesInput{InstanceNames: []string{name}, Tags: []cdt.Tag{tag}})
			return err
		},
		func() error {
			_, err := c.CreateApplication(ctx, &cd.CreateApplicationInput{ApplicationName: aws.String("web")})
			return err
		},
		func() error {
			_, err := c.CreateDeploymentGroup(ctx, &cd.CreateDeploymentGroupInput{ApplicationName: aws.String("web"),
				DeploymentGroupName: aws.String("fleet"), ServiceRoleArn: aws.String("arn:aws:iam::000000000000:role/deploy"),
				OnPremisesInstanceTagFilters: []cdt.TagFilter{{Key: tag.Key, Value: tag.Value, Type: cdt.TagFilterTypeKeyAndValue}}})
			return err
		},
		func() error {
			_, err := s.s3().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bundles")})
			return err
		},
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("fixture step %d: %v", i+1, err)
		}
	}
}

// procDeploy stores a zip bundle of files (those under scripts/
// executable) as bundles/key and deploys it to the group fleet of web.
func procDeploy(t *testing.T, s *procServer, key string, files map[string]string) string {
	t.Helper()
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
			t.Fatal(err)
		}
		w.Write([]byte(text))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.s3().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bundles"), Key: aws.String(key), Body: bytes.NewReader(buf.Bytes())}); err != nil {
		t.Fatalf("PutObject %s: %v", key, err)
	}
	out, err := s.codedeploy().CreateDeployment(ctx, &cd.CreateDeploymentInput{ApplicationName: aws.String("web"), DeploymentGroupName: aws.String("fleet"),
		Revision: &cdt.RevisionLocation{RevisionType: cdt.RevisionLocationTypeS3,
			S3Location: &cdt.S3Location{Bucket: aws.String("bundles"), Key: aws.String(key), BundleType: cdt.BundleTypeZip}}})
	if err != nil {
		t.Fatalf("CreateDeployment: %v", err)
	}
	return aws.ToString(out.DeploymentId)
}

// hookAppspec is an appspec.yml whose hooks run the scripts given (event
// to script), each with a timeout of 600 s and runas user when set.
func hookAppspec(hooks map[string]string, runas map[string]string) string {
	var b strings.Builder
	b.WriteString("version: 0.0\nos: linux\nhooks:\n")
	for _, ev := range procOrder {
		if s, ok := hooks[ev]; ok {
			b.WriteString("  " + ev + ":\n    - location: " + s + "\n      timeout: 600\n")
			if u := runas[ev]; u != "" {
				b.WriteString("      runas: " + u + "\n")
			}
		}
	}
	return b.String()
}

// waitProcDeployment polls GetDeployment until the deployment ends, and
// fails the test unless it ends want or it does not end within timeout.
func waitProcDeployment(t *testing.T, c *cd.Client, id string, want cdt.DeploymentStatus, timeout time.Duration) *cdt.DeploymentInfo {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out, err := c.GetDeployment(context.Background(), &cd.GetDeploymentInput{DeploymentId: aws.String(id)})
		if err == nil {
			d := out.DeploymentInfo
			final := d.Status == cdt.DeploymentStatusSucceeded || d.Status == cdt.DeploymentStatusFailed || d.Status == cdt.DeploymentStatusStopped
			if d.Status == want {
				return d
			}
			if final || time.Now().After(deadline) {
				t.Fatalf("deployment %s is %s (%+v), want %s; its events: %v", id, d.Status, d.ErrorInformation, want, eventReport(c, id))
			}
		} else if time.Now().After(deadline) {
			t.Fatalf("GetDeployment %s: %v", id, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// instanceEvents is the instance's status in the deployment and its
// lifecycle events.
func instanceEvents(t *testing.T, c *cd.Client, id, instance string) (cdt.InstanceStatus, []cdt.LifecycleEvent) {
	t.Helper()
	out, err := c.GetDeploymentInstance(context.Background(), &cd.GetDeploymentInstanceInput{DeploymentId: aws.String(id), InstanceId: aws.String(instance)})
	if err != nil {
		t.Fatalf("GetDeploymentInstance %s %s: %v", id, instance, err)
	}
	return out.InstanceSummary.Status, out.InstanceSummary.LifecycleEvents
}

// eventStatuses is "name=status" for each event.
func eventStatuses(evs []cdt.LifecycleEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, aws.ToString(e.LifecycleEventName)+"="+string(e.Status))
	}
	return out
}

// eventReport is every event of the deployment's instances with its
// diagnostics, for a failure's message.
func eventReport(c *cd.Client, id string) string {
	ctx := context.Background()
	l, err := c.ListDeploymentInstances(ctx, &cd.ListDeploymentInstancesInput{DeploymentId: aws.String(id)})
	if err != nil {
		return err.Error()
	}
	var sb strings.Builder
	for _, inst := range l.InstancesList {
		out, err := c.GetDeploymentInstance(ctx, &cd.GetDeploymentInstanceInput{DeploymentId: aws.String(id), InstanceId: aws.String(inst)})
		if err != nil {
			return err.Error()
		}
		fmt.Fprintf(&sb, "\n%s %s", inst, out.InstanceSummary.Status)
		for _, e := range out.InstanceSummary.LifecycleEvents {
			fmt.Fprintf(&sb, "\n  %s %s", aws.ToString(e.LifecycleEventName), e.Status)
			if dg := e.Diagnostics; dg != nil {
				fmt.Fprintf(&sb, " %s %s: %s | %s", dg.ErrorCode, aws.ToString(dg.ScriptName), aws.ToString(dg.Message), aws.ToString(dg.LogTail))
			}
		}
	}
	return sb.String()
}

// waitPath waits until path exists.
func waitPath(t *testing.T, path string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear within %v", path, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// procStat is what /proc/PID/stat says of a live process: its state and
// process group; ok is false when there is no such process or it has
// ended (a zombie).
func procStat(pid int) (state string, pgid int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
		return "", 0, false
	}
	pgid, _ = strconv.Atoi(f[2])
	return f[0], pgid, true
}

// groupMembers lists the live processes of process group pgid.
func groupMembers(pgid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if _, g, ok := procStat(pid); ok && g == pgid {
			out = append(out, pid)
		}
	}
	return out
}

// pidsWith lists the live processes whose command line contains marker.
func pidsWith(marker string) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if _, _, ok := procStat(pid); ok && err == nil && strings.Contains(strings.ReplaceAll(string(b), "\x00", " "), marker) {
			out = append(out, pid)
		}
	}
	return out
}
