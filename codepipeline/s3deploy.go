package codepipeline

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pipewright/pipewright/artifacts"
)

// runS3Deploy carries out Deploy/AWS/S3 on the artifact store: with
// Extract false the input artifact (a zip) is stored as it is under
// ObjectKey of bucket BucketName; with Extract true every file of the zip
// is stored as an object of its own, named by its path in the zip, under
// ObjectKey as a folder ("site" puts index.html at "site/index.html";
// without ObjectKey at the bucket's root). The bucket must exist: a deploy
// creates no bucket. KMSEncryptionKeyARN, CannedACL and CacheControl are
// accepted and have no effect (the store keeps no ACLs, keys or headers).
//
// Objects are stored one by one, each atomically; a deploy cut short by a
// stop or a shutdown leaves those already stored, and the next life runs
// the action again from the start.
func (s *Service) runS3Deploy(ctx context.Context, r *ActionRun) jobResult {
	cfg := r.Input.ResolvedConfiguration
	target, key := cfg["BucketName"], cfg["ObjectKey"]
	var extract bool
	switch strings.ToLower(cfg["Extract"]) {
	case "true":
		extract = true
	case "false":
	default:
		return failed(errConfiguration, fmt.Sprintf("Extract must be true or false, not '%s'.", cfg["Extract"]))
	}
	if !extract && key == "" {
		return failed(errConfiguration, "ObjectKey is required when Extract is false.")
	}
	if len(r.Input.InputArtifacts) != 1 {
		return failed(errConfiguration, "The deploy action needs exactly one input artifact.")
	}
	in := r.Input.InputArtifacts[0]
	if err := s.bucketExists(target); err != nil {
		return s3Failure(err, target, key)
	}
	if !extract {
		f, _, err := s.cfg.Artifacts.Get(in.Bucket, in.Key)
		if err != nil {
			return failed(errJobFailed, fmt.Sprintf("The input artifact %s could not be read: %v", in.Name, err))
		}
		defer f.Close()
		if _, err := s.cfg.Artifacts.Put(target, key, ctxReader{ctx, f}); err != nil {
			return deployFailure(ctx, err, target, key)
		}
		return jobResult{status: ActionSucceeded, summary: fmt.Sprintf("Deployed %s to s3://%s/%s", in.Name, target, key)}
	}
	n, fail := s.extractTo(ctx, in, target, key)
	if fail != nil {
		return *fail
	}
	return jobResult{status: ActionSucceeded, summary: fmt.Sprintf("Extracted %d files of %s to s3://%s/%s", n, in.Name, target, folder(key))}
}

// extractTo stores every file of the zip artifact in as an object of
// bucket under prefix (a folder), and returns how many it stored or why
// it failed.
func (s *Service) extractTo(ctx context.Context, in ArtifactRef, bucket, prefix string) (int, *jobResult) {
	p, err := s.cfg.Artifacts.Path(in.Bucket, in.Key)
	if err != nil {
		return 0, failure(errJobFailed, fmt.Sprintf("The input artifact %s could not be read: %v", in.Name, err))
	}
	zr, err := zip.OpenReader(p)
	if err != nil {
		return 0, failure(errJobFailed, fmt.Sprintf("The input artifact %s is not a zip file, so it cannot be extracted: %v", in.Name, err))
	}
	defer zr.Close()
	base := folder(prefix)
	n := 0
	for _, f := range zr.File {
		if !f.Mode().IsRegular() {
			continue
		}
		key := base + strings.TrimPrefix(f.Name, "/")
		if err := s.putEntry(ctx, f, bucket, key); err != nil {
			res := deployFailure(ctx, err, bucket, key)
			return n, &res
		}
		n++
	}
	return n, nil
}

// putEntry stores one zip entry as bucket/key.
func (s *Service) putEntry(ctx context.Context, f *zip.File, bucket, key string) error {
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = s.cfg.Artifacts.Put(bucket, key, ctxReader{ctx, rc})
	return err
}

// folder is a key prefix as a folder: "" or ending in "/".
func folder(prefix string) string {
	if prefix == "" || strings.HasSuffix(prefix, "/") {
		return prefix
	}
	return prefix + "/"
}

// bucketExists returns nil when the bucket exists, an error matching
// artifacts.ErrNoSuchBucket when it does not.
func (s *Service) bucketExists(bucket string) error {
	_, err := s.cfg.Artifacts.Stat(bucket, bucketProbeKey)
	if err == nil || errors.Is(err, artifacts.ErrNoSuchBucket) || errors.Is(err, artifacts.ErrInvalidBucketName) {
		return err
	}
	if errors.Is(err, artifacts.ErrNotFound) {
		return nil
	}
	return err
}

// bucketProbeKey is the key whose Stat tells whether a bucket exists.
const bucketProbeKey = "pipewright-bucket-probe"

// deployFailure is how a deploy fails to store an object.
func deployFailure(ctx context.Context, err error, bucket, key string) jobResult {
	switch {
	case ctx.Err() != nil:
		return failed(errJobFailed, "The deploy action was cancelled.")
	case errors.Is(err, artifacts.ErrNoSuchBucket):
		return s3Failure(err, bucket, key)
	case errors.Is(err, artifacts.ErrInvalidKey), errors.Is(err, artifacts.ErrKeyConflict):
		return failed(errConfiguration, fmt.Sprintf("The object key '%s' cannot be stored in bucket '%s': %v", key, bucket, err))
	}
	return failed(errJobFailed, fmt.Sprintf("Could not store s3://%s/%s: %v", bucket, key, err))
}

// failure is failed as a pointer, for functions that return no result when
// they succeed.
func failure(code, msg string) *jobResult {
	res := failed(code, msg)
	return &res
}
