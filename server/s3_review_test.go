package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// An x-amz-* header the signature does not cover is refused: it would turn
// a presigned upload into a copy of any object.
func TestS3UnsignedAmzHeadersAreRefused(t *testing.T) {
	ts := startServer(t)
	c, ctx := ts.s3Client(), context.Background()
	mustBucket(t, c, "secret")
	mustBucket(t, c, "public")
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("secret"), Key: aws.String("s.txt"), Body: strings.NewReader("TOP SECRET")}); err != nil {
		t.Fatal(err)
	}
	put, err := s3.NewPresignClient(c).PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("public"), Key: aws.String("upload.bin")}, s3.WithPresignExpires(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPut, put.URL, nil)
	req.Header.Set("X-Amz-Copy-Source", "secret/s.txt")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 403 || !strings.Contains(string(b), "<HeadersNotSigned>x-amz-copy-source</HeadersNotSigned>") {
		t.Fatalf("a presigned PUT with an added x-amz-copy-source: %d %s", res.StatusCode, b)
	}
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("public"), Key: aws.String("upload.bin")})
	if got := s3Code(t, err); got != "NotFound" {
		t.Fatalf("the refused request stored something: %v", err)
	}
	// The same presigned URL with nothing added works.
	req, _ = http.NewRequest(http.MethodPut, put.URL, strings.NewReader("fine"))
	if res, err = http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
		t.Fatalf("the presigned PUT as signed: %v %v", err, res)
	}
	res.Body.Close()
}

// GetObject and HeadObject with partNumber read one part, as download
// managers that fetch by parts expect.
func TestS3GetObjectByPartNumber(t *testing.T) {
	ts := startServer(t)
	c, ctx := ts.s3Client(), context.Background()
	mustBucket(t, c, "parts")
	p1, p2 := make([]byte, 5<<20), []byte("tail")
	rand.Read(p1)
	cr, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("parts"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	var done []types.CompletedPart
	for i, p := range [][]byte{p1, p2} {
		u, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("parts"), Key: aws.String("k"), UploadId: cr.UploadId, PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(p)})
		if err != nil {
			t.Fatal(err)
		}
		done = append(done, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: u.ETag})
	}
	if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("parts"), Key: aws.String("k"), UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done}}); err != nil {
		t.Fatal(err)
	}
	for i, want := range [][]byte{p1, p2} {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("parts"), Key: aws.String("k"), PartNumber: aws.Int32(int32(i + 1))})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if !bytes.Equal(b, want) || aws.ToInt32(out.PartsCount) != 2 {
			t.Errorf("part %d: %d bytes, parts count %d; want %d bytes, 2", i+1, len(b), aws.ToInt32(out.PartsCount), len(want))
		}
	}
	h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("parts"), Key: aws.String("k"), PartNumber: aws.Int32(2)})
	if err != nil || aws.ToInt64(h.ContentLength) != 4 || aws.ToInt32(h.PartsCount) != 2 {
		t.Fatalf("HeadObject of part 2: %v %+v", err, h)
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("parts"), Key: aws.String("k"), PartNumber: aws.Int32(3)})
	if got := s3Code(t, err); got != "InvalidPartNumber" {
		t.Errorf("part 3 of 2: %q", got)
	}
	whole, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("parts"), Key: aws.String("k")})
	if err != nil || whole.PartsCount != nil || aws.ToInt64(whole.ContentLength) != int64(len(p1)+len(p2)) {
		t.Fatalf("HeadObject without partNumber: %v %+v", err, whole)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("parts"), Key: aws.String("single"), Body: strings.NewReader("one piece")}); err != nil {
		t.Fatal(err)
	}
	one, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("parts"), Key: aws.String("single"), PartNumber: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(one.Body)
	one.Body.Close()
	if string(b) != "one piece" {
		t.Errorf("part 1 of a single-part object: %q", b)
	}
}

// PutObject and CompleteMultipartUpload honour If-Match and
// If-None-Match: *, checked when the write commits.
func TestS3ConditionalWrites(t *testing.T) {
	ts := startServer(t)
	c, ctx := ts.s3Client(), context.Background()
	mustBucket(t, c, "cond")
	first, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("cond"), Key: aws.String("k"), Body: strings.NewReader("one")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("cond"), Key: aws.String("k"), Body: strings.NewReader("two"), IfMatch: aws.String(`"00000000000000000000000000000000"`)})
	if got := s3Code(t, err); got != "PreconditionFailed" {
		t.Fatalf("If-Match of another ETag: %q", got)
	}
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("cond"), Key: aws.String("k"), Body: strings.NewReader("two"), IfNoneMatch: aws.String("*")})
	if got := s3Code(t, err); got != "PreconditionFailed" {
		t.Fatalf("If-None-Match * of an existing key: %q", got)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("cond"), Key: aws.String("k"), Body: strings.NewReader("three"), IfMatch: first.ETag}); err != nil {
		t.Fatalf("If-Match of the current ETag: %v", err)
	}
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("cond"), Key: aws.String("missing"), Body: strings.NewReader("x"), IfMatch: aws.String("*")})
	if got := s3Code(t, err); got != "PreconditionFailed" {
		t.Fatalf("If-Match of a missing key: %q", got)
	}
	out, _ := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("cond"), Key: aws.String("k")})
	b, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if string(b) != "three" {
		t.Fatalf("after the conditional writes: %q", b)
	}
	cr, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("cond"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	u, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("cond"), Key: aws.String("k"), UploadId: cr.UploadId, PartNumber: aws.Int32(1), Body: strings.NewReader("mp")})
	if err != nil {
		t.Fatal(err)
	}
	parts := &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: u.ETag}}}
	_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("cond"), Key: aws.String("k"), UploadId: cr.UploadId, MultipartUpload: parts, IfNoneMatch: aws.String("*")})
	if got := s3Code(t, err); got != "PreconditionFailed" {
		t.Fatalf("Complete with If-None-Match * of an existing key: %q", got)
	}
	if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("cond"), Key: aws.String("k"), UploadId: cr.UploadId, MultipartUpload: parts}); err != nil {
		t.Fatalf("the upload after a refused Complete: %v", err)
	}
}
