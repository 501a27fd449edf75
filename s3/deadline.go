package s3

import (
	"io"
	"net/http"
	"time"
)

// idleReader reads a request body, moving the connection's read deadline
// forward while bytes arrive: a body may take as long as it needs, but
// not stall for longer than idle.
type idleReader struct {
	r     io.Reader
	rc    *http.ResponseController
	idle  time.Duration
	moved time.Time
}

// bodyOf is q's content as a write stores it: at most maxObjectSize bytes
// (more fails with EntityTooLarge, whether or not a length was announced),
// with its deadlines moving while it arrives.
func (h *Handler) bodyOf(q *request) io.Reader {
	rc := http.NewResponseController(q.x)
	return &idleReader{r: &cappedReader{r: q.payload, left: maxObjectSize}, rc: rc, idle: h.cfg.BodyIdle}
}

// cappedReader fails with EntityTooLarge once more than left bytes came.
type cappedReader struct {
	r    io.Reader
	left int64
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	if c.left -= int64(n); c.left < 0 {
		return 0, errEntityTooLarge
	}
	return n, err
}

func (b *idleReader) Read(p []byte) (int, error) {
	if now := time.Now(); now.Sub(b.moved) > b.idle/4 {
		b.moved = now
		b.rc.SetReadDeadline(now.Add(b.idle))
		// The answer comes once the body has arrived: its deadline,
		// counted by the server from the request's start, moves too.
		b.rc.SetWriteDeadline(now.Add(2 * b.idle))
	}
	return b.r.Read(p)
}

// idleWriter is idleReader for answers: the write deadline moves forward
// while the client takes the bytes.
type idleWriter struct {
	w     http.ResponseWriter
	rc    *http.ResponseController
	idle  time.Duration
	moved time.Time
}

func (h *Handler) answerOf(q *request) *idleWriter {
	return &idleWriter{w: q.x, rc: http.NewResponseController(q.x), idle: h.cfg.BodyIdle}
}

func (b *idleWriter) move() {
	if now := time.Now(); now.Sub(b.moved) > b.idle/4 {
		b.moved = now
		b.rc.SetWriteDeadline(now.Add(b.idle))
	}
}

func (b *idleWriter) Write(p []byte) (int, error) {
	b.move()
	return b.w.Write(p)
}

// copyFrom sends r's n bytes in slices of 256 KiB, by sendfile where the
// connection allows it, moving the deadline between slices: a client
// that takes less than the idle time for each slice is never cut off.
func (b *idleWriter) copyFrom(r io.Reader, n int64) (int64, error) {
	var done int64
	for done < n {
		b.move()
		step := min(n-done, 256<<10)
		var m int64
		var err error
		if rf, ok := b.w.(io.ReaderFrom); ok {
			m, err = rf.ReadFrom(io.LimitReader(r, step))
		} else {
			m, err = io.CopyN(b.w, r, step)
		}
		done += m
		if err != nil {
			return done, err
		}
		if m < step {
			return done, io.ErrUnexpectedEOF
		}
	}
	return done, nil
}
