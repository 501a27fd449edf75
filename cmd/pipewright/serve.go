package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/pipewright/pipewright/server"
)

// serve runs the server until ctx is done, then shuts it down cleanly. It
// binds its address before it writes anything: when the address cannot be
// had, the data directory is left as it was.
func serve(ctx context.Context, c Config, out, logOut io.Writer) error {
	lw := newLogWriter(logOut)
	defer lw.Close()
	log := newLogger(c, lw)
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return listenError(c.Addr, err)
	}
	if err := os.MkdirAll(c.Data, 0o700); err != nil {
		ln.Close()
		return err
	}
	kp, generated, err := loadKeys(c.Data)
	if err != nil {
		ln.Close()
		return err
	}
	srv, err := server.Open(ctx, server.Config{
		Data: c.Data, GitRoot: c.GitRoot, Region: c.Region, AccountID: c.AccountID, StopGrace: c.StopGrace, Retention: c.Retention, MaxBuilds: c.MaxBuilds, JobUser: c.JobUser,
		BuildUsers: c.BuildUsers, AccessKeyID: kp.AccessKeyID, SecretAccessKey: kp.SecretAccessKey, Log: log,
	})
	if err != nil {
		ln.Close()
		return err
	}
	c.Addr = ln.Addr().String()
	if generated {
		fmt.Fprintf(out, "Generated a key pair in %s. Paste this line into your shell:\n", filepath.Join(c.Data, credentialsFile))
	} else {
		fmt.Fprintln(out, "To use the aws CLI or an SDK with this server:")
	}
	writeExports(out, kp, c)
	log.Info("pipewright listening", "addr", c.Addr, "data", c.Data, "region", c.Region, "containment", srv.Containment(), "isolation", srv.Isolation())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-errc:
		srv.Close()
		return err
	}
	return srv.Close()
}

// listenError says why addr could not be bound, and what to do about a
// port in use.
func listenError(addr string, err error) error {
	msg := err.Error()
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		msg = op.Err.Error()
		msg = strings.TrimPrefix(msg, "bind: ")
	}
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("cannot listen on %s: %s (another server has it; choose another --addr)", addr, msg)
	}
	return fmt.Errorf("cannot listen on %s: %s", addr, msg)
}

// newLogger returns the server's logger: c.LogFormat lines at c.LogLevel
// and above, written to w.
func newLogger(c Config, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(c.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
