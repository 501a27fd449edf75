package codebuild

import (
	"archive/zip"
	"context"
	"fmt"
	"mime"
	"os"
	"path"
	"strings"

	"github.com/pipewright/pipewright/artifacts"
	"github.com/pipewright/pipewright/codebuild/buildspec"
	"github.com/pipewright/pipewright/codebuild/shape"
	"github.com/pipewright/pipewright/jobs"
)

// A user's build stores its artifacts of type S3 in the artifact store
// (the store the S3 endpoint serves), where AWS puts them: in the bucket
// named by location, under path, then the build's id (the UUID after
// "PROJECT:") when namespaceType is BUILD_ID, then name (the project's name
// when empty; "/" names nothing, the folder above). With BUILD_ID the
// buildspec's s3-prefix, when it has one, replaces path. With packaging
// ZIP the artifact is one zip object at that key; with NONE (the default)
// its files are objects of their own under that key as a folder. overrideArtifactName
// takes the buildspec's artifacts name instead, its variables expanded
// (see expandName). The bucket must exist.

// location is where an artifact went, as a build's artifacts member shows
// it: arn:aws:s3:::BUCKET/KEY, or the folder of files (packaging NONE).
func (a ArtifactRef) location() string {
	if f := a.Folder; f != nil {
		return strings.TrimSuffix("arn:aws:s3:::"+f.Bucket+"/"+f.Prefix, "/")
	}
	return "arn:aws:s3:::" + a.Bucket + "/" + a.Key
}

// checkS3Artifacts refuses artifacts settings of type S3 that pipewright
// could not store.
func checkS3Artifacts(a *shape.ProjectArtifacts) error {
	if a.GetLocation() == "" {
		return invalidInput("Invalid input: artifacts of type S3 need a location: the name of the output bucket")
	}
	if a.GetPackaging() == "ZIP" && a.GetName() != "" && strings.Trim(a.GetPath()+"/"+a.GetName(), "/") == "" && a.GetNamespaceType() != "BUILD_ID" {
		return invalidInput("Invalid input: artifacts of type S3 with packaging ZIP need a name or a path for the zip object")
	}
	return nil
}

// s3Outputs resolves a user's build's S3 artifacts settings into the
// outputs its job stores, the primary first; a bucket that does not exist
// fails the build before it runs.
func (s *Service) s3Outputs(b *Build, spec *buildspec.Spec) ([]ArtifactRef, *phaseContext) {
	var out []ArtifactRef
	if a := b.Run.Artifacts; a.GetType() == "S3" {
		ref, failure := s.s3Output(b, a, specArtifacts(spec, "", true), "", false)
		if failure != nil {
			return nil, failure
		}
		out = append(out, ref)
	}
	for i := range b.Run.SecondaryArtifacts {
		a := &b.Run.SecondaryArtifacts[i]
		if a.GetType() != "S3" {
			continue
		}
		id := a.GetArtifactIdentifier()
		ref, failure := s.s3Output(b, a, specArtifacts(spec, id, false), id, true)
		if failure != nil {
			return nil, failure
		}
		out = append(out, ref)
	}
	return out, nil
}

// s3Output is where one S3 artifact goes; identifier names a secondary one.
func (s *Service) s3Output(b *Build, a *shape.ProjectArtifacts, sa *buildspec.Artifacts, identifier string, secondary bool) (ArtifactRef, *phaseContext) {
	bucket := a.GetLocation()
	if err := s.bucketExists(bucket); err != nil {
		return ArtifactRef{}, &phaseContext{"CLIENT_ERROR", "NoSuchBucket: The specified bucket does not exist: " + bucket}
	}
	name := a.GetName()
	if name == "" {
		name = b.Project
	}
	if a.GetOverrideArtifactName() && sa != nil && sa.Name != "" {
		name = s.expandName(b, sa.Name)
	}
	id, dir := "", a.GetPath()
	if a.GetNamespaceType() == "BUILD_ID" {
		id = buildUUID(b.ID)
		if sa != nil && sa.S3Prefix != "" {
			dir = sa.S3Prefix
		}
	}
	key := joinKey(dir, id, name)
	ref := ArtifactRef{Name: identifier, Secondary: secondary}
	if ref.Name == "" {
		ref.Name = name
	}
	if a.GetPackaging() == "ZIP" {
		if key == "" {
			return ArtifactRef{}, &phaseContext{"CLIENT_ERROR", "the zip artifact has no object key: its path, namespaceType and name are all empty"}
		}
		ref.Bucket, ref.Key = bucket, key
		return ref, nil
	}
	part := identifier
	if part == "" {
		part = "primary"
	}
	ref.Bucket, ref.Key = internalBucket, b.ID+"/artifacts/"+part+".zip"
	ref.Folder = &S3Folder{Bucket: bucket, Prefix: folderOf(key)}
	return ref, nil
}

