package artifacts

import (
	"fmt"
	"path"
	"strings"
)

// pattern is a compiled file pattern: its '/'-separated segments, with runs
// of "**" collapsed into one.
type pattern []string

// compilePatterns validates and compiles patterns as described at ZipDir.
// An empty list compiles to nil, which matches everything.
func compilePatterns(patterns []string) ([]pattern, error) {
	out := make([]pattern, 0, len(patterns))
	for _, raw := range patterns {
		p := raw
		for strings.HasPrefix(p, "./") {
			p = strings.TrimLeft(p[2:], "/")
		}
		if p == "" || p == "." || strings.HasPrefix(p, "/") {
			return nil, fmt.Errorf("artifacts: invalid file pattern %q: must be a relative path", raw)
		}
		var segs pattern
		for _, seg := range strings.Split(strings.TrimSuffix(p, "/"), "/") {
			switch {
			case seg == "" || seg == ".":
				continue
			case seg == "..":
				return nil, fmt.Errorf("artifacts: invalid file pattern %q: \"..\" is not allowed", raw)
			case seg == "**":
				if len(segs) > 0 && segs[len(segs)-1] == "**" {
					continue
				}
			default:
				if _, err := path.Match(seg, ""); err != nil {
					return nil, fmt.Errorf("artifacts: invalid file pattern %q: %w", raw, err)
				}
			}
			segs = append(segs, seg)
		}
		out = append(out, segs)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// matchFile reports whether the file at the slash-separated relative path
// with segments name matches any pattern (all files match when there are
// no patterns).
func matchFile(pats []pattern, name []string) bool {
	if pats == nil {
		return true
	}
	for _, p := range pats {
		if p.match(name) {
			return true
		}
	}
	return false
}

// mayMatchUnder reports whether a file under the directory with segments
// dir could match any pattern. It may return true when none can.
func mayMatchUnder(pats []pattern, dir []string) bool {
	if pats == nil {
		return true
	}
	for _, p := range pats {
		if p.prefixOf(dir) {
			return true
		}
	}
	return false
}

func (p pattern) match(name []string) bool {
	for len(p) > 0 {
		if p[0] == "**" {
			rest := p[1:]
			if len(rest) == 0 {
				return len(name) > 0
			}
			for i := 0; i < len(name); i++ {
				if rest.match(name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := path.Match(p[0], name[0]); !ok {
			return false
		}
		p, name = p[1:], name[1:]
	}
	return len(name) == 0
}

func (p pattern) prefixOf(dir []string) bool {
	for ; len(dir) > 0; p, dir = p[1:], dir[1:] {
		if len(p) == 0 {
			return false
		}
		if p[0] == "**" {
			return true
		}
		if ok, _ := path.Match(p[0], dir[0]); !ok {
			return false
		}
	}
	return len(p) > 0
}
