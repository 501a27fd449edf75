package artifacts_test

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pipewright/pipewright/artifacts"
)

var ctx = context.Background()

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func put(t *testing.T, s *artifacts.Store, bucket, key, body string, opt artifacts.PutOptions) artifacts.Object {
	t.Helper()
	opt.Size = int64(len(body))
	obj, err := s.PutObject(ctx, bucket, key, strings.NewReader(body), opt)
	if err != nil {
		t.Fatalf("PutObject(%q, %q): %v", bucket, key, err)
	}
	return obj
}

func TestBuckets(t *testing.T) {
	s := newStore(t)
	for _, name := range []string{"zeta", "alpha", "my.bucket-1", "123"} {
		if err := s.CreateBucket(ctx, name); err != nil {
			t.Fatalf("CreateBucket(%q): %v", name, err)
		}
	}
	if err := s.CreateBucket(ctx, "alpha"); !errors.Is(err, artifacts.ErrBucketExists) {
		t.Errorf("CreateBucket of an existing bucket: %v, want ErrBucketExists", err)
	}
	for _, name := range []string{"ab", strings.Repeat("a", 64), "MyBucket", "-lead", "trail-", "a..b", "192.168.1.1", "under_score", ".dot"} {
		if err := s.CreateBucket(ctx, name); !errors.Is(err, artifacts.ErrInvalidBucketName) {
			t.Errorf("CreateBucket(%q): %v, want ErrInvalidBucketName", name, err)
		}
	}
	bs, err := s.Buckets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range bs {
		names = append(names, b.Name)
		if b.Created.IsZero() {
			t.Errorf("bucket %s has no creation time", b.Name)
		}
	}
	if want := []string{"123", "alpha", "my.bucket-1", "zeta"}; !slices.Equal(names, want) {
		t.Errorf("Buckets = %q, want %q", names, want)
	}
	if b, err := s.HeadBucket(ctx, "alpha"); err != nil || b.Name != "alpha" {
		t.Errorf("HeadBucket = %+v, %v", b, err)
	}
	if _, err := s.HeadBucket(ctx, "nope"); !errors.Is(err, artifacts.ErrNoSuchBucket) {
		t.Errorf("HeadBucket(nope): %v, want ErrNoSuchBucket", err)
	}

	put(t, s.Store, "alpha", "k", "x", artifacts.PutOptions{})
	if err := s.DeleteBucket(ctx, "alpha"); !errors.Is(err, artifacts.ErrBucketNotEmpty) {
		t.Errorf("DeleteBucket with an object: %v, want ErrBucketNotEmpty", err)
	}
	if err := s.DeleteObject(ctx, "alpha", "k"); err != nil {
		t.Fatal(err)
	}
	u, err := s.CreateUpload(ctx, "alpha", "up", artifacts.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteBucket(ctx, "alpha"); !errors.Is(err, artifacts.ErrBucketNotEmpty) {
		t.Errorf("DeleteBucket with an upload: %v, want ErrBucketNotEmpty", err)
	}
	if err := s.AbortUpload(ctx, "alpha", "up", u.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteBucket(ctx, "alpha"); err != nil {
		t.Errorf("DeleteBucket of an empty bucket: %v", err)
	}
	if err := s.DeleteBucket(ctx, "alpha"); !errors.Is(err, artifacts.ErrNoSuchBucket) {
		t.Errorf("DeleteBucket again: %v, want ErrNoSuchBucket", err)
	}
	if _, err := s.PutObject(ctx, "alpha", "k", strings.NewReader("x"), artifacts.PutOptions{Size: 1}); !errors.Is(err, artifacts.ErrNoSuchBucket) {
		t.Errorf("PutObject into a deleted bucket: %v", err)
	}
	s.wantFiles(t, "alpha")
}

func TestPutObjectKeepsMetadata(t *testing.T) {
	s := newStore(t, "bucket")
	opt := artifacts.PutOptions{
		ContentType: "text/plain",
		Headers:     map[string]string{"Cache-Control": "no-cache", "Content-Disposition": "attachment"},
		Metadata:    map[string]string{"owner": "me"},
		Tags:        []artifacts.Tag{{Key: "a", Value: "1"}, {Key: "b", Value: "2"}},
	}
	put(t, s.Store, "bucket", "k", "hello", opt)
	obj, err := s.HeadObject(ctx, "bucket", "k")
	if err != nil {
		t.Fatal(err)
	}
	if obj.ContentType != "text/plain" || obj.Headers["Cache-Control"] != "no-cache" || obj.Metadata["owner"] != "me" || obj.TagCount != 2 || obj.Parts() != 0 {
		t.Errorf("HeadObject = %+v", obj)
	}
	f, obj2, err := s.OpenObject(ctx, "bucket", "k")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if string(b) != "hello" || obj2.ETag != obj.ETag {
		t.Errorf("OpenObject = %q, %+v", b, obj2)
	}
	if tags, err := s.Tags(ctx, "bucket", "k"); err != nil || !slices.Equal(tags, opt.Tags) {
		t.Errorf("Tags = %v, %v", tags, err)
	}
}

func TestChecksums(t *testing.T) {
	s := newStore(t, "bucket")
	body := "123456789"
	crc64 := make([]byte, 8)
	binary.BigEndian.PutUint64(crc64, 0xae8b14860a799888) // CRC-64/NVME's check value
	c32 := make([]byte, 4)
	binary.BigEndian.PutUint32(c32, crc32.ChecksumIEEE([]byte(body)))
	c32c := make([]byte, 4)
	binary.BigEndian.PutUint32(c32c, crc32.Checksum([]byte(body), crc32.MakeTable(crc32.Castagnoli)))
	sh := sha256.Sum256([]byte(body))
	for alg, want := range map[string]string{"": b64(crc64), artifacts.CRC64NVME: b64(crc64), artifacts.CRC32: b64(c32), artifacts.CRC32C: b64(c32c), artifacts.SHA256: b64(sh[:])} {
		obj := put(t, s.Store, "bucket", "k", body, artifacts.PutOptions{ChecksumAlgorithm: alg, Checksum: func() string { return want }})
		wantAlg := alg
		if alg == "" {
			wantAlg = artifacts.CRC64NVME
		}
		if obj.ChecksumAlgorithm != wantAlg || obj.Checksum != want || obj.ChecksumType != "FULL_OBJECT" {
			t.Errorf("%s: object %+v, want checksum %s", alg, obj, want)
		}
	}
	if _, err := s.PutObject(ctx, "bucket", "k", strings.NewReader(body), artifacts.PutOptions{Size: 9, ChecksumAlgorithm: "MD4"}); !errors.Is(err, artifacts.ErrInvalidArgument) {
		t.Errorf("unknown algorithm: %v", err)
	}
}

// TestDigestAndSizeMismatchStoreNothing: a body whose Content-MD5,
// checksum or size does not match leaves the previous object as it was.
func TestDigestAndSizeMismatchStoreNothing(t *testing.T) {
	s := newStore(t, "bucket")
	before := put(t, s.Store, "bucket", "k", "previous", artifacts.PutOptions{})
	body := "new content"
	m := md5.Sum([]byte(body))
	wrong := md5.Sum([]byte("other"))
	sh := sha256.Sum256([]byte(body))
	tests := []struct {
		name string
		opt  artifacts.PutOptions
		alg  string // of the DigestError, "" for a SizeError
	}{
		{"Content-MD5", artifacts.PutOptions{ContentMD5: b64(wrong[:]), Size: -1}, "MD5"},
		{"SHA256", artifacts.PutOptions{ChecksumAlgorithm: "SHA256", Checksum: func() string { return b64(wrong[:]) }, Size: -1}, "SHA256"},
		{"CRC32 trailer", artifacts.PutOptions{ChecksumAlgorithm: "CRC32", Checksum: func() string { return "AAAAAA==" }, Size: -1}, "CRC32"},
		{"default CRC64NVME", artifacts.PutOptions{Checksum: func() string { return "AAAAAAAAAAA=" }, Size: -1}, "CRC64NVME"},
		{"short", artifacts.PutOptions{Size: int64(len(body)) + 1}, ""},
		{"long", artifacts.PutOptions{Size: int64(len(body)) - 1}, ""},
	}
	for _, tt := range tests {
		_, err := s.PutObject(ctx, "bucket", "k", strings.NewReader(body), tt.opt)
		var de *artifacts.DigestError
		var se *artifacts.SizeError
		switch {
		case tt.alg != "" && (!errors.As(err, &de) || de.Algorithm != tt.alg):
			t.Errorf("%s: %v, want a DigestError of %s", tt.name, err, tt.alg)
		case tt.alg == "" && !errors.As(err, &se):
			t.Errorf("%s: %v, want a SizeError", tt.name, err)
		}
		if _, err := s.PutObject(ctx, "bucket", "new", strings.NewReader(body), tt.opt); err == nil {
			t.Errorf("%s: a new key was stored", tt.name)
		}
	}
	if obj, err := s.HeadObject(ctx, "bucket", "k"); err != nil || obj.ETag != before.ETag {
		t.Errorf("after the failures: %+v, %v", obj, err)
	}
	if _, err := s.HeadObject(ctx, "bucket", "new"); !errors.Is(err, artifacts.ErrNotFound) {
		t.Errorf("new: %v, want ErrNotFound", err)
	}
	s.wantFiles(t, "bucket", "k")

	obj := put(t, s.Store, "bucket", "k", body, artifacts.PutOptions{ContentMD5: b64(m[:]), ChecksumAlgorithm: "SHA256", Checksum: func() string { return b64(sh[:]) }})
	if obj.ETag != fmt.Sprintf("%x", m) {
		t.Errorf("matching digests: %+v", obj)
	}
}

func TestIfNoneMatch(t *testing.T) {
	s := newStore(t, "bucket")
	put(t, s.Store, "bucket", "k", "first", artifacts.PutOptions{IfNoneMatch: "*"})
	if _, err := s.PutObject(ctx, "bucket", "k", strings.NewReader("second"), artifacts.PutOptions{Size: 6, IfNoneMatch: "*"}); !errors.Is(err, artifacts.ErrPreconditionFailed) {
		t.Errorf("second write: %v, want ErrPreconditionFailed", err)
	}
	if got, _ := mustGet(t, s.Store, "bucket", "k"); string(got) != "first" {
		t.Errorf("k = %q", got)
	}
	s.wantFiles(t, "bucket", "k")
}

func TestDeleteObject(t *testing.T) {
	s := newStore(t, "bucket")
	if err := s.DeleteObject(ctx, "bucket", "missing"); err != nil {
		t.Errorf("deleting a missing key: %v", err)
	}
	if err := s.DeleteObject(ctx, "nobucket", "k"); !errors.Is(err, artifacts.ErrNoSuchBucket) {
		t.Errorf("deleting in a missing bucket: %v", err)
	}
}

func TestCopyObject(t *testing.T) {
	s := newStore(t, "src-bucket", "dst-bucket")
	src := put(t, s.Store, "src-bucket", "src", "shared content", artifacts.PutOptions{
		ContentType: "text/plain", Metadata: map[string]string{"m": "1"}, Tags: []artifacts.Tag{{Key: "t", Value: "1"}},
		ChecksumAlgorithm: "SHA256",
	})
	kept, err := s.CopyObject(ctx, "src-bucket", "src", "dst-bucket", "kept", artifacts.CopyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if kept.ETag != src.ETag || kept.ContentType != "text/plain" || kept.Metadata["m"] != "1" || kept.TagCount != 1 || kept.Checksum != src.Checksum || kept.Bucket != "dst-bucket" {
		t.Errorf("copy keeping metadata = %+v", kept)
	}
	repl, err := s.CopyObject(ctx, "src-bucket", "src", "src-bucket", "replaced", artifacts.CopyOptions{
		ReplaceMetadata: true, TaggingReplace: true,
		Put: artifacts.PutOptions{ContentType: "application/json", Metadata: map[string]string{"n": "2"}, ChecksumAlgorithm: "CRC32"},
	})
	if err != nil {
		t.Fatal(err)
	}
	c32 := make([]byte, 4)
	binary.BigEndian.PutUint32(c32, crc32.ChecksumIEEE([]byte("shared content")))
	if repl.ContentType != "application/json" || repl.Metadata["m"] != "" || repl.Metadata["n"] != "2" || repl.TagCount != 0 || repl.ChecksumAlgorithm != "CRC32" || repl.Checksum != b64(c32) {
		t.Errorf("copy replacing metadata = %+v", repl)
	}
	if tags, _ := s.Tags(ctx, "src-bucket", "replaced"); len(tags) != 0 {
		t.Errorf("replaced tags = %v", tags)
	}
	// The copies share the one content file, which outlives the source.
	if got := s.files(t); len(got) != 1 {
		t.Errorf("content files %q, want one", got)
	}
	if err := s.DeleteObject(ctx, "src-bucket", "src"); err != nil {
		t.Fatal(err)
	}
	if got, _ := mustGet(t, s.Store, "dst-bucket", "kept"); string(got) != "shared content" {
		t.Errorf("copy after deleting the source: %q", got)
	}
	if _, err := s.CopyObject(ctx, "src-bucket", "src", "dst-bucket", "x", artifacts.CopyOptions{}); !errors.Is(err, artifacts.ErrNotFound) {
		t.Errorf("copy of a missing source: %v", err)
	}
	if _, err := s.CopyObject(ctx, "src-bucket", "replaced", "nobucket", "x", artifacts.CopyOptions{}); !errors.Is(err, artifacts.ErrNoSuchBucket) {
		t.Errorf("copy into a missing bucket: %v", err)
	}
	for _, k := range []string{"replaced"} {
		if err := s.DeleteObject(ctx, "src-bucket", k); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteObject(ctx, "dst-bucket", "kept"); err != nil {
		t.Fatal(err)
	}
	if got := s.files(t); len(got) != 0 {
		t.Errorf("content files left after deleting every copy: %q", got)
	}
}

func TestTags(t *testing.T) {
	s := newStore(t, "bucket")
	before := put(t, s.Store, "bucket", "k", "x", artifacts.PutOptions{})
	tags := []artifacts.Tag{{Key: "env", Value: "prod"}, {Key: "team", Value: ""}}
	if err := s.PutTags(ctx, "bucket", "k", tags); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Tags(ctx, "bucket", "k"); err != nil || !slices.Equal(got, tags) {
		t.Errorf("Tags = %v, %v", got, err)
	}
	if obj, _ := s.HeadObject(ctx, "bucket", "k"); obj.TagCount != 2 || obj.ETag != before.ETag || !obj.Modified.Equal(before.Modified) {
		t.Errorf("after PutTags: %+v", obj)
	}
	if err := s.DeleteTags(ctx, "bucket", "k"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Tags(ctx, "bucket", "k"); err != nil || len(got) != 0 {
		t.Errorf("Tags after DeleteTags = %v, %v", got, err)
	}
	if err := s.PutTags(ctx, "bucket", "missing", tags); !errors.Is(err, artifacts.ErrNotFound) {
		t.Errorf("PutTags of a missing key: %v", err)
	}
}

// TestConcurrentCopyDelete: copies racing deletes and replacements of
// their sources never leave an object without its content, nor content
// nothing names.
func TestConcurrentCopyDelete(t *testing.T) {
	s := newStore(t, "bucket")
	keys := []string{"k0", "k1", "k2", "k3"}
	for _, k := range keys {
		put(t, s.Store, "bucket", k, k, artifacts.PutOptions{})
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 25 {
				src, dst := keys[(g+i)%4], keys[(g+i+1)%4]
				var err error
				switch (g + i) % 3 {
				case 0:
					_, err = s.CopyObject(ctx, "bucket", src, "bucket", dst, artifacts.CopyOptions{})
				case 1:
					err = s.DeleteObject(ctx, "bucket", src)
				case 2:
					_, err = s.PutObject(ctx, "bucket", src, strings.NewReader(src), artifacts.PutOptions{Size: int64(len(src))})
				}
				if err != nil && !errors.Is(err, artifacts.ErrNotFound) {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	var live []string
	for _, k := range keys {
		f, _, err := s.OpenObject(ctx, "bucket", k)
		if errors.Is(err, artifacts.ErrNotFound) {
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		b, _ := io.ReadAll(f)
		f.Close()
		if !slices.Contains(keys, string(b)) {
			t.Errorf("%s holds %q", k, b)
		}
		live = append(live, k)
	}
	s.wantFiles(t, "bucket", live...)
}

// A SHA-256 the caller has already checked is kept instead of computed.
func TestPutObjectKeepsAGivenSHA256(t *testing.T) {
	s := newStore(t, "bucket")
	sum := sha256.Sum256([]byte("hello"))
	given := fmt.Sprintf("%X", sum[:])
	obj := put(t, s.Store, "bucket", "k", "hello", artifacts.PutOptions{SHA256: given})
	if obj.SHA256 != strings.ToLower(given) {
		t.Fatalf("SHA256 = %q, want %q", obj.SHA256, strings.ToLower(given))
	}
	computed := put(t, s.Store, "bucket", "k2", "hello", artifacts.PutOptions{})
	if computed.SHA256 != obj.SHA256 {
		t.Fatalf("computed SHA256 %q, given %q", computed.SHA256, obj.SHA256)
	}
}
