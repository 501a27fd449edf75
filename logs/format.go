package logs

import (
	"encoding/json"
	"strconv"
	"time"
)

// event is one log event as read from a file: Offset is where its line
// starts, Next where the following line starts.
type event struct {
	Timestamp int64 // epoch ms
	Ingestion int64 // epoch ms
	Message   string
	Offset    int64
	Next      int64
}

// attachedTimeFormat starts every line of an attached file (the job
// layer's format): "2006-01-02T15:04:05.000Z TEXT".
const attachedTimeFormat = "2006-01-02T15:04:05.000Z"

// parseAttached reads one line (without its newline) of an attached file.
// The time is both the event's timestamp and its ingestion time: the job
// layer writes each line when it is printed. A line that does not start
// with a time (which the job layer never writes) is an event at fallback
// carrying the whole line.
func parseAttached(line []byte, fallback int64) (ts, ingestion int64, msg string) {
	n := len(attachedTimeFormat)
	if len(line) > n && line[n] == ' ' {
		if t, err := time.Parse(attachedTimeFormat, string(line[:n])); err == nil {
			ms := t.UnixMilli()
			return ms, ms, string(line[n+1:])
		}
	}
	return fallback, fallback, string(line)
}

// formatAPI encodes one event of a stream written through PutLogEvents:
// "TIMESTAMP INGESTION JSON-STRING\n", so that a message may hold
// newlines and the ingestion time is kept.
func formatAPI(b []byte, ts, ingestion int64, msg string) []byte {
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, ingestion, 10)
	b = append(b, ' ')
	q, _ := json.Marshal(msg) // a string always encodes
	b = append(b, q...)
	return append(b, '\n')
}

// parseAPI reads one line written by formatAPI; a damaged line is an
// event at fallback carrying the line as it is.
func parseAPI(line []byte, fallback int64) (ts, ingestion int64, msg string) {
	var fields [2]int64
	rest := line
	for i := range fields {
		j := 0
		for j < len(rest) && rest[j] != ' ' {
			j++
		}
		v, err := strconv.ParseInt(string(rest[:j]), 10, 64)
		if err != nil || j == len(rest) {
			return fallback, fallback, string(line)
		}
		fields[i], rest = v, rest[j+1:]
	}
	if err := json.Unmarshal(rest, &msg); err != nil {
		return fallback, fallback, string(line)
	}
	return fields[0], fields[1], msg
}
