package server_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func TestS3Buckets(t *testing.T) {
	ts := startServer(t)
	c, ctx := ts.s3Client(), context.Background()
	mustBucket(t, c, "one")
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("one")})
	if got := s3Code(t, err); got != "BucketAlreadyOwnedByYou" {
		t.Fatalf("second CreateBucket: %q, want BucketAlreadyOwnedByYou", got)
	}
	for _, bad := range []string{"UPPER", "ab", "a_b", "-ab", "192.168.1.1"} {
		_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bad)})
		if got := s3Code(t, err); got != "InvalidBucketName" {
			t.Errorf("CreateBucket %q: %q, want InvalidBucketName", bad, got)
		}
	}
	mustBucket(t, c, "two")
	lb, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range lb.Buckets {
		names = append(names, aws.ToString(b.Name))
		if b.CreationDate == nil || time.Since(*b.CreationDate) > time.Minute {
			t.Errorf("bucket %s created %v", aws.ToString(b.Name), b.CreationDate)
		}
	}
	if !slices.Equal(names, []string{"one", "two"}) {
		t.Fatalf("ListBuckets: %v", names)
	}
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("one")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("nope")})
	if got := s3Code(t, err); got != "NotFound" {
		t.Fatalf("HeadBucket of a missing bucket: %q", got)
	}
	loc, err := c.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String("one")})
	if err != nil || loc.LocationConstraint != "" {
		t.Fatalf("GetBucketLocation: %v %q", err, loc.LocationConstraint)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("one"), Key: aws.String("k"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("one")})
	if got := s3Code(t, err); got != "BucketNotEmpty" {
		t.Fatalf("DeleteBucket of a bucket with an object: %q", got)
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("two")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("two")})
	if got := s3Code(t, err); got != "NoSuchBucket" {
		t.Fatalf("ListObjectsV2 of a deleted bucket: %q", got)
	}
	_, err = c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String("one")})
	if got := s3Code(t, err); got != "NotImplemented" {
		t.Fatalf("GetBucketVersioning: %q, want NotImplemented", got)
	}
}

