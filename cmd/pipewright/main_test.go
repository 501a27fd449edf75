package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cp "github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
)

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "pipewright")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

var exportLine = regexp.MustCompile(`^export AWS_ACCESS_KEY_ID=(AKIA[A-Z2-7]{16}) AWS_SECRET_ACCESS_KEY=(\S{40}) AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_ENDPOINT_URL=http://(\S+)$`)

// serveUntilReady starts `pipewright serve` and returns the export line it
// prints. Its stderr is discarded unless cmd.Stderr is set.
func serveUntilReady(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	stdout, _ := cmd.StdoutPipe()
	if cmd.Stderr == nil {
		cmd.Stderr = io.Discard
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("serve exited before printing the export line")
			}
			if strings.HasPrefix(l, "export ") {
				return l
			}
		case <-deadline:
			cmd.Process.Kill()
			t.Fatal("serve printed no export line")
		}
	}
}

func TestServeGeneratesKeysAndShutsDownCleanly(t *testing.T) {
	bin := buildBinary(t)
	data := filepath.Join(t.TempDir(), "data")
	addr := freeAddr(t)
	cmd := exec.Command(bin, "serve", "--data", data, "--addr", addr)
	cmd.Env = withoutPipewrightKeys()
	line := serveUntilReady(t, cmd)
	m := exportLine.FindStringSubmatch(line)
	if m == nil || m[3] != addr {
		t.Fatalf("export line %q", line)
	}
	st, err := os.Stat(filepath.Join(data, credentialsFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v %v", st.Mode(), err)
	}
	// The printed keys work with the SDK; others do not.
	client := cp.New(cp.Options{BaseEndpoint: aws.String("http://" + addr), Region: "us-east-1", RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(m[1], m[2], "")})
	if _, err := client.ListPipelines(context.Background(), &cp.ListPipelinesInput{}); err != nil {
		t.Fatalf("with the printed keys: %v", err)
	}
	// `pipewright env` prints the same line again.
	out, err := exec.Command(bin, "env", "--data", data, "--addr", addr).Output()
	if err != nil || strings.TrimSpace(string(out)) != line {
		t.Fatalf("env: %q %v, want %q", out, err, line)
	}
	// SIGTERM shuts it down cleanly.
	stopCleanly(t, cmd)
	// A restart keeps the key pair.
	cmd2 := exec.Command(bin, "serve", "--data", data, "--addr", addr)
	cmd2.Env = withoutPipewrightKeys()
	if again := serveUntilReady(t, cmd2); again != line {
		t.Fatalf("keys changed across a restart: %q", again)
	}
	cmd2.Process.Signal(syscall.SIGINT)
	cmd2.Wait()
}

// stopCleanly sends the server SIGTERM and fails unless it exits 0 within
// 20 seconds.
func stopCleanly(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("no clean exit after SIGTERM")
	}
}

