package artifacts

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// CopyOptions say what a copy keeps of its source.
type CopyOptions struct {
	// ReplaceMetadata takes the content type, headers and user metadata
	// from Put instead of the source (S3's x-amz-metadata-directive
	// REPLACE).
	ReplaceMetadata bool
	// Put gives the replacing metadata; its Tags are used when
	// TaggingReplace, its ChecksumAlgorithm (when not "") is the copy's
	// and its IfNoneMatch is checked, whatever ReplaceMetadata says.
	Put PutOptions
	// TaggingReplace takes the tags from Put.Tags instead of the source.
	TaggingReplace bool
}

// ErrSourceChanged is returned by a copy whose source kept changing
// between the reading of its content and the commit, copyAttempts times:
// the caller may try again.
var ErrSourceChanged = errors.New("artifacts: copy source changed")

// copyAttempts bounds the retries of a copy whose source keeps changing.
const copyAttempts = 3

// CopyObject makes dstBucket/dstKey an object sharing the content of
// srcBucket/srcKey: no byte is copied, and deleting either leaves the
// other intact. The copy is a single-part object (its ETag is the content's
// MD5) with a full-object checksum of opt.Put.ChecksumAlgorithm, else of the
// source's algorithm, read from the content only when the source's
// checksum does not serve (another algorithm, or a composite one).
func (s *Store) CopyObject(ctx context.Context, srcBucket, srcKey, dstBucket, dstKey string, opt CopyOptions) (Object, error) {
	if err := checkNames(dstBucket, dstKey); err != nil {
		return Object{}, err
	}
	for attempt := 1; ; attempt++ {
		src, err := s.lookup(ctx, srcBucket, srcKey)
		if err != nil {
			return Object{}, err
		}
		alg, sum := src.ChecksumAlgorithm, src.Checksum
		if opt.Put.ChecksumAlgorithm != "" && opt.Put.ChecksumAlgorithm != alg || src.ChecksumType != FullObject || sum == "" {
			if opt.Put.ChecksumAlgorithm != "" {
				alg = opt.Put.ChecksumAlgorithm
			} else if alg == "" {
				alg = CRC64NVME
			}
			d, err := newDigester(false, alg)
			if err != nil {
				return Object{}, err
			}
			if err := s.digestContent(src.Content, d); err != nil {
				if attempt < copyAttempts {
					continue
				}
				return Object{}, fmt.Errorf("artifacts: copy %s/%s: %w", srcBucket, srcKey, err)
			}
			sum = d.checksum(alg)
		}
		rec := src
		rec.Bucket, rec.Key, rec.Modified = dstBucket, dstKey, time.Now().UTC()
		rec.ETag, rec.PartSizes = src.MD5, nil
		rec.ChecksumAlgorithm, rec.Checksum, rec.ChecksumType = alg, sum, FullObject
		if opt.ReplaceMetadata {
			rec.ContentType, rec.Headers, rec.Metadata = opt.Put.ContentType, opt.Put.Headers, opt.Put.Metadata
		}
		if opt.TaggingReplace {
			rec.Tags = opt.Put.Tags
		}
		rec.TagCount = len(rec.Tags)
		err = s.commit(ctx, rec, Conditions{IfNoneMatch: opt.Put.IfNoneMatch, IfMatch: opt.Put.IfMatch}, func(tx IndexTx) ([]string, error) {
			now, err := getObject(tx, srcBucket, srcKey)
			if err != nil {
				return nil, err
			}
			if now.Content != src.Content {
				return nil, ErrSourceChanged
			}
			return nil, nil
		})
		if errors.Is(err, ErrSourceChanged) && attempt < copyAttempts {
			continue
		}
		if err != nil {
			return Object{}, err
		}
		return rec.Object, nil
	}
}
