package wire

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// DefaultMaxBody is the largest request body a Server accepts unless told
// otherwise. A CodePipeline declaration is well under this.
const DefaultMaxBody = 4 << 20

// Service is one awsJson1_1 service behind a Server: requests whose
// X-Amz-Target starts with TargetPrefix + "." are routed to Ops by the
// operation name that follows.
type Service struct {
	TargetPrefix string
	SigningName  string
	// Ops holds the operations pipewright implements.
	Ops map[string]Op
	// Known lists every operation of the service's model, so that a modelled
	// but unimplemented operation is answered distinctly from an unknown one.
	Known []string
}

// Authenticator verifies a request's signature for the given signing name
// ("" when the target names no known service). It runs before routing and
// before any Op; on failure it returns an *Error (answered as is), and any
// other error is answered as a logged InternalFailure.
type Authenticator interface {
	Authenticate(r *http.Request, body []byte, signingName string) (Caller, error)
}

// Caller is who signed a request.
type Caller struct {
	AccessKeyID string
}

type callerKey struct{}

// CallerFrom returns the authenticated caller of the request ctx belongs to,
// or the zero Caller when there is none (no Authenticator).
func CallerFrom(ctx context.Context) Caller {
	c, _ := ctx.Value(callerKey{}).(Caller)
	return c
}

// WithCaller returns ctx carrying c, for code that calls services directly.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// Server answers the awsJson1_1 protocol for a set of services: POST /,
// routing on X-Amz-Target, SigV4 first, AWS-shaped errors, a request id on
// every answer. A client's mistake is never answered with a 500.
type Server struct {
	services map[string]*Service
	auth     Authenticator
	maxBody  int64
	log      *slog.Logger
}

// NewServer returns a Server for services. auth may be nil only in tests of
// the protocol itself.
func NewServer(auth Authenticator, log *slog.Logger, services ...*Service) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{services: map[string]*Service{}, auth: auth, maxBody: DefaultMaxBody, log: log}
	for _, svc := range services {
		s.services[svc.TargetPrefix] = svc
	}
	return s
}

// SetMaxBody changes the request size limit to n bytes (n >= 0); a larger
// body is answered 413 RequestEntityTooLarge. Call it before the Server
// starts serving: it is not synchronised with ServeHTTP.
func (s *Server) SetMaxBody(n int64) { s.maxBody = n }

// ServeHTTP answers one request. The checks run in this order:
//
//   - a method other than POST: 405 UnknownOperationException, with
//     "Allow: POST";
//   - a Content-Type that is neither absent nor a JSON type
//     (application/x-amz-json-1.1 or -1.0, application/json; parameters
//     ignored): 415 UnsupportedMediaTypeException;
//   - a body over the limit: 413 RequestEntityTooLarge; a body that does
//     not arrive before the connection's read deadline: 408
//     RequestTimeoutException;
//   - the Authenticator, if any, before routing, so an unsigned request
//     learns nothing about the operations;
//   - an X-Amz-Target naming no service or no implemented operation:
//     400 UnknownOperationException;
//   - the Op, whose result is encoded as a JSON object with status 200
//     ("{}" for a nil result).
//
// Every answer carries an x-amzn-RequestId header with a fresh UUID and
// Content-Type: application/x-amz-json-1.1. An error answer also carries
// X-Amzn-ErrorType: <Code> and the body {"__type":"<Code>","message":"..."}.
// A panic, a non-*Error error or an output that does not encode as a JSON
// object is logged with the request id and answered 500 InternalFailure,
// without its text. Every request then leaves one line in the log (see
// logRequest).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x := &exchange{ResponseWriter: w, id: uuid.NewString(), start: time.Now()}
	w.Header()["X-Amzn-Requestid"] = []string{x.id}
	defer s.logRequest(r, x)
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic in handler", "requestId", x.id, "panic", p, "stack", string(debug.Stack()))
			writeError(x, internalFailure(x.id))
		}
	}()
	s.serve(x, r)
}

