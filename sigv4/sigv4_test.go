package sigv4_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/pipewright/pipewright/sigv4"
)

const (
	testAKID   = "AKIDPIPEWRIGHT"
	testSecret = "pipewright/secret+key"
	testRegion = "us-east-1"
	testBody   = `{"name":"demo"}`

	msgMismatch = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)

// signTime is when test requests are signed; verifiers run at this instant
// unless a test moves the clock.
var signTime = time.Date(2026, 1, 21, 11, 0, 0, 0, time.UTC)

var testCreds = aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}

// newVerifier knows testAKID (and the AWS test-suite key pairs) and runs
// its clock at now.
func newVerifier(now time.Time) *sigv4.Verifier {
	keys := map[string]string{
		testAKID:               testSecret,
		"AKIDEXAMPLE":          "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
		"AKIAIOSFODNN7EXAMPLE": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	}
	return &sigv4.Verifier{
		Lookup: func(id string) (string, bool) {
			s, ok := keys[id]
			return s, ok
		},
		Region: testRegion,
		Now:    func() time.Time { return now },
	}
}

// jsonRequest is a CodePipeline call as it arrives at a server.
func jsonRequest(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "http://localhost:8080/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Target", "CodePipeline_20150709.GetPipeline")
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return r
}

// sdkSign signs r with aws-sdk-go-v2's SigV4 signer.
func sdkSign(t testing.TB, r *http.Request, body string, creds aws.Credentials, service, region string, at time.Time) {
	t.Helper()
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(sum[:]), service, region, at); err != nil {
		t.Fatalf("sign: %v", err)
	}
}

// signedJSON is jsonRequest(testBody) signed by the SDK for CodePipeline.
func signedJSON(t testing.TB) *http.Request {
	r := jsonRequest(testBody)
	sdkSign(t, r, testBody, testCreds, "codepipeline", testRegion, signTime)
	return r
}

// authError asserts err is a *sigv4.Error and returns it.
func authError(t *testing.T, err error) *sigv4.Error {
	t.Helper()
	var e *sigv4.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want *sigv4.Error", err, err)
	}
	return e
}

func TestVerifySDKSigned(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		method  string
		target  string
		service string
		body    string
		before  func(r *http.Request) // headers set before signing
		after   func(r *http.Request) // changes after signing that must not matter
	}{
		{name: "json post", body: testBody},
		{name: "empty body", body: ""},
		{name: "extra signed headers", body: testBody, before: func(r *http.Request) {
			r.Header.Set("X-Custom", "  spaced    out   value ")
			r.Header.Set("Amz-Sdk-Invocation-Id", "0b2e3a4c-1111-2222-3333-444455556666")
			r.Header.Set("Amz-Sdk-Request", "attempt=1; max=3")
		}},
		{name: "duplicate header values", body: testBody, before: func(r *http.Request) {
			r.Header.Add("X-Multi", "first")
			r.Header.Add("X-Multi", " second ")
			r.Header.Add("X-Multi", "first")
		}},
		{name: "unsigned headers added later", body: testBody, before: func(r *http.Request) {
			r.Header.Set("User-Agent", "aws-sdk-go-v2/1.0")
			r.Header.Set("X-Amzn-Trace-Id", "Root=1-abc")
		}, after: func(r *http.Request) {
			r.Header.Set("User-Agent", "changed by a proxy")
			r.Header.Set("X-Amzn-Trace-Id", "Root=1-def")
			r.Header.Set("X-Forwarded-For", "10.0.0.1")
			r.Header.Set("Accept-Encoding", "gzip")
		}},
		{name: "query string", method: http.MethodGet, target: "/?b=2&a=1&a=0&sp=x%20y&plus=a+b&tilde=~&slash=a%2Fb&empty=&bare"},
		{name: "escaped path", method: http.MethodGet, target: "/a%20b/c~d/$x/%E1%88%B4/"},
		{name: "dot segments are signed unnormalized by the Go SDK", method: http.MethodGet, target: "/a/./b/../c//d"},
		{name: "s3 unsigned payload", service: "s3", method: http.MethodPut, target: "/bucket/key%20name", body: "data", before: func(r *http.Request) {
			r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			method, target, service := c.method, c.target, c.service
			if method == "" {
				method = http.MethodPost
			}
			if target == "" {
				target = "/"
			}
			if service == "" {
				service = "codepipeline"
			}
			r := httptest.NewRequest(method, "http://localhost:8080"+target, strings.NewReader(c.body))
			r.Header.Set("Content-Type", "application/x-amz-json-1.1")
			if c.before != nil {
				c.before(r)
			}
			payload := c.body
			sum := sha256.Sum256([]byte(payload))
			hash := hex.EncodeToString(sum[:])
			if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" {
				hash = h
			}
			// The SDK's S3 client signs the path as sent.
			s3Path := func(o *v4.SignerOptions) { o.DisableURIPathEscaping = service == "s3" }
			if err := v4.NewSigner().SignHTTP(context.Background(), testCreds, r, hash, service, testRegion, signTime, s3Path); err != nil {
				t.Fatal(err)
			}
			if c.after != nil {
				c.after(r)
			}
			id, err := newVerifier(signTime).Verify(r, []byte(c.body), service)
			if err != nil {
				t.Fatalf("Verify: %v\nAuthorization: %s", err, r.Header.Get("Authorization"))
			}
			want := sigv4.Identity{AccessKeyID: testAKID, Region: testRegion, Service: service, SignedAt: signTime,
				UnsignedPayload: service == "s3"}
			if id != want {
				t.Errorf("identity %+v, want %+v", id, want)
			}
		})
	}
}

