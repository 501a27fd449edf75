package server_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func TestS3Multipart(t *testing.T) {
	ts := startServer(t)
	c, ctx := ts.s3Client(), context.Background()
	mustBucket(t, c, "mpu")
	p1, p2 := make([]byte, 5<<20), make([]byte, 1000)
	rand.Read(p1)
	rand.Read(p2)
	cr, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("big"),
		ContentType: aws.String("application/x-big"), Metadata: map[string]string{"m": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	id := cr.UploadId
	u1, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("mpu"), Key: aws.String("big"), UploadId: id, PartNumber: aws.Int32(1), Body: bytes.NewReader(p1)})
	if err != nil {
		t.Fatal(err)
	}
	u2, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("mpu"), Key: aws.String("big"), UploadId: id, PartNumber: aws.Int32(2), Body: bytes.NewReader(p2)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("mpu"), Key: aws.String("big"), UploadId: id, PartNumber: aws.Int32(10001), Body: bytes.NewReader(p2)})
	if got := s3Code(t, err); got != "InvalidArgument" {
		t.Errorf("part number 10001: %q", got)
	}
	lp, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("mpu"), Key: aws.String("big"), UploadId: id})
	if err != nil || len(lp.Parts) != 2 || aws.ToInt64(lp.Parts[0].Size) != 5<<20 || aws.ToString(lp.Parts[1].ETag) != aws.ToString(u2.ETag) {
		t.Fatalf("ListParts: %v %+v", err, lp)
	}
	lu, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("mpu")})
	if err != nil || len(lu.Uploads) != 1 || aws.ToString(lu.Uploads[0].UploadId) != aws.ToString(id) {
		t.Fatalf("ListMultipartUploads: %v %+v", err, lu)
	}
	complete := func(parts ...types.CompletedPart) (*s3.CompleteMultipartUploadOutput, error) {
		return c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("big"), UploadId: id,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	}
	part := func(n int32, etag *string) types.CompletedPart {
		return types.CompletedPart{PartNumber: aws.Int32(n), ETag: etag}
	}
	if _, err := complete(part(2, u2.ETag), part(1, u1.ETag)); s3Code(t, err) != "InvalidPartOrder" {
		t.Errorf("parts out of order: %v", err)
	}
	if _, err := complete(part(1, aws.String(`"00000000000000000000000000000000"`))); s3Code(t, err) != "InvalidPart" {
		t.Errorf("a wrong ETag: %v", err)
	}
	if _, err := complete(part(1, u1.ETag), part(3, u2.ETag)); s3Code(t, err) != "InvalidPart" {
		t.Errorf("a part never uploaded: %v", err)
	}
	done, err := complete(part(1, u1.ETag), part(2, u2.ETag))
	if err != nil {
		t.Fatal(err)
	}
	s1, s2 := md5.Sum(p1), md5.Sum(p2)
	all := md5.Sum(append(s1[:], s2[:]...))
	if want := `"` + hex.EncodeToString(all[:]) + `-2"`; aws.ToString(done.ETag) != want {
		t.Fatalf("multipart ETag %s, want %s", aws.ToString(done.ETag), want)
	}
	get, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("mpu"), Key: aws.String("big")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(get.Body)
	get.Body.Close()
	if !bytes.Equal(b, append(append([]byte(nil), p1...), p2...)) || aws.ToString(get.ContentType) != "application/x-big" || get.Metadata["m"] != "1" {
		t.Fatalf("the completed object: %d bytes, type %q, meta %v", len(b), aws.ToString(get.ContentType), get.Metadata)
	}
	if _, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("big"), UploadId: id}); s3Code(t, err) != "NoSuchUpload" {
		t.Errorf("aborting a completed upload: %v", err)
	}

	// A part before the last smaller than 5 MiB; then abort.
	small, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("small")})
	if err != nil {
		t.Fatal(err)
	}
	var etags []*string
	for n := int32(1); n <= 2; n++ {
		u, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("mpu"), Key: aws.String("small"), UploadId: small.UploadId, PartNumber: aws.Int32(n), Body: bytes.NewReader(p2)})
		if err != nil {
			t.Fatal(err)
		}
		etags = append(etags, u.ETag)
	}
	_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("small"), UploadId: small.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{part(1, etags[0]), part(2, etags[1])}}})
	if got := s3Code(t, err); got != "EntityTooSmall" {
		t.Errorf("a small first part: %q", got)
	}
	// UploadPartCopy of a range of the completed object.
	pc, err := c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String("mpu"), Key: aws.String("small"), UploadId: small.UploadId,
		PartNumber: aws.Int32(3), CopySource: aws.String("mpu/big"), CopySourceRange: aws.String("bytes=0-99")})
	if err != nil {
		t.Fatal(err)
	}
	want := md5.Sum(p1[:100])
	if aws.ToString(pc.CopyPartResult.ETag) != `"`+hex.EncodeToString(want[:])+`"` {
		t.Errorf("UploadPartCopy ETag %s", aws.ToString(pc.CopyPartResult.ETag))
	}
	if _, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("small"), UploadId: small.UploadId}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("mpu"), Key: aws.String("small"), UploadId: small.UploadId}); s3Code(t, err) != "NoSuchUpload" {
		t.Errorf("ListParts of an aborted upload: %v", err)
	}
	lu, _ = c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("mpu")})
	if len(lu.Uploads) != 0 {
		t.Errorf("uploads left: %+v", lu.Uploads)
	}
}
