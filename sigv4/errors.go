package sigv4

import (
	"fmt"
	"time"
)

// Error is an authentication failure. Code is the AWS exception name a
// server puts into the response's __type and X-Amzn-ErrorType; Message is
// AWS's wording for the failure. On the awsJson1_1 protocols every code is
// answered with HTTP 400 (see aws-contract.md §1). A Message never contains
// a secret key or a signature computed by the verifier.
type Error struct {
	Code    string
	Message string
}

// Error returns "Code: Message".
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// The codes Verify reports.
const (
	// CodeMissingAuthenticationToken is reported when there is no
	// Authorization header and no presigned query, or an Authorization
	// header that is not AWS4-*.
	CodeMissingAuthenticationToken = "MissingAuthenticationTokenException"
	// CodeIncompleteSignature is reported when the Authorization header or
	// presigned query lacks a parameter or is malformed (credential shape,
	// date format, unsupported algorithm).
	CodeIncompleteSignature = "IncompleteSignatureException"
	// CodeInvalidSignature is reported for well-formed but wrong
	// authentication: signature mismatch, wrong credential scope, clock
	// skew, host not signed, X-Amz-Content-Sha256 not matching the body.
	CodeInvalidSignature = "InvalidSignatureException"
	// CodeUnrecognizedClient is reported for an unknown access key id and
	// for any session token (pipewright issues none).
	CodeUnrecognizedClient = "UnrecognizedClientException"
	// CodeAccessDenied is reported for a presigned URL whose X-Amz-Expires
	// has passed, with S3's message "Request has expired".
	CodeAccessDenied = "AccessDenied"
	// CodeHeadersNotSigned is reported for an S3 request carrying x-amz-*
	// headers its signature does not cover; the Message lists them,
	// comma-separated (S3 answers AccessDenied with a HeadersNotSigned
	// element).
	CodeHeadersNotSigned = "HeadersNotSigned"
)

// Messages fixed by AWS.
const (
	msgMissingToken      = "Request is missing Authentication Token"
	msgInvalidToken      = "The security token included in the request is invalid."
	msgHostNotSigned     = "'Host' must be a 'SignedHeader' in the AWS Authorization."
	msgMismatch          = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgContentSHA        = "The provided 'x-amz-content-sha256' header does not match what was computed."
	msgRequestExpired    = "Request has expired"
	msgTwoMechanisms     = "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified"
	msgPresignIncomplete = "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders', and 'X-Amz-Expires'. Re-examine the query-string parameters."
)

func newError(code, msg string) *Error { return &Error{Code: code, Message: msg} }

func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// skewError reports a signing time outside [now-skew, now+skew] in AWS's
// words, e.g. "Signature expired: 20260101T000000Z is now earlier than
// 20260121T110000Z (20260121T111500Z - 15 min.)".
func skewError(signedAt, now time.Time, skew time.Duration) *Error {
	if signedAt.Before(now) {
		return errorf(CodeInvalidSignature, "Signature expired: %s is now earlier than %s (%s - %s.)",
			signedAt.Format(timeFormat), now.Add(-skew).Format(timeFormat), now.Format(timeFormat), skewText(skew))
	}
	return errorf(CodeInvalidSignature, "Signature not yet current: %s is still later than %s (%s + %s.)",
		signedAt.Format(timeFormat), now.Add(skew).Format(timeFormat), now.Format(timeFormat), skewText(skew))
}

// skewText renders the allowed skew as AWS does ("15 min"); a skew that is
// not a whole number of minutes falls back to Go's duration syntax.
func skewText(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%d min", d/time.Minute)
	}
	return d.String()
}
