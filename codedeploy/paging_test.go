package codedeploy

import (
	"encoding/base64"
	"slices"
	"testing"

	"github.com/pipewright/pipewright/codedeploy/shape"
)

func TestPageWalksEveryItemOnce(t *testing.T) {
	items := make([]int, 2*pageSize+1)
	for i := range items {
		items[i] = i
	}
	var got []int
	var token *string
	for pages := 1; ; pages++ {
		part, next, err := page(items, token)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, part...)
		if next == nil {
			if pages != 3 {
				t.Fatalf("%d pages, want 3", pages)
			}
			break
		}
		token = next
	}
	if !slices.Equal(got, items) {
		t.Fatalf("pages gave %d items, want %d in order", len(got), len(items))
	}
	if part, next, err := page([]int{}, nil); err != nil || len(part) != 0 || next != nil {
		t.Fatalf("page of nothing = %v %v %v", part, next, err)
	}
}

func TestPageRefusesForeignTokens(t *testing.T) {
	enc := func(s string) *string { return new(base64.RawURLEncoding.EncodeToString([]byte(s))) }
	for _, tok := range []*string{new("garbage!"), enc("pw1:-1"), enc("pw1:5"), enc("other:1"), enc("pw1:x")} {
		if _, _, err := page([]int{1, 2, 3}, tok); !isCode(err, excInvalidNextToken) {
			t.Errorf("token %q: %v, want %s", *tok, err, excInvalidNextToken)
		}
	}
}

func TestTagFilters(t *testing.T) {
	tags := []shape.Tag{{Key: new("role"), Value: new("web")}, {Key: new("zone"), Value: new("a")}}
	f := func(typ shape.TagFilterType, k, v string) shape.TagFilter {
		return shape.TagFilter{Key: &k, Value: &v, Type: &typ}
	}
	cases := []struct {
		fs   []shape.TagFilter
		want bool
	}{
		{[]shape.TagFilter{f(shape.TagFilterTypeKeyOnly, "role", "")}, true},
		{[]shape.TagFilter{f(shape.TagFilterTypeValueOnly, "", "a")}, true},
		{[]shape.TagFilter{f(shape.TagFilterTypeKeyAndValue, "role", "a")}, false},
		{[]shape.TagFilter{f(shape.TagFilterTypeKeyAndValue, "role", "db"), f(shape.TagFilterTypeKeyAndValue, "zone", "a")}, true},
		{nil, false},
	}
	for i, c := range cases {
		if got := matchesAny(tags, c.fs); got != c.want {
			t.Errorf("case %d: matchesAny = %v, want %v", i, got, c.want)
		}
	}
	if err := checkTagFilters([]shape.TagFilter{f(shape.TagFilterTypeKeyAndValue, "role", "")}, excInvalidTag); !isCode(err, excInvalidTag) {
		t.Errorf("KEY_AND_VALUE without a value: %v", err)
	}
	merged := mergeTags(tags, []shape.Tag{{Key: new("zone"), Value: new("b")}, {Key: new("new"), Value: new("x")}})
	if len(merged) != 3 || merged[1].GetValue() != "b" || tags[1].GetValue() != "a" {
		t.Errorf("mergeTags = %+v (and the original %+v)", merged, tags)
	}
	if left := dropTags(merged, []string{"role", "new"}); len(left) != 1 || left[0].GetKey() != "zone" {
		t.Errorf("dropTags = %+v", left)
	}
}
