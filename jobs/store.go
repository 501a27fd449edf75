package jobs

import (
	"context"
	"errors"
	"time"
)

// Store is the persistence of jobs. Every Tx method works inside one
// transaction; Progress commits all of fn's writes or none, so that a crash
// of the server (kill -9) never undoes them. UpdateJob is compare-and-set on
// RowVersion: it returns ErrConflict and changes nothing when the stored
// version is not the record's, and advances RowVersion on success.
type Store interface {
	Progress(ctx context.Context, fn func(Tx) error) error
	View(ctx context.Context, fn func(Tx) error) error
}

// Store errors.
var (
	ErrNotFound = errors.New("job not found")
	ErrExists   = errors.New("job already exists")
	ErrConflict = errors.New("job changed concurrently")
)

// Tx is one transaction of the Store.
type Tx interface {
	CreateJob(j *Job) error // ErrExists for a taken ID or owner token
	GetJob(id string) (*Job, error)
	GetJobByToken(owner, token string) (*Job, error)
	UpdateJob(j *Job) error
	DeleteJob(id string) error
	// ListActiveJobs returns the jobs that are Pending or Running.
	ListActiveJobs() ([]*Job, error)
	// ListJobsInGroup returns the jobs of an owner's group.
	ListJobsInGroup(owner, group string) ([]*Job, error)
	// ListGroups names the groups an owner has jobs in.
	ListGroups(owner string) ([]string, error)
	// ListEndedBefore returns up to limit jobs that ended before t, oldest first.
	ListEndedBefore(t time.Time, limit int) ([]*Job, error)
}
