package server_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cp "github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/pipewright/pipewright/codepipeline"
	"github.com/pipewright/pipewright/server"
)

func withTimeouts(t codepipeline.Timeouts) option { return func(c *server.Config) { c.Timeouts = t } }
func withRetention(d time.Duration) option        { return func(c *server.Config) { c.Retention = d } }

// TestCommandsActionTimesOut: a Commands action that runs past its timeout
// (AWS's is 55 minutes; the test sets one second) fails saying so, and its
// whole tree is terminated.
func TestCommandsActionTimesOut(t *testing.T) {
	t.Parallel()
	ts := startServer(t, withGrace(200*time.Millisecond), withTimeouts(codepipeline.Timeouts{Commands: time.Second}))
	ts.gitRepo("app", map[string]string{"a": "a"})
	pids := filepath.Join(jobDir(t), "pids")
	id := ts.createPipeline(declaration("slow", "app", "", stage("Build", commandsAction("Tree", 1, treeCommands(pids)...))))
	tree := ts.treeOf("slow", "Build", "Tree", pids)
	ts.waitStatus("slow", id, types.PipelineExecutionStatusFailed, 20*time.Second)
	a := ts.actionState("slow", "Build", "Tree")
	if a.Status != types.ActionExecutionStatusFailed || a.ErrorDetails == nil || !strings.Contains(aws.ToString(a.ErrorDetails.Message), "timed out") ||
		!strings.Contains(aws.ToString(a.ErrorDetails.Message), "1 second") && !strings.Contains(aws.ToString(a.ErrorDetails.Message), "1s") {
		t.Fatalf("timed-out action: %s %+v", a.Status, a.ErrorDetails)
	}
	eventually(t, 10*time.Second, "the timed-out tree terminated", func() bool { return len(anyAlive(tree)) == 0 })
	jobID := aws.ToString(ts.listActions("slow")[0].Output.ExecutionResult.ExternalExecutionId)
	eventually(t, 10*time.Second, "the log's last line", func() bool {
		b, _ := os.ReadFile(filepath.Join(ts.data, "logs", jobID+".log"))
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		return strings.Contains(lines[len(lines)-1], "[pipewright]") && strings.Contains(lines[len(lines)-1], "timed out")
	})
}

