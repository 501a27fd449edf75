package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cp "github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/smithy-go"
)

func TestAuthFailuresRaw(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	const body = `{}`
	const target = wireTargetPrefix + "ListPipelines"
	signed := func(mod func(*wireSigning)) func(*testing.T) *http.Request {
		return func(t *testing.T) *http.Request {
			req := ts.wireRequest(t, target, body)
			s := defaultSigning()
			mod(&s)
			wireSign(t, req, body, s)
			return req
		}
	}
	cases := []struct {
		name    string
		request func(*testing.T) *http.Request
		code    string
		phrase  string
	}{
		{"no Authorization", func(t *testing.T) *http.Request {
			req := ts.wireRequest(t, target, body)
			req.Header.Set("X-Amz-Date", time.Now().UTC().Format("20060102T150405Z"))
			return req
		}, "MissingAuthenticationTokenException", "Request is missing Authentication Token"},
		{"not an AWS4 scheme", func(t *testing.T) *http.Request {
			req := ts.wireRequest(t, target, body)
			req.Header.Set("Authorization", "Bearer abc")
			return req
		}, "MissingAuthenticationTokenException", "Request is missing Authentication Token"},
		{"malformed Authorization", func(t *testing.T) *http.Request {
			req := ts.wireRequest(t, target, body)
			req.Header.Set("X-Amz-Date", time.Now().UTC().Format("20060102T150405Z"))
			req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x")
			return req
		}, "IncompleteSignatureException", "Authorization header requires 'Signature' parameter"},
		{"signed request without a date", func(t *testing.T) *http.Request {
			req := signed(func(*wireSigning) {})(t)
			req.Header.Del("X-Amz-Date")
			return req
		}, "IncompleteSignatureException", "X-Amz-Date"},
		{"unknown access key", signed(func(s *wireSigning) { s.Key = "AKIAUNKNOWNUNKNOWN00" }),
			"UnrecognizedClientException", "The security token included in the request is invalid"},
		{"wrong secret", signed(func(s *wireSigning) { s.Secret = testSecret + "x" }),
			"InvalidSignatureException", "The request signature we calculated does not match the signature you provided"},
		{"signed 20 minutes ago", signed(func(s *wireSigning) { s.At = time.Now().Add(-20 * time.Minute) }),
			"InvalidSignatureException", "Signature expired"},
		{"signed 20 minutes ahead", signed(func(s *wireSigning) { s.At = time.Now().Add(20 * time.Minute) }),
			"InvalidSignatureException", "Signature not yet current"},
		{"signed for eu-west-1", signed(func(s *wireSigning) { s.Region = "eu-west-1" }),
			"InvalidSignatureException", "eu-west-1"},
		{"signed for another service", signed(func(s *wireSigning) { s.Service = "codebuild" }),
			"InvalidSignatureException", "codepipeline"},
		{"body changed after signing", func(t *testing.T) *http.Request {
			req := signed(func(*wireSigning) {})(t)
			other := ts.wireRequest(t, target, `{"maxResults":5}`)
			req.Body, req.ContentLength = other.Body, other.ContentLength
			return req
		}, "InvalidSignatureException", "The request signature we calculated does not match"},
		{"target changed after signing", func(t *testing.T) *http.Request {
			req := signed(func(*wireSigning) {})(t)
			req.Header.Set("X-Amz-Target", wireTargetPrefix+"DeletePipeline")
			return req
		}, "InvalidSignatureException", "The request signature we calculated does not match"},
		{"session token", func(t *testing.T) *http.Request {
			req := ts.wireRequest(t, target, body)
			creds := aws.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret, SessionToken: "token"}
			if err := v4.NewSigner().SignHTTP(ctx, creds, req, "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", "codepipeline", "us-east-1", time.Now()); err != nil {
				t.Fatal(err)
			}
			return req
		}, "UnrecognizedClientException", "The security token included in the request is invalid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := wireDo(t, c.request(t)).mustError(t, http.StatusBadRequest, c.code)
			if !strings.Contains(msg, c.phrase) {
				t.Errorf("message %q does not contain %q", msg, c.phrase)
			}
			if strings.Contains(msg, testSecret) {
				t.Errorf("message leaks the secret: %q", msg)
			}
		})
	}

	// Authentication comes before routing: an unsigned request for an
	// unknown operation learns nothing about operations.
	unsignedUnknown := wireDo(t, ts.wireRequest(t, wireTargetPrefix+"NoSuchOperation", body))
	unsignedUnknown.mustError(t, http.StatusBadRequest, "MissingAuthenticationTokenException")

	// And the control: the same request correctly signed succeeds.
	ts.wireCall(t, "ListPipelines", body).mustOK(t)
}

