package server_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cp "github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// s3SourceAction is a Source/AWS/S3 action with the output artifact "code".
func s3SourceAction(bucket, key string) types.ActionDeclaration {
	return types.ActionDeclaration{
		Name:            aws.String("Source"),
		ActionTypeId:    &types.ActionTypeId{Category: types.ActionCategorySource, Owner: types.ActionOwnerAws, Provider: aws.String("S3"), Version: aws.String("1")},
		Configuration:   map[string]string{"S3Bucket": bucket, "S3ObjectKey": key, "PollForSourceChanges": "false"},
		OutputArtifacts: []types.OutputArtifact{{Name: aws.String("code")}},
		Namespace:       aws.String("SourceVariables"),
	}
}

// s3DeployAction is a Deploy/AWS/S3 action of the "code" artifact.
func s3DeployAction(name, bucket, extract, key string) types.ActionDeclaration {
	cfg := map[string]string{"BucketName": bucket, "Extract": extract}
	if key != "" {
		cfg["ObjectKey"] = key
	}
	return types.ActionDeclaration{
		Name:           aws.String(name),
		ActionTypeId:   &types.ActionTypeId{Category: types.ActionCategoryDeploy, Owner: types.ActionOwnerAws, Provider: aws.String("S3"), Version: aws.String("1")},
		Configuration:  cfg,
		InputArtifacts: []types.InputArtifact{{Name: aws.String("code")}},
	}
}

// s3Declaration is a V2 pipeline with an S3 source stage.
func s3Declaration(name string, source types.ActionDeclaration, stages ...types.StageDeclaration) *types.PipelineDeclaration {
	return &types.PipelineDeclaration{
		Name:          aws.String(name),
		RoleArn:       aws.String("arn:aws:iam::000000000000:role/pipewright"),
		ArtifactStore: &types.ArtifactStore{Type: types.ArtifactStoreTypeS3, Location: aws.String("pipewright-artifacts")},
		PipelineType:  types.PipelineTypeV2,
		Stages:        append([]types.StageDeclaration{stage("Source", source)}, stages...),
	}
}

// runsByName indexes an execution's action runs by action name (the
// newest run of each).
func (ts *testServer) runsByName(pipeline, id string) map[string]types.ActionExecutionDetail {
	runs := map[string]types.ActionExecutionDetail{}
	for _, r := range ts.actionRuns(pipeline, id) {
		if _, ok := runs[aws.ToString(r.ActionName)]; !ok {
			runs[aws.ToString(r.ActionName)] = r
		}
	}
	return runs
}

