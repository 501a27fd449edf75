package codepipeline

import (
	"context"

	"github.com/pipewright/pipewright/codepipeline/shape"
)

// ListActionTypes lists the action types pipewright accepts in pipelines.
func (s *Service) ListActionTypes(ctx context.Context, in *shape.ListActionTypesInput) (*shape.ListActionTypesOutput, error) {
	if in.NextToken != nil {
		return nil, apiError(excInvalidNextToken, "The next token is not valid")
	}
	out := &shape.ListActionTypesOutput{ActionTypes: []shape.ActionType{}}
	for _, t := range actionTypes {
		if in.ActionOwnerFilter != nil && string(in.GetActionOwnerFilter()) != t.id.Owner {
			continue
		}
		at := shape.ActionType{
			Id:                    &shape.ActionTypeId{Category: ptr(shape.ActionCategory(t.id.Category)), Owner: ptr(shape.ActionOwner(t.id.Owner)), Provider: ptr(t.id.Provider), Version: ptr(t.id.Version)},
			InputArtifactDetails:  &shape.ArtifactDetails{MinimumCount: ptr(int32(t.minIn)), MaximumCount: ptr(int32(t.maxIn))},
			OutputArtifactDetails: &shape.ArtifactDetails{MinimumCount: ptr(int32(t.minOut)), MaximumCount: ptr(int32(t.maxOut))},
			// A type without configuration properties has [] of them.
			ActionConfigurationProperties: make([]shape.ActionConfigurationProperty, 0, len(t.config)),
		}
		for _, p := range t.config {
			at.ActionConfigurationProperties = append(at.ActionConfigurationProperties, shape.ActionConfigurationProperty{
				Name: ptr(p.name), Required: ptr(p.required), Key: ptr(p.key), Secret: ptr(p.secret), Queryable: ptr(p.queryable),
				Type: ptr(shape.ActionConfigurationPropertyTypeString),
			})
		}
		out.ActionTypes = append(out.ActionTypes, at)
	}
	return out, nil
}
