// Package artifacts is pipewright's object store: buckets of objects with S3's
// key semantics, holding pipeline artifacts, build artifacts and caches and
// deployment revisions, served over S3 by package s3. It also builds and
// extracts the zip files that carry artifacts between actions.
//
// # Layout
//
// Metadata (buckets, objects, their ETags, checksums, headers, user metadata
// and tags, multipart uploads and their parts) lives in an [Index], the
// state store, where every change is one transaction. Content lives in
// files under root/_content, each named by a random id that the metadata names:
// a content file is written once, fsynced and renamed into place before the
// metadata that names it commits, and never changes afterwards. Keys are
// strings, not paths: "a" and "a/b" both exist, "a//b" and "../x" are keys
// like any other.
//
// # Durability and atomicity
//
// A write streams its body into a temporary file (".tmp-*") while computing
// its digests; only once the body ended, matched the digests and size it
// was announced with, and was made durable is the metadata committed.
// Readers see the old object or the complete new one, never a partial one,
// and an object whose write returned nil survives a crash. Replacing or
// deleting an object removes its content file after the commit unless
// another object (a [Store.Link] or [Store.CopyObject]) or a part still
// names it. Content files no metadata names (a crash between rename and
// commit, or between commit and removal) and temporary files are removed by
// [Open]. Only one Store (one process) should use a root at a time.
package artifacts

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

var (
	// ErrNotFound is returned when an object does not exist. Errors for a
	// bucket that does not exist match both ErrNotFound and ErrNoSuchBucket.
	ErrNotFound = errors.New("artifacts: object not found")
	// ErrNoSuchBucket is returned by operations on a bucket that does not
	// exist.
	ErrNoSuchBucket = errors.New("artifacts: no such bucket")
	// ErrInvalidBucketName is returned for bucket names the store refuses.
	ErrInvalidBucketName = errors.New("artifacts: invalid bucket name")
	// ErrInvalidKey is returned for object keys the store refuses.
	ErrInvalidKey = errors.New("artifacts: invalid object key")
	// ErrBucketExists is returned by CreateBucket for a bucket that exists.
	ErrBucketExists = errors.New("artifacts: bucket already exists")
	// ErrBucketNotEmpty is returned by DeleteBucket for a bucket holding
	// objects or multipart uploads.
	ErrBucketNotEmpty = errors.New("artifacts: bucket not empty")
	// ErrNoSuchUpload is returned for a multipart upload that does not
	// exist (never created, completed or aborted) in that bucket and key.
	ErrNoSuchUpload = errors.New("artifacts: no such upload")
	// ErrInvalidPart is returned by CompleteUpload when a part is unknown
	// or its ETag or checksum does not match, or no part is given.
	ErrInvalidPart = errors.New("artifacts: invalid part")
	// ErrInvalidPartOrder is returned by CompleteUpload when the part
	// numbers are not in ascending order.
	ErrInvalidPartOrder = errors.New("artifacts: invalid part order")
	// ErrEntityTooSmall is returned by CompleteUpload when a part other
	// than the last is smaller than 5 MiB.
	ErrEntityTooSmall = errors.New("artifacts: entity too small")
	// ErrPreconditionFailed is returned by a write whose IfNoneMatch "*"
	// found the key already holding an object.
	ErrPreconditionFailed = errors.New("artifacts: precondition failed")
	// ErrInvalidArgument is returned for a part number outside 1..10000,
	// an unknown checksum algorithm or checksum type.
	ErrInvalidArgument = errors.New("artifacts: invalid argument")
	// ErrInvalidRange is returned by UploadPartCopy for a byte range
	// outside the source object.
	ErrInvalidRange = errors.New("artifacts: invalid range")
)