func TestVerifyFailures(t *testing.T) {
	t.Parallel()
	replaceAuth := func(old, new string) func(*testing.T, *http.Request) {
		return func(t *testing.T, r *http.Request) {
			a := r.Header.Get("Authorization")
			if !strings.Contains(a, old) {
				t.Fatalf("%q not in %q", old, a)
			}
			r.Header.Set("Authorization", strings.Replace(a, old, new, 1))
		}
	}
	rawAuth := func(auth string, date bool) func() *http.Request {
		return func() *http.Request {
			r := jsonRequest(testBody)
			r.Header.Set("Authorization", auth)
			if date {
				r.Header.Set("X-Amz-Date", "20260121T110000Z")
			}
			return r
		}
	}
	signedWith := func(creds aws.Credentials, service, region string) func() *http.Request {
		return func() *http.Request {
			r := jsonRequest(testBody)
			sdkSign(t, r, testBody, creds, service, region, signTime)
			return r
		}
	}
	for _, c := range []struct {
		name     string
		request  func() *http.Request // default: signedJSON
		mutate   func(*testing.T, *http.Request)
		body     string // default: testBody
		service  string // default: codepipeline
		code     string
		message  string // exact, unless prefix is set
		prefix   bool
		absentIn []string // strings the message must not contain
	}{
		{name: "no authorization", request: func() *http.Request { return jsonRequest(testBody) },
			code: sigv4.CodeMissingAuthenticationToken, message: "Request is missing Authentication Token"},
		{name: "bearer scheme", request: rawAuth("Bearer abc", true),
			code: sigv4.CodeMissingAuthenticationToken, message: "Request is missing Authentication Token"},
		{name: "sigv2 scheme", request: rawAuth("AWS AKIDPIPEWRIGHT:c2lnbmF0dXJl", true),
			code: sigv4.CodeMissingAuthenticationToken, message: "Request is missing Authentication Token"},
		{name: "missing credential and signature", request: rawAuth("AWS4-HMAC-SHA256 SignedHeaders=host", true),
			code: sigv4.CodeIncompleteSignature,
			message: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. " +
				"Authorization=AWS4-HMAC-SHA256 SignedHeaders=host"},
		{name: "missing everything", request: rawAuth("AWS4-HMAC-SHA256", false),
			code: sigv4.CodeIncompleteSignature,
			message: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. " +
				"Authorization header requires 'SignedHeaders' parameter. " +
				"Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256"},
		{name: "missing date", mutate: func(_ *testing.T, r *http.Request) { r.Header.Del("X-Amz-Date") },
			code: sigv4.CodeIncompleteSignature, prefix: true,
			message: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256 Credential="},
		{name: "parameter without equals sign",
			request: rawAuth("AWS4-HMAC-SHA256 Credential, SignedHeaders=host, Signature=ab", true),
			code:    sigv4.CodeIncompleteSignature,
			message: "'Credential' not a valid key=value pair (missing equal-sign) in Authorization header: 'AWS4-HMAC-SHA256 Credential, SignedHeaders=host, Signature=ab'."},
		{name: "malformed x-amz-date", mutate: func(_ *testing.T, r *http.Request) { r.Header.Set("X-Amz-Date", "201") },
			code: sigv4.CodeIncompleteSignature, message: "Date must be in ISO-8601 'basic format'. Got '201'. See http://en.wikipedia.org/wiki/ISO_8601"},
		{name: "host not signed", mutate: replaceAuth("host;", ""),
			code: sigv4.CodeInvalidSignature, message: "'Host' must be a 'SignedHeader' in the AWS Authorization."},
		{name: "unsupported algorithm", mutate: replaceAuth("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512"),
			code: sigv4.CodeIncompleteSignature, message: "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now). "},
		{name: "credential with four parts",
			request: rawAuth("AWS4-HMAC-SHA256 Credential=AKIDPIPEWRIGHT/20260121/us-east-1/codepipeline, SignedHeaders=host;x-amz-date, Signature=00", true),
			code:    sigv4.CodeIncompleteSignature,
			message: "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'AKIDPIPEWRIGHT/20260121/us-east-1/codepipeline'"},
		{name: "wrong region", request: signedWith(testCreds, "codepipeline", "eu-west-9"),
			code: sigv4.CodeInvalidSignature, message: "Credential should be scoped to a valid region, not 'eu-west-9'. "},
		{name: "wrong service", request: signedWith(testCreds, "codebuild", testRegion),
			code: sigv4.CodeInvalidSignature, message: "Credential should be scoped to correct service: 'codepipeline'. "},
		{name: "wrong region and service", request: signedWith(testCreds, "codebuild", "eu-west-9"),
			code:    sigv4.CodeInvalidSignature,
			message: "Credential should be scoped to a valid region, not 'eu-west-9'. Credential should be scoped to correct service: 'codepipeline'. "},
		{name: "wrong terminator", mutate: replaceAuth("/aws4_request", "/aws5_request"),
			code: sigv4.CodeInvalidSignature, message: "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. "},
		{name: "scope date differs from x-amz-date", mutate: replaceAuth("/20260121/", "/20260120/"),
			code:    sigv4.CodeInvalidSignature,
			message: "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20260120' != '20260121', from '20260121T110000Z'."},
		{name: "unknown access key", request: signedWith(aws.Credentials{AccessKeyID: "AKIDUNKNOWN", SecretAccessKey: testSecret}, "codepipeline", testRegion),
			code: sigv4.CodeUnrecognizedClient, message: "The security token included in the request is invalid."},
		{name: "session token", request: signedWith(aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret, SessionToken: "FQoGZXIvYXdzEXAMPLE"}, "codepipeline", testRegion),
			code: sigv4.CodeUnrecognizedClient, message: "The security token included in the request is invalid."},
		{name: "wrong secret", request: signedWith(aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: "not-the-secret"}, "codepipeline", testRegion),
			code: sigv4.CodeInvalidSignature, message: msgMismatch, prefix: true,
			absentIn: []string{testSecret, goodSignature(t), "not-the-secret"}},
		{name: "signature not hex", mutate: func(t *testing.T, r *http.Request) {
			a := r.Header.Get("Authorization")
			i := strings.Index(a, "Signature=") + len("Signature=")
			r.Header.Set("Authorization", a[:i]+strings.Repeat("zz", 32))
		}, code: sigv4.CodeInvalidSignature, message: msgMismatch, prefix: true},
		{name: "signature truncated", mutate: func(t *testing.T, r *http.Request) {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:len(a)-2])
		}, code: sigv4.CodeInvalidSignature, message: msgMismatch, prefix: true},
		{name: "tampered body", body: `{"name":"evil"}`,
			code: sigv4.CodeInvalidSignature, message: msgMismatch, prefix: true, absentIn: []string{goodSignature(t)}},
		{name: "signed header changed", mutate: func(_ *testing.T, r *http.Request) {
			r.Header.Set("X-Amz-Target", "CodePipeline_20150709.DeletePipeline")
		}, code: sigv4.CodeInvalidSignature, message: msgMismatch, prefix: true},
		{name: "host changed", mutate: func(_ *testing.T, r *http.Request) { r.Host = "localhost:9090" },
			code: sigv4.CodeInvalidSignature, message: msgMismatch, prefix: true},
		{name: "method changed", mutate: func(_ *testing.T, r *http.Request) { r.Method = http.MethodPut },
			code: sigv4.CodeInvalidSignature, message: msgMismatch, prefix: true},
		{name: "query added", mutate: func(_ *testing.T, r *http.Request) { r.URL.RawQuery = "a=1" },
			code: sigv4.CodeInvalidSignature, message: msgMismatch, prefix: true},
		{name: "authorization and presigned query", mutate: func(_ *testing.T, r *http.Request) {
			r.URL.RawQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256"
		}, code: sigv4.CodeIncompleteSignature,
			message: "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified"},
		{name: "content sha256 does not match body", service: "s3", request: func() *http.Request {
			r := jsonRequest("other")
			sum := sha256.Sum256([]byte("other"))
			r.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
			sdkSign(t, r, "other", testCreds, "s3", testRegion, signTime)
			return r
		}, code: sigv4.CodeInvalidSignature, message: "The provided 'x-amz-content-sha256' header does not match what was computed."},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var r *http.Request
			if c.request != nil {
				r = c.request()
			} else {
				r = signedJSON(t)
			}
			if c.mutate != nil {
				c.mutate(t, r)
			}
			body, service := c.body, c.service
			if body == "" {
				body = testBody
			}
			if service == "" {
				service = "codepipeline"
			}
			id, err := newVerifier(signTime).Verify(r, []byte(body), service)
			if err == nil {
				t.Fatalf("Verify succeeded: %+v", id)
			}
			e := authError(t, err)
			if e.Code != c.code {
				t.Errorf("code %s, want %s (message %q)", e.Code, c.code, e.Message)
			}
			if c.prefix && !strings.HasPrefix(e.Message, c.message) || !c.prefix && e.Message != c.message {
				t.Errorf("message\n got %q\nwant %q (prefix %v)", e.Message, c.message, c.prefix)
			}
			for _, s := range c.absentIn {
				if strings.Contains(e.Message, s) {
					t.Errorf("message contains %q: %s", s, e.Message)
				}
			}
			if e.Error() != e.Code+": "+e.Message {
				t.Errorf("Error() = %q", e.Error())
			}
		})
	}
}