// TestS3SourceAndDeployActions: an object put into a bucket is a
// pipeline's source (its ETag the revision, the ETag and VersionId
// variables), a Commands action reads it, and two S3 deploys store it as
// it is and extracted under a folder.
func TestS3SourceAndDeployActions(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	files := map[string]string{"index.html": "<h1>hello</h1>", "css/site.css": "body{}", "deep/a/b.txt": "b"}
	src := zipOf(t, files)
	etag := ts.putObject("src-bucket", "app/source.zip", src)
	ts.makeBucket("site")
	ts.makeBucket("bundles")
	check := commandsAction("Check", 1, `test "$(cat index.html)" = "<h1>hello</h1>"`, `test "#{SourceVariables.ETag}" = "#{SourceVariables.VersionId}"`, `echo "etag #{SourceVariables.ETag}"`)
	site := s3DeployAction("Site", "site", "true", "web")
	site.Configuration["CacheControl"] = "max-age=60"
	site.Configuration["CannedACL"] = "public-read"
	id := ts.createPipeline(s3Declaration("s3p", s3SourceAction("src-bucket", "app/source.zip"),
		stage("Deploy", check, site, s3DeployAction("Bundle", "bundles", "false", "releases/app.zip"),
			s3DeployAction("Root", "site", "TRUE", ""))))
	ts.waitEnded("s3p", id, types.PipelineExecutionStatusSucceeded)

	runs := ts.runsByName("s3p", id)
	sr := runs["Source"]
	if got := aws.ToString(sr.Output.ExecutionResult.ExternalExecutionId); got != etag {
		t.Errorf("the source's externalExecutionId %q, want the ETag %q", got, etag)
	}
	if sr.Output.OutputVariables["ETag"] != etag || sr.Output.OutputVariables["VersionId"] != etag {
		t.Errorf("the source's variables %v", sr.Output.OutputVariables)
	}
	if len(sr.Output.OutputArtifacts) != 1 {
		t.Fatalf("the source's output artifacts %+v", sr.Output.OutputArtifacts)
	}
	loc := sr.Output.OutputArtifacts[0].S3location
	if aws.ToString(loc.Bucket) != "pipewright-artifacts" || !strings.HasPrefix(aws.ToString(loc.Key), "s3p/code/") {
		t.Errorf("the source artifact is at %s/%s, want pipewright-artifacts/s3p/code/...", aws.ToString(loc.Bucket), aws.ToString(loc.Key))
	}
	if got, ok := ts.object(aws.ToString(loc.Bucket), aws.ToString(loc.Key)); !ok || !bytes.Equal(got, src) {
		t.Errorf("the source artifact is not the object as it was put (found %v)", ok)
	}
	ex, err := ts.client.GetPipelineExecution(ctx, &cp.GetPipelineExecutionInput{PipelineName: aws.String("s3p"), PipelineExecutionId: &id})
	if err != nil {
		t.Fatal(err)
	}
	revs := ex.PipelineExecution.ArtifactRevisions
	if len(revs) != 1 || aws.ToString(revs[0].RevisionId) != etag || aws.ToString(revs[0].Name) != "code" || revs[0].Created == nil {
		t.Errorf("artifactRevisions %+v, want the code artifact at revision %s", revs, etag)
	}

	for name, want := range map[string]string{"web/index.html": files["index.html"], "web/css/site.css": files["css/site.css"], "web/deep/a/b.txt": "b", "index.html": files["index.html"], "deep/a/b.txt": "b"} {
		if got, ok := ts.object("site", name); !ok || string(got) != want {
			t.Errorf("site/%s: %q (found %v), want %q", name, got, ok, want)
		}
	}
	head, err := ts.objectsClient().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("site"), Key: aws.String("web/index.html")})
	if err != nil || !strings.HasPrefix(aws.ToString(head.ContentType), "text/html") || aws.ToString(head.CacheControl) != "max-age=60" {
		t.Errorf("site/web/index.html: %v, Content-Type %q, Cache-Control %q", err, aws.ToString(head.ContentType), aws.ToString(head.CacheControl))
	}
	if got, ok := ts.object("bundles", "releases/app.zip"); !ok || !bytes.Equal(got, src) {
		t.Errorf("bundles/releases/app.zip is not the artifact as it is (found %v)", ok)
	}
	for _, name := range []string{"Site", "Bundle", "Root", "Check"} {
		if runs[name].Status != types.ActionExecutionStatusSucceeded {
			t.Errorf("%s: %s %+v", name, runs[name].Status, runs[name].Output.ExecutionResult)
		}
	}

	// A new object at the key is the next execution's revision.
	etag2 := ts.putObject("src-bucket", "app/source.zip", zipOf(t, map[string]string{"index.html": "<h1>hello</h1>", "v2": "2"}))
	id2 := ts.start("s3p")
	ts.waitEnded("s3p", id2, types.PipelineExecutionStatusSucceeded)
	if got := aws.ToString(ts.runsByName("s3p", id2)["Source"].Output.ExecutionResult.ExternalExecutionId); got != etag2 || etag2 == etag {
		t.Errorf("the second execution's source revision %q, want %q", got, etag2)
	}
	if got, ok := ts.object("site", "web/v2"); !ok || string(got) != "2" {
		t.Errorf("site/web/v2 after the second deploy: %q %v", got, ok)
	}
}

