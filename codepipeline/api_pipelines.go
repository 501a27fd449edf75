package codepipeline

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/pipewright/pipewright/codepipeline/shape"
)

const maxTags = 50

// checkTags applies AWS's tag rules.
func checkTags(tags []shape.Tag) error {
	if len(tags) > maxTags {
		return apiError(excTooManyTags, "The number of tags exceeds the limit of %d", maxTags)
	}
	seen := map[string]bool{}
	for _, t := range tags {
		if strings.HasPrefix(strings.ToLower(t.GetKey()), "aws:") {
			return apiError(excInvalidTags, "Tag keys beginning with 'aws:' are reserved for AWS use")
		}
		if seen[t.GetKey()] {
			return apiError(excInvalidTags, "Tag key '%s' appears more than once", t.GetKey())
		}
		seen[t.GetKey()] = true
	}
	return nil
}

func toTags(tags []shape.Tag) []Tag {
	out := make([]Tag, 0, len(tags))
	for _, t := range tags {
		out = append(out, Tag{Key: t.GetKey(), Value: t.GetValue()})
	}
	return out
}

func fromTags(tags []Tag) []shape.Tag {
	out := make([]shape.Tag, 0, len(tags))
	for _, t := range tags {
		out = append(out, shape.Tag{Key: ptr(t.Key), Value: ptr(t.Value)})
	}
	return out
}

// CreatePipeline creates a pipeline and, as AWS does, starts its first
// execution.
func (s *Service) CreatePipeline(ctx context.Context, in *shape.CreatePipelineInput) (*shape.CreatePipelineOutput, error) {
	decl := in.Pipeline
	if err := checkDeclaration(decl, s.cfg.Region); err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	decl.Version = ptr(int32(1))
	raw, err := json.Marshal(decl)
	if err != nil {
		return nil, err
	}
	now := s.now()
	p := &Pipeline{Name: decl.GetName(), Version: 1, Declaration: raw, Created: now, Updated: now, Tags: toTags(in.Tags)}
	e := s.newExecution(p, decl, "CreatePipeline", s.callerARN(ctx))
	if err := e.resolveVariables(decl, nil); err != nil {
		return nil, err
	}
	err = s.store.Update(ctx, func(tx Tx) error {
		if err := tx.CreatePipeline(p); err != nil {
			return err
		}
		return tx.CreateExecution(e)
	})
	if errors.Is(err, ErrExists) {
		return nil, apiError(excPipelineNameInUse, "Pipeline name '%s' is already in use", p.Name)
	}
	if err != nil {
		return nil, err
	}
	s.logExecution(e, "")
	s.wake(p.Name)
	// The tags are echoed as given: absent when the request had none.
	return &shape.CreatePipelineOutput{Pipeline: decl, Tags: in.Tags}, nil
}

// GetPipeline returns a pipeline's declaration, the current one or a given
// version, and its metadata.
func (s *Service) GetPipeline(ctx context.Context, in *shape.GetPipelineInput) (*shape.GetPipelineOutput, error) {
	var p *Pipeline
	var raw json.RawMessage
	err := s.store.View(ctx, func(tx Tx) error {
		var err error
		if p, err = tx.GetPipeline(in.GetName()); err != nil {
			return err
		}
		raw = p.Declaration
		if in.Version != nil && in.GetVersion() != p.Version {
			raw, err = tx.GetPipelineVersion(p.Name, in.GetVersion())
			if errors.Is(err, ErrNotFound) {
				return errVersionNotFound
			}
		}
		return err
	})
	switch {
	case errors.Is(err, errVersionNotFound):
		return nil, apiError(excPipelineVersionNotFound, "Pipeline '%s' does not have version %d", in.GetName(), in.GetVersion())
	case errors.Is(err, ErrNotFound):
		return nil, s.pipelineNotFound(in.GetName())
	case err != nil:
		return nil, err
	}
	var decl shape.PipelineDeclaration
	if err := json.Unmarshal(raw, &decl); err != nil {
		return nil, err
	}
	// Declarations stored before the artifact lists were filled in.
	fillArtifactLists(&decl)
	return &shape.GetPipelineOutput{
		Pipeline: &decl,
		Metadata: &shape.PipelineMetadata{PipelineArn: ptr(s.pipelineARN(p.Name)), Created: ts(p.Created), Updated: ts(p.Updated)},
	}, nil
}

var errVersionNotFound = errors.New("pipeline version not found")

