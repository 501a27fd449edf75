package codebuild

import (
	"github.com/pipewright/pipewright/codebuild/buildspec"
	"github.com/pipewright/pipewright/codebuild/shape"
	"github.com/pipewright/pipewright/jobs"
)

// artifactOutputs maps a pipeline action's output artifacts to the
// buildspec's artifacts: the first to its primary artifacts, each other to
// the secondary artifact of its name. A declared output the buildspec has
// no artifacts for fails the build before it runs.
func artifactOutputs(spec *buildspec.Spec, outs []ArtifactRef) ([]jobs.Output, *phaseContext) {
	var out []jobs.Output
	for i, o := range outs {
		var a *buildspec.Artifacts
		if spec.Artifacts != nil {
			if i == 0 {
				a = spec.Artifacts
			} else {
				for _, sec := range spec.Artifacts.Secondary {
					if sec.Identifier == o.Name {
						a = &sec.Artifacts
					}
				}
			}
		}
		if a == nil || len(a.Files) == 0 {
			return nil, &phaseContext{"CLIENT_ERROR", "no artifact definition in the buildspec for output artifact " + o.Name}
		}
		out = append(out, jobs.Output{
			Artifact: jobs.Artifact{Name: o.Name, Bucket: o.Bucket, Key: o.Key},
			Files:    a.Files, BaseDirectory: a.BaseDirectory, Exclude: a.ExcludePaths, DiscardPaths: a.DiscardPaths,
		})
	}
	return out, nil
}

// setArtifacts records where a build's artifacts went and their checksums
// (the primary artifact, then the secondary ones by identifier).
func setArtifacts(d *shape.Build, planned []ArtifactRef, stored []jobs.Artifact) {
	for i, p := range planned {
		loc := "arn:aws:s3:::" + p.Bucket + "/" + p.Key
		a := shape.BuildArtifacts{Location: &loc}
		for _, st := range stored {
			if st.Name == p.Name {
				md5, sha := st.MD5, st.SHA256
				a.Md5sum, a.Sha256sum = &md5, &sha
			}
		}
		if i == 0 {
			d.Artifacts = &a
			continue
		}
		id := p.Name
		a.ArtifactIdentifier = &id
		d.SecondaryArtifacts = append(d.SecondaryArtifacts, a)
	}
}