// goodSignature is the signature signedJSON carries, which a failure
// message must never reveal.
func goodSignature(t testing.TB) string {
	a := signedJSON(t).Header.Get("Authorization")
	return a[strings.Index(a, "Signature=")+len("Signature="):]
}

func TestVerifyMismatchExplainsCanonicalRequest(t *testing.T) {
	t.Parallel()
	r := signedJSON(t)
	_, err := newVerifier(signTime).Verify(r, []byte(`{"name":"evil"}`), "codepipeline")
	e := authError(t, err)
	sum := sha256.Sum256([]byte(`{"name":"evil"}`))
	wantCreq := "POST\n/\n\ncontent-length:15\ncontent-type:application/x-amz-json-1.1\nhost:localhost:8080\n" +
		"x-amz-date:20260121T110000Z\nx-amz-target:CodePipeline_20150709.GetPipeline\n\n" +
		"content-length;content-type;host;x-amz-date;x-amz-target\n" + hex.EncodeToString(sum[:])
	if !strings.Contains(e.Message, "\n\nThe Canonical String for this request should have been\n'"+wantCreq+"'\n") {
		t.Errorf("message does not show the canonical request:\n%s", e.Message)
	}
	if !strings.Contains(e.Message, "The String-to-Sign should have been\n'AWS4-HMAC-SHA256\n20260121T110000Z\n20260121/us-east-1/codepipeline/aws4_request\n") {
		t.Errorf("message does not show the string to sign:\n%s", e.Message)
	}
}

