package artifacts

import (
	"fmt"
	"os"
	"path/filepath"
)

// Link makes the object dstKey of bucket share the content of srcKey, as a
// hard link: no byte is copied, and deleting either object leaves the other
// intact. It is the cheap way to publish the same content under a new key
// (a source action re-running a commit it already archived). The new object
// is durable when Link returns; ErrNotFound means srcKey does not exist.
func (s *Store) Link(bucket, srcKey, dstKey string) (Object, error) {
	bdir, src, err := s.paths(bucket, srcKey)
	if err != nil {
		return Object{}, err
	}
	_, dst, err := s.paths(bucket, dstKey)
	if err != nil {
		return Object{}, err
	}
	if err := checkBucket(bdir, bucket); err != nil {
		return Object{}, err
	}
	fi, err := os.Stat(src)
	if err != nil {
		return Object{}, s.missing(bdir, bucket, srcKey, err)
	}
	dir := filepath.Dir(dst)
	f, err := createTemp(bdir, dir)
	if err != nil {
		return Object{}, fmt.Errorf("artifacts: link %s/%s: %w", bucket, dstKey, err)
	}
	tmp := f.Name()
	f.Close()
	os.Remove(tmp)
	if err := os.Link(src, tmp); err != nil {
		return Object{}, fmt.Errorf("artifacts: link %s/%s: %w", bucket, dstKey, err)
	}
	m, ok := readMeta(src, fi)
	if ok {
		writeMeta(dst, m)
	}
	if err := renameObject(tmp, dst); err != nil {
		os.Remove(tmp)
		os.Remove(metaPath(dst))
		return Object{}, fmt.Errorf("artifacts: link %s/%s: %w", bucket, dstKey, err)
	}
	if err := ignoreNotExist(syncDir(dir)); err != nil {
		return Object{}, err
	}
	obj, err := s.Stat(bucket, dstKey)
	if err != nil {
		return Object{}, err
	}
	return obj, nil
}
