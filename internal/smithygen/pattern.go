package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Smithy patterns are ECMA-262 regular expressions; Go's regexp is RE2.
// translatePattern rewrites the constructs whose meaning differs and
// rejects the ones RE2 cannot express:
//
//   - lookahead/lookbehind and backreferences: rejected;
//   - "." excludes all ECMA line terminators, not only "\n";
//   - "\s" and "\S" use the ECMA whitespace set (Unicode spaces, BOM);
//   - "\uXXXX", "\u{X}" (surrogate pairs joined), "\cX" and "\0" become
//     "\x{...}"; "\b" inside a class is a backspace;
//   - inside a class, "[" is escaped, and a "-" next to a class escape
//     ("[\w-_]") is a literal as ECMA's Annex B says;
//   - "[]" matches nothing and "[^]" matches any character;
//   - an escaped letter with no meaning is the letter itself.
//
// The result must still be compiled: RE2 also rejects, for instance,
// repetition counts above 1000 and unknown \p{...} classes.
func translatePattern(p string) (string, error) {
	rs := []rune(p)
	var b strings.Builder
	inClass := false
	prevClassEscape := false // the previous class atom was \w, \d, \s, \p{..}...
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case c == '\\':
			out, classEsc, n, err := translateEscape(rs, i, inClass)
			if err != nil {
				return "", err
			}
			b.WriteString(out)
			i += n - 1
			prevClassEscape = classEsc
			continue
		case inClass && c == ']':
			inClass = false
		case inClass && c == '[':
			b.WriteString(`\[`)
			prevClassEscape = false
			continue
		case inClass && c == '-':
			nextClassEscape := i+2 < len(rs) && rs[i+1] == '\\' && strings.ContainsRune("dDwWsSpP", rs[i+2])
			if prevClassEscape || nextClassEscape {
				b.WriteString(`\-`)
				prevClassEscape = false
				continue
			}
		case inClass:
		case c == '[':
			rest := string(rs[i:])
			switch {
			case strings.HasPrefix(rest, "[]"):
				b.WriteString(`[^\x00-\x{10FFFF}]`)
				i++
				continue
			case strings.HasPrefix(rest, "[^]"):
				b.WriteString(`[\x00-\x{10FFFF}]`)
				i += 2
				continue
			}
			inClass = true
			b.WriteRune('[')
			if strings.HasPrefix(rest, "[^") {
				b.WriteRune('^')
				i++
			}
			prevClassEscape = false
			continue
		case c == '(':
			rest := string(rs[i:])
			for _, look := range []string{"(?=", "(?!", "(?<=", "(?<!"} {
				if strings.HasPrefix(rest, look) {
					return "", fmt.Errorf("lookaround %q is not supported by RE2", look)
				}
			}
		case c == '.':
			b.WriteString(ecmaDot)
			continue
		}
		prevClassEscape = false
		b.WriteRune(c)
	}
	if inClass {
		return "", fmt.Errorf("unterminated character class")
	}
	re := b.String()
	if _, err := regexp.Compile(re); err != nil {
		return "", fmt.Errorf("RE2 cannot compile %q: %v", re, err)
	}
	return re, nil
}

// ecmaDot is "." as ECMA defines it: any character but a line terminator.
const ecmaDot = `[^\n\r\x{2028}\x{2029}]`

// ecmaSpace is the body of a character class for ECMA's \s.
const ecmaSpace = `\t\n\v\f\r \x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}\x{feff}`