// TestS3ActionFailures: a missing object or bucket fails the action in
// AWS's words; a deploy without ObjectKey and Extract false is a
// configuration error; source revision overrides pick another key or pin
// the version (the ETag).
func TestS3ActionFailures(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.makeBucket("src-bucket")
	id := ts.createPipeline(s3Declaration("s3f", s3SourceAction("src-bucket", "missing.zip"),
		stage("Deploy", s3DeployAction("NoBucket", "nope", "false", "x.zip"))))
	ts.waitEnded("s3f", id, types.PipelineExecutionStatusFailed)
	sr := ts.runsByName("s3f", id)["Source"]
	if msg := errorMessage(sr); msg != "The object with key 'missing.zip' does not exist in bucket 'src-bucket'." {
		t.Errorf("a missing source object: %s %q", sr.Status, msg)
	}

	id = ts.createPipeline(s3Declaration("s3g", s3SourceAction("no-such-bucket", "a.zip"), stage("Check", commandsAction("Check", 1, "true"))))
	ts.waitEnded("s3g", id, types.PipelineExecutionStatusFailed)
	if msg := errorMessage(ts.runsByName("s3g", id)["Source"]); msg != "The specified bucket 'no-such-bucket' does not exist." {
		t.Errorf("a missing source bucket: %q", msg)
	}

	etag := ts.putObject("src-bucket", "missing.zip", zipOf(t, map[string]string{"a": "a"}))
	id = ts.start("s3f")
	ts.waitEnded("s3f", id, types.PipelineExecutionStatusFailed)
	if msg := errorMessage(ts.runsByName("s3f", id)["NoBucket"]); msg != "The specified bucket 'nope' does not exist." {
		t.Errorf("a deploy to a missing bucket: %q", msg)
	}

	ts.makeBucket("out")
	ts.putObject("src-bucket", "other.zip", zipOf(t, map[string]string{"other": "o"}))
	id = ts.createPipeline(s3Declaration("s3h", s3SourceAction("src-bucket", "missing.zip"),
		stage("Deploy", s3DeployAction("NoKey", "out", "false", ""))))
	ts.waitEnded("s3h", id, types.PipelineExecutionStatusFailed)
	nk := ts.runsByName("s3h", id)["NoKey"]
	if msg := errorMessage(nk); msg != "ObjectKey is required when Extract is false." {
		t.Errorf("a deploy without ObjectKey: %q", msg)
	}

	// Overrides: S3_OBJECT_KEY reads another object, a version that is not
	// the object's ETag is unavailable, the ETag is.
	start := func(name string, revs ...types.SourceRevisionOverride) string {
		out, err := ts.client.StartPipelineExecution(ctx, &cp.StartPipelineExecutionInput{Name: aws.String(name), SourceRevisions: revs})
		if err != nil {
			t.Fatalf("StartPipelineExecution %v: %v", revs, err)
		}
		return aws.ToString(out.PipelineExecutionId)
	}
	override := func(typ types.SourceRevisionType, v string) types.SourceRevisionOverride {
		return types.SourceRevisionOverride{ActionName: aws.String("Source"), RevisionType: typ, RevisionValue: aws.String(v)}
	}
	ts.makeBucket("keyed")
	id = ts.createPipeline(s3Declaration("s3k", s3SourceAction("src-bucket", "missing.zip"), stage("Deploy", s3DeployAction("Out", "keyed", "true", ""))))
	ts.waitEnded("s3k", id, types.PipelineExecutionStatusSucceeded)
	id = start("s3k", override(types.SourceRevisionTypeS3ObjectKey, "other.zip"))
	ts.waitEnded("s3k", id, types.PipelineExecutionStatusSucceeded)
	if got, ok := ts.object("keyed", "other"); !ok || string(got) != "o" {
		t.Errorf("the S3_OBJECT_KEY override's deploy: %q %v", got, ok)
	}
	id = start("s3k", override(types.SourceRevisionTypeS3ObjectVersionId, "0123"))
	ts.waitEnded("s3k", id, types.PipelineExecutionStatusFailed)
	if r := ts.runsByName("s3k", id)["Source"]; r.Output.ExecutionResult.ErrorDetails == nil || aws.ToString(r.Output.ExecutionResult.ErrorDetails.Code) != "RevisionUnavailable" {
		t.Errorf("a version that is not the ETag: %+v", r.Output.ExecutionResult)
	}
	id = start("s3k", override(types.SourceRevisionTypeS3ObjectVersionId, etag))
	ts.waitEnded("s3k", id, types.PipelineExecutionStatusSucceeded)
	if _, err := ts.client.StartPipelineExecution(ctx, &cp.StartPipelineExecutionInput{Name: aws.String("s3k"),
		SourceRevisions: []types.SourceRevisionOverride{override(types.SourceRevisionTypeCommitId, "abc")}}); err == nil {
		t.Error("a COMMIT_ID override of an S3 source was accepted")
	}
}

