package runner

import (
	"fmt"
	"log/slog"
	"os"
	"testing"
)

// benchStart measures Start until the tree's script runs (its first line
// arrives); waiting for the tree to end is not counted.
func benchStart(b *testing.B, opts Options) {
	opts.Logger = slog.New(slog.DiscardHandler)
	r, err := New(opts)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
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

// BenchmarkStart starts trees without isolation, as before namespaces.
func BenchmarkStart(b *testing.B) {
	benchStart(b, Options{Isolation: IsolationNone})
}

// BenchmarkStartIsolated starts trees in namespaces through the job init
// helper, as nobody when the benchmark runs as root.
func BenchmarkStartIsolated(b *testing.B) {
	opts := Options{Isolation: IsolationNamespaces}
	if os.Geteuid() == 0 {
		opts.JobUser = &nobody
	}
	benchStart(b, opts)
}
