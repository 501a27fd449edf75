package runner

import (
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"
)

// benchStart measures Start until the tree's script runs (its first line
// arrives); waiting for the tree to end, and for the runner's spare job
// init helper to be ready again when warm is set, is not counted.
func benchStart(b *testing.B, opts Options, warm bool) {
	opts.Logger = slog.New(slog.DiscardHandler)
	r, err := New(opts)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	if !warm {
		r.spares.close()
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		for warm && !r.spares.isReady() {
			time.Sleep(time.Millisecond)
		}
		b.StartTimer()
		ran := make(chan struct{}, 1)
		p, err := r.Start(Spec{ID: fmt.Sprintf("bench-%d-%d", os.Getpid(), i), Script: "echo ran", Env: []string{"PATH=/usr/bin:/bin"},
			OnLine: func(Line) { ran <- struct{}{} }})
		if err != nil {
			b.Fatal(err)
		}
		<-ran
		b.StopTimer()
		if res := p.Wait(); res.ExitCode != 0 {
			b.Fatalf("result %+v", res)
		}
		b.StartTimer()
	}
}

// isReady reports whether a spare is ready.
func (s *spares) isReady() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ready != nil
}

// isolatedOptions isolates trees in namespaces, as nobody when the
// benchmark runs as root.
func isolatedOptions() Options {
	opts := Options{Isolation: IsolationNamespaces}
	if os.Geteuid() == 0 {
		opts.JobUser = &nobody
	}
	return opts
}

// BenchmarkStart starts trees without isolation, as before namespaces.
func BenchmarkStart(b *testing.B) { benchStart(b, Options{Isolation: IsolationNone}, false) }

// BenchmarkStartIsolated starts trees in namespaces through a job init
// helper started ahead, as a server does when starts are not back to back.
func BenchmarkStartIsolated(b *testing.B) { benchStart(b, isolatedOptions(), true) }

// BenchmarkStartIsolatedCold starts trees in namespaces through a job init
// helper started for each, as a server does when no spare is ready.
func BenchmarkStartIsolatedCold(b *testing.B) { benchStart(b, isolatedOptions(), false) }
