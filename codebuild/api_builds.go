package codebuild

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/pipewright/pipewright/codebuild/shape"
	"github.com/pipewright/pipewright/wire"
)

// idempotencyWindow is how long StartBuild's idempotencyToken names one
// build, as AWS documents (5 minutes).
const idempotencyWindow = 5 * time.Minute

func (s *Service) StartBuild(ctx context.Context, in *shape.StartBuildInput) (*shape.StartBuildOutput, error) {
	b, err := s.start(ctx, in, callerOf(ctx), startExtra{token: in.GetIdempotencyToken()})
	if err != nil {
		return nil, err
	}
	return &shape.StartBuildOutput{Build: &b.Doc}, nil
}

// callerOf names whoever made the request, as a build's initiator.
func callerOf(ctx context.Context) string {
	if id := wire.CallerFrom(ctx).AccessKeyID; id != "" {
		return id
	}
	return "pipewright"
}

// startExtra is what a start carries beside the StartBuild request.
type startExtra struct {
	// id is the build's id when the caller's token fixes it (a pipeline's);
	// "" makes a new one.
	id string
	// token is a user's idempotencyToken (one build per token for
	// idempotencyWindow) or a pipeline's token (one build for ever).
	token string
	// inputs and outputs are a pipeline action's artifacts; pipeline its
	// name.
	inputs, outputs []ArtifactRef
	pipeline        string
}

