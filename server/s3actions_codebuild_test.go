package server_test

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cb "github.com/aws/aws-sdk-go-v2/service/codebuild"
	cbt "github.com/aws/aws-sdk-go-v2/service/codebuild/types"
)

// s3Project creates a project building the S3 source location.
func s3Project(t *testing.T, c *cb.Client, name, location string, mod ...func(*cb.CreateProjectInput)) {
	t.Helper()
	noSourceProject(t, c, name, "", append([]func(*cb.CreateProjectInput){func(in *cb.CreateProjectInput) {
		in.Source = &cbt.ProjectSource{Type: cbt.SourceTypeS3, Location: aws.String(location)}
	}}, mod...)...)
}

// TestCodeBuildS3SourceAndArtifacts: a build of an S3 source zip (its
// ETag the resolved version) stores its primary artifact as a zip under
// path/BUILD_ID/name and a secondary artifact as a folder of objects, and
// reports both locations as AWS does.
func TestCodeBuildS3SourceAndArtifacts(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	c := newCodeBuild(ts)
	etag := ts.putObject("cb-src", "app/src.zip", zipOf(t, map[string]string{
		"src.txt": "the source",
		"buildspec.yml": `version: 0.2
phases:
  build:
    commands:
      - mkdir -p out/docs && echo "built $(cat src.txt)" > out/app.txt && echo doc > out/docs/readme.md
artifacts:
  base-directory: out
  files: ['**/*']
  name: app-$CODEBUILD_BUILD_NUMBER.zip
  secondary-artifacts:
    docs:
      base-directory: out/docs
      files: ['**/*']
    tagged:
      s3-prefix: by-prefix
      base-directory: out
      files: [app.txt]
`,
	}))
	ts.makeBucket("cb-out")
	s3Project(t, c, "s3app", "cb-src/app/src.zip", func(in *cb.CreateProjectInput) {
		in.Artifacts = &cbt.ProjectArtifacts{Type: cbt.ArtifactsTypeS3, Location: aws.String("cb-out"), Path: aws.String("builds"),
			NamespaceType: cbt.ArtifactNamespaceBuildId, Name: aws.String("app.zip"), Packaging: cbt.ArtifactPackagingZip}
		in.SecondaryArtifacts = []cbt.ProjectArtifacts{{Type: cbt.ArtifactsTypeS3, ArtifactIdentifier: aws.String("docs"), Location: aws.String("cb-out"),
			Path: aws.String("docs"), Name: aws.String("site"), Packaging: cbt.ArtifactPackagingNone},
			{Type: cbt.ArtifactsTypeS3, ArtifactIdentifier: aws.String("tagged"), Location: aws.String("cb-out"), Path: aws.String("ignored"),
				NamespaceType: cbt.ArtifactNamespaceBuildId, Name: aws.String("app.zip"), Packaging: cbt.ArtifactPackagingZip}}
	})
	// The artifacts' location is known once the build left the queue.
	b := waitBuild(t, c, aws.ToString(startBuild(t, c, &cb.StartBuildInput{ProjectName: aws.String("s3app")}).Id), "its artifacts' location", func(b cbt.Build) bool {
		return aws.ToString(b.Artifacts.Location) != ""
	})
	b = waitComplete(t, c, aws.ToString(b.Id))
	if b.BuildStatus != cbt.StatusTypeSucceeded {
		t.Fatalf("the build: %s, phases %s\n%s", b.BuildStatus, phaseList(b), buildLog(ts, aws.ToString(b.Id)))
	}
	if got := aws.ToString(b.ResolvedSourceVersion); got != etag {
		t.Errorf("resolvedSourceVersion %q, want the ETag %q", got, etag)
	}
	uuid := aws.ToString(b.Id)[len("s3app:"):]
	key := "builds/" + uuid + "/app.zip"
	if got := aws.ToString(b.Artifacts.Location); got != "arn:aws:s3:::cb-out/"+key {
		t.Errorf("artifacts.location %q, want arn:aws:s3:::cb-out/%s", got, key)
	}
	zipped, ok := ts.object("cb-out", key)
	if !ok {
		t.Fatalf("no object cb-out/%s; the bucket holds %v", key, ts.objectKeys("cb-out", ""))
	}
	sum := md5.Sum(zipped)
	if got := aws.ToString(b.Artifacts.Md5sum); got != hex.EncodeToString(sum[:]) {
		t.Errorf("artifacts.md5sum %q, the object's MD5 %x", got, sum)
	}
	if files := unzipOf(t, zipped); files["app.txt"] != "built the source\n" || files["docs/readme.md"] != "doc\n" {
		t.Errorf("the zip artifact holds %v", files)
	}
	if len(b.SecondaryArtifacts) != 2 || aws.ToString(b.SecondaryArtifacts[0].ArtifactIdentifier) != "docs" ||
		aws.ToString(b.SecondaryArtifacts[0].Location) != "arn:aws:s3:::cb-out/docs/site" ||
		aws.ToString(b.SecondaryArtifacts[1].Location) != "arn:aws:s3:::cb-out/by-prefix/"+uuid+"/app.zip" {
		t.Errorf("secondaryArtifacts %+v", b.SecondaryArtifacts)
	}
	if z, ok := ts.object("cb-out", "by-prefix/"+uuid+"/app.zip"); !ok || unzipOf(t, z)["app.txt"] != "built the source\n" {
		t.Errorf("the s3-prefix artifact: found %v; the bucket holds %v", ok, ts.objectKeys("cb-out", ""))
	}
	if got, ok := ts.object("cb-out", "docs/site/readme.md"); !ok || string(got) != "doc\n" {
		t.Errorf("the folder artifact: cb-out/docs/site/readme.md %q %v; the bucket holds %v", got, ok, ts.objectKeys("cb-out", ""))
	}
	// The folder artifact's zip goes once the build's end is recorded.
	eventually(t, guard, "the folder artifact's zip to go", func() bool {
		return len(ts.objectKeys("codebuild-sources", aws.ToString(b.Id)+"/artifacts/")) == 0
	})

	// A sourceVersion that is not the object's ETag fails the build in
	// DOWNLOAD_SOURCE; the ETag builds.
	b = waitComplete(t, c, aws.ToString(startBuild(t, c, &cb.StartBuildInput{ProjectName: aws.String("s3app"), SourceVersion: aws.String("3sL4kqtJlcpXroDTDmJ")}).Id))
	if b.BuildStatus != cbt.StatusTypeFailed || !phaseSays(b, cbt.BuildPhaseTypeDownloadSource, "does not exist") {
		t.Errorf("a sourceVersion that is not the ETag: %s %s", b.BuildStatus, phaseList(b))
	}
	b = waitComplete(t, c, aws.ToString(startBuild(t, c, &cb.StartBuildInput{ProjectName: aws.String("s3app"), SourceVersion: aws.String(etag),
		ArtifactsOverride: &cbt.ProjectArtifacts{Type: cbt.ArtifactsTypeS3, Location: aws.String("cb-out"), Name: aws.String("/")}}).Id))
	if b.BuildStatus != cbt.StatusTypeSucceeded || aws.ToString(b.Artifacts.Location) != "arn:aws:s3:::cb-out" {
		t.Errorf("a build at the ETag with its artifacts at the bucket's root: %s %q", b.BuildStatus, aws.ToString(b.Artifacts.Location))
	}
	if got, ok := ts.object("cb-out", "app.txt"); !ok || string(got) != "built the source\n" {
		t.Errorf("cb-out/app.txt %q %v", got, ok)
	}
	// overrideArtifactName: the buildspec's name, its variables expanded.
	b = waitComplete(t, c, aws.ToString(startBuild(t, c, &cb.StartBuildInput{ProjectName: aws.String("s3app"),
		ArtifactsOverride: &cbt.ProjectArtifacts{Type: cbt.ArtifactsTypeS3, Location: aws.String("cb-out"), Path: aws.String("named"),
			Name: aws.String("ignored.zip"), OverrideArtifactName: aws.Bool(true), Packaging: cbt.ArtifactPackagingZip}}).Id))
	want := fmt.Sprintf("named/app-%d.zip", aws.ToInt64(b.BuildNumber))
	if _, ok := ts.object("cb-out", want); b.BuildStatus != cbt.StatusTypeSucceeded || !ok || aws.ToString(b.Artifacts.Location) != "arn:aws:s3:::cb-out/"+want {
		t.Errorf("overrideArtifactName: %s, location %q, cb-out/%s found %v", b.BuildStatus, aws.ToString(b.Artifacts.Location), want, ok)
	}
}

