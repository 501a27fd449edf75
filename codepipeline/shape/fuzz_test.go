package shape_test

import (
	"context"
	"errors"
	"testing"

	"github.com/pipewright/pipewright/codepipeline/shape"
	"github.com/pipewright/pipewright/wire"
)

type okHandler struct{}

func (okHandler) CreatePipeline(ctx context.Context, in *shape.CreatePipelineInput) (*shape.CreatePipelineOutput, error) {
	return &shape.CreatePipelineOutput{Pipeline: in.Pipeline}, nil
}

func (okHandler) StopPipelineExecution(ctx context.Context, in *shape.StopPipelineExecutionInput) (*shape.StopPipelineExecutionOutput, error) {
	return &shape.StopPipelineExecutionOutput{PipelineExecutionId: in.PipelineExecutionId}, nil
}

// FuzzRequestDecoder feeds arbitrary bodies through the generated decoder
// and validators of two operations: they never panic, and every refusal is
// a SerializationException or a ValidationException.
func FuzzRequestDecoder(f *testing.F) {
	seeds := []string{
		`{}`, `{"pipelineName":"p","pipelineExecutionId":"0f0c0a38-1b2c-4d5e-8f90-a1b2c3d4e5f6","abandon":true,"reason":"r"}`,
		`{"pipeline":{"name":"p","roleArn":"arn:aws:iam::000000000000:role/r","artifactStore":{"type":"S3","location":"b"},"stages":[{"name":"S","actions":[{"name":"A","actionTypeId":{"category":"Source","owner":"AWS","provider":"CodeCommit","version":"1"},"configuration":{"k":"v"},"runOrder":0}]}]},"tags":[{"key":"k","value":"v"}]}`,
		`{"pipeline":{"stages":[{"actions":[{}]}]}}`, `{"pipeline":null}`, `{"pipelineName":1}`, `[`, `{"abandon":"yes"}`,
		`{"pipeline":{"name":"` + string(make([]byte, 300)) + `"}}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	ops := shape.Operations(okHandler{})
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, name := range []string{"CreatePipeline", "StopPipelineExecution"} {
			_, err := ops[name](context.Background(), body)
			if err == nil {
				continue
			}
			var we *wire.Error
			if !errors.As(err, &we) || (we.Code != wire.CodeSerialization && we.Code != wire.CodeValidation) || we.Status != 400 {
				t.Fatalf("%s: unexpected error %#v", name, err)
			}
		}
	})
}
