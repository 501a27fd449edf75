package codedeploy

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/pipewright/pipewright/codedeploy/shape"
)

// withTags reads the record of the resource an ARN names and gives fn its
// tags; when write is set the record is stored with the tags fn left.
func (s *Service) withTags(ctx context.Context, arn *string, write bool, fn func(tags *[]shape.Tag) error) error {
	if arn == nil || *arn == "" {
		return apiError(excResourceArnRequired, "The ARN of a resource must be specified")
	}
	k, ok, supported := s.resourceOf(*arn)
	if !ok {
		return apiError(excInvalidArn, "The ARN %s is not a CodeDeploy resource's of region %s and account %s", *arn, s.cfg.Region, s.cfg.AccountID)
	}
	if !supported {
		return apiError(excArnNotSupported, "Only applications, deployment groups and deployment configs have tags: %s", *arn)
	}
	run := s.view
	if write {
		run = s.update
	}
	err := run(ctx, func(tx Tx) error {
		var doc any
		var tags *[]shape.Tag
		var r *Record
		switch k.Kind {
		case KindApplication:
			a, rec, err := getApp(tx, k.Name)
			if err != nil {
				return err
			}
			doc, tags, r = a, &a.Tags, rec
		case KindGroup:
			g, rec, err := getGroup(tx, k.Scope, k.Name)
			if err != nil {
				return err
			}
			g.ApplicationName = nil
			doc, tags, r = g, &g.Tags, rec
		case KindConfig:
			if slices.Contains(builtinNames, k.Name) {
				if write {
					return apiError(excInvalidConfigName, "The built-in deployment configuration %s cannot be tagged", k.Name)
				}
				return fn(new([]shape.Tag))
			}
			c, rec, err := getConfig(tx, k.Name)
			if err != nil {
				return err
			}
			doc, tags, r = c, &c.Tags, rec
		}
		if err := fn(tags); err != nil || !write {
			return err
		}
		if len(*tags) > maxTags {
			return apiError(excInvalidTagsToAdd, "A resource has at most %d tags", maxTags)
		}
		b, err := json.Marshal(doc)
		if err != nil {
			return err
		}
		r.Doc = b
		return tx.Put(r)
	})
	// ListTagsForResource's model has no error for a resource that does
	// not exist (TagResource's and UntagResource's do): its ARN names none.
	if !write && (isCode(err, excApplicationDoesNotExist) || isCode(err, excGroupDoesNotExist) || isCode(err, excConfigDoesNotExist)) {
		return apiError(excInvalidArn, "The ARN %s names no existing resource", *arn)
	}
	return err
}

// TagResource sets tags on an application, deployment group or custom
// deployment config.
func (s *Service) TagResource(ctx context.Context, in *shape.TagResourceInput) (*shape.TagResourceOutput, error) {
	if len(in.Tags) == 0 {
		return nil, apiError(excTagRequired, "At least one tag must be specified")
	}
	if err := checkTags(in.Tags, excInvalidTagsToAdd); err != nil {
		return nil, err
	}
	err := s.withTags(ctx, in.ResourceArn, true, func(tags *[]shape.Tag) error {
		*tags = mergeTags(*tags, in.Tags)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &shape.TagResourceOutput{}, nil
}

// UntagResource removes the tags of the given keys.
func (s *Service) UntagResource(ctx context.Context, in *shape.UntagResourceInput) (*shape.UntagResourceOutput, error) {
	if len(in.TagKeys) == 0 {
		return nil, apiError(excTagRequired, "At least one tag key must be specified")
	}
	err := s.withTags(ctx, in.ResourceArn, true, func(tags *[]shape.Tag) error {
		*tags = dropTags(*tags, in.TagKeys)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &shape.UntagResourceOutput{}, nil
}

// ListTagsForResource answers a resource's tags, all in one page.
func (s *Service) ListTagsForResource(ctx context.Context, in *shape.ListTagsForResourceInput) (*shape.ListTagsForResourceOutput, error) {
	out := &shape.ListTagsForResourceOutput{Tags: []shape.Tag{}}
	err := s.withTags(ctx, in.ResourceArn, false, func(tags *[]shape.Tag) error {
		out.Tags = append(out.Tags, *tags...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
