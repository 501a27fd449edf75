package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
)

// shq quotes s for bash.
func shq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// ---- (a) StopPipelineExecution(abandon) → Stopped ----

type abandonResult struct {
	total    samples // t0 (before Stop) → GetPipelineExecution shows Stopped
	stopCall samples // the StopPipelineExecution call alone
	polls    atomic.Int64
	workers  int
	phases   phases
}

func (b *bench) benchAbandon(ctx context.Context, n, workers int) (*abandonResult, error) {
	const name = "bench-abandon"
	decl := declaration(name, "app", types.ExecutionModeParallel, stage("Build", commandsAction("Wait", 1, "sleep 600")))
	tags := []types.Tag{{Key: aws.String("pipewright:abandon-cancels-jobs"), Value: aws.String("true")}}
	first, err := b.createPipeline(ctx, decl, tags...)
	if err != nil {
		return nil, err
	}
	res := &abandonResult{workers: workers}
	one := func(ctx context.Context, id string, record bool) error {
		if err := b.waitAction(ctx, name, id, "Wait", 30*time.Second); err != nil {
			return err
		}
		t0 := time.Now()
		if err := b.stop(ctx, name, id, true); err != nil {
			return err
		}
		stopped := time.Now()
		polls, err := b.waitStatus(ctx, name, id, types.PipelineExecutionStatusStopped, 10*time.Second, 0)
		if err != nil {
			return err
		}
		t1 := time.Now()
		if record {
			res.total.add(t1.Sub(t0))
			res.stopCall.add(stopped.Sub(t0))
			res.polls.Add(int64(polls))
			res.phases.add("Stop answered", stopped.Sub(t0))
			if up, err := b.execUpdated(ctx, name, id); err == nil {
				res.phases.add("Stopped recorded", up.Sub(t0))
			} else {
				return err
			}
			res.phases.add("Stopped seen", t1.Sub(t0))
		}
		return nil
	}
	// The execution CreatePipeline started is a warm-up, not a sample.
	if err := one(ctx, first, false); err != nil {
		return nil, err
	}
	p := newProgress("(a) abandon", n)
	err = parallel(ctx, workers, n, func(ctx context.Context, i int) error {
		id, err := b.start(ctx, name)
		if err != nil {
			return err
		}
		if err := one(ctx, id, true); err != nil {
			return err
		}
		p.tick()
		return nil
	})
	return res, err
}

// ---- (b) end of the last in-progress action of a stop-and-wait execution → Stopped ----

type waitResult struct {
	total  samples // t0 (before the fifo write) → Stopped
	phases phases
}

