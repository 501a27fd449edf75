package logs

import (
	"context"
	"errors"
	"time"
)

// Store keeps the log groups and streams (their names, kinds and where
// their events are); the events themselves live in files (see Service).
// Every method of Tx works inside one transaction; Update commits all of
// fn's writes or none, durably.
type Store interface {
	Update(ctx context.Context, fn func(Tx) error) error
	// Progress commits so that a crash of the server never undoes it; a
	// power loss may undo the latest ones. Attach uses it: its owner
	// attaches the stream again when it carries on after a restart.
	Progress(ctx context.Context, fn func(Tx) error) error
	View(ctx context.Context, fn func(Tx) error) error
}

// Store errors.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
)

// Tx is one transaction of the Store.
type Tx interface {
	CreateGroup(g *Group) error // ErrExists
	GetGroup(name string) (*Group, error)
	// ListGroups returns groups by name, those after afterName (all when
	// empty) whose name starts with prefix, at most limit (<= 0: all).
	ListGroups(prefix, afterName string, limit int) ([]*Group, error)
	DeleteGroup(name string) error // deletes its streams too; ErrNotFound

	CreateStream(s *Stream) error // ErrExists
	GetStream(group, name string) (*Stream, error)
	// ListStreams returns a group's streams by name whose name starts
	// with prefix.
	ListStreams(group, prefix string) ([]*Stream, error)
	UpdateStream(s *Stream) error          // ErrNotFound
	DeleteStream(group, name string) error // ErrNotFound
}

// Group is a log group.
type Group struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
}

// StreamKind says who writes a stream's file and in which format.
type StreamKind string

const (
	// KindAttached: a file another service (the job layer, through
	// CodeBuild) writes, one "TIME TEXT" line per event; registered
	// with Service.Attach, never written by the logs service.
	KindAttached StreamKind = "attached"
	// KindAPI: a stream made by CreateLogStream, written by PutLogEvents
	// into a file of the logs service's own directory.
	KindAPI StreamKind = "api"
)

// Stream is a log stream: its record, not its events.
type Stream struct {
	Group   string     `json:"group"`
	Name    string     `json:"name"`
	Kind    StreamKind `json:"kind"`
	Path    string     `json:"path"` // the events file; absent means empty
	Created time.Time  `json:"created"`
}
