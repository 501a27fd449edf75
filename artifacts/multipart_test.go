package artifacts_test

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/crc64"
	"io"
	"slices"
	"testing"

	"github.com/pipewright/pipewright/artifacts"
)

const mib = 1 << 20

func part(t *testing.T, s *artifacts.Store, u artifacts.Upload, n int, body []byte) artifacts.Part {
	t.Helper()
	p, err := s.UploadPart(ctx, u.Bucket, u.Key, u.ID, n, bytes.NewReader(body), artifacts.PutOptions{Size: int64(len(body))})
	if err != nil {
		t.Fatalf("UploadPart(%d): %v", n, err)
	}
	return p
}

// multipartETag is S3's ETag of a multipart object of these parts.
func multipartETag(parts ...[]byte) string {
	h := md5.New()
	for _, p := range parts {
		m := md5.Sum(p)
		h.Write(m[:])
	}
	return fmt.Sprintf("%x-%d", h.Sum(nil), len(parts))
}

func TestMultipartUpload(t *testing.T) {
	s := newStore(t, "bucket")
	u, err := s.CreateUpload(ctx, "bucket", "big", artifacts.PutOptions{ContentType: "application/zip", Metadata: map[string]string{"m": "v"}, Tags: []artifacts.Tag{{Key: "t", Value: "v"}}})
	if err != nil {
		t.Fatal(err)
	}
	if u.ID == "" || u.Bucket != "bucket" || u.Key != "big" || u.Initiated.IsZero() {
		t.Errorf("CreateUpload = %+v", u)
	}
	p1 := bytes.Repeat([]byte("1"), 5*mib)
	p2 := bytes.Repeat([]byte("2"), 5*mib+3)
	p3 := []byte("the last part may be small")
	part(t, s.Store, u, 1, []byte("replaced below"))
	parts := []artifacts.Part{part(t, s.Store, u, 1, p1), part(t, s.Store, u, 2, p2), part(t, s.Store, u, 3, p3)}
	if m := md5.Sum(p1); parts[0].ETag != hex.EncodeToString(m[:]) || parts[0].Size != 5*mib {
		t.Errorf("part 1 = %+v", parts[0])
	}
	if got := s.files(t); len(got) != 3 {
		t.Errorf("content files after replacing part 1: %d, want 3", len(got))
	}
	listed, trunc, err := s.ListParts(ctx, "bucket", "big", u.ID, 0, 2)
	if err != nil || len(listed) != 2 || !trunc || listed[1].Number != 2 {
		t.Errorf("ListParts(0, 2) = %+v, %v, %v", listed, trunc, err)
	}
	listed, trunc, err = s.ListParts(ctx, "bucket", "big", u.ID, 2, 0)
	if err != nil || len(listed) != 1 || trunc || listed[0].Number != 3 {
		t.Errorf("ListParts(2, 0) = %+v, %v, %v", listed, trunc, err)
	}
	if ups, _, err := s.ListUploads(ctx, "bucket", "", "", "", 0); err != nil || len(ups) != 1 || ups[0].ID != u.ID {
		t.Errorf("ListUploads = %+v, %v", ups, err)
	}

	var done []artifacts.CompletedPart
	for _, p := range parts {
		done = append(done, artifacts.CompletedPart{Number: p.Number, ETag: `"` + p.ETag + `"`})
	}
	obj, err := s.CompleteUpload(ctx, "bucket", "big", u.ID, done)
	if err != nil {
		t.Fatal(err)
	}
	whole := slices.Concat(p1, p2, p3)
	sh := sha256.Sum256(whole)
	wm := md5.Sum(whole)
	h := crc64.New(crc64.MakeTable(0x9a6c9329ac4bc9b5))
	h.Write(whole)
	if obj.ETag != multipartETag(p1, p2, p3) || obj.Parts() != 3 || obj.Size != int64(len(whole)) || obj.SHA256 != hex.EncodeToString(sh[:]) || obj.MD5 != hex.EncodeToString(wm[:]) {
		t.Errorf("completed object = %+v, want ETag %s", obj, multipartETag(p1, p2, p3))
	}
	if obj.ChecksumAlgorithm != "CRC64NVME" || obj.ChecksumType != "FULL_OBJECT" || obj.Checksum != b64(h.Sum(nil)) {
		t.Errorf("completed object's checksum %s %s %s, want CRC64NVME FULL_OBJECT %s", obj.ChecksumAlgorithm, obj.ChecksumType, obj.Checksum, b64(h.Sum(nil)))
	}
	if obj.ContentType != "application/zip" || obj.Metadata["m"] != "v" || obj.TagCount != 1 {
		t.Errorf("completed object lost the upload's metadata: %+v", obj)
	}
	f, _, err := s.OpenObject(ctx, "bucket", "big")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(f)
	f.Close()
	if !bytes.Equal(got, whole) {
		t.Errorf("content of %d bytes differs from the parts'", len(got))
	}
	// The parts are gone with the upload.
	s.wantFiles(t, "bucket", "big")
	if _, err := s.CompleteUpload(ctx, "bucket", "big", u.ID, done); !errors.Is(err, artifacts.ErrNoSuchUpload) {
		t.Errorf("completing again: %v, want ErrNoSuchUpload", err)
	}
	if _, err := s.UploadPart(ctx, "bucket", "big", u.ID, 4, bytes.NewReader(nil), artifacts.PutOptions{}); !errors.Is(err, artifacts.ErrNoSuchUpload) {
		t.Errorf("UploadPart after completion: %v, want ErrNoSuchUpload", err)
	}
	if ups, _, _ := s.ListUploads(ctx, "bucket", "", "", "", 0); len(ups) != 0 {
		t.Errorf("uploads left: %+v", ups)
	}
}

