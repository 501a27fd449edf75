package codebuild

import (
	"github.com/pipewright/pipewright/codebuild/buildspec"
	"github.com/pipewright/pipewright/codebuild/shape"
	"github.com/pipewright/pipewright/jobs"
)

// artifactOutputs maps a build's output artifacts (a pipeline action's, or
// a user's build's S3 artifacts) to the buildspec's artifacts: the first,
// unless it is marked secondary, to its primary artifacts, each other to
// the secondary artifact of its name. A declared output the buildspec has
// no artifacts for fails the build before it runs.
func artifactOutputs(spec *buildspec.Spec, outs []ArtifactRef) ([]jobs.Output, *phaseContext) {
	var out []jobs.Output
	for i, o := range outs {
		a := specArtifacts(spec, o.Name, i == 0 && !o.Secondary)
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

// specArtifacts is the buildspec's primary artifacts, or its secondary
// artifacts of the identifier, or nil.
func specArtifacts(spec *buildspec.Spec, identifier string, primary bool) *buildspec.Artifacts {
	if spec.Artifacts == nil || primary {
		return spec.Artifacts
	}
	for i := range spec.Artifacts.Secondary {
		if sec := &spec.Artifacts.Secondary[i]; sec.Identifier == identifier {
			return &sec.Artifacts
		}
	}
	return nil
}

// setArtifacts records where a build's artifacts go and, once stored,
// their checksums (the primary artifact, then the secondary ones by
// identifier), replacing what an earlier call recorded. An artifact stored
// as a folder (packaging NONE) has its folder as its location and no
// checksums.
func setArtifacts(d *shape.Build, planned []ArtifactRef, stored []jobs.Artifact) {
	if len(planned) > 0 {
		d.SecondaryArtifacts = []shape.BuildArtifacts{}
	}
	for i, p := range planned {
		loc := p.location()
		a := shape.BuildArtifacts{Location: &loc}
		for _, st := range stored {
			if st.Name == p.Name && p.Folder == nil {
				md5, sha := st.MD5, st.SHA256
				a.Md5sum, a.Sha256sum = &md5, &sha
			}
		}
		if i == 0 && !p.Secondary {
			d.Artifacts = &a
			continue
		}
		id := p.Name
		a.ArtifactIdentifier = &id
		d.SecondaryArtifacts = append(d.SecondaryArtifacts, a)
	}
}
