// Package logs is pipewright's CloudWatch Logs: the subset of operations
// that tools read build logs with (GetLogEvents, FilterLogEvents,
// DescribeLogGroups, DescribeLogStreams, `aws logs tail`), and the few that
// write (CreateLogGroup, CreateLogStream, PutLogEvents, the deletes).
//
// Groups and stream records are in the Store. Events are always in files,
// read as they are, a block at a time, and paged by byte offsets (the
// tokens carry offsets), so a 100 MB build log is never held in memory:
//
//   - an attached stream is a file another service writes (the job
//     layer's "TIME TEXT" lines), registered with Attach;
//   - a stream made by CreateLogStream is a file under Config.Dir that
//     PutLogEvents appends to. Files rather than rows in the store: one
//     reader and one token scheme serve both kinds, a 10,000-event batch
//     is one append rather than 10,000 rows, and reading a stream never
//     competes with the store's single writer. Events come back in the
//     order they were put (AWS sorts by timestamp; PutLogEvents requires
//     each batch in order, so the two differ only for batches put out of
//     order with each other).
package logs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/pipewright/pipewright/logs/shape"
	"github.com/pipewright/pipewright/wire"
)

// Config is what the service is built from.
type Config struct {
	Store     Store
	Dir       string // the files of streams made by CreateLogStream
	Region    string
	AccountID string
	Now       func() time.Time
	Log       *slog.Logger
}

// Service implements the CloudWatch Logs operations.
type Service struct {
	cfg      Config
	store    Store
	appendMu sync.Mutex // serialises PutLogEvents appends
}

// New returns the service; Config.Dir is created when missing.
func New(cfg Config) (*Service, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, store: cfg.Store}, nil
}

// Wire returns the service for the awsJson1_1 server: the operations it
// implements (every other modelled one answers UnknownOperationException)
// with the service's errors mapped as CloudWatch Logs answers them.
func (s *Service) Wire() *wire.Service {
	ops := shape.Operations(s)
	for name, op := range ops {
		ops[name] = mapErrors(op)
	}
	return &wire.Service{TargetPrefix: shape.TargetPrefix, SigningName: shape.SigningName, Ops: ops, Known: shape.OperationNames}
}

func (s *Service) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Millisecond) }

// Attach registers a file another service writes as stream stream of
// group, created at created; the group is created when missing (as
// CodeBuild does for /aws/codebuild/PROJECT). It is idempotent: attaching
// the same stream again (also with another path, which then replaces the
// first) succeeds. The file need not exist yet: until it does the stream
// is empty. The logs service only reads it; its lines are the job layer's
// "2006-01-02T15:04:05.000Z TEXT". A stream of that name made by
// CreateLogStream is an error.
func (s *Service) Attach(ctx context.Context, group, stream, filePath string, created time.Time) error {
	created = created.UTC().Truncate(time.Millisecond)
	return s.store.Progress(ctx, func(tx Tx) error {
		if err := tx.CreateGroup(&Group{Name: group, Created: created}); err != nil && !errors.Is(err, ErrExists) {
			return err
		}
		st, err := tx.GetStream(group, stream)
		switch {
		case errors.Is(err, ErrNotFound):
			return tx.CreateStream(&Stream{Group: group, Name: stream, Kind: KindAttached, Path: filePath, Created: created})
		case err != nil:
			return err
		case st.Kind != KindAttached:
			return fmt.Errorf("logs: attach %s/%s: a stream of that name was made through the API", group, stream)
		case st.Path == filePath:
			return nil
		}
		st.Path = filePath
		return tx.UpdateStream(st)
	})
}

// Detach forgets an attached stream (its owner deleted what it logged);
// the file is the owner's to delete. Detaching a stream that is not there
// succeeds; the group stays.
func (s *Service) Detach(ctx context.Context, group, stream string) error {
	return s.store.Update(ctx, func(tx Tx) error {
		st, err := tx.GetStream(group, stream)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if st.Kind != KindAttached {
			return fmt.Errorf("logs: detach %s/%s: the stream was made through the API", group, stream)
		}
		return tx.DeleteStream(group, stream)
	})
}

// newStreamPath names the file of a new API stream.
func (s *Service) newStreamPath() string {
	return filepath.Join(s.cfg.Dir, uuid.NewString()+".log")
}

// groupARN is the ARN DescribeLogGroups calls arn (with ":*").
func (s *Service) groupARN(group string) string {
	return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", s.cfg.Region, s.cfg.AccountID, group)
}

func (s *Service) streamARN(group, stream string) string {
	return s.groupARN(group) + ":log-stream:" + stream
}

// groupName resolves the logGroupName / logGroupIdentifier pair: exactly
// one must be given; an identifier is a name or a log group ARN (with or
// without ":*").
func groupName(name, identifier string) (string, error) {
	switch {
	case name != "" && identifier != "":
		return "", invalidParameter("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
	case name != "":
		return name, nil
	case identifier == "":
		return "", invalidParameter("Either logGroupName or logGroupIdentifier must be specified.")
	}
	if rest, ok := strings.CutPrefix(identifier, "arn:"); ok {
		parts := strings.SplitN(rest, ":", 6)
		if len(parts) != 6 || parts[1] != "logs" || !strings.HasPrefix(parts[4], "log-group") {
			return "", invalidParameter("Invalid logGroupIdentifier: " + identifier)
		}
		return strings.TrimSuffix(parts[5], ":*"), nil
	}
	return identifier, nil
}

// DeleteGroup deletes a group and its streams, as DeleteLogGroup does; a
// group that does not exist is no error. Services delete the group of what
// they deleted (a pipeline's Commands logs).
func (s *Service) DeleteGroup(ctx context.Context, group string) error {
	_, err := s.DeleteLogGroup(ctx, &shape.DeleteLogGroupRequest{LogGroupName: &group})
	var we *wire.Error
	if errors.As(err, &we) && we.Code == "ResourceNotFoundException" {
		return nil
	}
	return err
}
