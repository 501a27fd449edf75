package codepipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/pipewright/pipewright/artifacts"
)

// runS3Source carries out Source/AWS/S3: the source is the object
// S3ObjectKey of bucket S3Bucket in the artifact store (an S3 source is a
// zip, but the object is taken as it is), the output artifact a copy of it
// in the pipeline's artifact bucket at AWS's key layout (sharing its
// content). pipewright keeps no object versions, so the object's ETag
// stands for the version id: it is the revision, the externalExecutionId
// and the value of both output variables. An execution's S3_OBJECT_KEY
// override replaces the key; an S3_OBJECT_VERSION_ID override must name
// the object's current ETag.
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
	name := r.Outputs[0].Name
	ref, obj, err := s.copyArtifact(ctx, bucket, r, name, src, key)
	if err != nil {
		return s3Failure(err, src, key)
	}
	etag := etagOf(obj)
	if version != "" && version != etag {
		if err := s.cfg.Artifacts.DeleteObject(ctx, ref.Bucket, ref.Key); err != nil {
			s.log.Warn("delete an unused source artifact", "actionExecutionId", r.ID, "err", err)
		}
		return failed("RevisionUnavailable", fmt.Sprintf("The version '%s' of the object with key '%s' does not exist in bucket '%s': pipewright keeps one version of an object, whose version id is its ETag '%s'.", version, key, src, etag))
	}
	return jobResult{
		status:     ActionSucceeded,
		externalID: etag,
		outputs:    []ArtifactRef{ref},
		revision:   &Revision{ID: etag, Created: obj.Modified},
		vars:       map[string]string{"ETag": etag, "VersionId": etag},
	}
}

// copyArtifact publishes the object src/key as the output artifact name
// of r in the artifact bucket, sharing its content (no byte is copied),
// and returns it with the source object's metadata: that of the content
// copied, whatever is put at the key meanwhile (a copy is a single-part
// object, so the source's ETag is read from the source).
func (s *Service) copyArtifact(ctx context.Context, bucket string, r *ActionRun, name, src, key string) (ArtifactRef, artifacts.Object, error) {
	if err := s.cfg.Artifacts.EnsureBucket(bucket); err != nil {
		return ArtifactRef{}, artifacts.Object{}, err
	}
	ref := ArtifactRef{Name: name, Bucket: bucket, Key: artifactKey(r.Pipeline, name)}
	for attempt := 1; ; attempt++ {
		head, err := s.cfg.Artifacts.HeadObject(ctx, src, key)
		if err != nil {
			return ArtifactRef{}, artifacts.Object{}, err
		}
		copied, err := s.cfg.Artifacts.CopyObject(ctx, src, key, ref.Bucket, ref.Key, artifacts.CopyOptions{})
		if err != nil {
			return ArtifactRef{}, artifacts.Object{}, err
		}
		if copied.MD5 == head.MD5 {
			return ref, head, nil
		}
		if attempt == copyAttempts {
			return ref, copied, nil
		}
	}
}

// copyAttempts bounds the copies of a source object that keeps changing.
const copyAttempts = 3

// etagOf is an object's S3 ETag, unquoted.
func etagOf(obj artifacts.Object) string {
	if obj.ETag != "" {
		return obj.ETag
	}
	return obj.MD5
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
// read: a ConfigurationError naming the missing bucket (NoSuchBucket) or
// key (NoSuchKey).
func s3Failure(err error, bucket, key string) jobResult {
	switch {
	case errors.Is(err, artifacts.ErrNoSuchBucket), errors.Is(err, artifacts.ErrInvalidBucketName):
		return failed(errConfiguration, fmt.Sprintf("The specified bucket '%s' does not exist.", bucket))
	case errors.Is(err, artifacts.ErrNotFound), errors.Is(err, artifacts.ErrInvalidKey):
		return failed(errConfiguration, fmt.Sprintf("The object with key '%s' does not exist in bucket '%s'.", key, bucket))
	}
	return failed(errJobFailed, err.Error())
}
