package artifacts_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/pipewright/pipewright/artifacts"
)

// listKeys are in UTF-8 byte order: '-' (0x2d) < '/' (0x2f) < 'Z' < 'a',
// and multi-byte characters after every ASCII one.
var listKeys = []string{
	"Zebra", "a", "a-b", "a/", "a//d", "a/b", "a/b/c", "a/c", "ab", "b/x/1", "b/x/2", "b/y", "c", "é", "ÿ", "日本/語",
}

func listing(t *testing.T, s *artifacts.Store, opt artifacts.ListOptions) artifacts.Listing {
	t.Helper()
	l, err := s.List(ctx, "bucket", opt)
	if err != nil {
		t.Fatalf("List(%+v): %v", opt, err)
	}
	return l
}

func keysOf(l artifacts.Listing) []string {
	var out []string
	for _, o := range l.Objects {
		out = append(out, o.Key)
	}
	return out
}

func TestList(t *testing.T) {
	s := newStore(t, "bucket")
	perm := slices.Clone(listKeys)
	slices.Reverse(perm)
	for _, k := range perm {
		put(t, s.Store, "bucket", k, k, artifacts.PutOptions{})
	}
	sorted := slices.Clone(listKeys)
	slices.Sort(sorted) // Go compares strings bytewise too
	if !slices.Equal(sorted, listKeys) {
		t.Fatalf("the test's keys are not in byte order: %q", sorted)
	}
	tests := []struct {
		opt      artifacts.ListOptions
		keys     []string
		prefixes []string
		trunc    bool
	}{
		{artifacts.ListOptions{}, listKeys, nil, false},
		{artifacts.ListOptions{Prefix: "a/"}, []string{"a/", "a//d", "a/b", "a/b/c", "a/c"}, nil, false},
		{artifacts.ListOptions{Delimiter: "/"}, []string{"Zebra", "a", "a-b", "ab", "c", "é", "ÿ"}, []string{"a/", "b/", "日本/"}, false},
		{artifacts.ListOptions{Prefix: "a/", Delimiter: "/"}, []string{"a/", "a/b", "a/c"}, []string{"a//", "a/b/"}, false},
		{artifacts.ListOptions{Prefix: "b/", Delimiter: "/"}, []string{"b/y"}, []string{"b/x/"}, false},
		{artifacts.ListOptions{After: "a/c"}, listKeys[8:], nil, false},
		{artifacts.ListOptions{After: "a", Max: 3}, []string{"a-b", "a/", "a//d"}, nil, true},
		{artifacts.ListOptions{Delimiter: "/", Max: 4}, []string{"Zebra", "a", "a-b"}, []string{"a/"}, true},
		{artifacts.ListOptions{Delimiter: "/", After: "a/"}, []string{"ab", "c", "é", "ÿ"}, []string{"b/", "日本/"}, false},
		{artifacts.ListOptions{Prefix: "nothing"}, nil, nil, false},
		{artifacts.ListOptions{Prefix: "é"}, []string{"é"}, nil, false},
		{artifacts.ListOptions{Delimiter: "b"}, []string{"a", "a/", "a//d", "a/c", "c", "é", "ÿ", "日本/語"}, []string{"Zeb", "a-b", "a/b", "ab", "b"}, false},
	}
	for _, tt := range tests {
		l := listing(t, s.Store, tt.opt)
		if !slices.Equal(keysOf(l), tt.keys) || !slices.Equal(l.CommonPrefixes, tt.prefixes) || l.Truncated != tt.trunc {
			t.Errorf("List(%+v) = %q %q truncated %v, want %q %q %v", tt.opt, keysOf(l), l.CommonPrefixes, l.Truncated, tt.keys, tt.prefixes, tt.trunc)
		}
	}
	// Paging with Next returns every key and common prefix once, in order.
	for _, delim := range []string{"", "/"} {
		for max := 1; max <= 4; max++ {
			var got []string
			after := ""
			for pages := 0; ; pages++ {
				l := listing(t, s.Store, artifacts.ListOptions{Delimiter: delim, After: after, Max: max})
				if n := len(l.Objects) + len(l.CommonPrefixes); n > max || n == 0 && l.Truncated {
					t.Fatalf("page of %d with Max %d", n, max)
				}
				page := append(keysOf(l), l.CommonPrefixes...)
				slices.Sort(page)
				got = append(got, page...)
				if !l.Truncated || pages > 100 {
					break
				}
				after = l.Next
			}
			want := listKeys
			if delim == "/" {
				want = []string{"Zebra", "a", "a-b", "a/", "ab", "b/", "c", "é", "ÿ", "日本/"}
			}
			if !slices.Equal(got, want) {
				t.Errorf("paging by %d with delimiter %q: %q, want %q", max, delim, got, want)
			}
		}
	}
	if _, err := s.List(ctx, "nobucket", artifacts.ListOptions{}); !errors.Is(err, artifacts.ErrNoSuchBucket) {
		t.Errorf("List of a missing bucket: %v", err)
	}
}

func TestListMany(t *testing.T) {
	s := newStore(t, "bucket")
	var keys []string
	for i := range 300 {
		k := strings.Repeat("x", i%7) + "/" + string(rune('a'+i%26)) + strings.Repeat("y", i/26)
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
			put(t, s.Store, "bucket", k, "", artifacts.PutOptions{})
		}
	}
	slices.Sort(keys)
	l := listing(t, s.Store, artifacts.ListOptions{})
	if !slices.Equal(keysOf(l), keys) || l.Truncated {
		t.Errorf("List of %d keys returned %d, truncated %v", len(keys), len(l.Objects), l.Truncated)
	}
	l = listing(t, s.Store, artifacts.ListOptions{Max: 200})
	if !slices.Equal(keysOf(l), keys[:200]) || !l.Truncated || l.Next != keys[199] {
		t.Errorf("List with Max 200: %d keys, truncated %v, next %q", len(l.Objects), l.Truncated, l.Next)
	}
	l = listing(t, s.Store, artifacts.ListOptions{Delimiter: "/"})
	if want := []string{"/", "x/", "xx/", "xxx/", "xxxx/", "xxxxx/", "xxxxxx/"}; !slices.Equal(l.CommonPrefixes, want) || len(l.Objects) != 0 {
		t.Errorf("List by / = %q %q", keysOf(l), l.CommonPrefixes)
	}
}
