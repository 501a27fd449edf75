package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/pipewright/pipewright/codepipeline"
)

// CodePipeline returns the store of the CodePipeline service.
func (db *DB) CodePipeline() codepipeline.Store { return cpStore{db} }

type cpStore struct{ db *DB }

func (s cpStore) Update(ctx context.Context, fn func(codepipeline.Tx) error) error {
	return s.db.writeTx(ctx, true, func(tx *sql.Tx) error { return fn(cpTx{ctx: ctx, tx: tx}) })
}

func (s cpStore) Progress(ctx context.Context, fn func(codepipeline.Tx) error) error {
	return s.db.writeTx(ctx, false, func(tx *sql.Tx) error { return fn(cpTx{ctx: ctx, tx: tx}) })
}

func (s cpStore) View(ctx context.Context, fn func(codepipeline.Tx) error) error {
	return s.db.readTx(ctx, func(tx *sql.Tx) error { return fn(cpTx{ctx: ctx, tx: tx}) })
}

type cpTx struct {
	ctx context.Context
	tx  *sql.Tx
}

func (t cpTx) exec(q string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(t.ctx, q, args...)
}

func (t cpTx) cas(q string, args ...any) error {
	return casExec(t.ctx, t.tx, codepipeline.ErrConflict, q, args...)
}

func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return codepipeline.ErrNotFound
	}
	return err
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("sqlite: encode %T: %v", v, err))
	}
	return b
}

// --- pipelines

const pipelineCols = `name, version, declaration, created, updated, tags, transitions, row_version`

func scanPipeline(row interface{ Scan(...any) error }) (*codepipeline.Pipeline, error) {
	var p codepipeline.Pipeline
	var decl, tags, trans []byte
	var created, updated int64
	if err := row.Scan(&p.Name, &p.Version, &decl, &created, &updated, &tags, &trans, &p.RowVersion); err != nil {
		return nil, notFound(err)
	}
	p.Declaration = decl
	p.Created, p.Updated = fromMillis(created), fromMillis(updated)
	if err := json.Unmarshal(tags, &p.Tags); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(trans, &p.Transitions); err != nil {
		return nil, err
	}
	return &p, nil
}

func (t cpTx) CreatePipeline(p *codepipeline.Pipeline) error {
	p.RowVersion = 1
	_, err := t.exec(`INSERT INTO pipelines (`+pipelineCols+`) VALUES (?,?,?,?,?,?,?,?)`,
		p.Name, p.Version, []byte(p.Declaration), millis(p.Created), millis(p.Updated), mustJSON(nonNilTags(p.Tags)), mustJSON(nonNilMap(p.Transitions)), p.RowVersion)
	if isUnique(err) {
		return codepipeline.ErrExists
	}
	if err != nil {
		return err
	}
	_, err = t.exec(`INSERT OR REPLACE INTO pipeline_versions (name, version, declaration) VALUES (?,?,?)`, p.Name, p.Version, []byte(p.Declaration))
	return err
}

func (t cpTx) GetPipeline(name string) (*codepipeline.Pipeline, error) {
	return scanPipeline(t.tx.QueryRowContext(t.ctx, `SELECT `+pipelineCols+` FROM pipelines WHERE name = ?`, name))
}

func (t cpTx) GetPipelineVersion(name string, version int32) (json.RawMessage, error) {
	var decl []byte
	err := t.tx.QueryRowContext(t.ctx, `SELECT declaration FROM pipeline_versions WHERE name = ? AND version = ?`, name, version).Scan(&decl)
	return decl, notFound(err)
}

func (t cpTx) UpdatePipeline(p *codepipeline.Pipeline) error {
	err := t.cas(`UPDATE pipelines SET version = ?, declaration = ?, updated = ?, tags = ?, transitions = ?, row_version = row_version + 1
		WHERE name = ? AND row_version = ?`,
		p.Version, []byte(p.Declaration), millis(p.Updated), mustJSON(nonNilTags(p.Tags)), mustJSON(nonNilMap(p.Transitions)), p.Name, p.RowVersion)
	if err != nil {
		return err
	}
	p.RowVersion++
	_, err = t.exec(`INSERT OR REPLACE INTO pipeline_versions (name, version, declaration) VALUES (?,?,?)`, p.Name, p.Version, []byte(p.Declaration))
	return err
}

func (t cpTx) DeletePipeline(name string) error {
	for _, q := range []string{
		`DELETE FROM action_runs WHERE pipeline = ?`,
		`DELETE FROM stage_runs WHERE pipeline = ?`,
		`DELETE FROM executions WHERE pipeline = ?`,
		`DELETE FROM pipeline_versions WHERE name = ?`,
		`DELETE FROM pipelines WHERE name = ?`,
	} {
		if _, err := t.exec(q, name); err != nil {
			return err
		}
	}
	return nil
}

func (t cpTx) ListPipelines(afterName string, limit int) ([]*codepipeline.Pipeline, error) {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT `+pipelineCols+` FROM pipelines WHERE name > ? ORDER BY name LIMIT ?`, afterName, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*codepipeline.Pipeline
	for rows.Next() {
		p, err := scanPipeline(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func (t cpTx) PipelinesWithActiveExecutions() ([]string, error) {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT DISTINCT pipeline FROM executions WHERE active = 1`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

func nonNilTags(t []codepipeline.Tag) []codepipeline.Tag {
	if t == nil {
		return []codepipeline.Tag{}
	}
	return t
}

func nonNilMap(m map[string]codepipeline.Transition) map[string]codepipeline.Transition {
	if m == nil {
		return map[string]codepipeline.Transition{}
	}
	return m
}
