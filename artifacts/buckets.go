package artifacts

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// CreateBucket creates a bucket whose name follows S3's rules:
// ErrInvalidBucketName otherwise, ErrBucketExists when it exists.
func (s *Store) CreateBucket(ctx context.Context, name string) error {
	if err := checkS3BucketName(name); err != nil {
		return err
	}
	return s.idx.Update(ctx, func(tx IndexTx) error {
		return tx.CreateBucket(Bucket{Name: name, Created: time.Now().UTC()})
	})
}

// EnsureBucket creates the bucket if it does not exist yet. The name must be
// 3 to 63 characters of letters, digits, '.' and '-' (CodePipeline's
// artifactStore.location pattern with S3's length limits); unlike
// CreateBucket it accepts names S3 would refuse, such as uppercase ones.
// Names differing only in case are distinct buckets.
func (s *Store) EnsureBucket(name string) error {
	if err := checkBucketName(name); err != nil {
		return err
	}
	ctx := context.Background()
	err := s.idx.View(ctx, func(tx IndexTx) error {
		_, err := tx.GetBucket(name)
		return err
	})
	if !errors.Is(err, ErrNoSuchBucket) {
		return err
	}
	err = s.idx.Update(ctx, func(tx IndexTx) error {
		return tx.CreateBucket(Bucket{Name: name, Created: time.Now().UTC()})
	})
	if err != nil && !errors.Is(err, ErrBucketExists) {
		return fmt.Errorf("artifacts: create bucket %s: %w", name, err)
	}
	return nil
}

// HeadBucket returns a bucket: ErrNoSuchBucket when it does not exist.
func (s *Store) HeadBucket(ctx context.Context, name string) (Bucket, error) {
	var b Bucket
	err := s.idx.View(ctx, func(tx IndexTx) (err error) {
		b, err = getBucket(tx, name)
		return err
	})
	return b, err
}

// Buckets returns every bucket, by name.
func (s *Store) Buckets(ctx context.Context) ([]Bucket, error) {
	var bs []Bucket
	err := s.idx.View(ctx, func(tx IndexTx) (err error) {
		bs, err = tx.ListBuckets()
		return err
	})
	return bs, err
}

// DeleteBucket deletes an empty bucket: ErrNoSuchBucket when it does not
// exist, ErrBucketNotEmpty when it holds objects or multipart uploads.
func (s *Store) DeleteBucket(ctx context.Context, name string) error {
	return s.idx.Update(ctx, func(tx IndexTx) error {
		err := tx.DeleteBucket(name)
		if errors.Is(err, ErrNoSuchBucket) {
			return noSuchBucket(name)
		}
		return err
	})
}

// getBucket returns a bucket, or an error matching ErrNoSuchBucket and
// ErrNotFound.
func getBucket(tx IndexTx, name string) (Bucket, error) {
	b, err := tx.GetBucket(name)
	if errors.Is(err, ErrNoSuchBucket) {
		return Bucket{}, noSuchBucket(name)
	}
	return b, err
}

// noSuchBucket is the error for a missing bucket: it matches
// ErrNoSuchBucket and ErrNotFound.
func noSuchBucket(name string) error {
	return fmt.Errorf("%w: %s: %w", ErrNoSuchBucket, name, ErrNotFound)
}
