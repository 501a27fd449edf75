package sqlite

import (
	"encoding/json"

	"github.com/pipewright/pipewright/codepipeline"
)

func scanExecution(row interface{ Scan(...any) error }) (*codepipeline.Execution, error) {
	var doc []byte
	var seq, rv int64
	if err := row.Scan(&doc, &seq, &rv); err != nil {
		return nil, notFound(err)
	}
	var e codepipeline.Execution
	if err := json.Unmarshal(doc, &e); err != nil {
		return nil, err
	}
	e.Seq, e.RowVersion = seq, rv
	return &e, nil
}

func (t cpTx) queryExecutions(q string, args ...any) ([]*codepipeline.Execution, error) {
	rows, err := t.tx.QueryContext(t.ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*codepipeline.Execution
	for rows.Next() {
		e, err := scanExecution(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (t cpTx) CreateExecution(e *codepipeline.Execution) error {
	var seq int64
	if err := t.tx.QueryRowContext(t.ctx, `UPDATE pipelines SET next_seq = next_seq + 1 WHERE name = ? RETURNING next_seq - 1`, e.Pipeline).Scan(&seq); err != nil {
		return notFound(err)
	}
	e.Seq, e.RowVersion = seq, 1
	_, err := t.exec(`INSERT INTO executions (id, pipeline, seq, pipeline_version, status, active, client_token, started, updated, doc, row_version)
		VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
		e.ID, e.Pipeline, e.Seq, e.PipelineVersion, string(e.Status), boolInt(e.Status.Active()), nullable(e.ClientToken),
		millis(e.Started), millis(e.Updated), mustJSON(e), e.RowVersion)
	if isUnique(err) {
		return codepipeline.ErrExists
	}
	return err
}

const execCols = `doc, seq, row_version`

func (t cpTx) GetExecution(pipeline, id string) (*codepipeline.Execution, error) {
	return scanExecution(t.tx.QueryRowContext(t.ctx, `SELECT `+execCols+` FROM executions WHERE id = ? AND pipeline = ?`, id, pipeline))
}

func (t cpTx) FindExecutionByToken(pipeline, token string) (*codepipeline.Execution, error) {
	return scanExecution(t.tx.QueryRowContext(t.ctx, `SELECT `+execCols+` FROM executions WHERE pipeline = ? AND client_token = ?`, pipeline, token))
}

func (t cpTx) UpdateExecution(e *codepipeline.Execution) error {
	err := t.cas(`UPDATE executions SET status = ?, active = ?, updated = ?, doc = ?, row_version = row_version + 1 WHERE id = ? AND row_version = ?`,
		string(e.Status), boolInt(e.Status.Active()), millis(e.Updated), mustJSON(e), e.ID, e.RowVersion)
	if err == nil {
		e.RowVersion++
	}
	return err
}

func (t cpTx) ListActiveExecutions(pipeline string) ([]*codepipeline.Execution, error) {
	return t.queryExecutions(`SELECT `+execCols+` FROM executions WHERE pipeline = ? AND active = 1 ORDER BY seq`, pipeline)
}

func (t cpTx) ListExecutions(pipeline string, beforeSeq int64, limit int, succeededInStage string) ([]*codepipeline.Execution, error) {
	if beforeSeq <= 0 {
		beforeSeq = 1 << 62
	}
	if succeededInStage != "" {
		return t.queryExecutions(`SELECT e.doc, e.seq, e.row_version FROM executions e
			JOIN stage_runs s ON s.execution_id = e.id AND s.stage = ? AND s.status = 'Succeeded'
			WHERE e.pipeline = ? AND e.seq < ? ORDER BY e.seq DESC LIMIT ?`, succeededInStage, pipeline, beforeSeq, limit)
	}
	return t.queryExecutions(`SELECT `+execCols+` FROM executions WHERE pipeline = ? AND seq < ? ORDER BY seq DESC LIMIT ?`, pipeline, beforeSeq, limit)
}

// --- stage runs

func scanStageRun(row interface{ Scan(...any) error }) (*codepipeline.StageRun, error) {
	var doc []byte
	var seq, rv int64
	if err := row.Scan(&doc, &seq, &rv); err != nil {
		return nil, notFound(err)
	}
	var sr codepipeline.StageRun
	if err := json.Unmarshal(doc, &sr); err != nil {
		return nil, err
	}
	sr.Seq, sr.RowVersion = seq, rv
	return &sr, nil
}

func (t cpTx) CreateStageRun(sr *codepipeline.StageRun) error {
	sr.RowVersion = 1
	res, err := t.exec(`INSERT INTO stage_runs (execution_id, pipeline, stage, status, doc, row_version) VALUES (?,?,?,?,?,?)`,
		sr.ExecutionID, sr.Pipeline, sr.Stage, string(sr.Status), mustJSON(sr), sr.RowVersion)
	if isUnique(err) {
		return codepipeline.ErrExists
	}
	if err != nil {
		return err
	}
	sr.Seq, err = res.LastInsertId()
	return err
}

func (t cpTx) GetStageRun(executionID, stage string) (*codepipeline.StageRun, error) {
	return scanStageRun(t.tx.QueryRowContext(t.ctx, `SELECT doc, seq, row_version FROM stage_runs WHERE execution_id = ? AND stage = ?`, executionID, stage))
}

func (t cpTx) UpdateStageRun(sr *codepipeline.StageRun) error {
	err := t.cas(`UPDATE stage_runs SET status = ?, doc = ?, row_version = row_version + 1 WHERE seq = ? AND row_version = ?`,
		string(sr.Status), mustJSON(sr), sr.Seq, sr.RowVersion)
	if err == nil {
		sr.RowVersion++
	}
	return err
}

func (t cpTx) LatestStageRun(pipeline, stage string) (*codepipeline.StageRun, error) {
	return scanStageRun(t.tx.QueryRowContext(t.ctx, `SELECT doc, seq, row_version FROM stage_runs WHERE pipeline = ? AND stage = ? ORDER BY seq DESC LIMIT 1`, pipeline, stage))
}

func (t cpTx) ListStageRuns(executionID string) ([]*codepipeline.StageRun, error) {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT doc, seq, row_version FROM stage_runs WHERE execution_id = ? ORDER BY seq`, executionID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*codepipeline.StageRun
	for rows.Next() {
		sr, err := scanStageRun(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, sr)
	}
	return out, rows.Err()
}

// --- action runs

func scanActionRun(row interface{ Scan(...any) error }) (*codepipeline.ActionRun, error) {
	var doc []byte
	var seq, rv int64
	if err := row.Scan(&doc, &seq, &rv); err != nil {
		return nil, notFound(err)
	}
	var r codepipeline.ActionRun
	if err := json.Unmarshal(doc, &r); err != nil {
		return nil, err
	}
	r.Seq, r.RowVersion = seq, rv
	return &r, nil
}

func (t cpTx) queryActionRuns(q string, args ...any) ([]*codepipeline.ActionRun, error) {
	rows, err := t.tx.QueryContext(t.ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*codepipeline.ActionRun
	for rows.Next() {
		r, err := scanActionRun(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (t cpTx) CreateActionRun(r *codepipeline.ActionRun) error {
	r.RowVersion = 1
	res, err := t.exec(`INSERT INTO action_runs (id, execution_id, pipeline, stage, action, status, doc, row_version) VALUES (?,?,?,?,?,?,?,?)`,
		r.ID, r.ExecutionID, r.Pipeline, r.Stage, r.Action, string(r.Status), mustJSON(r), r.RowVersion)
	if isUnique(err) {
		return codepipeline.ErrExists
	}
	if err != nil {
		return err
	}
	r.Seq, err = res.LastInsertId()
	return err
}

const runCols = `doc, seq, row_version`

func (t cpTx) GetActionRun(id string) (*codepipeline.ActionRun, error) {
	return scanActionRun(t.tx.QueryRowContext(t.ctx, `SELECT `+runCols+` FROM action_runs WHERE id = ?`, id))
}

func (t cpTx) UpdateActionRun(r *codepipeline.ActionRun) error {
	err := t.cas(`UPDATE action_runs SET status = ?, doc = ?, row_version = row_version + 1 WHERE id = ? AND row_version = ?`,
		string(r.Status), mustJSON(r), r.ID, r.RowVersion)
	if err == nil {
		r.RowVersion++
	}
	return err
}

func (t cpTx) ListActionRunsForExecution(executionID string) ([]*codepipeline.ActionRun, error) {
	return t.queryActionRuns(`SELECT `+runCols+` FROM action_runs WHERE execution_id = ? ORDER BY seq`, executionID)
}

func (t cpTx) LatestActionRun(pipeline, stage, action string) (*codepipeline.ActionRun, error) {
	return scanActionRun(t.tx.QueryRowContext(t.ctx, `SELECT `+runCols+` FROM action_runs WHERE pipeline = ? AND stage = ? AND action = ? ORDER BY seq DESC LIMIT 1`, pipeline, stage, action))
}

// FindActionRunByToken scans the runs of one action (index
// action_runs_latest); tokens live in the run's document only.
func (t cpTx) FindActionRunByToken(pipeline, stage, action, token string) (*codepipeline.ActionRun, error) {
	return scanActionRun(t.tx.QueryRowContext(t.ctx, `SELECT `+runCols+` FROM action_runs WHERE pipeline = ? AND stage = ? AND action = ?
		AND ?4 <> '' AND (json_extract(doc, '$.Token') = ?4 OR json_extract(doc, '$.AnsweredToken') = ?4) ORDER BY seq DESC LIMIT 1`, pipeline, stage, action, token))
}

func (t cpTx) ListActionRuns(pipeline, executionID string, beforeSeq int64, limit int) ([]*codepipeline.ActionRun, error) {
	if beforeSeq <= 0 {
		beforeSeq = 1 << 62
	}
	if executionID != "" {
		return t.queryActionRuns(`SELECT `+runCols+` FROM action_runs WHERE execution_id = ? AND pipeline = ? AND seq < ? ORDER BY seq DESC LIMIT ?`, executionID, pipeline, beforeSeq, limit)
	}
	return t.queryActionRuns(`SELECT `+runCols+` FROM action_runs WHERE pipeline = ? AND seq < ? ORDER BY seq DESC LIMIT ?`, pipeline, beforeSeq, limit)
}
