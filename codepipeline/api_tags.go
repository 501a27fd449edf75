package codepipeline

import (
	"context"
	"errors"
	"regexp"
	"strings"

	"github.com/pipewright/pipewright/codepipeline/shape"
)

// arnRegion and arnAccount are what the region and account fields of a
// CodePipeline ARN may hold.
var (
	arnRegion  = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	arnAccount = regexp.MustCompile(`^[0-9]{12}$`)
)

// pipelineOfARN returns the pipeline name an ARN of this server names. The
// model's pattern (arn:aws*:codepipeline:.+:[0-9]{12}:.+) lets through ARNs
// whose fields are malformed, such as a 12-digit number in the resource part
// after a non-numeric account; those are InvalidArnException.
func (s *Service) pipelineOfARN(arn string) (string, error) {
	prefix := "arn:aws:codepipeline:" + s.cfg.Region + ":" + s.cfg.AccountID + ":"
	f := strings.SplitN(arn, ":", 6)
	if len(f) < 6 || f[0] != "arn" || f[2] != "codepipeline" || !arnRegion.MatchString(f[3]) || !arnAccount.MatchString(f[4]) || f[5] == "" {
		return "", apiError(excInvalidArn, "The ARN '%s' is not valid", arn)
	}
	name, ok := strings.CutPrefix(arn, prefix)
	if !ok || name == "" || strings.Contains(name, "/") {
		return "", apiError(excResourceNotFound, "The resource with ARN '%s' was not found", arn)
	}
	return name, nil
}

// updateTags changes a pipeline's tags with fn.
func (s *Service) updateTags(ctx context.Context, arn string, fn func([]Tag) ([]Tag, error)) error {
	name, err := s.pipelineOfARN(arn)
	if err != nil {
		return err
	}
	err = s.retryCAS(ctx, func(tx Tx) error {
		p, err := tx.GetPipeline(name)
		if err != nil {
			return err
		}
		if p.Tags, err = fn(p.Tags); err != nil {
			return err
		}
		return tx.UpdatePipeline(p)
	})
	if errors.Is(err, ErrNotFound) {
		return apiError(excResourceNotFound, "The resource with ARN '%s' was not found", arn)
	}
	if err == nil {
		s.wake(name)
	}
	return err
}

// TagResource adds or replaces tags of a pipeline.
func (s *Service) TagResource(ctx context.Context, in *shape.TagResourceInput) (*shape.TagResourceOutput, error) {
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	err := s.updateTags(ctx, in.GetResourceArn(), func(cur []Tag) ([]Tag, error) {
		for _, t := range in.Tags {
			replaced := false
			for i := range cur {
				if cur[i].Key == t.GetKey() {
					cur[i].Value, replaced = t.GetValue(), true
				}
			}
			if !replaced {
				cur = append(cur, Tag{Key: t.GetKey(), Value: t.GetValue()})
			}
		}
		if len(cur) > maxTags {
			return nil, apiError(excTooManyTags, "The number of tags exceeds the limit of %d", maxTags)
		}
		return cur, nil
	})
	if err != nil {
		return nil, err
	}
	return &shape.TagResourceOutput{}, nil
}

// UntagResource removes tags of a pipeline.
func (s *Service) UntagResource(ctx context.Context, in *shape.UntagResourceInput) (*shape.UntagResourceOutput, error) {
	err := s.updateTags(ctx, in.GetResourceArn(), func(cur []Tag) ([]Tag, error) {
		out := cur[:0]
		for _, t := range cur {
			drop := false
			for _, k := range in.TagKeys {
				drop = drop || k == t.Key
			}
			if !drop {
				out = append(out, t)
			}
		}
		return out, nil
	})
	if err != nil {
		return nil, err
	}
	return &shape.UntagResourceOutput{}, nil
}

// ListTagsForResource lists a pipeline's tags in the order they were added,
// maxResults (1 to 100; all of them by default) at a time.
func (s *Service) ListTagsForResource(ctx context.Context, in *shape.ListTagsForResourceInput) (*shape.ListTagsForResourceOutput, error) {
	from, terr := parseSeqToken("tags", in.NextToken)
	if terr != nil {
		return nil, terr
	}
	name, err := s.pipelineOfARN(in.GetResourceArn())
	if err != nil {
		return nil, err
	}
	var p *Pipeline
	err = s.store.View(ctx, func(tx Tx) error {
		var err error
		p, err = tx.GetPipeline(name)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return nil, apiError(excResourceNotFound, "The resource with ARN '%s' was not found", in.GetResourceArn())
	}
	if err != nil {
		return nil, err
	}
	tags := p.Tags[min(int(from), len(p.Tags)):]
	out := &shape.ListTagsForResourceOutput{}
	if in.MaxResults != nil && len(tags) > int(in.GetMaxResults()) {
		tags = tags[:in.GetMaxResults()]
		out.NextToken = seqToken("tags", from+int64(len(tags)))
	}
	out.Tags = fromTags(tags)
	return out, nil
}
