package server_test

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// s3Client is aws-sdk-go-v2's S3 client for the test server, path-style
// (the endpoint is an IP address), with the checksums the SDK's default
// configuration asks for (config.LoadDefaultConfig's "when supported";
// bare s3.Options would send none).
func (ts *testServer) s3Client() *s3.Client {
	return newS3Client(ts.url, testKey, testSecret)
}

func newS3Client(url, key, secret string) *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(url),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(key, secret, ""),
		Retryer:      onlyTransportRaceRetryer(),
		UsePathStyle: true,

		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
	})
}

// s3Code is the S3 error code of err ("" for nil), failing the test for an
// error that is not an API error.
func s3Code(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("not an API error: %v", err)
	}
	return ae.ErrorCode()
}

// mustBucket creates a bucket.
func mustBucket(t *testing.T, c *s3.Client, name string) {
	t.Helper()
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("CreateBucket %s: %v", name, err)
	}
}

// s3URI names an artifact by its S3 location, for present.
func s3URI(bucket, key *string) string {
	return "s3://" + aws.ToString(bucket) + "/" + aws.ToString(key)
}

// present reports whether f exists: an object for an s3:// URI (read
// through the S3 endpoint), else a file.
func (ts *testServer) present(f string) bool {
	ts.t.Helper()
	if loc, ok := strings.CutPrefix(f, "s3://"); ok {
		bucket, key, _ := strings.Cut(loc, "/")
		_, err := ts.s3Client().HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil && s3Code(ts.t, err) != "NotFound" {
			ts.t.Fatalf("HeadObject %s: %v", f, err)
		}
		return err == nil
	}
	_, err := os.Stat(f)
	return err == nil
}

// objectBytes reads an object through the S3 endpoint.
func (ts *testServer) objectBytes(bucket, key *string) []byte {
	ts.t.Helper()
	out, err := ts.s3Client().GetObject(context.Background(), &s3.GetObjectInput{Bucket: bucket, Key: key})
	if err != nil {
		ts.t.Fatalf("GetObject %s: %v", s3URI(bucket, key), err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		ts.t.Fatal(err)
	}
	return b
}
