package server

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// connLimiter keeps the connections a server holds at or below max, so that
// no number of clients can take all of its file descriptors. A connection
// holds a slot from its admission to its Close. When every slot is taken, a
// new connection takes the slot of the connection that has been idle
// longest (a connection is idle while no request is in progress on it:
// before its first request and between kept-alive requests), which is
// closed; idle clients therefore cannot keep others out. When every slot
// has a request in progress, the new connection waits up to wait for a
// slot, and is closed unanswered if none frees. Admission runs in the
// accept loop, so at most one connection beyond max is open at any time and
// the rest wait in the kernel's listen backlog.
type connLimiter struct {
	max  int
	wait time.Duration
	log  *slog.Logger

	mu      sync.Mutex
	conns   map[*limitedConn]struct{} // the connections holding a slot
	changed chan struct{}             // closed and replaced when a slot frees or a connection becomes idle
}

func newConnLimiter(max int, wait time.Duration, log *slog.Logger) *connLimiter {
	return &connLimiter{max: max, wait: wait, log: log, conns: map[*limitedConn]struct{}{}, changed: make(chan struct{})}
}

// listener returns ln with admission: its Accept returns only connections
// that hold a slot.
func (l *connLimiter) listener(ln net.Listener) net.Listener {
	return &limitedListener{Listener: ln, lim: l, closed: make(chan struct{})}
}

// track is the http.Server's ConnState hook: it tells idle connections
// from busy ones.
func (l *connLimiter) track(c net.Conn, st http.ConnState) {
	lc, ok := c.(*limitedConn)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch st {
	case http.StateActive:
		lc.idle = false
	case http.StateNew, http.StateIdle:
		lc.idle, lc.since = true, time.Now()
		l.signalLocked()
	}
}

// admit gives c a slot, evicting the longest idle connection if it must,
// or waits for one until the limiter's wait has passed or closed is
// closed. It returns nil when c was refused; c is closed then.
func (l *connLimiter) admit(c net.Conn, closed <-chan struct{}) net.Conn {
	var timeout <-chan time.Time
	for {
		l.mu.Lock()
		victim, ok := l.slotLocked()
		if ok {
			lc := &limitedConn{Conn: c, lim: l, idle: true, since: time.Now()}
			l.conns[lc] = struct{}{}
			l.mu.Unlock()
			if victim != nil {
				victim.Close()
				l.log.Debug("idle connection closed to make room for a new one", "remote", victim.RemoteAddr().String(), "maxConns", l.max)
			}
			return lc
		}
		changed := l.changed
		l.mu.Unlock()
		if timeout == nil {
			t := time.NewTimer(l.wait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-changed:
		case <-timeout:
			c.Close()
			l.log.Warn("connection refused: every connection slot has a request in progress", "remote", c.RemoteAddr().String(), "maxConns", l.max, "waited", l.wait)
			return nil
		case <-closed:
			c.Close()
			return nil
		}
	}
}

// slotLocked reports whether a new connection can have a slot, and the
// idle connection it must take it from (nil when a slot is free). The
// victim is no longer counted; the caller closes it.
func (l *connLimiter) slotLocked() (victim *limitedConn, ok bool) {
	if len(l.conns) < l.max {
		return nil, true
	}
	for c := range l.conns {
		if c.idle && (victim == nil || c.since.Before(victim.since)) {
			victim = c
		}
	}
	if victim == nil {
		return nil, false
	}
	delete(l.conns, victim)
	return victim, true
}

// release frees c's slot, unless it was taken from it already.
func (l *connLimiter) release(c *limitedConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.conns, c)
	l.signalLocked()
}

func (l *connLimiter) signalLocked() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// limitedListener is a listener whose connections hold slots of lim.
type limitedListener struct {
	net.Listener
	lim    *connLimiter
	closed chan struct{}
	once   sync.Once
}

// Accept returns the next connection that was given a slot.
func (ln *limitedListener) Accept() (net.Conn, error) {
	for {
		c, err := ln.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if lc := ln.lim.admit(c, ln.closed); lc != nil {
			return lc, nil
		}
	}
}

// Close closes the listener and refuses the connection waiting for a slot.
func (ln *limitedListener) Close() error {
	ln.once.Do(func() { close(ln.closed) })
	return ln.Listener.Close()
}

// limitedConn is a connection that holds a slot until it is closed.
type limitedConn struct {
	net.Conn
	lim   *connLimiter
	idle  bool      // guarded by lim.mu
	since time.Time // guarded by lim.mu: when it last became idle
	once  sync.Once
}

// Close closes the connection, then frees its slot.
func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.lim.release(c) })
	return err
}

// ReadFrom hands large answers (S3 objects) to the connection's own
// ReadFrom, so that files go out by sendfile.
func (c *limitedConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(onlyWriter{c.Conn}, r)
}

// onlyWriter hides everything of a writer but Write, so that io.Copy does
// not come back to ReadFrom.
type onlyWriter struct{ w io.Writer }

func (o onlyWriter) Write(p []byte) (int, error) { return o.w.Write(p) }
