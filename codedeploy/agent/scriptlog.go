package agent

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// logTail is the size of the log an event reports, as AWS's agent keeps
// it: the newest whole lines that fit in 2048 characters.
const logTail = 2048

// scriptLog is the output of a lifecycle event's scripts: the tail it
// reports and, when file is set, every line in the deployment's
// logs/scripts.log with a timestamp, as AWS's agent writes them.
type scriptLog struct {
	mu    sync.Mutex
	lines []string
	size  int
	file  *os.File
}

// add appends one entry ("[stdout]..." lines, "Script - ..." headers).
func (l *scriptLog) add(entry string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, entry)
	l.size += len(entry)
	for l.size > logTail && len(l.lines) > 1 {
		l.size -= len(l.lines[0])
		l.lines = l.lines[1:]
	}
	if l.file != nil {
		fmt.Fprintf(l.file, "%s %s", time.Now().Format("2006-01-02 15:04:05"), entry)
	}
}

// tail is the reported log.
func (l *scriptLog) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := strings.Join(l.lines, "")
	if len(s) > logTail {
		s = s[len(s)-logTail:]
	}
	return s
}
