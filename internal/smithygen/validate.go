package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// validation generates the checks of operation inputs: one function per
// shape (or per member overriding its target's constraints) that needs
// any, emitted only when reachable from an input.
type validation struct {
	g     *Generator
	needs map[string]bool // aggregate shapes whose contents need checking

	names    *namespace          // unexported package-level identifiers
	funcs    map[string]*checkFn // by key: shape ID, or owner ID + "$" + member name
	queue    []*checkFn
	patterns map[string]*patternVar // by model text
}

// checkFn is one generated check function
// func name(v *wire.Validator, p string, x param).
type checkFn struct {
	name   string
	shape  *Shape
	traits Traits // the effective constraint traits
	param  string // Go type of x
	str    string // x as a string, for length and pattern checks
	typed  string // x as the shape's Go type, for enum and range checks
}

// patternVar is a package-level compiled pattern.
type patternVar struct {
	name     string
	text     string // as in the model
	re2      string // translation, "" when identical to text
	skipped  bool   // RE2 cannot express it
	reason   string
	firstUse string
}

// Reserved unexported names used by zz_operations.go.
var reservedUnexported = []string{"makeOp", "inputPtr"}

func newValidation(g *Generator) *validation {
	v := &validation{g: g, needs: map[string]bool{}, names: newNamespace(reservedUnexported...),
		funcs: map[string]*checkFn{}, patterns: map[string]*patternVar{}}
	ids := make([]string, 0, len(g.reachable))
	for id := range g.reachable {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for changed := true; changed; {
		changed = false
		for _, id := range ids {
			if !v.needs[id] && v.contentsNeedChecks(g.m.Shapes[id]) {
				v.needs[id], changed = true, true
			}
		}
	}
	return v
}

// contentsNeedChecks reports whether anything inside an aggregate value
// has a constraint, given what is known so far about the shapes it holds.
func (v *validation) contentsNeedChecks(s *Shape) bool {
	switch s.Type {
	case "structure", "union":
		for _, m := range s.Members {
			if (s.Type == "structure" && m.Traits.Has(traitRequired)) || v.memberNeedsChecks(m) {
				return true
			}
		}
	case "list", "set":
		return v.memberNeedsChecks(s.Member)
	case "map":
		return v.memberNeedsChecks(s.Key) || v.memberNeedsChecks(s.Value)
	}
	return false
}

func (v *validation) memberNeedsChecks(m *Member) bool {
	t := v.g.m.Shapes[m.Target]
	return hasOwnChecks(t, t.Traits.with(m.Traits)) || v.needs[t.ID]
}

// hasOwnChecks reports whether a value of shape s, under the effective
// traits tr, has constraints of its own (not counting its contents).
func hasOwnChecks(s *Shape, tr Traits) bool {
	switch s.Type {
	case "string", "enum":
		return tr.Has(traitLength) || tr.Has(traitPattern) || s.IsEnum()
	case "intEnum":
		return true
	case "byte", "short", "integer", "long", "float", "double":
		return tr.Has(traitRange)
	case "blob", "list", "set", "map":
		return tr.Has(traitLength)
	}
	return false
}

// checker returns the function expression that checks a member's value
// (own constraints and contents), or "" when there is nothing to check. A
// member that overrides its target's constraints gets its own function,
// keyed by the owner shape's ID and named after ownerName and the member.
func (v *validation) checker(m *Member, ownerID, ownerName string) string {
	t := v.g.m.Shapes[m.Target]
	if !m.Traits.hasConstraintOverride() {
		return v.shapeChecker(t)
	}
	eff := t.Traits.with(m.Traits)
	if !hasOwnChecks(t, eff) && !v.needs[t.ID] {
		return ""
	}
	return v.function(ownerID+"$"+m.Name, "check"+ownerName+goName(m.Name), t, eff, "")
}

// shapeChecker returns the function expression checking values of shape t.
func (v *validation) shapeChecker(t *Shape) string {
	if !hasOwnChecks(t, t.Traits) && !v.needs[t.ID] {
		return ""
	}
	if t.IsEnum() && !t.Traits.Has(traitLength) && !t.Traits.Has(traitPattern) && !t.Traits.Has(traitRange) {
		return "wire.CheckEnum[" + v.g.typeNames[t.ID] + "]"
	}
	return v.function(t.ID, "check"+goName(v.g.shapeName(t.ID)), t, t.Traits, "")
}

// keyChecker returns the function checking the keys of map s, which take
// a string even when the key shape is an enum.
func (v *validation) keyChecker(s *Shape) string {
	k := s.Key
	t := v.g.m.Shapes[k.Target]
	if !t.IsEnum() {
		return v.checker(k, s.ID, goName(v.g.shapeName(s.ID)))
	}
	eff := t.Traits.with(k.Traits)
	return v.function(s.ID+"$key", "check"+goName(v.g.shapeName(s.ID))+"Key", t, eff, "string")
}

// function registers (once per key) a check function and returns its name.
// param overrides the Go type of x (used for enum map keys).
func (v *validation) function(key, want string, t *Shape, tr Traits, param string) string {
	if f, ok := v.funcs[key]; ok {
		return f.name
	}
	f := &checkFn{name: v.names.claim(want), shape: t, traits: tr, str: "x", typed: "x"}
	typ := v.g.goType(t.ID, false)
	switch {
	case param != "":
		f.param, f.typed = param, typ+"(x)"
	case isStruct(t):
		f.param = "*" + typ
	default:
		f.param = typ
		if t.IsEnum() {
			f.str = "string(x)"
		}
	}
	v.funcs[key] = f
	v.queue = append(v.queue, f)
	return f.name
}

// emitValidators writes the Validate method of every operation input and
// the check functions and patterns they use.
func (g *Generator) emitValidators(w *writer) {
	v := g.v
	w.use(wireImport)
	type input struct{ typ, check string }
	var inputs []input
	done := map[string]bool{}
	for _, o := range g.ops {
		if done[o.InType] {
			continue
		}
		done[o.InType] = true
		in := input{typ: o.InType}
		if o.Input != "" {
			in.check = v.shapeChecker(g.m.Shapes[o.Input])
		}
		inputs = append(inputs, in)
	}
	sortBy(inputs, func(in input) string { return in.typ })

	bodies := map[string]string{}
	for len(v.queue) > 0 {
		f := v.queue[0]
		v.queue = v.queue[1:]
		bodies[f.name] = v.body(f)
	}

	if len(v.patterns) > 0 {
		pats := make([]*patternVar, 0, len(v.patterns))
		for _, p := range v.patterns {
			pats = append(pats, p)
		}
		sortBy(pats, func(p *patternVar) string { return goName(p.firstUse) + "\x00" + p.text })
		w.p("// Patterns of the model, compiled once. Smithy patterns are ECMA-262 and")
		w.p("// unanchored; the second argument is the RE2 translation where it differs.")
		w.p("var (")
		for _, p := range pats {
			if p.skipped {
				w.p("// %s: pattern %s is not enforced: RE2 cannot express it.", p.firstUse, strconv.Quote(p.text))
				continue
			}
			re2 := `""`
			if p.re2 != "" {
				re2 = goString(p.re2)
			}
			w.p("%s = wire.NewPattern(%s, %s)", p.name, goString(p.text), re2)
		}
		w.p(")\n")
	}

	w.p("// Validate methods check an operation input against the model's")
	w.p("// constraints (required members, lengths, ranges, patterns, enums) and")
	w.p("// return nil or a ValidationException listing every violation.")
	for _, in := range inputs {
		if in.check == "" {
			w.p("func (s *%s) Validate() error { return nil }\n", in.typ)
			continue
		}
		w.p("func (s *%s) Validate() error {\n\tvar v wire.Validator\n\t%s(&v, \"\", s)\n\treturn v.Err()\n}\n", in.typ, in.check)
	}

	names := make([]string, 0, len(bodies))
	for n := range bodies {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		w.p("%s", bodies[n])
	}
}

// body renders a check function: the value's own constraints, then its
// contents.
func (v *validation) body(f *checkFn) string {
	var b strings.Builder
	fmt.Fprintf(&b, "func %s(v *wire.Validator, p string, x %s) {\n", f.name, f.param)
	v.ownChecks(&b, f)
	v.contents(&b, f.shape)
	b.WriteString("}\n")
	return b.String()
}

// ownChecks writes the checks of the value itself.
func (v *validation) ownChecks(b *strings.Builder, f *checkFn) {
	s, tr := f.shape, f.traits
	switch s.Type {
	case "string", "enum":
		if bounds, ok := tr.Bounds(traitLength); ok {
			v.lengthChecks(b, f, bounds, "v.MinLength(p, "+f.str+", %s)", "v.MaxLength(p, "+f.str+", %s)")
		}
		if text, ok := tr.StringValue(traitPattern); ok {
			p := v.pattern(text, v.g.shapeName(s.ID))
			if p.skipped {
				fmt.Fprintf(b, "\t// Pattern %s is not enforced: RE2 cannot express it.\n", strconv.Quote(text))
			} else {
				fmt.Fprintf(b, "\tv.Pattern(p, %s, %s)\n", f.str, p.name)
			}
		}
		if s.IsEnum() {
			fmt.Fprintf(b, "\twire.CheckEnum(v, p, %s)\n", f.typed)
		}
	case "intEnum", "byte", "short", "integer", "long":
		if bounds, ok := tr.Bounds(traitRange); ok {
			for _, bd := range []struct {
				n    *json.Number
				kind string
			}{{bounds.Max, "Max"}, {bounds.Min, "Min"}} {
				if bd.n == nil {
					continue
				}
				if i, err := bd.n.Int64(); err == nil {
					fmt.Fprintf(b, "\tv.%sInt(p, int64(%s), %d)\n", bd.kind, f.typed, i)
				} else if _, err := bd.n.Float64(); err == nil {
					fmt.Fprintf(b, "\tv.%sFloat(p, float64(%s), %s)\n", bd.kind, f.typed, bd.n)
				}
			}
		}
		if s.Type == "intEnum" {
			fmt.Fprintf(b, "\twire.CheckEnum(v, p, %s)\n", f.typed)
		}
	case "float", "double":
		if bounds, ok := tr.Bounds(traitRange); ok {
			if bounds.Max != nil {
				fmt.Fprintf(b, "\tv.MaxFloat(p, float64(%s), %s)\n", f.typed, bounds.Max.String())
			}
			if bounds.Min != nil {
				fmt.Fprintf(b, "\tv.MinFloat(p, float64(%s), %s)\n", f.typed, bounds.Min.String())
			}
		}
	case "blob", "list", "set", "map":
		if bounds, ok := tr.Bounds(traitLength); ok {
			v.lengthChecks(b, f, bounds, "v.MinCount(p, len(x), %s)", "v.MaxCount(p, len(x), %s)")
		}
	}
}

// lengthChecks writes the max and min checks of a length trait, which must
// be integers. Like range checks, they come in the order AWS lists a
// member's constraints (the upper bound first, then the lower, then the
// pattern), which is the order the constraints of map keys and values are
// listed in (wire.MapKeys).
func (v *validation) lengthChecks(b *strings.Builder, f *checkFn, bounds Bounds, minFmt, maxFmt string) {
	for _, bd := range []struct {
		n   *json.Number
		fmt string
	}{{bounds.Max, maxFmt}, {bounds.Min, minFmt}} {
		if bd.n == nil {
			continue
		}
		i, err := bd.n.Int64()
		if err != nil || i < 0 {
			v.g.note("shape %s: length bound %s is not a non-negative integer; ignored", f.shape.ID, bd.n)
			continue
		}
		if i == 0 && bd.fmt == minFmt {
			continue // every length is >= 0
		}
		fmt.Fprintf(b, "\t"+bd.fmt+"\n", strconv.FormatInt(i, 10))
	}
}

// contents writes the checks of what an aggregate value holds.
func (v *validation) contents(b *strings.Builder, s *Shape) {
	owner := goName(v.g.shapeName(s.ID))
	switch s.Type {
	case "structure", "union":
		for _, f := range v.g.fields[s.ID] {
			m := f.M
			t := v.g.m.Shapes[m.Target]
			req := s.Type == "structure" && m.Traits.Has(traitRequired)
			fn := v.checker(m, s.ID, owner)
			if fn == "" && !req {
				continue
			}
			path := fmt.Sprintf("wire.Join(p, %s)", strconv.Quote(f.JSON))
			if fn == "" {
				fn = "nil"
			}
			switch t.Type {
			case "structure", "union":
				fmt.Fprintf(b, "\twire.Struct(v, %s, x.%s, %t, %s)\n", path, f.Name, req, fn)
			case "list", "set", "blob":
				fmt.Fprintf(b, "\twire.Slice(v, %s, x.%s, %t, %s)\n", path, f.Name, req, fn)
			case "map":
				fmt.Fprintf(b, "\twire.Map(v, %s, x.%s, %t, %s)\n", path, f.Name, req, fn)
			case "document":
				fmt.Fprintf(b, "\tif len(x.%s) == 0 || string(x.%s) == \"null\" {\n\t\tv.Null(%s)\n\t}\n", f.Name, f.Name, path)
			default:
				fmt.Fprintf(b, "\twire.Scalar(v, %s, x.%s, %t, %s)\n", path, f.Name, req, fn)
			}
		}
	case "list", "set":
		fn := v.checker(s.Member, s.ID, owner)
		if fn == "" {
			return
		}
		elem := "x[i]"
		if isStruct(v.g.m.Shapes[s.Member.Target]) {
			elem = "&x[i]"
		}
		fmt.Fprintf(b, "\tfor i := range x {\n\t\t%s(v, wire.Index(p, i), %s)\n\t}\n", fn, elem)
	case "map":
		if fn := v.keyChecker(s); fn != "" {
			fmt.Fprintf(b, "\twire.MapKeys(v, p, x, %s)\n", fn)
		}
		fn := v.checker(s.Value, s.ID, owner)
		if fn == "" {
			return
		}
		if isStruct(v.g.m.Shapes[s.Value.Target]) {
			fmt.Fprintf(b, "\tfor _, k := range wire.SortedKeys(x) {\n\t\te := x[k]\n\t\t%s(v, wire.Join(p, k), &e)\n\t}\n", fn)
		} else {
			fmt.Fprintf(b, "\twire.MapValues(v, p, x, %s)\n", fn)
		}
	}
}

// pattern returns the package-level variable of a model pattern, creating
// it on first use (named after the first shape using it).
func (v *validation) pattern(text, shape string) *patternVar {
	if p, ok := v.patterns[text]; ok {
		return p
	}
	p := &patternVar{text: text, firstUse: shape}
	re2, err := translatePattern(text)
	switch {
	case err != nil:
		p.skipped, p.reason = true, err.Error()
		v.g.Skipped = append(v.g.Skipped, fmt.Sprintf("%s: %s (%s)", shape, text, p.reason))
		v.g.note("shape %s: pattern %s is not enforced: %s", shape, text, p.reason)
	case re2 != text:
		p.re2 = re2
	}
	if !p.skipped {
		p.name = v.names.claim("pattern" + goName(shape))
	}
	v.patterns[text] = p
	return p
}

// goString quotes s as a Go raw string when possible, else interpreted.
func goString(s string) string {
	if !strings.ContainsAny(s, "`\r") && !strings.ContainsFunc(s, func(r rune) bool { return r < ' ' && r != '\t' }) {
		return "`" + s + "`"
	}
	return strconv.Quote(s)
}
