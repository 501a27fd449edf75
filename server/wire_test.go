package server_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	cp "github.com/aws/aws-sdk-go-v2/service/codepipeline"
)

// Raw awsJson1_1 requests, for what the SDK cannot send (missing required
// members, broken JSON, unknown targets, bad signatures) and for looking at
// the bytes on the wire.

const wireTargetPrefix = "CodePipeline_20150709."

// wireAnswer is an HTTP answer as received.
type wireAnswer struct {
	Status int
	Header http.Header
	Body   []byte
}

// wireSigning says how wireSign signs a request.
type wireSigning struct {
	Key, Secret, Region, Service string
	At                           time.Time // zero = now
}

func defaultSigning() wireSigning {
	return wireSigning{Key: testKey, Secret: testSecret, Region: "us-east-1", Service: "codepipeline"}
}

// wireRequest builds an unsigned POST / with the protocol's headers; target
// "" sends no X-Amz-Target.
func (ts *testServer) wireRequest(t *testing.T, target, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ts.url+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	return req
}

// wireSign signs req (whose body is body) with the aws-sdk-go-v2 SigV4 signer.
func wireSign(t *testing.T, req *http.Request, body string, s wireSigning) {
	t.Helper()
	at := s.At
	if at.IsZero() {
		at = time.Now()
	}
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: s.Key, SecretAccessKey: s.Secret}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), s.Service, s.Region, at); err != nil {
		t.Fatal(err)
	}
}

var wireHTTP = &http.Client{Timeout: 20 * time.Second}

// wireDo sends req and reads the whole answer.
func wireDo(t *testing.T, req *http.Request) wireAnswer {
	t.Helper()
	resp, err := wireHTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return wireAnswer{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// wireCall sends a correctly signed request for operation op.
func (ts *testServer) wireCall(t *testing.T, op, body string) wireAnswer {
	t.Helper()
	return ts.wireTarget(t, wireTargetPrefix+op, body)
}

// wireTarget sends a correctly signed request with the given X-Amz-Target.
func (ts *testServer) wireTarget(t *testing.T, target, body string) wireAnswer {
	t.Helper()
	req := ts.wireRequest(t, target, body)
	wireSign(t, req, body, defaultSigning())
	return wireDo(t, req)
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// requestID checks and returns the answer's x-amzn-RequestId.
func (a wireAnswer) requestID(t *testing.T) string {
	t.Helper()
	id := a.Header.Get("x-amzn-RequestId")
	if !uuidRE.MatchString(id) {
		t.Errorf("x-amzn-RequestId = %q, want a UUID (headers %v)", id, a.Header)
	}
	return id
}

// mustError checks that the answer is the awsJson1_1 error typ with HTTP
// status and returns its message.
func (a wireAnswer) mustError(t *testing.T, status int, typ string) string {
	t.Helper()
	a.requestID(t)
	var body struct {
		Type    *string `json:"__type"`
		Message *string `json:"message"`
	}
	if err := json.Unmarshal(a.Body, &body); err != nil {
		t.Fatalf("error body is not JSON: %v: %s", err, a.Body)
	}
	if a.Status != status || aws.ToString(body.Type) != typ {
		t.Fatalf("got HTTP %d %s, want HTTP %d %s; body %s", a.Status, aws.ToString(body.Type), status, typ, a.Body)
	}
	if got := a.Header.Get("X-Amzn-ErrorType"); got != typ {
		t.Errorf("X-Amzn-ErrorType = %q, want %q", got, typ)
	}
	if ct := a.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		t.Errorf("error Content-Type = %q, want application/x-amz-json-1.1", ct)
	}
	if body.Message == nil {
		t.Errorf("error body has no message: %s", a.Body)
	}
	return aws.ToString(body.Message)
}

// mustOK checks a success answer and returns its body decoded with numbers
// kept as json.Number.
func (a wireAnswer) mustOK(t *testing.T) map[string]any {
	t.Helper()
	a.requestID(t)
	if a.Status != http.StatusOK {
		t.Fatalf("HTTP %d, want 200: %s", a.Status, a.Body)
	}
	if ct := a.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		t.Errorf("Content-Type = %q, want application/x-amz-json-1.1", ct)
	}
	dec := json.NewDecoder(bytes.NewReader(a.Body))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil || doc == nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, a.Body)
	}
	return doc
}

func TestWireMalformedBodies(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	cases := []struct {
		name, op, body, phrase string
	}{
		{"truncated JSON", "ListPipelines", `{"maxResults":`, ""},
		{"not JSON", "ListPipelines", `maxResults=5`, ""},
		{"trailing garbage", "ListPipelines", `{} {}`, ""},
		{"top-level array", "ListPipelines", `[]`, ""},
		{"top-level null", "GetPipeline", `null`, ""},
		{"string for integer", "ListPipelines", `{"maxResults":"ten"}`, "maxResults"},
		{"number for string", "GetPipeline", `{"name":5}`, "name"},
		{"object for list", "CreatePipeline", `{"pipeline":{"name":"p","stages":{}}}`, "stages"},
		{"string for structure", "CreatePipeline", `{"pipeline":"p"}`, "pipeline"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := ts.wireCall(t, c.op, c.body).mustError(t, http.StatusBadRequest, "SerializationException")
			if !strings.Contains(msg, c.phrase) {
				t.Errorf("message %q does not mention %q", msg, c.phrase)
			}
		})
	}
}

