package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cp "github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
)

// Declarations, as the server tests build them.

func sourceAction(repo string) types.ActionDeclaration {
	return types.ActionDeclaration{
		Name:            aws.String("Source"),
		ActionTypeId:    &types.ActionTypeId{Category: types.ActionCategorySource, Owner: types.ActionOwnerAws, Provider: aws.String("CodeCommit"), Version: aws.String("1")},
		Configuration:   map[string]string{"RepositoryName": repo, "BranchName": "main"},
		OutputArtifacts: []types.OutputArtifact{{Name: aws.String("code")}},
	}
}

func commandsAction(name string, runOrder int32, commands ...string) types.ActionDeclaration {
	return types.ActionDeclaration{
		Name:           aws.String(name),
		ActionTypeId:   &types.ActionTypeId{Category: types.ActionCategoryCompute, Owner: types.ActionOwnerAws, Provider: aws.String("Commands"), Version: aws.String("1")},
		RunOrder:       aws.Int32(runOrder),
		Commands:       commands,
		InputArtifacts: []types.InputArtifact{{Name: aws.String("code")}},
	}
}

func stage(name string, actions ...types.ActionDeclaration) types.StageDeclaration {
	return types.StageDeclaration{Name: aws.String(name), Actions: actions}
}

// declaration is a V2 pipeline: a CodeCommit source stage, then stages.
func declaration(name, repo string, mode types.ExecutionMode, stages ...types.StageDeclaration) *types.PipelineDeclaration {
	return &types.PipelineDeclaration{
		Name:          aws.String(name),
		RoleArn:       aws.String("arn:aws:iam::000000000000:role/pipewright"),
		ArtifactStore: &types.ArtifactStore{Type: types.ArtifactStoreTypeS3, Location: aws.String("pipewright-artifacts")},
		PipelineType:  types.PipelineTypeV2,
		ExecutionMode: mode,
		Stages:        append([]types.StageDeclaration{stage("Source", sourceAction(repo))}, stages...),
	}
}

// createPipeline creates the pipeline and returns the id of the execution
// CreatePipeline started.
func (b *bench) createPipeline(ctx context.Context, decl *types.PipelineDeclaration, tags ...types.Tag) (string, error) {
	if _, err := b.client.CreatePipeline(ctx, &cp.CreatePipelineInput{Pipeline: decl, Tags: tags}); err != nil {
		return "", fmt.Errorf("CreatePipeline %s: %w", aws.ToString(decl.Name), err)
	}
	out, err := b.client.ListPipelineExecutions(ctx, &cp.ListPipelineExecutionsInput{PipelineName: decl.Name, MaxResults: aws.Int32(1)})
	if err != nil {
		return "", fmt.Errorf("ListPipelineExecutions: %w", err)
	}
	if len(out.PipelineExecutionSummaries) == 0 {
		return "", fmt.Errorf("CreatePipeline %s started no execution", aws.ToString(decl.Name))
	}
	return aws.ToString(out.PipelineExecutionSummaries[0].PipelineExecutionId), nil
}

func (b *bench) start(ctx context.Context, pipeline string) (string, error) {
	out, err := b.client.StartPipelineExecution(ctx, &cp.StartPipelineExecutionInput{Name: &pipeline})
	if err != nil {
		return "", fmt.Errorf("StartPipelineExecution %s: %w", pipeline, err)
	}
	return aws.ToString(out.PipelineExecutionId), nil
}

func (b *bench) stop(ctx context.Context, pipeline, id string, abandon bool) error {
	_, err := b.client.StopPipelineExecution(ctx, &cp.StopPipelineExecutionInput{
		PipelineName: &pipeline, PipelineExecutionId: &id, Abandon: abandon, Reason: aws.String("pwbench"),
	})
	if err != nil {
		return fmt.Errorf("StopPipelineExecution %s %s (abandon=%v): %w", pipeline, id, abandon, err)
	}
	return nil
}

