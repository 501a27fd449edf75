package codebuild

import (
	"strings"

	"github.com/pipewright/pipewright/codebuild/shape"
)

// Source types pipewright can fetch; S3 comes with the artifact store's S3
// endpoint.
var fetchable = map[shape.SourceType]bool{"NO_SOURCE": true, "CODECOMMIT": true, "CODEPIPELINE": true}

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
	for i := range p.SecondaryArtifacts {
		if err := checkArtifacts(&p.SecondaryArtifacts[i]); err != nil {
			return err
		}
	}
	if err := checkEnvironment(p.Environment, "environment.environmentVariables"); err != nil {
		return err
	}
	if c := p.Cache; c != nil && c.GetType() == "S3" {
		return invalidInput("Invalid input: cache type S3 is not supported by pipewright yet (its artifact store is not reachable as S3); use LOCAL or NO_CACHE")
	}
	if l := p.ConcurrentBuildLimit; l != nil && (*l < 1 || int(*l) > s.cfg.MaxBuilds) {
		return invalidInput("Project-level concurrent build limit cannot exceed the account-level concurrent build limit of %d.", s.cfg.MaxBuilds)
	}
	return nil
}

func checkSource(src *shape.ProjectSource, where string) error {
	t := src.GetType()
	if !fetchable[t] {
		return invalidInput("Invalid input: %s type %s is not supported by pipewright: it builds NO_SOURCE, CODECOMMIT (a git repository under its --git-root) and CODEPIPELINE sources", where, t)
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
	}
	return nil
}

func checkArtifacts(a *shape.ProjectArtifacts) error {
	if t := a.GetType(); t == "S3" {
		return invalidInput("Invalid input: artifacts type S3 is not supported by pipewright yet (its artifact store is not reachable as S3); use NO_ARTIFACTS or CODEPIPELINE")
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
