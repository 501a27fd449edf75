package codepipeline

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"mime"
	"path"
	"strings"

	"github.com/pipewright/pipewright/artifacts"
)

// runS3Deploy carries out Deploy/AWS/S3 on the artifact store: with
// Extract false the input artifact (a zip) is stored as it is under
// ObjectKey of bucket BucketName; with Extract true every file of the zip
// is stored as an object of its own, named by its path in the zip, under
// ObjectKey as a folder ("site" puts index.html at "site/index.html";
// without ObjectKey at the bucket's root), with the Content-Type of its
// extension. CacheControl is the objects' Cache-Control. The bucket must
// exist: a deploy creates no bucket. KMSEncryptionKeyARN and CannedACL are
// accepted and have no effect (the store keeps no keys or ACLs).
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
	if _, err := s.cfg.Artifacts.HeadBucket(ctx, target); err != nil {
		return s3Failure(err, target, key)
	}
	var headers map[string]string
	if cc := cfg["CacheControl"]; cc != "" {
		headers = map[string]string{"Cache-Control": cc}
	}
	if !extract {
		opt := artifacts.CopyOptions{ReplaceMetadata: true, Put: artifacts.PutOptions{ContentType: "application/zip", Headers: headers}}
		if _, err := s.cfg.Artifacts.CopyObject(ctx, in.Bucket, in.Key, target, key, opt); err != nil {
			return deployFailure(ctx, err, target, key)
		}
		return jobResult{status: ActionSucceeded, summary: fmt.Sprintf("Deployed %s to s3://%s/%s", in.Name, target, key)}
	}
	n, fail := s.extractTo(ctx, in, target, key, headers)
	if fail != nil {
		return *fail
	}
	return jobResult{status: ActionSucceeded, summary: fmt.Sprintf("Extracted %d files of %s to s3://%s/%s", n, in.Name, target, folder(key))}
}

// extractTo stores every file of the zip artifact in as an object of
// bucket under prefix (a folder), and returns how many it stored or why
// it failed.
func (s *Service) extractTo(ctx context.Context, in ArtifactRef, bucket, prefix string, headers map[string]string) (int, *jobResult) {
	f, obj, err := s.cfg.Artifacts.Get(in.Bucket, in.Key)
	if err != nil {
		return 0, failure(errJobFailed, fmt.Sprintf("The input artifact %s could not be read: %v", in.Name, err))
	}
	defer f.Close()
	zr, err := zip.NewReader(f, obj.Size)
	if err != nil {
		return 0, failure(errJobFailed, fmt.Sprintf("The input artifact %s is not a zip file, so it cannot be extracted: %v", in.Name, err))
	}
	base := folder(prefix)
	n := 0
	for _, zf := range zr.File {
		if !zf.Mode().IsRegular() {
			continue
		}
		key := base + strings.TrimPrefix(zf.Name, "/")
		if err := s.putEntry(ctx, zf, bucket, key, headers); err != nil {
			res := deployFailure(ctx, err, bucket, key)
			return n, &res
		}
		n++
	}
	return n, nil
}

// putEntry stores one zip entry as bucket/key.
func (s *Service) putEntry(ctx context.Context, zf *zip.File, bucket, key string, headers map[string]string) error {
	rc, err := zf.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	opt := artifacts.PutOptions{Size: int64(zf.UncompressedSize64), ContentType: mime.TypeByExtension(path.Ext(key)), Headers: headers}
	_, err = s.cfg.Artifacts.PutObject(ctx, bucket, key, rc, opt)
	return err
}

// folder is a key prefix as a folder: "" or ending in "/".
func folder(prefix string) string {
	if prefix == "" || strings.HasSuffix(prefix, "/") {
		return prefix
	}
	return prefix + "/"
}

// deployFailure is how a deploy fails to store an object.
func deployFailure(ctx context.Context, err error, bucket, key string) jobResult {
	switch {
	case ctx.Err() != nil:
		return failed(errJobFailed, "The deploy action was cancelled.")
	case errors.Is(err, artifacts.ErrNoSuchBucket):
		return s3Failure(err, bucket, key)
	case errors.Is(err, artifacts.ErrInvalidKey):
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