// expandName is a buildspec's artifacts name with its $VAR and ${VAR}
// replaced by the build's environment (CodeBuild's variables, the
// project's and StartBuild's). A name with a command substitution ($(...)
// or backquotes) is taken literally: pipewright does not run it through a
// shell.
func (s *Service) expandName(b *Build, name string) string {
	if !strings.Contains(name, "$") || strings.Contains(name, "$(") || strings.Contains(name, "`") {
		return name
	}
	env, _ := s.buildEnv(b)
	vars := map[string]string{}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	return os.Expand(name, func(k string) string { return vars[k] })
}

// joinKey joins the non-empty parts of a key with "/", each without the
// slashes at its ends.
func joinKey(parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p = strings.Trim(p, "/"); p != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, "/")
}

// folderOf is a key as a folder prefix: "" or ending in "/".
func folderOf(key string) string {
	if key == "" {
		return ""
	}
	return key + "/"
}

// bucketExists returns nil when the bucket exists, an error matching
// artifacts.ErrNoSuchBucket when it does not.
func (s *Service) bucketExists(bucket string) error {
	_, err := s.cfg.Artifacts.HeadBucket(s.ctx, bucket)
	return err
}

// unpackFolders stores the files of each artifact of packaging NONE the
// job stored: each file of its zip becomes an object under its folder. It
// runs before the build's end is recorded, so a crash in between unpacks
// again; the zips are removed once the end is recorded (dropZips).
func (s *Service) unpackFolders(planned []ArtifactRef, stored []jobs.Artifact) error {
	for _, p := range planned {
		if p.Folder == nil || !storedArtifact(stored, p) {
			continue
		}
		if err := s.unpack(p); err != nil {
			return fmt.Errorf("artifact %s: %w", p.Name, err)
		}
	}
	return nil
}

// storedArtifact reports whether the job stored the planned artifact.
func storedArtifact(stored []jobs.Artifact, p ArtifactRef) bool {
	for _, st := range stored {
		if st.Bucket == p.Bucket && st.Key == p.Key {
			return true
		}
	}
	return false
}

// unpack stores the files of one artifact's zip under its folder, each
// with the Content-Type of its extension.
func (s *Service) unpack(p ArtifactRef) error {
	zf, obj, err := s.cfg.Artifacts.Get(p.Bucket, p.Key)
	if err != nil {
		return err
	}
	defer zf.Close()
	zr, err := zip.NewReader(zf, obj.Size)
	if err != nil {
		return err
	}
	for _, f := range zr.File {
		if !f.Mode().IsRegular() {
			continue
		}
		if err := s.putZipEntry(f, p.Folder.Bucket, p.Folder.Prefix+f.Name); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) putZipEntry(f *zip.File, bucket, key string) error {
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	opt := artifacts.PutOptions{Size: int64(f.UncompressedSize64), ContentType: mime.TypeByExtension(path.Ext(key))}
	_, err = s.cfg.Artifacts.PutObject(context.Background(), bucket, key, rc, opt)
	return err
}

// dropZips removes the zips of the artifacts stored as folders.
func (s *Service) dropZips(planned []ArtifactRef) {
	for _, p := range planned {
		if p.Folder != nil {
			if err := s.cfg.Artifacts.Delete(p.Bucket, p.Key); err != nil {
				s.log.Warn("codebuild: could not remove an unpacked artifact's zip", "bucket", p.Bucket, "key", p.Key, "err", err)
			}
		}
	}
}
