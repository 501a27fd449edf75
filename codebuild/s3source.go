package codebuild

import (
	"errors"
	"strings"

	"github.com/pipewright/pipewright/artifacts"
	"github.com/pipewright/pipewright/jobs"
)

// An S3 source is a zip object of the artifact store (the store the S3
// endpoint serves): location "BUCKET/KEY". pipewright keeps one version of
// an object, whose version id is its ETag (its MD5): a sourceVersion must
// name it, and it is the build's resolvedSourceVersion. A folder location
// ("BUCKET/PREFIX/") is refused.

// s3Location splits "BUCKET/KEY" into its bucket and key ("" when either
// part is missing).
func s3Location(location string) (bucket, key string) {
	b, k, ok := strings.Cut(location, "/")
	if !ok || b == "" || k == "" {
		return "", ""
	}
	return b, k
}

// checkS3Source refuses an S3 source location pipewright cannot build.
func checkS3Source(location, where string) error {
	if _, key := s3Location(location); key == "" {
		return invalidInput("Invalid input: %s: an S3 source needs a location BUCKET/KEY of a zip object, not %q", where, location)
	}
	if strings.HasSuffix(location, "/") {
		return invalidInput("Invalid input: %s: S3 source folders (%q) are not supported by pipewright yet; give the location BUCKET/KEY of a zip object", where, location)
	}
	return nil
}

// s3Source copies a build's S3 source object as its source zip (so that
// the build reads the version it resolved, whatever is put at the key
// later) and returns it, its file and its version.
func (s *Service) s3Source(b *Build) (jobs.Artifact, string, string, *phaseContext) {
	bucket, key := s3Location(b.Doc.Source.GetLocation())
	f, obj, err := s.cfg.Artifacts.Get(bucket, key)
	switch {
	case errors.Is(err, artifacts.ErrNoSuchBucket), errors.Is(err, artifacts.ErrInvalidBucketName):
		return jobs.Artifact{}, "", "", &phaseContext{"CLIENT_ERROR", "NoSuchBucket: The specified bucket does not exist: " + bucket}
	case errors.Is(err, artifacts.ErrNotFound), errors.Is(err, artifacts.ErrInvalidKey):
		return jobs.Artifact{}, "", "", &phaseContext{"CLIENT_ERROR", "NoSuchKey: The specified key does not exist: " + bucket + "/" + key}
	case err != nil:
		return jobs.Artifact{}, "", "", &phaseContext{"CLIENT_ERROR", err.Error()}
	}
	defer f.Close()
	if v := b.Doc.GetSourceVersion(); v != "" && v != obj.MD5 {
		return jobs.Artifact{}, "", "", &phaseContext{"CLIENT_ERROR", "version " + v + " of " + bucket + "/" + key + " does not exist: pipewright keeps one version of an object, whose version id is its ETag " + obj.MD5}
	}
	art := jobs.Artifact{Name: "source", Bucket: internalBucket, Key: b.ID + "/source.zip"}
	if err := s.cfg.Artifacts.EnsureBucket(art.Bucket); err != nil {
		return art, "", "", &phaseContext{"CLIENT_ERROR", err.Error()}
	}
	if _, err := s.cfg.Artifacts.Put(art.Bucket, art.Key, f); err != nil {
		return art, "", "", &phaseContext{"CLIENT_ERROR", "could not copy the source: " + err.Error()}
	}
	p, err := s.cfg.Artifacts.Path(art.Bucket, art.Key)
	if err != nil {
		return art, "", "", &phaseContext{"CLIENT_ERROR", err.Error()}
	}
	return art, p, obj.MD5, nil
}

// internalBucket holds what builds store for themselves: their source
// zips and the zips of artifacts they store unpacked.
const internalBucket = "codebuild-sources"
