package buildspec

import (
	"errors"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The helpers below read one YAML node each and name the key (its dotted
// path in the buildspec, like phases.build.commands[2]) in every error.

const quoteHint = ", check indentation and use quotes to escape special characters"

// deref follows aliases, so that an anchor's value is read where it is used.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// isNull reports an absent value: "key:" with nothing after it, or null.
func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// kindName names a node's kind the way the messages say it.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "subkeys"
	case yaml.SequenceNode:
		return "a list"
	default:
		return "a string"
	}
}

// typeError says that a key holds the wrong kind of value, in AWS's words:
// "Expected X to be of string type: found subkeys instead at line 5, check
// indentation and use quotes to escape special characters".
func typeError(path, want string, n *yaml.Node) *Error {
	e := errorf(n.Line, "Expected %s to be of %s type: found %s instead", path, want, kindName(n))
	e.Message += quoteHint
	return e
}

// eachKey calls fn for every key of a mapping, in order. A null node is an
// empty mapping; duplicate keys and non-string keys are errors.
func eachKey(n *yaml.Node, path string, fn func(key string, v *yaml.Node) error) error {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return typeError(path, "map", n)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := deref(n.Content[i])
		if k.Kind != yaml.ScalarNode {
			return typeError("the keys of "+path, "string", k)
		}
		if seen[k.Value] {
			return errorf(k.Line, "Duplicate key %s", join(path, k.Value))
		}
		seen[k.Value] = true
		err := fn(k.Value, deref(n.Content[i+1]))
		if err == errUnknownKey {
			return unknownKey(path, k.Value, k.Line)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// join makes the dotted path of a key.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// errUnknownKey is what an eachKey callback returns for a key it does not
// know; eachKey turns it into the message, with the key's line.
var errUnknownKey = errors.New("unknown key")

func unknownKey(path, key string, line int) *Error {
	switch path {
	case "":
		return errorf(line, "Unknown key %q at top level", key)
	case "phases":
		return errorf(line, "Unknown phase %q in phases: expected install, pre_build, build or post_build", key)
	}
	return errorf(line, "Unknown key %q in %s", key, path)
}

// scalar reads a string value; a null is "". Numbers and booleans keep
// their YAML text.
func scalar(n *yaml.Node, path string) (string, error) {
	n = deref(n)
	if isNull(n) {
		return "", nil
	}
	if n.Kind != yaml.ScalarNode {
		return "", typeError(path, "string", n)
	}
	if strings.ContainsRune(n.Value, 0) {
		return "", errorf(n.Line, "%s contains a NUL character", path)
	}
	return n.Value, nil
}

// stringList reads a list of non-empty strings; a null is an empty list.
func stringList(n *yaml.Node, path string) ([]string, error) {
	n = deref(n)
	if isNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, typeError(path, "array", n)
	}
	var out []string
	for i, item := range n.Content {
		p := path + "[" + strconv.Itoa(i) + "]"
		s, err := scalar(item, p)
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(s) == "" {
			return nil, errorf(deref(item).Line, "Expected %s to be a non-empty string", p)
		}
		out = append(out, s)
	}
	return out, nil
}

// yesNo reads a yes/no field; true and false are accepted too, in any case.
func yesNo(n *yaml.Node, path string) (bool, error) {
	s, err := scalar(n, path)
	if err != nil {
		return false, err
	}
	switch strings.ToLower(s) {
	case "yes", "true":
		return true, nil
	case "no", "false", "":
		return false, nil
	}
	return false, errorf(deref(n).Line, "Invalid value %q for %s: expected yes or no", s, path)
}

var nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// checkName rejects a variable name the shell cannot hold.
func checkName(name, path string, n *yaml.Node) error {
	if !nameRE.MatchString(name) {
		return errorf(n.Line, "Invalid environment variable name %q in %s: a name is letters, digits and underscores, not starting with a digit", name, path)
	}
	return nil
}

// pairs reads a map of names to scalar values, in order; with names set,
// every name must be a valid variable name.
func pairs(n *yaml.Node, path string, names bool) ([]Variable, error) {
	var out []Variable
	err := eachKey(n, path, func(k string, v *yaml.Node) error {
		if names {
			if err := checkName(k, path, v); err != nil {
				return err
			}
		}
		s, err := scalar(v, join(path, k))
		if err != nil {
			return err
		}
		out = append(out, Variable{Name: k, Value: s})
		return nil
	})
	return out, err
}