// waitEnded waits until the execution ended and fails the test unless it
// ended want, saying how its actions ended.
func (ts *testServer) waitEnded(pipeline, id string, want types.PipelineExecutionStatus) {
	ts.t.Helper()
	var last types.PipelineExecutionStatus
	eventually(ts.t, 3*guard, "the end of execution "+id, func() bool {
		last = ts.execStatus(pipeline, id)
		switch last {
		case types.PipelineExecutionStatusInProgress, types.PipelineExecutionStatusStopping:
			return false
		}
		return true
	})
	if last != want {
		for name, r := range ts.runsByName(pipeline, id) {
			ts.t.Logf("%s: %s %q", name, r.Status, errorMessage(r))
		}
		ts.t.Fatalf("execution %s of %s ended %s, want %s", id, pipeline, last, want)
	}
}

// errorMessage is a failed action run's errorDetails message.
func errorMessage(r types.ActionExecutionDetail) string {
	if r.Output == nil || r.Output.ExecutionResult == nil || r.Output.ExecutionResult.ErrorDetails == nil {
		return ""
	}
	return aws.ToString(r.Output.ExecutionResult.ErrorDetails.Message)
}

// TestS3DeployRunsAgainAfterRestart: an S3 deploy cut short by a shutdown
// records nothing and runs again from the start in the next life, which
// stores every file.
func TestS3DeployRunsAgainAfterRestart(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	files := map[string]string{}
	for i := range 400 {
		files[fmt.Sprintf("f/%03d.txt", i)] = fmt.Sprint(i)
	}
	ts.putObject("src-bucket", "many.zip", zipOf(t, files))
	ts.makeBucket("many")
	id := ts.createPipeline(s3Declaration("s3r", s3SourceAction("src-bucket", "many.zip"), stage("Deploy", s3DeployAction("Out", "many", "true", "x"))))
	eventually(t, 3*guard, "the deploy to start", func() bool {
		a := ts.actionState("s3r", "Deploy", "Out")
		return a != nil
	})
	ts.restart()
	ts.waitEnded("s3r", id, types.PipelineExecutionStatusSucceeded)
	runs := ts.actionRuns("s3r", id)
	deploys := 0
	for _, r := range runs {
		if aws.ToString(r.ActionName) == "Out" {
			deploys++
		}
	}
	if deploys != 1 {
		t.Errorf("the deploy has %d action executions, want the one that carried on", deploys)
	}
	if keys := ts.objectKeys("many", "x/"); len(keys) != len(files) {
		t.Errorf("the deploy stored %d of %d files", len(keys), len(files))
	}
}

// TestS3SourceOfAMultipartObject: an object uploaded in parts (as `aws s3
// cp` uploads a large file) is a source whose revision is its multipart
// ETag, and whose artifact is its whole content.
func TestS3SourceOfAMultipartObject(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	c := ts.objectsClient()
	ts.makeBucket("big")
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("big"), Key: aws.String("app.zip")})
	if err != nil {
		t.Fatal(err)
	}
	noise := make([]byte, 6<<20)
	rand.NewChaCha8([32]byte{7}).Read(noise)
	body := zipOf(t, map[string]string{"a.txt": string(noise)})
	parts := [][]byte{body[:5<<20], body[5<<20:]}
	var done []s3types.CompletedPart
	for i, p := range parts {
		n := int32(i + 1)
		out, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("big"), Key: aws.String("app.zip"), UploadId: up.UploadId, PartNumber: &n, Body: bytes.NewReader(p)})
		if err != nil {
			t.Fatal(err)
		}
		done = append(done, s3types.CompletedPart{ETag: out.ETag, PartNumber: &n})
	}
	fin, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("big"), Key: aws.String("app.zip"), UploadId: up.UploadId,
		MultipartUpload: &s3types.CompletedMultipartUpload{Parts: done}})
	if err != nil {
		t.Fatal(err)
	}
	etag := strings.Trim(aws.ToString(fin.ETag), `"`)
	if !strings.HasSuffix(etag, "-2") {
		t.Fatalf("the multipart ETag %q", etag)
	}
	id := ts.createPipeline(s3Declaration("s3m", s3SourceAction("big", "app.zip"), stage("Check", commandsAction("Check", 1, "test $(wc -c < a.txt) = 6291456"))))
	ts.waitEnded("s3m", id, types.PipelineExecutionStatusSucceeded)
	sr := ts.runsByName("s3m", id)["Source"]
	if sr.Output.OutputVariables["ETag"] != etag || aws.ToString(sr.Output.ExecutionResult.ExternalExecutionId) != etag {
		t.Errorf("the source's ETag variable %q and externalExecutionId %q, want %q", sr.Output.OutputVariables["ETag"], aws.ToString(sr.Output.ExecutionResult.ExternalExecutionId), etag)
	}
}