// TestCodeBuildS3FolderSource: a source location BUCKET/PREFIX/ builds
// the objects under the prefix as the source's files.
func TestCodeBuildS3FolderSource(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	c := newCodeBuild(ts)
	ts.putObject("tree", "app/buildspec.yml", []byte("version: 0.2\nphases:\n  build:\n    commands:\n      - test \"$(cat sub/deep.txt)\" = deep\n      - test ! -e ../other.txt\n      - echo folder-built\n"))
	ts.putObject("tree", "app/sub/deep.txt", []byte("deep"))
	ts.putObject("tree", "other.txt", []byte("not in the folder"))
	s3Project(t, c, "folder", "tree/app/")
	b := waitComplete(t, c, aws.ToString(startBuild(t, c, &cb.StartBuildInput{ProjectName: aws.String("folder")}).Id))
	if b.BuildStatus != cbt.StatusTypeSucceeded || !strings.Contains(buildLog(ts, aws.ToString(b.Id)), "folder-built") {
		t.Fatalf("the folder build: %s %s\n%s", b.BuildStatus, phaseList(b), buildLog(ts, aws.ToString(b.Id)))
	}
	s3Project(t, c, "nofolder", "tree/missing/")
	b = waitComplete(t, c, aws.ToString(startBuild(t, c, &cb.StartBuildInput{ProjectName: aws.String("nofolder")}).Id))
	if b.BuildStatus != cbt.StatusTypeFailed || !phaseSays(b, cbt.BuildPhaseTypeDownloadSource, "NoSuchKey") {
		t.Errorf("an empty folder: %s %s", b.BuildStatus, phaseList(b))
	}
}

