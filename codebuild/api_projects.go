package codebuild

import (
	"context"
	"errors"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/pipewright/pipewright/codebuild/shape"
)

// Defaults AWS gives a project.
const (
	defaultTimeout       = 60  // minutes
	defaultQueuedTimeout = 480 // minutes
)

// settings is what CreateProject and UpdateProject share: their inputs
// have the same members, so either converts to it.
type settings shape.UpdateProjectInput

// apply sets what the settings give on a project (nil members keep what it
// has: UpdateProject changes only what it names).
func (st settings) apply(p *shape.Project) {
	set := func(dst **string, v *string) {
		if v != nil {
			*dst = v
		}
	}
	set(&p.Description, st.Description)
	set(&p.SourceVersion, st.SourceVersion)
	set(&p.ServiceRole, st.ServiceRole)
	set(&p.EncryptionKey, st.EncryptionKey)
	if st.Source != nil {
		p.Source = st.Source
	}
	if st.SecondarySources != nil {
		p.SecondarySources = st.SecondarySources
	}
	if st.SecondarySourceVersions != nil {
		p.SecondarySourceVersions = st.SecondarySourceVersions
	}
	if st.Artifacts != nil {
		p.Artifacts = st.Artifacts
	}
	if st.SecondaryArtifacts != nil {
		p.SecondaryArtifacts = st.SecondaryArtifacts
	}
	if st.Cache != nil {
		p.Cache = st.Cache
	}
	if st.Environment != nil {
		p.Environment = st.Environment
	}
	if st.TimeoutInMinutes != nil {
		p.TimeoutInMinutes = st.TimeoutInMinutes
	}
	if st.QueuedTimeoutInMinutes != nil {
		p.QueuedTimeoutInMinutes = st.QueuedTimeoutInMinutes
	}
	if st.Tags != nil {
		p.Tags = st.Tags
	}
	if st.VpcConfig != nil {
		p.VpcConfig = st.VpcConfig
	}
	if st.BadgeEnabled != nil {
		p.Badge = &shape.ProjectBadge{BadgeEnabled: st.BadgeEnabled}
	}
	if st.LogsConfig != nil {
		p.LogsConfig = st.LogsConfig
	}
	if st.FileSystemLocations != nil {
		p.FileSystemLocations = st.FileSystemLocations
	}
	if st.BuildBatchConfig != nil {
		p.BuildBatchConfig = st.BuildBatchConfig
	}
	if st.ConcurrentBuildLimit != nil {
		p.ConcurrentBuildLimit = st.ConcurrentBuildLimit
	}
	if st.AutoRetryLimit != nil {
		p.AutoRetryLimit = st.AutoRetryLimit
	}
}

// withDefaults fills what AWS fills in a project it stores.
func (s *Service) withDefaults(p *shape.Project) {
	if p.TimeoutInMinutes == nil {
		v := int32(defaultTimeout)
		p.TimeoutInMinutes = &v
	}
	if p.QueuedTimeoutInMinutes == nil {
		v := int32(defaultQueuedTimeout)
		p.QueuedTimeoutInMinutes = &v
	}
	if p.EncryptionKey == nil {
		k := "arn:aws:kms:" + s.cfg.Region + ":" + s.cfg.AccountID + ":alias/aws/s3"
		p.EncryptionKey = &k
	}
	if p.Cache == nil {
		t := shape.CacheType("NO_CACHE")
		p.Cache = &shape.ProjectCache{Type: &t}
	}
	if p.Badge == nil {
		f := false
		p.Badge = &shape.ProjectBadge{BadgeEnabled: &f}
	}
	if p.LogsConfig == nil {
		p.LogsConfig = &shape.LogsConfig{}
	}
	if p.LogsConfig.CloudWatchLogs == nil {
		on := shape.LogsConfigStatusType("ENABLED")
		p.LogsConfig.CloudWatchLogs = &shape.CloudWatchLogsConfig{Status: &on}
	}
	if p.LogsConfig.S3Logs == nil {
		off, f := shape.LogsConfigStatusType("DISABLED"), false
		p.LogsConfig.S3Logs = &shape.S3LogsConfig{Status: &off, EncryptionDisabled: &f}
	}
	if p.ProjectVisibility == nil {
		v := shape.ProjectVisibilityType("PRIVATE")
		p.ProjectVisibility = &v
	}
	for _, l := range []*[]shape.ProjectSource{&p.SecondarySources} {
		if *l == nil {
			*l = []shape.ProjectSource{}
		}
	}
	if p.SecondarySourceVersions == nil {
		p.SecondarySourceVersions = []shape.ProjectSourceVersion{}
	}
	if p.SecondaryArtifacts == nil {
		p.SecondaryArtifacts = []shape.ProjectArtifacts{}
	}
	if p.Tags == nil {
		p.Tags = []shape.Tag{}
	}
	if p.FileSystemLocations == nil {
		p.FileSystemLocations = []shape.ProjectFileSystemLocation{}
	}
	if p.Environment != nil && p.Environment.EnvironmentVariables == nil {
		p.Environment.EnvironmentVariables = []shape.EnvironmentVariable{}
	}
}

