// Package postgres is Brazen's scale-out store: any number of `brazen
// serve` nodes share one PostgreSQL database through pgx's connection pool.
// It keeps the same data as the SQLite store and passes the same
// conformance suite (internal/storetest).
//
// The ingest log is divided into partitions; each node applies the
// partitions it holds leases on (see brazen.Leases), and an applier's
// transaction is fenced by its lease's epoch, so that a node that lost a
// lease cannot commit over its successor.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/schema"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// partitions is the number of ingest log partitions the schema creates:
// how many nodes can apply writes at once. Each request's objects are
// logged as one record per partition they fall in, so more partitions cost
// more log rows per request: on the reference machine one node applied
// 29,600 objects/s with 4 partitions, 25,000 with 8 and 19,900 with 16
// (docs/benchmarks.md). Eight nodes applying at once is more than one
// PostgreSQL server takes writes from.
const partitions = 8

// DB is the PostgreSQL store.
type DB struct {
	pool *pgxpool.Pool

	trims trimmer
}

var _ brazen.Store = (*DB)(nil)

// Open connects to the database at dsn (a postgres:// URL or key=value
// string; pgx's pool settings such as pool_max_conns go in it too). It does
// not migrate: call Migrate.
func Open(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, &brazen.Error{Code: brazen.EINVALID, Message: "invalid PostgreSQL connection string", Err: err}
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		// Request handlers, the group commit and one applier per partition
		// the node holds share the pool; pgx's default (4 per CPU, at least
		// 4) starves the appliers on a small machine.
		cfg.MaxConns = max(cfg.MaxConns, 32)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &DB{pool: pool}, nil
}

// Close closes the pool.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return &brazen.Error{Code: brazen.EUNAVAILABLE, Message: "the store is unavailable", Err: err}
	}
	return nil
}

// migrationLock is the advisory lock key that serialises migrations: nodes
// starting at once migrate one after the other, and the later ones find
// nothing left to do.
const migrationLock = 0x6272617a656e // "brazen"

// Migrate applies the embedded migrations not yet applied, each in its own
// transaction, under a session advisory lock.
func (db *DB) Migrate(ctx context.Context) ([]int, error) {
	all, err := schema.Load(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
		return nil, fmt.Errorf("taking the migration lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLock)
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`); err != nil {
		return nil, fmt.Errorf("creating schema_migrations: %w", err)
	}
	var applied []int
	for _, m := range all {
		done, err := applyMigration(ctx, conn.Conn(), m)
		if err != nil {
			return applied, fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
		}
		if done {
			applied = append(applied, m.Version)
		}
	}
	return applied, nil
}

func applyMigration(ctx context.Context, conn *pgx.Conn, m schema.Migration) (bool, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var n int
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM schema_migrations WHERE version = $1", m.Version).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.Exec(ctx, m.SQL); err != nil {
		return false, err
	}
	if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
		m.Version, m.Name, time.Now().UnixMilli()); err != nil {
		return false, err
	}
	return true, tx.Commit(ctx)
}

// SchemaVersion returns the newest applied migration, 0 if none.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v *int
	err := db.pool.QueryRow(ctx, "SELECT max(version) FROM schema_migrations").Scan(&v)
	if pgCode(err) == "42P01" { // undefined_table
		return 0, nil
	}
	if err != nil || v == nil {
		return 0, err
	}
	return *v, nil
}

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// conflict turns the errors of two transactions colliding (a unique key
// taken meanwhile, a deadlock, a serialization failure) into ECONFLICT,
// which callers retry.
//
// Data the database refuses — class 22, a data exception (an invalid byte,
// a number out of range); class 23 but uniqueness, a broken constraint;
// class 54, a program limit (an index entry too large) — is EINVALID:
// retrying cannot help, and the applier skips the record that holds it.
func conflict(err error, what string) error {
	switch code := pgCode(err); {
	case code == "23505", code == "40P01", code == "40001":
		return &brazen.Error{Code: brazen.ECONFLICT, Message: what, Err: err}
	case strings.HasPrefix(code, "22"), strings.HasPrefix(code, "23"), strings.HasPrefix(code, "54"):
		return &brazen.Error{Code: brazen.EINVALID, Message: "the database refused the data", Err: err}
	}
	return err
}

// unavailable turns a failure to reach the database (it is down, or the
// connection broke) into EUNAVAILABLE, which the API answers with 503
// Service Unavailable, a status clients retry; other errors pass as they
// are.
func unavailable(err error) error {
	var ce *pgconn.ConnectError
	var ne net.Error
	if err != nil && (errors.As(err, &ce) || errors.As(err, &ne) || pgconn.Timeout(err) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)) {
		return &brazen.Error{Code: brazen.EUNAVAILABLE, Message: "Service Unavailable",
			Details: []string{"the store does not answer; retry"}, Err: err}
	}
	return err
}

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms *int64) time.Time {
	if ms == nil {
		return time.Time{}
	}
	return time.UnixMilli(*ms).UTC()
}

// reader is what reads need: the pool, a transaction or the applier's
// userTx.
type reader interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// querier reads and writes: the pool or a transaction.
type querier interface {
	reader
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}
