package artifacts

import "context"

// Link makes the object dstKey of bucket share the content of srcKey, with
// its metadata and tags: no byte is copied, and deleting either object
// leaves the other intact. It is the cheap way to publish the same content
// under a new key (a source action re-running a commit it already
// archived). The new object is durable when Link returns; ErrNotFound means
// srcKey does not exist.
func (s *Store) Link(bucket, srcKey, dstKey string) (Object, error) {
	return s.CopyObject(context.Background(), bucket, srcKey, bucket, dstKey, CopyOptions{})
}