func TestCompleteUploadErrors(t *testing.T) {
	s := newStore(t, "bucket")
	u, err := s.CreateUpload(ctx, "bucket", "k", artifacts.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	small := part(t, s.Store, u, 1, []byte("small"))
	big := part(t, s.Store, u, 2, bytes.Repeat([]byte("b"), 5*mib))
	last := part(t, s.Store, u, 3, []byte("last"))
	tests := []struct {
		name  string
		parts []artifacts.CompletedPart
		want  error
	}{
		{"no parts", nil, artifacts.ErrInvalidPart},
		{"unknown part", []artifacts.CompletedPart{{Number: 2, ETag: big.ETag}, {Number: 9, ETag: last.ETag}}, artifacts.ErrInvalidPart},
		{"wrong ETag", []artifacts.CompletedPart{{Number: 2, ETag: big.ETag}, {Number: 3, ETag: small.ETag}}, artifacts.ErrInvalidPart},
		{"wrong checksum", []artifacts.CompletedPart{{Number: 3, ETag: last.ETag, Checksum: "AAAAAA=="}}, artifacts.ErrInvalidPart},
		{"descending", []artifacts.CompletedPart{{Number: 3, ETag: last.ETag}, {Number: 2, ETag: big.ETag}}, artifacts.ErrInvalidPartOrder},
		{"repeated", []artifacts.CompletedPart{{Number: 2, ETag: big.ETag}, {Number: 2, ETag: big.ETag}}, artifacts.ErrInvalidPartOrder},
		{"small part first", []artifacts.CompletedPart{{Number: 1, ETag: small.ETag}, {Number: 2, ETag: big.ETag}}, artifacts.ErrEntityTooSmall},
	}
	for _, tt := range tests {
		if _, err := s.CompleteUpload(ctx, "bucket", "k", u.ID, tt.parts); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := s.CompleteUpload(ctx, "bucket", "other", u.ID, tests[1].parts[:1]); !errors.Is(err, artifacts.ErrNoSuchUpload) {
		t.Errorf("another key's upload: %v, want ErrNoSuchUpload", err)
	}
	if _, err := s.UploadPart(ctx, "bucket", "k", u.ID, 10001, bytes.NewReader(nil), artifacts.PutOptions{}); !errors.Is(err, artifacts.ErrInvalidArgument) {
		t.Errorf("part 10001: %v, want ErrInvalidArgument", err)
	}
	if _, err := s.HeadObject(ctx, "bucket", "k"); !errors.Is(err, artifacts.ErrNotFound) {
		t.Errorf("an object appeared: %v", err)
	}
	// Only the last part may be small; a single small part is fine.
	obj, err := s.CompleteUpload(ctx, "bucket", "k", u.ID, []artifacts.CompletedPart{{Number: 2, ETag: big.ETag}, {Number: 3, ETag: last.ETag}})
	if err != nil {
		t.Fatal(err)
	}
	if obj.ETag != multipartETag(bytes.Repeat([]byte("b"), 5*mib), []byte("last")) {
		t.Errorf("ETag %s", obj.ETag)
	}
	// Part 1, uploaded but not completed, went with the upload.
	s.wantFiles(t, "bucket", "k")
}

func TestAbortUpload(t *testing.T) {
	s := newStore(t, "bucket")
	u, err := s.CreateUpload(ctx, "bucket", "k", artifacts.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	part(t, s.Store, u, 1, []byte("one"))
	part(t, s.Store, u, 2, []byte("two"))
	if err := s.AbortUpload(ctx, "bucket", "k", u.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.AbortUpload(ctx, "bucket", "k", u.ID); !errors.Is(err, artifacts.ErrNoSuchUpload) {
		t.Errorf("aborting again: %v, want ErrNoSuchUpload", err)
	}
	if _, _, err := s.ListParts(ctx, "bucket", "k", u.ID, 0, 0); !errors.Is(err, artifacts.ErrNoSuchUpload) {
		t.Errorf("ListParts of an aborted upload: %v", err)
	}
	s.wantFiles(t, "bucket")
}

func TestCompositeChecksumAndPartCopy(t *testing.T) {
	s := newStore(t, "bucket")
	src := bytes.Repeat([]byte("0123456789"), mib/2) // 5 MiB
	put(t, s.Store, "bucket", "src", string(src), artifacts.PutOptions{})
	u, err := s.CreateUpload(ctx, "bucket", "dst", artifacts.PutOptions{ChecksumAlgorithm: "SHA256"})
	if err != nil {
		t.Fatal(err)
	}
	if u.ChecksumType != "COMPOSITE" {
		t.Errorf("SHA256 upload's checksum type %q", u.ChecksumType)
	}
	p1, err := s.UploadPartCopy(ctx, "bucket", "dst", u.ID, 1, "bucket", "src", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := s.UploadPartCopy(ctx, "bucket", "dst", u.ID, 2, "bucket", "src", 3, 9)
	if err != nil {
		t.Fatal(err)
	}
	s1, s2 := sha256.Sum256(src), sha256.Sum256(src[3:10])
	if p1.Size != int64(len(src)) || p2.Size != 7 || p1.Checksum != b64(s1[:]) || p2.Checksum != b64(s2[:]) {
		t.Errorf("copied parts %+v %+v", p1, p2)
	}
	for _, r := range [][2]int64{{-1, 3}, {5, 4}, {0, int64(len(src))}} {
		if _, err := s.UploadPartCopy(ctx, "bucket", "dst", u.ID, 3, "bucket", "src", r[0], r[1]); !errors.Is(err, artifacts.ErrInvalidRange) {
			t.Errorf("range %v: %v, want ErrInvalidRange", r, err)
		}
	}
	obj, err := s.CompleteUpload(ctx, "bucket", "dst", u.ID, []artifacts.CompletedPart{{Number: 1, ETag: p1.ETag, Checksum: p1.Checksum}, {Number: 2, ETag: p2.ETag}})
	if err != nil {
		t.Fatal(err)
	}
	composite := sha256.Sum256(slices.Concat(s1[:], s2[:]))
	if want := b64(composite[:]) + "-2"; obj.Checksum != want || obj.ChecksumType != "COMPOSITE" || obj.ChecksumAlgorithm != "SHA256" {
		t.Errorf("composite checksum %s %s %s, want %s", obj.ChecksumAlgorithm, obj.ChecksumType, obj.Checksum, want)
	}
	// A copy of a multipart object is a single-part one.
	c, err := s.CopyObject(ctx, "bucket", "dst", "bucket", "copy", artifacts.CopyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	whole := sha256.Sum256(slices.Concat(src, src[3:10]))
	if c.Parts() != 0 || c.ETag != obj.MD5 || c.ChecksumType != "FULL_OBJECT" || c.Checksum != b64(whole[:]) {
		t.Errorf("copy of a multipart object = %+v", c)
	}
}

func TestUploadPartDigestMismatch(t *testing.T) {
	s := newStore(t, "bucket")
	u, err := s.CreateUpload(ctx, "bucket", "k", artifacts.PutOptions{ChecksumAlgorithm: "CRC32"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.UploadPart(ctx, "bucket", "k", u.ID, 1, bytes.NewReader([]byte("body")), artifacts.PutOptions{Size: 4, Checksum: func() string { return "AAAAAA==" }})
	var de *artifacts.DigestError
	if !errors.As(err, &de) || de.Algorithm != "CRC32" {
		t.Errorf("UploadPart with a bad checksum: %v", err)
	}
	if parts, _, _ := s.ListParts(ctx, "bucket", "k", u.ID, 0, 0); len(parts) != 0 {
		t.Errorf("a part was stored: %+v", parts)
	}
	s.wantFiles(t, "bucket")
}

func TestListUploads(t *testing.T) {
	s := newStore(t, "bucket")
	var ids []string
	for _, k := range []string{"b", "a", "a", "c/x", "a"} {
		u, err := s.CreateUpload(ctx, "bucket", k, artifacts.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if k == "a" {
			ids = append(ids, u.ID)
		}
	}
	ups, trunc, err := s.ListUploads(ctx, "bucket", "", "", "", 3)
	if err != nil || len(ups) != 3 || !trunc || ups[0].Key != "a" || ups[2].Key != "a" || ups[0].ID != ids[0] || ups[2].ID != ids[2] {
		t.Errorf("ListUploads max 3 = %+v, %v, %v", ups, trunc, err)
	}
	ups, trunc, err = s.ListUploads(ctx, "bucket", "", "a", ids[0], 0)
	if err != nil || len(ups) != 4 || trunc || ups[0].ID != ids[1] || ups[2].Key != "b" {
		t.Errorf("ListUploads after a/%s = %+v, %v, %v", ids[0], ups, trunc, err)
	}
	ups, _, err = s.ListUploads(ctx, "bucket", "", "a", "", 0)
	if err != nil || len(ups) != 2 || ups[0].Key != "b" {
		t.Errorf("ListUploads after key a = %+v, %v", ups, err)
	}
	ups, _, err = s.ListUploads(ctx, "bucket", "c/", "", "", 0)
	if err != nil || len(ups) != 1 || ups[0].Key != "c/x" {
		t.Errorf("ListUploads prefix c/ = %+v, %v", ups, err)
	}
}

// TestPartChecksumWithoutUploadAlgorithm: parts sent with a checksum to an
// upload created without one keep it, and completing with it works.
func TestPartChecksumWithoutUploadAlgorithm(t *testing.T) {
	s := newStore(t, "bucket")
	u, err := s.CreateUpload(ctx, "bucket", "k", artifacts.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte("part body")
	h := crc32.NewIEEE()
	h.Write(body)
	want := b64(h.Sum(nil))
	p, err := s.UploadPart(ctx, "bucket", "k", u.ID, 1, bytes.NewReader(body), artifacts.PutOptions{Size: int64(len(body)), ChecksumAlgorithm: "CRC32", Checksum: func() string { return want }})
	if err != nil {
		t.Fatal(err)
	}
	if p.Checksum != want || p.ChecksumAlgorithm != "CRC32" {
		t.Errorf("part %+v, want CRC32 %s", p, want)
	}
	obj, err := s.CompleteUpload(ctx, "bucket", "k", u.ID, []artifacts.CompletedPart{{Number: 1, ETag: p.ETag, Checksum: want}})
	if err != nil {
		t.Fatal(err)
	}
	if obj.ChecksumAlgorithm != "CRC64NVME" || obj.ChecksumType != "FULL_OBJECT" {
		t.Errorf("object %+v", obj)
	}
}