// shiftedSigner signs as if the clock were off by skew.
type shiftedSigner struct {
	skew time.Duration
	v4   *v4.Signer
}

func (s shiftedSigner) SignHTTP(ctx context.Context, creds aws.Credentials, r *http.Request, payloadHash, service, region string, at time.Time, opts ...func(*v4.SignerOptions)) error {
	return s.v4.SignHTTP(ctx, creds, r, payloadHash, service, region, at.Add(s.skew), opts...)
}

func TestAuthFailuresSDK(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	client := func(key, secret, region string, signer cp.HTTPSignerV4) *cp.Client {
		return cp.New(cp.Options{
			BaseEndpoint:     aws.String(ts.url),
			Region:           region,
			Credentials:      credentials.NewStaticCredentialsProvider(key, secret, ""),
			RetryMaxAttempts: 1,
			HTTPSignerV4:     signer,
		})
	}
	cases := []struct {
		name   string
		c      *cp.Client
		code   string
		phrase string
	}{
		{"unknown access key", client("AKIAUNKNOWNUNKNOWN00", testSecret, "us-east-1", nil), "UnrecognizedClientException", "security token"},
		{"wrong secret", client(testKey, "wrong", "us-east-1", nil), "InvalidSignatureException", "does not match"},
		{"region eu-west-1", client(testKey, testSecret, "eu-west-1", nil), "InvalidSignatureException", "eu-west-1"},
		{"clock 20 minutes slow", client(testKey, testSecret, "us-east-1", shiftedSigner{-20 * time.Minute, v4.NewSigner()}), "InvalidSignatureException", "Signature expired"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.c.ListPipelines(ctx, &cp.ListPipelinesInput{})
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != c.code {
				t.Fatalf("want %s, got %v", c.code, err)
			}
			if !strings.Contains(ae.ErrorMessage(), c.phrase) {
				t.Errorf("message %q does not contain %q", ae.ErrorMessage(), c.phrase)
			}
			var re interface{ ServiceRequestID() string }
			if !errors.As(err, &re) || !uuidRE.MatchString(re.ServiceRequestID()) {
				t.Errorf("the SDK saw no request id in %v", err)
			}
		})
	}
	if _, err := client(testKey, testSecret, "us-east-1", shiftedSigner{2 * time.Minute, v4.NewSigner()}).ListPipelines(ctx, &cp.ListPipelinesInput{}); err != nil {
		t.Errorf("a clock 2 minutes fast is within the allowed skew: %v", err)
	}
	if _, err := ts.client.ListPipelines(ctx, &cp.ListPipelinesInput{}); err != nil {
		t.Errorf("correctly signed: %v", err)
	}
}

// clientEnv is the environment for a Python client: the caller's without
// any AWS settings, then env.
func clientEnv(env ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			out = append(out, kv)
		}
	}
	return append(out, append([]string{
		"AWS_CONFIG_FILE=" + os.DevNull, "AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
		"AWS_EC2_METADATA_DISABLED=true", "AWS_MAX_ATTEMPTS=1", "AWS_RETRY_MODE=standard",
	}, env...)...)
}

const boto3Script = `
import json, sys
import boto3, botocore
from botocore.config import Config
url, key, secret, name = sys.argv[1:5]
cfg = Config(retries={"total_max_attempts": 1, "mode": "standard"})
def client(secret):
    return boto3.client("codepipeline", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key=secret, config=cfg)
out = {}
c = client(secret)
out["pipelines"] = [p["name"] for p in c.list_pipelines()["pipelines"]]
got = c.get_pipeline(name=name)
out["arn"] = got["metadata"]["pipelineArn"]
out["created"] = got["metadata"]["created"].timestamp()
out["version"] = got["pipeline"]["version"]
try:
    c.get_pipeline(name="missing")
    out["missing"] = "no error"
except botocore.exceptions.ClientError as e:
    out["missing"] = e.response["Error"]["Code"]
try:
    client(secret + "x").list_pipelines()
    out["bad"] = "no error"
except botocore.exceptions.ClientError as e:
    out["bad"] = e.response["Error"]["Code"]
    out["badMessage"] = e.response["Error"]["Message"]
    out["badStatus"] = e.response["ResponseMetadata"]["HTTPStatusCode"]
    out["badRequestId"] = e.response["ResponseMetadata"].get("RequestId", "")
print(json.dumps(out))
`