// phaseSays reports whether a phase of the build has a context message
// containing text.
func phaseSays(b cbt.Build, phase cbt.BuildPhaseType, text string) bool {
	for _, p := range b.Phases {
		if p.PhaseType != phase {
			continue
		}
		for _, c := range p.Contexts {
			if strings.Contains(aws.ToString(c.Message), text) {
				return true
			}
		}
	}
	return false
}

// TestCodeBuildS3Cache: the cache paths are zipped into BUCKET/PREFIX
// after a build that succeeded and restored before the next.
func TestCodeBuildS3Cache(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	c := newCodeBuild(ts)
	ts.makeBucket("caches")
	spec := `version: 0.2
phases:
  build:
    commands:
      - mkdir -p deps && echo $(( $(cat deps/count 2>/dev/null || echo 0) + 1 )) > deps/count
      - cat deps/count
cache:
  paths: ['deps/**/*']
`
	noSourceProject(t, c, "cached", spec, func(in *cb.CreateProjectInput) {
		in.Cache = &cbt.ProjectCache{Type: cbt.CacheTypeS3, Location: aws.String("caches/app/")}
	})
	for want := 1; want <= 2; want++ {
		b := waitComplete(t, c, aws.ToString(startBuild(t, c, &cb.StartBuildInput{ProjectName: aws.String("cached")}).Id))
		if b.BuildStatus != cbt.StatusTypeSucceeded {
			t.Fatalf("build %d: %s %s\n%s", want, b.BuildStatus, phaseList(b), buildLog(ts, aws.ToString(b.Id)))
		}
		z, ok := ts.object("caches", "app/src.zip")
		if !ok {
			t.Fatalf("after build %d no cache object; the bucket holds %v", want, ts.objectKeys("caches", ""))
		}
		if got := unzipOf(t, z)["deps/count"]; strings.TrimSpace(got) != string(rune('0'+want)) {
			t.Errorf("after build %d the cache's count is %q", want, got)
		}
	}
	if _, err := c.InvalidateProjectCache(guarded(t), &cb.InvalidateProjectCacheInput{ProjectName: aws.String("cached")}); err != nil {
		t.Fatal(err)
	}
	if _, ok := ts.object("caches", "app/src.zip"); ok {
		t.Error("InvalidateProjectCache left the S3 cache's object")
	}
	// A cache bucket that does not exist fails the build before it runs.
	b := waitComplete(t, c, aws.ToString(startBuild(t, c, &cb.StartBuildInput{ProjectName: aws.String("cached"),
		CacheOverride: &cbt.ProjectCache{Type: cbt.CacheTypeS3, Location: aws.String("no-caches")}}).Id))
	if b.BuildStatus != cbt.StatusTypeFailed || !phaseSays(b, cbt.BuildPhaseTypeDownloadSource, "no-caches") {
		t.Errorf("a missing cache bucket: %s %s", b.BuildStatus, phaseList(b))
	}
}

