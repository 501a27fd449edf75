package hostcmd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/pipewright/pipewright/codedeploy/envelope"
	"github.com/pipewright/pipewright/sigv4"
	"github.com/pipewright/pipewright/wire"
)

const (
	testKeyID  = "AKIDHOSTCMDTEST00001"
	testSecret = "hostcmd-test-secret"
	testHost   = "arn:aws:iam::000000000000:user/host-1"
)

// verifier adapts sigv4's Verifier to the wire layer, as the server does.
type verifier struct{ v *sigv4.Verifier }

func (a verifier) Authenticate(r *http.Request, body []byte, signingName string) (wire.Caller, error) {
	id, err := a.v.Verify(r, body, signingName)
	if err != nil {
		var e *sigv4.Error
		if errors.As(err, &e) {
			return wire.Caller{}, wire.NewError(e.Code, e.Message)
		}
		return wire.Caller{}, err
	}
	return wire.Caller{AccessKeyID: id.AccessKeyID}, nil
}

// endpoint serves a Service for cfg over real HTTP with SigV4 checked.
func endpoint(t *testing.T, cfg Config) string {
	t.Helper()
	if cfg.Signer == nil {
		s, err := envelope.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		cfg.Signer = s
	}
	auth := verifier{&sigv4.Verifier{Region: "us-east-1", Lookup: func(id string) (string, bool) {
		return testSecret, id == testKeyID
	}}}
	srv := httptest.NewServer(wire.NewServer(auth, nil, New(cfg).Wire()))
	t.Cleanup(srv.Close)
	return srv.URL
}

// call sends op's body signed for codedeploy-commands (unsigned when sign
// is false) and returns the status and the decoded answer.
func call(t *testing.T, url, op, body string, sign bool) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", TargetPrefix+"."+op)
	if sign {
		sum := sha256.Sum256([]byte(body))
		creds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), SigningName, "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s answered %q: %v", op, raw, err)
	}
	return resp.StatusCode, out
}

// TestIdlePollWaitsThenAnswersEmpty checks the long poll of a server with
// no deployments: {} after the configured wait, not before.
func TestIdlePollWaitsThenAnswersEmpty(t *testing.T) {
	url := endpoint(t, Config{PollWait: 300 * time.Millisecond})
	start := time.Now()
	st, out := call(t, url, "PollHostCommand", `{"HostIdentifier":"`+testHost+`"}`, true)
	took := time.Since(start)
	if st != 200 || len(out) != 0 {
		t.Fatalf("PollHostCommand: %d %v, want 200 {}", st, out)
	}
	if took < 300*time.Millisecond || took > 5*time.Second {
		t.Errorf("PollHostCommand answered after %v, want about 300ms", took)
	}
}

// TestIdleAnswersModelledErrors checks the errors for what an idle server
// does not know, and the validation of required members.
func TestIdleAnswersModelledErrors(t *testing.T) {
	url := endpoint(t, Config{PollWait: 10 * time.Millisecond})
	cases := []struct {
		op, body, code string
	}{
		{"PollHostCommand", `{}`, CodeClient},
		{"PutHostCommandAcknowledgement", `{"HostCommandIdentifier":"hc-1","Diagnostics":{"Format":"JSON","Payload":"{}"}}`, CodeClient},
		{"PutHostCommandAcknowledgement", `{}`, CodeClient},
		{"PutHostCommandAcknowledgement", `{"HostCommandIdentifier":"hc-1","Diagnostics":{"Format":""}}`, CodeClient},
		{"GetDeploymentSpecification", `{"DeploymentExecutionId":"a/b/c/d","HostIdentifier":"` + testHost + `"}`, CodeDeploymentNotFound},
		{"GetDeploymentSpecification", `{"DeploymentExecutionId":"a/b","HostIdentifier":"` + testHost + `"}`, CodeClient},
		{"GetDeploymentSpecification", `{"DeploymentExecutionId":"a/b/c/d"}`, CodeClient},
		{"PutHostCommandComplete", `{"HostCommandIdentifier":"hc-1","CommandStatus":"Succeeded"}`, CodeClient},
		{"PutHostCommandComplete", `{"HostCommandIdentifier":"hc-1","CommandStatus":"Done"}`, CodeClient},
		{"PutHostCommandComplete", `{"HostCommandIdentifier":"hc-1"}`, CodeClient},
		{"PostHostCommandUpdate", `{"HostCommandIdentifier":"hc-1","EstimatedCompletionTime":1764000000}`, CodeClient},
		{"PostHostCommandUpdate", `{"HostCommandIdentifier":"hc-1","EstimatedCompletionTime":"soon"}`, wire.CodeSerialization},
	}
	for _, c := range cases {
		st, out := call(t, url, c.op, c.body, true)
		if st != 400 || out["__type"] != c.code {
			t.Errorf("%s %s: %d %v, want 400 %s", c.op, c.body, st, out, c.code)
		}
	}
	if st, out := call(t, url, "PollHostCommand", `{"HostIdentifier":"`+testHost+`"}`, false); st != 400 || out["__type"] == nil {
		t.Errorf("an unsigned PollHostCommand: %d %v, want an authentication error", st, out)
	}
}

