package server_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pipewright/pipewright/server"
)

// Malformed S3 requests get S3's error documents with a 4xx status, never
// a 5xx or a hang.
func TestS3BadRequestsAreClientErrors(t *testing.T) {
	ts := startServer(t)
	mustBucket(t, ts.s3Client(), "bad")
	if res, body := signedS3(t, http.MethodPut, ts.url+"/bad/k", "", "UNSIGNED-PAYLOAD", "x", nil); res.StatusCode != 200 {
		t.Fatalf("PutObject: %d %s", res.StatusCode, body)
	}
	long := strings.Repeat("k", 1025)
	for _, tc := range []struct {
		name, method, path, body string
		header                   http.Header
		status                   int
		code                     string
	}{
		{"a part number of 0", http.MethodPut, "/bad/k?partNumber=0&uploadId=x", "x", nil, 400, "InvalidArgument"},
		{"a part of an unknown upload", http.MethodPut, "/bad/k?partNumber=1&uploadId=nope", "x", nil, 404, "NoSuchUpload"},
		{"complete of an unknown upload", http.MethodPost, "/bad/k?uploadId=nope", "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>", nil, 404, "NoSuchUpload"},
		{"complete without parts", http.MethodPost, "/bad/k?uploadId=nope", "<CompleteMultipartUpload></CompleteMultipartUpload>", nil, 400, "MalformedXML"},
		{"malformed XML", http.MethodPost, "/bad?delete", "<Delete><Object>", nil, 400, "MalformedXML"},
		{"an empty DeleteObjects", http.MethodPost, "/bad?delete", "", nil, 400, "MalformedXML"},
		{"max-keys not a number", http.MethodGet, "/bad?list-type=2&max-keys=x", "", nil, 400, "InvalidArgument"},
		{"a bad continuation token", http.MethodGet, "/bad?list-type=2&continuation-token=%25%25", "", nil, 400, "InvalidArgument"},
		{"an unknown encoding type", http.MethodGet, "/bad?encoding-type=zip", "", nil, 400, "InvalidArgument"},
		{"a key too long", http.MethodPut, "/bad/" + long, "x", nil, 400, "KeyTooLongError"},
		{"a copy without a key", http.MethodPut, "/bad/c", "", http.Header{"X-Amz-Copy-Source": {"bad"}}, 400, "InvalidArgument"},
		{"a copy of a missing key", http.MethodPut, "/bad/c", "", http.Header{"X-Amz-Copy-Source": {"bad/missing"}}, 404, "NoSuchKey"},
		{"a copy from a missing bucket", http.MethodPut, "/bad/c", "", http.Header{"X-Amz-Copy-Source": {"nobucket/k"}}, 404, "NoSuchBucket"},
		{"an unknown metadata directive", http.MethodPut, "/bad/c", "", http.Header{"X-Amz-Copy-Source": {"bad/k"}, "X-Amz-Metadata-Directive": {"MERGE"}}, 400, "InvalidArgument"},
		{"a Content-MD5 that is not base64", http.MethodPut, "/bad/m", "x", http.Header{"Content-Md5": {"!!"}}, 400, "InvalidDigest"},
		{"two checksums", http.MethodPut, "/bad/m", "x", http.Header{"X-Amz-Checksum-Crc32": {"AAAAAA=="}, "X-Amz-Checksum-Sha1": {"AAAA"}}, 400, "InvalidRequest"},
		{"an unknown checksum algorithm", http.MethodPut, "/bad/m", "x", http.Header{"X-Amz-Sdk-Checksum-Algorithm": {"MD4"}}, 400, "InvalidRequest"},
		{"eleven tags", http.MethodPut, "/bad/m", "x", http.Header{"X-Amz-Tagging": {"a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9&j=10&k=11"}}, 400, "BadRequest"},
		{"a tag set of bad XML", http.MethodPut, "/bad/k?tagging", "<Tagging><TagSet>", nil, 400, "MalformedXML"},
		{"attributes without names", http.MethodGet, "/bad/k?attributes", "", nil, 400, "InvalidArgument"},
		{"an unknown attribute", http.MethodGet, "/bad/k?attributes", "", http.Header{"X-Amz-Object-Attributes": {"Colour"}}, 400, "InvalidArgument"},
		{"a bucket ACL", http.MethodGet, "/bad?acl", "", nil, 501, "NotImplemented"},
		{"an object POST", http.MethodPost, "/bad/k", "", nil, 405, "MethodNotAllowed"},
		{"a service PUT", http.MethodPut, "/", "", nil, 405, "MethodNotAllowed"},
		{"a location constraint elsewhere", http.MethodPut, "/other-bucket", "<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>", nil, 400, "IllegalLocationConstraintException"},
	} {
		res, body := signedS3(t, tc.method, ts.url+tc.path, "", "UNSIGNED-PAYLOAD", tc.body, tc.header)
		if res.StatusCode != tc.status || !strings.Contains(body, "<Code>"+tc.code+"</Code>") || !strings.Contains(body, "<RequestId>") {
			t.Errorf("%s: %d %s, want %d %s", tc.name, res.StatusCode, body, tc.status, tc.code)
		}
	}
}

// slowBody yields n chunks of size bytes, one every gap.
type slowBody struct {
	n, size int
	gap     time.Duration
	sent    int
}

func (tr *slowBody) Read(p []byte) (int, error) {
	if tr.sent == tr.n {
		return 0, io.EOF
	}
	time.Sleep(tr.gap)
	tr.sent++
	return copy(p, bytes.Repeat([]byte("t"), min(tr.size, len(p)))), nil
}

// A body that keeps arriving may take longer than the server's request
// timeouts: an S3 upload is cut off only when it stalls.
func TestS3SlowBodyOutlivesRequestTimeouts(t *testing.T) {
	ts := startServer(t, func(c *server.Config) {
		c.HTTP = server.HTTPLimits{ReadTimeout: time.Second, WriteTimeout: time.Second}
	})
	c := ts.s3Client()
	mustBucket(t, c, "slow")
	body := &slowBody{n: 12, size: 1000, gap: 250 * time.Millisecond}
	req, _ := http.NewRequest(http.MethodPut, ts.url+"/slow/k", body)
	req.ContentLength = 12 * 1000
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	creds := aws.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, "UNSIGNED-PAYLOAD", "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("a 3 s trickle under 1 s timeouts: %v after %v", err, time.Since(start))
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	h, err := c.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String("slow"), Key: aws.String("k")})
	if err != nil || aws.ToInt64(h.ContentLength) != 12000 {
		t.Fatalf("the slow object: %v %+v", err, h)
	}
}

// A download the client reads slowly, but steadily, may take longer than
// the server's request timeouts.
func TestS3SlowReaderOutlivesRequestTimeouts(t *testing.T) {
	ts := startServer(t, func(c *server.Config) {
		c.HTTP = server.HTTPLimits{ReadTimeout: time.Second, WriteTimeout: time.Second}
	})
	c := ts.s3Client()
	mustBucket(t, c, "slow")
	const size = 8 << 20
	if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("slow"), Key: aws.String("k"),
		Body: bytes.NewReader(make([]byte, size))}); err != nil {
		t.Fatal(err)
	}
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("slow"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	start := time.Now()
	buf := make([]byte, 64<<10)
	var got int
	for {
		n, err := out.Body.Read(buf)
		got += n
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %d bytes and %v: %v", got, time.Since(start), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got != size {
		t.Fatalf("read %d bytes, want %d", got, size)
	}
}
