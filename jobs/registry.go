package jobs

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pipewright/pipewright/runner"
)

// registry holds the jobs this server life runs, so that Stop, Note and a
// shutdown reach them.
type registry struct {
	mu      sync.Mutex
	live    map[string]*liveJob
	closing bool
	wg      sync.WaitGroup
	// activity is when a job last started or ended (unix nanoseconds).
	activity atomic.Int64
}

// liveJob is a job whose goroutine runs in this life.
type liveJob struct {
	cancel context.CancelFunc

	// mu is held while the job decides to start its process and starts it,
	// so that a Stop is either seen before the start or reaches the
	// process after it.
	mu   sync.Mutex
	proc *runner.Process
	log  *lineLog
	// stop is set once the job was told to end: why, and with which
	// status and reason it ends.
	stop *stopOrder
	// endNotes are written to the end of the log when the job ends.
	endNotes []string
	// forget is set when the job's group was deleted: its end deletes its
	// record and log instead of recording them.
	forget bool
}

// stopOrder is how pipewright ends a job.
type stopOrder struct {
	status Status
	reason Reason
	text   string // the user's or pipewright's reason, for the log and the record
}

func newRegistry() *registry { return &registry{live: map[string]*liveJob{}} }

// lastActivity is when a job last started or ended.
func (r *registry) lastActivity() time.Time { return time.Unix(0, r.activity.Load()) }

// add registers a job; it returns nil when the server is shutting down.
func (r *registry) add(id string, cancel context.CancelFunc) *liveJob {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closing {
		return nil
	}
	if lj := r.live[id]; lj != nil {
		return nil
	}
	lj := &liveJob{cancel: cancel}
	r.live[id] = lj
	r.wg.Add(1)
	r.activity.Store(time.Now().UnixNano())
	return lj
}

func (r *registry) get(id string) *liveJob {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.live[id]
}

func (r *registry) done(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.live[id]; ok {
		delete(r.live, id)
		r.wg.Done()
	}
	r.activity.Store(time.Now().UnixNano())
}

// ids lists the live jobs.
func (r *registry) ids() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.live))
	for id := range r.live {
		out = append(out, id)
	}
	return out
}

// close stops accepting jobs and returns those that run.
func (r *registry) close() []string {
	r.mu.Lock()
	r.closing = true
	r.mu.Unlock()
	return r.ids()
}

// order records how the job is to end and terminates its tree; the first
// order wins. It reports whether this order was the first.
func (lj *liveJob) order(o *stopOrder, grace time.Duration) bool {
	lj.mu.Lock()
	if lj.stop != nil {
		lj.mu.Unlock()
		return false
	}
	lj.stop = o
	p := lj.proc
	lj.mu.Unlock()
	lj.cancel()
	if p != nil {
		go p.Terminate(grace)
	}
	return true
}

// stopped returns the order the job was given, if any.
func (lj *liveJob) stopped() *stopOrder {
	lj.mu.Lock()
	defer lj.mu.Unlock()
	return lj.stop
}
