package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/pipewright/pipewright/codedeploy"
)

// CodeDeploy returns the store of the CodeDeploy service.
func (db *DB) CodeDeploy() codedeploy.Store { return cdStore{db} }

type cdStore struct{ db *DB }

func (s cdStore) Update(ctx context.Context, fn func(codedeploy.Tx) error) error {
	return s.db.writeTx(ctx, true, func(tx *sql.Tx) error { return fn(cdTx{ctx: ctx, tx: tx}) })
}

func (s cdStore) View(ctx context.Context, fn func(codedeploy.Tx) error) error {
	return s.db.readTx(ctx, func(tx *sql.Tx) error { return fn(cdTx{ctx: ctx, tx: tx}) })
}

type cdTx struct {
	ctx context.Context
	tx  *sql.Tx
}

func (t cdTx) cas(q string, args ...any) error {
	return casExec(t.ctx, t.tx, codedeploy.ErrConflict, q, args...)
}

func (t cdTx) Put(r *codedeploy.Record) error {
	if r.RowVersion == 0 {
		_, err := t.tx.ExecContext(t.ctx, `INSERT INTO cd_records (kind, scope, name, doc, row_version) VALUES (?, ?, ?, ?, 1)`,
			string(r.Kind), r.Scope, r.Name, r.Doc)
		if isUnique(err) {
			return codedeploy.ErrExists
		}
		if err == nil {
			r.RowVersion = 1
		}
		return err
	}
	if err := t.cas(`UPDATE cd_records SET doc = ?, row_version = row_version + 1 WHERE kind = ? AND scope = ? AND name = ? AND row_version = ?`,
		r.Doc, string(r.Kind), r.Scope, r.Name, r.RowVersion); err != nil {
		return err
	}
	r.RowVersion++
	return nil
}

func (t cdTx) Get(k codedeploy.Key) (*codedeploy.Record, error) {
	r := &codedeploy.Record{Key: k}
	err := t.tx.QueryRowContext(t.ctx, `SELECT doc, row_version FROM cd_records WHERE kind = ? AND scope = ? AND name = ?`,
		string(k.Kind), k.Scope, k.Name).Scan(&r.Doc, &r.RowVersion)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, codedeploy.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (t cdTx) Delete(r *codedeploy.Record) error {
	return t.cas(`DELETE FROM cd_records WHERE kind = ? AND scope = ? AND name = ? AND row_version = ?`,
		string(r.Kind), r.Scope, r.Name, r.RowVersion)
}

func (t cdTx) List(kind codedeploy.Kind, scope string) ([]*codedeploy.Record, error) {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT name, doc, row_version FROM cd_records WHERE kind = ? AND scope = ? ORDER BY name`,
		string(kind), scope)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*codedeploy.Record
	for rows.Next() {
		r := &codedeploy.Record{Key: codedeploy.Key{Kind: kind, Scope: scope}}
		if err := rows.Scan(&r.Name, &r.Doc, &r.RowVersion); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (t cdTx) Rename(r *codedeploy.Record, name string) error {
	err := t.cas(`UPDATE cd_records SET name = ?, doc = ?, row_version = row_version + 1 WHERE kind = ? AND scope = ? AND name = ? AND row_version = ?`,
		name, r.Doc, string(r.Kind), r.Scope, r.Name, r.RowVersion)
	if isUnique(err) {
		return codedeploy.ErrExists
	}
	if err != nil {
		return err
	}
	r.Name = name
	r.RowVersion++
	return nil
}

func (t cdTx) MoveScope(from, to string) error {
	_, err := t.tx.ExecContext(t.ctx, `UPDATE cd_records SET scope = ?, row_version = row_version + 1 WHERE scope = ?`, to, from)
	return err
}

func (t cdTx) DeleteScope(scope string) error {
	_, err := t.tx.ExecContext(t.ctx, `DELETE FROM cd_records WHERE scope = ?`, scope)
	return err
}