func TestVerifyClockSkew(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		now     time.Time
		maxSkew time.Duration
		message string // empty: accepted
	}{
		{name: "at signing time", now: signTime},
		{name: "15 minutes later", now: signTime.Add(15 * time.Minute)},
		{name: "15 minutes earlier", now: signTime.Add(-15 * time.Minute)},
		{name: "expired", now: signTime.Add(15*time.Minute + time.Second),
			message: "Signature expired: 20260121T110000Z is now earlier than 20260121T110001Z (20260121T111501Z - 15 min.)"},
		{name: "far past", now: time.Date(2026, 1, 21, 11, 15, 0, 0, time.UTC).AddDate(0, 0, 20),
			message: "Signature expired: 20260121T110000Z is now earlier than 20260210T110000Z (20260210T111500Z - 15 min.)"},
		{name: "not yet current", now: signTime.Add(-16 * time.Minute),
			message: "Signature not yet current: 20260121T110000Z is still later than 20260121T105900Z (20260121T104400Z + 15 min.)"},
		{name: "custom skew", now: signTime.Add(6 * time.Minute), maxSkew: 5 * time.Minute,
			message: "Signature expired: 20260121T110000Z is now earlier than 20260121T110100Z (20260121T110600Z - 5 min.)"},
		{name: "custom skew inside", now: signTime.Add(-4 * time.Minute), maxSkew: 5 * time.Minute},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			v := newVerifier(c.now)
			v.MaxSkew = c.maxSkew
			_, err := v.Verify(signedJSON(t), []byte(testBody), "codepipeline")
			if c.message == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			e := authError(t, err)
			if e.Code != sigv4.CodeInvalidSignature || e.Message != c.message {
				t.Errorf("got %s %q\nwant %s %q", e.Code, e.Message, sigv4.CodeInvalidSignature, c.message)
			}
		})
	}
}

