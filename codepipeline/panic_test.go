package codepipeline_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pipewright/pipewright/artifacts"
	"github.com/pipewright/pipewright/codepipeline"
	"github.com/pipewright/pipewright/codepipeline/shape"
	"github.com/pipewright/pipewright/engine"
	"github.com/pipewright/pipewright/jobs"
	"github.com/pipewright/pipewright/runner"
	"github.com/pipewright/pipewright/store/sqlite"
)

// faultyStore is a real store with a fault injected at its boundary: once
// armed, the next GetStageRun panics, as a driver bug would.
type faultyStore struct {
	codepipeline.Store
	armed atomic.Bool
}

func (f *faultyStore) Progress(ctx context.Context, fn func(codepipeline.Tx) error) error {
	return f.Store.Progress(ctx, func(tx codepipeline.Tx) error { return fn(faultyTx{tx, f}) })
}

type faultyTx struct {
	codepipeline.Tx
	f *faultyStore
}

func (t faultyTx) GetStageRun(executionID, stage string) (*codepipeline.StageRun, error) {
	if t.f.armed.CompareAndSwap(true, false) {
		panic("injected fault in GetStageRun")
	}
	return t.Tx.GetStageRun(executionID, stage)
}

// TestPanicFailsTheExecutionsOnce: a panic while a pipeline is advanced
// fails its active executions with the reason, once; the server and other
// pipelines carry on.
func TestPanicFailsTheExecutionsOnce(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	arts, err := artifacts.Open(filepath.Join(dir, "artifacts"), db.Objects())
	if err != nil {
		t.Fatal(err)
	}
	run, err := runner.New(runner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng := engine.New(2, nil)
	work, logs := t.TempDir(), t.TempDir()
	mgr := jobs.New(jobs.Config{Store: db.Jobs(), Runner: run, Artifacts: arts, WorkDir: work, LogDir: logs, Boot: eng.Boot()})
	store := &faultyStore{Store: db.CodePipeline()}
	git := t.TempDir()
	repo := filepath.Join(git, "app")
	for _, args := range [][]string{{"init", "-q", "-b", "main", repo}, {"-C", repo, "commit", "-q", "--allow-empty", "-m", "first"}} {
		cmd := exec.Command("git", args...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	svc := codepipeline.New(codepipeline.Config{Store: store, Engine: eng, Jobs: mgr, Artifacts: arts, GitRoot: git, TempDir: work, AccountID: "000000000000", Region: "us-east-1"})
	if err := mgr.Start(ctx); err != nil {
		t.Fatal(err)
	}
	eng.Start()
	defer func() { svc.Close(); mgr.Close(); eng.Stop() }()
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}

	create := func(name string) string {
		var in shape.CreatePipelineInput
		decl := `{"pipeline":{"name":"` + name + `","roleArn":"arn:aws:iam::000000000000:role/r","artifactStore":{"type":"S3","location":"bucket-x"},
			"pipelineType":"V2","stages":[
			{"name":"Source","actions":[{"name":"Src","actionTypeId":{"category":"Source","owner":"AWS","provider":"CodeCommit","version":"1"},
				"configuration":{"RepositoryName":"app","BranchName":"main"},"outputArtifacts":[{"name":"code"}]}]},
			{"name":"Wait","actions":[{"name":"Ok","actionTypeId":{"category":"Approval","owner":"AWS","provider":"Manual","version":"1"}}]},
			{"name":"More","actions":[{"name":"Ok2","actionTypeId":{"category":"Approval","owner":"AWS","provider":"Manual","version":"1"}}]}]}}`
		if err := json.Unmarshal([]byte(decl), &in); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.CreatePipeline(ctx, &in); err != nil {
			t.Fatal(err)
		}
		var id string
		waitFor(t, "the approval of "+name, func() bool {
			st, err := svc.GetPipelineState(ctx, &shape.GetPipelineStateInput{Name: &name})
			if err != nil || len(st.StageStates) < 2 || len(st.StageStates[1].ActionStates) == 0 {
				return false
			}
			le := st.StageStates[1].ActionStates[0].LatestExecution
			if le == nil || le.Token == nil {
				return false
			}
			id = *st.StageStates[1].LatestExecution.PipelineExecutionId
			return true
		})
		return id
	}
	status := func(name, id string) (string, string) {
		out, err := svc.GetPipelineExecution(ctx, &shape.GetPipelineExecutionInput{PipelineName: &name, PipelineExecutionId: &id})
		if err != nil {
			t.Fatal(err)
		}
		return string(out.PipelineExecution.GetStatus()), out.PipelineExecution.GetStatusSummary()
	}
	approve := func(name, stage, action string) {
		st, _ := svc.GetPipelineState(ctx, &shape.GetPipelineStateInput{Name: &name})
		for _, s := range st.StageStates {
			if s.GetStageName() != stage {
				continue
			}
			tok := s.ActionStates[0].LatestExecution.Token
			ok := shape.ApprovalStatusApproved
			_, err := svc.PutApprovalResult(ctx, &shape.PutApprovalResultInput{PipelineName: &name, StageName: &stage, ActionName: &action, Token: tok,
				Result: &shape.ApprovalResult{Status: &ok, Summary: ptr("ok")}})
			if err != nil {
				t.Fatal(err)
			}
		}
	}

	bad := create("bad")
	store.armed.Store(true)
	approve("bad", "Wait", "Ok")
	waitFor(t, "the execution to fail", func() bool { s, _ := status("bad", bad); return s == "Failed" })
	if _, sum := status("bad", bad); !strings.Contains(sum, "injected fault in GetStageRun") {
		t.Fatalf("status summary %q does not give the reason", sum)
	}

	good := create("good")
	approve("good", "Wait", "Ok")
	waitFor(t, "the next stage of another pipeline", func() bool {
		st, _ := svc.GetPipelineState(ctx, &shape.GetPipelineStateInput{Name: ptr("good")})
		return len(st.StageStates) == 3 && st.StageStates[2].LatestExecution != nil
	})
	approve("good", "More", "Ok2")
	waitFor(t, "the other pipeline to succeed", func() bool { s, _ := status("good", good); return s == "Succeeded" })
}

func ptr[T any](v T) *T { return &v }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
