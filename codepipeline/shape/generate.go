// Package shape holds the CodePipeline wire shapes generated from the
// official Smithy model: a struct per request/response structure, the
// enums, Validate methods that enforce the model's constraints with AWS's
// ValidationException wording, a handler interface per operation and
// Operations, which binds a handler to the awsJson1_1 operation names.
//
// Regenerate with `go generate ./codepipeline/shape` from the repository
// root; the model is read from ../shared/aws-models and is not vendored.
// overlay.json adds what botocore's newer model has and that one lacks
// (EnvironmentVariable.type, ListDeployActionExecutionTargets).
package shape

//go:generate go run ../../internal/smithygen -model ../../../shared/aws-models/codepipeline-2015-07-09.json -overlay overlay.json -out . -package shape
