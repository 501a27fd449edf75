package codebuild

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pipewright/pipewright/codebuild/buildspec"
	"github.com/pipewright/pipewright/codebuild/shape"
	"github.com/pipewright/pipewright/gitsource"
	"github.com/pipewright/pipewright/jobs"
)

// Files of a build's workspace that the service reads: the driver's phase
// events and its exported variables.
const (
	phasesFile   = "phases"
	exportedFile = "exported"
)

// schedule starts queued builds while fewer than MaxBuilds run, times out
// those that waited too long, and carries on the builds that left the
// queue in an earlier life.
func (s *Service) schedule() {
	defer close(s.done)
	launched := map[string]bool{}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next := s.tick(launched)
		timer.Reset(next)
		select {
		case <-s.closed:
			return
		case <-s.wake:
		case <-timer.C:
		}
	}
}

// tick does one round of scheduling and returns when the next is due at
// the latest (the nearest queued timeout).
func (s *Service) tick(launched map[string]bool) time.Duration {
	next := time.Hour
	var active []*Build
	if err := s.store.View(s.ctx, func(tx Tx) (err error) { active, err = tx.ActiveBuilds(); return err }); err != nil {
		if s.ctx.Err() == nil {
			s.log.Error("codebuild: could not list active builds", "err", err)
		}
		return time.Second
	}
	running := 0
	for _, b := range active {
		if b.JobID != "" {
			running++
			if !launched[b.ID] {
				launched[b.ID] = true
				go s.launch(b)
			}
		}
	}
	now := s.now()
	for _, b := range active {
		if b.JobID != "" {
			continue
		}
		queuedFor := time.Duration(b.Doc.GetQueuedTimeoutInMinutes()) * s.cfg.Minute
		since := now.Sub(current(&b.Doc).GetStartTime())
		if since >= queuedFor {
			s.queueTimeout(b)
			continue
		}
		next = min(next, queuedFor-since)
		if running >= s.cfg.MaxBuilds {
			continue
		}
		if d, err := s.dequeue(b); err == nil {
			running++
			launched[d.ID] = true
			go s.launch(d)
		} else if !errors.Is(err, ErrConflict) && s.ctx.Err() == nil {
			s.log.Error("codebuild: could not start a queued build", "buildId", b.ID, "err", err)
		}
	}
	for id := range launched {
		if !slices.ContainsFunc(active, func(b *Build) bool { return b.ID == id }) {
			delete(launched, id)
		}
	}
	return next
}

// dequeue moves a build from QUEUED to PROVISIONING and records the job it
// will run as (its intent: a crash from here on starts that same job).
func (s *Service) dequeue(b *Build) (*Build, error) {
	b.JobID = jobs.IDFor(jobOwner, b.ID)
	advance(&b.Doc, phaseProvisioning, statusSucceeded, s.now())
	err := s.store.Progress(s.ctx, func(tx Tx) error { return tx.UpdateBuild(b) })
	return b, err
}

// queueTimeout ends a build that waited in the queue past its
// queuedTimeoutInMinutes.
func (s *Service) queueTimeout(b *Build) {
	s.completeWith(b.ID, func(b *Build) bool {
		if isComplete(&b.Doc) || b.JobID != "" {
			return false
		}
		complete(&b.Doc, statusTimedOut, statusTimedOut, s.now(), phaseContext{"BUILD_TIMED_OUT",
			fmt.Sprintf("Build has timed out in the queue after %d minutes.", b.Doc.GetQueuedTimeoutInMinutes())})
		return true
	})
}

// completeWith is update for a change that completes the build; a
// pipeline that started it is told.
func (s *Service) completeWith(id string, change func(*Build) bool) {
	b, err := s.update(id, change)
	if err != nil {
		if s.ctx.Err() == nil {
			s.log.Error("codebuild: could not record a build's end", "buildId", id, "err", err)
		}
		return
	}
	s.notifyPipeline(b)
}

