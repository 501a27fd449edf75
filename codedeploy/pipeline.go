package codedeploy

import (
	"context"
	"crypto/sha256"
	"errors"

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

// ErrStoppedAhead is CreatePipelineDeployment's answer for a token whose
// deployment StopPipelineDeployment stopped before it was created.
var ErrStoppedAhead = errors.New("codedeploy: the pipeline action was stopped before its deployment was created")

func stopAheadKey(id string) Key { return Key{Kind: KindStopAhead, Name: id} }

// StopPipelineDeployment stops the deployment of a pipeline action's token
// as StopDeployment does (without rollback of its own: the group's
// DEPLOYMENT_STOP_ON_REQUEST applies). When that deployment does not exist
// yet, the stop is recorded instead, in the same transaction that finds it
// missing, and its creation is refused: a stop racing the action's
// CreatePipelineDeployment is never lost. A deployment already ended is
// left as it is.
func (s *Service) StopPipelineDeployment(ctx context.Context, token string) error {
	id := PipelineDeploymentID(token)
	err := s.update(ctx, func(tx Tx) error {
		_, err := s.stopIn(tx, id, false)
		if isCode(err, excDeploymentDoesNotExist) {
			if _, ahead, err := load(tx, stopAheadKey(id), &struct{}{}); err != nil || ahead {
				return err
			}
			return save(tx, &Record{Key: stopAheadKey(id)}, &struct{}{})
		}
		return err
	})
	if isCode(err, excDeploymentAlreadyCompleted) {
		return nil
	}
	if err == nil {
		s.changed()
	}
	return err
}
