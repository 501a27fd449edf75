package s3

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/pipewright/pipewright/artifacts"
	"github.com/pipewright/pipewright/sigv4"
	"github.com/pipewright/pipewright/wire"
)

// Config is what a Handler serves and how.
type Config struct {
	Store    *artifacts.Store
	Verifier *sigv4.Verifier
	// Region is the region buckets are in (GetBucketLocation, HeadBucket).
	Region string
	// AccountID names the owner of every bucket and object.
	AccountID string
	// VirtualHosts are the host names under which "BUCKET.HOST" addresses
	// BUCKET (virtual-host style); "localhost" when empty. A request to
	// any other host is path-style.
	VirtualHosts []string
	// BodyIdle is how long a request body or an answer may stall before
	// the connection is dropped (default 60 s); unlike the server's whole-
	// request timeouts, it is renewed as bytes move, so large objects can
	// take as long as they need.
	BodyIdle time.Duration
	Log      *slog.Logger
	Now      func() time.Time
}

// Handler is the S3 endpoint. It is safe for concurrent use.
type Handler struct {
	cfg   Config
	owner owner
}

// New returns the S3 endpoint for cfg.
func New(cfg Config) *Handler {
	if len(cfg.VirtualHosts) == 0 {
		cfg.VirtualHosts = []string{"localhost"}
	}
	if cfg.BodyIdle <= 0 {
		cfg.BodyIdle = 60 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Handler{cfg: cfg, owner: ownerOf(cfg.AccountID)}
}

// exchange is one request's answer as it is written, with what its log
// line reports.
type exchange struct {
	http.ResponseWriter
	id     string
	start  time.Time
	status int
	op     string
	code   string
	caller string
}

func (x *exchange) WriteHeader(status int) {
	if x.status == 0 {
		x.status = status
	}
	x.ResponseWriter.WriteHeader(status)
}

// ReadFrom lets object bodies reach the connection by sendfile.
func (x *exchange) ReadFrom(r io.Reader) (int64, error) {
	if x.status == 0 {
		x.status = http.StatusOK
	}
	if rf, ok := x.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(x.ResponseWriter, r)
}

func (x *exchange) Unwrap() http.ResponseWriter { return x.ResponseWriter }

// request is one verified S3 request, addressed.
type request struct {
	*http.Request
	x       *exchange
	bucket  string
	key     string
	query   map[string][]string
	payload *sigv4.Payload
	ctx     context.Context
}

func (q *request) has(name string) bool { _, ok := q.query[name]; return ok }

func (q *request) param(name string) string {
	if v := q.query[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x := &exchange{ResponseWriter: w, id: requestID(), start: time.Now()}
	hd := w.Header()
	hd["X-Amz-Request-Id"] = []string{x.id}
	hd["X-Amz-Id-2"] = []string{hostID}
	defer h.logRequest(r, x)
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.cfg.Log.Error("s3 handler panic", "panic", v, "requestId", x.id)
			if x.status == 0 {
				writeError(x, r, x.id, errInternal)
			}
		}
	}()
	q := &request{Request: r, x: x, ctx: r.Context()}
	var virtual bool
	q.bucket, q.key, virtual = h.address(r)
	q.query = r.URL.Query()
	if isV2Presigned(r, q.query) {
		akid, e := h.verifyV2Query(r, q.query, q.bucket, virtual)
		if e != nil {
			writeError(x, r, x.id, e)
			return
		}
		x.caller = akid
		q.payload = sigv4.PlainPayload(r)
		h.serve(q)
		return
	}
	id, payload, err := h.cfg.Verifier.VerifyStream(r, "s3")
	if err != nil {
		var ve *sigv4.Error
		if errors.As(err, &ve) {
			writeError(x, r, x.id, authError(ve))
		} else {
			h.cfg.Log.Error("s3 verify", "err", err, "requestId", x.id)
			writeError(x, r, x.id, errInternal)
		}
		return
	}
	x.caller = id.AccessKeyID
	q.payload = payload
	h.serve(q)
}

// serve runs the operation q asks for.
func (h *Handler) serve(q *request) {
	op, serve := route(q)
	q.x.op = op
	if e := serve(h, q); e != nil {
		h.fail(q, e)
	}
}

// fail answers err: an *Error as it is, a store error mapped, anything
// else as InternalError (and logged).
func (h *Handler) fail(q *request, err error) {
	e := storeError(err, q.bucket, q.key)
	if e == nil {
		h.cfg.Log.Error("s3 operation failed", "op", q.x.op, "err", err, "requestId", q.x.id)
		e = errInternal
	}
	if q.x.status != 0 {
		// The answer has begun; all that can be done is cut it short.
		panic(http.ErrAbortHandler)
	}
	writeError(q.x, q.Request, q.x.id, e)
}

// address finds the bucket and key of r: from a virtual host's first label
// when the Host is "BUCKET.HOST" for a configured HOST, else from the
// path's first segment.
func (h *Handler) address(r *http.Request) (bucket, key string, virtual bool) {
	host := r.Host
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	host = strings.ToLower(host)
	p := r.URL.Path
	for _, vh := range h.cfg.VirtualHosts {
		if b, ok := strings.CutSuffix(host, "."+vh); ok && b != "" {
			return b, strings.TrimPrefix(p, "/"), true
		}
	}
	p = strings.TrimPrefix(p, "/")
	bucket, key, _ = strings.Cut(p, "/")
	return bucket, key, false
}

// requestID is a fresh x-amz-request-id: 16 upper-case hex digits, as S3's.
func requestID() string {
	var b [8]byte
	rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// logRequest writes the request's one log line, in the fields the awsJson
// services use (op is "S3.<Operation>").
func (h *Handler) logRequest(r *http.Request, x *exchange) {
	level := slog.LevelInfo
	if x.status >= 500 {
		level = slog.LevelError
	}
	if !h.cfg.Log.Enabled(r.Context(), level) {
		return
	}
	status := x.status
	if status == 0 {
		status = http.StatusOK
	}
	attrs := []slog.Attr{
		slog.String("op", "S3."+x.op),
		slog.Int("status", status),
		slog.Float64("latencyMs", float64(time.Since(x.start).Microseconds())/1000),
		slog.String("requestId", x.id),
	}
	if x.caller != "" {
		attrs = append(attrs, slog.String("accessKeyId", x.caller))
	}
	if x.code != "" {
		attrs = append(attrs, slog.String("error", x.code))
	}
	attrs = append(attrs, slog.String("remote", r.RemoteAddr), slog.String("method", wire.Clip(r.Method)), slog.String("path", wire.Clip(r.URL.Path)))
	h.cfg.Log.LogAttrs(r.Context(), level, "request", attrs...)
}
