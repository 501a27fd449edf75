package logs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/pipewright/pipewright/logs/shape"
)

// PutLogEvents's limits, as AWS documents them.
const (
	maxBatchBytes = 1048576
	maxBatchSpan  = 24 * time.Hour
	maxAge        = 14 * 24 * time.Hour
	maxAhead      = 2 * time.Hour
)

// PutLogEvents appends a batch to a stream made by CreateLogStream. The
// batch must be in chronological order, span at most 24 hours and hold at
// most 1,048,576 bytes (each event its message plus 26 bytes); events more
// than 14 days old or more than 2 hours ahead are not stored and are
// reported in rejectedLogEventsInfo. The sequence token is ignored, as AWS
// now does. The batch reaches the file in one write.
func (s *Service) PutLogEvents(ctx context.Context, in *shape.PutLogEventsRequest) (*shape.PutLogEventsResponse, error) {
	evs := in.LogEvents
	size := 0
	for i, e := range evs {
		size += len(e.GetMessage()) + eventOverhead
		if i > 0 && e.GetTimestamp() < evs[i-1].GetTimestamp() {
			return nil, invalidParameter("Log events in a single PutLogEvents request must be in chronological order.")
		}
	}
	if size > maxBatchBytes {
		return nil, invalidParameter(fmt.Sprintf("Upload too large: %d bytes exceeds limit of %d", size, maxBatchBytes))
	}
	if len(evs) > 0 && time.Duration(evs[len(evs)-1].GetTimestamp()-evs[0].GetTimestamp())*time.Millisecond > maxBatchSpan {
		return nil, invalidParameter("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")
	}
	st, err := s.lookupStream(ctx, in.GetLogGroupName(), in.GetLogStreamName())
	if err != nil {
		return nil, err
	}
	if st.Kind != KindAPI {
		return nil, invalidParameter("The specified log stream is written by pipewright itself and does not take PutLogEvents.")
	}
	now := s.now()
	oldest, newest := now.Add(-maxAge).UnixMilli(), now.Add(maxAhead).UnixMilli()
	var rejected shape.RejectedLogEventsInfo
	var b []byte
	for i, e := range evs {
		switch ts := e.GetTimestamp(); {
		case ts < oldest:
			rejected.TooOldLogEventEndIndex = ptr(int32(i))
		case ts > newest:
			if rejected.TooNewLogEventStartIndex == nil {
				rejected.TooNewLogEventStartIndex = ptr(int32(i))
			}
		default:
			b = formatAPI(b, ts, now.UnixMilli(), e.GetMessage())
		}
	}
	if err := s.appendEvents(st.Path, b); err != nil {
		return nil, err
	}
	out := &shape.PutLogEventsResponse{NextSequenceToken: ptr(strconv.FormatInt(now.UnixNano(), 10))}
	if rejected != (shape.RejectedLogEventsInfo{}) {
		out.RejectedLogEventsInfo = &rejected
	}
	return out, nil
}

// appendEvents appends complete lines to an API stream's file. A last line
// a crash left without its newline is cut off first, so it cannot merge
// with the new ones.
func (s *Service) appendEvents(path string, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	s.appendMu.Lock()
	defer s.appendMu.Unlock()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := cutIncomplete(f); err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		return err
	}
	return f.Sync()
}

// cutIncomplete truncates f after its last newline.
func cutIncomplete(f *os.File) error {
	st, err := f.Stat()
	if err != nil || st.Size() == 0 {
		return err
	}
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, st.Size()-1); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if last[0] == '\n' {
		return nil
	}
	end, err := (&logFile{f: f, size: st.Size()}).completeEnd()
	if err != nil {
		return err
	}
	return f.Truncate(end)
}
