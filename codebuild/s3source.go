package codebuild

import (
	"archive/zip"
	"context"
	"errors"
	"io"
	"os"
	"strings"

	"github.com/pipewright/pipewright/artifacts"
	"github.com/pipewright/pipewright/jobs"
)

// An S3 source is read from the artifact store (the store the S3 endpoint
// serves). Its location is "BUCKET/KEY" of a zip object, or
// "BUCKET/PREFIX/" of a folder whose objects are the source's files (named
// by their keys after PREFIX). pipewright keeps one version of an object,
// whose version id is its ETag: a zip source's sourceVersion must name it,
// and it is the build's resolvedSourceVersion; a folder has no version.
// Either is copied for the build when it leaves the queue, so the build
// reads what it resolved whatever is put at the location later.

// s3Location splits "BUCKET/KEY" or "BUCKET/PREFIX/" into its bucket and
// key or prefix ("" and "" when the bucket or the key is missing).
func s3Location(location string) (bucket, key string) {
	b, k, ok := strings.Cut(location, "/")
	if !ok || b == "" || k == "" && location != b+"/" {
		return "", ""
	}
	if k == "" {
		k = "/"
	}
	return b, k
}

// isFolder reports whether an S3 source location names a folder.
func isFolder(location string) bool { return strings.HasSuffix(location, "/") }

// checkS3Source refuses an S3 source location pipewright cannot build.
func checkS3Source(location, where string) error {
	if bucket, _ := s3Location(location); bucket == "" {
		return invalidInput("Invalid input: %s: an S3 source needs a location BUCKET/KEY of a zip object or BUCKET/PREFIX/ of a folder, not %q", where, location)
	}
	return nil
}

// s3Source copies a build's S3 source as its source zip and returns it,
// its file and its version ("" for a folder).
func (s *Service) s3Source(b *Build) (jobs.Artifact, string, string, *phaseContext) {
	loc := b.Doc.Source.GetLocation()
	bucket, key := s3Location(loc)
	art := jobs.Artifact{Name: "source", Bucket: internalBucket, Key: b.ID + "/source.zip"}
	if err := s.cfg.Artifacts.EnsureBucket(art.Bucket); err != nil {
		return art, "", "", &phaseContext{"CLIENT_ERROR", err.Error()}
	}
	var version string
	var err error
	if isFolder(loc) {
		if v := b.Doc.GetSourceVersion(); v != "" {
			return art, "", "", &phaseContext{"CLIENT_ERROR", "sourceVersion " + v + ": the S3 folder " + loc + " has no versions"}
		}
		err = s.zipFolder(bucket, strings.TrimPrefix(key, "/"), art)
	} else {
		version, err = s.copySource(bucket, key, art)
	}
	switch {
	case errors.Is(err, artifacts.ErrNoSuchBucket), errors.Is(err, artifacts.ErrInvalidBucketName):
		return art, "", "", &phaseContext{"CLIENT_ERROR", "NoSuchBucket: The specified bucket does not exist: " + bucket}
	case errors.Is(err, artifacts.ErrNotFound), errors.Is(err, artifacts.ErrInvalidKey):
		return art, "", "", &phaseContext{"CLIENT_ERROR", "NoSuchKey: The specified key does not exist: " + loc}
	case err != nil:
		return art, "", "", &phaseContext{"CLIENT_ERROR", "could not fetch the source " + loc + ": " + err.Error()}
	}
	if v := b.Doc.GetSourceVersion(); v != "" && v != version {
		return art, "", "", &phaseContext{"CLIENT_ERROR", "version " + v + " of " + loc + " does not exist: pipewright keeps one version of an object, whose version id is its ETag " + version}
	}
	p, err := s.cfg.Artifacts.Path(art.Bucket, art.Key)
	if err != nil {
		return art, "", "", &phaseContext{"CLIENT_ERROR", err.Error()}
	}
	return art, p, version, nil
}

// copySource makes art share the content of the zip object bucket/key and
// returns the object's ETag (the copy's MD5 when the object was replaced
// in between).
func (s *Service) copySource(bucket, key string, art jobs.Artifact) (string, error) {
	head, err := s.cfg.Artifacts.HeadObject(s.ctx, bucket, key)
	if err != nil {
		return "", err
	}
	copied, err := s.cfg.Artifacts.CopyObject(s.ctx, bucket, key, art.Bucket, art.Key, artifacts.CopyOptions{})
	if err != nil {
		return "", err
	}
	if copied.MD5 != head.MD5 {
		return copied.MD5, nil
	}
	if head.ETag != "" {
		return head.ETag, nil
	}
	return head.MD5, nil
}

// zipFolder stores the objects under prefix of bucket as the zip art,
// each named by its key after prefix (keys ending in "/", folder markers,
// are left out). A folder without objects is ErrNotFound.
func (s *Service) zipFolder(bucket, prefix string, art jobs.Artifact) error {
	tmp, err := os.CreateTemp(s.cfg.TempDir, ".source-*.zip")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	zw := artifacts.NewZipWriter(tmp)
	n := 0
	for after := ""; ; {
		page, err := s.cfg.Artifacts.List(s.ctx, bucket, artifacts.ListOptions{Prefix: prefix, After: after})
		if err != nil {
			return err
		}
		for _, o := range page.Objects {
			name := strings.TrimPrefix(o.Key, prefix)
			if name == "" || strings.HasSuffix(name, "/") {
				continue
			}
			if err := s.addObject(s.ctx, zw, bucket, o.Key, name); err != nil {
				return err
			}
			n++
		}
		if !page.Truncated {
			break
		}
		after = page.Next
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if n == 0 {
		return artifacts.ErrNotFound
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err = s.cfg.Artifacts.Put(art.Bucket, art.Key, tmp)
	return err
}

// addObject writes the object bucket/key into zw as name.
func (s *Service) addObject(ctx context.Context, zw *zip.Writer, bucket, key, name string) error {
	f, _, err := s.cfg.Artifacts.OpenObject(ctx, bucket, key)
	if err != nil {
		return err
	}
	defer f.Close()
	w, err := zw.Create(name)
	if err != nil {
		return err
	}
	_, err = io.Copy(w, f)
	return err
}

// internalBucket holds what builds store for themselves: their source
// zips and the zips of artifacts they store unpacked.
const internalBucket = "codebuild-sources"
