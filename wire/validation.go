package wire

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Validator collects the constraint violations found while validating one
// request and renders them as AWS does in a ValidationException. Generated
// validators walk the input depth first in model member order, so the
// violations come out in that order. The zero value is ready to use.
type Validator struct {
	violations []violation
	// listing makes every check report its constraint whether or not the
	// value breaks it, to list the constraints of a map's keys or values
	// (see constraintsOf).
	listing bool
}

// fails reports whether a check must report its constraint: when the value
// breaks it, or always while listing constraints.
func (v *Validator) fails(broken bool) bool { return broken || v.listing }

// violation is one failed constraint at one path.
type violation struct {
	path       string
	value      string
	kind       valueKind
	constraint string
}

// valueKind says how a violation renders the offending value.
type valueKind uint8

const (
	scalarValue    valueKind = iota // Value 'text' at 'path'
	nullValue                       // Value null at 'path'
	aggregateValue                  // Value at 'path' (lists, maps, structures, blobs)
)

func (x violation) String() string {
	var b strings.Builder
	switch x.kind {
	case nullValue:
		b.WriteString("Value null at '")
	case aggregateValue:
		b.WriteString("Value at '")
	default:
		b.WriteString("Value '")
		b.WriteString(x.value)
		b.WriteString("' at '")
	}
	b.WriteString(x.path)
	b.WriteString("' failed to satisfy constraint: ")
	b.WriteString(x.constraint)
	return b.String()
}

// Null reports a required member that is missing (or JSON null) at path.
func (v *Validator) Null(path string) {
	v.violations = append(v.violations, violation{path: path, kind: nullValue, constraint: "Member must not be null"})
}

// Invalid reports that the scalar value (already rendered as text) at path
// breaks constraint, e.g. "Member must have length less than or equal to 5".
func (v *Validator) Invalid(path, value, constraint string) {
	v.violations = append(v.violations, violation{path: path, value: value, constraint: constraint})
}

// InvalidAggregate reports that the list, map, structure or blob at path
// breaks constraint; AWS does not echo such values.
func (v *Validator) InvalidAggregate(path, constraint string) {
	v.violations = append(v.violations, violation{path: path, kind: aggregateValue, constraint: constraint})
}

// Len returns the number of violations collected so far.
func (v *Validator) Len() int { return len(v.violations) }

// Err returns nil when no violation was collected, else a ValidationException
// (HTTP 400) whose message lists every violation, e.g.
// "2 validation errors detected: Value null at 'a' failed to satisfy
// constraint: Member must not be null; Value '0' at 'b' failed ...".
func (v *Validator) Err() error {
	n := len(v.violations)
	if n == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString(strconv.Itoa(n))
	if n == 1 {
		b.WriteString(" validation error detected: ")
	} else {
		b.WriteString(" validation errors detected: ")
	}
	for i, x := range v.violations {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(x.String())
	}
	e := NewError(CodeValidation, b.String())
	for _, x := range v.violations {
		e.Paths = append(e.Paths, x.path)
	}
	return e
}

// MinLength checks that the string s has at least min Unicode characters.
func (v *Validator) MinLength(path, s string, min int) {
	if v.fails(utf8.RuneCountInString(s) < min) {
		v.Invalid(path, s, "Member must have length greater than or equal to "+strconv.Itoa(min))
	}
}

// MaxLength checks that the string s has at most max Unicode characters.
func (v *Validator) MaxLength(path, s string, max int) {
	if v.fails(utf8.RuneCountInString(s) > max) {
		v.Invalid(path, s, "Member must have length less than or equal to "+strconv.Itoa(max))
	}
}

// MinCount checks the length of a list, map or blob: its n entries (bytes
// for a blob) must be at least min.
func (v *Validator) MinCount(path string, n, min int) {
	if v.fails(n < min) {
		v.InvalidAggregate(path, "Member must have length greater than or equal to "+strconv.Itoa(min))
	}
}

