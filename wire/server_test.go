package wire_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/smithy-go"
	"github.com/google/uuid"

	"github.com/pipewright/pipewright/wire"
)

const (
	cpPrefix  = "CodePipeline_20150709"
	cpSigning = "codepipeline"
	jsonType  = "application/x-amz-json-1.1"
)

// syncBuffer is a log sink safe for concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fakeAuth is an Authenticator that answers with caller and err and records
// what it was called with.
type fakeAuth struct {
	caller wire.Caller
	err    error
	panic  bool

	mu      sync.Mutex
	signing []string
	bodies  []string
}

func (a *fakeAuth) Authenticate(r *http.Request, body []byte, signingName string) (wire.Caller, error) {
	a.mu.Lock()
	a.signing = append(a.signing, signingName)
	a.bodies = append(a.bodies, string(body))
	a.mu.Unlock()
	if a.panic {
		panic("authenticator exploded with SECRET-AUTH")
	}
	return a.caller, a.err
}

func (a *fakeAuth) calls() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.signing...)
}

// bundle is a Server over one CodePipeline-like service whose ops record
// what they received.
type bundle struct {
	srv  *wire.Server
	log  *syncBuffer
	mu   sync.Mutex
	runs []string // op names, in call order
	body []byte   // last body an op saw
	who  wire.Caller
}

func (b *bundle) record(name string, ctx context.Context, body []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.runs = append(b.runs, name)
	b.body = append([]byte(nil), body...)
	b.who = wire.CallerFrom(ctx)
}

func (b *bundle) ran() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.runs...)
}

type echoInput struct {
	Name  *string `json:"name"`
	Count *int32  `json:"count"`
}

type chanOutput struct {
	C chan int `json:"c"`
}

// testOps are the operations of the test service, keyed by name.
func (b *bundle) testOps() map[string]wire.Op {
	op := func(name string, f func(ctx context.Context, body []byte) (any, error)) wire.Op {
		return func(ctx context.Context, body []byte) (any, error) {
			b.record(name, ctx, body)
			return f(ctx, body)
		}
	}
	return map[string]wire.Op{
		"Echo": op("Echo", func(_ context.Context, body []byte) (any, error) {
			var in echoInput
			if err := wire.DecodeJSON(body, &in); err != nil {
				return nil, err
			}
			return map[string]any{"name": in.Name, "count": in.Count}, nil
		}),
		"Whoami": op("Whoami", func(ctx context.Context, _ []byte) (any, error) {
			return map[string]string{"accessKeyId": wire.CallerFrom(ctx).AccessKeyID}, nil
		}),
		"Nil":      op("Nil", func(context.Context, []byte) (any, error) { return nil, nil }),
		"TypedNil": op("TypedNil", func(context.Context, []byte) (any, error) { return (*echoInput)(nil), nil }),
		"NilMap":   op("NilMap", func(context.Context, []byte) (any, error) { return map[string]int(nil), nil }),
		"Slice":    op("Slice", func(context.Context, []byte) (any, error) { return []string{"a"}, nil }),
		"Unencodable": op("Unencodable", func(context.Context, []byte) (any, error) {
			return chanOutput{C: make(chan int)}, nil
		}),
		"Panic": op("Panic", func(context.Context, []byte) (any, error) {
			panic("op exploded with SECRET-PANIC")
		}),
		"Internal": op("Internal", func(context.Context, []byte) (any, error) {
			return nil, errors.New("database password SECRET-INTERNAL rejected")
		}),
		"Conflict": op("Conflict", func(context.Context, []byte) (any, error) {
			return nil, &wire.Error{Code: "ConflictException", Message: "Pipeline is busy", Status: http.StatusConflict}
		}),
		"NotFound": op("NotFound", func(context.Context, []byte) (any, error) {
			return nil, wire.Errorf("PipelineNotFoundException", "Account '%s' does not have a pipeline with name '%s'", "000000000000", "x")
		}),
		"Wrapped": op("Wrapped", func(context.Context, []byte) (any, error) {
			return nil, fmt.Errorf("store: %w", wire.NewError("PipelineNameInUseException", "name taken"))
		}),
		"StatusZero": op("StatusZero", func(context.Context, []byte) (any, error) {
			return nil, &wire.Error{Code: "ThrottlingException", Message: "slow down"}
		}),
		"Status200": op("Status200", func(context.Context, []byte) (any, error) {
			return nil, &wire.Error{Code: "ValidationException", Message: "SECRET-200", Status: http.StatusOK}
		}),
		"Status302": op("Status302", func(context.Context, []byte) (any, error) {
			return nil, &wire.Error{Code: "ValidationException", Message: "SECRET-302", Status: http.StatusFound}
		}),
		"NoCode": op("NoCode", func(context.Context, []byte) (any, error) {
			return nil, &wire.Error{Message: "SECRET-NOCODE", Status: http.StatusBadRequest}
		}),
		"NilWireError": op("NilWireError", func(context.Context, []byte) (any, error) {
			var e *wire.Error
			return nil, e
		}),
	}
}

