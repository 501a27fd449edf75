package logs

import (
	"context"
	"slices"

	"github.com/pipewright/pipewright/logs/shape"
)

// Bounds of one page of events, as AWS documents them for GetLogEvents
// and FilterLogEvents: at most 10,000 events and 1 MB, each event counted
// as its message plus 26 bytes (PutLogEvents's rule). scanBudget bounds
// the bytes one request reads: a page that skipped that much (events out
// of the time range or not matching) ends there, possibly empty, with a
// token to go on from.
const (
	maxEvents     = 10000
	maxPageBytes  = 1 << 20
	eventOverhead = 26
	scanBudget    = 32 << 20
)

// page collects the events of one answer within its bounds.
type page struct {
	limit        int
	bytes        int
	scanned      int64
	startT, endT *int64
	endExclusive bool
	events       []event
}

func newPage(limit int32, startT, endT *int64) *page {
	n := int(limit)
	if n <= 0 || n > maxEvents {
		n = maxEvents
	}
	return &page{limit: n, startT: startT, endT: endT}
}

// inRange reports whether ts is within the time range: from startTime on,
// and before endTime (GetLogEvents) or not after it (FilterLogEvents), as
// AWS documents each.
func (p *page) inRange(ts int64) bool {
	if p.startT != nil && ts < *p.startT {
		return false
	}
	return p.endT == nil || ts < *p.endT || !p.endExclusive && ts == *p.endT
}

// full reports whether the page can take no further event of n bytes of
// message, or has read its budget.
func (p *page) full(n int) bool {
	return len(p.events) >= p.limit || len(p.events) > 0 && p.bytes+n+eventOverhead > maxPageBytes || p.scanned >= scanBudget
}

func (p *page) add(e event) {
	p.events = append(p.events, e)
	p.bytes += len(e.Message) + eventOverhead
}

// GetLogEvents reads one page of a stream with AWS's tokens: forward from
// the start (startFromHead) or a forward token, backward from the end (the
// default) or a backward token. Both tokens are always present; a forward
// page with nothing new returns the token it was given, as does a backward
// page at the stream's start, which is how paginators and `aws logs tail`
// know to stop.
func (s *Service) GetLogEvents(ctx context.Context, in *shape.GetLogEventsRequest) (*shape.GetLogEventsResponse, error) {
	group, err := groupName(in.GetLogGroupName(), in.GetLogGroupIdentifier())
	if err != nil {
		return nil, err
	}
	st, err := s.lookupStream(ctx, group, in.GetLogStreamName())
	if err != nil {
		return nil, err
	}
	dir, offset := byte('b'), int64(-1)
	if in.GetStartFromHead() {
		dir, offset = 'f', 0
	}
	if in.NextToken != nil {
		if dir, offset, err = parseOffsetToken(*in.NextToken); err != nil {
			return nil, err
		}
	}
	ev, err := openEvents(st)
	if err != nil {
		return nil, err
	}
	defer ev.close()
	end, err := ev.completeEnd()
	if err != nil {
		return nil, err
	}
	if offset < 0 || offset > end {
		offset = end
	}
	if offset, err = ev.lineStart(offset); err != nil {
		return nil, err
	}
	p := newPage(in.GetLimit(), in.StartTime, in.EndTime)
	p.endExclusive = true
	var fwd, back int64
	if dir == 'f' {
		fwd, back, err = p.readForward(ev, offset)
	} else {
		fwd, back, err = p.readBackward(ev, offset)
	}
	if err != nil {
		return nil, err
	}
	out := &shape.GetLogEventsResponse{
		Events:           make([]shape.OutputLogEvent, 0, len(p.events)),
		NextForwardToken: ptr(offsetToken('f', fwd)), NextBackwardToken: ptr(offsetToken('b', back)),
	}
	for _, e := range p.events {
		out.Events = append(out.Events, shape.OutputLogEvent{Timestamp: ptr(e.Timestamp), Message: ptr(e.Message), IngestionTime: ptr(e.Ingestion)})
	}
	return out, nil
}

// readForward fills the page from offset on; fwd is where the next forward
// page starts, back where a backward page from the first event would end.
func (p *page) readForward(ev *events, offset int64) (fwd, back int64, err error) {
	r := ev.forward(offset)
	fwd, back = offset, offset
	for {
		line, start, next, ok, err := r.next()
		if err != nil || !ok {
			return fwd, back, err
		}
		if p.full(len(line)) {
			return fwd, back, nil
		}
		p.scanned += next - start
		if e := ev.event(line, start, next); p.inRange(e.Timestamp) {
			if len(p.events) == 0 {
				back = start
			}
			p.add(e)
		}
		fwd = next
	}
}

// readBackward fills the page with the events that end at or before
// offset, last first, and puts them in order; back is where the next
// backward page ends, fwd where a forward page after these starts.
func (p *page) readBackward(ev *events, offset int64) (fwd, back int64, err error) {
	back = offset
	err = ev.backward(offset, func(line []byte, start, next int64) bool {
		if p.full(len(line)) {
			return false
		}
		p.scanned += next - start
		if e := ev.event(line, start, next); p.inRange(e.Timestamp) {
			p.add(e)
		}
		back = start
		return true
	})
	slices.Reverse(p.events)
	return offset, back, err
}
