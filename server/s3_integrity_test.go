package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// signedS3 sends a request signed with the SDK's SigV4 signer over the
// given payload hash (the x-amz-content-sha256 it sends), with body.
func signedS3(t *testing.T, method, url, host, payloadHash, body string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if host != "" {
		req.Host = host
	}
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)
	creds := aws.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, payloadHash, "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(b)
}

func hexSHA(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestS3BodyIntegrity(t *testing.T) {
	ts := startServer(t)
	c, ctx := ts.s3Client(), context.Background()
	mustBucket(t, c, "integ")
	missing := func(key string) {
		t.Helper()
		_, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("integ"), Key: aws.String(key)})
		if got := s3Code(t, err); got != "NotFound" {
			t.Errorf("%s was stored: %v", key, err)
		}
	}
	// A body that is not the one whose hash was signed.
	res, body := signedS3(t, http.MethodPut, ts.url+"/integ/tampered", "", hexSHA("the signed body"), "another body", nil)
	if res.StatusCode != 400 || !strings.Contains(body, "<Code>XAmzContentSHA256Mismatch</Code>") {
		t.Errorf("a tampered body: %d %s", res.StatusCode, body)
	}
	missing("tampered")
	// Content-MD5 that does not match.
	res, body = signedS3(t, http.MethodPut, ts.url+"/integ/badmd5", "", "UNSIGNED-PAYLOAD", "content",
		http.Header{"Content-Md5": {"1B2M2Y8AsgTpgAmY7PhCfg=="}})
	if res.StatusCode != 400 || !strings.Contains(body, "<Code>BadDigest</Code>") {
		t.Errorf("a wrong Content-MD5: %d %s", res.StatusCode, body)
	}
	missing("badmd5")
	// x-amz-checksum-crc32 that does not match.
	res, body = signedS3(t, http.MethodPut, ts.url+"/integ/badcrc", "", "UNSIGNED-PAYLOAD", "content",
		http.Header{"X-Amz-Checksum-Crc32": {"AAAAAA=="}})
	if res.StatusCode != 400 || !strings.Contains(body, "<Code>BadDigest</Code>") {
		t.Errorf("a wrong x-amz-checksum-crc32: %d %s", res.StatusCode, body)
	}
	missing("badcrc")
	// A body shorter than x-amz-decoded-content-length in aws-chunked form.
	res, body = signedS3(t, http.MethodPut, ts.url+"/integ/short", "", "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
		"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n",
		http.Header{"X-Amz-Decoded-Content-Length": {"9"}, "Content-Encoding": {"aws-chunked"}, "X-Amz-Trailer": {"x-amz-checksum-crc32"}})
	if res.StatusCode != 400 {
		t.Errorf("a short aws-chunked body: %d %s", res.StatusCode, body)
	}
	missing("short")
	// The right hash is stored, through a virtual host.
	res, body = signedS3(t, http.MethodPut, ts.url+"/vh.txt", "integ.localhost", hexSHA("virtual"), "virtual", nil)
	if res.StatusCode != 200 {
		t.Fatalf("a virtual-host PUT: %d %s", res.StatusCode, body)
	}
	res, body = signedS3(t, http.MethodGet, ts.url+"/integ/vh.txt", "", hexSHA(""), "", nil)
	if res.StatusCode != 200 || body != "virtual" {
		t.Fatalf("the virtual-host object read path-style: %d %q", res.StatusCode, body)
	}
}

// The JSON services keep their requests: a POST with X-Amz-Target or a
// JSON body is not S3's.
func TestS3RouterKeepsJSONServices(t *testing.T) {
	ts := startServer(t)
	for ct, want := range map[string]string{
		"application/xml":            "<Code>AccessDenied</Code>",
		"application/x-amz-json-1.1": "MissingAuthenticationTokenException",
	} {
		res, err := http.Post(ts.url+"/bucket?delete", ct, strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if !strings.Contains(string(b), want) {
			t.Errorf("an unsigned POST of %s without X-Amz-Target: %s, want %s", ct, b, want)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, ts.url+"/", strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", "CodePipeline_20150709.ListPipelines")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(b), "MissingAuthenticationTokenException") {
		t.Errorf("an unsigned CodePipeline call: %s", b)
	}
}