// serve answers r through x, recording the caller in x once it is known.
func (s *Server) serve(x *exchange, r *http.Request) {
	if r.Method != http.MethodPost {
		x.Header()["Allow"] = []string{http.MethodPost}
		writeError(x, &Error{Code: CodeUnknownOperation, Message: "Only POST requests are supported", Status: http.StatusMethodNotAllowed})
		return
	}
	if ct := r.Header.Get("Content-Type"); !isJSONContentType(ct) {
		writeError(x, &Error{Code: CodeUnsupportedMedia, Message: "Content-Type must be application/x-amz-json-1.1", Status: http.StatusUnsupportedMediaType})
		return
	}
	body, rerr := readBody(r, s.maxBody)
	if rerr != nil {
		writeError(x, rerr)
		return
	}
	target := r.Header.Get("X-Amz-Target")
	prefix, opName, _ := strings.Cut(target, ".")
	svc := s.services[prefix]
	signing := ""
	if svc != nil {
		signing = svc.SigningName
	}
	if s.auth != nil {
		caller, err := s.auth.Authenticate(r, body, signing)
		if err != nil {
			s.answerError(x, x.id, err)
			return
		}
		x.caller = caller
	}
	if svc == nil || opName == "" {
		writeError(x, NewError(CodeUnknownOperation, ""))
		return
	}
	op := svc.Ops[opName]
	if op == nil {
		msg := ""
		if slices.Contains(svc.Known, opName) {
			msg = fmt.Sprintf("pipewright does not implement %s yet", target)
		}
		writeError(x, NewError(CodeUnknownOperation, msg))
		return
	}
	out, err := op(WithCaller(r.Context(), x.caller), body)
	if err != nil {
		s.answerError(x, x.id, err)
		return
	}
	b, err := encodeOutput(out)
	if err != nil {
		s.answerError(x, x.id, fmt.Errorf("encode %s output: %w", target, err))
		return
	}
	x.Header()["Content-Type"] = []string{contentType}
	// With its length given, an answer larger than net/http's 2 KiB
	// response buffer goes out in one piece, not chunked in two writes.
	x.Header()["Content-Length"] = []string{strconv.Itoa(len(b))}
	x.WriteHeader(http.StatusOK)
	x.Write(b)
}

// answerError answers err: a well-formed *Error as is, anything else as a
// logged InternalFailure.
func (s *Server) answerError(w http.ResponseWriter, reqID string, err error) {
	var e *Error
	if errors.As(err, &e) && e != nil && e.Code != "" && (e.Status == 0 || e.Status >= 400 && e.Status <= 599) {
		writeError(w, e)
		return
	}
	s.log.Error("internal error", "requestId", reqID, "err", err)
	writeError(w, internalFailure(reqID))
}

func internalFailure(reqID string) *Error {
	return &Error{Code: CodeInternalFailure, Message: "An internal error occurred. Request id " + reqID, Status: http.StatusInternalServerError}
}

// isJSONContentType reports whether a request's Content-Type header allows
// a JSON body. Clients that send none (curl without -H) are accepted.
func isJSONContentType(ct string) bool {
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil && !errors.Is(err, mime.ErrInvalidMediaParameter) {
		return false
	}
	switch mt {
	case contentType, "application/x-amz-json-1.0", "application/json":
		return true
	}
	return false
}

// readBody reads a request body of at most max bytes. A read that fails
// because the connection's read deadline passed (the server's ReadTimeout:
// a client that stalls or trickles its body) is a 408
// RequestTimeoutException, which the SDKs retry; any other failed read is
// a SerializationException.
func readBody(r *http.Request, max int64) ([]byte, *Error) {
	tooBig := &Error{Code: CodeRequestEntityTooBig, Message: fmt.Sprintf("Request body is larger than %d bytes", max), Status: http.StatusRequestEntityTooLarge}
	if r.ContentLength > max {
		return nil, tooBig
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return nil, &Error{Code: CodeRequestTimeout, Message: "The request body was not received in time", Status: http.StatusRequestTimeout}
	}
	if err != nil {
		return nil, NewError(CodeSerialization, "Could not read the request body")
	}
	if int64(len(body)) > max {
		return nil, tooBig
	}
	return body, nil
}

// contentType is the media type of every answer.
const contentType = "application/x-amz-json-1.1"

var emptyObject = []byte("{}")

// encodeOutput encodes an Op's result: nil (also a nil pointer or map) as
// "{}", anything else as itself, which must be a JSON object.
func encodeOutput(out any) ([]byte, error) {
	if out == nil {
		return emptyObject, nil
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	if string(b) == "null" {
		return emptyObject, nil
	}
	if b[0] != '{' {
		return nil, fmt.Errorf("%T does not encode as a JSON object", out)
	}
	return b, nil
}

type errorBody struct {
	Type    string `json:"__type"`
	Message string `json:"message"`
}

// writeError writes e as an awsJson1_1 error answer.
func writeError(w http.ResponseWriter, e *Error) {
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	b, _ := json.Marshal(errorBody{Type: e.Code, Message: e.Message})
	h := w.Header()
	h["X-Amzn-Errortype"] = []string{e.Code}
	h["Content-Type"] = []string{contentType}
	w.WriteHeader(status)
	w.Write(b)
}
