// Package engine is pipewright's execution core: it runs a service's
// reconcile handler for a key (a pipeline, a build, a deployment) whenever
// something changed it or a timer it asked for fires. Handlers are
// level-triggered: they read the recorded state and carry it forward, so a
// wake-up that is coalesced, repeated or replayed after a restart is harmless.
//
// Lifecycle: New, Register every kind, Start; Wake and WakeAt may be called
// from any goroutine at any time after New; Stop waits for the handlers that
// are running and drops the rest (a restart reconciles everything again).
// One key never runs concurrently with itself; different keys run on up to
// Workers goroutines at once.
package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"
)

// Handler reconciles one key. It returns when it next wants to run (zero for
// no timer) or an error, after which it runs again with a backoff. A
// handler that panics is not run again for that key until the key is woken
// again: a panic is a bug that repeating cannot fix, and the server must
// neither die of it nor spin on it.
type Handler func(ctx context.Context, key string) (wakeAt time.Time, err error)

type item struct{ kind, key string }

type entry struct {
	queued, running, dirty bool
	timer                  *time.Timer
	timerAt                time.Time
	failures               int
}

// Engine schedules reconcile handlers.
type Engine struct {
	log      *slog.Logger
	boot     string
	workers  int
	handlers map[string]Handler

	mu      sync.Mutex
	cond    *sync.Cond
	queue   []item
	entries map[item]*entry
	stopped bool

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns an engine with the given number of workers.
func New(workers int, log *slog.Logger) *Engine {
	if workers < 1 {
		workers = 1
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var b [8]byte
	rand.Read(b[:])
	e := &Engine{log: log, boot: hex.EncodeToString(b[:]), workers: workers, handlers: map[string]Handler{}, entries: map[item]*entry{}}
	e.cond = sync.NewCond(&e.mu)
	e.ctx, e.cancel = context.WithCancel(context.Background())
	return e
}

// Boot identifies this life of the server: work started by another boot
// lost its processes.
func (e *Engine) Boot() string { return e.boot }

// Register sets the handler for a kind of key. Call it before Start.
func (e *Engine) Register(kind string, h Handler) { e.handlers[kind] = h }

// Start starts the workers.
func (e *Engine) Start() {
	for i := 0; i < e.workers; i++ {
		e.wg.Add(1)
		go e.work()
	}
}

// Stop stops the workers once the handlers running now return, and cancels
// the context they run with.
func (e *Engine) Stop() {
	e.mu.Lock()
	if e.stopped {
		e.mu.Unlock()
		return
	}
	e.stopped = true
	for _, en := range e.entries {
		if en.timer != nil {
			en.timer.Stop()
		}
	}
	e.cond.Broadcast()
	e.mu.Unlock()
	e.cancel()
	e.wg.Wait()
}

// Wake asks for the key to be reconciled soon.
func (e *Engine) Wake(kind, key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.wakeLocked(item{kind, key})
}

func (e *Engine) wakeLocked(it item) {
	if e.stopped {
		return
	}
	en := e.entries[it]
	if en == nil {
		en = &entry{}
		e.entries[it] = en
	}
	switch {
	case en.running:
		en.dirty = true
	case !en.queued:
		en.queued = true
		e.queue = append(e.queue, it)
		e.cond.Signal()
	}
}

// WakeAt asks for the key to be reconciled at t (at once if t has passed).
// An earlier pending timer of the key wins over a later one.
func (e *Engine) WakeAt(kind, key string, t time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.wakeAtLocked(item{kind, key}, t)
}

func (e *Engine) wakeAtLocked(it item, t time.Time) {
	if e.stopped {
		return
	}
	en := e.entries[it]
	if en == nil {
		en = &entry{}
		e.entries[it] = en
	}
	if en.timer != nil && !en.timerAt.After(t) {
		return
	}
	if en.timer != nil {
		en.timer.Stop()
	}
	en.timerAt = t
	en.timer = time.AfterFunc(time.Until(t), func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		if cur := e.entries[it]; cur != nil && cur.timerAt.Equal(t) {
			cur.timer = nil
			cur.timerAt = time.Time{}
		}
		e.wakeLocked(it)
	})
}

func (e *Engine) work() {
	defer e.wg.Done()
	for {
		e.mu.Lock()
		for len(e.queue) == 0 && !e.stopped {
			e.cond.Wait()
		}
		if e.stopped {
			e.mu.Unlock()
			return
		}
		it := e.queue[0]
		e.queue = e.queue[1:]
		en := e.entries[it]
		en.queued, en.running = false, true
		e.mu.Unlock()

		at, panicked, err := e.run(it)

		e.mu.Lock()
		en.running = false
		switch {
		case panicked:
			en.failures = 0
		case err != nil && e.stopped && errors.Is(err, context.Canceled):
			// The engine is stopping and cancelled the handler itself:
			// nothing failed, a restart reconciles everything again.
		case err != nil:
			en.failures++
			backoff := time.Duration(1<<min(en.failures, 7)) * 50 * time.Millisecond
			e.log.Error("reconcile failed", "kind", it.kind, "key", it.key, "err", err, "retryIn", backoff)
			e.wakeAtLocked(it, time.Now().Add(backoff))
		default:
			en.failures = 0
			if !at.IsZero() {
				e.wakeAtLocked(it, at)
			}
		}
		if en.dirty {
			en.dirty = false
			e.wakeLocked(it)
		}
		if !en.queued && !en.running && en.timer == nil {
			delete(e.entries, it)
		}
		e.mu.Unlock()
	}
}

// run runs the handler of it, turning a panic into a logged report.
func (e *Engine) run(it item) (at time.Time, panicked bool, err error) {
	h := e.handlers[it.kind]
	if h == nil {
		e.log.Error("no handler", "kind", it.kind)
		return time.Time{}, false, nil
	}
	defer func() {
		if p := recover(); p != nil {
			e.log.Error("reconcile panicked; the key is not retried until woken again", "kind", it.kind, "key", it.key, "panic", p, "stack", string(debug.Stack()))
			at, panicked, err = time.Time{}, true, nil
		}
	}()
	at, err = h(e.ctx, it.key)
	return at, false, err
}
