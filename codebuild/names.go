package codebuild

import (
	"strings"
)

// projectARN is a project's ARN as AWS forms it.
func (s *Service) projectARN(name string) string {
	return "arn:aws:codebuild:" + s.cfg.Region + ":" + s.cfg.AccountID + ":project/" + name
}

// buildARN is a build's ARN: arn:aws:codebuild:REGION:ACCOUNT:build/PROJECT:UUID.
func (s *Service) buildARN(id string) string {
	return "arn:aws:codebuild:" + s.cfg.Region + ":" + s.cfg.AccountID + ":build/" + id
}

// projectName takes a project name or ARN (the API accepts both where it
// names a project) and returns the name.
func projectName(nameOrARN string) string {
	if strings.HasPrefix(nameOrARN, "arn:") {
		if i := strings.LastIndex(nameOrARN, ":project/"); i >= 0 {
			return nameOrARN[i+len(":project/"):]
		}
	}
	return nameOrARN
}

// buildID takes a build id or ARN and returns the id (PROJECT:UUID).
func buildID(idOrARN string) string {
	if strings.HasPrefix(idOrARN, "arn:") {
		if i := strings.Index(idOrARN, ":build/"); i >= 0 {
			return idOrARN[i+len(":build/"):]
		}
	}
	return idOrARN
}

// buildUUID is the UUID part of a build id, the name of its log stream.
func buildUUID(id string) string {
	if i := strings.LastIndexByte(id, ':'); i >= 0 {
		return id[i+1:]
	}
	return id
}

// logGroup is the log group of a project's builds unless its logsConfig
// names another.
func logGroup(project string) string { return "/aws/codebuild/" + project }
