// Package sigv4 verifies AWS Signature Version 4 on incoming HTTP requests,
// so that the aws CLI, boto3 and aws-sdk-go-v2 can call pipewright's
// CodePipeline, CodeBuild and CodeDeploy endpoints with ordinary access
// keys.
//
// Two forms are accepted: the Authorization header
//
//	Authorization: AWS4-HMAC-SHA256 Credential=AKID/20260121/us-east-1/codepipeline/aws4_request,
//	    SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=<hex>
//
// with X-Amz-Date (or Date), and presigned query strings (X-Amz-Algorithm,
// X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders,
// X-Amz-Signature) as S3 uses them.
//
// The canonical request is rebuilt from the request as received, using the
// SignedHeaders list the client sent (aws-sdk-go-v2 and botocore sign
// different header sets). Its parts:
//
//   - the method as sent;
//   - the canonical URI. For services other than "s3" the wire path is
//     normalized (empty and "." segments dropped, ".." resolved, as botocore
//     does) and percent-encoded once more, so "/a%20b" is signed as
//     "/a%2520b": SigV4's "encode twice", as both SDKs apply it. Since
//     aws-sdk-go-v2 does not normalize, a path that normalization changes is
//     also accepted in its un-normalized form. For "s3" the wire path is
//     used as sent;
//   - the canonical query: every parameter decoded, re-encoded with "%20"
//     and upper-case hex, sorted by name then value;
//   - the canonical headers: "host" from r.Host, the rest from r.Header,
//     values trimmed with runs of spaces collapsed, repeated headers joined
//     with ",";
//   - the payload hash: hex SHA-256 of the body, unless X-Amz-Content-Sha256
//     is signed, in which case its value is used (UNSIGNED-PAYLOAD and
//     STREAMING-* included; a hex value must match the body). Presigned
//     URLs without that parameter use UNSIGNED-PAYLOAD, as S3 does.
//
// Verify needs the whole body in memory. S3 bodies are checked as they
// stream instead: VerifyStream verifies the signature without reading the
// body and returns a Payload that decodes aws-chunked bodies and checks a
// signed hex hash, every chunk signature and the trailer signature as the
// content is read (stream.go, chunked.go).
//
// The Host header must reach the server unchanged: a proxy that rewrites it
// breaks every signature.
//
// Failures are *Error values carrying the AWS exception name and message.
// The checks run in the order AWS's Coral front end applies them (as
// recorded by dynalite): parameters, date format, clock skew, host signed,
// algorithm, credential shape, credential scope, access key, then the
// signature; only the session-token check moves ahead of the signature, so
// that a token is never echoed in a mismatch message.
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	algorithm        = "AWS4-HMAC-SHA256"
	timeFormat       = "20060102T150405Z"
	unsignedPayload  = "UNSIGNED-PAYLOAD"
	terminator       = "aws4_request"
	defaultMaxSkew   = 15 * time.Minute
	maxPresignExpiry = 7 * 24 * 60 * 60 // seconds, as S3 allows
)

// Verifier checks AWS SigV4 signatures against known key pairs. Set the
// exported fields before first use and do not copy a Verifier afterwards;
// Verify is safe for concurrent use.
type Verifier struct {
	// Lookup returns the secret access key of a known access key id. A nil
	// Lookup knows no keys.
	Lookup func(accessKeyID string) (secret string, ok bool)
	// Region is the only region accepted in the credential scope; empty
	// accepts any region.
	Region string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxSkew is how far the signing time may be from Now either way;
	// zero or negative means 15 minutes, AWS's value.
	MaxSkew time.Duration

	keys keyCache
}

// Identity is who signed a verified request, and for what.
type Identity struct {
	AccessKeyID string
	Region      string
	Service     string
	SignedAt    time.Time
	// UnsignedPayload is set when the signature does not cover the body:
	// the client sent UNSIGNED-PAYLOAD or STREAMING-* as its payload hash,
	// or a presigned URL had no X-Amz-Content-Sha256. The awsJson clients
	// never do this; callers that rely on body integrity should refuse it.
	// VerifyStream sets it only for UNSIGNED-PAYLOAD (presigned URLs
	// included) and STREAMING-UNSIGNED-PAYLOAD-TRAILER: the signed
	// STREAMING-* forms are covered by their chunk signatures, which the
	// Payload checks.
	UnsignedPayload bool
}

