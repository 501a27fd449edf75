package main

import (
	"bytes"
	"io"
	"sync"
	"time"
)

// Bounds of logWriter: lines wait at most logFlushEvery, and no more than
// logBufferMax bytes wait.
const (
	logFlushEvery = 50 * time.Millisecond
	logBufferMax  = 64 << 10
)

// logWriter is the server's log output: it gathers the lines of a busy
// server (one per request) into few writes. Warnings and errors are
// written at once, with what came before them; other lines within
// logFlushEvery. A kill -9 can lose at most that much of the latest info
// lines; Close writes out everything.
type logWriter struct {
	mu   sync.Mutex
	w    io.Writer
	buf  []byte
	stop chan struct{}
	done chan struct{}
}

func newLogWriter(w io.Writer) *logWriter {
	l := &logWriter{w: w, stop: make(chan struct{}), done: make(chan struct{})}
	go l.loop()
	return l
}

// Write takes one line (slog writes each record with one call).
func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	if len(l.buf) >= logBufferMax || urgent(p) {
		l.flushLocked()
	}
	return len(p), nil
}

// urgent reports whether a line is a warning or an error, in either format.
func urgent(p []byte) bool {
	return bytes.Contains(p, []byte("level=ERROR")) || bytes.Contains(p, []byte("level=WARN")) ||
		bytes.Contains(p, []byte(`"level":"ERROR"`)) || bytes.Contains(p, []byte(`"level":"WARN"`))
}

func (l *logWriter) flushLocked() {
	if len(l.buf) > 0 {
		l.w.Write(l.buf)
		l.buf = l.buf[:0]
	}
}

func (l *logWriter) loop() {
	defer close(l.done)
	t := time.NewTicker(logFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.mu.Lock()
			l.flushLocked()
			l.mu.Unlock()
		}
	}
}

// Close writes out what waits and stops the flushing.
func (l *logWriter) Close() error {
	close(l.stop)
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	l.flushLocked()
	return nil
}
