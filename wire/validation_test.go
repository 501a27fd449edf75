package wire

import (
	"errors"
	"net/http"
	"testing"
)

type color string

func (color) Values() []color { return []color{"Red", "Green", "Blue"} }

func (c color) IsValid() bool { return c == "Red" || c == "Green" || c == "Blue" }

type level int32

func (level) Values() []level { return []level{1, 2} }

func (l level) IsValid() bool { return l == 1 || l == 2 }

func message(t *testing.T, v *Validator) string {
	t.Helper()
	err := v.Err()
	if err == nil {
		return ""
	}
	var we *Error
	if !errors.As(err, &we) || we.Code != CodeValidation || we.Status != http.StatusBadRequest {
		t.Fatalf("Err() = %#v, want a 400 ValidationException", err)
	}
	return we.Message
}

func TestValidatorEmptyIsUntypedNil(t *testing.T) {
	var v Validator
	if err := v.Err(); err != nil {
		t.Fatalf("Err() = %#v, want nil", err)
	}
	v.MinLength("a", "abc", 1)
	v.Pattern("a", "abc", NewPattern("^[a-z]+$", ""))
	if err := v.Err(); err != nil {
		t.Fatalf("Err() after passing checks = %#v, want nil", err)
	}
}

func TestValidatorMessages(t *testing.T) {
	re := NewPattern(`^[A-Za-z0-9.@\-_]+$`, "")
	tests := []struct {
		name  string
		check func(v *Validator)
		want  string
	}{
		{"pattern", func(v *Validator) { v.Pattern("pipeline.name", "abc d", re) },
			`1 validation error detected: Value 'abc d' at 'pipeline.name' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9.@\-_]+`},
		{"null", func(v *Validator) { v.Null("pipelineName") },
			"1 validation error detected: Value null at 'pipelineName' failed to satisfy constraint: Member must not be null"},
		{"max length counts characters", func(v *Validator) { v.MaxLength("n", "ééé", 2); v.MaxLength("m", "ééé", 3) },
			"1 validation error detected: Value 'ééé' at 'n' failed to satisfy constraint: Member must have length less than or equal to 2"},
		{"min length", func(v *Validator) { v.MinLength("n", "", 1) },
			"1 validation error detected: Value '' at 'n' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"count", func(v *Validator) { v.MinCount("tags", 0, 1); v.MaxCount("stages", 3, 2) },
			"2 validation errors detected: Value at 'tags' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
				"Value at 'stages' failed to satisfy constraint: Member must have length less than or equal to 2"},
		{"range", func(v *Validator) {
			v.MinInt("maxResults", 0, 1)
			v.MaxInt("maxResults", 101, 100)
			v.MaxInt("ok", 100, 100)
		},
			"2 validation errors detected: Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1; " +
				"Value '101' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100"},
		{"float range", func(v *Validator) { v.MinFloat("w", -1, 0); v.MaxFloat("w", 2.5, 1.5) },
			"2 validation errors detected: Value '-1.0' at 'w' failed to satisfy constraint: Member must have value greater than or equal to 0; " +
				"Value '2.5' at 'w' failed to satisfy constraint: Member must have value less than or equal to 1.5"},
		{"enum", func(v *Validator) { CheckEnum(v, "category", color("Purple")); CheckEnum(v, "category", color("Red")) },
			"1 validation error detected: Value 'Purple' at 'category' failed to satisfy constraint: Member must satisfy enum value set: [Red, Green, Blue]"},
		{"int enum", func(v *Validator) { CheckEnum(v, "level", level(3)) },
			"1 validation error detected: Value '3' at 'level' failed to satisfy constraint: Member must satisfy enum value set: [1, 2]"},
		{"map keys", func(v *Validator) {
			MapKeys(v, "configuration", map[string]int{"": 1, "toolong": 2, "ok": 3, "alsotoolong": 4}, func(v *Validator, p, k string) {
				v.MinLength(p, k, 1)
				v.MaxLength(p, k, 5)
			})
		}, "1 validation error detected: Value at 'configuration' failed to satisfy constraint: Map keys must satisfy constraint: " +
			"[Member must have length greater than or equal to 1, Member must have length less than or equal to 5]"},
		{"map keys list every constraint, once", func(v *Validator) {
			MapKeys(v, "tags", map[string]int{"a b": 1, "c d": 2, "ok": 3}, func(v *Validator, p, k string) {
				v.MaxLength(p, k, 5)
				v.MinLength(p, k, 1)
				v.Pattern(p, k, NewPattern("^[a-z]+$", ""))
			})
		}, "1 validation error detected: Value at 'tags' failed to satisfy constraint: Map keys must satisfy constraint: " +
			"[Member must have length less than or equal to 5, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [a-z]+]"},
		{"map values", func(v *Validator) {
			check := func(v *Validator, p string, x int32) { v.MaxInt(p, int64(x), 10); v.MinInt(p, int64(x), 1) }
			MapValues(v, "weights", map[string]int32{"a": 5, "b": 11}, check)
			MapValues(v, "fine", map[string]int32{"a": 5}, check)
			MapValues(v, "none", map[string]int32{}, check)
		}, "1 validation error detected: Value at 'weights' failed to satisfy constraint: Map value must satisfy constraint: " +
			"[Member must have value less than or equal to 10, Member must have value greater than or equal to 1]"},
		{"map enum values", func(v *Validator) {
			MapValues(v, "colors", map[string]color{"x": "Red", "y": "Pink"}, CheckEnum[color])
		}, "1 validation error detected: Value at 'colors' failed to satisfy constraint: Map value must satisfy constraint: " +
			"[Member must satisfy enum value set: [Red, Green, Blue]]"},
		{"aggregate", func(v *Validator) { v.InvalidAggregate("pipeline", "Custom") },
			"1 validation error detected: Value at 'pipeline' failed to satisfy constraint: Custom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v Validator
			tt.check(&v)
			if got := message(t, &v); got != tt.want {
				t.Errorf("message:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestMemberHelpers(t *testing.T) {
	type inner struct{ Name *string }
	name := "x y"
	checkName := func(v *Validator, p string, s string) { v.Pattern(p, s, NewPattern("^[a-z]+$", "")) }
	checkInner := func(v *Validator, p string, in *inner) { Scalar(v, Join(p, "name"), in.Name, true, checkName) }
	checkList := func(v *Validator, p string, x []string) {
		v.MaxCount(p, len(x), 1)
		for i := range x {
			checkName(v, Index(p, i), x[i])
		}
	}
	checkMap := func(v *Validator, p string, x map[string]string) {
		for _, k := range SortedKeys(x) {
			checkName(v, Join(p, k), x[k])
		}
	}

	var v Validator
	Scalar(&v, "a", (*string)(nil), true, checkName)
	Scalar(&v, "b", (*string)(nil), false, checkName)
	Scalar(&v, "c", &name, false, nil)
	Struct(&v, "d", &inner{}, true, checkInner)
	Struct(&v, "e", (*inner)(nil), true, checkInner)
	Slice(&v, "f", []string{"ok", "no 1"}, true, checkList)
	Slice(&v, "g", []string(nil), true, checkList)
	Slice(&v, "h", []string{}, true, checkList)
	Map(&v, "i", map[string]string{"z": "ok", "y": "B"}, true, checkMap)
	Map(&v, "j", map[string]string(nil), true, checkMap)
	want := "8 validation errors detected: " +
		"Value null at 'a' failed to satisfy constraint: Member must not be null; " +
		"Value null at 'd.name' failed to satisfy constraint: Member must not be null; " +
		"Value null at 'e' failed to satisfy constraint: Member must not be null; " +
		"Value at 'f' failed to satisfy constraint: Member must have length less than or equal to 1; " +
		"Value 'no 1' at 'f.2.member' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-z]+; " +
		"Value null at 'g' failed to satisfy constraint: Member must not be null; " +
		"Value 'B' at 'i.y' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-z]+; " +
		"Value null at 'j' failed to satisfy constraint: Member must not be null"
	if got := message(t, &v); got != want {
		t.Errorf("message:\n got %s\nwant %s", got, want)
	}
	if v.Len() != 8 {
		t.Errorf("Len() = %d", v.Len())
	}
}

func TestPaths(t *testing.T) {
	if got := Join("", "pipelineName"); got != "pipelineName" {
		t.Errorf("Join top = %q", got)
	}
	p := Join(Index(Join(Index(Join("pipeline", "stages"), 0), "actions"), 1), "name")
	if p != "pipeline.stages.1.member.actions.2.member.name" {
		t.Errorf("nested path = %q", p)
	}
}

func TestPatternUnanchored(t *testing.T) {
	p := NewPattern(`[0-9]{3}`, "")
	if !p.MatchString("ab123cd") || p.MatchString("ab12") {
		t.Error("unanchored pattern must match anywhere in the value")
	}
	q := NewPattern(`^a.b$`, `^a[^\n\r\x{2028}\x{2029}]b$`)
	if q.String() != `^a.b$` || q.MatchString("a\rb") || !q.MatchString("axb") {
		t.Error("translated pattern must keep the model text and use the RE2 expression")
	}
}