// authorization is what either form carries, gathered for check.
type authorization struct {
	algorithm     string
	credential    string
	signedHeaders string
	signature     string
	hasSigned     bool // SignedHeaders was present (it may be empty)
	signedAt      time.Time
	query         bool   // presigned URL
	contentSHA    string // X-Amz-Content-Sha256 query parameter (presigned)
	token         bool   // an X-Amz-Security-Token was sent
}

// Verify checks that r, whose body has already been read into body, is
// signed for service (e.g. "codepipeline") by a key Lookup knows, in
// Region, within MaxSkew of Now, and returns who signed it. r and body are
// only read.
//
// An empty service accepts a scope for any service (the caller could not
// tell which service the request is for).
//
// On failure the error is an *Error whose Code is one of:
// CodeMissingAuthenticationToken (no AWS4 authentication at all),
// CodeIncompleteSignature (missing or malformed parts),
// CodeInvalidSignature (wrong signature, scope, host or clock),
// CodeUnrecognizedClient (unknown key or a session token) and, for expired
// presigned URLs, CodeAccessDenied.
func (v *Verifier) Verify(r *http.Request, body []byte, service string) (Identity, error) {
	return v.verify(r, body, service, nil)
}

// verify is Verify for both entry points. With st nil the payload hash is
// checked against body; otherwise body is not used, the payload hash is
// taken as the client states it (see streamPayloadHash) and, when the
// signature matches, st receives what the body's own signatures are
// checked with.
func (v *Verifier) verify(r *http.Request, body []byte, service string, st *streamAuth) (Identity, error) {
	auths := r.Header["Authorization"]
	presigned := isPresigned(r.URL.RawQuery)
	if len(auths) == 0 {
		if presigned {
			return v.verifyQuery(r, body, service, st)
		}
		return Identity{}, newError(CodeMissingAuthenticationToken, msgMissingToken)
	}
	auth := strings.TrimSpace(auths[0])
	// A scheme that is not AWS4-* (Bearer, Basic, SigV2's "AWS id:sig") is
	// treated like no header at all: AWS's Coral front end answers
	// MissingAuthenticationTokenException unless the header starts with
	// "AWS4-" (observed and recorded by dynalite, aws-contract.md [DYN]);
	// malformed AWS4-* headers get IncompleteSignatureException below.
	if !strings.HasPrefix(auth, "AWS4-") {
		return Identity{}, newError(CodeMissingAuthenticationToken, msgMissingToken)
	}
	if presigned {
		return Identity{}, newError(CodeIncompleteSignature, msgTwoMechanisms)
	}
	algo, params, _ := strings.Cut(auth, " ")
	a, bad := parseAuthorization(params)
	if bad != "" {
		return Identity{}, errorf(CodeIncompleteSignature,
			"'%s' not a valid key=value pair (missing equal-sign) in Authorization header: '%s'.", bad, auth)
	}
	a.algorithm = algo
	amzDate := firstValue(r.Header["X-Amz-Date"])
	date := firstValue(r.Header["Date"])
	if a.credential == "" || a.signature == "" || !a.hasSigned || amzDate == "" && date == "" {
		return Identity{}, newError(CodeIncompleteSignature, missingParams(a, amzDate == "" && date == "", auth))
	}
	raw := amzDate
	if raw == "" {
		raw = date
	}
	signedAt, ok := parseTime(raw, amzDate != "")
	if !ok {
		return Identity{}, dateFormatError(raw)
	}
	a.signedAt = signedAt
	now, skew := v.now(), v.maxSkew()
	if signedAt.Before(now.Add(-skew)) || signedAt.After(now.Add(skew)) {
		return Identity{}, skewError(signedAt, now, skew)
	}
	_, a.token = r.Header["X-Amz-Security-Token"]
	return v.check(r, body, service, &a, st)
}

// parseAuthorization reads the comma-separated key=value parameters after
// the algorithm. It returns the first parameter lacking "=", if any.
func parseAuthorization(params string) (a authorization, bad string) {
	for rest := params; rest != ""; {
		var part string
		part, rest, _ = strings.Cut(rest, ",")
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, val, ok := strings.Cut(part, "=")
		if !ok {
			return a, part
		}
		val = strings.TrimSpace(val)
		switch strings.TrimSpace(k) {
		case "Credential":
			a.credential = val
		case "SignedHeaders":
			a.signedHeaders = val
			a.hasSigned = true
		case "Signature":
			a.signature = val
		}
	}
	return a, ""
}

