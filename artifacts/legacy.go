package artifacts

import (
	"context"
	"fmt"
	"io"
	"os"
)

// This file holds the store's API for pipelines, builds and jobs: no
// context, no options.

// Put stores the content read from r under bucket/key, replacing any
// existing object, and returns its metadata. The bucket must exist. The
// object appears atomically and durably once r is drained: if r fails, or
// anything else does, nothing is stored and the previous object, if any,
// is unchanged.
func (s *Store) Put(bucket, key string, r io.Reader) (Object, error) {
	obj, err := s.PutObject(context.Background(), bucket, key, r, PutOptions{Size: -1})
	if err != nil {
		return Object{}, fmt.Errorf("artifacts: put %s/%s: %w", bucket, key, err)
	}
	return obj, nil
}

// Path returns the path of the file holding the object's content, so that
// callers can read it without copying through the store: ErrNotFound (or
// ErrNoSuchBucket) when the object does not exist. The path stays valid
// while the object is not replaced or deleted. The file must only be read.
func (s *Store) Path(bucket, key string) (string, error) {
	rec, err := s.lookup(context.Background(), bucket, key)
	if err != nil {
		return "", err
	}
	return s.contentPath(rec.Content), nil
}

// Get opens the object for reading and returns it with its metadata; see
// [Store.OpenObject].
func (s *Store) Get(bucket, key string) (*os.File, Object, error) {
	return s.OpenObject(context.Background(), bucket, key)
}

// Stat returns the object's metadata, or ErrNotFound.
func (s *Store) Stat(bucket, key string) (Object, error) {
	return s.HeadObject(context.Background(), bucket, key)
}

// Delete removes the object. Deleting an object that does not exist is not
// an error; deleting from a bucket that does not exist is (ErrNoSuchBucket).
func (s *Store) Delete(bucket, key string) error {
	return s.DeleteObject(context.Background(), bucket, key)
}
