package server_test

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// The S3 actions' tests put and read objects through the server's S3
// endpoint, as a user does with `aws s3 cp`.

// objectsClient is an S3 client of the test server (path-style: the
// endpoint is an IP address).
func (ts *testServer) objectsClient() *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(ts.url), Region: "us-east-1", UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(testKey, testSecret, ""), Retryer: onlyTransportRaceRetryer(),
	})
}

// makeBucket creates a bucket unless it exists.
func (ts *testServer) makeBucket(bucket string) {
	ts.t.Helper()
	_, err := ts.objectsClient().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	var owned *s3types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) {
		ts.t.Fatalf("CreateBucket %s: %v", bucket, err)
	}
}

// putObject stores body as bucket/key, creating the bucket, and returns
// its ETag (the MD5 hex, unquoted).
func (ts *testServer) putObject(bucket, key string, body []byte) string {
	ts.t.Helper()
	ts.makeBucket(bucket)
	out, err := ts.objectsClient().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	if err != nil {
		ts.t.Fatalf("PutObject %s/%s: %v", bucket, key, err)
	}
	return strings.Trim(aws.ToString(out.ETag), `"`)
}

// object returns the content of bucket/key, or nil and false when there
// is no such object.
func (ts *testServer) object(bucket, key string) ([]byte, bool) {
	ts.t.Helper()
	out, err := ts.objectsClient().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	var missing *s3types.NoSuchKey
	if errors.As(err, &missing) {
		return nil, false
	}
	if err != nil {
		ts.t.Fatalf("GetObject %s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		ts.t.Fatal(err)
	}
	return b, true
}

// objectKeys lists the keys of a bucket under prefix.
func (ts *testServer) objectKeys(bucket, prefix string) []string {
	ts.t.Helper()
	out, err := ts.objectsClient().ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	if err != nil {
		ts.t.Fatalf("ListObjectsV2 %s/%s: %v", bucket, prefix, err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys
}

// zipOf is a zip of the given files.
func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, files[n])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// unzipOf is the files of a zip.
func unzipOf(t *testing.T, b []byte) map[string]string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(rc)
		rc.Close()
		out[f.Name] = string(body)
	}
	return out
}
