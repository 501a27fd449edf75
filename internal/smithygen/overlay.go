package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// parseAST decodes the shapes of a Smithy JSON AST of a supported version.
func parseAST(data []byte) (map[string]*rawShape, error) {
	var ast struct {
		Smithy string               `json:"smithy"`
		Shapes map[string]*rawShape `json:"shapes"`
	}
	if err := json.Unmarshal(data, &ast); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(ast.Smithy, "2.") && !strings.HasPrefix(ast.Smithy, "1.") {
		return nil, fmt.Errorf("unsupported Smithy AST version %q", ast.Smithy)
	}
	return ast.Shapes, nil
}

// mergeOverlay adds an overlay's shapes to a model's, for members and
// operations a newer model has (AWS's SDKs ship models newer than the
// published Smithy files). An overlay is itself a Smithy JSON AST:
//
//   - a shape the model lacks is added as it is;
//   - a shape the model has must be declared with the same type, and
//     only adds to it: structure, union and enum members, traits, and a
//     service's or resource's operations and resources. A member or trait
//     the model already has is an error, so an overlay never silently
//     changes what the model says (and fails loudly once the model
//     catches up and the overlay entry should go).
func mergeOverlay(base, over map[string]*rawShape) error {
	ids := make([]string, 0, len(over))
	for id := range over {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		o := over[id]
		b, ok := base[id]
		if !ok {
			base[id] = o
			continue
		}
		if o.Type != b.Type {
			return fmt.Errorf("shape %s is a %s in the model, not a %s", id, b.Type, o.Type)
		}
		if o.Member != nil || o.Key != nil || o.Value != nil || o.Input != nil || o.Output != nil {
			return fmt.Errorf("shape %s: an overlay cannot replace the model's list, map or operation targets", id)
		}
		for _, m := range o.Members {
			if slices.ContainsFunc(b.Members, func(x *Member) bool { return x.Name == m.Name }) {
				return fmt.Errorf("shape %s already has member %s", id, m.Name)
			}
			b.Members = append(b.Members, m)
		}
		for k, v := range o.Traits {
			if b.Traits.Has(k) {
				return fmt.Errorf("shape %s already has trait %s", id, k)
			}
			if b.Traits == nil {
				b.Traits = Traits{}
			}
			b.Traits[k] = v
		}
		b.Operations = appendRefs(b.Operations, o.Operations)
		b.Resources = appendRefs(b.Resources, o.Resources)
	}
	return nil
}

// appendRefs adds the references of more that refs lacks.
func appendRefs(refs, more []rawRef) []rawRef {
	for _, r := range more {
		if !slices.Contains(refs, r) {
			refs = append(refs, r)
		}
	}
	return refs
}
