package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// HTTPLimits bounds what one client can hold of the server: a connection,
// its file descriptor, a handler waiting for a body, the writer of an
// answer. A zero field takes its default. The defaults are far beyond what
// an SDK, the aws CLI or boto3 needs (their requests and answers are small
// JSON documents sent at once), so only a stalled, trickling or idle client
// ever meets them.
type HTTPLimits struct {
	// ReadHeaderTimeout bounds the time from a connection's start, or from
	// the first byte of its next request, to the end of the request's
	// headers (default 10 s).
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds the time from the same start to the end of the
	// body; a body that has not arrived by then is answered 408
	// RequestTimeoutException and the connection is closed, however
	// steadily its bytes trickle (default 60 s, enough for the largest
	// accepted body over a slow link).
	ReadTimeout time.Duration
	// WriteTimeout bounds the time from the end of a request's headers to
	// the end of its answer; a client that does not read its answer loses
	// the connection then (default 60 s).
	WriteTimeout time.Duration
	// IdleTimeout bounds how long a kept-alive connection waits for its
	// next request (default 120 s: longer than the 90 s after which
	// aws-sdk-go-v2 and Go's HTTP client drop idle connections themselves,
	// so that they, not the server, close them).
	IdleTimeout time.Duration
	// MaxConns is the most connections served at once (default 512). When
	// all are taken, a new connection takes the slot of the one that has
	// waited longest without a request in progress, and that one is
	// closed; when every slot has a request in progress, the new
	// connection waits up to ConnWait for one and is then closed.
	MaxConns int
	// ConnWait is how long a connection beyond MaxConns waits for a slot
	// (default 1 s).
	ConnWait time.Duration
}

// withDefaults returns l with every zero field set to its default.
func (l HTTPLimits) withDefaults() HTTPLimits {
	set := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	set(&l.ReadHeaderTimeout, 10*time.Second)
	set(&l.ReadTimeout, 60*time.Second)
	set(&l.WriteTimeout, 60*time.Second)
	set(&l.IdleTimeout, 120*time.Second)
	set(&l.ConnWait, time.Second)
	if l.MaxConns <= 0 {
		l.MaxConns = 512
	}
	return l
}

// httpFront is the server's HTTP side: the http.Server with its timeouts
// and root router, and the connection limit it puts on a listener.
type httpFront struct {
	srv     *http.Server
	limiter *connLimiter
	idle    *idleMemory
}

// newHTTPFront returns the HTTP side over api, the awsJson1_1 handler,
// and s3, the S3 endpoint.
func newHTTPFront(api, s3 http.Handler, pages *links, limits HTTPLimits, log *slog.Logger) *httpFront {
	limits = limits.withDefaults()
	f := &httpFront{limiter: newConnLimiter(limits.MaxConns, limits.ConnWait, log)}
	f.idle = newIdleMemory(&router{api: api, s3: s3, links: pages, log: log})
	f.srv = &http.Server{
		Handler:           f.idle,
		ReadHeaderTimeout: limits.ReadHeaderTimeout,
		ReadTimeout:       limits.ReadTimeout,
		WriteTimeout:      limits.WriteTimeout,
		IdleTimeout:       limits.IdleTimeout,
		ConnState:         f.limiter.track,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return f
}

// serve answers requests on ln until shutdown, then returns nil.
func (f *httpFront) serve(ln net.Listener) error {
	err := f.srv.Serve(f.limiter.listener(ln))
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// shutdown stops accepting connections and waits up to grace for the
// requests in progress; then it closes whatever connections are left.
func (f *httpFront) shutdown(grace time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := f.srv.Shutdown(ctx); err != nil {
		f.srv.Close()
	}
	f.idle.close()
}