// MaxCount checks the length of a list, map or blob: its n entries (bytes
// for a blob) must be at most max.
func (v *Validator) MaxCount(path string, n, max int) {
	if v.fails(n > max) {
		v.InvalidAggregate(path, "Member must have length less than or equal to "+strconv.Itoa(max))
	}
}

// MinInt checks that the integer x is at least min.
func (v *Validator) MinInt(path string, x, min int64) {
	if v.fails(x < min) {
		v.Invalid(path, strconv.FormatInt(x, 10), "Member must have value greater than or equal to "+strconv.FormatInt(min, 10))
	}
}

// MaxInt checks that the integer x is at most max.
func (v *Validator) MaxInt(path string, x, max int64) {
	if v.fails(x > max) {
		v.Invalid(path, strconv.FormatInt(x, 10), "Member must have value less than or equal to "+strconv.FormatInt(max, 10))
	}
}

// MinFloat checks that the number x is at least min.
func (v *Validator) MinFloat(path string, x, min float64) {
	if v.fails(x < min || math.IsNaN(x)) {
		v.Invalid(path, formatFloatValue(x), "Member must have value greater than or equal to "+formatBound(min))
	}
}

// MaxFloat checks that the number x is at most max.
func (v *Validator) MaxFloat(path string, x, max float64) {
	if v.fails(x > max || math.IsNaN(x)) {
		v.Invalid(path, formatFloatValue(x), "Member must have value less than or equal to "+formatBound(max))
	}
}

// formatFloatValue renders a floating-point member value the way the
// Java-based AWS services echo a Double: integral values keep a ".0".
func formatFloatValue(x float64) string {
	s := strconv.FormatFloat(x, 'f', -1, 64)
	if !strings.ContainsAny(s, ".NI") {
		s += ".0"
	}
	return s
}