// missingParams is AWS's message listing every missing part, followed by
// the header as received.
func missingParams(a authorization, noDate bool, auth string) string {
	var b strings.Builder
	if a.credential == "" {
		b.WriteString("Authorization header requires 'Credential' parameter. ")
	}
	if a.signature == "" {
		b.WriteString("Authorization header requires 'Signature' parameter. ")
	}
	if !a.hasSigned {
		b.WriteString("Authorization header requires 'SignedHeaders' parameter. ")
	}
	if noDate {
		b.WriteString("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ")
	}
	b.WriteString("Authorization=")
	b.WriteString(auth)
	return b.String()
}

func dateFormatError(raw string) *Error {
	return errorf(CodeIncompleteSignature,
		"Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", raw)
}

// parseTime reads X-Amz-Date (ISO-8601 basic format only) or, when amz is
// false, a Date header, which may also be an HTTP date: RFC 1123 with "GMT"
// or with a numeric zone, as botocore's formatdate writes "-0000".
func parseTime(s string, amz bool) (time.Time, bool) {
	if t, err := time.Parse(timeFormat, s); err == nil {
		return t, true
	}
	if amz {
		return time.Time{}, false
	}
	if t, err := http.ParseTime(s); err == nil {
		return t.UTC(), true
	}
	if t, err := time.Parse(time.RFC1123Z, s); err == nil {
		return t.UTC(), true
	}
	return time.Time{}, false
}

// isPresigned reports whether the raw query carries SigV4 query
// authentication.
func isPresigned(raw string) bool {
	return raw != "" && (strings.Contains(raw, "X-Amz-Algorithm=") ||
		strings.Contains(raw, "X-Amz-Credential=") || strings.Contains(raw, "X-Amz-Signature="))
}

// verifyQuery checks a presigned URL.
func (v *Verifier) verifyQuery(r *http.Request, body []byte, service string, st *streamAuth) (Identity, error) {
	q, _ := url.ParseQuery(r.URL.RawQuery)
	a := authorization{
		algorithm:     q.Get("X-Amz-Algorithm"),
		credential:    q.Get("X-Amz-Credential"),
		signedHeaders: q.Get("X-Amz-SignedHeaders"),
		signature:     q.Get("X-Amz-Signature"),
		contentSHA:    q.Get("X-Amz-Content-Sha256"),
		query:         true,
	}
	date, expires := q.Get("X-Amz-Date"), q.Get("X-Amz-Expires")
	if a.algorithm == "" || a.credential == "" || a.signedHeaders == "" || a.signature == "" || date == "" || expires == "" {
		return Identity{}, newError(CodeIncompleteSignature, msgPresignIncomplete)
	}
	signedAt, ok := parseTime(date, true)
	if !ok {
		return Identity{}, dateFormatError(date)
	}
	secs, err := strconv.ParseInt(expires, 10, 64)
	switch {
	case err != nil:
		return Identity{}, newError(CodeIncompleteSignature, "X-Amz-Expires should be a number")
	case secs < 0:
		return Identity{}, newError(CodeIncompleteSignature, "X-Amz-Expires must be non-negative")
	case secs > maxPresignExpiry:
		return Identity{}, newError(CodeIncompleteSignature, "X-Amz-Expires must be less than a week (in seconds) that is 604800")
	}
	a.signedAt = signedAt
	now, skew := v.now(), v.maxSkew()
	if signedAt.After(now.Add(skew)) {
		return Identity{}, skewError(signedAt, now, skew)
	}
	if now.After(signedAt.Add(time.Duration(secs) * time.Second)) {
		return Identity{}, newError(CodeAccessDenied, msgRequestExpired)
	}
	_, inQuery := q["X-Amz-Security-Token"]
	_, inHeader := r.Header["X-Amz-Security-Token"]
	a.token = inQuery || inHeader
	return v.check(r, body, service, &a, st)
}

