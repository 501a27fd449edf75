package sigv4_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/smithy-go"

	"github.com/pipewright/pipewright/sigv4"
)

// botocoreAuthorization signs r the way botocore's SigV4Auth does, written
// out independently of package sigv4: every header but botocore's
// blacklist is signed, host comes from the URL, values are whitespace-
// collapsed, the query is split and sorted as sent. It handles the "/"
// path only, which is all the JSON services use.
func botocoreAuthorization(r *http.Request, body []byte, secret, region, service string, at time.Time) string {
	skip := []string{"connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization",
		"te", "trailer", "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id", "authorization"}
	headers := map[string][]string{"host": {r.Host}}
	for k, vs := range r.Header {
		if k := strings.ToLower(k); !slices.Contains(skip, k) {
			headers[k] = append(headers[k], vs...)
		}
	}
	var names []string
	for k := range headers {
		names = append(names, k)
	}
	slices.Sort(names)
	var canonicalHeaders strings.Builder
	for _, k := range names {
		var vals []string
		for _, v := range headers[k] {
			vals = append(vals, strings.Join(strings.Fields(v), " "))
		}
		canonicalHeaders.WriteString(k + ":" + strings.Join(vals, ",") + "\n")
	}
	var query []string
	if r.URL.RawQuery != "" {
		query = strings.Split(r.URL.RawQuery, "&")
		slices.Sort(query)
	}
	sum := sha256.Sum256(body)
	creq := strings.Join([]string{r.Method, "/", strings.Join(query, "&"), canonicalHeaders.String(),
		strings.Join(names, ";"), hex.EncodeToString(sum[:])}, "\n")
	stamp := at.UTC().Format("20060102T150405Z")
	scope := stamp[:8] + "/" + region + "/" + service + "/aws4_request"
	creqSum := sha256.Sum256([]byte(creq))
	sts := "AWS4-HMAC-SHA256\n" + stamp + "\n" + scope + "\n" + hex.EncodeToString(creqSum[:])
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	key := mac([]byte("AWS4"+secret), stamp[:8])
	for _, part := range []string{region, service, "aws4_request"} {
		key = mac(key, part)
	}
	return "AWS4-HMAC-SHA256 Credential=" + testAKID + "/" + scope + ", SignedHeaders=" + strings.Join(names, ";") +
		", Signature=" + hex.EncodeToString(mac(key, sts))
}

// TestBotocoreVectors checks requests as botocore 1.43 signs them. The
// expected Authorization values were produced by botocore's own SigV4Auth
// (clock pinned to 2026-01-21T11:00:00Z) and are reproduced here by
// botocoreAuthorization before Verify sees them.
func TestBotocoreVectors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		service string
		target  string
		headers [][2]string
		body    string
		want    string
	}{
		{
			// AWSRequest(POST http://localhost:8080/, Content-Type, X-Amz-Target,
			// User-Agent, X-Custom="  a   b  "), SigV4Auth(..., 'codepipeline', 'us-east-1').
			name: "x-amz-date", service: "codepipeline", body: `{"name":"demo"}`,
			headers: [][2]string{{"Content-Type", "application/x-amz-json-1.1"}, {"X-Amz-Target", "CodePipeline_20150709.GetPipeline"},
				{"User-Agent", "aws-cli/1.0"}, {"X-Custom", "  a   b  "}, {"X-Amz-Date", "20260121T110000Z"}},
			want: "AWS4-HMAC-SHA256 Credential=AKIDPIPEWRIGHT/20260121/us-east-1/codepipeline/aws4_request, " +
				"SignedHeaders=content-type;host;x-amz-date;x-amz-target;x-custom, Signature=5195335cd1dd11530ffd3a5565e1d4a46902fc9b688c7660f6f23399beaa1456",
		},
		{
			// The same with a Date header: botocore then signs Date (formatdate,
			// "-0000") instead of adding X-Amz-Date.
			name: "date header", service: "codebuild", body: `{}`,
			headers: [][2]string{{"Content-Type", "application/x-amz-json-1.1"}, {"X-Amz-Target", "CodeBuild_20161006.ListProjects"},
				{"Date", "Wed, 21 Jan 2026 11:00:00 -0000"}},
			want: "AWS4-HMAC-SHA256 Credential=AKIDPIPEWRIGHT/20260121/us-east-1/codebuild/aws4_request, " +
				"SignedHeaders=content-type;date;host;x-amz-target, Signature=418515021f439eb8b20650f4183af42e24638456d9de2c49c048f0c9fc2a2b9d",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodPost, "http://localhost:8080/", strings.NewReader(c.body))
			for _, h := range c.headers {
				r.Header.Add(h[0], h[1])
			}
			got := botocoreAuthorization(r, []byte(c.body), testSecret, testRegion, c.service, signTime)
			if got != c.want {
				t.Fatalf("hand-built botocore signature\n got %s\nwant %s", got, c.want)
			}
			r.Header.Set("Authorization", c.want)
			// Headers a client adds after signing are not signed.
			r.Header.Set("Content-Length", "2")
			r.Header.Set("Accept-Encoding", "identity")
			id, err := newVerifier(signTime).Verify(r, []byte(c.body), c.service)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !id.SignedAt.Equal(signTime) || id.Service != c.service {
				t.Errorf("identity %+v", id)
			}
		})
	}
}