func setup(t *testing.T, auth wire.Authenticator) *bundle {
	t.Helper()
	b := &bundle{log: &syncBuffer{}}
	log := slog.New(slog.NewJSONHandler(b.log, nil))
	svc := &wire.Service{
		TargetPrefix: cpPrefix, SigningName: cpSigning, Ops: b.testOps(),
		Known: []string{"Echo", "GetPipeline", "DeletePipeline"},
	}
	other := &wire.Service{
		TargetPrefix: "CodeBuild_20161006", SigningName: "codebuild",
		Ops: map[string]wire.Op{"BatchGetBuilds": func(ctx context.Context, body []byte) (any, error) {
			b.record("BatchGetBuilds", ctx, body)
			return map[string]any{"builds": []any{}}, nil
		}},
	}
	b.srv = wire.NewServer(auth, log, svc, other)
	return b
}

type call struct {
	method      string
	target      string
	contentType string // "-" for none
	body        string
}

func (b *bundle) do(c call) *httptest.ResponseRecorder {
	if c.method == "" {
		c.method = http.MethodPost
	}
	r := httptest.NewRequest(c.method, "/", strings.NewReader(c.body))
	switch c.contentType {
	case "":
		r.Header.Set("Content-Type", jsonType)
	case "-":
	default:
		r.Header.Set("Content-Type", c.contentType)
	}
	if c.target != "" {
		r.Header.Set("X-Amz-Target", c.target)
	}
	w := httptest.NewRecorder()
	b.srv.ServeHTTP(w, r)
	return w
}

// requestID asserts that the answer carries a UUID request id and returns it.
func requestID(t *testing.T, h http.Header) string {
	t.Helper()
	id := h.Get("X-Amzn-Requestid")
	if _, err := uuid.Parse(id); err != nil {
		t.Fatalf("x-amzn-RequestId = %q, want a UUID (headers %v)", id, h)
	}
	return id
}

// wantSuccess asserts a 200 answer with exactly the JSON body want.
func wantSuccess(t *testing.T, w *httptest.ResponseRecorder, want string) {
	t.Helper()
	requestID(t, w.Header())
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != jsonType {
		t.Errorf("Content-Type = %q, want %q", ct, jsonType)
	}
	if et := w.Header().Values("X-Amzn-Errortype"); len(et) != 0 {
		t.Errorf("success carries X-Amzn-ErrorType %q", et)
	}
	if got := w.Body.String(); got != want {
		t.Errorf("body = %s, want %s", got, want)
	}
}