func (s *Service) CreateProject(ctx context.Context, in *shape.CreateProjectInput) (*shape.CreateProjectOutput, error) {
	name := in.GetName()
	p := &Project{Project: shape.Project{Name: in.Name}}
	settings(*in).apply(&p.Project)
	s.withDefaults(&p.Project)
	if err := s.checkProject(&p.Project); err != nil {
		return nil, err
	}
	arn, now := s.projectARN(name), ts(s.now())
	p.Arn, p.Created, p.LastModified = &arn, now, now
	err := s.store.Update(ctx, func(tx Tx) error { return tx.CreateProject(p) })
	if errors.Is(err, ErrExists) {
		return nil, apiError(excResourceAlreadyExists, "Project already exists: %s", arn)
	}
	if err != nil {
		return nil, err
	}
	return &shape.CreateProjectOutput{Project: &p.Project}, nil
}

func (s *Service) UpdateProject(ctx context.Context, in *shape.UpdateProjectInput) (*shape.UpdateProjectOutput, error) {
	name := projectName(in.GetName())
	var out *Project
	err := s.store.Update(ctx, func(tx Tx) error {
		p, err := tx.GetProject(name)
		if err != nil {
			return err
		}
		settings(*in).apply(&p.Project)
		s.withDefaults(&p.Project)
		if err := s.checkProject(&p.Project); err != nil {
			return err
		}
		p.LastModified = ts(s.now())
		out = p
		return tx.UpdateProject(p)
	})
	if errors.Is(err, ErrNotFound) {
		return nil, s.projectNotFound(name)
	}
	if err != nil {
		return nil, err
	}
	return &shape.UpdateProjectOutput{Project: &out.Project}, nil
}

// DeleteProject deletes a project; its builds are kept, as on AWS.
func (s *Service) DeleteProject(ctx context.Context, in *shape.DeleteProjectInput) (*shape.DeleteProjectOutput, error) {
	name := projectName(in.GetName())
	err := s.store.Update(ctx, func(tx Tx) error { return tx.DeleteProject(name) })
	if err != nil && !errors.Is(err, ErrConflict) && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	s.dropCache(name)
	return &shape.DeleteProjectOutput{}, nil
}

// InvalidateProjectCache empties a project's LOCAL cache, and its S3 cache
// when it has one.
func (s *Service) InvalidateProjectCache(ctx context.Context, in *shape.InvalidateProjectCacheInput) (*shape.InvalidateProjectCacheOutput, error) {
	name := projectName(in.GetProjectName())
	var p *Project
	if err := s.store.View(ctx, func(tx Tx) (err error) { p, err = tx.GetProject(name); return err }); err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, s.projectNotFound(name)
		}
		return nil, err
	}
	s.dropCache(name)
	s.dropS3Cache(p.Cache)
	return &shape.InvalidateProjectCacheOutput{}, nil
}

// dropCache deletes a project's LOCAL cache.
func (s *Service) dropCache(project string) {
	if s.cfg.CacheDir == "" {
		return
	}
	if err := os.RemoveAll(s.cacheDir(project)); err != nil {
		s.log.Warn("codebuild: could not delete a project's cache", "project", project, "err", err)
	}
}

func (s *Service) BatchGetProjects(ctx context.Context, in *shape.BatchGetProjectsInput) (*shape.BatchGetProjectsOutput, error) {
	out := &shape.BatchGetProjectsOutput{Projects: []shape.Project{}, ProjectsNotFound: []string{}}
	err := s.store.View(ctx, func(tx Tx) error {
		seen := map[string]bool{}
		for _, n := range in.Names {
			if seen[n] {
				continue
			}
			seen[n] = true
			p, err := tx.GetProject(projectName(n))
			if errors.Is(err, ErrNotFound) {
				out.ProjectsNotFound = append(out.ProjectsNotFound, n)
				continue
			}
			if err != nil {
				return err
			}
			out.Projects = append(out.Projects, p.Project)
		}
		return nil
	})
	return out, err
}

// pageSize is CodeBuild's fixed page size for list operations.
const pageSize = 100

func (s *Service) ListProjects(ctx context.Context, in *shape.ListProjectsInput) (*shape.ListProjectsOutput, error) {
	var all []*Project
	if err := s.store.View(ctx, func(tx Tx) (err error) { all, err = tx.ListProjects(); return err }); err != nil {
		return nil, err
	}
	at := func(p *Project) time.Time { return time.Time{} }
	switch in.GetSortBy() {
	case "CREATED_TIME":
		at = func(p *Project) time.Time { return p.GetCreated() }
	case "LAST_MODIFIED_TIME":
		at = func(p *Project) time.Time { return p.GetLastModified() }
	}
	sort.SliceStable(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if in.GetSortOrder() == "DESCENDING" {
			a, b = b, a
		}
		if ta, tb := at(a), at(b); !ta.Equal(tb) {
			return ta.Before(tb)
		}
		return a.GetName() < b.GetName()
	})
	names := make([]string, len(all))
	for i, p := range all {
		names[i] = p.GetName()
	}
	page, next, err := pageOf(names, in.GetNextToken())
	if err != nil {
		return nil, err
	}
	return &shape.ListProjectsOutput{Projects: page, NextToken: next}, nil
}

// pageOf returns one page of a list and the token of the next: the token is
// the offset of the next page, as CodeBuild's tokens are opaque.
func pageOf(all []string, token string) ([]string, *string, error) {
	start := 0
	if token != "" {
		n, err := strconv.Atoi(token)
		if err != nil || n < 0 || n > len(all) {
			return nil, nil, invalidInput("Invalid nextToken")
		}
		start = n
	}
	end := min(start+pageSize, len(all))
	page := append([]string{}, all[start:end]...)
	if end < len(all) {
		t := strconv.Itoa(end)
		return page, &t, nil
	}
	return page, nil, nil
}