// TestCodeBuildS3Refusals: what pipewright cannot build from or store in
// S3 is refused with InvalidInputException, and a missing object or bucket
// fails the build in DOWNLOAD_SOURCE.
func TestCodeBuildS3Refusals(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	c := newCodeBuild(ts)
	for name, mod := range map[string]func(*cb.CreateProjectInput){
		"source without bucket": func(in *cb.CreateProjectInput) {
			in.Source = &cbt.ProjectSource{Type: cbt.SourceTypeS3, Location: aws.String("/folder/a.zip")}
		},
		"source without key": func(in *cb.CreateProjectInput) {
			in.Source = &cbt.ProjectSource{Type: cbt.SourceTypeS3, Location: aws.String("bucket")}
		},
		"artifacts without bucket": func(in *cb.CreateProjectInput) {
			in.Artifacts = &cbt.ProjectArtifacts{Type: cbt.ArtifactsTypeS3, Name: aws.String("a.zip")}
		},
		"a zip at the bucket's root": func(in *cb.CreateProjectInput) {
			in.Artifacts = &cbt.ProjectArtifacts{Type: cbt.ArtifactsTypeS3, Location: aws.String("b"), Name: aws.String("/"), Packaging: cbt.ArtifactPackagingZip}
		},
		"secondary artifact without identifier": func(in *cb.CreateProjectInput) {
			in.SecondaryArtifacts = []cbt.ProjectArtifacts{{Type: cbt.ArtifactsTypeS3, Location: aws.String("b")}}
		},
		"cache without bucket": func(in *cb.CreateProjectInput) {
			in.Cache = &cbt.ProjectCache{Type: cbt.CacheTypeS3}
		},
	} {
		in := &cb.CreateProjectInput{
			Name:        aws.String("refused"),
			Source:      &cbt.ProjectSource{Type: cbt.SourceTypeNoSource, Buildspec: aws.String(passingSpec)},
			Artifacts:   &cbt.ProjectArtifacts{Type: cbt.ArtifactsTypeNoArtifacts},
			Environment: &cbt.ProjectEnvironment{Type: cbt.EnvironmentTypeLinuxContainer, Image: aws.String("aws/codebuild/standard:7.0"), ComputeType: cbt.ComputeTypeBuildGeneral1Small},
			ServiceRole: aws.String("arn:aws:iam::000000000000:role/codebuild"),
		}
		mod(in)
		if _, err := c.CreateProject(guarded(t), in); apiCode(err) != "InvalidInputException" {
			t.Errorf("%s: %v", name, err)
		}
	}

	ts.makeBucket("empty")
	s3Project(t, c, "nokey", "empty/missing.zip")
	b := waitComplete(t, c, aws.ToString(startBuild(t, c, &cb.StartBuildInput{ProjectName: aws.String("nokey")}).Id))
	if b.BuildStatus != cbt.StatusTypeFailed || !phaseSays(b, cbt.BuildPhaseTypeDownloadSource, "NoSuchKey") {
		t.Errorf("a missing source object: %s %s", b.BuildStatus, phaseList(b))
	}
	ts.putObject("src", "a.zip", zipOf(t, map[string]string{"buildspec.yml": passingSpec}))
	s3Project(t, c, "nobucket", "src/a.zip", func(in *cb.CreateProjectInput) {
		in.Artifacts = &cbt.ProjectArtifacts{Type: cbt.ArtifactsTypeS3, Location: aws.String("no-such-bucket"), Name: aws.String("out.zip"), Packaging: cbt.ArtifactPackagingZip}
	})
	b = waitComplete(t, c, aws.ToString(startBuild(t, c, &cb.StartBuildInput{ProjectName: aws.String("nobucket")}).Id))
	if b.BuildStatus != cbt.StatusTypeFailed || !phaseSays(b, cbt.BuildPhaseTypeDownloadSource, "NoSuchBucket") {
		t.Errorf("a missing artifacts bucket: %s %s", b.BuildStatus, phaseList(b))
	}
}
