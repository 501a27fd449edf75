// Package codedeploy is pipewright's AWS CodeDeploy control plane for the
// Server compute platform: applications, deployment groups over
// on-premises instances, deployment configs (the three built-in ones and
// custom HOST_COUNT and FLEET_PERCENT ones), on-premises instances, S3
// application revisions kept in pipewright's artifact store, and tags; and
// in-place deployments to on-premises instances, which the hosts' agents
// carry out through codedeploy-commands (see Commands and Identify).
package codedeploy

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/pipewright/pipewright/artifacts"
)

// Config is what the service is built from.
type Config struct {
	Store Store
	// Artifacts is the artifact store S3 revisions must be objects of.
	Artifacts *artifacts.Store
	Region    string
	AccountID string
	Now       func() time.Time
	Log       *slog.Logger
	// EventTimeout bounds a lifecycle event handed to a host
	// (DefaultEventTimeout when zero); SweepEvery is how often events are
	// checked against it (a second when zero).
	EventTimeout time.Duration
	SweepEvery   time.Duration
}

// Service implements the CodeDeploy operations.
type Service struct {
	cfg   Config
	store Store
	log   *slog.Logger

	mu   sync.Mutex
	wake chan struct{} // closed and replaced when a deployment changes

	stop  context.CancelFunc
	swept sync.WaitGroup
}

// New returns the service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.EventTimeout <= 0 {
		cfg.EventTimeout = DefaultEventTimeout
	}
	if cfg.SweepEvery <= 0 {
		cfg.SweepEvery = time.Second
	}
	return &Service{cfg: cfg, store: cfg.Store, log: cfg.Log, wake: make(chan struct{})}
}

func (s *Service) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Millisecond) }

// load reads the record k into v; found is false when there is none.
func load(tx Tx, k Key, v any) (r *Record, found bool, err error) {
	r, err = tx.Get(k)
	if errors.Is(err, ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return r, true, json.Unmarshal(r.Doc, v)
}

// save stores v as the record r (a new one when r.RowVersion is 0).
func save(tx Tx, r *Record, v any) error {
	doc, err := json.Marshal(v)
	if err != nil {
		return err
	}
	r.Doc = doc
	return tx.Put(r)
}

// loadAll reads every record of a kind in a scope, by name.
func loadAll[T any](tx Tx, kind Kind, scope string) ([]*T, error) {
	rs, err := tx.List(kind, scope)
	if err != nil {
		return nil, err
	}
	out := make([]*T, 0, len(rs))
	for _, r := range rs {
		v := new(T)
		if err := json.Unmarshal(r.Doc, v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// view runs fn in a read transaction.
func (s *Service) view(ctx context.Context, fn func(Tx) error) error { return s.store.View(ctx, fn) }

// update runs fn in a durable write transaction.
func (s *Service) update(ctx context.Context, fn func(Tx) error) error {
	return s.store.Update(ctx, fn)
}

// jsonOf is v's document.
func jsonOf(v any) ([]byte, error) { return json.Marshal(v) }
