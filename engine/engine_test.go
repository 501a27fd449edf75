package engine_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pipewright/pipewright/engine"
)

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestOneKeyNeverRunsConcurrentlyAndWakesCoalesce(t *testing.T) {
	e := engine.New(4, nil)
	var running, maxRunning, runs atomic.Int32
	release := make(chan struct{})
	e.Register("k", func(ctx context.Context, key string) (time.Time, error) {
		n := running.Add(1)
		for {
			m := maxRunning.Load()
			if n <= m || maxRunning.CompareAndSwap(m, n) {
				break
			}
		}
		if runs.Add(1) == 1 {
			<-release
		}
		running.Add(-1)
		return time.Time{}, nil
	})
	e.Start()
	defer e.Stop()
	e.Wake("k", "p")
	waitFor(t, "first run", func() bool { return runs.Load() == 1 })
	for i := 0; i < 100; i++ {
		e.Wake("k", "p")
	}
	close(release)
	waitFor(t, "the coalesced rerun", func() bool { return runs.Load() == 2 })
	time.Sleep(50 * time.Millisecond)
	if runs.Load() != 2 || maxRunning.Load() != 1 {
		t.Fatalf("runs=%d maxConcurrent=%d: wakes during a run must coalesce into one rerun, never run concurrently", runs.Load(), maxRunning.Load())
	}
}

func TestDifferentKeysRunInParallel(t *testing.T) {
	e := engine.New(2, nil)
	var wg sync.WaitGroup
	wg.Add(2)
	both := make(chan struct{})
	var n atomic.Int32
	e.Register("k", func(ctx context.Context, key string) (time.Time, error) {
		if n.Add(1) == 2 {
			close(both)
		}
		select {
		case <-both:
		case <-time.After(5 * time.Second):
			t.Error("keys did not run in parallel")
		}
		wg.Done()
		return time.Time{}, nil
	})
	e.Start()
	defer e.Stop()
	e.Wake("k", "a")
	e.Wake("k", "b")
	wg.Wait()
}

func TestTimersAndRetries(t *testing.T) {
	e := engine.New(1, nil)
	var calls atomic.Int32
	var mu sync.Mutex
	var due, ran time.Time
	e.Register("timer", func(ctx context.Context, key string) (time.Time, error) {
		mu.Lock()
		defer mu.Unlock()
		if calls.Add(1) == 1 {
			due = time.Now().Add(30 * time.Millisecond)
			return due, nil
		}
		ran = time.Now()
		return time.Time{}, nil
	})
	var fails atomic.Int32
	e.Register("flaky", func(ctx context.Context, key string) (time.Time, error) {
		if fails.Add(1) < 3 {
			return time.Time{}, errors.New("transient")
		}
		return time.Time{}, nil
	})
	e.Start()
	defer e.Stop()
	e.Wake("timer", "x")
	waitFor(t, "the timer", func() bool { return calls.Load() == 2 })
	mu.Lock()
	if ran.Before(due) {
		t.Errorf("the timer ran the handler at %v, before the time it returned, %v", ran, due)
	}
	mu.Unlock()
	e.Wake("flaky", "y")
	waitFor(t, "retries after errors", func() bool { return fails.Load() == 3 })

	// An earlier WakeAt wins over a later one.
	var fired atomic.Int64
	e.Register("early", func(ctx context.Context, key string) (time.Time, error) {
		fired.Store(time.Now().UnixNano())
		return time.Time{}, nil
	})
	t0 := time.Now()
	e.WakeAt("early", "z", t0.Add(time.Hour))
	e.WakeAt("early", "z", t0.Add(20*time.Millisecond))
	waitFor(t, "the earlier timer", func() bool { return fired.Load() != 0 })
}

func TestStopWaitsForRunningHandlers(t *testing.T) {
	e := engine.New(1, nil)
	var done atomic.Bool
	started := make(chan struct{})
	e.Register("k", func(ctx context.Context, key string) (time.Time, error) {
		close(started)
		<-ctx.Done()
		time.Sleep(20 * time.Millisecond)
		done.Store(true)
		return time.Time{}, nil
	})
	e.Start()
	e.Wake("k", "p")
	<-started
	e.Stop()
	if !done.Load() {
		t.Fatal("Stop returned before the running handler")
	}
	e.Stop()
	e.Wake("k", "p")
	if e.Boot() == "" {
		t.Fatal("empty boot id")
	}
}

// TestPanicIsReportedNotRetried: a handler that panics takes neither the
// engine nor other keys down, is logged, and runs again only when woken.
func TestPanicIsReportedNotRetried(t *testing.T) {
	var logged strings.Builder
	var logMu sync.Mutex
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		logMu.Lock()
		defer logMu.Unlock()
		return logged.Write(p)
	}), nil))
	e := engine.New(2, log)
	var panics, others atomic.Int32
	e.Register("k", func(ctx context.Context, key string) (time.Time, error) {
		if key == "bad" {
			panics.Add(1)
			panic("corrupt record")
		}
		others.Add(1)
		return time.Time{}, nil
	})
	e.Start()
	defer e.Stop()
	e.Wake("k", "bad")
	waitFor(t, "the panic", func() bool { return panics.Load() == 1 })
	e.Wake("k", "good")
	waitFor(t, "another key", func() bool { return others.Load() == 1 })
	// A retry would come after the first backoff (100ms); a timer of the
	// engine's own, three times that, orders this check after it.
	e.WakeAt("k", "good", time.Now().Add(300*time.Millisecond))
	waitFor(t, "the good key's timer", func() bool { return others.Load() == 2 })
	if n := panics.Load(); n != 1 {
		t.Fatalf("the panicking key ran %d times without being woken", n)
	}
	e.Wake("k", "bad")
	waitFor(t, "the woken key", func() bool { return panics.Load() == 2 })
	logMu.Lock()
	defer logMu.Unlock()
	if !strings.Contains(logged.String(), "corrupt record") || !strings.Contains(logged.String(), "reconcile panicked") {
		t.Fatalf("panic not logged:\n%s", logged.String())
	}
}

// TestStopCancelsQuietly: a handler cancelled by Stop logs no failure.
func TestStopCancelsQuietly(t *testing.T) {
	var logged strings.Builder
	var logMu sync.Mutex
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		logMu.Lock()
		defer logMu.Unlock()
		return logged.Write(p)
	}), nil))
	e := engine.New(1, log)
	entered := make(chan struct{})
	e.Register("k", func(ctx context.Context, key string) (time.Time, error) {
		close(entered)
		<-ctx.Done()
		return time.Time{}, ctx.Err()
	})
	e.Start()
	e.Wake("k", "p")
	<-entered
	e.Stop()
	logMu.Lock()
	defer logMu.Unlock()
	if strings.Contains(logged.String(), "level=ERROR") {
		t.Fatalf("a clean stop logged an error:\n%s", logged.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