// check runs the steps both forms share, from "host is signed" on. The
// session token is refused before the signature is computed. With st set,
// the payload hash comes from streamPayloadHash instead of body, and a
// matching signature fills st.
func (v *Verifier) check(r *http.Request, body []byte, service string, a *authorization, st *streamAuth) (Identity, error) {
	if !signsHeader(a.signedHeaders, "host") {
		return Identity{}, newError(CodeInvalidSignature, msgHostNotSigned)
	}
	if a.algorithm != algorithm {
		return Identity{}, errorf(CodeIncompleteSignature,
			"Unsupported AWS 'algorithm': '%s' (only AWS4-HMAC-SHA256 for now). ", a.algorithm)
	}
	akid, date, region, svc, term, ok := splitCredential(a.credential)
	if !ok {
		return Identity{}, errorf(CodeIncompleteSignature,
			"Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", a.credential)
	}
	var stampBuf [len(timeFormat)]byte
	stamp := a.signedAt.AppendFormat(stampBuf[:0], timeFormat)
	if msg := scopeProblems(date, region, svc, term, v.Region, service, stamp); msg != "" {
		return Identity{}, newError(CodeInvalidSignature, msg)
	}
	var secret string
	known := false
	if v.Lookup != nil {
		secret, known = v.Lookup(akid)
	}
	if !known {
		return Identity{}, newError(CodeUnrecognizedClient, msgInvalidToken)
	}
	// pipewright issues no session tokens, so any token is refused. Coral
	// checks the token after the signature; checking it first answers the
	// same code for a correctly signed request and keeps a token (perhaps a
	// real AWS one, from a client pointed at pipewright by mistake) out of
	// the canonical request a mismatch message would echo.
	if a.token {
		return Identity{}, newError(CodeUnrecognizedClient, msgInvalidToken)
	}

	if svc == "s3" {
		if names := unsignedAmzHeaders(r, a); names != "" {
			return Identity{}, newError(CodeHeadersNotSigned, names)
		}
	}

	var payloadBuf [2 * sha256.Size]byte
	var payload []byte
	var unsigned bool
	var perr *Error
	if st != nil {
		payload, unsigned, perr = streamPayloadHash(payloadBuf[:0], r, a)
	} else {
		payload, unsigned, perr = payloadHash(payloadBuf[:0], r, body, a)
	}
	if perr != nil {
		return Identity{}, perr
	}
	var want [sha256.Size]byte
	sigOK := decodeHex(want[:], a.signature)
	key := v.keys.get(secret, date, region, svc)

	path := escapedPath(r)
	form := uriNormalized
	if svc == "s3" {
		form = uriAsSent
	}
	var creqBuf [1024]byte
	var stsBuf [256]byte
	creq := appendCanonicalRequest(creqBuf[:0], r, path, form, a, payload)
	sts := appendStringToSign(hmacBlock(stsBuf[:0], &key, 0x36), stamp, date, region, svc, creq)
	got := signature(&key, sts)
	match := hmac.Equal(got[:], want[:])
	if !match && form == uriNormalized && mayNormalize(path) {
		// aws-sdk-go-v2 signs the path without normalizing it.
		var altBuf [1024]byte
		var altSTS [256]byte
		alt := appendCanonicalRequest(altBuf[:0], r, path, uriEscaped, a, payload)
		got = signature(&key, appendStringToSign(hmacBlock(altSTS[:0], &key, 0x36), stamp, date, region, svc, alt))
		match = hmac.Equal(got[:], want[:])
	}
	if !match || !sigOK {
		return Identity{}, newError(CodeInvalidSignature, mismatchMessage(creq, sts[sha256.BlockSize:]))
	}
	if st != nil {
		st.set(string(payload), key, want, string(stamp), date, region, svc)
	}
	return Identity{AccessKeyID: akid, Region: region, Service: svc, SignedAt: a.signedAt, UnsignedPayload: unsigned}, nil
}

// splitCredential splits "akid/date/region/service/terminator"; trailing
// slashes are ignored, as AWS does.
func splitCredential(c string) (akid, date, region, service, term string, ok bool) {
	c = strings.TrimRight(c, "/")
	var rest string
	if akid, rest, ok = strings.Cut(c, "/"); !ok {
		return
	}
	if date, rest, ok = strings.Cut(rest, "/"); !ok {
		return
	}
	if region, rest, ok = strings.Cut(rest, "/"); !ok {
		return
	}
	if service, term, ok = strings.Cut(rest, "/"); !ok {
		return
	}
	ok = !strings.Contains(term, "/")
	return
}