// start records a new build of a project, QUEUED, and wakes the scheduler.
// A user's token already used within the window returns its build, as does
// a pipeline's token whatever its age.
func (s *Service) start(ctx context.Context, in *shape.StartBuildInput, initiator string, extra startExtra) (*Build, error) {
	name := projectName(in.GetProjectName())
	digest := inputDigest(in)
	var out *Build
	err := s.store.Update(ctx, func(tx Tx) error {
		p, err := tx.GetProject(name)
		if errors.Is(err, ErrNotFound) {
			return s.projectNotFound(name)
		}
		if err != nil {
			return err
		}
		now := s.now()
		if extra.id != "" {
			if prev, err := tx.GetBuild(extra.id); err == nil {
				out = prev
				return nil
			}
		} else if extra.token != "" {
			prev, err := tx.FindBuildByToken(name, extra.token)
			if err == nil && now.Sub(prev.Doc.GetStartTime()) < idempotencyWindow {
				if prev.Run.Digest != digest {
					return invalidInput("Idempotency token %s was used with different parameters within the last 5 minutes", extra.token)
				}
				out = prev
				return nil
			}
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
		}
		b, err := s.newBuild(p, in, extra.id, initiator, now)
		if err != nil {
			return err
		}
		if err := s.admit(tx, p); err != nil {
			return err
		}
		b.Token = extra.token
		b.Run.Inputs, b.Run.Outputs, b.Run.Pipeline, b.Run.Digest = extra.inputs, extra.outputs, extra.pipeline, digest
		p.Builds++
		n := p.Builds
		b.Doc.BuildNumber = &n
		if err := tx.UpdateProject(p); err != nil {
			return err
		}
		if err := tx.CreateBuild(b); err != nil {
			return err
		}
		out = b
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.poke()
	return out, nil
}

// inputDigest tells two StartBuild requests apart for the idempotency
// token.
func inputDigest(in *shape.StartBuildInput) string {
	c := *in
	c.IdempotencyToken = nil
	b, _ := json.Marshal(c)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// admit applies AWS's limits: a project's concurrentBuildLimit refuses a
// build beyond it; beyond the server's MaxBuilds builds queue, at most five
// times as many.
func (s *Service) admit(tx Tx, p *Project) error {
	active, err := tx.ActiveBuilds()
	if err != nil {
		return err
	}
	ofProject, queued := 0, 0
	for _, b := range active {
		if b.Project == p.GetName() {
			ofProject++
		}
		if b.JobID == "" {
			queued++
		}
	}
	if l := p.ConcurrentBuildLimit; l != nil && ofProject >= int(*l) {
		return apiError(excAccountLimitExceeded, "Cannot have more than %d active builds for the project %s", *l, p.GetName())
	}
	running := len(active) - queued
	if running >= s.cfg.MaxBuilds && queued >= 5*s.cfg.MaxBuilds {
		return apiError(excAccountLimitExceeded, "Cannot have more than %d builds in queue for the account", 5*s.cfg.MaxBuilds)
	}
	return nil
}

func (s *Service) BatchGetBuilds(ctx context.Context, in *shape.BatchGetBuildsInput) (*shape.BatchGetBuildsOutput, error) {
	out := &shape.BatchGetBuildsOutput{Builds: []shape.Build{}, BuildsNotFound: []string{}}
	err := s.store.View(ctx, func(tx Tx) error {
		for _, raw := range in.Ids {
			b, err := tx.GetBuild(buildID(raw))
			if errors.Is(err, ErrNotFound) {
				out.BuildsNotFound = append(out.BuildsNotFound, raw)
				continue
			}
			if err != nil {
				return err
			}
			out.Builds = append(out.Builds, s.live(b))
		}
		return nil
	})
	return out, err
}

func (s *Service) ListBuilds(ctx context.Context, in *shape.ListBuildsInput) (*shape.ListBuildsOutput, error) {
	return s.listBuilds(ctx, "", in.GetSortOrder(), in.GetNextToken())
}

func (s *Service) ListBuildsForProject(ctx context.Context, in *shape.ListBuildsForProjectInput) (*shape.ListBuildsForProjectOutput, error) {
	name := projectName(in.GetProjectName())
	if err := s.store.View(ctx, func(tx Tx) error { _, err := tx.GetProject(name); return err }); err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, s.projectNotFound(name)
		}
		return nil, err
	}
	out, err := s.listBuilds(ctx, name, in.GetSortOrder(), in.GetNextToken())
	if err != nil {
		return nil, err
	}
	return &shape.ListBuildsForProjectOutput{Ids: out.Ids, NextToken: out.NextToken}, nil
}

// listBuilds pages through build ids, newest first unless ASCENDING.
func (s *Service) listBuilds(ctx context.Context, project string, order shape.SortOrderType, token string) (*shape.ListBuildsOutput, error) {
	var ids []string
	if err := s.store.View(ctx, func(tx Tx) (err error) { ids, err = tx.ListBuildIDs(project); return err }); err != nil {
		return nil, err
	}
	if order != "ASCENDING" {
		slices.Reverse(ids)
	}
	page, next, err := pageOf(ids, token)
	if err != nil {
		return nil, err
	}
	return &shape.ListBuildsOutput{Ids: page, NextToken: next}, nil
}

// StopBuild records the stop, then terminates the build's tree. The answer
// is the build as stopped: STOPPED, complete, its running phase STOPPED.
// A build that already ended is returned as it is.
func (s *Service) StopBuild(ctx context.Context, in *shape.StopBuildInput) (*shape.StopBuildOutput, error) {
	b, err := s.stopBuild(ctx, buildID(in.GetId()), StopIntent{By: callerOf(ctx)})
	if err != nil {
		return nil, err
	}
	return &shape.StopBuildOutput{Build: &b.Doc}, nil
}

// stopBuild is StopBuild for any caller (a user, a pipeline).
func (s *Service) stopBuild(ctx context.Context, id string, intent StopIntent) (*Build, error) {
	var out *Build
	stopped := false
	err := s.store.Update(ctx, func(tx Tx) error {
		b, err := tx.GetBuild(id)
		if errors.Is(err, ErrNotFound) {
			return buildNotFound(id)
		}
		if err != nil {
			return err
		}
		out = b
		if isComplete(&b.Doc) {
			return nil
		}
		b.Doc = s.live(b)
		intent.At = s.now()
		b.Stop = &intent
		stop(&b.Doc, intent.At)
		stopped = true
		return tx.UpdateBuild(b)
	})
	if err != nil {
		return nil, err
	}
	if stopped && out.JobID != "" {
		if err := s.jobs.Stop(context.WithoutCancel(ctx), out.JobID, stopText(intent)); err != nil {
			s.log.Warn("codebuild: could not stop a build's job", "buildId", id, "err", err)
		}
	}
	if stopped {
		s.notifyPipeline(out)
	}
	return out, nil
}

func (s *Service) BatchDeleteBuilds(ctx context.Context, in *shape.BatchDeleteBuildsInput) (*shape.BatchDeleteBuildsOutput, error) {
	out := &shape.BatchDeleteBuildsOutput{BuildsDeleted: []string{}, BuildsNotDeleted: []shape.BuildNotDeleted{}}
	var deleted []*Build
	err := s.store.Update(ctx, func(tx Tx) error {
		for _, raw := range in.Ids {
			id := buildID(raw)
			b, err := tx.GetBuild(id)
			if errors.Is(err, ErrNotFound) {
				out.BuildsNotDeleted = append(out.BuildsNotDeleted, notDeleted(raw, "BUILD_NOT_FOUND"))
				continue
			}
			if err != nil {
				return err
			}
			if !isComplete(&b.Doc) {
				out.BuildsNotDeleted = append(out.BuildsNotDeleted, notDeleted(raw, "BUILD_IN_PROGRESS"))
				continue
			}
			if err := tx.DeleteBuild(id); err != nil {
				return err
			}
			deleted = append(deleted, b)
			out.BuildsDeleted = append(out.BuildsDeleted, raw)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, b := range deleted {
		if s.cfg.Logs != nil {
			s.cfg.Logs.Detach(ctx, b.Doc.Logs.GetGroupName(), b.Doc.Logs.GetStreamName())
		}
		if b.JobID != "" {
			s.jobs.Forget(ctx, b.JobID)
		}
	}
	return out, nil
}

// stopText is what a stopped build's log says stopped it.
func stopText(in StopIntent) string {
	if in.Reason != "" {
		return "StopBuild called by " + in.By + ": " + in.Reason
	}
	return "StopBuild called by " + in.By
}

func notDeleted(id, code string) shape.BuildNotDeleted {
	return shape.BuildNotDeleted{Id: &id, StatusCode: &code}
}

// RetryBuild starts a new build with the settings of an earlier one.
func (s *Service) RetryBuild(ctx context.Context, in *shape.RetryBuildInput) (*shape.RetryBuildOutput, error) {
	id := buildID(in.GetId())
	var prev *Build
	err := s.store.View(ctx, func(tx Tx) (err error) { prev, err = tx.GetBuild(id); return err })
	if errors.Is(err, ErrNotFound) {
		return nil, buildNotFound(id)
	}
	if err != nil {
		return nil, err
	}
	req := prev.Run.Request
	if req == nil {
		req = &shape.StartBuildInput{ProjectName: &prev.Project}
	}
	retry := *req
	retry.IdempotencyToken = in.IdempotencyToken
	b, err := s.start(ctx, &retry, callerOf(ctx), startExtra{token: retry.GetIdempotencyToken()})
	if err != nil {
		return nil, err
	}
	return &shape.RetryBuildOutput{Build: &b.Doc}, nil
}

// newBuild makes a build of a project with StartBuild's overrides applied,
// QUEUED; it refuses what pipewright could not run.
func (s *Service) newBuild(p *Project, in *shape.StartBuildInput, id, initiator string, now time.Time) (*Build, error) {
	if id == "" {
		id = p.GetName() + ":" + uuid.NewString()
	}
	arn := s.buildARN(id)
	src := copyOf(p.Source)
	if t := in.SourceTypeOverride; t != nil {
		src.Type = t
	}
	if l := in.SourceLocationOverride; l != nil {
		src.Location = l
	}
	if bs := in.BuildspecOverride; bs != nil {
		src.Buildspec = bs
	}
	if err := checkSource(src, "source"); err != nil {
		return nil, err
	}
	if len(in.SecondarySourcesOverride) > 0 || len(in.SecondarySourcesVersionOverride) > 0 {
		return nil, invalidInput("Invalid input: secondary sources are not supported by pipewright yet")
	}
	if err := checkVariables(in.EnvironmentVariablesOverride, "environmentVariablesOverride"); err != nil {
		return nil, err
	}
	env := copyOf(p.Environment)
	env.EnvironmentVariables = mergeVariables(env.EnvironmentVariables, in.EnvironmentVariablesOverride)
	if v := in.EnvironmentTypeOverride; v != nil {
		env.Type = v
	}
	if v := in.ImageOverride; v != nil {
		env.Image = v
	}
	if v := in.ComputeTypeOverride; v != nil {
		env.ComputeType = v
	}
	if v := in.PrivilegedModeOverride; v != nil {
		env.PrivilegedMode = v
	}
	arts := copyOf(p.Artifacts)
	if in.ArtifactsOverride != nil {
		arts = copyOf(in.ArtifactsOverride)
	}
	if err := checkArtifacts(arts); err != nil {
		return nil, err
	}
	secondary := p.SecondaryArtifacts
	if in.SecondaryArtifactsOverride != nil {
		secondary = in.SecondaryArtifactsOverride
		if err := checkSecondaryArtifacts(secondary, "secondaryArtifactsOverride"); err != nil {
			return nil, err
		}
	}
	cache := p.Cache
	if in.CacheOverride != nil {
		cache = in.CacheOverride
		if err := checkCache(cache); err != nil {
			return nil, err
		}
	}
	timeout, queued := p.TimeoutInMinutes, p.QueuedTimeoutInMinutes
	if in.TimeoutInMinutesOverride != nil {
		timeout = in.TimeoutInMinutesOverride
	}
	if in.QueuedTimeoutInMinutesOverride != nil {
		queued = in.QueuedTimeoutInMinutesOverride
	}
	role := p.ServiceRole
	if in.ServiceRoleOverride != nil {
		role = in.ServiceRoleOverride
	}
	key := p.EncryptionKey
	if in.EncryptionKeyOverride != nil {
		key = in.EncryptionKeyOverride
	}
	logsCfg := p.LogsConfig
	if in.LogsConfigOverride != nil {
		logsCfg = in.LogsConfigOverride
	}
	name := p.GetName()
	d := shape.Build{
		Id: &id, Arn: &arn, ProjectName: &name, Initiator: &initiator,
		Source: src, SecondarySources: []shape.ProjectSource{}, SecondarySourceVersions: []shape.ProjectSourceVersion{},
		Artifacts: &shape.BuildArtifacts{Location: new(string)}, SecondaryArtifacts: []shape.BuildArtifacts{},
		Cache: cache, Environment: env, ServiceRole: role, TimeoutInMinutes: timeout, QueuedTimeoutInMinutes: queued,
		EncryptionKey: key, Logs: s.logsOf(name, id, logsCfg), ReportArns: []string{}, FileSystemLocations: []shape.ProjectFileSystemLocation{},
	}
	if v := in.SourceVersion; v != nil {
		d.SourceVersion = v
	} else if p.SourceVersion != nil {
		d.SourceVersion = p.SourceVersion
	}
	submit(&d, now)
	req := *in
	run := RunSpec{Request: &req}
	if arts.GetType() == "S3" {
		run.Artifacts = arts
	}
	for _, a := range secondary {
		if a.GetType() == "S3" {
			run.SecondaryArtifacts = append(run.SecondaryArtifacts, a)
		}
	}
	return &Build{ID: id, Project: name, Doc: d, Run: run}, nil
}

// logsOf is a build's logs member as AWS forms it.
func (s *Service) logsOf(project, id string, cfg *shape.LogsConfig) *shape.LogsLocation {
	group, stream := logGroup(project), buildUUID(id)
	if cw := cfg.GetCloudWatchLogs(); cw != nil {
		if g := cw.GetGroupName(); g != "" {
			group = g
		}
		if p := cw.GetStreamName(); p != "" {
			stream = p + "/" + stream
		}
	}
	arn := "arn:aws:logs:" + s.cfg.Region + ":" + s.cfg.AccountID + ":log-group:" + group + ":log-stream:" + stream
	link := s.baseURL() + "/_pipewright/logs?" + url.Values{"group": {group}, "stream": {stream}}.Encode()
	return &shape.LogsLocation{GroupName: &group, StreamName: &stream, DeepLink: &link, CloudWatchLogsArn: &arn,
		CloudWatchLogs: cfg.GetCloudWatchLogs(), S3Logs: cfg.GetS3Logs()}
}

// mergeVariables is the project's variables with the overrides applied by
// name (an override replaces the project's variable of that name).
func mergeVariables(base, over []shape.EnvironmentVariable) []shape.EnvironmentVariable {
	out := append([]shape.EnvironmentVariable{}, base...)
	for _, o := range over {
		replaced := false
		for i := range out {
			if out[i].GetName() == o.GetName() {
				out[i], replaced = o, true
			}
		}
		if !replaced {
			out = append(out, o)
		}
	}
	return out
}

// copyOf returns a shallow copy of *p (a zero value for nil).
func copyOf[T any](p *T) *T {
	var c T
	if p != nil {
		c = *p
	}
	return &c
}

// buildNumberText is a build number as CODEBUILD_BUILD_NUMBER shows it.
func buildNumberText(d *shape.Build) string { return strconv.FormatInt(d.GetBuildNumber(), 10) }
