package buildspec

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Phase statuses in PhaseEvent.Status.
const (
	StatusInProgress = "IN_PROGRESS"
	StatusSucceeded  = "SUCCEEDED"
	StatusFailed     = "FAILED"
)

// CodeCommandExecutionError is the context status code of a phase that a
// failing command failed.
const CodeCommandExecutionError = "COMMAND_EXECUTION_ERROR"

// PhaseEvent is what the phase file says of one phase the driver entered.
type PhaseEvent struct {
	// Phase is one of PhaseNames.
	Phase string
	// Start is when the phase began; End is zero while it runs.
	Start, End time.Time
	// Status is StatusInProgress until the phase ends, then StatusSucceeded
	// or StatusFailed.
	Status string
	// Code and Message are the phase context of a failed phase
	// (CodeCommandExecutionError, "Error while executing command: false.
	// Reason: exit status 1"); both are "" otherwise.
	Code, Message string
}

// The phase file holds one line per event, fields separated by tabs, times
// in Unix milliseconds:
//
//	start PHASE START
//	end   PHASE START END STATUS CODE MESSAGE
//
// MESSAGE is escaped by escapeField so that it holds no tab or newline.

// ReadPhases parses a phase file, complete or still being written: a last
// line without its newline is ignored. It returns one event per phase in
// the order the phases started; a malformed complete line is an error.
func ReadPhases(data []byte) ([]PhaseEvent, error) {
	if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
		data = data[:i+1]
	} else {
		data = nil
	}
	var events []PhaseEvent
	index := map[string]int{}
	for n, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if line == "" {
			continue
		}
		ev, err := phaseLine(line)
		if err != nil {
			return nil, fmt.Errorf("phase file line %d: %w", n+1, err)
		}
		if i, ok := index[ev.Phase]; ok {
			events[i] = ev
			continue
		}
		index[ev.Phase] = len(events)
		events = append(events, ev)
	}
	return events, nil
}

// phaseLine parses one complete line.
func phaseLine(line string) (PhaseEvent, error) {
	f := strings.Split(line, "\t")
	var ev PhaseEvent
	var err error
	switch {
	case f[0] == "start" && len(f) == 3:
		ev = PhaseEvent{Phase: f[1], Status: StatusInProgress}
		ev.Start, err = millis(f[2])
	case f[0] == "end" && len(f) == 7:
		ev = PhaseEvent{Phase: f[1], Status: f[4], Code: f[5], Message: unescapeField(f[6])}
		if ev.Start, err = millis(f[2]); err == nil {
			ev.End, err = millis(f[3])
		}
		if err == nil && ev.Status != StatusSucceeded && ev.Status != StatusFailed {
			err = fmt.Errorf("unknown status %q", ev.Status)
		}
	default:
		return ev, fmt.Errorf("malformed line %q", line)
	}
	return ev, err
}

func millis(s string) (time.Time, error) {
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad time %q", s)
	}
	if ms == 0 {
		return time.Time{}, nil // the driver could not tell the time
	}
	return time.UnixMilli(ms), nil
}

var (
	fieldEscaper   = strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\t", `\t`, "\r", `\r`)
	fieldUnescaper = strings.NewReplacer(`\\`, `\`, `\n`, "\n", `\t`, "\t", `\r`, "\r")
)

// escapeField makes s fit in one field of a phase file line.
func escapeField(s string) string { return fieldEscaper.Replace(s) }

// unescapeField undoes escapeField.
func unescapeField(s string) string { return fieldUnescaper.Replace(s) }
