package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/pipewright/pipewright/artifacts"
)

// Objects returns the index of the artifact store: its buckets, objects and
// multipart uploads.
func (db *DB) Objects() artifacts.Index { return objectIndex{db} }

type objectIndex struct{ db *DB }

func (x objectIndex) Update(ctx context.Context, fn func(artifacts.IndexTx) error) error {
	return x.db.writeTx(ctx, true, func(tx *sql.Tx) error { return fn(objTx{ctx: ctx, tx: tx}) })
}

func (x objectIndex) View(ctx context.Context, fn func(artifacts.IndexTx) error) error {
	return x.db.readTx(ctx, func(tx *sql.Tx) error { return fn(objTx{ctx: ctx, tx: tx}) })
}

type objTx struct {
	ctx context.Context
	tx  *sql.Tx
}

// keyAfterAll is a byte no UTF-8 key holds: every key starting with P sorts
// below P+keyAfterAll.
const keyAfterAll = "\xff"

// keyRange is the condition and arguments selecting the keys in column col
// that start with prefix and sort after after.
func keyRange(col, prefix, after string) (string, []any) {
	cond, args := col+` > ?`, []any{after}
	if prefix != "" {
		cond += ` AND ` + col + ` >= ? AND ` + col + ` < ?`
		args = append(args, prefix, prefix+keyAfterAll)
	}
	return cond, args
}

func (t objTx) CreateBucket(b artifacts.Bucket) error {
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO buckets (name, created) VALUES (?, ?)`, b.Name, b.Created.UnixNano())
	if isUnique(err) {
		return artifacts.ErrBucketExists
	}
	return err
}

func (t objTx) GetBucket(name string) (artifacts.Bucket, error) {
	var ns int64
	err := t.tx.QueryRowContext(t.ctx, `SELECT created FROM buckets WHERE name = ?`, name).Scan(&ns)
	if errors.Is(err, sql.ErrNoRows) {
		return artifacts.Bucket{}, artifacts.ErrNoSuchBucket
	}
	if err != nil {
		return artifacts.Bucket{}, err
	}
	return artifacts.Bucket{Name: name, Created: fromNanos(ns)}, nil
}

func (t objTx) ListBuckets() ([]artifacts.Bucket, error) {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT name, created FROM buckets ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []artifacts.Bucket
	for rows.Next() {
		var b artifacts.Bucket
		var ns int64
		if err := rows.Scan(&b.Name, &ns); err != nil {
			return nil, err
		}
		b.Created = fromNanos(ns)
		out = append(out, b)
	}
	return out, rows.Err()
}

func (t objTx) DeleteBucket(name string) error {
	var used int
	err := t.tx.QueryRowContext(t.ctx, `SELECT EXISTS (SELECT 1 FROM objects WHERE bucket = ?) OR EXISTS (SELECT 1 FROM uploads WHERE bucket = ?)`,
		name, name).Scan(&used)
	if err != nil {
		return err
	}
	if used != 0 {
		if _, err := t.GetBucket(name); err != nil {
			return err
		}
		return artifacts.ErrBucketNotEmpty
	}
	return casExec(t.ctx, t.tx, artifacts.ErrNoSuchBucket, `DELETE FROM buckets WHERE name = ?`, name)
}

func (t objTx) GetObject(bucket, key string) (artifacts.Record, error) {
	return getRecord[artifacts.Record](t, artifacts.ErrNotFound, `SELECT doc FROM objects WHERE bucket = ? AND key = ?`, bucket, key)
}

func (t objTx) PutObject(r artifacts.Record) error {
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO objects (bucket, key, content, doc) VALUES (?, ?, ?, ?)
		ON CONFLICT (bucket, key) DO UPDATE SET content = excluded.content, doc = excluded.doc`,
		r.Bucket, r.Key, r.Content, mustJSON(r))
	return err
}

func (t objTx) DeleteObject(bucket, key string) error {
	return casExec(t.ctx, t.tx, artifacts.ErrNotFound, `DELETE FROM objects WHERE bucket = ? AND key = ?`, bucket, key)
}

