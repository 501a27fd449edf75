package main

import (
	"go/token"
	"strconv"
	"strings"
	"unicode"
)

// goName turns a Smithy identifier (or an enum value) into an exported Go
// identifier: it splits on anything that is not a letter or digit,
// upper-cases the first letter of each word and, for words written in
// capitals, lower-cases the rest ("pipelineArn" → "PipelineArn",
// "LINUX_GPU_CONTAINER" → "LinuxGpuContainer", "AWS" → "Aws", "S3" → "S3").
// A name that would start with a digit gets a "V" prefix and an empty one
// becomes "Empty".
func goName(s string) string {
	words := strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	var b strings.Builder
	for _, w := range words {
		rs := []rune(w)
		if allCaps(rs) {
			for i := 1; i < len(rs); i++ {
				rs[i] = unicode.ToLower(rs[i])
			}
		}
		rs[0] = unicode.ToUpper(rs[0])
		b.WriteString(string(rs))
	}
	name := b.String()
	switch {
	case name == "":
		return "Empty"
	case unicode.IsDigit([]rune(name)[0]):
		return "V" + name
	case !token.IsExported(name):
		// A first letter with no upper case (e.g. from a caseless script).
		return "X" + name
	}
	return name
}

// allCaps reports whether a word has no lower-case letter and at least two
// letters, i.e. is written in capitals ("AWS", "GPU") rather than being a
// single capital or a number.
func allCaps(rs []rune) bool {
	letters := 0
	for _, r := range rs {
		if unicode.IsLower(r) {
			return false
		}
		if unicode.IsLetter(r) {
			letters++
		}
	}
	return letters > 1
}

// namespace hands out unique Go identifiers within one scope. A name that
// is already taken gets the smallest numeric suffix that makes it unique
// ("Name", "Name2", "Name3"...), so results only depend on the order of
// the calls, which the generator keeps deterministic.
type namespace struct {
	taken map[string]bool
	// renamed records every name that could not be used as asked, for the
	// generator's report.
	renamed []string
}

func newNamespace(reserved ...string) *namespace {
	ns := &namespace{taken: map[string]bool{}}
	for _, r := range reserved {
		ns.taken[r] = true
	}
	return ns
}

// claim returns want, or want with a numeric suffix if want is taken, and
// marks the result taken.
func (ns *namespace) claim(want string) string {
	name := want
	for i := 2; ns.taken[name]; i++ {
		name = want + strconv.Itoa(i)
	}
	if name != want {
		ns.renamed = append(ns.renamed, want+" → "+name)
	}
	ns.taken[name] = true
	return name
}
