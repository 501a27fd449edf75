package codedeploy

import (
	"context"
	"crypto/sha256"

	"github.com/pipewright/pipewright/codedeploy/shape"
)

// PipelineDeploymentID is the deployment id a pipeline action's token (its
// action execution id) makes: d- and nine characters of AWS's alphabet,
// the same for the same token, so that a restarted action finds the
// deployment it created before instead of creating a second one.
func PipelineDeploymentID(token string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	sum := sha256.Sum256([]byte("codepipeline/" + token))
	b := make([]byte, 9)
	for i := range b {
		b[i] = alphabet[int(sum[i])%len(alphabet)]
	}
	return "d-" + string(b)
}

// CreatePipelineDeployment is CreateDeployment for a pipeline action: the
// deployment's id is PipelineDeploymentID(token), and asking again with the
// same token answers the deployment created the first time.
func (s *Service) CreatePipelineDeployment(ctx context.Context, token string, in *shape.CreateDeploymentInput) (*shape.CreateDeploymentOutput, error) {
	return s.createDeployment(ctx, in, PipelineDeploymentID(token))
}