// update applies change to the stored build and commits it, re-reading on
// a lost race. change returns false when there is nothing to store.
func (s *Service) update(id string, change func(*Build) bool) (*Build, error) {
	for {
		var out *Build
		err := s.store.Progress(context.Background(), func(tx Tx) error {
			b, err := tx.GetBuild(id)
			if err != nil {
				return err
			}
			out = b
			if !change(b) {
				return nil
			}
			return tx.UpdateBuild(b)
		})
		if errors.Is(err, ErrConflict) {
			continue
		}
		return out, err
	}
}

// launch prepares a build that left the queue (its source, its buildspec)
// and submits its job; the job layer tells jobHandler of its end. After a
// restart it submits the same job again, which returns the job as it is.
func (s *Service) launch(b *Build) {
	if j, err := s.jobs.Get(s.ctx, b.JobID); err == nil {
		if j.Status.Terminal() {
			s.finish(j)
		}
		return
	}
	s.attachLog(b)
	spec, failure := s.prepare(b)
	if failure != nil {
		if err := s.jobs.NoteWithout(b.JobID, "DOWNLOAD_SOURCE failed: "+failure.code+": "+failure.message); err != nil {
			s.log.Warn("codebuild: could not write a build's log", "buildId", b.ID, "err", err)
		}
		s.completeWith(b.ID, func(b *Build) bool {
			if isComplete(&b.Doc) {
				return false
			}
			if current(&b.Doc).GetPhaseType() == phaseProvisioning {
				advance(&b.Doc, phaseDownloadSource, statusSucceeded, s.now())
			}
			closeCurrent(&b.Doc, statusFailed, s.now(), *failure)
			open(&b.Doc, phaseFinalizing, s.now())
			complete(&b.Doc, statusFailed, statusSucceeded, s.now())
			return true
		})
		return
	}
	if _, err := s.jobs.Submit(s.ctx, jobOwner, b.ID, b.Project, spec); err != nil && s.ctx.Err() == nil {
		s.log.Error("codebuild: could not submit a build's job", "buildId", b.ID, "err", err)
	}
}

// attachLog makes the build's log file its CloudWatch Logs stream.
func (s *Service) attachLog(b *Build) {
	if s.cfg.Logs == nil {
		return
	}
	if err := s.cfg.Logs.Attach(s.ctx, b.Doc.Logs.GetGroupName(), b.Doc.Logs.GetStreamName(), s.jobs.LogPath(b.JobID), s.now()); err != nil {
		s.log.Warn("codebuild: could not attach a build's log stream", "buildId", b.ID, "err", err)
	}
}

