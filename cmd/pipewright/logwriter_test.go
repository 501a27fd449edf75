package main

import (
	"strings"
	"sync"
	"testing"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestLogWriterKeepsOrderAndWritesWarningsAtOnce: a warning or error line
// is written when it is logged, with every line before it, in order; Close
// writes the rest.
func TestLogWriterKeepsOrderAndWritesWarningsAtOnce(t *testing.T) {
	for _, lines := range [][]string{
		{"time=t level=INFO msg=one\n", "time=t level=INFO msg=two\n", "time=t level=ERROR msg=three\n", "time=t level=INFO msg=four\n"},
		{`{"level":"INFO","msg":"one"}` + "\n", `{"level":"INFO","msg":"two"}` + "\n", `{"level":"WARN","msg":"three"}` + "\n", `{"level":"INFO","msg":"four"}` + "\n"},
	} {
		out := &lockedBuffer{}
		w := newLogWriter(out)
		for _, l := range lines[:3] {
			w.Write([]byte(l))
		}
		if got, want := out.String(), strings.Join(lines[:3], ""); got != want {
			t.Fatalf("after the warning: %q, want %q", got, want)
		}
		w.Write([]byte(lines[3]))
		w.Close()
		if got, want := out.String(), strings.Join(lines, ""); got != want {
			t.Fatalf("after Close: %q, want %q", got, want)
		}
	}
}

// TestLogWriterBoundsWhatWaits: lines never wait beyond logBufferMax bytes.
func TestLogWriterBoundsWhatWaits(t *testing.T) {
	out := &lockedBuffer{}
	w := newLogWriter(out)
	defer w.Close()
	line := strings.Repeat("x", 999) + "\n"
	for i := 0; i < logBufferMax/len(line)+1; i++ {
		w.Write([]byte(line))
	}
	if n := len(out.String()); n < logBufferMax {
		t.Fatalf("%d bytes written after more than %d were logged", n, logBufferMax)
	}
}
