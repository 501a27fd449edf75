package artifacts

import (
	"fmt"
	"io"
	"sync"
)

// pipeChunks is how many buffers a copy has in flight: one being read while
// the stages work on the others.
const pipeChunks = 4

// pipeChunk is one buffer of a copy and the stages still working on it.
type pipeChunk struct {
	buf  []byte
	n    int
	busy sync.WaitGroup
}

// pipeCopy reads r to its end, at most limit bytes (-1 for no limit), and
// hands every buffer read to each of the stages, each in its own goroutine
// and in order, so that writing the file and computing the digests run on
// all the CPUs beside the reading. It returns the number of bytes read; a
// Read error of r is returned wrapped with %w, else a stage's error as is
// (after which no stage sees more). Memory is bounded by pipeChunks buffers.
func pipeCopy(r io.Reader, limit int64, stages ...func([]byte) error) (int64, error) {
	var chunks [pipeChunks]pipeChunk
	bufs := make([]*[]byte, pipeChunks)
	for i := range chunks {
		bufs[i] = copyBufPool.Get().(*[]byte)
		chunks[i].buf = *bufs[i]
	}
	ins := make([]chan *pipeChunk, len(stages))
	errs := make([]error, len(stages))
	var failed sync.Once
	stop := make(chan struct{})
	var workers sync.WaitGroup
	for i, stage := range stages {
		ins[i] = make(chan *pipeChunk, pipeChunks)
		workers.Go(func() {
			for c := range ins[i] {
				if errs[i] == nil {
					if errs[i] = stage(c.buf[:c.n]); errs[i] != nil {
						failed.Do(func() { close(stop) })
					}
				}
				c.busy.Done()
			}
		})
	}
	finish := func() error {
		for _, in := range ins {
			close(in)
		}
		workers.Wait()
		for i := range chunks {
			copyBufPool.Put(bufs[i])
		}
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
		return nil
	}
	if limit >= 0 {
		r = io.LimitReader(r, limit)
	}
	var total int64
	for i := 0; ; i++ {
		c := &chunks[i%pipeChunks]
		c.busy.Wait()
		select {
		case <-stop:
			return total, finish()
		default:
		}
		n, rerr := io.ReadFull(r, c.buf)
		if n > 0 {
			c.n = n
			total += int64(n)
			c.busy.Add(len(stages))
			for _, in := range ins {
				in <- c
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			return total, finish()
		}
		if rerr != nil {
			finish()
			return total, fmt.Errorf("artifacts: reading the body: %w", rerr)
		}
	}
}
