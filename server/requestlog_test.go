package server_test

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	cp "github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/pipewright/pipewright/server"
)

// logFile is a JSON log the server writes to a file; the test reads it
// while the server's goroutines write.
type logFile struct{ path string }

func (l logFile) String() string {
	b, _ := os.ReadFile(l.path)
	return string(b)
}

// requests returns the "request" lines logged so far, by request id (the
// health check's, which have none, under "").
func (l logFile) requests(t *testing.T) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(l.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		if rec["msg"] == "request" {
			id, _ := rec["requestId"].(string)
			out[id] = rec
		}
	}
	return out
}

// withJSONLog makes the server log at debug level, as JSON, to a new file.
func withJSONLog(t *testing.T) (option, logFile) {
	l := logFile{path: filepath.Join(t.TempDir(), "log.json")}
	f, err := os.Create(l.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return func(c *server.Config) {
		c.Log = slog.New(slog.NewJSONHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}, l
}

// TestRequestLog drives the server with the SDK and raw requests and checks
// the line each request leaves: operation, status, latency, request id,
// the verified access key id, the AWS error code, and never the secret,
// the signature or the body.
func TestRequestLog(t *testing.T) {
	t.Parallel()
	logOpt, sink := withJSONLog(t)
	ts := startServer(t, logOpt)

	list, err := ts.client.ListPipelines(ctx, &cp.ListPipelinesInput{})
	if err != nil {
		t.Fatal(err)
	}
	okID, _ := awsmiddleware.GetRequestIDMetadata(list.ResultMetadata)
	_, err = ts.client.GetPipeline(ctx, &cp.GetPipelineInput{Name: aws.String("BODY-MARKER-pipeline")})
	var nf *types.PipelineNotFoundException
	var re *awshttp.ResponseError
	if !errors.As(err, &nf) || !errors.As(err, &re) {
		t.Fatalf("GetPipeline of a missing pipeline: %v", err)
	}
	errID := re.ServiceRequestID()
	unknownID := ts.wireCall(t, "NoSuchOperation", `{}`).requestID(t)
	unsignedID := wireDo(t, ts.wireRequest(t, "CodePipeline_20150709.ListPipelines", `{}`)).requestID(t)
	bad := defaultSigning()
	bad.Secret = "not-the-secret"
	req := ts.wireRequest(t, "CodePipeline_20150709.ListPipelines", `{}`)
	wireSign(t, req, `{}`, bad)
	badSigID := wireDo(t, req).requestID(t)
	health, _ := http.NewRequest(http.MethodGet, ts.url+server.HealthPath, nil)
	wireDo(t, health)

	lines := sink.requests(t)
	want := map[string]map[string]any{
		okID:       {"level": "INFO", "op": "CodePipeline_20150709.ListPipelines", "status": 200.0, "accessKeyId": testKey, "error": nil},
		errID:      {"level": "INFO", "op": "CodePipeline_20150709.GetPipeline", "status": 400.0, "accessKeyId": testKey, "error": "PipelineNotFoundException"},
		unknownID:  {"level": "INFO", "op": "CodePipeline_20150709.NoSuchOperation", "status": 400.0, "accessKeyId": testKey, "error": "UnknownOperationException"},
		unsignedID: {"level": "INFO", "op": "CodePipeline_20150709.ListPipelines", "status": 400.0, "accessKeyId": nil, "error": "MissingAuthenticationTokenException"},
		badSigID:   {"level": "INFO", "op": "CodePipeline_20150709.ListPipelines", "status": 400.0, "accessKeyId": nil, "error": "InvalidSignatureException"},
		"":         {"level": "DEBUG", "op": "health", "status": 200.0, "method": "GET", "path": server.HealthPath},
	}
	for id, fields := range want {
		line := lines[id]
		if line == nil {
			t.Errorf("no request line for %q; lines %v", id, lines)
			continue
		}
		for k, v := range fields {
			if got, ok := line[k]; v == nil && ok || v != nil && got != v {
				t.Errorf("request %q: %s = %v, want %v (line %v)", id, k, got, v, line)
			}
		}
		if _, ok := line["latencyMs"].(float64); id != "" && !ok {
			t.Errorf("request %q has no latencyMs: %v", id, line)
		}
	}
	logged := sink.String()
	for _, never := range []string{testSecret, "not-the-secret", "Signature=", "AWS4-HMAC-SHA256", "BODY-MARKER"} {
		if strings.Contains(logged, never) {
			t.Errorf("the log holds %q:\n%s", never, logged)
		}
	}
}
