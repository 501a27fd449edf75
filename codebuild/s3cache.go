package codebuild

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pipewright/pipewright/artifacts"
	"github.com/pipewright/pipewright/codebuild/buildspec"
	"github.com/pipewright/pipewright/codebuild/shape"
	"github.com/pipewright/pipewright/jobs"
)

// A cache of type S3 (location "BUCKET" or "BUCKET/PREFIX") keeps the
// buildspec's cache paths as two zip objects, PREFIX/src.zip (paths under
// the source directory) and PREFIX/home.zip (paths under HOME): fetched
// into a directory of the server before the build, given to the job as
// its cache, and stored back once the build's job succeeded (a path that
// matched nothing removes its object). A cache that cannot be fetched is
// skipped; a bucket that does not exist fails the build before it runs.

// cacheParts are the job layer's names of a cache's zips (jobs.Cache).
var cacheParts = []string{"src.zip", "home.zip"}

// s3CacheLocation splits a cache location into its bucket and key prefix
// ("" or ending in "/").
func s3CacheLocation(location string) (bucket, prefix string) {
	b, p, _ := strings.Cut(location, "/")
	return b, folderOf(strings.Trim(p, "/"))
}

// s3CacheDir is the server's directory of a build's S3 cache while the
// build runs.
func (s *Service) s3CacheDir(jobID string) string {
	base := s.cfg.CacheDir
	if base == "" {
		base = s.cfg.TempDir
	}
	if base == "" {
		base = os.TempDir()
	}
	return filepath.Join(base, ".s3", jobID)
}

// s3Cache fetches a build's S3 cache and returns it as its job's cache
// (nil when the build has none or its buildspec names no cache paths).
func (s *Service) s3Cache(b *Build, spec *buildspec.Spec) (*jobs.Cache, *phaseContext) {
	c := b.Doc.Cache
	if c.GetType() != "S3" || spec.Cache == nil || len(spec.Cache.Paths) == 0 {
		return nil, nil
	}
	bucket, prefix := s3CacheLocation(c.GetLocation())
	if err := s.bucketExists(bucket); err != nil {
		return nil, &phaseContext{"CLIENT_ERROR", "NoSuchBucket: the cache's bucket does not exist: " + bucket}
	}
	dir := s.s3CacheDir(b.JobID)
	if err := os.RemoveAll(dir); err != nil {
		return nil, &phaseContext{"CLIENT_ERROR", err.Error()}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, &phaseContext{"CLIENT_ERROR", err.Error()}
	}
	for _, part := range cacheParts {
		if err := s.fetchObject(bucket, prefix+part, filepath.Join(dir, part)); err != nil && !errors.Is(err, artifacts.ErrNotFound) {
			s.log.Warn("codebuild: could not fetch a build's S3 cache", "buildId", b.ID, "key", prefix+part, "err", err)
		}
	}
	return &jobs.Cache{Dir: dir, Paths: spec.Cache.Paths}, nil
}

// fetchObject copies bucket/key into the file dst.
func (s *Service) fetchObject(bucket, key, dst string) error {
	f, _, err := s.cfg.Artifacts.Get(bucket, key)
	if err != nil {
		return err
	}
	defer f.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, f); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	return out.Close()
}

// saveS3Cache stores back the cache a build's job saved into its
// directory.
func (s *Service) saveS3Cache(b *Build, jobID string) {
	bucket, prefix := s3CacheLocation(b.Doc.Cache.GetLocation())
	dir := s.s3CacheDir(jobID)
	if _, err := os.Stat(dir); err != nil {
		return
	}
	for _, part := range cacheParts {
		var err error
		f, oerr := os.Open(filepath.Join(dir, part))
		switch {
		case errors.Is(oerr, os.ErrNotExist):
			err = s.cfg.Artifacts.Delete(bucket, prefix+part)
		case oerr != nil:
			err = oerr
		default:
			_, err = s.cfg.Artifacts.Put(bucket, prefix+part, f)
			f.Close()
		}
		if err != nil {
			s.log.Warn("codebuild: could not store a build's S3 cache", "buildId", b.ID, "key", prefix+part, "err", err)
		}
	}
}

// dropS3Cache deletes the objects of an S3 cache.
func (s *Service) dropS3Cache(c *shape.ProjectCache) {
	if c.GetType() != "S3" {
		return
	}
	bucket, prefix := s3CacheLocation(c.GetLocation())
	for _, part := range cacheParts {
		if err := s.cfg.Artifacts.Delete(bucket, prefix+part); err != nil && !errors.Is(err, artifacts.ErrNotFound) {
			s.log.Warn("codebuild: could not delete an S3 cache", "bucket", bucket, "key", prefix+part, "err", err)
		}
	}
}
