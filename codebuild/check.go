package codebuild

import (
	"strings"

	"github.com/pipewright/pipewright/codebuild/shape"
)

// Source types pipewright can fetch.
var fetchable = map[shape.SourceType]bool{"NO_SOURCE": true, "CODECOMMIT": true, "CODEPIPELINE": true, "S3": true}

// checkProject refuses, at CreateProject and UpdateProject, what pipewright
// could not build, instead of failing the builds later.
func (s *Service) checkProject(p *shape.Project) error {
	if err := checkSource(p.Source, "source"); err != nil {
		return err
	}
	if len(p.SecondarySources) > 0 {
		return invalidInput("Invalid input: secondarySources are not supported by pipewright yet; a pipeline's CodeBuild action passes its further input artifacts as secondary sources")
	}
	src, art := p.Source.GetType(), p.Artifacts.GetType()
	if (src == "CODEPIPELINE") != (art == "CODEPIPELINE") {
		return invalidInput("Invalid input: when using CodePipeline both sourceType, and artifactType must be set to: CODEPIPELINE")
	}
	if err := checkArtifacts(p.Artifacts); err != nil {
		return err
	}
	if err := checkSecondaryArtifacts(p.SecondaryArtifacts, "secondaryArtifacts"); err != nil {
		return err
	}
	if err := checkEnvironment(p.Environment, "environment.environmentVariables"); err != nil {
		return err
	}
	if err := checkCache(p.Cache); err != nil {
		return err
	}
	if l := p.ConcurrentBuildLimit; l != nil && (*l < 1 || int(*l) > s.cfg.MaxBuilds) {
		return invalidInput("Project-level concurrent build limit cannot exceed the account-level concurrent build limit of %d.", s.cfg.MaxBuilds)
	}
	return nil
}

func checkSource(src *shape.ProjectSource, where string) error {
	t := src.GetType()
	if !fetchable[t] {
		return invalidInput("Invalid input: %s type %s is not supported by pipewright: it builds NO_SOURCE, CODECOMMIT (a git repository under its --git-root), S3 (a zip object of its artifact store) and CODEPIPELINE sources", where, t)
	}
	switch t {
	case "NO_SOURCE":
		if strings.TrimSpace(src.GetBuildspec()) == "" {
			return invalidInput("Invalid input: buildspec cannot be empty for NO_SOURCE source type")
		}
	case "CODECOMMIT":
		if repoName(src.GetLocation()) == "" {
			return invalidInput("Invalid input: a CODECOMMIT source needs a location: https://git-codecommit.REGION.amazonaws.com/v1/repos/NAME or NAME, a repository under pipewright's --git-root")
		}
	case "S3":
		return checkS3Source(src.GetLocation(), where)
	}
	return nil
}

func checkArtifacts(a *shape.ProjectArtifacts) error {
	if a.GetType() == "S3" {
		return checkS3Artifacts(a)
	}
	return nil
}

// checkSecondaryArtifacts refuses secondary artifacts pipewright could not
// store: each of type S3 or NO_ARTIFACTS, with an identifier of its own.
func checkSecondaryArtifacts(as []shape.ProjectArtifacts, where string) error {
	seen := map[string]bool{}
	for i := range as {
		a := &as[i]
		if a.GetType() == "CODEPIPELINE" {
			return invalidInput("Invalid input: %s: the CODEPIPELINE type is not supported for secondaryArtifacts", where)
		}
		id := a.GetArtifactIdentifier()
		if id == "" || seen[id] {
			return invalidInput("Invalid input: %s: each secondary artifact needs an artifactIdentifier of its own", where)
		}
		seen[id] = true
		if err := checkArtifacts(a); err != nil {
			return err
		}
	}
	return nil
}

// checkCache refuses an S3 cache without a bucket.
func checkCache(c *shape.ProjectCache) error {
	if c.GetType() != "S3" {
		return nil
	}
	if bucket, _ := s3CacheLocation(c.GetLocation()); bucket == "" {
		return invalidInput("Invalid input: a cache of type S3 needs a location: BUCKET or BUCKET/PREFIX")
	}
	return nil
}

func checkEnvironment(env *shape.ProjectEnvironment, where string) error {
	if env == nil {
		return nil
	}
	return checkVariables(env.EnvironmentVariables, where)
}

func checkVariables(vars []shape.EnvironmentVariable, where string) error {
	for _, v := range vars {
		if t := v.GetType(); t == "PARAMETER_STORE" || t == "SECRETS_MANAGER" {
			return invalidInput("Invalid input: %s: variable %s has type %s; pipewright has no parameter store or secrets manager yet, only PLAINTEXT variables", where, v.GetName(), t)
		}
		if !validEnvName(v.GetName()) {
			return invalidInput("Invalid input: %s: %q is not a valid environment variable name", where, v.GetName())
		}
	}
	return nil
}

func validEnvName(n string) bool {
	if n == "" {
		return false
	}
	for i, c := range n {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// repoName is the repository a CODECOMMIT location names: the last path
// element of an AWS clone URL, or the name itself.
func repoName(location string) string {
	name := location
	if i := strings.LastIndex(location, "/v1/repos/"); i >= 0 {
		name = location[i+len("/v1/repos/"):]
	}
	name = strings.TrimSuffix(name, "/")
	if name == "" || strings.ContainsAny(name, "/\\") || name == "." || name == ".." {
		return ""
	}
	return name
}
