package artifacts

import (
	"context"
	"time"
)

// Index keeps the store's metadata in the state store. Every change the
// store makes is one Update, so metadata is never seen half changed; what
// an Update checks (a bucket exists, a key is free, an upload is still in
// progress) holds when it commits. Implemented by store/sqlite.
type Index interface {
	// Update runs fn in one write transaction and commits it durably
	// when fn returns nil; an error rolls everything back.
	Update(ctx context.Context, fn func(IndexTx) error) error
	// View runs fn in a read-only transaction that sees committed data.
	View(ctx context.Context, fn func(IndexTx) error) error
}

// IndexTx is the metadata as one transaction sees it. Keys and bucket names
// compare as bytes (UTF-8 binary order).
type IndexTx interface {
	// CreateBucket adds a bucket: ErrBucketExists when it exists.
	CreateBucket(b Bucket) error
	// GetBucket returns a bucket: ErrNoSuchBucket when missing.
	GetBucket(name string) (Bucket, error)
	// ListBuckets returns every bucket by name.
	ListBuckets() ([]Bucket, error)
	// DeleteBucket removes a bucket: ErrNoSuchBucket when missing,
	// ErrBucketNotEmpty when it holds objects or uploads.
	DeleteBucket(name string) error

	// GetObject returns an object's record: ErrNotFound when missing.
	GetObject(bucket, key string) (Record, error)
	// PutObject inserts or replaces the record of r.Bucket/r.Key; the
	// bucket must exist.
	PutObject(r Record) error
	// DeleteObject removes an object's record: ErrNotFound when missing.
	DeleteObject(bucket, key string) error
	// ListObjects returns up to limit records of the bucket whose keys
	// start with prefix and are greater than after, by key.
	ListObjects(bucket, prefix, after string, limit int) ([]Record, error)
	// ContentNamed reports whether an object or a part names the content
	// file id.
	ContentNamed(id string) (bool, error)

	// CreateUpload adds a multipart upload; its bucket must exist.
	CreateUpload(u UploadRecord) error
	// GetUpload returns an upload: ErrNoSuchUpload when missing.
	GetUpload(id string) (UploadRecord, error)
	// DeleteUpload removes an upload and its parts: ErrNoSuchUpload when
	// missing.
	DeleteUpload(id string) error
	// ListUploads returns up to limit uploads of the bucket whose keys
	// start with prefix, by key and then id, after (keyMarker, idMarker):
	// keys greater than keyMarker, or equal to it with an id greater than
	// idMarker when idMarker is not "".
	ListUploads(bucket, prefix, keyMarker, idMarker string, limit int) ([]UploadRecord, error)
	// PutPart inserts or replaces a part of an upload that exists.
	PutPart(uploadID string, p PartRecord) error
	// GetPart returns a part: ErrInvalidPart when missing.
	GetPart(uploadID string, number int) (PartRecord, error)
	// ListParts returns up to limit parts numbered above after, by number.
	ListParts(uploadID string, after, limit int) ([]PartRecord, error)
}

// Record is what the index keeps of an object.
type Record struct {
	Object
	// Content is the id of the file holding the content.
	Content string
	Tags    []Tag `json:",omitempty"`
}

// UploadRecord is what the index keeps of a multipart upload: what the
// completed object will be given.
type UploadRecord struct {
	Upload
	ContentType string            `json:",omitempty"`
	Headers     map[string]string `json:",omitempty"`
	Metadata    map[string]string `json:",omitempty"`
	Tags        []Tag             `json:",omitempty"`
}

// PartRecord is what the index keeps of an uploaded part.
type PartRecord struct {
	Part
	// Content is the id of the file holding the part's bytes.
	Content string
}

// Upload describes a multipart upload in progress.
type Upload struct {
	ID, Bucket, Key   string
	Initiated         time.Time
	ChecksumAlgorithm string
	// ChecksumType is how the completed object's checksum is formed:
	// "COMPOSITE" (of the parts' checksums) or "FULL_OBJECT".
	ChecksumType string
}

// Part describes an uploaded part.
type Part struct {
	Number int
	Size   int64
	// ETag is the part's MD5, hex, unquoted.
	ETag string
	// Checksum is the part's base64 checksum of ChecksumAlgorithm: its
	// upload's algorithm, else the one the part was sent with, else "".
	Checksum          string
	ChecksumAlgorithm string `json:",omitempty"`
	Modified          time.Time
}
