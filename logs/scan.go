package logs

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
)

// Reading a stream's file never holds more than a few blocks and one line
// in memory, whatever the file's size: forward scans go through a
// bufio.Reader, backward scans read fixed blocks and find line starts.
const (
	blockSize = 64 << 10
	// maxLineBytes bounds the bytes of one line that are kept; the rest
	// of a longer line is skipped (the job layer's lines are at most 64
	// KiB, PutLogEvents's messages 1 MiB).
	maxLineBytes = 4 << 20
)

// logFile is one open events file, read as of the size it had when opened:
// what is appended later is seen by the next request. A last line
// without its newline (being written) is not part of the file yet.
type logFile struct {
	f    *os.File
	size int64
}

// openLog opens path; a missing file (a stream nothing was written to yet)
// reads as empty.
func openLog(path string) (*logFile, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) || path == "" {
		return &logFile{}, nil
	}
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &logFile{f: f, size: st.Size()}, nil
}

func (l *logFile) close() {
	if l.f != nil {
		l.f.Close()
	}
}

// forward reads complete lines from offset on.
type forward struct {
	br  *bufio.Reader
	pos int64
	buf []byte
}

func (l *logFile) forward(offset int64) *forward {
	offset = min(max(offset, 0), l.size)
	var r io.Reader = bytes.NewReader(nil)
	if l.f != nil {
		r = io.NewSectionReader(l.f, offset, l.size-offset)
	}
	return &forward{br: bufio.NewReaderSize(r, blockSize), pos: offset}
}

// next returns the next complete line (without its newline, at most
// maxLineBytes of it) and the offsets of its start and of the line after
// it; ok is false at the end of the complete lines.
func (r *forward) next() (line []byte, start, next int64, ok bool, err error) {
	r.buf = r.buf[:0]
	n := int64(0)
	for {
		chunk, err := r.br.ReadSlice('\n')
		n += int64(len(chunk))
		if len(r.buf) < maxLineBytes {
			r.buf = append(r.buf, chunk[:min(len(chunk), maxLineBytes-len(r.buf))]...)
		}
		switch {
		case err == nil:
			start = r.pos
			r.pos += n
			line = bytes.TrimSuffix(r.buf, []byte{'\n'})
			return line, start, r.pos, true, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			return nil, r.pos, r.pos, false, nil // an incomplete last line waits
		default:
			return nil, r.pos, r.pos, false, err
		}
	}
}

// lineStart returns offset when a line starts there, else where the line
// it falls in starts: a token that was not made here cannot split a line.
func (l *logFile) lineStart(offset int64) (int64, error) {
	if offset <= 0 || l.f == nil {
		return 0, nil
	}
	return (&logFile{f: l.f, size: offset}).completeEnd()
}

// completeEnd is the offset after the last newline: where the complete
// lines end.
func (l *logFile) completeEnd() (int64, error) {
	if l.f == nil || l.size == 0 {
		return 0, nil
	}
	block := make([]byte, blockSize)
	for hi := l.size; hi > 0; {
		lo := max(0, hi-blockSize)
		if _, err := l.f.ReadAt(block[:hi-lo], lo); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(block[:hi-lo], '\n'); i >= 0 {
			return lo + int64(i) + 1, nil
		}
		hi = lo
	}
	return 0, nil
}

// backward calls fn for the complete lines that end at or before end (a
// line boundary), last first, until fn returns false.
func (l *logFile) backward(end int64, fn func(line []byte, start, next int64) bool) error {
	if l.f == nil {
		return nil
	}
	end = min(end, l.size)
	var (
		block   = make([]byte, blockSize)
		blockLo int64 // block holds the file's bytes [blockLo, blockHi)
		blockHi int64
		long    []byte
	)
	for lineEnd := end; lineEnd > 0; {
		// The line ends with the newline at lineEnd-1; its start follows
		// the newline before that, or is the file's start.
		start, search := int64(0), lineEnd-1
		for search > 0 {
			if search <= blockLo || search > blockHi {
				blockLo, blockHi = max(0, search-blockSize), search
				if _, err := l.f.ReadAt(block[:blockHi-blockLo], blockLo); err != nil {
					return err
				}
			}
			if i := bytes.LastIndexByte(block[:search-blockLo], '\n'); i >= 0 {
				start = blockLo + int64(i) + 1
				break
			}
			search = blockLo
		}
		var line []byte
		if start >= blockLo && lineEnd-1 <= blockHi {
			line = block[start-blockLo : lineEnd-1-blockLo]
		} else {
			n := min(lineEnd-1-start, maxLineBytes)
			long = append(long[:0], make([]byte, n)...)
			if _, err := l.f.ReadAt(long, start); err != nil {
				return err
			}
			line = long
		}
		if !fn(line, start, lineEnd) {
			return nil
		}
		lineEnd = start
	}
	return nil
}