func (b *bench) status(ctx context.Context, pipeline, id string) (types.PipelineExecutionStatus, error) {
	out, err := b.client.GetPipelineExecution(ctx, &cp.GetPipelineExecutionInput{PipelineName: &pipeline, PipelineExecutionId: &id})
	if err != nil {
		return "", fmt.Errorf("GetPipelineExecution %s %s: %w", pipeline, id, err)
	}
	return out.PipelineExecution.Status, nil
}

var errTimeout = errors.New("timed out")

func terminal(s types.PipelineExecutionStatus) bool {
	switch s {
	case types.PipelineExecutionStatusSucceeded, types.PipelineExecutionStatusFailed, types.PipelineExecutionStatusStopped,
		types.PipelineExecutionStatusSuperseded, types.PipelineExecutionStatusCancelled:
		return true
	}
	return false
}

// waitStatus polls GetPipelineExecution every interval (0 = back to back)
// until the execution reaches want; it fails on another terminal status or
// after within. It returns the number of polls.
func (b *bench) waitStatus(ctx context.Context, pipeline, id string, want types.PipelineExecutionStatus, within, interval time.Duration) (int, error) {
	deadline := time.Now().Add(within)
	var last types.PipelineExecutionStatus
	for n := 1; ; n++ {
		st, err := b.status(ctx, pipeline, id)
		if err != nil {
			return n, err
		}
		if st == want {
			return n, nil
		}
		if terminal(st) {
			return n, fmt.Errorf("execution %s of %s ended %s, want %s", id, pipeline, st, want)
		}
		last = st
		if time.Now().After(deadline) {
			return n, fmt.Errorf("execution %s of %s still %s after %v, want %s: %w", id, pipeline, last, within, want, errTimeout)
		}
		if interval > 0 {
			select {
			case <-time.After(interval):
			case <-ctx.Done():
				return n, ctx.Err()
			}
		} else if ctx.Err() != nil {
			return n, ctx.Err()
		}
	}
}

// waitAction waits until the execution's action is InProgress, by
// ListActionExecutions filtered on the execution.
func (b *bench) waitAction(ctx context.Context, pipeline, id, action string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		out, err := b.client.ListActionExecutions(ctx, &cp.ListActionExecutionsInput{PipelineName: &pipeline, Filter: &types.ActionExecutionFilter{PipelineExecutionId: &id}})
		if err != nil {
			return fmt.Errorf("ListActionExecutions %s %s: %w", pipeline, id, err)
		}
		for _, d := range out.ActionExecutionDetails {
			if aws.ToString(d.ActionName) != action {
				continue
			}
			switch d.Status {
			case types.ActionExecutionStatusInProgress:
				return nil
			case types.ActionExecutionStatusFailed, types.ActionExecutionStatusAbandoned, types.ActionExecutionStatusSucceeded:
				return fmt.Errorf("action %s of execution %s ended %s before the bench could act", action, id, d.Status)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("action %s of execution %s of %s not InProgress after %v: %w", action, id, pipeline, within, errTimeout)
		}
		select {
		case <-time.After(5 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// parallel runs n tasks on workers goroutines; the first error cancels the rest.
func parallel(ctx context.Context, workers, n int, task func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		next     int
		firstErr error
		wg       sync.WaitGroup
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if next >= n || firstErr != nil {
					mu.Unlock()
					return
				}
				i := next
				next++
				mu.Unlock()
				if err := task(ctx, i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
						cancel()
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return firstErr
}

// progress prints "what: i/n" at most every 10% of n.
type progress struct {
	mu    sync.Mutex
	what  string
	n     int
	done  int
	start time.Time
	step  int
}

func newProgress(what string, n int) *progress {
	return &progress{what: what, n: n, start: time.Now(), step: max(1, n/10)}
}

func (p *progress) tick() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	if p.done%p.step == 0 || p.done == p.n {
		logf("  %s: %d/%d (%.1fs)", p.what, p.done, p.n, time.Since(p.start).Seconds())
	}
}