func TestVerifyDefaultClock(t *testing.T) {
	t.Parallel()
	v := newVerifier(time.Time{})
	v.Now = nil
	r := jsonRequest(testBody)
	sdkSign(t, r, testBody, testCreds, "codepipeline", testRegion, time.Now())
	if _, err := v.Verify(r, []byte(testBody), "codepipeline"); err != nil {
		t.Fatalf("Verify with time.Now: %v", err)
	}
	if _, err := v.Verify(signedJSON(t), []byte(testBody), "codepipeline"); err == nil {
		t.Fatal("a request signed in January 2026 verified against the real clock")
	}
}

func TestVerifyNilLookup(t *testing.T) {
	t.Parallel()
	v := &sigv4.Verifier{Region: testRegion, Now: func() time.Time { return signTime }}
	_, err := v.Verify(signedJSON(t), []byte(testBody), "codepipeline")
	if e := authError(t, err); e.Code != sigv4.CodeUnrecognizedClient {
		t.Errorf("code %s", e.Code)
	}
}

func TestVerifyAnyRegion(t *testing.T) {
	t.Parallel()
	v := newVerifier(signTime)
	v.Region = ""
	r := jsonRequest(testBody)
	sdkSign(t, r, testBody, testCreds, "codepipeline", "ap-southeast-2", signTime)
	id, err := v.Verify(r, []byte(testBody), "codepipeline")
	if err != nil {
		t.Fatal(err)
	}
	if id.Region != "ap-southeast-2" {
		t.Errorf("region %q", id.Region)
	}
}