// oneCommand is a Commands with one command for one host, recording what
// hosts report: the smallest deployment engine.
type oneCommand struct {
	mu       sync.Mutex
	ready    chan struct{}
	handed   bool
	reported []string
}

func (o *oneCommand) Poll(ctx context.Context, h Host) (*Command, error) {
	if h.Identifier != testHost {
		return nil, ErrUnknownHost
	}
	select {
	case <-o.ready:
	case <-ctx.Done():
		return nil, nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.handed {
		<-ctx.Done()
		return nil, nil
	}
	o.handed = true
	return &Command{Token: "hc-1", ExecutionID: "d-1/g/i/1", Name: "BeforeInstall", Nonce: 7}, nil
}

func (o *oneCommand) record(s string) {
	o.mu.Lock()
	o.reported = append(o.reported, s)
	o.mu.Unlock()
}

func (o *oneCommand) Acknowledge(_ context.Context, h Host, token string, d *Envelope) (string, error) {
	if token != "hc-1" {
		return "", ErrUnknownCommand
	}
	o.record("ack " + h.AccessKeyID + " " + *d.Payload)
	return StatusInProgress, nil
}

func (o *oneCommand) Specification(_ context.Context, h Host, id string) ([]byte, error) {
	if id != "d-1/g/i/1" {
		return nil, ErrUnknownDeployment
	}
	return []byte(`{"DeploymentId":"d-1"}`), nil
}

func (o *oneCommand) Complete(_ context.Context, _ Host, token, status string, e *Envelope) error {
	d, _ := ParseDiagnostics(e)
	o.record("complete " + token + " " + status + " " + d.ErrorCode + " " + d.Message)
	return nil
}

func (o *oneCommand) Update(_ context.Context, _ Host, token string, est time.Time, _ *Envelope) (string, error) {
	o.record("update " + token + " " + est.UTC().Format(time.RFC3339))
	return "", nil
}

// TestCommandRoundTrip hands a command out while a poll waits and checks
// what the operations carry both ways.
func TestCommandRoundTrip(t *testing.T) {
	cmds := &oneCommand{ready: make(chan struct{})}
	url := endpoint(t, Config{Commands: cmds, PollWait: 10 * time.Second})
	if st, out := call(t, url, "PollHostCommand", `{"HostIdentifier":"arn:aws:iam::000000000000:user/other"}`, true); st != 400 || out["__type"] != CodeHostNotFound {
		t.Errorf("a poll from an unknown host: %d %v", st, out)
	}
	time.AfterFunc(100*time.Millisecond, func() { close(cmds.ready) })
	start := time.Now()
	st, out := call(t, url, "PollHostCommand", `{"HostIdentifier":"`+testHost+`"}`, true)
	if st != 200 || time.Since(start) > 5*time.Second {
		t.Fatalf("PollHostCommand: %d %v after %v", st, out, time.Since(start))
	}
	want := map[string]any{"HostCommandIdentifier": "hc-1", "HostIdentifier": testHost,
		"DeploymentExecutionId": "d-1/g/i/1", "CommandName": "BeforeInstall", "Nonce": 7.0}
	got, _ := out["HostCommand"].(map[string]any)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("HostCommand.%s = %v, want %v", k, got[k], v)
		}
	}

	st, out = call(t, url, "GetDeploymentSpecification", `{"DeploymentExecutionId":"d-1/g/i/1","HostIdentifier":"`+testHost+`"}`, true)
	if st != 200 || out["DeploymentSystem"] != "CodeDeploy" {
		t.Fatalf("GetDeploymentSpecification: %d %v", st, out)
	}
	spec, _ := out["DeploymentSpecification"].(map[string]any)
	env, _ := spec["GenericEnvelope"].(map[string]any)
	payload, _ := env["Payload"].(string)
	if env["Format"] != "PKCS7/JSON" {
		t.Errorf("GenericEnvelope.Format = %v", env["Format"])
	}
	if b, _ := pem.Decode([]byte(payload)); b == nil || b.Type != "PKCS7" {
		t.Fatalf("GenericEnvelope.Payload is not PKCS7 PEM: %.60q", payload)
	}
	if _, err := exec.LookPath("openssl"); err == nil {
		f := filepath.Join(t.TempDir(), "spec.p7")
		if err := os.WriteFile(f, []byte(payload), 0o600); err != nil {
			t.Fatal(err)
		}
		doc, err := exec.Command("openssl", "smime", "-verify", "-noverify", "-inform", "PEM", "-in", f).Output()
		if err != nil || string(doc) != `{"DeploymentId":"d-1"}` {
			t.Errorf("openssl read the envelope as %q, %v", doc, err)
		}
	}

	st, out = call(t, url, "PutHostCommandAcknowledgement", `{"HostCommandIdentifier":"hc-1","Diagnostics":{"Format":"JSON","Payload":"{\"IsCommandNoop\":false}"}}`, true)
	if st != 200 || out["CommandStatus"] != "InProgress" {
		t.Errorf("PutHostCommandAcknowledgement: %d %v", st, out)
	}
	st, out = call(t, url, "PostHostCommandUpdate", `{"HostCommandIdentifier":"hc-1","EstimatedCompletionTime":1764000000}`, true)
	if st != 200 || len(out) != 0 {
		t.Errorf("PostHostCommandUpdate: %d %v, want {}", st, out)
	}
	diag := `{\"error_code\":4,\"script_name\":\"s.sh\",\"message\":\"Script failed\",\"log\":\"x\"}`
	st, out = call(t, url, "PutHostCommandComplete", `{"HostCommandIdentifier":"hc-1","CommandStatus":"Failed","Diagnostics":{"Format":"JSON","Payload":"`+diag+`"}}`, true)
	if st != 200 || len(out) != 0 {
		t.Errorf("PutHostCommandComplete: %d %v, want {}", st, out)
	}
	cmds.mu.Lock()
	got2 := strings.Join(cmds.reported, "\n")
	cmds.mu.Unlock()
	wantReported := "ack " + testKeyID + ` {"IsCommandNoop":false}` + "\n" +
		"update hc-1 2025-11-24T16:00:00Z\n" +
		"complete hc-1 Failed 4 Script failed"
	if got2 != wantReported {
		t.Errorf("the Commands were told\n%s\nwant\n%s", got2, wantReported)
	}
}

