package logs

import (
	"context"
	"errors"
	"os"
	"strings"

	"github.com/pipewright/pipewright/logs/shape"
)

// CreateLogGroup makes an empty group; tags, KMS keys and classes are
// accepted and not kept.
func (s *Service) CreateLogGroup(ctx context.Context, in *shape.CreateLogGroupRequest) (*shape.CreateLogGroupOutput, error) {
	g := &Group{Name: in.GetLogGroupName(), Created: s.now()}
	err := s.store.Update(ctx, func(tx Tx) error { return tx.CreateGroup(g) })
	if errors.Is(err, ErrExists) {
		return nil, errGroupExists
	}
	return nil, err
}

// DeleteLogGroup deletes a group with its streams, and the files of the
// streams PutLogEvents wrote; attached files are their owners'.
func (s *Service) DeleteLogGroup(ctx context.Context, in *shape.DeleteLogGroupRequest) (*shape.DeleteLogGroupOutput, error) {
	var streams []*Stream
	err := s.store.Update(ctx, func(tx Tx) error {
		var err error
		if streams, err = tx.ListStreams(in.GetLogGroupName(), ""); err != nil {
			return err
		}
		return tx.DeleteGroup(in.GetLogGroupName())
	})
	if err != nil {
		return nil, notFound(err, errGroupNotFound)
	}
	for _, st := range streams {
		s.removeFile(st)
	}
	return nil, nil
}

// removeFile deletes the file of a deleted API stream.
func (s *Service) removeFile(st *Stream) {
	if st.Kind != KindAPI {
		return
	}
	if err := os.Remove(st.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.cfg.Log.Warn("logs: cannot remove the file of a deleted stream", "path", st.Path, "err", err)
	}
}

// DescribeLogGroups lists groups by name: logGroupNamePrefix, or
// logGroupNamePattern (a case-insensitive substring), limit (default 50),
// nextToken. Other filters are accepted and ignored.
func (s *Service) DescribeLogGroups(ctx context.Context, in *shape.DescribeLogGroupsRequest) (*shape.DescribeLogGroupsResponse, error) {
	prefix, pattern := in.GetLogGroupNamePrefix(), strings.ToLower(in.GetLogGroupNamePattern())
	if prefix != "" && pattern != "" {
		return nil, invalidParameter("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
	}
	after := ""
	if in.NextToken != nil {
		var err error
		if after, err = parseKeyToken(*in.NextToken); err != nil {
			return nil, err
		}
	}
	limit := int(in.GetLimit())
	if limit == 0 {
		limit = 50
	}
	var groups []*Group
	sizes := map[string]int64{}
	err := s.store.View(ctx, func(tx Tx) error {
		all, err := tx.ListGroups(prefix, after, 0)
		if err != nil {
			return err
		}
		for _, g := range all {
			if pattern != "" && !strings.Contains(strings.ToLower(g.Name), pattern) {
				continue
			}
			if len(groups) == limit+1 {
				break
			}
			groups = append(groups, g)
		}
		for _, g := range groups[:min(limit, len(groups))] {
			streams, err := tx.ListStreams(g.Name, "")
			if err != nil {
				return err
			}
			for _, st := range streams {
				sizes[g.Name] += fileSize(st.Path)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := &shape.DescribeLogGroupsResponse{LogGroups: []shape.LogGroup{}}
	if len(groups) > limit {
		groups = groups[:limit]
		out.NextToken = ptr(keyToken(groups[limit-1].Name))
	}
	for _, g := range groups {
		arn := s.groupARN(g.Name)
		out.LogGroups = append(out.LogGroups, shape.LogGroup{
			LogGroupName: ptr(g.Name), CreationTime: ptr(g.Created.UnixMilli()), MetricFilterCount: ptr(int32(0)),
			Arn: ptr(arn + ":*"), LogGroupArn: ptr(arn), StoredBytes: ptr(sizes[g.Name]),
			LogGroupClass: ptr(shape.LogGroupClassStandard), InheritedProperties: []shape.InheritedProperty{},
		})
	}
	return out, nil
}

// fileSize is the size of a stream's file, 0 when it does not exist.
func fileSize(path string) int64 {
	if path == "" {
		return 0
	}
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

func ptr[T any](v T) *T { return &v }
