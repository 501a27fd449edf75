package artifacts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"
)

// PutOptions are what a write stores with an object besides its content,
// and the digests and size its body must match.
type PutOptions struct {
	ContentType string
	Headers     map[string]string
	Metadata    map[string]string
	Tags        []Tag
	// ContentMD5 is the base64 MD5 sent in Content-MD5; it is checked when
	// the body ends ("" checks nothing).
	ContentMD5 string
	// ChecksumAlgorithm is the x-amz-checksum-* to compute and keep; ""
	// means CRC64NVME, as S3 computes when none is asked. Checksum, when
	// not nil, is called after the body's end and returns the base64
	// value the client sent (header or trailer) or "".
	ChecksumAlgorithm string
	Checksum          func() string
	// ChecksumType is, for CreateUpload, how the object's checksum is
	// formed: FULL_OBJECT or COMPOSITE ("" means FULL_OBJECT for
	// CRC64NVME and no algorithm, COMPOSITE for the others).
	ChecksumType string
	// Size is the expected content length, -1 when unknown. The zero
	// value expects an empty body.
	Size int64
	// IfNoneMatch "*" fails the write with ErrPreconditionFailed if the
	// key holds an object when the write commits; IfMatch (an ETag,
	// quoted or not, or "*") fails it unless the key holds an object with
	// that ETag then.
	IfNoneMatch string
	IfMatch     string
	// SHA256 is the content's hex SHA-256 when the caller already has it
	// checked: its body reader fails instead of ending when the content
	// has another hash (a body signed with its hash). The store then keeps
	// it instead of computing it again.
	SHA256 string
}

// digestCheck is the check, once a body written through d has ended, of
// the Content-MD5 and the alg checksum opt says the client sent.
func (opt PutOptions) digestCheck(d *digester, alg string) func() error {
	return func() error {
		var sent string
		if opt.Checksum != nil {
			sent = opt.Checksum()
		}
		return d.verify(opt.ContentMD5, alg, sent)
	}
}

// PutObject stores the body under bucket/key, replacing any object there,
// and returns the new object. The body is streamed to disk while its
// digests are computed; a Content-MD5 or checksum that does not match is a
// *DigestError, a size other than opt.Size a *SizeError, and a Read error
// of the body is returned wrapped with %w: in every case nothing is stored
// and the previous object is unchanged.
func (s *Store) PutObject(ctx context.Context, bucket, key string, body io.Reader, opt PutOptions) (Object, error) {
	if err := checkNames(bucket, key); err != nil {
		return Object{}, err
	}
	alg := opt.ChecksumAlgorithm
	if alg == "" {
		alg = CRC64NVME
	}
	d, err := newDigester(opt.SHA256 == "", alg)
	if err != nil {
		return Object{}, err
	}
	if _, err := s.HeadBucket(ctx, bucket); err != nil {
		return Object{}, err
	}
	id, err := s.streamContent(body, opt.Size, d, opt.digestCheck(d, alg))
	if err != nil {
		return Object{}, err
	}
	md5, sum := d.md5Hex(), d.sha256Hex()
	if sum == "" {
		sum = strings.ToLower(opt.SHA256)
	}
	rec := Record{
		Object: Object{
			Bucket: bucket, Key: key, Size: d.n, SHA256: sum, MD5: md5, Modified: time.Now().UTC(),
			ETag: md5, ContentType: opt.ContentType, Headers: opt.Headers, Metadata: opt.Metadata,
			ChecksumAlgorithm: alg, Checksum: d.checksum(alg), ChecksumType: FullObject, TagCount: len(opt.Tags),
		},
		Content: id, Tags: opt.Tags,
	}
	if err := s.commit(ctx, rec, Conditions{IfNoneMatch: opt.IfNoneMatch, IfMatch: opt.IfMatch}, nil); err != nil {
		s.removeContent(id)
		return Object{}, err
	}
	return rec.Object, nil
}

// Conditions are a write's preconditions on the object it replaces,
// checked in the transaction that commits it (S3's conditional writes).
type Conditions struct {
	// IfNoneMatch "*": the key must hold no object.
	IfNoneMatch string
	// IfMatch: the key must hold an object with this ETag (quoted or
	// not), or any object for "*".
	IfMatch string
}

