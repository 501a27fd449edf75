package codepipeline_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/pipewright/pipewright/codepipeline"
	"github.com/pipewright/pipewright/codepipeline/shape"
	"github.com/pipewright/pipewright/engine"
	"github.com/pipewright/pipewright/jobs"
	"github.com/pipewright/pipewright/store/sqlite"
	"github.com/pipewright/pipewright/wire"
)

// busyStore is a real store whose write transactions always lose their
// compare-and-set, as they would against writers on other nodes.
type busyStore struct {
	codepipeline.Store
	attempts int
}

func (b *busyStore) Update(ctx context.Context, fn func(codepipeline.Tx) error) error {
	b.attempts++
	return codepipeline.ErrConflict
}

func TestBusyPipelineAnswersConflict(t *testing.T) {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	store := &busyStore{Store: db.CodePipeline()}
	mgr := jobs.New(jobs.Config{Store: db.Jobs()})
	defer mgr.Close()
	svc := codepipeline.New(codepipeline.Config{Store: store, Engine: engine.New(1, nil), Jobs: mgr, AccountID: "000000000000", Region: "us-east-1"})
	p, id := "p", "0f0c0a38-1b2c-4d5e-8f90-a1b2c3d4e5f6"
	_, err = svc.StopPipelineExecution(context.Background(), &shape.StopPipelineExecutionInput{PipelineName: &p, PipelineExecutionId: &id})
	var we *wire.Error
	if !errors.As(err, &we) || we.Code != "ConflictException" || we.Status != 409 {
		t.Fatalf("want a 409 ConflictException, got %v", err)
	}
	if store.attempts < 2 {
		t.Fatalf("gave up after %d attempts without retrying", store.attempts)
	}
}
