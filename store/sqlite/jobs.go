package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/pipewright/pipewright/jobs"
)

// Jobs returns the store of the job layer.
func (db *DB) Jobs() jobs.Store { return jobStore{db} }

type jobStore struct{ db *DB }

func (s jobStore) Progress(ctx context.Context, fn func(jobs.Tx) error) error {
	return s.db.writeTx(ctx, false, func(tx *sql.Tx) error { return fn(jobTx{ctx: ctx, tx: tx}) })
}

func (s jobStore) View(ctx context.Context, fn func(jobs.Tx) error) error {
	return s.db.readTx(ctx, func(tx *sql.Tx) error { return fn(jobTx{ctx: ctx, tx: tx}) })
}

type jobTx struct {
	ctx context.Context
	tx  *sql.Tx
}

// jobDoc is the part of a job kept as a JSON document.
type jobDoc struct {
	Spec       jobs.Spec         `json:"spec"`
	Reason     jobs.Reason       `json:"reason,omitempty"`
	Message    string            `json:"message,omitempty"`
	ExitCode   int               `json:"exitCode,omitempty"`
	Outputs    []jobs.Artifact   `json:"outputs,omitempty"`
	Variables  map[string]string `json:"variables,omitempty"`
	Kept       map[string][]byte `json:"kept,omitempty"`
	LogPath    string            `json:"logPath,omitempty"`
	Boot       string            `json:"boot,omitempty"`
	Handle     json.RawMessage   `json:"handle,omitempty"`
	StopReason string            `json:"stopReason,omitempty"`
	Created    time.Time         `json:"created"`
	Started    time.Time         `json:"started,omitzero"`
	Ended      time.Time         `json:"ended,omitzero"`
}

const jobCols = `id, owner, token, grp, status, doc, row_version`

func scanJob(row interface{ Scan(...any) error }) (*jobs.Job, error) {
	var j jobs.Job
	var doc []byte
	if err := row.Scan(&j.ID, &j.Owner, &j.Token, &j.Group, &j.Status, &doc, &j.RowVersion); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, jobs.ErrNotFound
		}
		return nil, err
	}
	var d jobDoc
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, err
	}
	j.Spec, j.Reason, j.Message, j.ExitCode = d.Spec, d.Reason, d.Message, d.ExitCode
	j.Outputs, j.Variables, j.Kept, j.LogPath, j.Boot, j.Handle = d.Outputs, d.Variables, d.Kept, d.LogPath, d.Boot, d.Handle
	j.StopReason, j.Created, j.Started, j.Ended = d.StopReason, d.Created, d.Started, d.Ended
	return &j, nil
}

func docOf(j *jobs.Job) []byte {
	return mustJSON(jobDoc{
		Spec: j.Spec, Reason: j.Reason, Message: j.Message, ExitCode: j.ExitCode, Outputs: j.Outputs, Variables: j.Variables, Kept: j.Kept,
		LogPath: j.LogPath, Boot: j.Boot, Handle: j.Handle, StopReason: j.StopReason, Created: j.Created, Started: j.Started, Ended: j.Ended,
	})
}

func activeFlag(s jobs.Status) int {
	if s.Terminal() {
		return 0
	}
	return 1
}

func (t jobTx) queryJobs(q string, args ...any) ([]*jobs.Job, error) {
	rows, err := t.tx.QueryContext(t.ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*jobs.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

func (t jobTx) CreateJob(j *jobs.Job) error {
	j.RowVersion = 1
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO jobs (id, owner, token, grp, status, active, ended, doc, row_version) VALUES (?,?,?,?,?,?,?,?,?)`,
		j.ID, j.Owner, j.Token, j.Group, j.Status, activeFlag(j.Status), millis(j.Ended), docOf(j), j.RowVersion)
	if isUnique(err) {
		return jobs.ErrExists
	}
	return err
}

func (t jobTx) GetJob(id string) (*jobs.Job, error) {
	return scanJob(t.tx.QueryRowContext(t.ctx, `SELECT `+jobCols+` FROM jobs WHERE id = ?`, id))
}

func (t jobTx) GetJobByToken(owner, token string) (*jobs.Job, error) {
	return scanJob(t.tx.QueryRowContext(t.ctx, `SELECT `+jobCols+` FROM jobs WHERE owner = ? AND token = ?`, owner, token))
}

func (t jobTx) UpdateJob(j *jobs.Job) error {
	if err := casExec(t.ctx, t.tx, jobs.ErrConflict, `UPDATE jobs SET status = ?, active = ?, ended = ?, doc = ?, row_version = row_version + 1 WHERE id = ? AND row_version = ?`,
		j.Status, activeFlag(j.Status), millis(j.Ended), docOf(j), j.ID, j.RowVersion); err != nil {
		return err
	}
	j.RowVersion++
	return nil
}

func (t jobTx) DeleteJob(id string) error {
	_, err := t.tx.ExecContext(t.ctx, `DELETE FROM jobs WHERE id = ?`, id)
	return err
}

func (t jobTx) ListActiveJobs() ([]*jobs.Job, error) {
	return t.queryJobs(`SELECT ` + jobCols + ` FROM jobs WHERE active = 1 ORDER BY id`)
}

func (t jobTx) ListJobsInGroup(owner, group string) ([]*jobs.Job, error) {
	return t.queryJobs(`SELECT `+jobCols+` FROM jobs WHERE owner = ? AND grp = ? ORDER BY id`, owner, group)
}

func (t jobTx) ListGroups(owner string) ([]string, error) {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT DISTINCT grp FROM jobs WHERE owner = ? ORDER BY grp`, owner)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

func (t jobTx) ListEndedBefore(before time.Time, limit int) ([]*jobs.Job, error) {
	return t.queryJobs(`SELECT `+jobCols+` FROM jobs WHERE active = 0 AND ended < ? ORDER BY ended LIMIT ?`, millis(before), limit)
}