// wantError asserts an AWS-shaped error answer and returns its message.
// The body must be exactly {"__type": code, "message": ...}.
func wantError(t *testing.T, w *httptest.ResponseRecorder, status int, code string) string {
	t.Helper()
	requestID(t, w.Header())
	if w.Code != status {
		t.Errorf("status = %d, want %d; body %s", w.Code, status, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != jsonType {
		t.Errorf("Content-Type = %q, want %q", ct, jsonType)
	}
	if et := w.Header().Values("X-Amzn-Errortype"); len(et) != 1 || et[0] != code {
		t.Errorf("X-Amzn-ErrorType = %q, want %q", et, code)
	}
	var body map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("error body %q is not JSON: %v", w.Body, err)
	}
	msg, ok := body["message"].(string)
	if len(body) != 2 || body["__type"] != code || !ok {
		t.Errorf("error body = %s, want exactly {\"__type\":%q,\"message\":<string>}", w.Body, code)
	}
	return msg
}

func TestSuccess(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		c    call
		want string
	}{
		{"echo", call{target: cpPrefix + ".Echo", body: `{"name":"x","count":3,"unknown":{"deep":[1]}}`}, `{"count":3,"name":"x"}`},
		{"empty body is {}", call{target: cpPrefix + ".Echo"}, `{"count":null,"name":null}`},
		{"whitespace body is {}", call{target: cpPrefix + ".Echo", body: " \r\n\t"}, `{"count":null,"name":null}`},
		{"nil output", call{target: cpPrefix + ".Nil", body: `{}`}, `{}`},
		{"typed nil output", call{target: cpPrefix + ".TypedNil", body: `{}`}, `{}`},
		{"nil map output", call{target: cpPrefix + ".NilMap", body: `{}`}, `{}`},
		{"second service", call{target: "CodeBuild_20161006.BatchGetBuilds", body: `{"ids":["p:1"]}`}, `{"builds":[]}`},
		{"content type with parameters", call{target: cpPrefix + ".Nil", contentType: "application/x-amz-json-1.1; charset=utf-8"}, `{}`},
		{"content type case-insensitive", call{target: cpPrefix + ".Nil", contentType: "Application/X-Amz-JSON-1.1"}, `{}`},
		{"content type json 1.0", call{target: cpPrefix + ".Nil", contentType: "application/x-amz-json-1.0"}, `{}`},
		{"content type application/json", call{target: cpPrefix + ".Nil", contentType: "application/json"}, `{}`},
		{"no content type", call{target: cpPrefix + ".Nil", contentType: "-"}, `{}`},
		{"broken content type parameter", call{target: cpPrefix + ".Nil", contentType: "application/x-amz-json-1.1; charset"}, `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			wantSuccess(t, b.do(tt.c), tt.want)
			if len(b.ran()) != 1 {
				t.Errorf("ops run = %v, want one", b.ran())
			}
		})
	}
}

func TestEmptyBodyReachesOpAsEmpty(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	wantSuccess(t, b.do(call{target: cpPrefix + ".Nil"}), `{}`)
	if len(b.body) != 0 {
		t.Errorf("op saw body %q, want empty", b.body)
	}
}

func TestRequestIDsAreFresh(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	seen := map[string]bool{}
	for range 20 {
		id := requestID(t, b.do(call{target: cpPrefix + ".Nil"}).Header())
		if seen[id] {
			t.Fatalf("request id %s repeated", id)
		}
		seen[id] = true
	}
}

func TestProtocolErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		c      call
		status int
		code   string
		msg    string // exact message; "*" skips the check
	}{
		{"GET", call{method: http.MethodGet, target: cpPrefix + ".Echo"}, 405, wire.CodeUnknownOperation, "Only POST requests are supported"},
		{"PUT", call{method: http.MethodPut, target: cpPrefix + ".Echo", body: `{}`}, 405, wire.CodeUnknownOperation, "Only POST requests are supported"},
		{"DELETE", call{method: http.MethodDelete}, 405, wire.CodeUnknownOperation, "Only POST requests are supported"},
		{"form content type", call{target: cpPrefix + ".Echo", contentType: "application/x-www-form-urlencoded", body: `{}`}, 415, wire.CodeUnsupportedMedia, "Content-Type must be application/x-amz-json-1.1"},
		{"text content type", call{target: cpPrefix + ".Echo", contentType: "text/plain", body: `{}`}, 415, wire.CodeUnsupportedMedia, "*"},
		{"garbage content type", call{target: cpPrefix + ".Echo", contentType: "??", body: `{}`}, 415, wire.CodeUnsupportedMedia, "*"},
		{"no target", call{body: `{}`}, 400, wire.CodeUnknownOperation, ""},
		{"unknown prefix", call{target: "DynamoDB_20120810.GetItem", body: `{}`}, 400, wire.CodeUnknownOperation, ""},
		{"prefix only", call{target: cpPrefix, body: `{}`}, 400, wire.CodeUnknownOperation, ""},
		{"prefix and dot", call{target: cpPrefix + ".", body: `{}`}, 400, wire.CodeUnknownOperation, ""},
		{"unknown op", call{target: cpPrefix + ".NoSuchOp", body: `{}`}, 400, wire.CodeUnknownOperation, ""},
		{"op of the other service", call{target: cpPrefix + ".BatchGetBuilds", body: `{}`}, 400, wire.CodeUnknownOperation, ""},
		{"op name is case-sensitive", call{target: cpPrefix + ".echo", body: `{}`}, 400, wire.CodeUnknownOperation, ""},
		{"known but not implemented", call{target: cpPrefix + ".DeletePipeline", body: `{"name":"x"}`}, 400, wire.CodeUnknownOperation, "pipewright does not implement CodePipeline_20150709.DeletePipeline yet"},
		{"bad JSON", call{target: cpPrefix + ".Echo", body: `{"name":`}, 400, wire.CodeSerialization, "*"},
		{"array body", call{target: cpPrefix + ".Echo", body: `[]`}, 400, wire.CodeSerialization, "The request body must be a JSON object"},
		{"null body", call{target: cpPrefix + ".Echo", body: `null`}, 400, wire.CodeSerialization, "The request body must be a JSON object"},
		{"wrong member type", call{target: cpPrefix + ".Echo", body: `{"name":1}`}, 400, wire.CodeSerialization, "Unexpected value type for member 'name': expected string, got number"},
		{"modelled error", call{target: cpPrefix + ".NotFound"}, 400, "PipelineNotFoundException", "Account '000000000000' does not have a pipeline with name 'x'"},
		{"409", call{target: cpPrefix + ".Conflict"}, 409, "ConflictException", "Pipeline is busy"},
		{"wrapped wire error", call{target: cpPrefix + ".Wrapped"}, 400, "PipelineNameInUseException", "name taken"},
		{"status zero means 400", call{target: cpPrefix + ".StatusZero"}, 400, "ThrottlingException", "slow down"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			w := b.do(tt.c)
			msg := wantError(t, w, tt.status, tt.code)
			if tt.msg != "*" && msg != tt.msg {
				t.Errorf("message = %q, want %q", msg, tt.msg)
			}
			if tt.status == http.StatusMethodNotAllowed {
				if got := w.Header().Get("Allow"); got != http.MethodPost {
					t.Errorf("Allow = %q, want POST", got)
				}
			}
			if tt.status == 405 || tt.status == 415 || tt.code == wire.CodeUnknownOperation {
				if ran := b.ran(); len(ran) != 0 {
					t.Errorf("ops ran: %v", ran)
				}
			}
		})
	}
}

// TestInternalFailures checks that what is not a well-formed *wire.Error is
// answered 500 InternalFailure with the request id, logged, never echoed.
func TestInternalFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		op     string
		secret string // must be logged and not answered; "" skips
	}{
		{"Panic", "SECRET-PANIC"},
		{"Internal", "SECRET-INTERNAL"},
		{"Status200", "SECRET-200"},
		{"Status302", "SECRET-302"},
		{"NoCode", "SECRET-NOCODE"},
		{"NilWireError", ""},
		{"Slice", ""},
		{"Unencodable", ""},
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			w := b.do(call{target: cpPrefix + "." + tt.op, body: `{}`})
			msg := wantError(t, w, http.StatusInternalServerError, wire.CodeInternalFailure)
			id := requestID(t, w.Header())
			if want := "An internal error occurred. Request id " + id; msg != want {
				t.Errorf("message = %q, want %q", msg, want)
			}
			logged := b.log.String()
			if !strings.Contains(logged, id) {
				t.Errorf("log lacks request id %s: %s", id, logged)
			}
			if tt.secret != "" {
				if strings.Contains(w.Body.String(), tt.secret) {
					t.Errorf("answer echoes %q: %s", tt.secret, w.Body)
				}
				if !strings.Contains(logged, tt.secret) {
					t.Errorf("log lacks %q: %s", tt.secret, logged)
				}
			}
		})
	}
}

func TestNilLoggerInternalFailure(t *testing.T) {
	t.Parallel()
	srv := wire.NewServer(nil, nil, &wire.Service{TargetPrefix: cpPrefix, Ops: map[string]wire.Op{
		"Boom": func(context.Context, []byte) (any, error) { panic("boom") },
	}})
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}"))
	r.Header.Set("X-Amz-Target", cpPrefix+".Boom")
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, r)
	wantError(t, w, http.StatusInternalServerError, wire.CodeInternalFailure)
}

func TestAuthenticator(t *testing.T) {
	t.Parallel()

	t.Run("caller reaches op", func(t *testing.T) {
		t.Parallel()
		auth := &fakeAuth{caller: wire.Caller{AccessKeyID: "AKIDEXAMPLE"}}
		b := setup(t, auth)
		wantSuccess(t, b.do(call{target: cpPrefix + ".Whoami", body: `{"x":1}`}), `{"accessKeyId":"AKIDEXAMPLE"}`)
		if b.who.AccessKeyID != "AKIDEXAMPLE" {
			t.Errorf("CallerFrom in op = %+v", b.who)
		}
		if got := auth.calls(); len(got) != 1 || got[0] != cpSigning {
			t.Errorf("signing names = %q, want [codepipeline]", got)
		}
		if auth.bodies[0] != `{"x":1}` || string(b.body) != `{"x":1}` {
			t.Errorf("auth saw %q, op saw %q, want the request body", auth.bodies[0], b.body)
		}
	})

	t.Run("signing name per service", func(t *testing.T) {
		t.Parallel()
		auth := &fakeAuth{}
		b := setup(t, auth)
		b.do(call{target: "CodeBuild_20161006.BatchGetBuilds"})
		b.do(call{target: "Nope.Op"})
		b.do(call{})
		if got := auth.calls(); strings.Join(got, ",") != "codebuild,," {
			t.Errorf("signing names = %q, want [codebuild \"\" \"\"]", got)
		}
	})

	t.Run("wire error stops the request", func(t *testing.T) {
		t.Parallel()
		auth := &fakeAuth{err: wire.NewError("InvalidSignatureException", "The request signature we calculated does not match the signature you provided.")}
		b := setup(t, auth)
		for _, target := range []string{cpPrefix + ".Echo", cpPrefix + ".NoSuchOp", ""} {
			w := b.do(call{target: target, body: `{}`})
			if msg := wantError(t, w, 400, "InvalidSignatureException"); !strings.HasPrefix(msg, "The request signature") {
				t.Errorf("%q: message = %q", target, msg)
			}
		}
		if ran := b.ran(); len(ran) != 0 {
			t.Errorf("ops ran: %v", ran)
		}
	})

	t.Run("other error is internal", func(t *testing.T) {
		t.Parallel()
		auth := &fakeAuth{err: errors.New("key store SECRET-KEYSTORE down")}
		b := setup(t, auth)
		w := b.do(call{target: cpPrefix + ".Echo", body: `{}`})
		wantError(t, w, 500, wire.CodeInternalFailure)
		if strings.Contains(w.Body.String(), "SECRET-KEYSTORE") || !strings.Contains(b.log.String(), "SECRET-KEYSTORE") {
			t.Errorf("answer %s / log %s", w.Body, b.log)
		}
		if ran := b.ran(); len(ran) != 0 {
			t.Errorf("ops ran: %v", ran)
		}
	})

	t.Run("panic is internal", func(t *testing.T) {
		t.Parallel()
		b := setup(t, &fakeAuth{panic: true})
		w := b.do(call{target: cpPrefix + ".Echo", body: `{}`})
		wantError(t, w, 500, wire.CodeInternalFailure)
		if strings.Contains(w.Body.String(), "SECRET-AUTH") {
			t.Errorf("answer echoes the panic: %s", w.Body)
		}
		if ran := b.ran(); len(ran) != 0 {
			t.Errorf("ops ran: %v", ran)
		}
	})

	t.Run("not consulted for protocol errors", func(t *testing.T) {
		t.Parallel()
		auth := &fakeAuth{}
		b := setup(t, auth)
		b.do(call{method: http.MethodGet})
		b.do(call{contentType: "text/plain"})
		b.srv.SetMaxBody(1)
		b.do(call{body: `{}`})
		if got := auth.calls(); len(got) != 0 {
			t.Errorf("authenticator called %d times", len(got))
		}
	})

	t.Run("nil authenticator gives the zero caller", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		wantSuccess(t, b.do(call{target: cpPrefix + ".Whoami"}), `{"accessKeyId":""}`)
	})
}

func TestCallerContext(t *testing.T) {
	t.Parallel()
	if c := wire.CallerFrom(context.Background()); c != (wire.Caller{}) {
		t.Errorf("CallerFrom(Background) = %+v", c)
	}
	ctx := wire.WithCaller(context.Background(), wire.Caller{AccessKeyID: "AKID"})
	if c := wire.CallerFrom(ctx); c.AccessKeyID != "AKID" {
		t.Errorf("CallerFrom(WithCaller) = %+v", c)
	}
}

func TestSizeLimit(t *testing.T) {
	t.Parallel()
	const limit = 32
	body := `{"name":"` + strings.Repeat("a", limit-len(`{"name":""}`)) + `"}`
	if len(body) != limit {
		t.Fatalf("test body is %d bytes", len(body))
	}
	tooBig := body + " "

	t.Run("at the limit", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		b.srv.SetMaxBody(limit)
		w := b.do(call{target: cpPrefix + ".Echo", body: body})
		if w.Code != 200 {
			t.Errorf("status = %d; body %s", w.Code, w.Body)
		}
	})

	t.Run("over the limit with Content-Length", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		b.srv.SetMaxBody(limit)
		w := b.do(call{target: cpPrefix + ".Echo", body: tooBig})
		if msg := wantError(t, w, http.StatusRequestEntityTooLarge, wire.CodeRequestEntityTooBig); msg != "Request body is larger than 32 bytes" {
			t.Errorf("message = %q", msg)
		}
		if ran := b.ran(); len(ran) != 0 {
			t.Errorf("ops ran: %v", ran)
		}
	})

	t.Run("over the limit without Content-Length", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		b.srv.SetMaxBody(limit)
		r := httptest.NewRequest(http.MethodPost, "/", io.MultiReader(strings.NewReader(tooBig)))
		r.ContentLength = -1
		r.Header.Set("X-Amz-Target", cpPrefix+".Echo")
		w := httptest.NewRecorder()
		b.srv.ServeHTTP(w, r)
		wantError(t, w, http.StatusRequestEntityTooLarge, wire.CodeRequestEntityTooBig)
		if ran := b.ran(); len(ran) != 0 {
			t.Errorf("ops ran: %v", ran)
		}
	})

	t.Run("default limit", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		big := `{"name":"` + strings.Repeat("a", wire.DefaultMaxBody) + `"}`
		wantError(t, b.do(call{target: cpPrefix + ".Echo", body: big}), http.StatusRequestEntityTooLarge, wire.CodeRequestEntityTooBig)
	})

	t.Run("unreadable body", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		r := httptest.NewRequest(http.MethodPost, "/", io.MultiReader(strings.NewReader(`{"na`), errReader{}))
		r.ContentLength = -1
		r.Header.Set("X-Amz-Target", cpPrefix+".Echo")
		w := httptest.NewRecorder()
		b.srv.ServeHTTP(w, r)
		wantError(t, w, http.StatusBadRequest, wire.CodeSerialization)
	})
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

// TestOverHTTP runs requests through a real listener: HEAD answers without
// a body, an oversized upload gets its 413, and headers survive the trip.
func TestOverHTTP(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.srv.SetMaxBody(1 << 10)
	ts := httptest.NewServer(b.srv)
	t.Cleanup(ts.Close)

	post := func(target, body string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, ts.URL+"/", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", jsonType)
		req.Header.Set("X-Amz-Target", target)
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}

	resp := post(cpPrefix+".Echo", `{"name":"x"}`)
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(got) != `{"count":null,"name":"x"}` || resp.Header.Get("Content-Type") != jsonType {
		t.Errorf("echo: %d %s %v", resp.StatusCode, got, resp.Header)
	}
	requestID(t, resp.Header)

	resp = post(cpPrefix+".Echo", `{"name":"`+strings.Repeat("a", 1<<20)+`"}`)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || resp.Header.Get("X-Amzn-Errortype") != wire.CodeRequestEntityTooBig {
		t.Errorf("oversized: %d %v", resp.StatusCode, resp.Header)
	}
	requestID(t, resp.Header)

	req, _ := http.NewRequest(http.MethodHead, ts.URL+"/", nil)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusMethodNotAllowed || len(got) != 0 || resp.Header.Get("Allow") != "POST" ||
		resp.Header.Get("X-Amzn-Errortype") != wire.CodeUnknownOperation {
		t.Errorf("HEAD: %d %q %v", resp.StatusCode, got, resp.Header)
	}
	requestID(t, resp.Header)

	resp, err = ts.Client().Get(ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusMethodNotAllowed || !strings.Contains(string(got), `"__type":"UnknownOperationException"`) {
		t.Errorf("GET: %d %s", resp.StatusCode, got)
	}
	if ran := b.ran(); strings.Join(ran, ",") != "Echo" {
		t.Errorf("ops ran: %v", ran)
	}
}

// TestCodePipelineClient drives the server with aws-sdk-go-v2's
// CodePipeline client: the SDK must parse successes, map modelled errors to
// their types, and see the request id.
func TestCodePipelineClient(t *testing.T) {
	t.Parallel()
	type getPipelineInput struct {
		Name    *string `json:"name"`
		Version *int32  `json:"version"`
	}
	ops := map[string]wire.Op{
		"GetPipeline": func(_ context.Context, body []byte) (any, error) {
			var in getPipelineInput
			if err := wire.DecodeJSON(body, &in); err != nil {
				return nil, err
			}
			switch name := aws.ToString(in.Name); name {
			case "x":
				return map[string]any{
					"pipeline": map[string]any{"name": "x", "roleArn": "arn:aws:iam::000000000000:role/r", "stages": []any{}, "version": 2},
					"metadata": map[string]any{"pipelineArn": "arn:aws:codepipeline:us-east-1:000000000000:x", "created": 1700000000.5},
				}, nil
			case "boom":
				return nil, errors.New("SECRET-SDK internal detail")
			default:
				return nil, &wire.Error{Code: "PipelineNotFoundException", Message: "Account '000000000000' does not have a pipeline with name '" + name + "'", Status: http.StatusBadRequest}
			}
		},
		"StartPipelineExecution": func(context.Context, []byte) (any, error) {
			return nil, &wire.Error{Code: "ConflictException", Message: "Pipeline x is busy", Status: http.StatusConflict}
		},
	}
	srv := wire.NewServer(nil, nil, &wire.Service{
		TargetPrefix: cpPrefix, SigningName: cpSigning, Ops: ops,
		Known: []string{"GetPipeline", "StartPipelineExecution", "ListPipelines"},
	})

	// The wrapper records what the SDK sent and which request id it got.
	var mu sync.Mutex
	var ids []string
	var seen []*http.Request
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srv.ServeHTTP(w, r)
		mu.Lock()
		defer mu.Unlock()
		ids = append(ids, w.Header().Get("X-Amzn-Requestid"))
		seen = append(seen, r)
	}))
	t.Cleanup(ts.Close)
	lastID := func() string {
		mu.Lock()
		defer mu.Unlock()
		return ids[len(ids)-1]
	}

	client := codepipeline.New(codepipeline.Options{
		BaseEndpoint:     aws.String(ts.URL),
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		RetryMaxAttempts: 1,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)

	t.Run("success", func(t *testing.T) {
		out, err := client.GetPipeline(ctx, &codepipeline.GetPipelineInput{Name: aws.String("x")})
		if err != nil {
			t.Fatal(err)
		}
		p := out.Pipeline
		if aws.ToString(p.Name) != "x" || aws.ToString(p.RoleArn) != "arn:aws:iam::000000000000:role/r" || len(p.Stages) != 0 || aws.ToInt32(p.Version) != 2 {
			t.Errorf("pipeline = %+v", p)
		}
		if want := time.Unix(1700000000, 500_000_000); !aws.ToTime(out.Metadata.Created).Equal(want) {
			t.Errorf("created = %v, want %v", out.Metadata.Created, want)
		}
		id, ok := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
		if !ok || id != lastID() {
			t.Errorf("SDK request id = %q, %v; server sent %q", id, ok, lastID())
		}
		mu.Lock()
		r := seen[len(seen)-1]
		mu.Unlock()
		if r.Method != http.MethodPost || r.URL.Path != "/" || r.Header.Get("Content-Type") != jsonType ||
			r.Header.Get("X-Amz-Target") != cpPrefix+".GetPipeline" || !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKID/") {
			t.Errorf("SDK request: %s %s %v", r.Method, r.URL, r.Header)
		}
	})

	t.Run("modelled error", func(t *testing.T) {
		_, err := client.GetPipeline(ctx, &codepipeline.GetPipelineInput{Name: aws.String("nope")})
		var nf *types.PipelineNotFoundException
		if !errors.As(err, &nf) {
			t.Fatalf("err = %T %v, want *types.PipelineNotFoundException", err, err)
		}
		if want := "Account '000000000000' does not have a pipeline with name 'nope'"; nf.ErrorMessage() != want {
			t.Errorf("message = %q, want %q", nf.ErrorMessage(), want)
		}
		var re *awshttp.ResponseError
		if !errors.As(err, &re) || re.HTTPStatusCode() != 400 || re.ServiceRequestID() != lastID() {
			t.Errorf("response error = %#v; server sent request id %q", re, lastID())
		}
	})

	t.Run("409 conflict", func(t *testing.T) {
		_, err := client.StartPipelineExecution(ctx, &codepipeline.StartPipelineExecutionInput{Name: aws.String("x")})
		var ce *types.ConflictException
		if !errors.As(err, &ce) {
			t.Fatalf("err = %T %v, want *types.ConflictException", err, err)
		}
		if ce.ErrorMessage() != "Pipeline x is busy" {
			t.Errorf("message = %q", ce.ErrorMessage())
		}
		var re *awshttp.ResponseError
		if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusConflict || re.ServiceRequestID() != lastID() {
			t.Errorf("response error = %#v", re)
		}
	})

	t.Run("internal failure", func(t *testing.T) {
		_, err := client.GetPipeline(ctx, &codepipeline.GetPipelineInput{Name: aws.String("boom")})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != wire.CodeInternalFailure || ae.ErrorFault() != smithy.FaultUnknown {
			t.Fatalf("err = %T %v, want InternalFailure", err, err)
		}
		if strings.Contains(err.Error(), "SECRET-SDK") {
			t.Errorf("internal detail reached the client: %v", err)
		}
		var re *awshttp.ResponseError
		if !errors.As(err, &re) || re.HTTPStatusCode() != 500 || re.ServiceRequestID() != lastID() {
			t.Errorf("response error = %#v", re)
		}
	})

	t.Run("unimplemented operation", func(t *testing.T) {
		_, err := client.ListPipelines(ctx, &codepipeline.ListPipelinesInput{})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != wire.CodeUnknownOperation ||
			ae.ErrorMessage() != "pipewright does not implement CodePipeline_20150709.ListPipelines yet" {
			t.Fatalf("err = %T %v, want UnknownOperationException", err, err)
		}
	})
}