// verifyingServer answers every awsJson1_1 call with {} once its signature
// verifies, and with the AWS error otherwise. The service is read from
// X-Amz-Target ("CodeBuild_20161006.ListProjects" → "codebuild").
func verifyingServer(t *testing.T, v *sigv4.Verifier) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		prefix, _, _ := strings.Cut(r.Header.Get("X-Amz-Target"), "_")
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if _, err := v.Verify(r, body, strings.ToLower(prefix)); err != nil {
			var e *sigv4.Error
			if !errors.As(err, &e) {
				t.Errorf("Verify returned %T", err)
				return
			}
			w.Header().Set("X-Amzn-ErrorType", e.Code)
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"__type": e.Code, "message": e.Message})
			return
		}
		io.WriteString(w, "{}")
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestGoSDKClient calls a verifying server through aws-sdk-go-v2's
// CodePipeline client over real HTTP.
func TestGoSDKClient(t *testing.T) {
	t.Parallel()
	srv := verifyingServer(t, newVerifierNow())
	client := func(secret string) *codepipeline.Client {
		return codepipeline.New(codepipeline.Options{
			Region:           testRegion,
			BaseEndpoint:     aws.String(srv.URL),
			Credentials:      credentials.NewStaticCredentialsProvider(testAKID, secret, ""),
			RetryMaxAttempts: 1,
		})
	}
	ctx := context.Background()
	if _, err := client(testSecret).ListPipelines(ctx, &codepipeline.ListPipelinesInput{}); err != nil {
		t.Fatalf("ListPipelines: %v", err)
	}
	if _, err := client(testSecret).GetPipeline(ctx, &codepipeline.GetPipelineInput{Name: aws.String("my pipeline/ünïcode")}); err != nil {
		t.Fatalf("GetPipeline: %v", err)
	}
	_, err := client("wrong").ListPipelines(ctx, &codepipeline.ListPipelinesInput{})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != sigv4.CodeInvalidSignature {
		t.Fatalf("wrong secret: %v", err)
	}
}

// havePython reports whether python3 with boto3 is installed.
func havePython(t *testing.T) bool {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		return false
	}
	return exec.Command("python3", "-c", "import boto3, botocore").Run() == nil
}

