package codepipeline

import (
	"context"
	"errors"
	"time"

	"github.com/pipewright/pipewright/artifacts"
)

// collector deletes what the service no longer needs on disk: the
// artifacts of deleted pipelines and of executions older than the
// retention. Deleting records and queueing their artifacts is one
// transaction; the files go afterwards, so a crash in between leaves the
// queue, never a record that points at nothing.
type collector struct {
	s    *Service
	wake chan struct{}
	stop chan struct{}
	done chan struct{}
}

// Intervals of the collector.
const (
	collectEvery = time.Minute
	pruneEvery   = time.Hour
	collectBatch = 100
)

func newCollector(s *Service) *collector {
	return &collector{s: s, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
}

// start prunes the history older than the retention, so that a server
// answers with none of it, then runs the loop.
func (c *collector) start() {
	c.prune()
	go c.loop()
}

// close stops the collector; what it did not delete yet waits for the
// next life.
func (c *collector) close() {
	select {
	case <-c.stop:
		return
	default:
	}
	close(c.stop)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
	}
}

// poke asks for the queue to be worked through soon.
func (c *collector) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *collector) loop() {
	defer close(c.done)
	collect := time.NewTicker(collectEvery)
	defer collect.Stop()
	prune := time.NewTicker(pruneEvery)
	defer prune.Stop()
	c.collect()
	for {
		select {
		case <-c.stop:
			return
		case <-c.wake:
		case <-collect.C:
		case <-prune.C:
			c.prune()
		}
		c.collect()
	}
}

func (c *collector) stopping() bool {
	select {
	case <-c.stop:
		return true
	default:
		return false
	}
}

// collect deletes the queued artifact files, then their queue entries.
func (c *collector) collect() {
	for !c.stopping() {
		var batch []ArtifactGarbage
		if err := c.s.store.View(context.Background(), func(tx Tx) error {
			var err error
			batch, err = tx.ListArtifactGarbage(collectBatch)
			return err
		}); err != nil || len(batch) == 0 {
			return
		}
		ids := make([]int64, 0, len(batch))
		for _, g := range batch {
			err := c.s.cfg.Artifacts.Delete(g.Bucket, g.Key)
			if err != nil && !errors.Is(err, artifacts.ErrNotFound) {
				c.s.log.Warn("delete artifact", "bucket", g.Bucket, "key", g.Key, "err", err)
			}
			ids = append(ids, g.ID)
		}
		if err := c.s.store.Progress(context.Background(), func(tx Tx) error { return tx.DeleteArtifactGarbage(ids) }); err != nil {
			c.s.log.Warn("artifact garbage", "err", err)
			return
		}
	}
}

// prune deletes the executions that ended longer than the retention ago,
// queueing their artifacts.
func (c *collector) prune() {
	if c.s.cfg.Retention <= 0 {
		return
	}
	n, err := c.s.Prune(context.Background(), c.s.now().Add(-c.s.cfg.Retention))
	if err != nil {
		c.s.log.Warn("prune executions", "err", err)
	}
	if n > 0 {
		c.s.log.Info("pruned old executions", "count", n, "retention", c.s.cfg.Retention)
	}
}

// Prune deletes the executions that ended before t with their runs and
// artifacts, and returns how many it deleted.
func (s *Service) Prune(ctx context.Context, before time.Time) (int, error) {
	total := 0
	for {
		n := 0
		touched := map[string]bool{}
		err := s.store.Progress(ctx, func(tx Tx) error {
			n = 0
			clear(touched)
			old, err := tx.ListExecutionsEndedBefore(before, collectBatch)
			if err != nil {
				return err
			}
			for _, e := range old {
				runs, err := tx.ListActionRunsForExecution(e.ID)
				if err != nil {
					return err
				}
				if err := tx.AddArtifactGarbage(outputsOf(runs)); err != nil {
					return err
				}
				if err := tx.DeleteExecution(e.Pipeline, e.ID); err != nil {
					return err
				}
				touched[e.Pipeline] = true
				n++
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		for p := range touched {
			s.changed(p)
		}
		total += n
		if n < collectBatch {
			s.collector.poke()
			return total, nil
		}
	}
}

// outputsOf lists the artifacts the runs produced.
func outputsOf(runs []*ActionRun) []ArtifactRef {
	var out []ArtifactRef
	for _, r := range runs {
		out = append(out, r.Output.OutputArtifacts...)
	}
	return out
}

// forgetDeletedJobs deletes the jobs of pipelines that no longer exist
// (a crash between deleting a pipeline and deleting its jobs).
func (s *Service) forgetDeletedJobs(ctx context.Context) error {
	groups, err := s.jobs.Groups(ctx, jobOwner)
	if err != nil {
		return err
	}
	for _, g := range groups {
		err := s.store.View(ctx, func(tx Tx) error {
			_, err := tx.GetPipeline(g)
			return err
		})
		if errors.Is(err, ErrNotFound) {
			if err := s.jobs.DeleteGroup(ctx, jobOwner, g); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
	}
	return nil
}
