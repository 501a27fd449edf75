// Package shape holds the CodeDeploy wire shapes generated from the
// official Smithy model: a struct per request/response structure, the
// enums, Validate methods that enforce the model's constraints with AWS's
// validation wording, a handler interface per operation and Operations,
// which binds a handler to the awsJson1_1 operation names.
//
// Regenerate with `go generate ./codedeploy/shape` from the repository
// root; the model is read from ../shared/aws-models and is not vendored.
package shape

//go:generate go run ../../internal/smithygen -model ../../../shared/aws-models/codedeploy-2014-10-06.json -out . -package shape
