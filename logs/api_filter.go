package logs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"

	"github.com/pipewright/pipewright/logs/shape"
)

// cursor reads one stream of a FilterLogEvents search.
type cursor struct {
	st   *Stream
	ev   *events
	r    *forward
	pos  int64  // where the search goes on in this stream
	head *event // the next matching event, not yet answered
	done bool   // the stream's complete lines are all searched
}

// advance finds the cursor's next matching event, unless the page's read
// budget runs out first (head nil, done false).
func (c *cursor) advance(p *page, pat *pattern) error {
	c.head = nil
	for p.scanned < scanBudget {
		line, start, next, ok, err := c.r.next()
		if err != nil {
			return err
		}
		if !ok {
			c.done = true
			return nil
		}
		p.scanned += next - start
		if e := c.ev.event(line, start, next); p.inRange(e.Timestamp) && pat.match(e.Message) {
			c.head = &e
			return nil
		}
		c.pos = next
	}
	return nil
}

// FilterLogEvents searches a group's streams (logStreamNames, or those
// starting with logStreamNamePrefix, or all) for events in the time range
// that match filterPattern (see pattern), interleaved by timestamp across
// streams. The nextToken carries every stream's offset; it is absent once
// every stream is searched to its end, so `aws logs tail --follow`, which
// polls with startTime, sees each event once. A stream whose last event
// is before startTime is not opened.
func (s *Service) FilterLogEvents(ctx context.Context, in *shape.FilterLogEventsRequest) (*shape.FilterLogEventsResponse, error) {
	group, err := groupName(in.GetLogGroupName(), in.GetLogGroupIdentifier())
	if err != nil {
		return nil, err
	}
	if len(in.LogStreamNames) > 0 && in.LogStreamNamePrefix != nil {
		return nil, invalidParameter("Cannot specify both logStreamNames and logStreamNamePrefix.")
	}
	pat, err := parsePattern(in.GetFilterPattern())
	if err != nil {
		return nil, err
	}
	positions := map[string]int64{}
	if in.NextToken != nil {
		b, err := base64.RawURLEncoding.DecodeString(*in.NextToken)
		if err != nil || json.Unmarshal(b, &positions) != nil {
			return nil, errBadToken
		}
	}
	streams, err := s.listStreams(ctx, group, in.GetLogStreamNamePrefix())
	if err != nil {
		return nil, err
	}
	if len(in.LogStreamNames) > 0 {
		streams = only(streams, in.LogStreamNames)
	}
	p := newPage(in.GetLimit(), in.StartTime, in.EndTime)
	out := &shape.FilterLogEventsResponse{Events: []shape.FilteredLogEvent{}, SearchedLogStreams: []shape.SearchedLogStream{}}
	cursors, err := p.openCursors(streams, positions, pat)
	defer func() {
		for _, c := range cursors {
			c.ev.close()
		}
	}()
	if err != nil {
		return nil, err
	}
	for {
		c := nextCursor(cursors)
		if c == nil || p.full(len(c.head.Message)) {
			break
		}
		e := *c.head
		p.add(e)
		out.Events = append(out.Events, shape.FilteredLogEvent{
			LogStreamName: ptr(c.st.Name), Timestamp: ptr(e.Timestamp), Message: ptr(e.Message),
			IngestionTime: ptr(e.Ingestion), EventId: ptr(eventID(c.st, e.Offset)),
		})
		c.pos = e.Next
		if err := c.advance(p, pat); err != nil {
			return nil, err
		}
	}
	more := false
	next := map[string]int64{}
	for _, c := range cursors {
		next[c.st.Name] = c.pos
		more = more || !c.done || c.head != nil
		out.SearchedLogStreams = append(out.SearchedLogStreams, shape.SearchedLogStream{
			LogStreamName: ptr(c.st.Name), SearchedCompletely: ptr(c.done && c.head == nil),
		})
	}
	if more {
		b, _ := json.Marshal(next)
		out.NextToken = ptr(base64.RawURLEncoding.EncodeToString(b))
	}
	return out, nil
}

// openCursors opens a cursor on every stream that may hold events of the
// time range, each at its position and at its first matching event.
func (p *page) openCursors(streams []*Stream, positions map[string]int64, pat *pattern) ([]*cursor, error) {
	var cursors []*cursor
	for _, st := range streams {
		if p.startT != nil {
			sts, err := stats(st)
			if err != nil {
				return cursors, err
			}
			if sts.last == nil || sts.last.Timestamp < *p.startT && sts.first.Timestamp < *p.startT {
				continue
			}
		}
		ev, err := openEvents(st)
		if err != nil {
			return cursors, err
		}
		c := &cursor{st: st, ev: ev, pos: positions[st.Name]}
		c.r = ev.forward(c.pos)
		cursors = append(cursors, c)
		if err := c.advance(p, pat); err != nil {
			return cursors, err
		}
	}
	return cursors, nil
}

// nextCursor returns the cursor whose head comes first (by timestamp, then
// by stream name), or nil when the page must end: every stream searched,
// or one that ran out of read budget before it found its next event (its
// events may come before the others').
func nextCursor(cursors []*cursor) *cursor {
	var best *cursor
	for _, c := range cursors {
		if c.head == nil {
			if !c.done {
				return nil
			}
			continue
		}
		if best == nil || c.head.Timestamp < best.head.Timestamp {
			best = c
		}
	}
	return best
}

// only keeps the streams named in names.
func only(streams []*Stream, names []string) []*Stream {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var out []*Stream
	for _, st := range streams {
		if want[st.Name] {
			out = append(out, st)
		}
	}
	return out
}

// eventID names an event for good: 56 digits, AWS's length, from its
// stream and its offset, so that a search repeated later (as `aws logs
// tail --follow` does) gives the same event the same id.
func eventID(st *Stream, offset int64) string {
	h := fnv.New64a()
	h.Write([]byte(st.Group + "\x00" + st.Name))
	return fmt.Sprintf("%020d%036d", h.Sum64(), offset)
}
