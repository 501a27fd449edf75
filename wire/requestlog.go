package wire

import (
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// exchange is one request's answer as it is written: the ResponseWriter,
// plus what the request's log line reports about it.
type exchange struct {
	http.ResponseWriter
	id     string    // the x-amzn-RequestId
	start  time.Time // when the Server began to answer
	status int       // the status written, 0 until then
	caller Caller    // who signed the request, once verified
}

// WriteHeader records the status and writes it.
func (x *exchange) WriteHeader(status int) {
	if x.status == 0 {
		x.status = status
	}
	x.ResponseWriter.WriteHeader(status)
}

// Unwrap gives http.ResponseController the underlying writer.
func (x *exchange) Unwrap() http.ResponseWriter { return x.ResponseWriter }

// logClip is the longest client-supplied string (the X-Amz-Target, a path)
// a log line repeats.
const logClip = 200

// logRequest writes the one line every request leaves, message "request":
//
//   - op: the X-Amz-Target as sent ("" when there is none), clipped to
//     200 bytes, whether or not it names a known operation;
//   - status: the HTTP status answered;
//   - latencyMs: from the start of ServeHTTP to the end of the answer, in
//     milliseconds;
//   - requestId: the answer's x-amzn-RequestId;
//   - accessKeyId: the caller, only once its signature is verified;
//   - error: the AWS error code, on error answers only;
//   - remote: the client's address;
//   - method and path, only when they are not POST and "/".
//
// Secrets, signatures, headers and bodies are never logged. The level is
// Error for a 5xx answer, Info otherwise.
func (s *Server) logRequest(r *http.Request, x *exchange) {
	level := slog.LevelInfo
	if x.status >= 500 {
		level = slog.LevelError
	}
	if !s.log.Enabled(r.Context(), level) {
		return
	}
	status := x.status
	if status == 0 {
		status = http.StatusOK
	}
	attrs := make([]slog.Attr, 0, 9)
	attrs = append(attrs,
		slog.String("op", Clip(r.Header.Get("X-Amz-Target"))),
		slog.Int("status", status),
		slog.Float64("latencyMs", float64(time.Since(x.start).Microseconds())/1000),
		slog.String("requestId", x.id),
	)
	if id := x.caller.AccessKeyID; id != "" {
		attrs = append(attrs, slog.String("accessKeyId", id))
	}
	if code := x.Header().Get("X-Amzn-Errortype"); code != "" {
		attrs = append(attrs, slog.String("error", code))
	}
	attrs = append(attrs, slog.String("remote", r.RemoteAddr))
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		attrs = append(attrs, slog.String("method", Clip(r.Method)), slog.String("path", Clip(r.URL.Path)))
	}
	s.log.LogAttrs(r.Context(), level, "request", attrs...)
}

// Clip cuts s to at most logClip bytes, dropping a character the cut
// splits (and any other invalid UTF-8).
func Clip(s string) string {
	if len(s) <= logClip {
		return s
	}
	return strings.ToValidUTF8(s[:logClip], "") + "…"
}
