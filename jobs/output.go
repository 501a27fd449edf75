package jobs

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pipewright/pipewright/runner"
)

// logTimeFormat is the UTC time that starts every line of a job's log.
const logTimeFormat = "2006-01-02T15:04:05.000Z"

// notePrefix marks the lines pipewright itself adds to a job's log.
const notePrefix = "[pipewright] "

// lineLog writes a job's output lines to its log file as they are read,
// each with its time, and keeps the last lines for a failure message.
type lineLog struct {
	mu   sync.Mutex
	f    *os.File
	w    *bufio.Writer
	last []string
}

func createLog(path string) (*lineLog, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	return &lineLog{f: f, w: bufio.NewWriter(f)}, nil
}

// add writes one output line; each line reaches the file at once, so a
// running job's log can be followed.
func (l *lineLog) add(line runner.Line) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "%s %s\n", line.Time.UTC().Format(logTimeFormat), line.Text)
	l.w.Flush()
	l.last = append(l.last, line.Text)
	if len(l.last) > 3 {
		l.last = l.last[1:]
	}
}

// note writes a line of pipewright's own.
func (l *lineLog) note(at time.Time, text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "%s %s%s\n", at.UTC().Format(logTimeFormat), notePrefix, text)
	l.w.Flush()
}

func (l *lineLog) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Flush()
	return l.f.Close()
}

// tail is the end of the output for a failure message.
func (l *lineLog) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.last) == 0 {
		return ""
	}
	t := strings.Join(l.last, " | ")
	if len(t) > 400 {
		t = t[len(t)-400:]
	}
	return " Last output: " + t
}

// appendNote adds a line of pipewright's own to the log of a job that no
// longer runs.
func appendNote(path string, at time.Time, text string) error {
	l, err := createLog(path)
	if err != nil {
		return err
	}
	l.note(at, text)
	return l.close()
}
