package main

import (
	"slices"
	"strconv"
	"strings"
)

// emitShapes writes a struct per structure and union, the empty structs of
// operations without input or output, and nil-safe getters.
//
// Unset members are omitted from JSON. Lists and maps are omitted only when
// nil (omitzero), so an empty one that a handler sets goes out as [] or {},
// as AWS sends a list or map the service filled in even when it is empty;
// decoding keeps an empty list or map sent by a client non-nil, so it
// round-trips too.
func (g *Generator) emitShapes(w *writer) {
	type decl struct {
		name string
		id   string // "" for an operation's empty input/output
	}
	var decls []decl
	for _, id := range g.sortedTypes(isStruct) {
		decls = append(decls, decl{g.typeNames[id], id})
	}
	for _, o := range g.ops {
		if o.SynthIn {
			decls = append(decls, decl{name: o.InType})
		}
		if o.SynthOu {
			decls = append(decls, decl{name: o.OutType})
		}
	}
	sortBy(decls, func(d decl) string { return d.name })
	for _, d := range decls {
		if d.id == "" || len(g.fields[d.id]) == 0 {
			w.p("type %s struct{}\n", d.name)
			continue
		}
		w.p("type %s struct {", d.name)
		for _, f := range g.fields[d.id] {
			t := g.goType(f.M.Target, true)
			w.usesType(t)
			w.p("%s %s `json:\"%s,%s\"`", f.Name, t, f.JSON, g.omitOption(f.M.Target))
		}
		w.p("}\n")
		for _, f := range g.fields[d.id] {
			if f.Getter != "" {
				g.emitGetter(w, d.name, f)
			}
		}
	}
}

// omitOption is the JSON tag option of a member of shape id: omitzero for
// lists and maps (see emitShapes), omitempty for the rest.
func (g *Generator) omitOption(id string) string {
	switch g.m.Shapes[id].Type {
	case "list", "set", "map":
		return "omitzero"
	}
	return "omitempty"
}

// emitGetter writes the nil-safe getter of a pointer field. Scalars return
// the value or its zero value, timestamps a time.Time, structures the
// pointer (nil when unset), so that calls chain.
func (g *Generator) emitGetter(w *writer, typeName string, f *field) {
	t := strings.TrimPrefix(g.goType(f.M.Target, true), "*")
	s := g.m.Shapes[f.M.Target]
	switch {
	case isStruct(s):
		w.p("func (s *%s) %s() *%s {\n\tif s == nil {\n\t\treturn nil\n\t}\n\treturn s.%s\n}\n", typeName, f.Getter, t, f.Name)
	case s.Type == "timestamp":
		w.use("time")
		w.p("func (s *%s) %s() time.Time {\n\tif s == nil || s.%s == nil {\n\t\treturn time.Time{}\n\t}\n\treturn s.%s.Time()\n}\n",
			typeName, f.Getter, f.Name, f.Name)
	default:
		zero := "0"
		switch t {
		case "bool":
			zero = "false"
		case "string", "json.Number":
			zero = `""`
		default:
			if s.IsEnum() && s.Type != "intEnum" {
				zero = `""`
			}
		}
		w.usesType(t)
		w.p("func (s *%s) %s() %s {\n\tif s == nil || s.%s == nil {\n\t\treturn %s\n\t}\n\treturn *s.%s\n}\n",
			typeName, f.Getter, t, f.Name, zero, f.Name)
	}
}

// emitEnums writes a named type per enum with its constants, Values (model
// order) and IsValid.
func (g *Generator) emitEnums(w *writer) {
	for _, id := range g.sortedTypes((*Shape).IsEnum) {
		s := g.m.Shapes[id]
		name := g.typeNames[id]
		base, quote := "string", strconv.Quote
		if s.Type == "intEnum" {
			base, quote = "int32", func(v string) string { return v }
		}
		w.p("type %s %s\n", name, base)
		var consts []string
		seen := map[string]bool{}
		w.p("const (")
		for _, ev := range s.EnumValues() {
			if seen[ev.Value] {
				g.note("%s: duplicate enum value %q (member %s) skipped", name, ev.Value, ev.Name)
				continue
			}
			seen[ev.Value] = true
			c := g.pkgNames.claim(name + goName(ev.Name))
			consts = append(consts, c)
			w.p("%s %s = %s", c, name, quote(ev.Value))
		}
		w.p(")\n")
		if len(consts) == 0 {
			w.p("func (%s) Values() []%s { return nil }\n", name, name)
			w.p("func (e %s) IsValid() bool { return false }\n", name)
			continue
		}
		list := "\n" + strings.Join(consts, ",\n") + ",\n"
		w.p("func (%s) Values() []%s {\nreturn []%s{%s}\n}\n", name, name, name, list)
		w.p("func (e %s) IsValid() bool {\nswitch e {\ncase %s:\nreturn true\n}\nreturn false\n}\n",
			name, strings.Join(consts, ",\n"))
	}
	for _, r := range g.pkgNames.renamed {
		g.note("enum constant name collision: %s", r)
	}
	g.pkgNames.renamed = nil
}

// sortBy sorts xs by key, keeping the order of equal keys.
func sortBy[T any](xs []T, key func(T) string) {
	slices.SortStableFunc(xs, func(a, b T) int { return strings.Compare(key(a), key(b)) })
}
