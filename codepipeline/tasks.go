package codepipeline

import (
	"context"
	"sync"
)

// tasks tracks the source actions this life runs in-process (they need no
// process tree of their own), so that a deleted pipeline and a shutdown
// cancel them.
type tasks struct {
	mu      sync.Mutex
	live    map[string]task
	closing bool
	wg      sync.WaitGroup
}

type task struct {
	pipeline string
	cancel   context.CancelFunc
}

func newTasks() *tasks { return &tasks{live: map[string]task{}} }

// add registers a task; it returns false when the server is shutting down.
func (t *tasks) add(id, pipeline string, cancel context.CancelFunc) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing {
		return false
	}
	if _, dup := t.live[id]; dup {
		return false
	}
	t.live[id] = task{pipeline: pipeline, cancel: cancel}
	t.wg.Add(1)
	return true
}

func (t *tasks) done(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.live[id]; ok {
		delete(t.live, id)
		t.wg.Done()
	}
}

// cancel cancels one task.
func (t *tasks) cancel(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if tk, ok := t.live[id]; ok {
		tk.cancel()
	}
}

// cancelPipeline cancels the tasks of one pipeline.
func (t *tasks) cancelPipeline(pipeline string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tk := range t.live {
		if tk.pipeline == pipeline {
			tk.cancel()
		}
	}
}

// closeAll cancels every task and waits until each returned.
func (t *tasks) closeAll() {
	t.mu.Lock()
	t.closing = true
	for _, tk := range t.live {
		tk.cancel()
	}
	t.mu.Unlock()
	t.wg.Wait()
}
