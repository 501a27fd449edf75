package gitsource

import (
	"fmt"
	"strings"
)

// checkBranchName reports whether name is a valid branch name by the rules
// of "git check-ref-format --branch": no component is empty, starts with
// '.' or ends with ".lock"; no "..", "@{", control characters, space, '~',
// '^', ':', '?', '*', '[' or '\\'; it does not start with '-', end with '.'
// or equal "@" or "HEAD". Besides keeping out names git would refuse, this
// keeps out everything that would make the name an option ("-x") or a
// revision expression ("main~1", "main@{1}", "main:file").
func checkBranchName(name string) error {
	bad := func(why string) error {
		return fmt.Errorf("%w: %q is not a valid branch name: %s", ErrBranchNotFound, name, why)
	}
	switch {
	case name == "":
		return bad("empty")
	case name == "@" || name == "HEAD":
		return bad("reserved name")
	case name[0] == '-':
		return bad("starts with '-'")
	case strings.HasSuffix(name, "."):
		return bad("ends with '.'")
	case strings.Contains(name, ".."):
		return bad(`contains ".."`)
	case strings.Contains(name, "@{"):
		return bad(`contains "@{"`)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c < 0x20 || c == 0x7f || strings.IndexByte(" ~^:?*[\\", c) >= 0 {
			return bad(fmt.Sprintf("contains %q", c))
		}
	}
	for _, comp := range strings.Split(name, "/") {
		switch {
		case comp == "":
			return bad("has an empty path component")
		case comp[0] == '.':
			return bad("a path component starts with '.'")
		case strings.HasSuffix(comp, ".lock"):
			return bad(`a path component ends with ".lock"`)
		}
	}
	return nil
}

// checkCommitID validates a full or abbreviated hex commit id (4 to 64 hex
// digits) and returns it in lowercase.
func checkCommitID(id string) (string, error) {
	if len(id) < 4 || len(id) > 64 {
		return "", fmt.Errorf("%w: %q is not a commit id (4 to 64 hex digits)", ErrCommitNotFound, id)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return "", fmt.Errorf("%w: %q is not a commit id (4 to 64 hex digits)", ErrCommitNotFound, id)
		}
	}
	return strings.ToLower(id), nil
}