func TestWireUnknownOperations(t *testing.T) {
	t.Parallel()
	ts := startServer(t)

	t.Run("unknown operation", func(t *testing.T) {
		ts.wireCall(t, "NoSuchOperation", `{}`).mustError(t, http.StatusBadRequest, "UnknownOperationException")
	})
	t.Run("modelled but not implemented", func(t *testing.T) {
		msg := ts.wireCall(t, "ListWebhooks", `{}`).mustError(t, http.StatusBadRequest, "UnknownOperationException")
		if !strings.Contains(msg, "ListWebhooks") {
			t.Errorf("message %q does not name ListWebhooks", msg)
		}
	})
	t.Run("operation name is case sensitive", func(t *testing.T) {
		ts.wireCall(t, "listpipelines", `{}`).mustError(t, http.StatusBadRequest, "UnknownOperationException")
	})
	t.Run("no operation after prefix", func(t *testing.T) {
		ts.wireTarget(t, "CodePipeline_20150709", `{}`).mustError(t, http.StatusBadRequest, "UnknownOperationException")
	})
	t.Run("unknown service prefix", func(t *testing.T) {
		ts.wireTarget(t, "CodeCommit_20150413.ListRepositories", `{}`).mustError(t, http.StatusBadRequest, "UnknownOperationException")
		ts.wireTarget(t, "Nope.ListPipelines", `{}`).mustError(t, http.StatusBadRequest, "UnknownOperationException")
	})
	t.Run("no X-Amz-Target", func(t *testing.T) {
		ts.wireTarget(t, "", `{}`).mustError(t, http.StatusBadRequest, "UnknownOperationException")
	})
}

func TestWireRequestIDsAndContentType(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	if _, err := ts.client.CreatePipeline(ctx, &cp.CreatePipelineInput{Pipeline: crudDecl("ids")}); err != nil {
		t.Fatal(err)
	}
	answers := []wireAnswer{
		ts.wireCall(t, "ListPipelines", `{}`),
		ts.wireCall(t, "ListPipelines", ``), // an empty body counts as {}
		ts.wireCall(t, "GetPipeline", `{"name":"ids"}`),
		ts.wireCall(t, "GetPipeline", `{"name":"missing"}`),
		ts.wireCall(t, "ListWebhooks", `{}`),
		ts.wireCall(t, "ListPipelines", `{`),
	}
	seen := map[string]bool{}
	for i, a := range answers {
		id := a.requestID(t)
		if seen[id] {
			t.Errorf("answer %d reuses request id %s", i, id)
		}
		seen[id] = true
	}
	answers[0].mustOK(t)
	answers[1].mustOK(t)
	answers[2].mustOK(t)
	answers[3].mustError(t, http.StatusBadRequest, "PipelineNotFoundException")

	// A Unit output is the empty object.
	del := ts.wireCall(t, "DeletePipeline", `{"name":"ids"}`)
	if doc := del.mustOK(t); len(doc) != 0 {
		t.Errorf("DeletePipeline answered %s, want {}", del.Body)
	}
}

func TestWireTimestampsAreEpochSeconds(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	before := time.Now()
	if _, err := ts.client.CreatePipeline(ctx, &cp.CreatePipelineInput{Pipeline: crudDecl("stamps")}); err != nil {
		t.Fatal(err)
	}
	after := time.Now()

	checkStamp := func(t *testing.T, what string, v any) {
		t.Helper()
		n, ok := v.(json.Number)
		if !ok {
			t.Fatalf("%s = %#v (%T), want a JSON number", what, v, v)
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			t.Fatalf("%s = %s: %v", what, n, err)
		}
		if frac := strings.SplitN(string(n), ".", 2); len(frac) == 2 && len(frac[1]) > 3 {
			t.Errorf("%s = %s has more than millisecond precision", what, n)
		}
		got := time.UnixMilli(int64(f * 1000))
		if got.Before(before.Add(-2*time.Second)) || got.After(after.Add(2*time.Second)) {
			t.Errorf("%s = %s (%v), want between %v and %v", what, n, got, before, after)
		}
	}

	doc := ts.wireCall(t, "GetPipeline", `{"name":"stamps"}`).mustOK(t)
	meta, ok := doc["metadata"].(map[string]any)
	if !ok {
		t.Fatalf("no metadata object in %v", doc)
	}
	if got := meta["pipelineArn"]; got != "arn:aws:codepipeline:us-east-1:000000000000:stamps" {
		t.Errorf("pipelineArn = %v", got)
	}
	checkStamp(t, "metadata.created", meta["created"])
	checkStamp(t, "metadata.updated", meta["updated"])
	if pl, ok := doc["pipeline"].(map[string]any); !ok || pl["version"] != json.Number("1") {
		t.Errorf("pipeline.version = %v, want the number 1", doc["pipeline"])
	}

	list := ts.wireCall(t, "ListPipelines", `{}`).mustOK(t)
	ps, ok := list["pipelines"].([]any)
	if !ok || len(ps) != 1 {
		t.Fatalf("pipelines = %v", list["pipelines"])
	}
	p := ps[0].(map[string]any)
	checkStamp(t, "pipelines[0].created", p["created"])
	checkStamp(t, "pipelines[0].updated", p["updated"])

	// And the SDK, which only accepts numbers, reads the same instants.
	out, err := ts.client.GetPipeline(ctx, &cp.GetPipelineInput{Name: aws.String("stamps")})
	if err != nil {
		t.Fatal(err)
	}
	if c := aws.ToTime(out.Metadata.Created); c.Before(before.Add(-2*time.Second)) || c.After(after.Add(2*time.Second)) {
		t.Errorf("SDK created = %v", c)
	}
}
