package runner

import (
	"errors"
	"os"
	"strings"
	"sync"
	"syscall"
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

// TestOutputDrainClosesIdlePipe: a pipe that some process outside the tree
// keeps open is closed once its reader waited idle for data; the partial
// line read so far is still delivered. drain's max is an hour, so drain
// returning at all shows that the idle rule closed the pipe.
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
	delivered := make(chan string, 4)
	o := newOutput(func(l Line) { delivered <- l.Text }, outR, errR)
	if _, err := outW.WriteString("before\nhalf"); err != nil {
		t.Fatal(err)
	}
	select {
	case l := <-delivered:
		if l != "before" {
			t.Fatalf("first line %q, want \"before\"", l)
		}
	case <-time.After(waitBound):
		t.Fatal("the first line was never delivered")
	}
	waitDone(t, goDone(func() { o.drain(100*time.Millisecond, time.Hour) }), "drain to close the idle pipe")
	close(delivered)
	var rest []string
	for l := range delivered {
		rest = append(rest, l)
	}
	if strings.Join(rest, "|") != "half" {
		t.Errorf("after the first line, delivered %q, want the partial line \"half\"", rest)
	}
	if _, err := outW.WriteString("more"); !errors.Is(err, syscall.EPIPE) {
		t.Errorf("writing to the drained pipe: %v, want EPIPE (its read end closed)", err)
	}
}
