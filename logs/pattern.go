package logs

import "strings"

// pattern is a parsed filterPattern. pipewright supports CloudWatch's
// term patterns, matched case-sensitively against the whole message:
//
//	ERROR Exception     every term occurs
//	"exact phrase"      the quoted text occurs (terms and phrases mix)
//	?ERROR ?WARN        at least one of the ?-terms occurs
//	ERROR -Retrying     a -term must not occur
//
// An empty pattern matches every event. JSON ({ $.x = 1 }), space-
// delimited ([a, b]) and regular-expression (%re%) patterns are answered
// with an InvalidParameterException naming what is supported.
type pattern struct {
	all, any, none []string
}

func parsePattern(text string) (*pattern, error) {
	p := &pattern{}
	rest := strings.TrimSpace(text)
	if rest != "" && strings.ContainsRune("{[%", rune(rest[0])) {
		return nil, invalidParameter("pipewright supports only term filter patterns (terms, \"quoted phrases\", ?alternatives, -exclusions), not " + text)
	}
	for rest != "" {
		kind := byte(0)
		if rest[0] == '?' || rest[0] == '-' {
			kind, rest = rest[0], rest[1:]
		}
		var term string
		if strings.HasPrefix(rest, `"`) {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return nil, invalidParameter("Invalid character(s) in term '" + rest + "'")
			}
			term, rest = rest[1:1+end], rest[2+end:]
		} else {
			term, rest, _ = strings.Cut(rest, " ")
		}
		rest = strings.TrimLeft(rest, " \t")
		if term == "" {
			continue
		}
		switch kind {
		case '?':
			p.any = append(p.any, term)
		case '-':
			p.none = append(p.none, term)
		default:
			p.all = append(p.all, term)
		}
	}
	return p, nil
}

// match reports whether a message matches the pattern.
func (p *pattern) match(msg string) bool {
	for _, t := range p.all {
		if !strings.Contains(msg, t) {
			return false
		}
	}
	for _, t := range p.none {
		if strings.Contains(msg, t) {
			return false
		}
	}
	if len(p.any) == 0 {
		return true
	}
	for _, t := range p.any {
		if strings.Contains(msg, t) {
			return true
		}
	}
	return false
}