func (t objTx) ListObjects(bucket, prefix, after string, limit int) ([]artifacts.Record, error) {
	cond, args := keyRange("key", prefix, after)
	rows, err := t.tx.QueryContext(t.ctx, `SELECT doc FROM objects WHERE bucket = ? AND `+cond+` ORDER BY key LIMIT ?`,
		append(append([]any{bucket}, args...), limit)...)
	if err != nil {
		return nil, err
	}
	return scanRecords[artifacts.Record](rows)
}

func (t objTx) ContentNamed(id string) (bool, error) {
	var named int
	err := t.tx.QueryRowContext(t.ctx, `SELECT EXISTS (SELECT 1 FROM objects WHERE content = ?) OR EXISTS (SELECT 1 FROM upload_parts WHERE content = ?)`,
		id, id).Scan(&named)
	return named != 0, err
}

func (t objTx) CreateUpload(u artifacts.UploadRecord) error {
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO uploads (id, bucket, key, doc) VALUES (?, ?, ?, ?)`, u.ID, u.Bucket, u.Key, mustJSON(u))
	return err
}

func (t objTx) GetUpload(id string) (artifacts.UploadRecord, error) {
	return getRecord[artifacts.UploadRecord](t, artifacts.ErrNoSuchUpload, `SELECT doc FROM uploads WHERE id = ?`, id)
}

func (t objTx) DeleteUpload(id string) error {
	if _, err := t.tx.ExecContext(t.ctx, `DELETE FROM upload_parts WHERE upload = ?`, id); err != nil {
		return err
	}
	return casExec(t.ctx, t.tx, artifacts.ErrNoSuchUpload, `DELETE FROM uploads WHERE id = ?`, id)
}

func (t objTx) ListUploads(bucket, prefix, keyMarker, idMarker string, limit int) ([]artifacts.UploadRecord, error) {
	cond, args := keyRange("key", prefix, keyMarker)
	if idMarker != "" {
		cond = `(` + cond + ` OR key = ? AND id > ?` + `)`
		args = append(args, keyMarker, idMarker)
		if prefix != "" {
			cond += ` AND key >= ? AND key < ?`
			args = append(args, prefix, prefix+keyAfterAll)
		}
	}
	rows, err := t.tx.QueryContext(t.ctx, `SELECT doc FROM uploads WHERE bucket = ? AND `+cond+` ORDER BY key, id LIMIT ?`,
		append(append([]any{bucket}, args...), limit)...)
	if err != nil {
		return nil, err
	}
	return scanRecords[artifacts.UploadRecord](rows)
}

func (t objTx) PutPart(uploadID string, p artifacts.PartRecord) error {
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO upload_parts (upload, number, content, doc) VALUES (?, ?, ?, ?)
		ON CONFLICT (upload, number) DO UPDATE SET content = excluded.content, doc = excluded.doc`,
		uploadID, p.Number, p.Content, mustJSON(p))
	return err
}

func (t objTx) GetPart(uploadID string, number int) (artifacts.PartRecord, error) {
	return getRecord[artifacts.PartRecord](t, artifacts.ErrInvalidPart, `SELECT doc FROM upload_parts WHERE upload = ? AND number = ?`, uploadID, number)
}

func (t objTx) ListParts(uploadID string, after, limit int) ([]artifacts.PartRecord, error) {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT doc FROM upload_parts WHERE upload = ? AND number > ? ORDER BY number LIMIT ?`, uploadID, after, limit)
	if err != nil {
		return nil, err
	}
	return scanRecords[artifacts.PartRecord](rows)
}

// getRecord decodes the one doc of a query's one row: missing when there
// is none.
func getRecord[T any](t objTx, missing error, q string, args ...any) (T, error) {
	var v T
	var doc []byte
	err := t.tx.QueryRowContext(t.ctx, q, args...).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return v, missing
	}
	if err != nil {
		return v, err
	}
	return v, json.Unmarshal(doc, &v)
}

// scanRecords decodes the one doc column of every row.
func scanRecords[T any](rows *sql.Rows) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		var doc []byte
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		var v T
		if err := json.Unmarshal(doc, &v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func fromNanos(ns int64) time.Time { return time.Unix(0, ns).UTC() }