// TestS3SourceBuildDeploy: the flow users build on AWS: a zip put into S3
// is built by a CodeBuild action and its output deployed to a bucket.
func TestS3SourceBuildDeploy(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	c := newCodeBuild(ts)
	ts.putObject("uploads", "app.zip", zipOf(t, map[string]string{
		"page.txt": "hello",
		"buildspec.yml": `version: 0.2
phases:
  build:
    commands:
      - mkdir -p dist && echo "<p>$(cat page.txt)</p>" > dist/index.html
artifacts:
  base-directory: dist
  files: ['**/*']
`,
	}))
	ts.makeBucket("www")
	pipelineProject(t, c, "site-build", "")
	deploy := s3DeployAction("Publish", "www", "true", "")
	deploy.InputArtifacts = []types.InputArtifact{{Name: aws.String("site")}}
	id := ts.createPipeline(s3Declaration("s3b", s3SourceAction("uploads", "app.zip"),
		stage("Build", codeBuildAction("Build", types.ActionCategoryBuild, "site-build", "site")), stage("Deploy", deploy)))
	ts.waitEnded("s3b", id, types.PipelineExecutionStatusSucceeded)
	if got, ok := ts.object("www", "index.html"); !ok || string(got) != "<p>hello</p>\n" {
		t.Errorf("www/index.html: %q %v; the bucket holds %v", got, ok, ts.objectKeys("www", ""))
	}
}

// TestS3DeployAbandoned: abandoning an execution leaves its S3 deploy
// storing objects to its end, as on AWS, unless the pipeline is tagged
// pipewright:abandon-cancels-jobs; then the deploy stops.
func TestS3DeployAbandoned(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	files := map[string]string{}
	for i := range 600 {
		files[fmt.Sprintf("f/%04d.txt", i)] = fmt.Sprint(i)
	}
	ts.putObject("src-bucket", "many.zip", zipOf(t, files))
	for _, cancels := range []bool{false, true} {
		name, bucket := "keep", "kept"
		var tags []types.Tag
		if cancels {
			name, bucket = "cancel", "cancelled"
			tags = []types.Tag{{Key: aws.String("pipewright:abandon-cancels-jobs"), Value: aws.String("true")}}
		}
		ts.makeBucket(bucket)
		id := ts.createPipeline(s3Declaration(name, s3SourceAction("src-bucket", "many.zip"), stage("Deploy", s3DeployAction("Out", bucket, "true", ""))), tags...)
		eventually(t, 3*guard, "the deploy to store objects", func() bool { return len(ts.objectKeys(bucket, "f/")) > 0 })
		if err := ts.stop(name, id, true, "enough"); err != nil {
			t.Fatal(err)
		}
		stored := len(ts.objectKeys(bucket, "f/"))
		if stored == len(files) {
			t.Skipf("the deploy stored its %d files before the abandon", stored)
		}
		ts.waitEnded(name, id, types.PipelineExecutionStatusStopped)
		if !cancels {
			eventually(t, 3*guard, "the abandoned deploy to store every file", func() bool { return len(ts.objectKeys(bucket, "f/")) == len(files) })
			continue
		}
		time.Sleep(300 * time.Millisecond)
		before := len(ts.objectKeys(bucket, "f/"))
		time.Sleep(300 * time.Millisecond)
		if after := len(ts.objectKeys(bucket, "f/")); after != before || after == len(files) {
			t.Errorf("abandon-cancels-jobs: the deploy went on storing objects (%d, then %d of %d)", before, after, len(files))
		}
	}
}
