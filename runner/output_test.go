package runner

import (
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestOutputLines(t *testing.T) {
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []Line
	o := newOutput(func(l Line) {
		mu.Lock()
		got = append(got, l)
		mu.Unlock()
	}, outR, errR)
	go func() {
		outW.WriteString("a\r\nb\n\n" + strings.Repeat("x", MaxLineLength+1) + "\npartial")
		outW.Close()
	}()
	errW.WriteString("e1\ne2")
	errW.Close()
	o.drain(time.Second, 5*time.Second)
	var out, errs []string
	for _, l := range got {
		if l.Time.IsZero() {
			t.Errorf("line %q without time", l.Text)
		}
		if l.Stream == "stdout" {
			out = append(out, l.Text)
		} else {
			errs = append(errs, l.Text)
		}
	}
	want := []string{"a", "b", "", strings.Repeat("x", MaxLineLength), "x", "partial"}
	if strings.Join(out, "|") != strings.Join(want, "|") {
		t.Errorf("stdout lines %q", out)
	}
	if strings.Join(errs, "|") != "e1|e2" {
		t.Errorf("stderr lines %q", errs)
	}
}

func TestOutputDrainClosesIdlePipe(t *testing.T) {
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer outW.Close()
	errR, errW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	errW.Close()
	var n int
	var mu sync.Mutex
	o := newOutput(func(Line) { mu.Lock(); n++; mu.Unlock() }, outR, errR)
	outW.WriteString("before\nhalf")
	time.Sleep(50 * time.Millisecond)
	t0 := time.Now()
	o.drain(100*time.Millisecond, 5*time.Second)
	if d := time.Since(t0); d > time.Second {
		t.Errorf("drain took %s with a pipe held open", d)
	}
	mu.Lock()
	defer mu.Unlock()
	if n != 2 {
		t.Errorf("delivered %d lines, want 2", n)
	}
}