// formatBound renders a range bound as the model writes it.
func formatBound(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

// Pattern is a compiled smithy.api#pattern constraint: the RE2 expression
// that Go matches with, and the model's own text that messages quote.
type Pattern struct {
	re   *regexp.Regexp
	text string
}

// NewPattern compiles a model pattern for package-level variables. re2 is
// the RE2 translation of the model's ECMA-262 text, or "" when the text
// compiles unchanged. Like the model, the pattern is not anchored: it must
// match somewhere in the value unless it contains ^ or $ itself. NewPattern
// panics if the expression does not compile.
func NewPattern(text, re2 string) *Pattern {
	if re2 == "" {
		re2 = text
	}
	return &Pattern{re: regexp.MustCompile(re2), text: text}
}

// MatchString reports whether s satisfies the pattern.
func (p *Pattern) MatchString(s string) bool { return p.re.MatchString(s) }

// String returns the pattern as written in the model.
func (p *Pattern) String() string { return p.text }

// shown is the pattern as AWS prints it in validation messages: the model's
// text without a leading ^ and a trailing $ (e.g. "[A-Za-z0-9.@\-_]+").
func (p *Pattern) shown() string {
	t := strings.TrimPrefix(p.text, "^")
	if strings.HasSuffix(t, "$") && !strings.HasSuffix(t, `\$`) {
		t = t[:len(t)-1]
	}
	return t
}

// Pattern checks that s satisfies p.
func (v *Validator) Pattern(path, s string, p *Pattern) {
	if v.fails(!p.MatchString(s)) {
		v.Invalid(path, s, "Member must satisfy regular expression pattern: "+p.shown())
	}
}

// EnumValue is implemented by generated enum types: IsValid says whether
// the value is one the model lists, and Values lists them in model order.
type EnumValue[E any] interface {
	~string | ~int32
	IsValid() bool
	Values() []E
}

// CheckEnum checks that x is one of the values of its enum.
func CheckEnum[E EnumValue[E]](v *Validator, path string, x E) {
	if !v.fails(!x.IsValid()) {
		return
	}
	var b strings.Builder
	b.WriteString("Member must satisfy enum value set: [")
	for i, e := range x.Values() {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprint(&b, e)
	}
	b.WriteString("]")
	v.Invalid(path, fmt.Sprint(x), b.String())
}

// Scalar validates an optional scalar member (string, enum, number,
// boolean, timestamp): a nil x is a violation only when required, and check
// (which may be nil) runs on the value when it is set.
func Scalar[T any](v *Validator, path string, x *T, required bool, check func(*Validator, string, T)) {
	if x == nil {
		if required {
			v.Null(path)
		}
		return
	}
	if check != nil {
		check(v, path, *x)
	}
}

// Struct validates an optional structure or union member like Scalar, but
// hands check a pointer to the structure.
func Struct[T any](v *Validator, path string, x *T, required bool, check func(*Validator, string, *T)) {
	if x == nil {
		if required {
			v.Null(path)
		}
		return
	}
	if check != nil {
		check(v, path, x)
	}
}

// Slice validates an optional list or blob member: nil means absent (an
// empty JSON array decodes to an empty, non-nil slice).
func Slice[S ~[]E, E any](v *Validator, path string, x S, required bool, check func(*Validator, string, S)) {
	if x == nil {
		if required {
			v.Null(path)
		}
		return
	}
	if check != nil {
		check(v, path, x)
	}
}

// Map validates an optional map member: nil means absent.
func Map[M ~map[string]E, E any](v *Validator, path string, x M, required bool, check func(*Validator, string, M)) {
	if x == nil {
		if required {
			v.Null(path)
		}
		return
	}
	if check != nil {
		check(v, path, x)
	}
}

// MapKeys runs check on every key of m (in sorted order) and, if any key
// fails, reports one violation for the whole map at path that lists every
// constraint of the keys, as AWS does: "Value at 'configuration' failed to
// satisfy constraint: Map keys must satisfy constraint: [Member must have
// length less than or equal to 50, Member must have length greater than or
// equal to 1]".
func MapKeys[M ~map[string]E, E any](v *Validator, path string, m M, check func(*Validator, string, string)) {
	mapEntries(v, path, SortedKeys(m), check, "Map keys")
}

// MapValues does for the values of m what MapKeys does for its keys:
// "Value at 'configuration' failed to satisfy constraint: Map value must
// satisfy constraint: [Member must have length less than or equal to
// 1000, Member must have length greater than or equal to 1]". It is for
// maps of scalars; the entries of a map of structures are validated one
// by one at path.KEY.
func MapValues[M ~map[string]E, E any](v *Validator, path string, m M, check func(*Validator, string, E)) {
	values := make([]E, 0, len(m))
	for _, k := range SortedKeys(m) {
		values = append(values, m[k])
	}
	mapEntries(v, path, values, check, "Map value")
}

// mapEntries checks the keys or values xs of the map at path and reports
// at most one violation for all of them.
func mapEntries[E any](v *Validator, path string, xs []E, check func(*Validator, string, E), what string) {
	var scratch Validator
	for _, x := range xs {
		check(&scratch, path, x)
		if len(scratch.violations) > 0 {
			v.InvalidAggregate(path, what+" must satisfy constraint: ["+strings.Join(constraintsOf(check), ", ")+"]")
			return
		}
	}
}

// constraintsOf lists every constraint check enforces, in its order.
func constraintsOf[E any](check func(*Validator, string, E)) []string {
	all := Validator{listing: true}
	var zero E
	check(&all, "", zero)
	var texts []string
	for _, x := range all.violations {
		if !slices.Contains(texts, x.constraint) {
			texts = append(texts, x.constraint)
		}
	}
	return texts
}

// SortedKeys returns the keys of m in increasing order, so validation of
// maps is deterministic.
func SortedKeys[M ~map[string]E, E any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Join returns the path of member name (or map key) inside path:
// "pipeline" + "name" = "pipeline.name"; at the top level it is just name.
func Join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// Index returns the path of the list element at zero-based index i inside
// path, numbered from 1 as AWS does: Index("stages", 0) = "stages.1.member".
func Index(path string, i int) string {
	return path + "." + strconv.Itoa(i+1) + ".member"
}
