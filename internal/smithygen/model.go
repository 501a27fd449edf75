package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

// Model is a Smithy JSON AST, reduced to what the generator needs.
type Model struct {
	Shapes map[string]*Shape
}

// Shape is one shape of the model. Which fields are set depends on Type.
type Shape struct {
	ID     string
	Type   string
	Traits Traits

	Members []*Member // structure, union, enum and intEnum members, in model order
	Member  *Member   // list element
	Key     *Member   // map key
	Value   *Member   // map value

	Input, Output string   // operation input/output shape IDs ("" when absent)
	Operations    []string // service/resource operations (all bindings)
	Resources     []string // service/resource child resources
	Rename        map[string]string
}

// Member is a structure member, list element, map key or map value.
type Member struct {
	Name   string
	Target string
	Traits Traits
}

// Traits maps trait shape IDs to their raw JSON values.
type Traits map[string]json.RawMessage

// Trait names the generator reads.
const (
	traitRequired    = "smithy.api#required"
	traitLength      = "smithy.api#length"
	traitRange       = "smithy.api#range"
	traitPattern     = "smithy.api#pattern"
	traitEnum        = "smithy.api#enum"
	traitEnumValue   = "smithy.api#enumValue"
	traitJSONName    = "smithy.api#jsonName"
	traitSigV4       = "aws.auth#sigv4"
	traitTimestampFm = "smithy.api#timestampFormat"
	traitAWSJSON10   = "aws.protocols#awsJson1_0"
	traitAWSJSON11   = "aws.protocols#awsJson1_1"
	unitID           = "smithy.api#Unit"
)

// Has reports whether trait name is applied.
func (t Traits) Has(name string) bool { _, ok := t[name]; return ok }

