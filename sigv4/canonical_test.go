package sigv4

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/smithy-go/encoding/httpbinding"
)

func TestCanonicalURI(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		path string
		form uriForm
		want string
	}{
		// AWS test suite normalize-path/ cases.
		{"/", uriNormalized, "/"},
		{"/example/..", uriNormalized, "/"},
		{"/example1/example2/../..", uriNormalized, "/"},
		{"//", uriNormalized, "/"},
		{"/./", uriNormalized, "/"},
		{"/./example", uriNormalized, "/example"},
		{"//example//", uriNormalized, "/example/"},
		{"/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", uriNormalized,
			"/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"},
		{"/example/$delete", uriNormalized, "/example/%24delete"},
		// More normalization.
		{"/a/b/../c/", uriNormalized, "/a/c/"},
		{"/a/b/../../../c", uriNormalized, "/c"},
		{"/../a", uriNormalized, "/a"},
		{"/a/..", uriNormalized, "/"},
		{"/a/%2E%2E/b", uriNormalized, "/a/%252E%252E/b"},
		{"/.well-known/x", uriNormalized, "/.well-known/x"},
		// The wire path is escaped once more: "double encoding".
		{"/example%20space/", uriNormalized, "/example%2520space/"},
		{"/%E1%88%B4", uriNormalized, "/%25E1%2588%25B4"},
		{"/a:b@c+d,e=f", uriNormalized, "/a%3Ab%40c%2Bd%2Ce%3Df"},
		{"/a%2Fb", uriNormalized, "/a%252Fb"},
		// aws-sdk-go-v2: escaped, not normalized.
		{"//example//", uriEscaped, "//example//"},
		{"/a/./b/../c", uriEscaped, "/a/./b/../c"},
		{"/example%20space/", uriEscaped, "/example%2520space/"},
		// S3: as sent.
		{"/test%24file.text", uriAsSent, "/test%24file.text"},
		{"/a//b/../c", uriAsSent, "/a//b/../c"},
	} {
		got := string(appendCanonicalURI(nil, c.path, c.form))
		if got != c.want {
			t.Errorf("appendCanonicalURI(%q, %d) = %q, want %q", c.path, c.form, got, c.want)
		}
		if c.form == uriEscaped {
			if sdk := httpbinding.EscapePath(c.path, false); got != sdk {
				t.Errorf("%q: aws-sdk-go-v2 escapes to %q, we to %q", c.path, sdk, got)
			}
		}
	}
}

func TestEscapedPath(t *testing.T) {
	t.Parallel()
	for target, want := range map[string]string{
		"/":                   "/",
		"/a%20b/c":            "/a%20b/c",
		"/a%7Eb":              "/a%7Eb",
		"/a%2Fb":              "/a%2Fb",
		"//example//":         "//example//",
		"/example/$delete":    "/example/$delete",
		"http://h.example":    "/",
		"/x?X-Amz-Date=1&b=2": "/x",
	} {
		if got := escapedPath(httptest.NewRequest("GET", target, nil)); got != want {
			t.Errorf("escapedPath(%q) = %q, want %q", target, got, want)
		}
	}
}

func TestCanonicalQuery(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		raw  string
		skip bool
		want string
	}{
		{"", false, ""},
		{"Param2=value2&Param1=value1", false, "Param1=value1&Param2=value2"},
		{"Param1=value2&Param1=Value1", false, "Param1=Value1&Param1=value2"},
		{"Param-3=Value3&Param=Value2&%E1%88%B4=Value1", false, "%E1%88%B4=Value1&Param=Value2&Param-3=Value3"},
		{"-._~09AZaz=-._~09AZaz", false, "-._~09AZaz=-._~09AZaz"},
		{"lifecycle", false, "lifecycle="},
		{"a=", false, "a="},
		{"a=1&&b=2&", false, "a=1&b=2"},
		{"a=b+c", false, "a=b%20c"},
		{"a=b%2Bc", false, "a=b%2Bc"},
		{"a=b%20c", false, "a=b%20c"},
		{"a=%7e", false, "a=~"},
		{"x=%zz", false, "x=%25zz"},
		{"k=a=b", false, "k=a%3Db"},
		// Sorted after encoding: '%' (0x25) sorts before '-' (0x2D).
		{"a-b=2&a/b=1", false, "a%2Fb=1&a-b=2"},
		{"X-Amz-Signature=abc&a=1", true, "a=1"},
		{"X-Amz-Signature=abc&a=1", false, "X-Amz-Signature=abc&a=1"},
		{strings.Repeat("p=1&", 20) + "a=0", false, "a=0" + strings.Repeat("&p=1", 20)},
	} {
		if got := string(appendCanonicalQuery(nil, c.raw, c.skip)); got != c.want {
			t.Errorf("appendCanonicalQuery(%q, %v) = %q, want %q", c.raw, c.skip, got, c.want)
		}
	}
}