func TestAuthBoto3(t *testing.T) {
	t.Parallel()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not on PATH")
	}
	probe, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(probe, py, "-c", "import boto3").CombinedOutput(); err != nil {
		t.Skipf("boto3 not available: %v %s", err, out)
	}
	ts := startServer(t)
	before := time.Now().Add(-2 * time.Second)
	if _, err := ts.client.CreatePipeline(ctx, &cp.CreatePipelineInput{Pipeline: crudDecl("from-go")}); err != nil {
		t.Fatal(err)
	}
	run, cancel := context.WithTimeout(ctx, 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(run, py, "-c", boto3Script, ts.url, testKey, testSecret, "from-go")
	cmd.Env = clientEnv()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("boto3 script: %v\n%s", err, stderr.String())
	}
	var got struct {
		Pipelines    []string
		Arn          string
		Created      float64
		Version      int
		Missing      string
		Bad          string
		BadMessage   string
		BadStatus    int
		BadRequestID string `json:"badRequestId"`
	}
	if err := json.Unmarshal(stdout, &got); err != nil {
		t.Fatalf("boto3 output %q: %v", stdout, err)
	}
	if len(got.Pipelines) != 1 || got.Pipelines[0] != "from-go" {
		t.Errorf("boto3 list_pipelines = %v", got.Pipelines)
	}
	if got.Arn != "arn:aws:codepipeline:us-east-1:000000000000:from-go" || got.Version != 1 {
		t.Errorf("boto3 get_pipeline: arn %q version %d", got.Arn, got.Version)
	}
	if c := time.UnixMilli(int64(got.Created * 1000)); c.Before(before) || c.After(time.Now()) {
		t.Errorf("boto3 reads created as %v", c)
	}
	if got.Missing != "PipelineNotFoundException" {
		t.Errorf("boto3 get_pipeline of a missing pipeline: %q", got.Missing)
	}
	if got.Bad != "InvalidSignatureException" || got.BadStatus != http.StatusBadRequest || !strings.Contains(got.BadMessage, "does not match") {
		t.Errorf("boto3 with a bad secret: %q HTTP %d %q", got.Bad, got.BadStatus, got.BadMessage)
	}
	if !uuidRE.MatchString(got.BadRequestID) {
		t.Errorf("boto3 saw request id %q", got.BadRequestID)
	}
}

func TestAuthAWSCLI(t *testing.T) {
	t.Parallel()
	cli, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("aws CLI not on PATH")
	}
	ts := startServer(t)
	if _, err := ts.client.CreatePipeline(ctx, &cp.CreatePipelineInput{Pipeline: crudDecl("from-cli")}); err != nil {
		t.Fatal(err)
	}
	awsCLI := func(secret string, args ...string) (string, string, error) {
		run, cancel := context.WithTimeout(ctx, 120*time.Second)
		defer cancel()
		cmd := exec.CommandContext(run, cli, append([]string{"--endpoint-url", ts.url, "--output", "json"}, args...)...)
		cmd.Env = clientEnv("AWS_ACCESS_KEY_ID="+testKey, "AWS_SECRET_ACCESS_KEY="+secret, "AWS_DEFAULT_REGION=us-east-1")
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}

	stdout, stderr, err := awsCLI(testSecret, "codepipeline", "list-pipelines")
	if err != nil {
		t.Fatalf("aws codepipeline list-pipelines: %v\n%s", err, stderr)
	}
	var list struct {
		Pipelines []struct {
			Name    string `json:"name"`
			Version int    `json:"version"`
		} `json:"pipelines"`
	}
	if err := json.Unmarshal([]byte(stdout), &list); err != nil {
		t.Fatalf("list-pipelines output %q: %v", stdout, err)
	}
	if len(list.Pipelines) != 1 || list.Pipelines[0].Name != "from-cli" || list.Pipelines[0].Version != 1 {
		t.Errorf("list-pipelines = %+v", list.Pipelines)
	}

	_, stderr, err = awsCLI(testSecret+"x", "codepipeline", "list-pipelines")
	if err == nil {
		t.Fatal("list-pipelines with a bad secret succeeded")
	}
	if !strings.Contains(stderr, "InvalidSignatureException") {
		t.Errorf("bad secret: stderr %q does not name InvalidSignatureException", stderr)
	}

	_, stderr, err = awsCLI(testSecret, "codepipeline", "get-pipeline", "--name", "missing")
	if err == nil || !strings.Contains(stderr, "PipelineNotFoundException") {
		t.Errorf("get-pipeline of a missing pipeline: %v %q", err, stderr)
	}
}
