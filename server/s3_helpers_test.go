package server_test

import (
	"context"
	"errors"
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