func TestTrimmed(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"value1":          "value1",
		"  value1  ":      "value1",
		`"a   b   c"`:     `"a b c"`,
		" a  b\t":         "a b",
		"a\tb":            "a\tb",
		"":                "",
		"   ":             "",
		"Mon, 09  Sep 11": "Mon, 09 Sep 11",
	} {
		if got := string(appendTrimmed(nil, in)); got != want {
			t.Errorf("appendTrimmed(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCanonicalRequest compares whole canonical requests with the ones AWS
// publishes in its SigV4 test suite, plus requests only a real client
// produces.
func TestCanonicalRequest(t *testing.T) {
	t.Parallel()
	const empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	for _, c := range []struct {
		name          string
		method        string
		target        string
		headers       [][2]string
		signedHeaders string
		form          uriForm
		want          string
	}{
		{name: "get-vanilla-query-order-encoded", method: "GET", target: "/?Param-3=Value3&Param=Value2&%E1%88%B4=Value1",
			signedHeaders: "host;x-amz-date",
			want:          "GET\n/\n%E1%88%B4=Value1&Param=Value2&Param-3=Value3\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" + empty},
		{name: "get-header-key-duplicate", method: "GET", target: "/",
			headers:       [][2]string{{"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}},
			signedHeaders: "host;my-header1;x-amz-date",
			want:          "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value2,value2,value1\nx-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n" + empty},
		{name: "get-header-value-trim", method: "GET", target: "/",
			headers:       [][2]string{{"My-Header1", " value1"}, {"My-Header2", ` "a   b   c"`}},
			signedHeaders: "host;my-header1;my-header2;x-amz-date",
			want:          "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\nx-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\n" + empty},
		{name: "get-slashes", method: "GET", target: "//example//", signedHeaders: "host;x-amz-date",
			want: "GET\n/example/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" + empty},
		{name: "get-space sent percent-encoded", method: "GET", target: "/example%20space/", signedHeaders: "host;x-amz-date",
			want: "GET\n/example%2520space/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" + empty},
		{name: "upper-case signed header names are lower-cased in the header block", method: "POST", target: "/",
			headers:       [][2]string{{"X-Amz-Target", "CodePipeline_20150709.ListPipelines"}},
			signedHeaders: "Host;X-Amz-Date;X-Amz-Target",
			want:          "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\nx-amz-target:CodePipeline_20150709.ListPipelines\n\nHost;X-Amz-Date;X-Amz-Target\n" + empty},
		{name: "content-length and transfer-encoding kept by net/http outside the header map", method: "POST", target: "/",
			signedHeaders: "content-length;host;x-amz-date;x-missing",
			want:          "POST\n/\n\ncontent-length:0\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\nx-missing:\n\ncontent-length;host;x-amz-date;x-missing\n" + empty},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(c.method, c.target, nil)
			r.Host = "example.amazonaws.com"
			for _, h := range c.headers {
				r.Header.Add(h[0], h[1])
			}
			r.Header.Set("X-Amz-Date", "20150830T123600Z")
			a := &authorization{signedHeaders: c.signedHeaders}
			got := string(appendCanonicalRequest(nil, r, escapedPath(r), c.form, a, []byte(empty)))
			if got != c.want {
				t.Errorf("canonical request\n got %q\nwant %q", got, c.want)
			}
		})
	}
}

func TestHeaderValuesChunked(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest("POST", "/", nil)
	r.ContentLength = -1
	r.TransferEncoding = []string{"chunked"}
	if got := headerValues(r, "transfer-encoding"); len(got) != 1 || got[0] != "chunked" {
		t.Errorf("transfer-encoding %q", got)
	}
	if got := headerValues(r, "content-length"); got != nil {
		t.Errorf("content-length of a chunked request %q", got)
	}
}

func TestDeriveKey(t *testing.T) {
	t.Parallel()
	// "Examples of how to derive a signing key for Signature Version 4",
	// AWS General Reference.
	k := deriveKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam")
	if got := hex.EncodeToString(k[:]); got != "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d" {
		t.Errorf("signing key %s", got)
	}
}

func TestKeyCache(t *testing.T) {
	t.Parallel()
	var c keyCache
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2 * keyCacheSize {
				secret := fmt.Sprintf("secret-%d", i%(keyCacheSize+10))
				got := c.get(secret, "20260121", "us-east-1", "codepipeline")
				if want := deriveKey(secret, "20260121", "us-east-1", "codepipeline"); got != want {
					t.Errorf("goroutine %d: cached key for %s differs", g, secret)
					return
				}
			}
		}()
	}
	wg.Wait()
	c.mu.RLock()
	n := len(c.m)
	c.mu.RUnlock()
	if n > keyCacheSize {
		t.Errorf("cache holds %d keys, bound %d", n, keyCacheSize)
	}
}

func TestSignatureIsHMAC(t *testing.T) {
	t.Parallel()
	key := deriveKey("secret", "20260121", "us-east-1", "codepipeline")
	msg := "AWS4-HMAC-SHA256\n20260121T110000Z\n20260121/us-east-1/codepipeline/aws4_request\n" + strings.Repeat("ab", sha256.Size)
	got := signature(&key, append(hmacBlock(nil, &key, 0x36), msg...))
	want := hmacSHA256(key[:], msg)
	if string(got[:]) != string(want) {
		t.Errorf("signature %x, want %x", got, want)
	}
}