func TestVerifyDuplicateHeaders(t *testing.T) {
	t.Parallel()
	r := jsonRequest(testBody)
	r.Header.Add("X-Multi", "b")
	r.Header.Add("X-Multi", "a")
	sdkSign(t, r, testBody, testCreds, "codepipeline", testRegion, signTime)
	if !strings.Contains(r.Header.Get("Authorization"), ";x-multi,") && !strings.Contains(r.Header.Get("Authorization"), ";x-multi;") {
		t.Fatalf("x-multi not signed: %s", r.Header.Get("Authorization"))
	}
	v := newVerifier(signTime)
	if _, err := v.Verify(r, []byte(testBody), "codepipeline"); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	// Order matters: "b,a" was signed.
	r.Header["X-Multi"] = []string{"a", "b"}
	if _, err := v.Verify(r, []byte(testBody), "codepipeline"); err == nil {
		t.Fatal("reordered header values verified")
	}
	// One value "b,a" canonicalizes like the two values b and a.
	r.Header["X-Multi"] = []string{"b,a"}
	if _, err := v.Verify(r, []byte(testBody), "codepipeline"); err != nil {
		t.Fatalf("joined value: %v", err)
	}
	// A key stored in a non-canonical case is still found.
	delete(r.Header, "X-Multi")
	r.Header["x-multi"] = []string{"b", "a"}
	if _, err := v.Verify(r, []byte(testBody), "codepipeline"); err != nil {
		t.Fatalf("lower-case key: %v", err)
	}
}