// clientEnv is the environment for the aws CLI and boto3: static test keys
// and no user configuration.
func clientEnv(url string) []string {
	env := []string{"PW_URL=" + url, "AWS_ACCESS_KEY_ID=" + testAKID, "AWS_SECRET_ACCESS_KEY=" + testSecret,
		"AWS_DEFAULT_REGION=" + testRegion, "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_MAX_ATTEMPTS=1"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return env
}

const botoScript = `
import json, os, http.client, urllib.parse
import boto3, botocore
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

url = os.environ['PW_URL']
out = {}
cfg = Config(retries={'max_attempts': 1})

def call(name, fn):
    try:
        fn()
        out[name] = 'ok'
    except botocore.exceptions.ClientError as e:
        out[name] = e.response['Error']['Code']

call('codepipeline', lambda: boto3.client('codepipeline', endpoint_url=url, config=cfg).list_pipelines())
call('codebuild', lambda: boto3.client('codebuild', endpoint_url=url, config=cfg).list_projects())
call('codedeploy', lambda: boto3.client('codedeploy', endpoint_url=url, config=cfg).list_applications())
call('wrong-secret', lambda: boto3.client('codepipeline', endpoint_url=url, config=cfg,
    aws_access_key_id=os.environ['AWS_ACCESS_KEY_ID'], aws_secret_access_key='wrong').list_pipelines())
call('unknown-key', lambda: boto3.client('codepipeline', endpoint_url=url, config=cfg,
    aws_access_key_id='AKIDNOBODY', aws_secret_access_key='x').list_pipelines())

def raw(name, headers, query=''):
    req = AWSRequest(method='POST', url=url + '/' + query, data=b'{}', headers=headers)
    creds = Credentials(os.environ['AWS_ACCESS_KEY_ID'], os.environ['AWS_SECRET_ACCESS_KEY'])
    SigV4Auth(creds, 'codepipeline', os.environ['AWS_DEFAULT_REGION']).add_auth(req)
    p = req.prepare()
    u = urllib.parse.urlsplit(p.url)
    c = http.client.HTTPConnection(u.netloc)
    c.request(p.method, u.path + ('?' + u.query if u.query else ''), body=p.body, headers=dict(p.headers))
    resp = c.getresponse()
    body = resp.read()
    out[name] = 'ok' if resp.status == 200 else json.loads(body)['__type']

target = {'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'CodePipeline_20150709.ListPipelines'}
raw('date-header', dict(target, Date='now'))
raw('spaced-header', dict(target, **{'X-Custom': '  a   b  '}))
raw('query', target, '?b=2&a=1&a=0&sp=x%20y')

paths = ['/', '//example//', '/a/./b/../c', '/example%20space/', '/%E1%88%B4', '/a:b@c']
out['normalized'] = [SigV4Auth(None, 's', 'r')._normalize_url_path(p) for p in paths]
print(json.dumps(out))
`

// TestBoto3 runs boto3 and botocore (python3) against a verifying server,
// and compares botocore's path canonicalization with ours. Skipped when
// python3 with boto3 is not installed.
func TestBoto3(t *testing.T) {
	t.Parallel()
	if !havePython(t) {
		t.Skip("python3 with boto3 not installed")
	}
	srv := verifyingServer(t, newVerifierNow())
	cmd := exec.Command("python3", "-c", botoScript)
	cmd.Env = clientEnv(srv.URL)
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("python3: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for name, want := range map[string]string{
		"codepipeline": "ok", "codebuild": "ok", "codedeploy": "ok",
		"date-header": "ok", "spaced-header": "ok", "query": "ok",
		"wrong-secret": sigv4.CodeInvalidSignature, "unknown-key": sigv4.CodeUnrecognizedClient,
	} {
		if got[name] != want {
			t.Errorf("%s: %v, want %s", name, got[name], want)
		}
	}
	want := []any{"/", "/example/", "/a/c", "/example%2520space/", "/%25E1%2588%25B4", "/a%3Ab%40c"}
	if g, _ := got["normalized"].([]any); !slices.Equal(g, want) {
		t.Errorf("botocore normalizes paths to %v, we expect %v", g, want)
	}
}

// TestAWSCLI runs the aws command line against a verifying server; skipped
// when no aws CLI is installed.
func TestAWSCLI(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("aws CLI not installed")
	}
	srv := verifyingServer(t, newVerifierNow())
	run := func(env []string, args ...string) (string, error) {
		cmd := exec.Command("aws", append(args, "--endpoint-url", srv.URL, "--output", "json")...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run(clientEnv(srv.URL), "codepipeline", "list-pipelines"); err != nil {
		t.Fatalf("aws codepipeline list-pipelines: %v\n%s", err, out)
	}
	if out, err := run(clientEnv(srv.URL), "codebuild", "list-projects"); err != nil {
		t.Fatalf("aws codebuild list-projects: %v\n%s", err, out)
	}
	env := append(clientEnv(srv.URL), "AWS_SECRET_ACCESS_KEY=wrong")
	out, err := run(env, "codepipeline", "list-pipelines")
	if err == nil || !strings.Contains(out, sigv4.CodeInvalidSignature) {
		t.Fatalf("wrong secret: %v\n%s", err, out)
	}
}

// newVerifierNow is newVerifier on the real clock, for live clients.
func newVerifierNow() *sigv4.Verifier {
	v := newVerifier(time.Time{})
	v.Now = nil
	return v
}

// TestVerifyDateHeader signs with a Date header and no X-Amz-Date, in each
// form a client may write it.
func TestVerifyDateHeader(t *testing.T) {
	t.Parallel()
	for _, date := range []string{
		"Wed, 21 Jan 2026 11:00:00 GMT",   // RFC 1123, net/http
		"Wed, 21 Jan 2026 11:00:00 -0000", // botocore's formatdate
		"Wednesday, 21-Jan-26 11:00:00 GMT",
		"20260121T110000Z",
	} {
		r := httptest.NewRequest(http.MethodPost, "http://localhost:8080/", strings.NewReader(testBody))
		r.Header.Set("Content-Type", "application/x-amz-json-1.1")
		r.Header.Set("Date", date)
		r.Header.Set("Authorization", botocoreAuthorization(r, []byte(testBody), testSecret, testRegion, "codepipeline", signTime))
		id, err := newVerifier(signTime).Verify(r, []byte(testBody), "codepipeline")
		if err != nil {
			t.Errorf("Date %q: %v", date, err)
			continue
		}
		if !id.SignedAt.Equal(signTime) {
			t.Errorf("Date %q: signed at %v", date, id.SignedAt)
		}
	}
	r := jsonRequest(testBody)
	r.Header.Set("Date", "yesterday")
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDPIPEWRIGHT/20260121/us-east-1/codepipeline/aws4_request, SignedHeaders=date;host, Signature=00")
	_, err := newVerifier(signTime).Verify(r, []byte(testBody), "codepipeline")
	if e := authError(t, err); e.Code != sigv4.CodeIncompleteSignature ||
		e.Message != "Date must be in ISO-8601 'basic format'. Got 'yesterday'. See http://en.wikipedia.org/wiki/ISO_8601" {
		t.Errorf("malformed Date: %v", err)
	}
}