// envKeyClient is an SDK client for a server started with the key pair
// AKIAENVKEY0000000000 / env-secret in its environment.
func envKeyClient(addr string) *cp.Client {
	return cp.New(cp.Options{BaseEndpoint: aws.String("http://" + addr), Region: "us-east-1", RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKIAENVKEY0000000000", "env-secret", "")})
}

func TestKeysFromEnvironment(t *testing.T) {
	bin := buildBinary(t)
	data := filepath.Join(t.TempDir(), "data")
	addr := freeAddr(t)
	cmd := exec.Command(bin, "serve", "--data", data, "--addr", addr)
	cmd.Env = append(withoutPipewrightKeys(), "PIPEWRIGHT_ACCESS_KEY_ID=AKIAENVKEY0000000000", "PIPEWRIGHT_SECRET_ACCESS_KEY=env-secret")
	line := serveUntilReady(t, cmd)
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	if !strings.Contains(line, "AWS_ACCESS_KEY_ID=AKIAENVKEY0000000000 AWS_SECRET_ACCESS_KEY=env-secret") {
		t.Fatalf("export line %q", line)
	}
	if _, err := os.Stat(filepath.Join(data, credentialsFile)); !os.IsNotExist(err) {
		t.Fatal("keys from the environment must not be written to disk")
	}
}

func TestFlagErrors(t *testing.T) {
	for _, args := range [][]string{{"serve", "--account-id", "12"}, {"serve", "--region", "Mars"}, {"serve", "--stop-grace", "-1s"}, {"serve", "extra"},
		{"serve", "--log-level", "verbose"}, {"serve", "--log-level", "INFO"}, {"serve", "--log-format", "xml"}, {"serve", "--bogus"},
		{"env", "--bogus"}, {"bogus"}, {}, {"help", "bogus"}} {
		var ue *usageError
		if err := run(args, io.Discard); !errors.As(err, &ue) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	if err := run([]string{"env", "--data", t.TempDir()}, io.Discard); err == nil || !strings.Contains(err.Error(), "no key pair") {
		t.Errorf("env before the first start: %v", err)
	}
}

func withoutPipewrightKeys() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PIPEWRIGHT_") {
			env = append(env, kv)
		}
	}
	return env
}

// TestRelativeDataDirectory runs the default-style relative --data: the
// commands of an action run in their own workspace and must still find
// what the server prepared for them.
func TestRelativeDataDirectory(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	repo := filepath.Join(dir, ".pipewright", "git", "app")
	for _, args := range [][]string{{"init", "-q", "-b", "main", repo}, {"-C", repo, "commit", "-q", "--allow-empty", "-m", "c"}} {
		c := exec.Command("git", args...)
		c.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@e", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@e")
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	addr := freeAddr(t)
	cmd := exec.Command(bin, "serve", "--data", ".pipewright", "--addr", addr)
	cmd.Dir = dir
	cmd.Env = append(withoutPipewrightKeys(), "PIPEWRIGHT_ACCESS_KEY_ID=AKIAENVKEY0000000000", "PIPEWRIGHT_SECRET_ACCESS_KEY=env-secret")
	serveUntilReady(t, cmd)
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	client := envKeyClient(addr)
	body := `{"name":"rel","roleArn":"arn:aws:iam::000000000000:role/r","artifactStore":{"type":"S3","location":"rel-bucket"},"stages":[
	 {"name":"Source","actions":[{"name":"S","actionTypeId":{"category":"Source","owner":"AWS","provider":"CodeCommit","version":"1"},"configuration":{"RepositoryName":"app","BranchName":"main"},"outputArtifacts":[{"name":"code"}]}]},
	 {"name":"Build","actions":[{"name":"B","actionTypeId":{"category":"Compute","owner":"AWS","provider":"Commands","version":"1"},"inputArtifacts":[{"name":"code"}],"commands":["export V=1","test -d \"$CODEBUILD_SRC_DIR\""],"outputVariables":["V"]}]}]}`
	var decl types.PipelineDeclaration
	if err := json.Unmarshal([]byte(body), &decl); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreatePipeline(context.Background(), &cp.CreatePipelineInput{Pipeline: &decl}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := client.ListPipelineExecutions(context.Background(), &cp.ListPipelineExecutionsInput{PipelineName: aws.String("rel")})
		if err != nil {
			t.Fatal(err)
		}
		if st := out.PipelineExecutionSummaries[0].Status; st == types.PipelineExecutionStatusSucceeded {
			return
		} else if st != types.PipelineExecutionStatusInProgress || time.Now().After(deadline) {
			state, _ := client.GetPipelineState(context.Background(), &cp.GetPipelineStateInput{Name: aws.String("rel")})
			msg := ""
			if a := state.StageStates[1].ActionStates[0].LatestExecution; a != nil && a.ErrorDetails != nil {
				msg = aws.ToString(a.ErrorDetails.Message)
			}
			t.Fatalf("execution %s: %s", st, msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