func (b *bench) benchStopWait(ctx context.Context, n int) (*waitResult, error) {
	const name = "bench-stopwait"
	dir := filepath.Join(b.tmp, "fifos")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// The action waits for the fifo the bench creates for its execution,
	// then blocks reading a line from it.
	cmd := fmt.Sprintf(`f=%s/"$CODEPIPELINE_EXECUTION_ID"; until [ -p "$f" ]; do sleep 0.005; done; read line < "$f"`, shq(dir))
	decl := declaration(name, "app", types.ExecutionModeParallel, stage("Build", commandsAction("Wait", 1, cmd)))
	first, err := b.createPipeline(ctx, decl)
	if err != nil {
		return nil, err
	}
	res := &waitResult{}
	one := func(ctx context.Context, id string, record bool) error {
		fifo := filepath.Join(dir, id)
		// Readable by the job user the action runs as.
		if err := syscall.Mkfifo(fifo, 0o644); err != nil {
			return fmt.Errorf("mkfifo: %w", err)
		}
		defer os.Remove(fifo)
		if err := b.waitAction(ctx, name, id, "Wait", 30*time.Second); err != nil {
			return err
		}
		// Open the fifo for writing once the action's shell holds it open
		// for reading (ENXIO until then); the shell then blocks in read.
		var fd int
		deadline := time.Now().Add(30 * time.Second)
		for {
			fd, err = syscall.Open(fifo, syscall.O_WRONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
			if err == nil {
				break
			}
			if !errors.Is(err, syscall.ENXIO) {
				return fmt.Errorf("open fifo: %w", err)
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("the action of execution %s never opened its fifo: %w", id, errTimeout)
			}
			time.Sleep(2 * time.Millisecond)
		}
		closed := false
		defer func() {
			if !closed {
				syscall.Write(fd, []byte("abort\n"))
				syscall.Close(fd)
			}
		}()
		if err := b.stop(ctx, name, id, false); err != nil {
			return err
		}
		st, err := b.status(ctx, name, id)
		if err != nil {
			return err
		}
		if st != types.PipelineExecutionStatusStopping {
			return fmt.Errorf("after stop-and-wait, execution %s is %s, want Stopping", id, st)
		}
		// Give the server a moment to settle: the stop is recorded and
		// nothing else is pending, so t0 measures the action's end alone.
		time.Sleep(20 * time.Millisecond)
		t0 := time.Now()
		if _, err := syscall.Write(fd, []byte("go\n")); err != nil {
			return fmt.Errorf("write fifo: %w", err)
		}
		syscall.Close(fd)
		closed = true
		if _, err := b.waitStatus(ctx, name, id, types.PipelineExecutionStatusStopped, 10*time.Second, 0); err != nil {
			return err
		}
		t1 := time.Now()
		if record {
			res.total.add(t1.Sub(t0))
			acts, err := b.actionTimes(ctx, name, id)
			if err != nil {
				return err
			}
			up, err := b.execUpdated(ctx, name, id)
			if err != nil {
				return err
			}
			res.phases.add("action end recorded", acts["Wait"].updated.Sub(t0))
			res.phases.add("Stopped recorded", up.Sub(t0))
			res.phases.add("Stopped seen", t1.Sub(t0))
		}
		return nil
	}
	if err := one(ctx, first, false); err != nil {
		return nil, err
	}
	p := newProgress("(b) stop-and-wait", n)
	for i := 0; i < n; i++ {
		id, err := b.start(ctx, name)
		if err != nil {
			return nil, err
		}
		if err := one(ctx, id, true); err != nil {
			return nil, err
		}
		p.tick()
	}
	return res, nil
}

// ---- (c) StartPipelineExecution → first Commands process runs ----

// startResult is figure (c), and (f) for StartBuild and BatchGetBuilds.
type startResult struct {
	total    samples // t0 (before Start) → $EPOCHREALTIME of the first command
	startAPI samples // the StartPipelineExecution call alone
	finish   samples // t0 → GetPipelineExecution shows Succeeded (10 ms polls)
	phases   phases
}

func (b *bench) benchStart(ctx context.Context, n int) (*startResult, error) {
	const name = "bench-start"
	file, err := b.epochFile("epochs")
	if err != nil {
		return nil, err
	}
	decl := declaration(name, "app", types.ExecutionModeSuperseded, stage("Build", commandsAction("Run", 1, "echo $EPOCHREALTIME >> "+shq(file))))
	first, err := b.createPipeline(ctx, decl)
	if err != nil {
		return nil, err
	}
	if _, err := b.waitStatus(ctx, name, first, types.PipelineExecutionStatusSucceeded, 60*time.Second, 10*time.Millisecond); err != nil {
		return nil, err
	}
	lines, err := readEpochs(file)
	if err != nil {
		return nil, err
	}
	base := len(lines)
	res := &startResult{}
	p := newProgress("(c) start", n)
	for i := 0; i < n; i++ {
		// Let the previous execution's tail (workspace removal, wake-ups)
		// finish so each sample starts from an idle server.
		time.Sleep(20 * time.Millisecond)
		t0 := time.Now()
		id, err := b.start(ctx, name)
		if err != nil {
			return nil, err
		}
		started := time.Now()
		if _, err := b.waitStatus(ctx, name, id, types.PipelineExecutionStatusSucceeded, 60*time.Second, 10*time.Millisecond); err != nil {
			return nil, err
		}
		finished := time.Now()
		lines, err := readEpochs(file)
		if err != nil {
			return nil, err
		}
		if len(lines) != base+i+1 {
			return nil, fmt.Errorf("%s has %d lines after %d executions, want %d", file, len(lines), i+1, base+i+1)
		}
		t1 := lines[len(lines)-1]
		if t1.Before(t0) {
			return nil, fmt.Errorf("the first command ran at %v, before StartPipelineExecution was called at %v", t1, t0)
		}
		res.total.add(t1.Sub(t0))
		res.startAPI.add(started.Sub(t0))
		res.finish.add(finished.Sub(t0))
		acts, err := b.actionTimes(ctx, name, id)
		if err != nil {
			return nil, err
		}
		res.phases.add("Start answered", started.Sub(t0))
		res.phases.add("Source started", acts["Source"].start.Sub(t0))
		res.phases.add("Source ended", acts["Source"].updated.Sub(t0))
		res.phases.add("Commands action started", acts["Run"].start.Sub(t0))
		res.phases.add("first command ran", t1.Sub(t0))
		p.tick()
	}
	return res, nil
}

// epochFile creates an empty file in the temp dir that the job user the
// commands run as can append their $EPOCHREALTIME to.
func (b *bench) epochFile(name string) (string, error) {
	file := filepath.Join(b.tmp, name)
	if err := os.WriteFile(file, nil, 0o666); err != nil {
		return "", err
	}
	return file, os.Chmod(file, 0o666)
}

// readEpochs parses the $EPOCHREALTIME lines of file.
func readEpochs(file string) ([]time.Time, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var out []time.Time
	for _, l := range strings.Fields(string(b)) {
		sec, frac, _ := strings.Cut(l, ".")
		s, err1 := strconv.ParseInt(sec, 10, 64)
		frac = (frac + "000000")[:6]
		us, err2 := strconv.ParseInt(frac, 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s: bad EPOCHREALTIME %q", file, l)
		}
		out = append(out, time.Unix(s, us*1000))
	}
	return out, nil
}

// ---- (d) history for GetPipelineState ----

// stateDecl is the 4-stage pipeline GetPipelineState is measured on.
func stateDecl(name string) *types.PipelineDeclaration {
	return declaration(name, "app", types.ExecutionModeParallel,
		stage("Build", commandsAction("Compile", 1, "true")),
		stage("Test", commandsAction("Unit", 1, "true"), commandsAction("Integration", 1, "true")),
		stage("Deploy", commandsAction("Release", 1, "true")))
}

// runHistory starts executions of pipeline, at most workers at a time,
// until total have finished or the budget is spent; it returns how many
// finished. Every execution must succeed.
func (b *bench) runHistory(ctx context.Context, pipeline string, total, workers int, budget time.Duration) (int, error) {
	stopAt := time.Now().Add(budget)
	var finished atomic.Int64
	p := newProgress("history", total)
	var budgetHit atomic.Bool
	err := parallel(ctx, workers, total, func(ctx context.Context, i int) error {
		if time.Now().After(stopAt) {
			budgetHit.Store(true)
			return nil
		}
		id, err := b.start(ctx, pipeline)
		if err != nil {
			return err
		}
		if _, err := b.waitStatus(ctx, pipeline, id, types.PipelineExecutionStatusSucceeded, 5*time.Minute, 100*time.Millisecond); err != nil {
			return err
		}
		finished.Add(1)
		p.tick()
		return nil
	})
	if budgetHit.Load() {
		logf("  history: budget of %v spent after %d executions", budget, finished.Load())
	}
	return int(finished.Load()), err
}