// prepare fetches a build's source and buildspec and makes its job. A
// failure is the DOWNLOAD_SOURCE phase's context.
func (s *Service) prepare(b *Build) (jobs.Spec, *phaseContext) {
	d := &b.Doc
	var inputs []jobs.Artifact
	var zipPath string
	switch d.Source.GetType() {
	case "CODECOMMIT":
		repo := filepath.Join(s.cfg.GitRoot, repoName(d.Source.GetLocation()))
		commit, err := gitsource.Revision(s.ctx, repo, d.GetSourceVersion())
		if err != nil {
			return jobs.Spec{}, &phaseContext{"CLIENT_ERROR", "repository " + repoName(d.Source.GetLocation()) + ": " + err.Error()}
		}
		art, path, err := s.archive(b, repo, commit.ID)
		if err != nil {
			return jobs.Spec{}, &phaseContext{"CLIENT_ERROR", err.Error()}
		}
		s.update(b.ID, func(b *Build) bool {
			id := commit.ID
			b.Doc.ResolvedSourceVersion = &id
			return true
		})
		d.ResolvedSourceVersion = &commit.ID
		inputs, zipPath = []jobs.Artifact{art}, path
	case "S3":
		art, path, version, failure := s.s3Source(b)
		if failure != nil {
			return jobs.Spec{}, failure
		}
		if version != "" {
			s.update(b.ID, func(b *Build) bool {
				b.Doc.ResolvedSourceVersion = &version
				return true
			})
			d.ResolvedSourceVersion = &version
		}
		inputs, zipPath = []jobs.Artifact{art}, path
	case "CODEPIPELINE":
		for _, in := range b.Run.Inputs {
			inputs = append(inputs, jobs.Artifact{Name: in.Name, Bucket: in.Bucket, Key: in.Key})
		}
		if len(inputs) > 0 {
			zipPath, _ = s.cfg.Artifacts.Path(inputs[0].Bucket, inputs[0].Key)
		}
	}
	text, failure := buildspecText(d.Source.GetBuildspec(), zipPath)
	if failure != nil {
		return jobs.Spec{}, failure
	}
	spec, err := buildspec.Parse([]byte(text))
	if err != nil {
		return jobs.Spec{}, &phaseContext{"YAML_FILE_ERROR", err.Error()}
	}
	if len(spec.Env.ParameterStore) > 0 || len(spec.Env.SecretsManager) > 0 {
		return jobs.Spec{}, &phaseContext{"CLIENT_ERROR", "env/parameter-store and env/secrets-manager are not supported: pipewright has no parameter store or secrets manager yet"}
	}
	user, failure := s.runAs(spec)
	if failure != nil {
		return jobs.Spec{}, failure
	}
	if b.Run.Pipeline == "" && (b.Run.Artifacts != nil || len(b.Run.SecondaryArtifacts) > 0) {
		planned, failure := s.s3Outputs(b, spec)
		if failure != nil {
			return jobs.Spec{}, failure
		}
		b.Run.Outputs = planned
		if _, err := s.update(b.ID, func(stored *Build) bool {
			stored.Run.Outputs = planned
			setArtifacts(&stored.Doc, planned, nil)
			return true
		}); err != nil {
			return jobs.Spec{}, &phaseContext{"CLIENT_ERROR", err.Error()}
		}
	}
	outputs, failure := artifactOutputs(spec, b.Run.Outputs)
	if failure != nil {
		return jobs.Spec{}, failure
	}
	cache := s.localCache(b, spec)
	if b.Doc.Cache.GetType() == "S3" {
		if cache, failure = s.s3Cache(b, spec); failure != nil {
			return jobs.Spec{}, failure
		}
	}
	ws := s.jobs.Workspace(b.JobID)
	env, protected := s.buildEnv(b)
	script := buildspec.Driver(spec, buildspec.DriverOptions{
		PhaseFile: filepath.Join(ws, phasesFile), VariablesFile: filepath.Join(ws, exportedFile), Protected: protected,
		User: user.user.label(), Refused: user.refused,
	})
	return jobs.Spec{
		Script: script, Env: append(user.env(), env...), Inputs: inputs, Outputs: outputs, OutputsOnFailure: true, Cache: cache,
		User:    user.cred,
		Timeout: time.Duration(d.GetTimeoutInMinutes()) * s.cfg.Minute,
		Keep:    []string{phasesFile, exportedFile},
	}, nil
}

// localCache is the job's cache: the buildspec's cache paths, kept on this
// machine for the project when its cache is LOCAL with the custom mode
// (the other LOCAL modes, source and docker layers, have nothing to keep
// here: sources are archives and there is no docker).
func (s *Service) localCache(b *Build, spec *buildspec.Spec) *jobs.Cache {
	c := b.Doc.Cache
	if c.GetType() != "LOCAL" || !slices.Contains(c.Modes, "LOCAL_CUSTOM_CACHE") || spec.Cache == nil || len(spec.Cache.Paths) == 0 || s.cfg.CacheDir == "" {
		return nil
	}
	return &jobs.Cache{Dir: s.cacheDir(b.Project), Paths: spec.Cache.Paths}
}

// cacheDir is where a project's LOCAL cache is kept.
func (s *Service) cacheDir(project string) string { return filepath.Join(s.cfg.CacheDir, project) }