// check reports ErrPreconditionFailed when old (nil when the key is
// empty) does not satisfy c.
func (c Conditions) check(old *Record) error {
	if c.IfNoneMatch == "*" && old != nil {
		return fmt.Errorf("%w: %s/%s exists", ErrPreconditionFailed, old.Bucket, old.Key)
	}
	if c.IfMatch == "" {
		return nil
	}
	if old == nil {
		return fmt.Errorf("%w: the key holds no object", ErrPreconditionFailed)
	}
	if want := strings.Trim(strings.TrimSpace(c.IfMatch), `"`); want != "*" && want != old.ETag {
		return fmt.Errorf("%w: the object's ETag is %s", ErrPreconditionFailed, old.ETag)
	}
	return nil
}

// commit records rec in one transaction, replacing the object at its key
// (ErrPreconditionFailed unless it satisfies cond); also, when not nil,
// runs in that transaction before. Once committed, the replaced content is
// removed unless something still names it.
func (s *Store) commit(ctx context.Context, rec Record, cond Conditions, also func(tx IndexTx) ([]string, error)) error {
	var garbage []string
	err := s.idx.Update(ctx, func(tx IndexTx) error {
		garbage = nil
		if _, err := getBucket(tx, rec.Bucket); err != nil {
			return err
		}
		var released []string
		if also != nil {
			var err error
			if released, err = also(tx); err != nil {
				return err
			}
		}
		old, err := tx.GetObject(rec.Bucket, rec.Key)
		switch {
		case err == nil:
			if err := cond.check(&old); err != nil {
				return err
			}
			released = append(released, old.Content)
		case errors.Is(err, ErrNotFound):
			if err := cond.check(nil); err != nil {
				return err
			}
		default:
			return err
		}
		if err := tx.PutObject(rec); err != nil {
			return err
		}
		garbage, err = orphans(tx, released...)
		return err
	})
	if err != nil {
		return err
	}
	s.removeContent(garbage...)
	return nil
}

// lookup returns the record of bucket/key: errors matching ErrNoSuchBucket
// or ErrNotFound when missing.
func (s *Store) lookup(ctx context.Context, bucket, key string) (Record, error) {
	if err := checkNames(bucket, key); err != nil {
		return Record{}, err
	}
	var rec Record
	err := s.idx.View(ctx, func(tx IndexTx) (err error) {
		rec, err = getObject(tx, bucket, key)
		return err
	})
	return rec, err
}

// getObject returns the record of bucket/key, checking the bucket first.
func getObject(tx IndexTx, bucket, key string) (Record, error) {
	if _, err := getBucket(tx, bucket); err != nil {
		return Record{}, err
	}
	rec, err := tx.GetObject(bucket, key)
	if errors.Is(err, ErrNotFound) {
		return Record{}, fmt.Errorf("%w: %s/%s", ErrNotFound, bucket, key)
	}
	return rec, err
}

// openAttempts bounds how often OpenObject looks an object up again when
// its content went away (replaced or deleted) between lookup and open.
const openAttempts = 5

// OpenObject opens the object's content for reading and returns it with its
// metadata: ErrNoSuchBucket or ErrNotFound when missing. The caller closes
// the file, which stays readable even if the object is replaced or deleted
// while it is open.
func (s *Store) OpenObject(ctx context.Context, bucket, key string) (*os.File, Object, error) {
	for range openAttempts {
		rec, err := s.lookup(ctx, bucket, key)
		if err != nil {
			return nil, Object{}, err
		}
		f, err := os.Open(s.contentPath(rec.Content))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, Object{}, fmt.Errorf("artifacts: open %s/%s: %w", bucket, key, err)
		}
		return f, rec.Object, nil
	}
	return nil, Object{}, fmt.Errorf("%w: %s/%s", ErrNotFound, bucket, key)
}

// HeadObject returns the object's metadata: ErrNoSuchBucket or ErrNotFound
// when missing.
func (s *Store) HeadObject(ctx context.Context, bucket, key string) (Object, error) {
	rec, err := s.lookup(ctx, bucket, key)
	return rec.Object, err
}

// DeleteObject deletes the object; a missing key is not an error, a missing
// bucket is (ErrNoSuchBucket). The content file goes once the deletion
// committed, unless another object still names it.
func (s *Store) DeleteObject(ctx context.Context, bucket, key string) error {
	if err := checkNames(bucket, key); err != nil {
		return err
	}
	var garbage []string
	err := s.idx.Update(ctx, func(tx IndexTx) error {
		garbage = nil
		rec, err := getObject(tx, bucket, key)
		if errors.Is(err, ErrNotFound) && !errors.Is(err, ErrNoSuchBucket) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := tx.DeleteObject(bucket, key); err != nil {
			return err
		}
		garbage, err = orphans(tx, rec.Content)
		return err
	})
	if err != nil {
		return err
	}
	s.removeContent(garbage...)
	return nil
}
