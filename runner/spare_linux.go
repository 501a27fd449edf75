package runner

import (
	"log/slog"
	"sync"
)

// spares keeps one job init helper started ahead of need, waiting for a
// spec in its own namespaces, so that starting an isolated tree does not
// wait for the helper's exec and the start of its runtime: a few
// milliseconds, most of what isolation would add to a start. A helper
// serves one tree; its namespaces are made for it when it starts.
type spares struct {
	log *slog.Logger

	mu      sync.Mutex
	ready   *initLink // nil while none is ready
	filling bool      // a helper is being started for ready
	enabled bool      // spares are kept (once isolation by namespaces is known to work)
	closed  bool
}

// enable starts keeping a spare.
func (s *spares) enable() {
	s.mu.Lock()
	s.enabled = true
	s.mu.Unlock()
	s.refill()
}

// take returns the ready helper (spare reports it), or a new one when none
// is ready. The caller refills once the tree it takes the helper for runs,
// so that starting the next spare does not compete with that start.
func (s *spares) take() (l *initLink, spare bool, err error) {
	s.mu.Lock()
	l, s.ready = s.ready, nil
	s.mu.Unlock()
	if l != nil {
		return l, true, nil
	}
	l, err = spawnHelper(namespaceAttr())
	return l, false, err
}

// refill starts a spare in the background unless one is ready, being
// started, or the spares are closed.
func (s *spares) refill() {
	s.mu.Lock()
	if s.filling || s.closed || !s.enabled || s.ready != nil {
		s.mu.Unlock()
		return
	}
	s.filling = true
	s.mu.Unlock()
	go func() {
		l, err := spawnHelper(namespaceAttr())
		s.mu.Lock()
		s.filling = false
		keep := err == nil && !s.closed && s.ready == nil
		if keep {
			s.ready = l
		}
		s.mu.Unlock()
		switch {
		case err != nil:
			s.log.Warn("runner: starting a spare job init helper", "err", err)
		case !keep:
			l.discard()
		}
	}()
}

// close discards the ready spare and starts no more.
func (s *spares) close() {
	s.mu.Lock()
	l := s.ready
	s.ready, s.closed = nil, true
	s.mu.Unlock()
	if l != nil {
		l.discard()
	}
}