func TestS3KeysAndListing(t *testing.T) {
	ts := startServer(t)
	c, ctx := ts.s3Client(), context.Background()
	mustBucket(t, c, "keys")
	keys := []string{"a", "a/b", "a//b", "../x", "é", "dir/one", "dir/two", "dir/sub/three", "z z+z"}
	for _, k := range keys {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("keys"), Key: aws.String(k), Body: strings.NewReader("v:" + k)}); err != nil {
			t.Fatalf("PutObject %q: %v", k, err)
		}
	}
	for _, k := range keys {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("keys"), Key: aws.String(k)})
		if err != nil {
			t.Fatalf("GetObject %q: %v", k, err)
		}
		b, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if string(b) != "v:"+k {
			t.Errorf("GetObject %q = %q", k, b)
		}
	}
	want := slices.Clone(keys)
	slices.Sort(want) // Go compares strings bytewise: UTF-8 binary order
	var got []string
	pages := 0
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String("keys"), MaxKeys: aws.Int32(2)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, o := range page.Contents {
			got = append(got, aws.ToString(o.Key))
		}
	}
	if !slices.Equal(got, want) || pages != 5 {
		t.Fatalf("listing in pages of 2: %d pages %q, want %q", pages, got, want)
	}
	d, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("keys"), Prefix: aws.String("dir/"), Delimiter: aws.String("/")})
	if err != nil {
		t.Fatal(err)
	}
	var objs, prefixes []string
	for _, o := range d.Contents {
		objs = append(objs, aws.ToString(o.Key))
	}
	for _, cp := range d.CommonPrefixes {
		prefixes = append(prefixes, aws.ToString(cp.Prefix))
	}
	if !slices.Equal(objs, []string{"dir/one", "dir/two"}) || !slices.Equal(prefixes, []string{"dir/sub/"}) || aws.ToInt32(d.KeyCount) != 3 {
		t.Fatalf("delimited listing: %q %q %d", objs, prefixes, aws.ToInt32(d.KeyCount))
	}
	top, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("keys"), Delimiter: aws.String("/"), StartAfter: aws.String("a")})
	if err != nil {
		t.Fatal(err)
	}
	var tops []string
	for _, cp := range top.CommonPrefixes {
		tops = append(tops, aws.ToString(cp.Prefix))
	}
	if !slices.Equal(tops, []string{"a/", "dir/"}) {
		t.Fatalf("common prefixes after 'a': %q", tops)
	}
	enc, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("keys"), Prefix: aws.String("z"), EncodingType: types.EncodingTypeUrl})
	if err != nil || len(enc.Contents) != 1 || aws.ToString(enc.Contents[0].Key) != "z+z%2Bz" {
		t.Fatalf("url-encoded listing: %v %+v", err, enc)
	}
	v1, err := c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String("keys"), Marker: aws.String("a/b"), MaxKeys: aws.Int32(1)})
	if err != nil || len(v1.Contents) != 1 || aws.ToString(v1.Contents[0].Key) != "dir/one" || !aws.ToBool(v1.IsTruncated) {
		t.Fatalf("ListObjects after a marker: %v %+v", err, v1)
	}
	del, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("keys"), Delete: &types.Delete{
		Objects: []types.ObjectIdentifier{{Key: aws.String("a")}, {Key: aws.String("a/b")}, {Key: aws.String("never")}}}})
	if err != nil || len(del.Deleted) != 3 {
		t.Fatalf("DeleteObjects: %v %+v", err, del)
	}
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("keys"), Key: aws.String("a")})
	if got := s3Code(t, err); got != "NotFound" {
		t.Fatalf("HeadObject of a deleted key: %q", got)
	}
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("keys"), Key: aws.String("a//b")}); err != nil {
		t.Fatalf("a//b after deleting a and a/b: %v", err)
	}
}