// UpdatePipeline replaces a pipeline's declaration and increments its
// version. Executions of the old version let their running actions finish
// and then end Cancelled.
func (s *Service) UpdatePipeline(ctx context.Context, in *shape.UpdatePipelineInput) (*shape.UpdatePipelineOutput, error) {
	decl := in.Pipeline
	if err := checkDeclaration(decl, s.cfg.Region); err != nil {
		return nil, err
	}
	var notFound bool
	err := s.retryCAS(ctx, func(tx Tx) error {
		p, err := tx.GetPipeline(decl.GetName())
		if errors.Is(err, ErrNotFound) {
			notFound = true
			return nil
		}
		if err != nil {
			return err
		}
		p.Version++
		decl.Version = ptr(p.Version)
		raw, err := json.Marshal(decl)
		if err != nil {
			return err
		}
		p.Declaration = raw
		p.Updated = s.now()
		return tx.UpdatePipeline(p)
	})
	if err != nil {
		return nil, err
	}
	if notFound {
		return nil, s.pipelineNotFound(decl.GetName())
	}
	s.wake(decl.GetName())
	return &shape.UpdatePipelineOutput{Pipeline: decl}, nil
}

// DeletePipeline deletes a pipeline with its history and everything it
// left on disk. The work its running actions started is terminated, and
// work it decided to start but had not started never starts. Deleting a
// missing pipeline succeeds, as on AWS.
func (s *Service) DeletePipeline(ctx context.Context, in *shape.DeletePipelineInput) (*shape.DeletePipelineOutput, error) {
	name := in.GetName()
	err := s.store.Update(ctx, func(tx Tx) error {
		runs, err := tx.ListActionRuns(name, "", 0, 1<<31-1)
		if err != nil {
			return err
		}
		if err := tx.AddArtifactGarbage(outputsOf(runs)); err != nil {
			return err
		}
		return tx.DeletePipeline(name)
	})
	if err != nil {
		return nil, err
	}
	// The records are gone first, so that a job about to start finds its
	// run gone (jobHandler.Wanted); then what runs is stopped.
	s.tasks.cancelPipeline(name)
	if err := s.jobs.DeleteGroup(ctx, jobOwner, name); err != nil {
		s.log.Warn("delete the jobs of a deleted pipeline", "pipeline", name, "err", err)
	}
	if s.cfg.Logs != nil {
		if err := s.cfg.Logs.DeleteGroup(ctx, commandsLogGroup(name)); err != nil {
			s.log.Warn("delete the log group of a deleted pipeline", "pipeline", name, "err", err)
		}
	}
	s.collector.poke()
	s.forgetDefinition(name)
	s.changed(name)
	return &shape.DeletePipelineOutput{}, nil
}

// ListPipelines lists pipelines by name.
func (s *Service) ListPipelines(ctx context.Context, in *shape.ListPipelinesInput) (*shape.ListPipelinesOutput, error) {
	limit := 1000
	if in.MaxResults != nil {
		limit = int(in.GetMaxResults())
	}
	after := ""
	if in.NextToken != nil {
		var ok bool
		if after, ok = parseToken("pipelines", in.GetNextToken()); !ok {
			return nil, apiError(excInvalidNextToken, "The next token is not valid")
		}
	}
	var ps []*Pipeline
	if err := s.store.View(ctx, func(tx Tx) error {
		var err error
		ps, err = tx.ListPipelines(after, limit+1)
		return err
	}); err != nil {
		return nil, err
	}
	out := &shape.ListPipelinesOutput{Pipelines: []shape.PipelineSummary{}}
	if len(ps) > limit {
		ps = ps[:limit]
		out.NextToken = pageToken("pipelines", ps[limit-1].Name)
	}
	for _, p := range ps {
		var decl shape.PipelineDeclaration
		if err := json.Unmarshal(p.Declaration, &decl); err != nil {
			return nil, err
		}
		out.Pipelines = append(out.Pipelines, shape.PipelineSummary{
			Name: ptr(p.Name), Version: ptr(p.Version), PipelineType: decl.PipelineType, ExecutionMode: decl.ExecutionMode,
			Created: ts(p.Created), Updated: ts(p.Updated),
		})
	}
	return out, nil
}

// maxCASAttempts bounds how often an operation re-reads and retries after
// losing a compare-and-set to concurrent writers.
const maxCASAttempts = 20

// retryCAS runs fn in a write transaction, again whenever a compare-and-set
// lost to a concurrent writer. When it keeps losing, the pipeline is busy:
// the caller gets AWS's ConflictException (409) and may try again later.
func (s *Service) retryCAS(ctx context.Context, fn func(Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.store.Update(ctx, fn)
		if !errors.Is(err, ErrConflict) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if attempt == maxCASAttempts {
			return apiError(excConflict, "The pipeline is busy with other changes; try again later")
		}
	}
}