// archive writes the commit's tree as the build's source zip.
func (s *Service) archive(b *Build, repo, commit string) (jobs.Artifact, string, error) {
	art := jobs.Artifact{Name: "source", Bucket: internalBucket, Key: b.ID + "/source.zip"}
	if err := s.cfg.Artifacts.EnsureBucket(art.Bucket); err != nil {
		return art, "", err
	}
	tmp, err := os.CreateTemp(s.cfg.TempDir, ".source-*.zip")
	if err != nil {
		return art, "", err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := gitsource.Archive(s.ctx, repo, commit, tmp); err != nil {
		return art, "", err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return art, "", err
	}
	if _, err := s.cfg.Artifacts.Put(art.Bucket, art.Key, tmp); err != nil {
		return art, "", err
	}
	p, err := s.cfg.Artifacts.Path(art.Bucket, art.Key)
	return art, p, err
}

// buildspecText is the buildspec a build runs: the source's buildspec
// member when it holds YAML (a line break or a "key:"; a file name holds
// neither), else the file it names (buildspec.yml when empty) in the
// primary source.
func buildspecText(member, sourceZip string) (string, *phaseContext) {
	if strings.ContainsAny(member, "\n:") {
		return member, nil
	}
	name := member
	if name == "" {
		name = "buildspec.yml"
	}
	if sourceZip == "" {
		return "", &phaseContext{"YAML_FILE_ERROR", "YAML file does not exist"}
	}
	zr, err := zip.OpenReader(sourceZip)
	if err != nil {
		return "", &phaseContext{"CLIENT_ERROR", "could not read the source: " + err.Error()}
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.Name == strings.TrimPrefix(name, "./") {
			rc, err := f.Open()
			if err != nil {
				return "", &phaseContext{"CLIENT_ERROR", err.Error()}
			}
			defer rc.Close()
			b, err := io.ReadAll(io.LimitReader(rc, 1<<20))
			if err != nil {
				return "", &phaseContext{"CLIENT_ERROR", err.Error()}
			}
			return string(b), nil
		}
	}
	return "", &phaseContext{"YAML_FILE_ERROR", "YAML file does not exist"}
}

// buildEnv is the environment of a build: CodeBuild's own variables, then
// the project's and StartBuild's (which the buildspec's may not override).
func (s *Service) buildEnv(b *Build) (env, protected []string) {
	d := &b.Doc
	own := [][2]string{
		{"CODEBUILD_BUILD_ID", b.ID},
		{"CODEBUILD_BUILD_ARN", d.GetArn()},
		{"CODEBUILD_BUILD_NUMBER", buildNumberText(d)},
		{"CODEBUILD_BUILD_IMAGE", d.Environment.GetImage()},
		{"CODEBUILD_INITIATOR", d.GetInitiator()},
		{"CODEBUILD_KMS_KEY_ID", d.GetEncryptionKey()},
		{"CODEBUILD_LOG_PATH", d.Logs.GetStreamName()},
		{"CODEBUILD_SOURCE_VERSION", d.GetSourceVersion()},
		{"CODEBUILD_RESOLVED_SOURCE_VERSION", d.GetResolvedSourceVersion()},
		{"CODEBUILD_SOURCE_REPO_URL", d.Source.GetLocation()},
		{"CODEBUILD_START_TIME", strconv.FormatInt(d.GetStartTime().UnixMilli(), 10)},
		{"CODEBUILD_BUILD_URL", s.BuildURL(b.ID)},
		{"CODEBUILD_PUBLIC_BUILD_URL", s.BuildURL(b.ID)},
		{"CODEBUILD_CI", "true"},
		{"AWS_REGION", s.cfg.Region},
		{"AWS_DEFAULT_REGION", s.cfg.Region},
	}
	for _, kv := range own {
		env = append(env, kv[0]+"="+kv[1])
	}
	for _, v := range d.Environment.EnvironmentVariables {
		env = append(env, v.GetName()+"="+v.GetValue())
		protected = append(protected, v.GetName())
	}
	return env, protected
}

// jobHandler hears of the end of the service's jobs.
type jobHandler struct{ s *Service }

// Wanted: a build's job starts only while the build is not complete (it
// was not stopped or timed out meanwhile).
func (h jobHandler) Wanted(ctx context.Context, j *jobs.Job) bool {
	var b *Build
	err := h.s.store.View(ctx, func(tx Tx) (err error) { b, err = tx.GetBuild(j.Token); return err })
	return err == nil && !isComplete(&b.Doc)
}

func (h jobHandler) Ended(j *jobs.Job) {
	h.s.finish(j)
	h.s.poke()
}

// finish completes a build from its job's end, unless it completed
// otherwise first (a StopBuild, which then stays STOPPED).
func (s *Service) finish(j *jobs.Job) {
	if hook := s.finishHook.Load(); hook != nil {
		(*hook)(j, func() { s.recordEnd(j) })
		return
	}
	s.recordEnd(j)
}

// recordEnd is finish without the test hook.
func (s *Service) recordEnd(j *jobs.Job) {
	events, _ := buildspec.ReadPhases(j.Kept[phasesFile])
	exported := parseExported(j.Kept[exportedFile])
	before, j := s.storeS3(j)
	b, err := s.update(j.Token, func(b *Build) bool {
		if isComplete(&b.Doc) {
			return false
		}
		ended := j.Ended
		if ended.IsZero() {
			ended = s.now()
		}
		withDriver(&b.Doc, events)
		endBuild(&b.Doc, j, maxTime(ended, b.Doc.GetStartTime()))
		b.Doc.ExportedEnvironmentVariables = exported
		setArtifacts(&b.Doc, b.Run.Outputs, j.Outputs)
		return true
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		s.log.Error("codebuild: could not record a build's end", "buildId", j.Token, "err", err)
		return
	}
	if before != nil {
		s.dropZips(before.Run.Outputs)
	}
	os.RemoveAll(s.s3CacheDir(j.ID))
	if b != nil {
		s.notifyPipeline(b)
	}
}

// storeS3 does what a user's build stores in S3 once its job ended, before
// the end is recorded: the files of its artifacts of packaging NONE, and
// its S3 cache after a job that succeeded. It returns the build as it was
// (nil when it is gone) and the job as the build records it: one whose
// artifacts could not be stored failed in UPLOAD_ARTIFACTS. A build that
// is already complete (stopped) stores nothing.
func (s *Service) storeS3(j *jobs.Job) (*Build, *jobs.Job) {
	var b *Build
	if err := s.store.View(context.Background(), func(tx Tx) (err error) { b, err = tx.GetBuild(j.Token); return err }); err != nil {
		return nil, j
	}
	if isComplete(&b.Doc) {
		return b, j
	}
	if err := s.unpackFolders(b.Run.Outputs, j.Outputs); err != nil && j.Status == jobs.StatusSucceeded {
		failed := *j
		failed.Status, failed.Reason, failed.Message = jobs.StatusFailed, jobs.ReasonOutputs, "Could not store the artifacts: "+err.Error()
		j = &failed
	}
	if j.Status == jobs.StatusSucceeded && b.Doc.Cache.GetType() == "S3" {
		s.saveS3Cache(b, j.ID)
	}
	return b, j
}

// live returns a build as it is now: for a running build, its stored
// record with the phases its driver has reported so far.
func (s *Service) live(b *Build) shape.Build {
	if isComplete(&b.Doc) || b.JobID == "" {
		return b.Doc
	}
	events, err := buildspec.ReadPhases(s.jobs.ReadKept(b.JobID, phasesFile))
	if err != nil || len(events) == 0 {
		return b.Doc
	}
	d := b.Doc
	d.Phases = append([]shape.BuildPhase{}, b.Doc.Phases...)
	withDriver(&d, events)
	return d
}

// parseExported reads the driver's exported variables.
func parseExported(b []byte) []shape.ExportedEnvironmentVariable {
	out := []shape.ExportedEnvironmentVariable{}
	for _, kv := range strings.Split(string(b), "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			out = append(out, shape.ExportedEnvironmentVariable{Name: &k, Value: &v})
		}
	}
	return out
}