// scopeProblems lists, in AWS's words and order, what is wrong with the
// credential scope; empty when nothing is.
func scopeProblems(date, region, svc, term, wantRegion, wantService string, stamp []byte) string {
	if (wantRegion == "" || region == wantRegion) && (wantService == "" || svc == wantService) && term == terminator && date == string(stamp[:8]) {
		return ""
	}
	var b strings.Builder
	if wantRegion != "" && region != wantRegion {
		b.WriteString("Credential should be scoped to a valid region, not '" + region + "'. ")
	}
	if wantService != "" && svc != wantService {
		b.WriteString("Credential should be scoped to correct service: '" + wantService + "'. ")
	}
	if term != terminator {
		b.WriteString("Credential should be scoped with a valid terminator: 'aws4_request', not '" + term + "'. ")
	}
	if date != string(stamp[:8]) {
		b.WriteString("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" +
			date + "' != '" + string(stamp[:8]) + "', from '" + string(stamp) + "'.")
	}
	return b.String()
}

// payloadHash appends the payload hash line of the canonical request and
// reports whether it leaves the body unsigned.
func payloadHash(dst []byte, r *http.Request, body []byte, a *authorization) ([]byte, bool, *Error) {
	claimed := ""
	if signsHeader(a.signedHeaders, "x-amz-content-sha256") {
		claimed = firstValue(lookupHeader(r.Header, "x-amz-content-sha256"))
	} else if a.query {
		claimed = a.contentSHA
		if claimed == "" {
			claimed = unsignedPayload
		}
	}
	if claimed == unsignedPayload || strings.HasPrefix(claimed, "STREAMING-") {
		return append(dst, claimed...), true, nil
	}
	sum := sha256.Sum256(body)
	dst = hex.AppendEncode(dst, sum[:])
	if claimed != "" {
		if !strings.EqualFold(claimed, string(dst)) {
			return nil, false, newError(CodeInvalidSignature, msgContentSHA)
		}
		return append(dst[:0], claimed...), false, nil
	}
	return dst, false, nil
}

// appendCanonicalRequest appends the SigV4 canonical request.
func appendCanonicalRequest(dst []byte, r *http.Request, path string, form uriForm, a *authorization, payload []byte) []byte {
	dst = append(dst, r.Method...)
	dst = append(dst, '\n')
	dst = appendCanonicalURI(dst, path, form)
	dst = append(dst, '\n')
	dst = appendCanonicalQuery(dst, r.URL.RawQuery, a.query)
	dst = append(dst, '\n')
	dst = appendCanonicalHeaders(dst, r, a.signedHeaders)
	dst = append(dst, '\n')
	dst = append(dst, a.signedHeaders...)
	dst = append(dst, '\n')
	return append(dst, payload...)
}

// appendStringToSign appends the SigV4 string to sign for creq.
func appendStringToSign(dst, stamp []byte, date, region, service string, creq []byte) []byte {
	dst = append(dst, algorithm+"\n"...)
	dst = append(dst, stamp...)
	dst = append(dst, '\n')
	dst = append(dst, date...)
	dst = append(dst, '/')
	dst = append(dst, region...)
	dst = append(dst, '/')
	dst = append(dst, service...)
	dst = append(dst, "/"+terminator+"\n"...)
	sum := sha256.Sum256(creq)
	return hex.AppendEncode(dst, sum[:])
}

// mismatchMessage is AWS's signature-mismatch text followed, as Coral
// services answer, by the canonical request and string to sign the server
// expected: neither holds a secret or a signature, and they are what a
// client author needs to find the difference.
func mismatchMessage(creq, sts []byte) string {
	return msgMismatch + "\n\nThe Canonical String for this request should have been\n'" + string(creq) +
		"'\n\nThe String-to-Sign should have been\n'" + string(sts) + "'\n"
}

// decodeHex decodes a hex signature of exactly len(dst) bytes.
func decodeHex(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, ok1 := fromHex(s[2*i])
		lo, ok2 := fromHex(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func fromHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func firstValue(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now().UTC()
	}
	return time.Now().UTC()
}

func (v *Verifier) maxSkew() time.Duration {
	if v.MaxSkew > 0 {
		return v.MaxSkew
	}
	return defaultMaxSkew
}

// unsignedAmzHeaders lists, comma-separated and lower-cased, the x-amz-*
// headers of an S3 request that its signature does not cover: S3 refuses
// them, because they change what the request does (x-amz-copy-source
// turns a presigned upload into a copy of another object). A presigned
// URL may leave x-amz-content-sha256 out, as S3 allows.
func unsignedAmzHeaders(r *http.Request, a *authorization) string {
	var out []string
	for name := range r.Header {
		n := strings.ToLower(name)
		if !strings.HasPrefix(n, "x-amz-") || n == "x-amz-security-token" || a.query && n == "x-amz-content-sha256" {
			continue
		}
		if !signsHeader(a.signedHeaders, n) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}
