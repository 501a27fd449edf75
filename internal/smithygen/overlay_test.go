package main

import (
	"strings"
	"testing"
)

const overlayBase = `{"smithy": "2.0", "shapes": {
  "ex#Svc": {"type": "service", "version": "1", "operations": [{"target": "ex#Get"}]},
  "ex#Get": {"type": "operation", "input": {"target": "ex#GetIn"}, "output": {"target": "smithy.api#Unit"}},
  "ex#GetIn": {"type": "structure", "members": {"name": {"target": "smithy.api#String"}}},
  "ex#Kind": {"type": "enum", "members": {"A": {"target": "smithy.api#Unit", "traits": {"smithy.api#enumValue": "A"}}}}
}}`

func TestOverlayAddsMembersShapesAndOperations(t *testing.T) {
	over := `{"smithy": "2.0", "shapes": {
	  "ex#Svc": {"type": "service", "operations": [{"target": "ex#List"}, {"target": "ex#Get"}]},
	  "ex#List": {"type": "operation", "input": {"target": "ex#GetIn"}},
	  "ex#GetIn": {"type": "structure", "members": {"kind": {"target": "ex#Kind"}}},
	  "ex#Kind": {"type": "enum", "members": {"B": {"target": "smithy.api#Unit", "traits": {"smithy.api#enumValue": "B"}}}}
	}}`
	m, err := ParseModel([]byte(overlayBase), []byte(over))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := m.Service()
	if err != nil {
		t.Fatal(err)
	}
	if ops := m.OperationsOf(svc); len(ops) != 2 || ops[0] != "ex#Get" || ops[1] != "ex#List" {
		t.Errorf("operations %v, want ex#Get and ex#List once each", ops)
	}
	in := m.Shapes["ex#GetIn"]
	if len(in.Members) != 2 || in.Members[0].Name != "name" || in.Members[1].Name != "kind" {
		t.Errorf("GetIn members %v, want name then kind", in.Members)
	}
	if vals := m.Shapes["ex#Kind"].EnumValues(); len(vals) != 2 || vals[1].Value != "B" {
		t.Errorf("Kind values %v", vals)
	}
	if _, err := NewGenerator(m, "ex"); err != nil {
		t.Fatal(err)
	}
}

func TestOverlayNeverChangesTheModel(t *testing.T) {
	for _, tt := range []struct{ name, shapes, want string }{
		{"existing member", `"ex#GetIn": {"type": "structure", "members": {"name": {"target": "smithy.api#Integer"}}}`, "already has member name"},
		{"other type", `"ex#GetIn": {"type": "union", "members": {"x": {"target": "smithy.api#String"}}}`, "is a structure in the model"},
		{"existing trait", `"ex#Svc": {"type": "service", "traits": {"smithy.api#documentation": "x"}},
		  "ex#Get": {"type": "operation", "traits": {"smithy.api#documentation": "y"}}`, ""},
		{"new target", `"ex#Get": {"type": "operation", "input": {"target": "ex#Other"}}`, "cannot replace"},
		{"unknown target", `"ex#GetIn": {"type": "structure", "members": {"x": {"target": "ex#Missing"}}}`, "unknown shape ex#Missing"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseModel([]byte(overlayBase), []byte(`{"smithy": "2.0", "shapes": {`+tt.shapes+`}}`))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("new traits must merge: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
	twice := `{"smithy": "2.0", "shapes": {"ex#Get": {"type": "operation", "traits": {"smithy.api#documentation": "y"}}}}`
	if _, err := ParseModel([]byte(overlayBase), []byte(twice), []byte(twice)); err == nil || !strings.Contains(err.Error(), "overlay 2: shape ex#Get already has trait") {
		t.Fatalf("a trait set twice: %v", err)
	}
}
