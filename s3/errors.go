package s3

import (
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/pipewright/pipewright/artifacts"
	"github.com/pipewright/pipewright/sigv4"
)

// Error is an S3 error answer: its Code and Message go into the XML error
// document, Status is the HTTP status, and Extra holds the elements S3 adds
// for some codes (BucketName, Key, UploadId, Method, ResourceType, ...).
type Error struct {
	Status  int
	Code    string
	Message string
	Extra   [][2]string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// with returns e with one more element for the error document.
func (e *Error) with(name, value string) *Error {
	c := *e
	c.Extra = append(append([][2]string(nil), e.Extra...), [2]string{name, value})
	return &c
}

func newErr(status int, code, msg string) *Error {
	return &Error{Status: status, Code: code, Message: msg}
}

// The errors S3 answers, with its wording.
var (
	errAccessDenied       = newErr(http.StatusForbidden, "AccessDenied", "Access Denied")
	errNoSuchBucket       = newErr(http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
	errNoSuchKey          = newErr(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
	errNoSuchUpload       = newErr(http.StatusNotFound, "NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.")
	errBucketOwned        = newErr(http.StatusConflict, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.")
	errBucketNotEmpty     = newErr(http.StatusConflict, "BucketNotEmpty", "The bucket you tried to delete is not empty")
	errInvalidBucketName  = newErr(http.StatusBadRequest, "InvalidBucketName", "The specified bucket is not valid.")
	errKeyTooLong         = newErr(http.StatusBadRequest, "KeyTooLongError", "Your key is too long")
	errInvalidPart        = newErr(http.StatusBadRequest, "InvalidPart", "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.")
	errInvalidPartOrder   = newErr(http.StatusBadRequest, "InvalidPartOrder", "The list of parts was not in ascending order. Parts must be ordered by part number.")
	errEntityTooSmall     = newErr(http.StatusBadRequest, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size.")
	errEntityTooLarge     = newErr(http.StatusBadRequest, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size.")
	errMalformedXML       = newErr(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	errInvalidRange       = newErr(http.StatusRequestedRangeNotSatisfiable, "InvalidRange", "The requested range is not satisfiable")
	errPrecondition       = newErr(http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
	errInvalidDigest      = newErr(http.StatusBadRequest, "InvalidDigest", "The Content-MD5 you specified was not valid.")
	errBadDigestMD5       = newErr(http.StatusBadRequest, "BadDigest", "The Content-MD5 you specified did not match what we received.")
	errIncompleteBody     = newErr(http.StatusBadRequest, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header")
	errMissingLength      = newErr(http.StatusLengthRequired, "MissingContentLength", "You must provide the Content-Length HTTP header.")
	errInvalidArgument    = newErr(http.StatusBadRequest, "InvalidArgument", "Invalid Argument")
	errMethodNotAllowed   = newErr(http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.")
	errInternal           = newErr(http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
	errInvalidTag         = newErr(http.StatusBadRequest, "InvalidTag", "The TagValue you have provided is invalid")
	errInvalidRequest     = newErr(http.StatusBadRequest, "InvalidRequest", "Invalid Request")
	errNotImplementedBase = newErr(http.StatusNotImplemented, "NotImplemented", "A header or query you provided requested a function that is not implemented.")
)

// invalidArgument is InvalidArgument with S3's ArgumentName and
// ArgumentValue elements.
func invalidArgument(msg, name, value string) *Error {
	e := newErr(http.StatusBadRequest, "InvalidArgument", msg)
	return e.with("ArgumentName", name).with("ArgumentValue", value)
}

// invalidRequest is InvalidRequest with a message.
func invalidRequest(msg string) *Error { return newErr(http.StatusBadRequest, "InvalidRequest", msg) }

// notImplemented names what pipewright's S3 does not serve.
func notImplemented(what string) *Error {
	return newErr(http.StatusNotImplemented, "NotImplemented",
		"A header or query you provided requested a function that is not implemented: pipewright does not serve "+what+".")
}

// storeError maps the artifact store's errors to S3's; anything else is an
// internal error (logged by the caller).
func storeError(err error, bucket, key string) *Error {
	var e *Error
	var de *artifacts.DigestError
	var se *artifacts.SizeError
	var ve *sigv4.Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.As(err, &ve):
		return authError(ve)
	case errors.As(err, &de):
		if de.Algorithm == "MD5" {
			return errBadDigestMD5
		}
		return newErr(http.StatusBadRequest, "BadDigest", "The "+de.Algorithm+" you specified did not match the calculated checksum.")
	case errors.As(err, &se):
		if se.Got < se.Want {
			return errIncompleteBody
		}
		return invalidRequest("The body is longer than the length the request announced.")
	case errors.Is(err, artifacts.ErrNoSuchBucket):
		return errNoSuchBucket.with("BucketName", bucket)
	case errors.Is(err, artifacts.ErrNoSuchUpload):
		return errNoSuchUpload.with("UploadId", key)
	case errors.Is(err, artifacts.ErrNotFound):
		return errNoSuchKey.with("Key", key)
	case errors.Is(err, artifacts.ErrBucketExists):
		return errBucketOwned.with("BucketName", bucket)
	case errors.Is(err, artifacts.ErrBucketNotEmpty):
		return errBucketNotEmpty.with("BucketName", bucket)
	case errors.Is(err, artifacts.ErrInvalidBucketName):
		return errInvalidBucketName.with("BucketName", bucket)
	case errors.Is(err, artifacts.ErrInvalidKey):
		if len(key) > 1024 {
			return errKeyTooLong
		}
		return invalidArgument("The key is not valid.", "key", key)
	case errors.Is(err, artifacts.ErrInvalidPart):
		return errInvalidPart
	case errors.Is(err, artifacts.ErrInvalidPartOrder):
		return errInvalidPartOrder
	case errors.Is(err, artifacts.ErrEntityTooSmall):
		return errEntityTooSmall
	case errors.Is(err, artifacts.ErrPreconditionFailed):
		return errPrecondition
	case errors.Is(err, artifacts.ErrSourceChanged):
		return newErr(http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate: the copy source kept changing while it was copied.")
	case errors.Is(err, artifacts.ErrInvalidRange):
		return errInvalidRange
	case errors.Is(err, artifacts.ErrInvalidArgument):
		return invalidArgument(strings.TrimPrefix(err.Error(), "artifacts: "), "", "")
	}
	return nil
}

// authError maps a SigV4 failure to the S3 error a client sees.
func authError(e *sigv4.Error) *Error {
	switch e.Code {
	case sigv4.CodeMissingAuthenticationToken:
		return errAccessDenied
	case sigv4.CodeUnrecognizedClient:
		return newErr(http.StatusForbidden, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
	case sigv4.CodeAccessDenied:
		return newErr(http.StatusForbidden, "AccessDenied", e.Message)
	case sigv4.CodeIncompleteSignature:
		return newErr(http.StatusBadRequest, "AuthorizationHeaderMalformed", e.Message)
	case sigv4.CodeInvalidSignature:
		msg := e.Message
		switch {
		case strings.HasPrefix(msg, "Signature expired") || strings.HasPrefix(msg, "Signature not yet current"):
			return newErr(http.StatusForbidden, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large.")
		case strings.HasPrefix(msg, "Credential should be scoped"):
			return newErr(http.StatusBadRequest, "AuthorizationHeaderMalformed", "The authorization header is malformed; "+msg)
		case strings.HasPrefix(msg, "The provided 'x-amz-content-sha256'"):
			return newErr(http.StatusBadRequest, "XAmzContentSHA256Mismatch", msg)
		}
		return signatureMismatch(msg)
	}
	if e.Code == "XAmzContentSHA256Mismatch" {
		return newErr(http.StatusBadRequest, e.Code, e.Message)
	}
	switch e.Code {
	case sigv4.CodeIncompleteBody, sigv4.CodeMissingContentSHA256, sigv4.CodeMalformedTrailer, sigv4.CodeInvalidArgument:
		return newErr(http.StatusBadRequest, e.Code, e.Message)
	case sigv4.CodeHeadersNotSigned:
		return newErr(http.StatusForbidden, "AccessDenied", "There were headers present in the request which were not signed").
			with("HeadersNotSigned", e.Message)
	}
	if e.Code == "SignatureDoesNotMatch" {
		return signatureMismatch(e.Message)
	}
	return newErr(http.StatusForbidden, "AccessDenied", e.Message)
}

// signatureMismatch is S3's SignatureDoesNotMatch, with the canonical
// request and string to sign the server expected when the verifier's
// message carries them.
func signatureMismatch(msg string) *Error {
	e := newErr(http.StatusForbidden, "SignatureDoesNotMatch",
		"The request signature we calculated does not match the signature you provided. Check your key and signing method.")
	const creqMark, stsMark = "The Canonical String for this request should have been\n'", "'\n\nThe String-to-Sign should have been\n'"
	if i := strings.Index(msg, creqMark); i >= 0 {
		rest := msg[i+len(creqMark):]
		if j := strings.Index(rest, stsMark); j >= 0 {
			sts := strings.TrimSuffix(strings.TrimSuffix(rest[j+len(stsMark):], "\n"), "'")
			e = e.with("StringToSign", sts).with("CanonicalRequest", rest[:j])
		}
	}
	return e
}

// writeError answers e as S3's XML error document. HEAD answers carry no
// body, as S3's do.
func writeError(w http.ResponseWriter, r *http.Request, reqID string, e *Error) {
	h := w.Header()
	h.Del("Content-Length")
	h.Del("ETag")
	h.Del("Last-Modified")
	if x, ok := w.(*exchange); ok {
		x.code = e.Code
	}
	drainBody(r)
	if r.Method == http.MethodHead {
		w.WriteHeader(e.Status)
		return
	}
	var b strings.Builder
	b.WriteString(xml.Header)
	b.WriteString("<Error><Code>")
	xml.EscapeText(escWriter{&b}, []byte(e.Code))
	b.WriteString("</Code><Message>")
	xml.EscapeText(escWriter{&b}, []byte(e.Message))
	b.WriteString("</Message>")
	for _, kv := range e.Extra {
		b.WriteString("<" + kv[0] + ">")
		xml.EscapeText(escWriter{&b}, []byte(kv[1]))
		b.WriteString("</" + kv[0] + ">")
	}
	b.WriteString("<RequestId>" + reqID + "</RequestId><HostId>" + hostID + "</HostId></Error>")
	h.Set("Content-Type", "application/xml")
	w.WriteHeader(e.Status)
	w.Write([]byte(b.String()))
}

// hostID is the x-amz-id-2 pipewright answers: S3 sends an opaque token
// there; clients only echo it in their error messages.
const hostID = "pipewright"

type escWriter struct{ b *strings.Builder }

func (e escWriter) Write(p []byte) (int, error) { return e.b.Write(p) }

// drainLimit is how much of a refused request's unread body the server
// takes before answering, so that a client still sending it reads the
// error instead of meeting a reset connection. A longer body is cut off
// (the connection closes after the answer), as S3 does.
const drainLimit = 1 << 20

func drainBody(r *http.Request) {
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength <= drainLimit {
		io.Copy(io.Discard, io.LimitReader(r.Body, drainLimit))
	}
}
