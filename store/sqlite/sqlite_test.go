package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/pipewright/pipewright/codepipeline"
	"github.com/pipewright/pipewright/jobs"
	"github.com/pipewright/pipewright/store/sqlite"
	"github.com/pipewright/pipewright/store/storetest"
)

func open(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestCodePipelineConformance(t *testing.T) {
	storetest.CodePipeline(t, func(t *testing.T) codepipeline.Store { return open(t).CodePipeline() })
}

func TestReopenKeepsDataAndMigratesOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db")
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	err = db.CodePipeline().Update(ctx, func(tx codepipeline.Tx) error {
		return tx.CreatePipeline(&codepipeline.Pipeline{Name: "p", Version: 1, Declaration: []byte(`{}`)})
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.CodePipeline().View(ctx, func(tx codepipeline.Tx) error {
		_, err := tx.GetPipeline("p")
		return err
	})
	if err != nil {
		t.Fatalf("after reopening: %v", err)
	}
}

func TestJobsConformance(t *testing.T) {
	storetest.Jobs(t, func(t *testing.T) jobs.Store { return open(t).Jobs() })
}
