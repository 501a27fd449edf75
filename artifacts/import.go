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

// The store's earlier layout kept object key K of bucket B in the file
// root/D/P: D was B itself for a strict S3 bucket name, else "_" and B with
// each uppercase letter X written "_x"; P was K's '/'-separated segments as
// directories, each with '%' written "%25", a leading '.' "%2E" and an
// empty segment "%". Beside each file F was a sidecar ".m.F"; files being
// written were ".tmp-*". importLegacy brings such objects into the index.

// importBatch is how many files one import transaction records.
const importBatch = 256

// legacyFile is an object file of the earlier layout being imported.
type legacyFile struct {
	path string
	rec  Record
}

// importLegacy imports every object of the earlier layout under the root
// and removes the bucket directories it emptied. Each object's file is
// hard-linked into the content directory, the links made durable, the
// objects recorded, and only then the old names removed: a crash at any
// point leaves the object in the old layout, the new one, or both (then
// imported again).
func (s *Store) importLegacy(ctx context.Context) error {
	entries, err := os.ReadDir(s.root)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.IsDir() || e.Name() == contentDir {
			continue
		}
		bucket, ok := legacyBucket(e.Name())
		if !ok {
			continue
		}
		if err := s.importBucket(ctx, bucket, filepath.Join(s.root, e.Name())); err != nil {
			return fmt.Errorf("bucket %s: %w", bucket, err)
		}
	}
	return nil
}

// importBucket imports the object files under dir into bucket.
func (s *Store) importBucket(ctx context.Context, bucket, dir string) error {
	if err := s.EnsureBucket(bucket); err != nil {
		return err
	}
	var batch []legacyFile
	complete := true
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		key, ok := legacyKey(rel)
		if !ok || !d.Type().IsRegular() {
			complete = false
			return nil
		}
		f, err := s.linkLegacy(bucket, key, p)
		if err != nil {
			return err
		}
		if batch = append(batch, f); len(batch) == importBatch {
			err = s.recordLegacy(ctx, batch)
			batch = batch[:0]
		}
		return err
	})
	if err == nil {
		err = s.recordLegacy(ctx, batch)
	}
	if err != nil {
		return err
	}
	if complete {
		return os.RemoveAll(dir)
	}
	return nil
}

// linkLegacy links the object file p into the content directory and reads
// its digests.
func (s *Store) linkLegacy(bucket, key, p string) (legacyFile, error) {
	id := newContentID()
	if err := os.Link(p, s.contentPath(id)); err != nil {
		return legacyFile{}, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return legacyFile{}, err
	}
	d, err := newDigester(true, CRC64NVME)
	if err != nil {
		return legacyFile{}, err
	}
	if err := s.digestContent(id, d); err != nil {
		return legacyFile{}, err
	}
	md5 := d.md5Hex()
	return legacyFile{path: p, rec: Record{
		Object: Object{
			Bucket: bucket, Key: key, Size: d.n, SHA256: d.sha256Hex(), MD5: md5, Modified: fi.ModTime().UTC().Truncate(time.Millisecond),
			ETag: md5, ChecksumAlgorithm: CRC64NVME, Checksum: d.checksum(CRC64NVME), ChecksumType: FullObject,
		},
		Content: id,
	}}, nil
}

// recordLegacy makes a batch of links durable, records their objects in
// one transaction and removes their old names and sidecars.
func (s *Store) recordLegacy(ctx context.Context, batch []legacyFile) error {
	if len(batch) == 0 {
		return nil
	}
	if err := syncDir(s.data); err != nil {
		return err
	}
	var garbage []string
	err := s.idx.Update(ctx, func(tx IndexTx) error {
		garbage = nil
		var released []string
		for _, f := range batch {
			old, err := tx.GetObject(f.rec.Bucket, f.rec.Key)
			if err == nil {
				released = append(released, old.Content)
			} else if !errors.Is(err, ErrNotFound) {
				return err
			}
			if err := tx.PutObject(f.rec); err != nil {
				return err
			}
		}
		var err error
		garbage, err = orphans(tx, released...)
		return err
	})
	if err != nil {
		return err
	}
	s.removeContent(garbage...)
	for _, f := range batch {
		// A file of the old layout that stays would be imported again at
		// the next open, over what was written to its key since.
		if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("artifacts: importing %s: %w", f.path, err)
		}
		os.Remove(filepath.Join(filepath.Dir(f.path), ".m."+filepath.Base(f.path)))
	}
	return nil
}

// legacyBucket returns the bucket of a directory name of the earlier layout.
func legacyBucket(dir string) (string, bool) {
	name := dir
	if rest, ok := strings.CutPrefix(dir, "_"); ok {
		var b strings.Builder
		for i := 0; i < len(rest); i++ {
			c := rest[i]
			if c == '_' {
				if i++; i == len(rest) || rest[i] < 'a' || rest[i] > 'z' {
					return "", false
				}
				c = rest[i] - 'a' + 'A'
			}
			b.WriteByte(c)
		}
		name = b.String()
	}
	return name, checkBucketName(name) == nil
}

// legacyKey returns the key of an object file's path (relative to its
// bucket directory) of the earlier layout.
func legacyKey(rel string) (string, bool) {
	segs := strings.Split(filepath.ToSlash(rel), "/")
	for i, seg := range segs {
		if seg == "%" {
			segs[i] = ""
			continue
		}
		var b strings.Builder
		for j := 0; j < len(seg); j++ {
			switch {
			case seg[j] != '%':
				b.WriteByte(seg[j])
			case strings.HasPrefix(seg[j:], "%25"):
				b.WriteByte('%')
				j += 2
			case j == 0 && strings.HasPrefix(seg, "%2E"):
				b.WriteByte('.')
				j += 2
			default:
				return "", false
			}
		}
		segs[i] = b.String()
	}
	key := strings.Join(segs, "/")
	return key, checkKey(key) == nil
}
