package server

import (
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// idleAfter is how long the server goes without a new request before it
// hands the memory its last burst of work needed back to the system.
const idleAfter = 3 * time.Second

// idleMemory hands freed memory back to the operating system once the
// server has started no request for idleAfter, once per quiet spell: an
// idle server holds what it uses, not the peak of its last burst (the Go
// runtime alone returns it over minutes).
type idleMemory struct {
	next    http.Handler
	after   time.Duration
	tick    time.Duration
	last    atomic.Int64 // unix nanoseconds of the last request's start
	settled atomic.Bool  // memory was handed back since last
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

func newIdleMemory(next http.Handler) *idleMemory { return watchIdle(next, idleAfter, time.Second) }

// watchIdle is newIdleMemory with its quiet spell and its check interval.
func watchIdle(next http.Handler, after, tick time.Duration) *idleMemory {
	m := &idleMemory{next: next, after: after, tick: tick, stop: make(chan struct{}), done: make(chan struct{})}
	m.last.Store(time.Now().UnixNano())
	go m.watch()
	return m
}

func (m *idleMemory) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.last.Store(time.Now().UnixNano())
	if m.settled.Load() {
		m.settled.Store(false)
	}
	m.next.ServeHTTP(w, r)
}

func (m *idleMemory) watch() {
	defer close(m.done)
	tick := time.NewTicker(m.tick)
	defer tick.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-tick.C:
			if !m.settled.Load() && time.Since(time.Unix(0, m.last.Load())) >= m.after {
				m.settled.Store(true)
				debug.FreeOSMemory()
			}
		}
	}
}

// close ends the watch; it is safe to call more than once.
func (m *idleMemory) close() {
	m.once.Do(func() { close(m.stop) })
	<-m.done
}
