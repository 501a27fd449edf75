package codedeploy

import (
	"context"
	"errors"
)

// Store is the persistence the CodeDeploy service needs: records of a few
// kinds, each a JSON document named within a scope. Update commits all of
// fn's writes or none, durably. Writes of an existing record are
// compare-and-set on RowVersion: when the stored version is not the
// record's, the write returns ErrConflict and changes nothing; on success
// the record's RowVersion is advanced.
type Store interface {
	Update(ctx context.Context, fn func(Tx) error) error
	View(ctx context.Context, fn func(Tx) error) error
}

// Store errors.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	ErrConflict = errors.New("concurrent modification")
)

// Kind is what a record is.
type Kind string

// The kinds of record. Deployment groups and revisions are scoped by their
// application's name; the others have the scope "".
const (
	KindApplication Kind = "application"
	KindGroup       Kind = "deploymentgroup"
	KindConfig      Kind = "deploymentconfig"
	KindInstance    Kind = "instance"
	KindRevision    Kind = "revision"
)

// Key names a record.
type Key struct {
	Kind  Kind
	Scope string
	Name  string
}

// Record is a stored document. RowVersion zero means a record not stored
// yet.
type Record struct {
	Key
	Doc        []byte
	RowVersion int64
}

// Tx is one transaction of the Store.
type Tx interface {
	// Put stores a new record (RowVersion 0: ErrExists when its key is
	// taken) or replaces a stored one (compare-and-set).
	Put(r *Record) error
	// Get returns a record: ErrNotFound when there is none.
	Get(k Key) (*Record, error)
	// Delete removes a record (compare-and-set).
	Delete(r *Record) error
	// List returns the records of a kind in a scope, by name.
	List(kind Kind, scope string) ([]*Record, error)
	// Rename gives a record a new name (compare-and-set; ErrExists when
	// the name is taken).
	Rename(r *Record, name string) error
	// MoveScope moves every record of scope from to scope to (an
	// application's groups and revisions when it is renamed).
	MoveScope(from, to string) error
	// DeleteScope removes every record of a scope.
	DeleteScope(scope string) error
}

// The kinds of record of deployments (scope ""): a deployment, and the
// marker of one that has not ended.
const (
	KindDeployment Kind = "deployment"
	KindActive     Kind = "activedeployment"
	// KindStopAhead marks a pipeline deployment stopped before it was
	// created: its creation is refused.
	KindStopAhead Kind = "stopahead"
)
