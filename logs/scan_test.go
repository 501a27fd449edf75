package logs

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestScanForwardBackwardAgree: lines longer than a block, empty lines and
// an incomplete last line read the same both ways.
func TestScanForwardBackwardAgree(t *testing.T) {
	lines := []string{"a", strings.Repeat("x", 3*blockSize+7), "", "b", strings.Repeat("y", blockSize), "c"}
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\npartial"), 0o600); err != nil {
		t.Fatal(err)
	}
	lf, err := openLog(path)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.close()
	var fwd []string
	r := lf.forward(0)
	for {
		line, _, _, ok, err := r.next()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		fwd = append(fwd, string(line))
	}
	end, err := lf.completeEnd()
	if err != nil {
		t.Fatal(err)
	}
	var back []string
	if err := lf.backward(end, func(line []byte, _, _ int64) bool { back = append(back, string(line)); return true }); err != nil {
		t.Fatal(err)
	}
	slices.Reverse(back)
	if !slices.Equal(fwd, lines) || !slices.Equal(back, lines) {
		t.Fatalf("forward %d lines, backward %d, want %d", len(fwd), len(back), len(lines))
	}
	if got, _ := lf.lineStart(3); got != 2 {
		t.Fatalf("lineStart(3) = %d, want 2", got)
	}
}

// TestPattern checks the supported filter pattern forms.
func TestPattern(t *testing.T) {
	cases := []struct {
		pattern, msg string
		want         bool
	}{
		{"", "anything", true},
		{"ERROR", "[ERROR] x", true},
		{"ERROR", "error", false},
		{"ERROR disk", "ERROR: net", false},
		{`"disk full"`, "ERROR disk full now", true},
		{`"disk full"`, "full disk", false},
		{"?WARN ?ERROR", "WARN x", true},
		{"?WARN ?ERROR", "INFO x", false},
		{"ERROR -retry", "ERROR retry 1", false},
		{"ERROR -retry", "ERROR final", true},
	}
	for _, c := range cases {
		p, err := parsePattern(c.pattern)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.match(c.msg); got != c.want {
			t.Errorf("%q on %q: %v", c.pattern, c.msg, got)
		}
	}
	for _, bad := range []string{"{ $.a = 1 }", "[ip, user]", "%err%", `"open`} {
		if _, err := parsePattern(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestAPIFormatRoundTrip: messages with newlines and quotes survive.
func TestAPIFormatRoundTrip(t *testing.T) {
	b := formatAPI(nil, 5, 7, "a\n\"b\"")
	ts, ing, msg := parseAPI(b[:len(b)-1], 0)
	if ts != 5 || ing != 7 || msg != "a\n\"b\"" {
		t.Fatalf("%d %d %q", ts, ing, msg)
	}
	if ts, _, msg := parseAPI([]byte("garbage"), 9); ts != 9 || msg != "garbage" {
		t.Fatalf("damaged line: %d %q", ts, msg)
	}
}