// Object describes a stored object.
type Object struct {
	Bucket string
	Key    string
	Size   int64
	// SHA256 is the hex SHA-256 of the content.
	SHA256 string
	// MD5 is the hex MD5 of the content.
	MD5      string
	Modified time.Time

	// ETag is S3's entity tag, unquoted: the MD5 hex of the content, or
	// for a multipart object the hex MD5 of the concatenated binary MD5s
	// of its parts followed by "-" and the number of parts.
	ETag string
	// ContentType is the stored Content-Type; "" means that
	// binary/octet-stream is answered.
	ContentType string
	// Headers are the stored response headers by canonical name:
	// Cache-Control, Content-Disposition, Content-Encoding,
	// Content-Language, Expires.
	Headers map[string]string `json:",omitempty"`
	// Metadata is the user metadata, names lower-case without
	// "x-amz-meta-".
	Metadata map[string]string `json:",omitempty"`
	// ChecksumAlgorithm is CRC32, CRC32C, CRC64NVME, SHA1 or SHA256 and
	// Checksum its base64 value; a composite checksum of a multipart
	// object is "<base64>-N".
	ChecksumAlgorithm string `json:",omitempty"`
	Checksum          string `json:",omitempty"`
	// ChecksumType is "FULL_OBJECT", "COMPOSITE" or "".
	ChecksumType string `json:",omitempty"`
	// PartSizes are the sizes of a multipart object's parts, in order
	// (GetObject's partNumber reads one of them); nil for an object not
	// uploaded in parts.
	PartSizes []int64 `json:",omitempty"`
	// TagCount is the number of the object's tags.
	TagCount int `json:",omitempty"`
}

// Parts is the number of parts of a multipart object, 0 otherwise.
func (o Object) Parts() int { return len(o.PartSizes) }

// Bucket describes a bucket.
type Bucket struct {
	Name    string
	Created time.Time
}

// Tag is one of an object's tags.
type Tag struct{ Key, Value string }

// Store is a set of buckets of objects. It is safe for concurrent use.
type Store struct {
	root string // absolute
	data string // root/_content: the content files
	idx  Index
}

const (
	dirPerm  = 0o700
	filePerm = 0o600
	// tmpPrefix starts the names of content files being written.
	tmpPrefix = ".tmp-"
	// contentDir holds the content files. No bucket directory of the
	// store's earlier layout (see importLegacy) can have this name.
	contentDir = "_content"
)

// Open returns the store keeping its content under root (created with mode
// 0700 when missing; content files have mode 0600) and its metadata in
// idx. It imports the objects a store of the earlier layout (one file per
// key) left under root, and removes the temporary files and the content
// files no metadata names that a crash may have left behind.
func Open(root string, idx Index) (*Store, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("artifacts: open %s: %w", root, err)
	}
	s := &Store{root: abs, data: filepath.Join(abs, contentDir), idx: idx}
	if err := os.MkdirAll(s.data, dirPerm); err != nil {
		return nil, fmt.Errorf("artifacts: open: %w", err)
	}
	if err := s.importLegacy(context.Background()); err != nil {
		return nil, fmt.Errorf("artifacts: open: importing the objects of %s: %w", abs, err)
	}
	if err := s.cleanup(context.Background()); err != nil {
		return nil, fmt.Errorf("artifacts: open: cleaning up %s: %w", s.data, err)
	}
	return s, nil
}

// cleanupBatch is how many content files one read transaction checks.
const cleanupBatch = 512

// cleanup removes temporary files and the content files no metadata names.
func (s *Store) cleanup(ctx context.Context) error {
	entries, err := os.ReadDir(s.data)
	if err != nil {
		return err
	}
	var ids []string
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, tmpPrefix):
			if err := ignoreNotExist(os.Remove(filepath.Join(s.data, name))); err != nil {
				return err
			}
		case e.Type().IsRegular() && validContentID(name):
			ids = append(ids, name)
		}
	}
	for len(ids) > 0 {
		batch := ids[:min(len(ids), cleanupBatch)]
		ids = ids[len(batch):]
		var unnamed []string
		err := s.idx.View(ctx, func(tx IndexTx) error {
			unnamed = unnamed[:0]
			for _, id := range batch {
				named, err := tx.ContentNamed(id)
				if err != nil {
					return err
				}
				if !named {
					unnamed = append(unnamed, id)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, id := range unnamed {
			if err := ignoreNotExist(os.Remove(s.contentPath(id))); err != nil {
				return err
			}
		}
	}
	return nil
}

// syncDir fsyncs a directory so that entries created, renamed or removed in
// it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

func ignoreNotExist(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
