package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/pipewright/pipewright/logs"
)

// Logs returns the store of the CloudWatch Logs service.
func (db *DB) Logs() logs.Store { return logsStore{db} }

type logsStore struct{ db *DB }

func (s logsStore) Update(ctx context.Context, fn func(logs.Tx) error) error {
	return s.db.writeTx(ctx, true, func(tx *sql.Tx) error { return fn(logsTx{ctx: ctx, tx: tx}) })
}

func (s logsStore) Progress(ctx context.Context, fn func(logs.Tx) error) error {
	return s.db.writeTx(ctx, false, func(tx *sql.Tx) error { return fn(logsTx{ctx: ctx, tx: tx}) })
}

func (s logsStore) View(ctx context.Context, fn func(logs.Tx) error) error {
	return s.db.readTx(ctx, func(tx *sql.Tx) error { return fn(logsTx{ctx: ctx, tx: tx}) })
}

type logsTx struct {
	ctx context.Context
	tx  *sql.Tx
}

// prefixCond matches a name column against a prefix ("" matches all).
const prefixCond = `substr(name, 1, length(?)) = ?`

func (t logsTx) CreateGroup(g *logs.Group) error {
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO log_groups (name, doc) VALUES (?, ?)`, g.Name, mustJSON(g))
	if isUnique(err) {
		return logs.ErrExists
	}
	return err
}

func (t logsTx) GetGroup(name string) (*logs.Group, error) {
	return getDoc[logs.Group](t, `SELECT doc FROM log_groups WHERE name = ?`, name)
}

// getDoc decodes the one doc of a query's one row: logs.ErrNotFound
// when there is none.
func getDoc[T any](t logsTx, q string, args ...any) (*T, error) {
	var doc []byte
	err := t.tx.QueryRowContext(t.ctx, q, args...).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, logs.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	v := new(T)
	return v, json.Unmarshal(doc, v)
}

func (t logsTx) ListGroups(prefix, afterName string, limit int) ([]*logs.Group, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := t.tx.QueryContext(t.ctx, `SELECT doc FROM log_groups WHERE name > ? AND `+prefixCond+` ORDER BY name LIMIT ?`,
		afterName, prefix, prefix, limit)
	if err != nil {
		return nil, err
	}
	return scanDocs[logs.Group](rows)
}

func (t logsTx) DeleteGroup(name string) error {
	if _, err := t.tx.ExecContext(t.ctx, `DELETE FROM log_streams WHERE grp = ?`, name); err != nil {
		return err
	}
	return casExec(t.ctx, t.tx, logs.ErrNotFound, `DELETE FROM log_groups WHERE name = ?`, name)
}

func (t logsTx) CreateStream(s *logs.Stream) error {
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO log_streams (grp, name, doc) VALUES (?, ?, ?)`, s.Group, s.Name, mustJSON(s))
	if isUnique(err) {
		return logs.ErrExists
	}
	return err
}

func (t logsTx) GetStream(group, name string) (*logs.Stream, error) {
	return getDoc[logs.Stream](t, `SELECT doc FROM log_streams WHERE grp = ? AND name = ?`, group, name)
}

func (t logsTx) ListStreams(group, prefix string) ([]*logs.Stream, error) {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT doc FROM log_streams WHERE grp = ? AND `+prefixCond+` ORDER BY name`, group, prefix, prefix)
	if err != nil {
		return nil, err
	}
	return scanDocs[logs.Stream](rows)
}

func (t logsTx) UpdateStream(s *logs.Stream) error {
	return casExec(t.ctx, t.tx, logs.ErrNotFound, `UPDATE log_streams SET doc = ? WHERE grp = ? AND name = ?`, mustJSON(s), s.Group, s.Name)
}

func (t logsTx) DeleteStream(group, name string) error {
	return casExec(t.ctx, t.tx, logs.ErrNotFound, `DELETE FROM log_streams WHERE grp = ? AND name = ?`, group, name)
}

// scanDocs decodes the one JSON doc column of every row.
func scanDocs[T any](rows *sql.Rows) ([]*T, error) {
	defer rows.Close()
	var out []*T
	for rows.Next() {
		var doc []byte
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		v := new(T)
		if err := json.Unmarshal(doc, v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
