package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/pipewright/pipewright/server"
)

// serve runs the server until ctx is done, then shuts it down cleanly.
func serve(ctx context.Context, c Config, out io.Writer) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if err := os.MkdirAll(c.Data, 0o700); err != nil {
		return err
	}
	kp, generated, err := loadKeys(c.Data)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}
	srv, err := server.Open(ctx, server.Config{
		Data: c.Data, GitRoot: c.GitRoot, Region: c.Region, AccountID: c.AccountID, StopGrace: c.StopGrace, JobUser: c.JobUser,
		AccessKeyID: kp.AccessKeyID, SecretAccessKey: kp.SecretAccessKey, Log: log,
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