// StringValue returns a string-valued trait.
func (t Traits) StringValue(name string) (string, bool) {
	raw, ok := t[name]
	if !ok {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// Bounds are the min/max of a length or range trait, as JSON numbers;
// nil when absent.
type Bounds struct {
	Min, Max *json.Number
}

// Bounds decodes a length or range trait.
func (t Traits) Bounds(name string) (Bounds, bool) {
	raw, ok := t[name]
	if !ok {
		return Bounds{}, false
	}
	var b struct {
		Min *json.Number `json:"min"`
		Max *json.Number `json:"max"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&b); err != nil {
		return Bounds{}, false
	}
	return Bounds{Min: b.Min, Max: b.Max}, b.Min != nil || b.Max != nil
}

// EnumDef is one entry of a Smithy 1.0 @enum trait.
type EnumDef struct {
	Value string `json:"value"`
	Name  string `json:"name"`
}

// EnumDefs decodes the @enum trait of a string shape.
func (t Traits) EnumDefs() []EnumDef {
	raw, ok := t[traitEnum]
	if !ok {
		return nil
	}
	var defs []EnumDef
	if err := json.Unmarshal(raw, &defs); err != nil {
		return nil
	}
	return defs
}

// with returns t overlaid with the constraint traits of over: Smithy lets a
// member's own length, range and pattern replace its target's.
func (t Traits) with(over Traits) Traits {
	out := Traits{}
	for k, v := range t {
		out[k] = v
	}
	for _, k := range []string{traitLength, traitRange, traitPattern} {
		if v, ok := over[k]; ok {
			out[k] = v
		}
	}
	return out
}

// hasConstraintOverride reports whether a member carries its own length,
// range or pattern trait.
func (t Traits) hasConstraintOverride() bool {
	return t.Has(traitLength) || t.Has(traitRange) || t.Has(traitPattern)
}

// LoadModel reads a Smithy JSON AST file and merges the overlay files
// into it (see ParseModel).
func LoadModel(path string, overlays ...string) (*Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var over [][]byte
	for _, o := range overlays {
		b, err := os.ReadFile(o)
		if err != nil {
			return nil, err
		}
		over = append(over, b)
	}
	return ParseModel(data, over...)
}

type rawRef struct {
	Target string `json:"target"`
}

type rawMember struct {
	Target string `json:"target"`
	Traits Traits `json:"traits"`
}

// orderedMembers decodes a JSON object of members keeping the key order,
// which is the model's member order.
type orderedMembers []*Member

func (o *orderedMembers) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fmt.Errorf("members must be an object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		var m rawMember
		if err := dec.Decode(&m); err != nil {
			return err
		}
		*o = append(*o, &Member{Name: tok.(string), Target: m.Target, Traits: m.Traits})
	}
	return nil
}

type rawShape struct {
	Type       string            `json:"type"`
	Traits     Traits            `json:"traits"`
	Members    orderedMembers    `json:"members"`
	Member     *rawMember        `json:"member"`
	Key        *rawMember        `json:"key"`
	Value      *rawMember        `json:"value"`
	Input      *rawRef           `json:"input"`
	Output     *rawRef           `json:"output"`
	Operations []rawRef          `json:"operations"`
	Resources  []rawRef          `json:"resources"`
	Rename     map[string]string `json:"rename"`
	Mixins     []rawRef          `json:"mixins"`

	// Resource lifecycle and collection operations.
	Create, Put, Read, Update, Delete, List *rawRef
	CollectionOperations                    []rawRef `json:"collectionOperations"`
}

// ParseModel parses a Smithy JSON AST, merges the overlays into it (see
// mergeOverlay) and adds the prelude shapes members may target
// (smithy.api#String and friends).
func ParseModel(data []byte, overlays ...[]byte) (*Model, error) {
	shapes, err := parseAST(data)
	if err != nil {
		return nil, fmt.Errorf("parse model: %w", err)
	}
	for i, o := range overlays {
		over, err := parseAST(o)
		if err != nil {
			return nil, fmt.Errorf("parse overlay %d: %w", i+1, err)
		}
		if err := mergeOverlay(shapes, over); err != nil {
			return nil, fmt.Errorf("overlay %d: %w", i+1, err)
		}
	}
	m := &Model{Shapes: map[string]*Shape{}}
	for id, typ := range preludeShapes {
		m.Shapes[id] = &Shape{ID: id, Type: typ}
	}
	for id, r := range shapes {
		if len(r.Mixins) > 0 {
			return nil, fmt.Errorf("shape %s uses mixins, which the generator does not flatten; use a flattened (built) model", id)
		}
		if r.Type == "apply" {
			continue
		}
		s := &Shape{ID: id, Type: r.Type, Traits: r.Traits, Members: r.Members, Rename: r.Rename}
		mem := func(rm *rawMember, name string) *Member {
			if rm == nil {
				return nil
			}
			return &Member{Name: name, Target: rm.Target, Traits: rm.Traits}
		}
		s.Member, s.Key, s.Value = mem(r.Member, "member"), mem(r.Key, "key"), mem(r.Value, "value")
		if r.Input != nil {
			s.Input = r.Input.Target
		}
		if r.Output != nil {
			s.Output = r.Output.Target
		}
		for _, ref := range append(r.Operations, r.CollectionOperations...) {
			s.Operations = append(s.Operations, ref.Target)
		}
		for _, ref := range []*rawRef{r.Create, r.Put, r.Read, r.Update, r.Delete, r.List} {
			if ref != nil {
				s.Operations = append(s.Operations, ref.Target)
			}
		}
		for _, ref := range r.Resources {
			s.Resources = append(s.Resources, ref.Target)
		}
		m.Shapes[id] = s
	}
	for _, s := range m.Shapes {
		for _, mem := range s.allMembers() {
			if _, ok := m.Shapes[mem.Target]; !ok {
				return nil, fmt.Errorf("shape %s member %s targets unknown shape %s", s.ID, mem.Name, mem.Target)
			}
		}
	}
	return m, nil
}

// preludeShapes are the smithy.api shapes models target without defining.
var preludeShapes = map[string]string{
	"smithy.api#String": "string", "smithy.api#Blob": "blob", "smithy.api#Boolean": "boolean",
	"smithy.api#PrimitiveBoolean": "boolean", "smithy.api#Byte": "byte", "smithy.api#PrimitiveByte": "byte",
	"smithy.api#Short": "short", "smithy.api#PrimitiveShort": "short", "smithy.api#Integer": "integer",
	"smithy.api#PrimitiveInteger": "integer", "smithy.api#Long": "long", "smithy.api#PrimitiveLong": "long",
	"smithy.api#Float": "float", "smithy.api#PrimitiveFloat": "float", "smithy.api#Double": "double",
	"smithy.api#PrimitiveDouble": "double", "smithy.api#BigInteger": "bigInteger",
	"smithy.api#BigDecimal": "bigDecimal", "smithy.api#Timestamp": "timestamp",
	"smithy.api#Document": "document", unitID: "structure",
}

// allMembers returns every member-like reference of an aggregate shape.
func (s *Shape) allMembers() []*Member {
	if s.Type == "enum" || s.Type == "intEnum" {
		return nil // enum members all target smithy.api#Unit
	}
	out := append([]*Member(nil), s.Members...)
	for _, m := range []*Member{s.Member, s.Key, s.Value} {
		if m != nil {
			out = append(out, m)
		}
	}
	return out
}

// localName is the part of a shape ID after '#'.
func localName(id string) string {
	if i := strings.LastIndexByte(id, '#'); i >= 0 {
		return id[i+1:]
	}
	return id
}

// Service returns the model's single service shape.
func (m *Model) Service() (*Shape, error) {
	var found []*Shape
	for _, s := range m.Shapes {
		if s.Type == "service" {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		return nil, fmt.Errorf("model has %d service shapes, want exactly 1", len(found))
	}
	return found[0], nil
}

// OperationsOf returns the IDs of every operation bound to the service,
// directly or through its resources, sorted by operation name.
func (m *Model) OperationsOf(svc *Shape) []string {
	seen := map[string]bool{}
	var walk func(s *Shape)
	walk = func(s *Shape) {
		for _, id := range s.Operations {
			seen[id] = true
		}
		for _, id := range s.Resources {
			if r, ok := m.Shapes[id]; ok {
				walk(r)
			}
		}
	}
	walk(svc)
	ids := make([]string, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		if a, b := localName(ids[i]), localName(ids[j]); a != b {
			return a < b
		}
		return ids[i] < ids[j]
	})
	return ids
}

// IsEnum reports whether s is an enum shape or a string with the @enum trait.
func (s *Shape) IsEnum() bool {
	return s.Type == "enum" || s.Type == "intEnum" || (s.Type == "string" && s.Traits.Has(traitEnum))
}

// EnumValue is one value of an enum with the member name its Go constant is
// derived from.
type EnumValue struct {
	Name  string
	Value string // the wire value; decimal text for intEnum
}

// EnumValues lists an enum's values in model order.
func (s *Shape) EnumValues() []EnumValue {
	var out []EnumValue
	switch {
	case s.Type == "enum" || s.Type == "intEnum":
		for _, m := range s.Members {
			v := m.Name
			if raw, ok := m.Traits[traitEnumValue]; ok {
				var str string
				if json.Unmarshal(raw, &str) == nil {
					v = str
				} else {
					v = strings.TrimSpace(string(raw))
				}
			}
			out = append(out, EnumValue{Name: m.Name, Value: v})
		}
	default:
		for _, d := range s.Traits.EnumDefs() {
			name := d.Name
			if name == "" {
				name = d.Value
			}
			out = append(out, EnumValue{Name: name, Value: d.Value})
		}
	}
	return out
}