func TestS3ObjectReads(t *testing.T) {
	ts := startServer(t)
	c, ctx := ts.s3Client(), context.Background()
	mustBucket(t, c, "reads")
	body := []byte("hello, world")
	sum := md5.Sum(body)
	etag := `"` + hex.EncodeToString(sum[:]) + `"`
	put, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("reads"), Key: aws.String("k"), Body: bytes.NewReader(body),
		ContentType: aws.String("text/plain"), Metadata: map[string]string{"Owner": "me"}, CacheControl: aws.String("no-cache"),
		Tagging: aws.String("team=ci&x=y")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(put.ETag) != etag {
		t.Fatalf("ETag %s, want %s", aws.ToString(put.ETag), etag)
	}
	// The SDK's default sends a CRC32 of the body; S3 keeps and answers it.
	if aws.ToString(put.ChecksumCRC32) == "" {
		t.Errorf("PutObject answered no CRC32: %+v", put)
	}
	get, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("reads"), Key: aws.String("k"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(get.Body) // the SDK verifies the checksum as it reads
	get.Body.Close()
	if err != nil || !bytes.Equal(b, body) {
		t.Fatalf("GetObject: %v %q", err, b)
	}
	if aws.ToString(get.ContentType) != "text/plain" || get.Metadata["owner"] != "me" || aws.ToString(get.CacheControl) != "no-cache" ||
		aws.ToInt32(get.TagCount) != 2 || aws.ToString(get.ETag) != etag {
		t.Fatalf("GetObject headers: type %q meta %v cache %q tags %d etag %s", aws.ToString(get.ContentType), get.Metadata,
			aws.ToString(get.CacheControl), aws.ToInt32(get.TagCount), aws.ToString(get.ETag))
	}
	for _, tc := range []struct{ rng, want, cr string }{
		{"bytes=0-4", "hello", "bytes 0-4/12"}, {"bytes=7-", "world", "bytes 7-11/12"}, {"bytes=-5", "world", "bytes 7-11/12"},
		{"bytes=10-100", "ld", "bytes 10-11/12"},
	} {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("reads"), Key: aws.String("k"), Range: aws.String(tc.rng)})
		if err != nil {
			t.Fatalf("%s: %v", tc.rng, err)
		}
		b, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if string(b) != tc.want || aws.ToString(out.ContentRange) != tc.cr {
			t.Errorf("%s: %q %q, want %q %q", tc.rng, b, aws.ToString(out.ContentRange), tc.want, tc.cr)
		}
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("reads"), Key: aws.String("k"), Range: aws.String("bytes=12-")})
	if got := s3Code(t, err); got != "InvalidRange" {
		t.Errorf("a range past the end: %q", got)
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("reads"), Key: aws.String("k"), IfNoneMatch: aws.String(etag)})
	if got := s3Code(t, err); got != "NotModified" {
		t.Errorf("If-None-Match of the ETag: %q", got)
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("reads"), Key: aws.String("k"), IfMatch: aws.String(`"nope"`)})
	if got := s3Code(t, err); got != "PreconditionFailed" {
		t.Errorf("If-Match of another ETag: %q", got)
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("reads"), Key: aws.String("k"), IfModifiedSince: aws.Time(time.Now().Add(time.Hour))})
	if got := s3Code(t, err); got != "NotModified" {
		t.Errorf("If-Modified-Since the future: %q", got)
	}
	over, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("reads"), Key: aws.String("k"), ResponseContentType: aws.String("application/x-test")})
	if err != nil || aws.ToString(over.ContentType) != "application/x-test" {
		t.Fatalf("response-content-type: %v %q", err, aws.ToString(over.ContentType))
	}
	over.Body.Close()
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("reads"), Key: aws.String("missing")})
	if got := s3Code(t, err); got != "NoSuchKey" {
		t.Errorf("GetObject of a missing key: %q", got)
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("nobucket"), Key: aws.String("k")})
	if got := s3Code(t, err); got != "NoSuchBucket" {
		t.Errorf("GetObject in a missing bucket: %q", got)
	}
	tags, err := c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("reads"), Key: aws.String("k")})
	if err != nil || len(tags.TagSet) != 2 {
		t.Fatalf("GetObjectTagging: %v %+v", err, tags)
	}
	if _, err := c.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String("reads"), Key: aws.String("k"),
		Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("only"), Value: aws.String("one")}}}}); err != nil {
		t.Fatal(err)
	}
	tags, _ = c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("reads"), Key: aws.String("k")})
	if len(tags.TagSet) != 1 || aws.ToString(tags.TagSet[0].Key) != "only" {
		t.Fatalf("tags after PutObjectTagging: %+v", tags.TagSet)
	}
	if _, err := c.DeleteObjectTagging(ctx, &s3.DeleteObjectTaggingInput{Bucket: aws.String("reads"), Key: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
	attrs, err := c.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: aws.String("reads"), Key: aws.String("k"),
		ObjectAttributes: []types.ObjectAttributes{types.ObjectAttributesEtag, types.ObjectAttributesObjectSize, types.ObjectAttributesChecksum}})
	if err != nil || aws.ToInt64(attrs.ObjectSize) != 12 || `"`+aws.ToString(attrs.ETag)+`"` != etag || attrs.Checksum == nil {
		t.Fatalf("GetObjectAttributes: %v %+v", err, attrs)
	}

	cp, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("reads"), Key: aws.String("copy"), CopySource: aws.String("reads/k")})
	if err != nil || aws.ToString(cp.CopyObjectResult.ETag) != etag {
		t.Fatalf("CopyObject: %v", err)
	}
	h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("reads"), Key: aws.String("copy")})
	if err != nil || h.Metadata["owner"] != "me" || aws.ToInt64(h.ContentLength) != 12 {
		t.Fatalf("HeadObject of the copy: %v %+v", err, h)
	}
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("reads"), Key: aws.String("copy"), CopySource: aws.String("reads/copy")})
	if got := s3Code(t, err); got != "InvalidRequest" {
		t.Errorf("a copy onto itself without REPLACE: %q", got)
	}
	if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("reads"), Key: aws.String("copy"), CopySource: aws.String("reads/copy"),
		MetadataDirective: types.MetadataDirectiveReplace, Metadata: map[string]string{"new": "yes"}, ContentType: aws.String("text/x-new")}); err != nil {
		t.Fatal(err)
	}
	h, _ = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("reads"), Key: aws.String("copy")})
	if h.Metadata["new"] != "yes" || h.Metadata["owner"] != "" || aws.ToString(h.ContentType) != "text/x-new" {
		t.Fatalf("after a REPLACE copy: %v %q", h.Metadata, aws.ToString(h.ContentType))
	}
}

