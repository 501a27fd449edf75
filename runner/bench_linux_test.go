package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// The benchmarks measure how long ending a tree takes, which the tests do
// not assert: the tests check order and outcome only. Each iteration starts
// a tree and waits until it runs with the timer stopped, then times one
// call.

// startRunning starts script, waits for its "ready" line and for n
// processes carrying its marker, and returns with the timer stopped.
func startRunning(b *testing.B, r *Runner, script string, n int) *Process {
	b.StopTimer()
	out := newLines()
	p, id := start(b, r, script, out)
	out.waitReady(b)
	waitMarkers(b, id, n)
	return p
}

// BenchmarkTerminateObeyingTree: Terminate of a tree whose every process
// obeys SIGTERM, until no process is alive.
func BenchmarkTerminateObeyingTree(b *testing.B) {
	eachMethod(b, func(b *testing.B, r *Runner) {
		for i := 0; i < b.N; i++ {
			p := startRunning(b, r, treeScript, 6)
			b.StartTimer()
			p.Terminate(time.Hour)
			b.StopTimer()
			p.Wait()
		}
	})
}

// BenchmarkKillIgnoringTree: Kill of a tree that ignores SIGTERM.
func BenchmarkKillIgnoringTree(b *testing.B) {
	eachMethod(b, func(b *testing.B, r *Runner) {
		for i := 0; i < b.N; i++ {
			p := startRunning(b, r, "trap '' TERM\n"+treeScript, 6)
			b.StartTimer()
			p.Kill()
			b.StopTimer()
			p.Wait()
		}
	})
}

// BenchmarkTerminatePastGrace: Terminate of a tree that ignores SIGTERM;
// besides the time per call it reports how long after the grace the tree
// was gone (ns-past-grace/op).
func BenchmarkTerminatePastGrace(b *testing.B) {
	const grace = 100 * time.Millisecond
	eachMethod(b, func(b *testing.B, r *Runner) {
		var past time.Duration
		for i := 0; i < b.N; i++ {
			p := startRunning(b, r, "trap '' TERM\n"+treeScript, 6)
			b.StartTimer()
			t0 := time.Now()
			p.Terminate(grace)
			past += time.Since(t0) - grace
			b.StopTimer()
			p.Wait()
		}
		b.ReportMetric(float64(past.Nanoseconds())/float64(b.N), "ns-past-grace/op")
	})
}

// BenchmarkTerminateForkLoop: Terminate of three loops that keep forking
// setsid'd daemons.
func BenchmarkTerminateForkLoop(b *testing.B) {
	const forkLoop = `
for j in 1 2 3; do
  ( i=0; while [ $i -lt 3000 ]; do ( setsid sleep 30 & ); i=$((i+1)); done ) &
done
echo ready
wait`
	eachMethod(b, func(b *testing.B, r *Runner) {
		for i := 0; i < b.N; i++ {
			p := startRunning(b, r, forkLoop, 100)
			b.StartTimer()
			p.Terminate(200 * time.Millisecond)
			b.StopTimer()
			p.Wait()
		}
	})
}

// BenchmarkWaitAfterMainExit: from releasing the main shell, which then
// exits and leaves a daemon that holds stdout and stderr open, to Wait's
// return (the daemon killed, the output drained).
func BenchmarkWaitAfterMainExit(b *testing.B) {
	eachMethod(b, func(b *testing.B, r *Runner) {
		dir := b.TempDir()
		for i := 0; i < b.N; i++ {
			fifo := filepath.Join(dir, fmt.Sprint("release-", i))
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				b.Fatal(err)
			}
			p := startRunning(b, r, fmt.Sprintf("( setsid sleep infinity & ); echo ready; read -r _ < '%s'", fifo), 2)
			b.StartTimer()
			if err := os.WriteFile(fifo, []byte("go\n"), 0o600); err != nil {
				b.Fatal(err)
			}
			p.Wait()
			b.StopTimer()
		}
	})
}