// translateEscape translates the escape starting at rs[i] (a backslash). It
// returns the RE2 text, whether the escape is a class escape (\d, \w, \p{..}
// ...), and how many runes it consumed.
func translateEscape(rs []rune, i int, inClass bool) (string, bool, int, error) {
	if i+1 >= len(rs) {
		return "", false, 0, fmt.Errorf("pattern ends with a backslash")
	}
	d := rs[i+1]
	switch d {
	case 'd', 'D', 'w', 'W':
		return `\` + string(d), true, 2, nil
	case 's':
		if inClass {
			return ecmaSpace, true, 2, nil
		}
		return "[" + ecmaSpace + "]", true, 2, nil
	case 'S':
		if inClass {
			// RE2 cannot negate a set inside a class; its \S differs from
			// ECMA's only for the Unicode spaces listed in ecmaSpace.
			return `\S`, true, 2, nil
		}
		return "[^" + ecmaSpace + "]", true, 2, nil
	case 'p', 'P':
		if i+2 < len(rs) && rs[i+2] == '{' {
			end := indexRune(rs, i+3, '}')
			if end < 0 {
				return "", false, 0, fmt.Errorf("unterminated \\%c{", d)
			}
			return string(rs[i : end+1]), true, end + 1 - i, nil
		}
		return "", false, 0, fmt.Errorf("\\%c without {...}", d)
	case 'b':
		if inClass {
			return `\x08`, false, 2, nil
		}
		return `\b`, false, 2, nil
	case 'B':
		if inClass {
			return "", false, 0, fmt.Errorf(`\B inside a character class`)
		}
		return `\B`, false, 2, nil
	case 't', 'n', 'r', 'f', 'v':
		return `\` + string(d), false, 2, nil
	case 'x':
		if i+3 < len(rs) && isHex(rs[i+2]) && isHex(rs[i+3]) {
			return `\x` + string(rs[i+2:i+4]), false, 4, nil
		}
		return "x", false, 2, nil // Annex B: \x not followed by two hex digits is "x"
	case 'u':
		r, n, err := unicodeEscape(rs, i)
		if err != nil {
			return "", false, 0, err
		}
		return fmt.Sprintf(`\x{%x}`, r), false, n, nil
	case 'c':
		if i+2 < len(rs) && isASCIILetter(rs[i+2]) {
			return fmt.Sprintf(`\x{%x}`, rs[i+2]%32), false, 3, nil
		}
		return `\\c`, false, 2, nil // Annex B: a literal backslash and "c"
	case '0':
		if i+2 < len(rs) && rs[i+2] >= '0' && rs[i+2] <= '9' {
			return "", false, 0, fmt.Errorf("legacy octal escape")
		}
		return `\x00`, false, 2, nil
	case '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return "", false, 0, fmt.Errorf("backreference \\%c is not supported by RE2", d)
	case 'k':
		if i+2 < len(rs) && rs[i+2] == '<' {
			return "", false, 0, fmt.Errorf("named backreference is not supported by RE2")
		}
	}
	// Identity escape: the character itself. RE2 accepts any escaped ASCII
	// punctuation; an escaped letter means the letter in ECMA (Annex B)
	// but may mean something else in RE2 (\a, \z), so it is not escaped.
	if d < utf8.RuneSelf && !isASCIILetter(d) && !(d >= '0' && d <= '9') {
		return `\` + string(d), false, 2, nil
	}
	return string(d), false, 2, nil
}

// unicodeEscape decodes \uXXXX (joining a surrogate pair written as two
// escapes) or \u{X...} at rs[i].
func unicodeEscape(rs []rune, i int) (rune, int, error) {
	if i+2 < len(rs) && rs[i+2] == '{' {
		end := indexRune(rs, i+3, '}')
		if end < 0 {
			return 0, 0, fmt.Errorf(`unterminated \u{`)
		}
		v, err := strconv.ParseUint(string(rs[i+3:end]), 16, 32)
		if err != nil || v > utf8.MaxRune || (v >= 0xD800 && v <= 0xDFFF) {
			return 0, 0, fmt.Errorf(`invalid \u{%s}`, string(rs[i+3:end]))
		}
		return rune(v), end + 1 - i, nil
	}
	hi, ok := hex4(rs, i+2)
	if !ok {
		return 0, 0, fmt.Errorf(`invalid \u escape`)
	}
	if hi >= 0xD800 && hi <= 0xDBFF && i+7 < len(rs) && rs[i+6] == '\\' && rs[i+7] == 'u' {
		if lo, ok := hex4(rs, i+8); ok && lo >= 0xDC00 && lo <= 0xDFFF {
			return 0x10000 + (hi-0xD800)<<10 + (lo - 0xDC00), 12, nil
		}
	}
	if hi >= 0xD800 && hi <= 0xDFFF {
		return 0, 0, fmt.Errorf("lone surrogate \\u%04X", hi)
	}
	return hi, 6, nil
}

func hex4(rs []rune, i int) (rune, bool) {
	if i+4 > len(rs) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(rs[i:i+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	return rune(v), true
}

func indexRune(rs []rune, from int, r rune) int {
	for j := from; j < len(rs); j++ {
		if rs[j] == r {
			return j
		}
	}
	return -1
}

func isHex(r rune) bool {
	return (r >= '0' && r <= '9') || (r >= 'a' && r <= 'f') || (r >= 'A' && r <= 'F')
}

func isASCIILetter(r rune) bool { return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') }
