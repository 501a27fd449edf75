package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cp "github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
)

// The breakdowns below use the times the server recorded (millisecond
// precision, same clock as the bench), read through the API after each
// sample's timed window, to tell where a figure's time goes.

// phases collects, per named point, the time from a sample's t0 to it.
type phases struct {
	mu    sync.Mutex
	order []string
	by    map[string]*samples
}

func (p *phases) add(name string, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.by == nil {
		p.by = map[string]*samples{}
	}
	s := p.by[name]
	if s == nil {
		s = &samples{}
		p.by[name] = s
		p.order = append(p.order, name)
	}
	s.add(d)
}

func (p *phases) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var parts []string
	for _, n := range p.order {
		s := p.by[n].summary()
		parts = append(parts, fmt.Sprintf("%s p50 %s / p99 %s", n, ms(s.p50), ms(s.p99)))
	}
	return strings.Join(parts, "; ")
}

// actionTimes is what the server recorded of one action execution.
type actionTimes struct {
	start, updated time.Time
	status         string
}

func (b *bench) actionTimes(ctx context.Context, pipeline, id string) (map[string]actionTimes, error) {
	out, err := b.client.ListActionExecutions(ctx, &cp.ListActionExecutionsInput{PipelineName: &pipeline, Filter: &types.ActionExecutionFilter{PipelineExecutionId: &id}})
	if err != nil {
		return nil, fmt.Errorf("ListActionExecutions: %w", err)
	}
	m := map[string]actionTimes{}
	for _, d := range out.ActionExecutionDetails {
		m[aws.ToString(d.ActionName)] = actionTimes{start: aws.ToTime(d.StartTime), updated: aws.ToTime(d.LastUpdateTime), status: string(d.Status)}
	}
	return m, nil
}

// execUpdated returns the lastUpdateTime of an execution among the
// pipeline's newest 100.
func (b *bench) execUpdated(ctx context.Context, pipeline, id string) (time.Time, error) {
	out, err := b.client.ListPipelineExecutions(ctx, &cp.ListPipelineExecutionsInput{PipelineName: &pipeline, MaxResults: aws.Int32(100)})
	if err != nil {
		return time.Time{}, fmt.Errorf("ListPipelineExecutions: %w", err)
	}
	for _, s := range out.PipelineExecutionSummaries {
		if aws.ToString(s.PipelineExecutionId) == id {
			return aws.ToTime(s.LastUpdateTime), nil
		}
	}
	return time.Time{}, fmt.Errorf("execution %s not among the newest 100 of %s", id, pipeline)
}
