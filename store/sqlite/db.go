// Package sqlite is pipewright's embedded store: one SQLite database in WAL
// mode with a single writer connection, migrations embedded and applied at
// open.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is an open pipewright database. Writes go through one connection, so
// write transactions are serialized; reads use a pool and see committed data.
//
// Durable commits run with synchronous=FULL (the WAL is fsynced at every
// commit); progress commits with synchronous=NORMAL (written to the WAL, which
// the next durable commit or checkpoint fsyncs), which a crash of the
// process cannot undo but a power loss can.
type DB struct {
	write *sql.DB
	read  *sql.DB
	// durable is the writer connection's current synchronous mode; it is
	// read and changed only by the holder of that one connection.
	durable bool
}

// Open opens (creating when missing) the database at path and applies the
// migrations it lacks.
func Open(ctx context.Context, path string) (*DB, error) {
	pragmas := "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(ON)"
	w, err := sql.Open("sqlite", "file:"+path+pragmas+"&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	r, err := sql.Open("sqlite", "file:"+path+pragmas+"&mode=ro")
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	r.SetConnMaxLifetime(0)
	db := &DB{write: w, read: r, durable: true}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	return db, nil
}

// Close closes the database.
func (db *DB) Close() error {
	err1 := db.read.Close()
	err2 := db.write.Close()
	if err1 != nil {
		return err1
	}
	return err2
}

func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY)`); err != nil {
		return err
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		version := strings.TrimSuffix(strings.TrimPrefix(name, "migrations/"), ".sql")
		tx, err := db.write.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
			tx.Rollback()
			return err
		}
		if n > 0 {
			tx.Rollback()
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			tx.Rollback()
			return err
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("%s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version) VALUES (?)`, version); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// writeTx runs fn in a write transaction on the writer connection and
// commits it, durably (fsynced) or not.
func (db *DB) writeTx(ctx context.Context, durable bool, fn func(*sql.Tx) error) error {
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if db.durable != durable {
		mode := "NORMAL"
		if durable {
			mode = "FULL"
		}
		if _, err := conn.ExecContext(ctx, "PRAGMA synchronous = "+mode); err != nil {
			return err
		}
		db.durable = durable
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	committed := false
	// A panic in fn rolls the transaction back before it goes on, so the
	// one writer connection is never left inside a transaction.
	defer func() {
		if !committed {
			tx.Rollback()
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	committed = true
	return tx.Commit()
}

// readTx runs fn in a read-only transaction on the reader pool.
func (db *DB) readTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return fn(tx)
}

// casExec runs a compare-and-set statement (an UPDATE or DELETE whose WHERE
// holds the compare); when no row changed, the record moved on (or is gone)
// and it returns conflict, the calling service's error for that.
func casExec(ctx context.Context, tx *sql.Tx, conflict error, q string, args ...any) error {
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != 1 {
		return conflict
	}
	return nil
}
