package codedeploy

import (
	"github.com/pipewright/pipewright/codedeploy/shape"
)

// maxTags is how many tags a resource or an instance may have.
const maxTags = 50

// checkTags refuses tags without a key, with the exception code typ.
func checkTags(tags []shape.Tag, typ string) error {
	for _, t := range tags {
		if t.GetKey() == "" {
			return apiError(typ, "A tag must have a key")
		}
		if len(t.GetKey()) > 128 || len(t.GetValue()) > 256 {
			return apiError(typ, "A tag key is at most 128 characters and a tag value at most 256: %s", t.GetKey())
		}
	}
	return nil
}

// mergeTags sets add's tags on have (a tag of the same key is replaced)
// and returns the result.
func mergeTags(have, add []shape.Tag) []shape.Tag {
	out := append([]shape.Tag(nil), have...)
next:
	for _, a := range add {
		for i := range out {
			if out[i].GetKey() == a.GetKey() {
				out[i].Value = a.Value
				continue next
			}
		}
		out = append(out, a)
	}
	return out
}

// dropTags removes the tags whose key is one of keys.
func dropTags(have []shape.Tag, keys []string) []shape.Tag {
	var out []shape.Tag
next:
	for _, t := range have {
		for _, k := range keys {
			if t.GetKey() == k {
				continue next
			}
		}
		out = append(out, t)
	}
	return out
}

// checkTagFilters refuses a tag filter that lacks what its type matches
// on, with the exception code typ.
func checkTagFilters(fs []shape.TagFilter, typ string) error {
	for _, f := range fs {
		switch f.GetType() {
		case shape.TagFilterTypeKeyOnly:
			if f.GetKey() == "" {
				return apiError(typ, "A tag filter of type KEY_ONLY must have a key")
			}
		case shape.TagFilterTypeValueOnly:
			if f.GetValue() == "" {
				return apiError(typ, "A tag filter of type VALUE_ONLY must have a value")
			}
		case shape.TagFilterTypeKeyAndValue:
			if f.GetKey() == "" || f.GetValue() == "" {
				return apiError(typ, "A tag filter of type KEY_AND_VALUE must have a key and a value")
			}
		default:
			return apiError(typ, "A tag filter's type must be KEY_ONLY, VALUE_ONLY or KEY_AND_VALUE")
		}
	}
	return nil
}

// matchesAny reports whether tags match at least one of the filters.
func matchesAny(tags []shape.Tag, fs []shape.TagFilter) bool {
	for _, f := range fs {
		for _, t := range tags {
			switch f.GetType() {
			case shape.TagFilterTypeKeyOnly:
				if t.GetKey() == f.GetKey() {
					return true
				}
			case shape.TagFilterTypeValueOnly:
				if t.GetValue() == f.GetValue() {
					return true
				}
			case shape.TagFilterTypeKeyAndValue:
				if t.GetKey() == f.GetKey() && t.GetValue() == f.GetValue() {
					return true
				}
			}
		}
	}
	return false
}