func TestVerifyConcurrent(t *testing.T) {
	t.Parallel()
	v := newVerifier(signTime)
	// Requests signed across a 25-minute window, half with a wrong secret,
	// share one Verifier and its key cache.
	var good, bad []*http.Request
	for j := range 50 {
		at := signTime.Add(time.Duration(j-25) * time.Minute / 2)
		r := jsonRequest(testBody)
		sdkSign(t, r, testBody, testCreds, "codepipeline", testRegion, at)
		good = append(good, r)
		r = jsonRequest(testBody)
		sdkSign(t, r, testBody, aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: "wrong"}, "codepipeline", testRegion, at)
		bad = append(bad, r)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			requests, wantOK := good, true
			if i%2 == 1 {
				requests, wantOK = bad, false
			}
			for j, r := range requests {
				if _, err := v.Verify(r, []byte(testBody), "codepipeline"); (err == nil) != wantOK {
					t.Errorf("goroutine %d request %d: %v", i, j, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestVerifyPresigned(t *testing.T) {
	t.Parallel()
	presign := func(t *testing.T, creds aws.Credentials, expires string, at time.Time) string {
		t.Helper()
		r := httptest.NewRequest(http.MethodGet, "https://bucket.localhost:8443/dir/some%20key.txt?versionId=3", nil)
		if expires != "" {
			r.URL.RawQuery += "&X-Amz-Expires=" + expires
		}
		u, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, r, "UNSIGNED-PAYLOAD", "s3", testRegion, at,
			func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	get := func(u string) *http.Request { return httptest.NewRequest(http.MethodGet, u, nil) }

	t.Run("sdk presigned", func(t *testing.T) {
		t.Parallel()
		id, err := newVerifier(signTime.Add(time.Hour)).Verify(get(presign(t, testCreds, "7200", signTime)), nil, "s3")
		if err != nil {
			t.Fatal(err)
		}
		if id.AccessKeyID != testAKID || id.Service != "s3" || !id.SignedAt.Equal(signTime) || !id.UnsignedPayload {
			t.Errorf("identity %+v", id)
		}
	})
	t.Run("aws documented example", func(t *testing.T) {
		t.Parallel()
		// "Authenticating Requests: Using Query Parameters (AWS Signature
		// Version 4)", Amazon S3 API Reference.
		u := "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256" +
			"&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request" +
			"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host" +
			"&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
		v := newVerifier(time.Date(2013, 5, 24, 12, 0, 0, 0, time.UTC))
		if _, err := v.Verify(get(u), nil, "s3"); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(get(strings.Replace(u, "test.txt", "test2.txt", 1)), nil, "s3"); err == nil {
			t.Fatal("other key verified")
		}
	})
	for _, c := range []struct {
		name    string
		url     func(t *testing.T) string
		now     time.Time
		header  string // an Authorization header to add
		code    string
		message string
		prefix  bool
	}{
		{name: "expired", url: func(t *testing.T) string { return presign(t, testCreds, "60", signTime) },
			now: signTime.Add(61 * time.Second), code: sigv4.CodeAccessDenied, message: "Request has expired"},
		{name: "not yet valid", url: func(t *testing.T) string { return presign(t, testCreds, "60", signTime) },
			now: signTime.Add(-16 * time.Minute), code: sigv4.CodeInvalidSignature, prefix: true, message: "Signature not yet current: "},
		{name: "missing expires", url: func(t *testing.T) string { return presign(t, testCreds, "", signTime) },
			code:    sigv4.CodeIncompleteSignature,
			message: "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders', and 'X-Amz-Expires'. Re-examine the query-string parameters."},
		{name: "expires too long", url: func(t *testing.T) string { return presign(t, testCreds, "604801", signTime) },
			code: sigv4.CodeIncompleteSignature, message: "X-Amz-Expires must be less than a week (in seconds) that is 604800"},
		{name: "expires not a number", url: func(t *testing.T) string { return presign(t, testCreds, "soon", signTime) },
			code: sigv4.CodeIncompleteSignature, message: "X-Amz-Expires should be a number"},
		{name: "tampered", url: func(t *testing.T) string {
			return strings.Replace(presign(t, testCreds, "60", signTime), "versionId=3", "versionId=4", 1)
		}, code: sigv4.CodeInvalidSignature, prefix: true, message: msgMismatch},
		{name: "unknown key", url: func(t *testing.T) string {
			return presign(t, aws.Credentials{AccessKeyID: "AKIDOTHER", SecretAccessKey: "x"}, "60", signTime)
		}, code: sigv4.CodeUnrecognizedClient, message: "The security token included in the request is invalid."},
		{name: "session token", url: func(t *testing.T) string {
			return presign(t, aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret, SessionToken: "tok"}, "60", signTime)
		}, code: sigv4.CodeUnrecognizedClient, message: "The security token included in the request is invalid."},
		{name: "with authorization header", url: func(t *testing.T) string { return presign(t, testCreds, "60", signTime) },
			header: "AWS4-HMAC-SHA256 Credential=x", code: sigv4.CodeIncompleteSignature, prefix: true, message: "Only one auth mechanism allowed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			now := c.now
			if now.IsZero() {
				now = signTime
			}
			r := get(c.url(t))
			if c.header != "" {
				r.Header.Set("Authorization", c.header)
			}
			_, err := newVerifier(now).Verify(r, nil, "s3")
			e := authError(t, err)
			if e.Code != c.code || c.prefix && !strings.HasPrefix(e.Message, c.message) || !c.prefix && e.Message != c.message {
				t.Errorf("got %s %q\nwant %s %q", e.Code, e.Message, c.code, c.message)
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	body := []byte(`{"pipelineName":"release-pipeline","pipelineExecutionId":"2b3c4d5e-6f70-4182-93a4-b5c6d7e8f901","abandon":false,"reason":"superseded by hotfix"}`)
	r := httptest.NewRequest(http.MethodPost, "http://pipewright.internal:8080/", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Target", "CodePipeline_20150709.StopPipelineExecution")
	r.Header.Set("Amz-Sdk-Invocation-Id", "0b2e3a4c-1111-2222-3333-444455556666")
	r.Header.Set("Amz-Sdk-Request", "attempt=1; max=3")
	r.Header.Set("User-Agent", "aws-sdk-go-v2/1.41.9 ua/2.1 os/linux lang/go#1.26 api/codepipeline#1.47.0")
	r.Header.Set("Accept-Encoding", "identity")
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	sdkSign(b, r, string(body), testCreds, "codepipeline", testRegion, signTime)
	v := newVerifier(signTime)
	if _, err := v.Verify(r, body, "codepipeline"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := v.Verify(r, body, "codepipeline"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyParallel(b *testing.B) {
	body := []byte(testBody)
	r := signedJSON(b)
	v := newVerifier(signTime)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Verify(r, body, "codepipeline"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