// TestDeletePipelineRemovesItsFiles: deleting a pipeline stops its running
// work and removes its artifacts, logs and workspaces; another pipeline's
// stay.
func TestDeletePipelineRemovesItsFiles(t *testing.T) {
	t.Parallel()
	ts := startServer(t, withGrace(200*time.Millisecond))
	ts.gitRepo("app", map[string]string{"a": "a", "dist/x": "x"})
	keep := ts.createPipeline(declaration("keep", "app", "", stage("Build", commandsAction("Make", 1, "echo built"))))
	ts.waitStatus("keep", keep, types.PipelineExecutionStatusSucceeded, 20*time.Second)
	done := ts.createPipeline(declaration("gone", "app", "", stage("Build", commandsAction("Make", 1, "echo built"))))
	ts.waitStatus("gone", done, types.PipelineExecutionStatusSucceeded, 20*time.Second)
	pids := filepath.Join(jobDir(t), "pids")
	ts.start("gone")
	// A new execution whose Build runs while the pipeline is deleted.
	decl := declaration("gone", "app", "", stage("Build", commandsAction("Make", 1, treeCommands(pids)...)))
	if _, err := ts.client.UpdatePipeline(ctx, &cp.UpdatePipelineInput{Pipeline: decl}); err != nil {
		t.Fatal(err)
	}
	ts.start("gone")
	ts.waitAction("gone", "Build", "Make", types.ActionExecutionStatusInProgress)
	tree := ts.treeOf("gone", "Build", "Make", pids)

	files := func(pipeline string) (arts, logs []string) {
		for _, a := range ts.listActions(pipeline) {
			if a.Output == nil {
				continue
			}
			for _, o := range a.Output.OutputArtifacts {
				arts = append(arts, s3URI(o.S3location.Bucket, o.S3location.Key))
			}
			if r := a.Output.ExecutionResult; r != nil && strings.HasPrefix(aws.ToString(r.ExternalExecutionUrl), "file://"+filepath.Join(ts.data, "logs")) {
				logs = append(logs, strings.TrimPrefix(aws.ToString(r.ExternalExecutionUrl), "file://"))
			}
		}
		return arts, logs
	}
	goneArts, goneLogs := files("gone")
	keepArts, keepLogs := files("keep")
	if len(goneArts) == 0 || len(goneLogs) == 0 || len(keepArts) == 0 || len(keepLogs) == 0 {
		t.Fatalf("files before the delete: gone %v %v, keep %v %v", goneArts, goneLogs, keepArts, keepLogs)
	}
	for _, f := range append(goneArts, goneLogs...) {
		if !ts.present(f) {
			t.Fatalf("file of the pipeline before its delete: %s is missing", f)
		}
	}
	if _, err := ts.client.DeletePipeline(ctx, &cp.DeletePipelineInput{Name: aws.String("gone")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the deleted pipeline's running tree terminated", func() bool { return len(anyAlive(tree)) == 0 })
	eventually(t, 10*time.Second, "the deleted pipeline's files removed", func() bool {
		for _, f := range append(goneArts, goneLogs...) {
			if ts.present(f) {
				return false
			}
		}
		return true
	})
	eventually(t, 10*time.Second, "workspaces removed", func() bool {
		ents, _ := os.ReadDir(filepath.Join(ts.data, "work"))
		for _, e := range ents {
			if e.Name() != ".trash" {
				return false
			}
		}
		trash, _ := os.ReadDir(filepath.Join(ts.data, "work", ".trash"))
		return len(trash) == 0
	})
	for _, f := range append(keepArts, keepLogs...) {
		if !ts.present(f) {
			t.Fatalf("a file of another pipeline went: %s", f)
		}
	}
}

// TestRetentionPrunesOldExecutions: executions that ended longer than the
// retention ago are deleted with their artifacts and logs; those within it
// and those still running stay.
func TestRetentionPrunesOldExecutions(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.gitRepo("app", map[string]string{"a": "a"})
	old := ts.createPipeline(declaration("p", "app", "", stage("Build", commandsAction("Make", 1, "echo built"))))
	ts.waitStatus("p", old, types.PipelineExecutionStatusSucceeded, 20*time.Second)
	acts := ts.listActions("p")
	var files []string
	for _, a := range acts {
		for _, o := range a.Output.OutputArtifacts {
			files = append(files, s3URI(o.S3location.Bucket, o.S3location.Key))
		}
		if u := aws.ToString(a.Output.ExecutionResult.ExternalExecutionUrl); strings.HasPrefix(u, "file://"+filepath.Join(ts.data, "logs")) {
			files = append(files, strings.TrimPrefix(u, "file://"))
		}
	}
	if len(files) < 2 {
		t.Fatalf("files of the execution: %v", files)
	}
	for _, f := range files {
		if !ts.present(f) {
			t.Fatalf("%s is missing before the prune", f)
		}
	}
	// A later life whose clock is an hour on, with a retention of half an
	// hour, prunes the execution at start.
	later := func(c *server.Config) { c.Now = func() time.Time { return time.Now().Add(time.Hour) } }
	ts.restart(later, withRetention(30*time.Minute))
	eventually(t, 10*time.Second, "the old execution pruned", func() bool {
		_, err := ts.client.GetPipelineExecution(ctx, &cp.GetPipelineExecutionInput{PipelineName: aws.String("p"), PipelineExecutionId: &old})
		var nf *types.PipelineExecutionNotFoundException
		return errorsAs(err, &nf)
	})
	eventually(t, 10*time.Second, "its files deleted", func() bool {
		for _, f := range files {
			if ts.present(f) {
				return false
			}
		}
		return true
	})
	// An execution that ended within the retention stays across the next
	// start's prune.
	recent := ts.start("p")
	ts.waitStatus("p", recent, types.PipelineExecutionStatusSucceeded, 20*time.Second)
	ts.restart(later, withRetention(30*time.Minute))
	if st := ts.execStatus("p", recent); st != types.PipelineExecutionStatusSucceeded {
		t.Fatalf("a recent execution after the prune: %s", st)
	}
}
