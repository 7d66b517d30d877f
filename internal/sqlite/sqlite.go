// Package sqlite is Brazen's embedded store: one SQLite file in WAL mode,
// through the pure-Go modernc.org/sqlite driver (no cgo).
//
// Writes go through a single connection whose transactions begin IMMEDIATE,
// so writers queue in Go instead of failing with SQLITE_BUSY half-way through
// a transaction; reads use a pool of their own.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/schema"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// DB is the SQLite store. The ingest log lives in a file of its own beside
// the main one, so that appending to it (on the request path) never waits
// for the applier's transactions on the main file: SQLite has one write
// lock per file.
type DB struct {
	write *sql.DB // main file: one connection, BEGIN IMMEDIATE
	read  *sql.DB
	logw  *sql.DB // ingest log file, likewise, without automatic checkpoints
	logr  *sql.DB
	logc  *sql.DB // checkpoints the ingest log off the request path

	lastTrim time.Time // of the ingest log; only Apply (the applier) touches it

	// The applier writes through a connection of its own, on which its
	// statements stay prepared across transactions.
	apply  *sql.DB
	stmtMu sync.Mutex // guards conn and stmts
	// applyMu serialises the transactions on conn: the applier's, and the
	// lease renewals', which go through the same connection because a
	// write by another connection would empty its page cache.
	applyMu sync.Mutex
	conn    *sql.Conn            // taken from apply on first use
	stmts   map[string]*sql.Stmt // prepared on conn, by query
}

var _ brazen.Store = (*DB)(nil)

// LogPath returns the path of the ingest log file that goes with a store
// file.
func LogPath(path string) string { return strings.TrimSuffix(path, ".db") + "-ingest.db" }

// Open opens (creating if needed) the database file at path and its ingest
// log file. It does not migrate: call Migrate.
func Open(path string) (*DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("creating the data directory: %w", err)
		}
	}
	db := &DB{}
	var err error
	if db.write, db.read, err = openFile(path, ""); err != nil {
		return nil, err
	}
	// The applier's connection gets a larger page cache (64 MiB): it reads
	// and rewrites profile and index pages all over the file, and SQLite's
	// default of 2 MiB would send most of those reads to the disk.
	if db.apply, err = sql.Open("sqlite", fileURL(path)+"&_txlock=immediate&_pragma=cache_size(-65536)"); err != nil {
		db.Close()
		return nil, err
	}
	db.apply.SetMaxOpenConns(1)
	// The log's writer never checkpoints: a checkpoint copies pages and
	// fsyncs the file, and an append that happened to trigger one would
	// wait for it. Apply checkpoints the log through its own connection.
	if db.logw, db.logr, err = openFile(LogPath(path), "&_pragma=wal_autocheckpoint(0)"); err != nil {
		db.write.Close()
		db.read.Close()
		return nil, err
	}
	if db.logc, err = sql.Open("sqlite", fileURL(LogPath(path))); err != nil {
		db.Close()
		return nil, err
	}
	db.logc.SetMaxOpenConns(1)
	return db, nil
}

func fileURL(path string) string {
	// synchronous(FULL): a commit is on disk before it is acknowledged, even
	// across a power loss, not only a process crash.
	return "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"
}

// openFile opens one SQLite file as a single-connection writer (with extra
// DSN parameters) and a reader pool.
func openFile(path, writerParams string) (write, read *sql.DB, err error) {
	u := fileURL(path)
	if write, err = sql.Open("sqlite", u+"&_txlock=immediate"+writerParams); err != nil {
		return nil, nil, err
	}
	write.SetMaxOpenConns(1)
	if read, err = sql.Open("sqlite", u+"&_pragma=query_only(1)"); err != nil {
		write.Close()
		return nil, nil, err
	}
	read.SetMaxOpenConns(8)
	// Turning a new file to WAL takes an exclusive lock for which SQLite does
	// not call the busy handler, so two processes creating the same store at
	// once can see SQLITE_BUSY here despite busy_timeout: retry for as long.
	deadline := time.Now().Add(10 * time.Second)
	for {
		err = write.Ping()
		if err == nil {
			return write, read, nil
		}
		if !isBusy(err) || time.Now().After(deadline) {
			write.Close()
			read.Close()
			return nil, nil, fmt.Errorf("opening %s: %w", path, err)
		}
		time.Sleep(time.Duration(5+rand.IntN(20)) * time.Millisecond)
	}
}

// Close closes the database.
func (db *DB) Close() error {
	var errs []error
	db.stmtMu.Lock()
	for _, st := range db.stmts {
		st.Close()
	}
	db.stmts = nil
	if db.conn != nil {
		db.conn.Close()
	}
	db.stmtMu.Unlock()
	for _, c := range []*sql.DB{db.read, db.write, db.apply, db.logr, db.logw, db.logc} {
		if c != nil {
			errs = append(errs, c.Close())
		}
	}
	return errors.Join(errs...)
}

// Ping checks that the database answers a read.
func (db *DB) Ping(ctx context.Context) error {
	var n int
	if err := db.read.QueryRowContext(ctx, "SELECT 1").Scan(&n); err != nil {
		return &brazen.Error{Code: brazen.EUNAVAILABLE, Message: "the store is unavailable", Err: err}
	}
	return nil
}

// Migrate applies the embedded migrations not yet applied, each in its own
// transaction, and returns their versions. Two processes migrating at once
// are serialised by SQLite's write lock.
func (db *DB) Migrate(ctx context.Context) ([]int, error) {
	all, err := schema.Load(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`); err != nil {
		return nil, fmt.Errorf("creating schema_migrations: %w", err)
	}
	if err := db.migrateLog(ctx); err != nil {
		return nil, fmt.Errorf("preparing the ingest log: %w", err)
	}
	var applied []int
	for _, m := range all {
		done, err := db.applyMigration(ctx, m)
		if err != nil {
			return applied, fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
		}
		if done {
			applied = append(applied, m.Version)
		}
	}
	return applied, nil
}

func (db *DB) applyMigration(ctx context.Context, m schema.Migration) (bool, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE version = ?", m.Version).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
		m.Version, m.Name, time.Now().UnixMilli()); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

// SchemaVersion returns the newest applied migration, 0 if none.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := db.read.QueryRowContext(ctx, "SELECT max(version) FROM schema_migrations").Scan(&v)
	if err != nil && strings.Contains(err.Error(), "no such table") {
		return 0, nil
	}
	return int(v.Int64), err
}

func isBusy(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked")
}

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms sql.NullInt64) time.Time {
	if !ms.Valid {
		return time.Time{}
	}
	return time.UnixMilli(ms.Int64).UTC()
}