// TestParseDiagnostics checks both forms of error_code the agent sends.
func TestParseDiagnostics(t *testing.T) {
	f := "JSON"
	for payload, code := range map[string]string{
		`{"error_code":0,"script_name":"","message":"Succeeded: ","log":""}`: "0",
		`{"error_code":"Unknown","script_name":"a","message":"m","log":"l"}`: "Unknown",
	} {
		p := payload
		d, ok := ParseDiagnostics(&Envelope{Format: &f, Payload: &p})
		if !ok || d.ErrorCode != code {
			t.Errorf("ParseDiagnostics(%s) = %+v, %v", payload, d, ok)
		}
	}
	if _, ok := ParseDiagnostics(&Envelope{Format: &f, Payload: aws.String("not json")}); ok {
		t.Error("ParseDiagnostics accepted a payload that is not JSON")
	}
}

// TestCloseEndsPolls checks that closing the service answers a waiting
// poll at once, and later ones without waiting.
func TestCloseEndsPolls(t *testing.T) {
	s, err := envelope.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	svc := New(Config{Signer: s, PollWait: time.Minute})
	ctx := wire.WithCaller(context.Background(), wire.Caller{AccessKeyID: testKeyID})
	host := testHost
	time.AfterFunc(100*time.Millisecond, svc.Close)
	for i := range 2 {
		start := time.Now()
		out, err := svc.PollHostCommand(ctx, &PollHostCommandInput{HostIdentifier: &host})
		if err != nil || out.HostCommand != nil {
			t.Fatalf("poll %d: %v, %v", i, out, err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("poll %d answered after %v, want at once after Close", i, took)
		}
	}
}

// heldUpdate is a Commands whose one command runs until changed is closed,
// and is then no longer wanted: Update holds InProgress until then, as
// the Commands interface promises.
type heldUpdate struct {
	Idle
	changed chan struct{}
}

func (h heldUpdate) Update(ctx context.Context, _ Host, token string, _ time.Time, _ *Envelope) (string, error) {
	if token != "hc-1" {
		return "", ErrUnknownCommand
	}
	select {
	case <-h.changed:
		return StatusFailed, nil
	case <-ctx.Done():
		return StatusInProgress, nil
	}
}

// TestUpdateHolds checks that PostHostCommandUpdate holds an InProgress
// answer: it answers Failed as soon as that is the answer, InProgress at
// UpdateWait, and InProgress at once when the service closes, for a held
// update and for one that comes later.
func TestUpdateHolds(t *testing.T) {
	const body = `{"HostCommandIdentifier":"hc-1"}`
	timed := func(f func() any) (any, time.Duration) {
		start := time.Now()
		v := f()
		return v, time.Since(start)
	}

	cmds := heldUpdate{changed: make(chan struct{})}
	url := endpoint(t, Config{Commands: cmds, UpdateWait: 10 * time.Second})
	time.AfterFunc(200*time.Millisecond, func() { close(cmds.changed) })
	out, took := timed(func() any { _, out := call(t, url, "PostHostCommandUpdate", body, true); return out["CommandStatus"] })
	if out != StatusFailed || took < 200*time.Millisecond || took > 5*time.Second {
		t.Errorf("an update held until its command is not wanted: %v after %v, want Failed after about 200ms", out, took)
	}
	out, took = timed(func() any { _, out := call(t, url, "PostHostCommandUpdate", body, true); return out["CommandStatus"] })
	if out != StatusFailed || took > time.Second {
		t.Errorf("an update of a command not wanted: %v after %v, want Failed at once", out, took)
	}

	url = endpoint(t, Config{Commands: heldUpdate{changed: make(chan struct{})}, UpdateWait: 300 * time.Millisecond})
	out, took = timed(func() any { _, out := call(t, url, "PostHostCommandUpdate", body, true); return out["CommandStatus"] })
	if out != StatusInProgress || took < 300*time.Millisecond || took > 5*time.Second {
		t.Errorf("an update held to its bound: %v after %v, want InProgress after about 300ms", out, took)
	}

	s, err := envelope.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	svc := New(Config{Signer: s, Commands: heldUpdate{changed: make(chan struct{})}, UpdateWait: time.Minute})
	ctx := wire.WithCaller(context.Background(), wire.Caller{AccessKeyID: testKeyID})
	token := "hc-1"
	time.AfterFunc(200*time.Millisecond, svc.Close)
	for i := range 2 {
		res, took := timed(func() any {
			out, err := svc.PostHostCommandUpdate(ctx, &PostHostCommandUpdateInput{HostCommandIdentifier: &token})
			if err != nil {
				return err
			}
			return *out.CommandStatus
		})
		if res != StatusInProgress || took > 5*time.Second || i == 0 && took < 200*time.Millisecond {
			t.Errorf("update %d held when the service closes: %v after %v, want InProgress at Close", i, res, took)
		}
	}
}
