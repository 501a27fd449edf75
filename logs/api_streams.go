package logs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/pipewright/pipewright/logs/shape"
)

// CreateLogStream makes an empty stream that PutLogEvents writes.
func (s *Service) CreateLogStream(ctx context.Context, in *shape.CreateLogStreamRequest) (*shape.CreateLogStreamOutput, error) {
	st := &Stream{Group: in.GetLogGroupName(), Name: in.GetLogStreamName(), Kind: KindAPI, Path: s.newStreamPath(), Created: s.now()}
	err := s.store.Update(ctx, func(tx Tx) error {
		if _, err := tx.GetGroup(st.Group); err != nil {
			return notFound(err, errGroupNotFound)
		}
		return tx.CreateStream(st)
	})
	if errors.Is(err, ErrExists) {
		return nil, errStreamExists
	}
	return nil, err
}

// DeleteLogStream deletes a stream; the file of an attached one is its
// owner's and stays.
func (s *Service) DeleteLogStream(ctx context.Context, in *shape.DeleteLogStreamRequest) (*shape.DeleteLogStreamOutput, error) {
	st, err := s.lookupStream(ctx, in.GetLogGroupName(), in.GetLogStreamName())
	if err != nil {
		return nil, err
	}
	err = s.store.Update(ctx, func(tx Tx) error { return tx.DeleteStream(st.Group, st.Name) })
	if err != nil {
		return nil, notFound(err, errStreamNotFound)
	}
	s.removeFile(st)
	return nil, nil
}

// lookupStream returns a stream's record, or the ResourceNotFoundException
// that names what is missing, the group or the stream.
func (s *Service) lookupStream(ctx context.Context, group, name string) (*Stream, error) {
	var st *Stream
	err := s.store.View(ctx, func(tx Tx) error {
		if _, err := tx.GetGroup(group); err != nil {
			return notFound(err, errGroupNotFound)
		}
		var err error
		st, err = tx.GetStream(group, name)
		return notFound(err, errStreamNotFound)
	})
	return st, err
}

// listStreams returns a group's streams whose names start with prefix.
func (s *Service) listStreams(ctx context.Context, group, prefix string) ([]*Stream, error) {
	var out []*Stream
	err := s.store.View(ctx, func(tx Tx) error {
		if _, err := tx.GetGroup(group); err != nil {
			return notFound(err, errGroupNotFound)
		}
		var err error
		out, err = tx.ListStreams(group, prefix)
		return err
	})
	return out, err
}

// DescribeLogStreams lists a group's streams ordered by name or by the
// time of their last event (streams without events first), ascending or
// descending; the nextToken is the sort key of the last stream listed.
func (s *Service) DescribeLogStreams(ctx context.Context, in *shape.DescribeLogStreamsRequest) (*shape.DescribeLogStreamsResponse, error) {
	group, err := groupName(in.GetLogGroupName(), in.GetLogGroupIdentifier())
	if err != nil {
		return nil, err
	}
	byTime := in.GetOrderBy() == shape.OrderByLastEventTime
	if byTime && in.GetLogStreamNamePrefix() != "" {
		return nil, invalidParameter("Cannot order by LastEventTime with a logStreamNamePrefix.")
	}
	after := ""
	if in.NextToken != nil {
		if after, err = parseKeyToken(*in.NextToken); err != nil {
			return nil, err
		}
	}
	limit := int(in.GetLimit())
	if limit == 0 {
		limit = 50
	}
	streams, err := s.listStreams(ctx, group, in.GetLogStreamNamePrefix())
	if err != nil {
		return nil, err
	}
	type row struct {
		st  *Stream
		sts streamStats
		key string
	}
	rows := make([]row, 0, len(streams))
	for _, st := range streams {
		sts, err := stats(st)
		if err != nil {
			return nil, err
		}
		key := st.Name
		if byTime {
			last := int64(0)
			if sts.last != nil {
				last = sts.last.Timestamp
			}
			key = fmt.Sprintf("%020d/%s", last, st.Name)
		}
		rows = append(rows, row{st, sts, key})
	}
	desc := in.GetDescending()
	slices.SortFunc(rows, func(a, b row) int {
		if desc {
			return cmp.Compare(b.key, a.key)
		}
		return cmp.Compare(a.key, b.key)
	})
	if after != "" {
		i := 0
		for i < len(rows) && (!desc && rows[i].key <= after || desc && rows[i].key >= after) {
			i++
		}
		rows = rows[i:]
	}
	out := &shape.DescribeLogStreamsResponse{LogStreams: []shape.LogStream{}}
	if len(rows) > limit {
		rows = rows[:limit]
		out.NextToken = ptr(keyToken(rows[limit-1].key))
	}
	for _, r := range rows {
		ls := shape.LogStream{
			LogStreamName: ptr(r.st.Name), CreationTime: ptr(r.st.Created.UnixMilli()),
			Arn: ptr(s.streamARN(r.st.Group, r.st.Name)), StoredBytes: ptr(r.sts.bytes),
		}
		if r.sts.first != nil {
			ls.FirstEventTimestamp = ptr(r.sts.first.Timestamp)
			ls.LastEventTimestamp = ptr(r.sts.last.Timestamp)
			ls.LastIngestionTime = ptr(r.sts.last.Ingestion)
		}
		out.LogStreams = append(out.LogStreams, ls)
	}
	return out, nil
}
