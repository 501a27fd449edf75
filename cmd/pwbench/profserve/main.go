// Command profserve is `pipewright serve` with profiling hooks, for
// pwbench -pprof only: the same server.Open/Serve/Close with the same
// flags and keys as cmd/pipewright, plus, on PWBENCH_PPROF_ADDR, the
// net/http/pprof handlers and /pwbench/{cpu,trace}/{start,stop}?file=PATH to
// profile exactly the span of one figure. The figures pwbench reports come
// from the real binary; this one only tells where the time goes.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	rpprof "runtime/pprof"
	"runtime/trace"
	"sync"
	"syscall"
	"time"

	"github.com/pipewright/pipewright/server"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "profserve:", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) < 2 || os.Args[1] != "serve" {
		return fmt.Errorf("usage: profserve serve [--addr A] [--data D] [--stop-grace G]")
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:7600", "")
	data := fs.String("data", "./.pipewright", "")
	grace := fs.Duration("stop-grace", 10*time.Second, "")
	if err := fs.Parse(os.Args[2:]); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv, err := server.Open(ctx, server.Config{
		Data: *data, GitRoot: filepath.Join(*data, "git"), Region: "us-east-1", AccountID: "000000000000", StopGrace: *grace,
		AccessKeyID: os.Getenv("PIPEWRIGHT_ACCESS_KEY_ID"), SecretAccessKey: os.Getenv("PIPEWRIGHT_SECRET_ACCESS_KEY"), Log: log,
	})
	if err != nil {
		return err
	}
	if pa := os.Getenv("PWBENCH_PPROF_ADDR"); pa != "" {
		runtime.SetBlockProfileRate(int((100 * time.Microsecond).Nanoseconds()))
		runtime.SetMutexProfileFraction(10)
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		var mu sync.Mutex
		var cpuFile, traceFile *os.File
		startStop := func(kind string, start bool, path string) error {
			mu.Lock()
			defer mu.Unlock()
			switch {
			case kind == "cpu" && start:
				f, err := os.Create(path)
				if err != nil {
					return err
				}
				cpuFile = f
				return rpprof.StartCPUProfile(f)
			case kind == "cpu" && cpuFile != nil:
				rpprof.StopCPUProfile()
				err := cpuFile.Close()
				cpuFile = nil
				return err
			case kind == "trace" && start:
				f, err := os.Create(path)
				if err != nil {
					return err
				}
				traceFile = f
				return trace.Start(f)
			case kind == "trace" && traceFile != nil:
				trace.Stop()
				err := traceFile.Close()
				traceFile = nil
				return err
			}
			return nil
		}
		for _, kind := range []string{"cpu", "trace"} {
			for _, op := range []string{"start", "stop"} {
				mux.HandleFunc("/pwbench/"+kind+"/"+op, func(w http.ResponseWriter, r *http.Request) {
					if err := startStop(kind, op == "start", r.URL.Query().Get("file")); err != nil {
						http.Error(w, err.Error(), http.StatusInternalServerError)
					}
				})
			}
		}
		go http.ListenAndServe(pa, mux)
	}
	fmt.Printf("profserve listening on %s (containment %s)\n", ln.Addr(), srv.Containment())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-errc:
		srv.Close()
		return err
	}
	return srv.Close()
}
