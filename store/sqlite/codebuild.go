package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/pipewright/pipewright/codebuild"
	"github.com/pipewright/pipewright/codebuild/shape"
)

// CodeBuild returns the store of the CodeBuild service.
func (db *DB) CodeBuild() codebuild.Store { return cbStore{db} }

type cbStore struct{ db *DB }

func (s cbStore) Update(ctx context.Context, fn func(codebuild.Tx) error) error {
	return s.db.writeTx(ctx, true, func(tx *sql.Tx) error { return fn(cbTx{ctx: ctx, tx: tx}) })
}

func (s cbStore) Progress(ctx context.Context, fn func(codebuild.Tx) error) error {
	return s.db.writeTx(ctx, false, func(tx *sql.Tx) error { return fn(cbTx{ctx: ctx, tx: tx}) })
}

func (s cbStore) View(ctx context.Context, fn func(codebuild.Tx) error) error {
	return s.db.readTx(ctx, func(tx *sql.Tx) error { return fn(cbTx{ctx: ctx, tx: tx}) })
}

type cbTx struct {
	ctx context.Context
	tx  *sql.Tx
}

func (t cbTx) cas(q string, args ...any) error {
	return casExec(t.ctx, t.tx, codebuild.ErrConflict, q, args...)
}

func cbNotFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return codebuild.ErrNotFound
	}
	return err
}

func (t cbTx) CreateProject(p *codebuild.Project) error {
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO cb_projects (name, doc, row_version) VALUES (?, ?, 1)`, p.GetName(), mustJSON(p))
	if isUnique(err) {
		return codebuild.ErrExists
	}
	if err == nil {
		p.RowVersion = 1
	}
	return err
}

func scanProject(row interface{ Scan(...any) error }) (*codebuild.Project, error) {
	var doc []byte
	var v int64
	if err := row.Scan(&doc, &v); err != nil {
		return nil, cbNotFound(err)
	}
	var p codebuild.Project
	if err := json.Unmarshal(doc, &p); err != nil {
		return nil, err
	}
	p.RowVersion = v
	return &p, nil
}

func (t cbTx) GetProject(name string) (*codebuild.Project, error) {
	return scanProject(t.tx.QueryRowContext(t.ctx, `SELECT doc, row_version FROM cb_projects WHERE name = ?`, name))
}

func (t cbTx) UpdateProject(p *codebuild.Project) error {
	if err := t.cas(`UPDATE cb_projects SET doc = ?, row_version = row_version + 1 WHERE name = ? AND row_version = ?`,
		mustJSON(p), p.GetName(), p.RowVersion); err != nil {
		return err
	}
	p.RowVersion++
	return nil
}

func (t cbTx) DeleteProject(name string) error {
	return t.cas(`DELETE FROM cb_projects WHERE name = ?`, name)
}

func (t cbTx) ListProjects() ([]*codebuild.Project, error) {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT doc, row_version FROM cb_projects ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*codebuild.Project
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// buildDoc is the part of a build kept as a JSON document.
type buildDoc struct {
	Doc   shape.Build           `json:"doc"`
	Run   codebuild.RunSpec     `json:"run"`
	JobID string                `json:"jobId,omitempty"`
	Stop  *codebuild.StopIntent `json:"stop,omitempty"`
}

const buildCols = `seq, id, project, token, doc, row_version`

func scanBuild(row interface{ Scan(...any) error }) (*codebuild.Build, error) {
	var b codebuild.Build
	var doc []byte
	if err := row.Scan(&b.Seq, &b.ID, &b.Project, &b.Token, &doc, &b.RowVersion); err != nil {
		return nil, cbNotFound(err)
	}
	var d buildDoc
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, err
	}
	b.Doc, b.Run, b.JobID, b.Stop = d.Doc, d.Run, d.JobID, d.Stop
	return &b, nil
}

func buildDocOf(b *codebuild.Build) []byte {
	return mustJSON(buildDoc{Doc: b.Doc, Run: b.Run, JobID: b.JobID, Stop: b.Stop})
}

func buildActive(b *codebuild.Build) bool { return b.Doc.BuildComplete == nil || !*b.Doc.BuildComplete }

func (t cbTx) CreateBuild(b *codebuild.Build) error {
	res, err := t.tx.ExecContext(t.ctx, `INSERT INTO cb_builds (id, project, token, active, doc, row_version) VALUES (?, ?, ?, ?, ?, 1)`,
		b.ID, b.Project, b.Token, buildActive(b), buildDocOf(b))
	if isUnique(err) {
		return codebuild.ErrExists
	}
	if err != nil {
		return err
	}
	if b.Seq, err = res.LastInsertId(); err != nil {
		return err
	}
	b.RowVersion = 1
	return nil
}

func (t cbTx) GetBuild(id string) (*codebuild.Build, error) {
	return scanBuild(t.tx.QueryRowContext(t.ctx, `SELECT `+buildCols+` FROM cb_builds WHERE id = ?`, id))
}

func (t cbTx) UpdateBuild(b *codebuild.Build) error {
	if err := t.cas(`UPDATE cb_builds SET active = ?, doc = ?, row_version = row_version + 1 WHERE id = ? AND row_version = ?`,
		buildActive(b), buildDocOf(b), b.ID, b.RowVersion); err != nil {
		return err
	}
	b.RowVersion++
	return nil
}

func (t cbTx) DeleteBuild(id string) error {
	return t.cas(`DELETE FROM cb_builds WHERE id = ?`, id)
}

func (t cbTx) ListBuildIDs(project string) ([]string, error) {
	q, args := `SELECT id FROM cb_builds ORDER BY seq`, []any{}
	if project != "" {
		q, args = `SELECT id FROM cb_builds WHERE project = ? ORDER BY seq`, []any{project}
	}
	rows, err := t.tx.QueryContext(t.ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

func (t cbTx) ActiveBuilds() ([]*codebuild.Build, error) {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT `+buildCols+` FROM cb_builds WHERE active = 1 ORDER BY seq`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*codebuild.Build
	for rows.Next() {
		b, err := scanBuild(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

func (t cbTx) FindBuildByToken(project, token string) (*codebuild.Build, error) {
	if token == "" {
		return nil, codebuild.ErrNotFound
	}
	return scanBuild(t.tx.QueryRowContext(t.ctx, `SELECT `+buildCols+` FROM cb_builds WHERE project = ? AND token = ? ORDER BY seq DESC LIMIT 1`, project, token))
}
