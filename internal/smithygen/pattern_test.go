package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestTranslatePattern(t *testing.T) {
	tests := []struct{ in, want string }{
		{`^[A-Za-z0-9.@\-_]+$`, `^[A-Za-z0-9.@\-_]+$`},
		{`^[0-9]{12}|\*$`, `^[0-9]{12}|\*$`},
		{`^[\w-_]*$`, `^[\w\-_]*$`},
		{`^[_-\w]*$`, `^[_\-\w]*$`},
		{`^[a-\d]$`, `^[a\-\d]$`},
		{`^[a-z-]$`, `^[a-z-]$`},
		{`.*`, `[^\n\r\x{2028}\x{2029}]*`},
		{`^[.]$`, `^[.]$`},
		{`^\S{36,128}$`, `^[^` + ecmaSpace + `]{36,128}$`},
		{`^[\s,]$`, `^[` + ecmaSpace + `,]$`},
		{`^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`, `^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`},
		{`\u00e9\u{1F600}\uD83D\uDE00`, `\x{e9}\x{1f600}\x{1f600}`},
		{`a\/b\.c`, `a\/b\.c`},
		{`[\b]\b`, `[\x08]\b`},
		{`\0\cJ\x41`, `\x00\x{a}\x41`},
		{`[[]`, `[\[]`},
		{`a[]b`, `a[^\x00-\x{10FFFF}]b`},
		{`a[^]b`, `a[\x00-\x{10FFFF}]b`},
		{`\e\q`, `eq`},
		{`(?<year>\d{4})-(?:\d\d)`, `(?<year>\d{4})-(?:\d\d)`},
	}
	for _, tt := range tests {
		got, err := translatePattern(tt.in)
		if err != nil {
			t.Errorf("translatePattern(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("translatePattern(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTranslatePatternRejects(t *testing.T) {
	for _, in := range []string{
		`^(?!aws:).*$`, `^(?=a)`, `(?<=a)b`, `(?<!a)b`, `(a)\1`, `(?<n>a)\k<n>`,
		`a{1,1001}`, `\p{NotAClass}`, `[a`, `\`, `\uD800`, `\012`,
	} {
		if got, err := translatePattern(in); err == nil {
			t.Errorf("translatePattern(%q) = %q, want an error", in, got)
		}
	}
}

// TestPatternSemantics checks that translated patterns match as ECMA-262
// would, where RE2's own reading of the text differs.
func TestPatternSemantics(t *testing.T) {
	tests := []struct {
		pattern string
		match   []string
		noMatch []string
	}{
		{`^[\w-_]+$`, []string{"a-b_c"}, []string{"a b"}},
		{`^a.b$`, []string{"a-b", "aéb"}, []string{"a\nb", "a\rb", "a\u2028b"}},
		{`^\s$`, []string{" ", "\u00a0", "\ufeff", "\u3000"}, []string{"x"}},
		{`^\S+$`, []string{"abc"}, []string{"a\u00a0b"}},
		{`[0-9]{3}`, []string{"ab123"}, []string{"ab12"}},
		{`^[a\-z]$`, []string{"-", "a", "z"}, []string{"b"}},
	}
	for _, tt := range tests {
		re := regexp.MustCompile(mustTranslate(t, tt.pattern))
		for _, s := range tt.match {
			if !re.MatchString(s) {
				t.Errorf("%q should match %q", tt.pattern, s)
			}
		}
		for _, s := range tt.noMatch {
			if re.MatchString(s) {
				t.Errorf("%q should not match %q", tt.pattern, s)
			}
		}
	}
}

func mustTranslate(t *testing.T, p string) string {
	t.Helper()
	re, err := translatePattern(p)
	if err != nil {
		t.Fatalf("translatePattern(%q): %v", p, err)
	}
	return re
}

// TestModelPatternsTranslate translates every pattern of the official
// models; none of them needs a construct RE2 lacks.
func TestModelPatternsTranslate(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(modelsDir, "*.json"))
	if len(paths) == 0 {
		t.Skip("models not available")
	}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var ast struct {
			Shapes map[string]struct {
				Traits map[string]json.RawMessage `json:"traits"`
			} `json:"shapes"`
		}
		if err := json.Unmarshal(data, &ast); err != nil {
			t.Fatal(err)
		}
		for id, s := range ast.Shapes {
			raw, ok := s.Traits[traitPattern]
			if !ok {
				continue
			}
			var p string
			_ = json.Unmarshal(raw, &p)
			if _, err := translatePattern(p); err != nil {
				t.Errorf("%s %s: %q: %v", filepath.Base(path), id, p, err)
			}
		}
	}
	if testing.Verbose() {
		t.Logf("checked patterns of %s", strings.Join(paths, ", "))
	}
}