func TestS3PresignedURL(t *testing.T) {
	ts := startServer(t)
	c, ctx := ts.s3Client(), context.Background()
	mustBucket(t, c, "pre")
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("pre"), Key: aws.String("dir/file name.txt"), Body: strings.NewReader("presigned")}); err != nil {
		t.Fatal(err)
	}
	ps := s3.NewPresignClient(c)
	req, err := ps.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("pre"), Key: aws.String("dir/file name.txt")}, s3.WithPresignExpires(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(req.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(b) != "presigned" {
		t.Fatalf("presigned GET: %d %q", res.StatusCode, b)
	}
	forged := strings.Replace(req.URL, "X-Amz-Signature=", "X-Amz-Signature=0", 1)
	res, err = http.Get(forged)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 403 || !strings.Contains(string(b), "<Code>SignatureDoesNotMatch</Code>") || !strings.Contains(string(b), "<RequestId>") {
		t.Fatalf("forged presigned GET: %d %s", res.StatusCode, b)
	}
	put, err := ps.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("pre"), Key: aws.String("up")}, s3.WithPresignExpires(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	r, _ := http.NewRequest(http.MethodPut, put.URL, strings.NewReader("uploaded"))
	res, err = http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("presigned PUT: %d", res.StatusCode)
	}
	got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("pre"), Key: aws.String("up")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(got.Body)
	got.Body.Close()
	if string(b) != "uploaded" {
		t.Fatalf("the presigned PUT stored %q", b)
	}
}

func TestS3Authentication(t *testing.T) {
	ts := startServer(t)
	ctx := context.Background()
	mustBucket(t, ts.s3Client(), "auth")
	_, err := newS3Client(ts.url, testKey, "wrong-secret").ListBuckets(ctx, &s3.ListBucketsInput{})
	if got := s3Code(t, err); got != "SignatureDoesNotMatch" {
		t.Errorf("a wrong secret: %q", got)
	}
	_, err = newS3Client(ts.url, "AKIAUNKNOWN000000000", testSecret).ListBuckets(ctx, &s3.ListBucketsInput{})
	if got := s3Code(t, err); got != "InvalidAccessKeyId" {
		t.Errorf("an unknown key: %q", got)
	}
	res, err := http.Get(ts.url + "/auth")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 403 || !strings.Contains(string(b), "<Code>AccessDenied</Code>") || res.Header.Get("X-Amz-Request-Id") == "" {
		t.Errorf("an anonymous request: %d %s", res.StatusCode, b)
	}
	_, err = newS3Client(ts.url, testKey, "wrong-secret").PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("auth"), Key: aws.String("k"), Body: strings.NewReader("x")})
	if got := s3Code(t, err); got != "SignatureDoesNotMatch" {
		t.Errorf("a PutObject with a wrong secret: %q", got)
	}
	_, err = ts.s3Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("auth"), Key: aws.String("k")})
	if got := s3Code(t, err); got != "NotFound" {
		t.Errorf("the refused PutObject stored something: %q", got)
	}
}
