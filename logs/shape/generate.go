// Package shape holds the CloudWatch Logs wire shapes generated from the
// official Smithy model: a struct per request/response structure, the
// enums, Validate methods that enforce the model's constraints, a handler
// interface per operation and Operations, which binds a handler to the
// awsJson1_1 operation names (target prefix Logs_20140328).
//
// Regenerate with `go generate ./logs/shape` from the repository root; the
// model is read from ../shared/aws-models and is not vendored.
package shape

//go:generate go run ../../internal/smithygen -model ../../../shared/aws-models/cloudwatch-logs-2014-03-28.json -out . -package shape
