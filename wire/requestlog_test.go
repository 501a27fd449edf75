package wire_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pipewright/pipewright/wire"
)

// requestLines returns the "request" lines of a JSON log, by request id.
func requestLines(t *testing.T, log string) map[string]map[string]any {
	t.Helper()
	lines := map[string]map[string]any{}
	for _, l := range strings.Split(strings.TrimSpace(log), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("log line %q is not JSON: %v", l, err)
		}
		if rec["msg"] == "request" {
			id, _ := rec["requestId"].(string)
			if lines[id] != nil {
				t.Errorf("request %s logged twice", id)
			}
			lines[id] = rec
		}
	}
	return lines
}

// TestRequestLogLine checks the one line each request leaves: its fields,
// its level, and that nothing of the body or a secret is in it.
func TestRequestLogLine(t *testing.T) {
	t.Parallel()
	longTarget := cpPrefix + "." + strings.Repeat("é", 200)
	tests := []struct {
		name  string
		auth  *fakeAuth
		c     call
		level string
		want  map[string]any // exact values; nil = must be absent
	}{
		{"success", &fakeAuth{caller: wire.Caller{AccessKeyID: "AKIDLOG"}}, call{target: cpPrefix + ".Echo", body: `{"name":"BODY-MARKER"}`}, "INFO",
			map[string]any{"op": cpPrefix + ".Echo", "status": 200.0, "accessKeyId": "AKIDLOG", "error": nil, "method": nil, "path": nil}},
		{"modelled error", &fakeAuth{caller: wire.Caller{AccessKeyID: "AKIDLOG"}}, call{target: cpPrefix + ".NotFound"}, "INFO",
			map[string]any{"op": cpPrefix + ".NotFound", "status": 400.0, "error": "PipelineNotFoundException"}},
		{"unknown target", &fakeAuth{caller: wire.Caller{AccessKeyID: "AKIDLOG"}}, call{target: "Nope_1.Thing"}, "INFO",
			map[string]any{"op": "Nope_1.Thing", "status": 400.0, "error": wire.CodeUnknownOperation}},
		{"no target", &fakeAuth{caller: wire.Caller{AccessKeyID: "AKIDLOG"}}, call{}, "INFO",
			map[string]any{"op": "", "status": 400.0, "error": wire.CodeUnknownOperation}},
		{"unverified caller", &fakeAuth{caller: wire.Caller{AccessKeyID: "AKIDLOG"}, err: wire.NewError("InvalidSignatureException", "bad")}, call{target: cpPrefix + ".Echo"}, "INFO",
			map[string]any{"status": 400.0, "error": "InvalidSignatureException", "accessKeyId": nil}},
		{"internal failure", &fakeAuth{caller: wire.Caller{AccessKeyID: "AKIDLOG"}}, call{target: cpPrefix + ".Internal"}, "ERROR",
			map[string]any{"status": 500.0, "error": wire.CodeInternalFailure}},
		{"panic", &fakeAuth{caller: wire.Caller{AccessKeyID: "AKIDLOG"}}, call{target: cpPrefix + ".Panic"}, "ERROR",
			map[string]any{"status": 500.0, "error": wire.CodeInternalFailure, "accessKeyId": "AKIDLOG"}},
		{"other method", &fakeAuth{}, call{method: http.MethodGet}, "INFO",
			map[string]any{"status": 405.0, "error": wire.CodeUnknownOperation, "method": "GET", "path": "/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tt.auth)
			w := b.do(tt.c)
			id := requestID(t, w.Header())
			lines := requestLines(t, b.log.String())
			line := lines[id]
			if line == nil || len(lines) != 1 {
				t.Fatalf("want one request line for %s, got %v", id, lines)
			}
			if line["level"] != tt.level {
				t.Errorf("level = %v, want %s", line["level"], tt.level)
			}
			if ms, ok := line["latencyMs"].(float64); !ok || ms < 0 {
				t.Errorf("latencyMs = %v", line["latencyMs"])
			}
			if line["remote"] != "192.0.2.1:1234" {
				t.Errorf("remote = %v", line["remote"])
			}
			for k, v := range tt.want {
				if got, ok := line[k]; v == nil && ok || v != nil && got != v {
					t.Errorf("%s = %v, want %v (line %v)", k, got, v, line)
				}
			}
			if strings.Contains(b.log.String(), "BODY-MARKER") {
				t.Errorf("the log holds the request body: %s", b.log)
			}
		})
	}

	t.Run("long target is clipped", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		id := requestID(t, b.do(call{target: longTarget}).Header())
		op, _ := requestLines(t, b.log.String())[id]["op"].(string)
		if !strings.HasPrefix(longTarget, strings.TrimSuffix(op, "…")) || len(op) > 210 || !utf8.ValidString(op) {
			t.Errorf("op = %q (%d bytes)", op, len(op))
		}
	})
}

// deadlineReader is a body whose read fails as a connection read does when
// its deadline has passed.
type deadlineReader struct{}

func (deadlineReader) Read([]byte) (int, error) { return 0, os.ErrDeadlineExceeded }

// TestBodyReadTimeout checks that a body cut off by the read deadline is
// answered 408 RequestTimeoutException, and that no op runs.
func TestBodyReadTimeout(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	r := httptest.NewRequest(http.MethodPost, "/", io.MultiReader(strings.NewReader(`{"na`), deadlineReader{}))
	r.Header.Set("X-Amz-Target", cpPrefix+".Echo")
	w := httptest.NewRecorder()
	b.srv.ServeHTTP(w, r)
	if msg := wantError(t, w, http.StatusRequestTimeout, wire.CodeRequestTimeout); msg != "The request body was not received in time" {
		t.Errorf("message = %q", msg)
	}
	if ran := b.ran(); len(ran) != 0 {
		t.Errorf("ops ran: %v", ran)
	}
}
