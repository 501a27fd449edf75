package engine_test

import (
	"context"
	"errors"
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
