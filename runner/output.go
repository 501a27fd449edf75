package runner

import (
	"bufio"
	"bytes"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// output reads a tree's stdout and stderr pipes and delivers their lines to
// one callback, never concurrently.
type output struct {
	onLine  func(Line)
	mu      sync.Mutex // serializes onLine
	wg      sync.WaitGroup
	readers []*streamReader
}

// streamReader reads one pipe. blockedSince is the UnixNano time at which
// the current Read started, or 0 when no Read is in progress; drain uses it
// to tell a pipe that is merely slow to be consumed from one that some
// process outside the tree keeps open.
type streamReader struct {
	f            *os.File
	stream       string
	blockedSince atomic.Int64
	closeOnce    sync.Once
	done         chan struct{}
}

func (s *streamReader) Read(b []byte) (int, error) {
	s.blockedSince.Store(time.Now().UnixNano())
	n, err := s.f.Read(b)
	s.blockedSince.Store(0)
	return n, err
}

func (s *streamReader) close() {
	s.closeOnce.Do(func() { s.f.Close() })
}

// newOutput starts one reader goroutine per pipe; the files are owned and
// eventually closed by the output.
func newOutput(onLine func(Line), stdout, stderr *os.File) *output {
	o := &output{onLine: onLine}
	for _, s := range []*streamReader{
		{f: stdout, stream: "stdout", done: make(chan struct{})},
		{f: stderr, stream: "stderr", done: make(chan struct{})},
	} {
		o.readers = append(o.readers, s)
		o.wg.Add(1)
		go o.read(s)
	}
	return o
}

func (o *output) read(s *streamReader) {
	defer o.wg.Done()
	defer close(s.done)
	defer s.close()
	br := bufio.NewReaderSize(s, MaxLineLength)
	for {
		b, err := br.ReadSlice('\n')
		if len(b) > 0 {
			text := b
			if err == nil {
				text = bytes.TrimSuffix(bytes.TrimSuffix(text, []byte("\n")), []byte("\r"))
			}
			o.deliver(Line{Time: time.Now(), Stream: s.stream, Text: string(text)})
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			// io.EOF, or the pipe was closed by drain: nothing more comes.
			return
		}
	}
}

func (o *output) deliver(l Line) {
	if o.onLine == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.onLine(l)
}

// drain waits until both pipes reached EOF. It is called once no process of
// the tree is alive, so a pipe that still has no EOF is held open by a
// process outside the tree: a reader that has been waiting for data for
// idle (counted from the call) is closed. After max every pipe is closed.
func (o *output) drain(idle, max time.Duration) {
	start := time.Now()
	all := make(chan struct{})
	go func() { o.wg.Wait(); close(all) }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-all:
			return
		case <-tick.C:
		}
		now := time.Now()
		for _, s := range o.readers {
			select {
			case <-s.done:
				continue
			default:
			}
			since := s.blockedSince.Load()
			if now.Sub(start) >= max {
				s.close()
				continue
			}
			if since == 0 {
				continue
			}
			from := time.Unix(0, since)
			if from.Before(start) {
				from = start
			}
			if now.Sub(from) >= idle {
				s.close()
			}
		}
	}
}

// closeAll closes both pipes at once, for a Start that failed.
func (o *output) closeAll() {
	for _, s := range o.readers {
		s.close()
	}
	o.wg.Wait()
}
