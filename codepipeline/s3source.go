package codepipeline

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/pipewright/pipewright/artifacts"
)

// runS3Source carries out Source/AWS/S3: the source is the object
// S3ObjectKey of bucket S3Bucket in the artifact store (an S3 source is a
// zip, but the object is taken as it is), the output artifact a copy of it
// in the pipeline's artifact bucket at AWS's key layout. pipewright keeps
// no object versions, so the object's ETag (its MD5) stands for the
// version id: it is the revision, the externalExecutionId and both output
// variables' value. An execution's S3_OBJECT_KEY override replaces the key;
// an S3_OBJECT_VERSION_ID override must name the object's current ETag.
//
// Like the CodeCommit source it has no process: a run cut short by a stop,
// a deletion or a shutdown records nothing and the next life runs it again.
func (s *Service) runS3Source(ctx context.Context, r *ActionRun, bucket string) jobResult {
	cfg := r.Input.ResolvedConfiguration
	src, key := cfg["S3Bucket"], cfg["S3ObjectKey"]
	version := ""
	for _, o := range s.overridesFor(ctx, r) {
		switch o.RevisionType {
		case "S3_OBJECT_KEY":
			key = o.RevisionValue
		case "S3_OBJECT_VERSION_ID":
			version = o.RevisionValue
		}
	}
	if len(r.Outputs) == 0 {
		return failed(errConfiguration, "The source action declares no output artifact.")
	}
	f, obj, err := s.cfg.Artifacts.Get(src, key)
	if err != nil {
		return s3Failure(err, src, key)
	}
	defer f.Close()
	if version != "" && version != obj.MD5 {
		return failed("RevisionUnavailable", fmt.Sprintf("The version '%s' of the object with key '%s' does not exist in bucket '%s': pipewright keeps one version of an object, whose version id is its ETag '%s'.", version, key, src, obj.MD5))
	}
	name := r.Outputs[0].Name
	ref, err := s.copyArtifact(ctx, bucket, r, name, src, key, f)
	if err != nil {
		if ctx.Err() != nil {
			return failed(errJobFailed, "The source action was cancelled.")
		}
		return failed(errJobFailed, "Could not store the source artifact: "+err.Error())
	}
	return jobResult{
		status:     ActionSucceeded,
		externalID: obj.MD5,
		outputs:    []ArtifactRef{ref},
		revision:   &Revision{ID: obj.MD5, Created: obj.Modified},
		vars:       map[string]string{"ETag": obj.MD5, "VersionId": obj.MD5},
	}
}

// copyArtifact publishes the object src/key, open as f, as the output
// artifact name of r in the artifact bucket: linked when it is already in
// that bucket, copied otherwise. A cancelled ctx stops the copy and stores
// nothing.
func (s *Service) copyArtifact(ctx context.Context, bucket string, r *ActionRun, name, src, key string, f io.Reader) (ArtifactRef, error) {
	if err := s.cfg.Artifacts.EnsureBucket(bucket); err != nil {
		return ArtifactRef{}, err
	}
	dst := artifactKey(r.Pipeline, name)
	if src == bucket {
		if _, err := s.cfg.Artifacts.Link(bucket, key, dst); err == nil {
			return ArtifactRef{Name: name, Bucket: bucket, Key: dst}, nil
		}
	}
	if _, err := s.cfg.Artifacts.Put(bucket, dst, ctxReader{ctx, f}); err != nil {
		return ArtifactRef{}, err
	}
	return ArtifactRef{Name: name, Bucket: bucket, Key: dst}, nil
}

// overridesFor returns the source revision overrides the execution gives
// this action.
func (s *Service) overridesFor(ctx context.Context, r *ActionRun) []SourceRevisionOverride {
	var out []SourceRevisionOverride
	s.store.View(ctx, func(tx Tx) error {
		e, err := tx.GetExecution(r.Pipeline, r.ExecutionID)
		if err != nil {
			return err
		}
		for _, o := range e.SourceRevisions {
			if o.ActionName == r.Action {
				out = append(out, o)
			}
		}
		return nil
	})
	return out
}

// s3Failure is how an S3 action fails on an object or bucket it cannot
// read, in AWS's words.
func s3Failure(err error, bucket, key string) jobResult {
	switch {
	case errors.Is(err, artifacts.ErrNoSuchBucket), errors.Is(err, artifacts.ErrInvalidBucketName):
		return failed(errConfiguration, fmt.Sprintf("The specified bucket '%s' does not exist.", bucket))
	case errors.Is(err, artifacts.ErrNotFound), errors.Is(err, artifacts.ErrInvalidKey):
		return failed(errConfiguration, fmt.Sprintf("The object with key '%s' does not exist in bucket '%s'.", key, bucket))
	}
	return failed(errJobFailed, err.Error())
}

// ctxReader reads r until ctx is done, then fails.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
