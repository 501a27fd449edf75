package sqlite

import (
	"time"

	"github.com/pipewright/pipewright/codepipeline"
)

func (t cpTx) ListExecutionsEndedBefore(before time.Time, limit int) ([]*codepipeline.Execution, error) {
	return t.queryExecutions(`SELECT `+execCols+` FROM executions WHERE active = 0 AND updated < ? ORDER BY updated LIMIT ?`, millis(before), limit)
}

func (t cpTx) DeleteExecution(pipeline, id string) error {
	for _, q := range []string{
		`DELETE FROM action_runs WHERE execution_id = ? AND pipeline = ?`,
		`DELETE FROM stage_runs WHERE execution_id = ? AND pipeline = ?`,
		`DELETE FROM executions WHERE id = ? AND pipeline = ?`,
	} {
		if _, err := t.exec(q, id, pipeline); err != nil {
			return err
		}
	}
	return nil
}

func (t cpTx) AddArtifactGarbage(refs []codepipeline.ArtifactRef) error {
	for _, r := range refs {
		if _, err := t.exec(`INSERT INTO artifact_garbage (bucket, key) VALUES (?, ?)`, r.Bucket, r.Key); err != nil {
			return err
		}
	}
	return nil
}

func (t cpTx) ListArtifactGarbage(limit int) ([]codepipeline.ArtifactGarbage, error) {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT id, bucket, key FROM artifact_garbage ORDER BY id LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []codepipeline.ArtifactGarbage
	for rows.Next() {
		var g codepipeline.ArtifactGarbage
		if err := rows.Scan(&g.ID, &g.Bucket, &g.Key); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

func (t cpTx) DeleteArtifactGarbage(ids []int64) error {
	for _, id := range ids {
		if _, err := t.exec(`DELETE FROM artifact_garbage WHERE id = ?`, id); err != nil {
			return err
		}
	}
	return nil
}
