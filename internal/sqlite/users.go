package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
)

// migrateLog creates the ingest log table. Sequence numbers must never go
// back below what the applier has applied (they would be skipped), even if
// the log file was lost: the sequence is raised to the applied position.
func (db *DB) migrateLog(ctx context.Context) error {
	if _, err := db.logw.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS ingest_log (
		seq  INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused, even after trimming
		data BLOB NOT NULL) STRICT`); err != nil {
		return err
	}
	var pos int64
	err := db.write.QueryRowContext(ctx, "SELECT position FROM applier_state WHERE id = 1").Scan(&pos)
	if err != nil {
		return nil // not migrated yet: a fresh store, nothing applied
	}
	head, err := db.LogHead(ctx)
	if err != nil || head >= pos {
		return err
	}
	if _, err := db.logw.ExecContext(ctx, "DELETE FROM sqlite_sequence WHERE name = 'ingest_log'"); err != nil {
		return err
	}
	_, err = db.logw.ExecContext(ctx, "INSERT INTO sqlite_sequence (name, seq) VALUES ('ingest_log', ?)", pos)
	return err
}

// AppendLog appends records in one transaction on the log file's writer.
func (db *DB) AppendLog(ctx context.Context, records [][]byte) (int64, error) {
	tx, err := db.logw.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, "INSERT INTO ingest_log (data) VALUES (?)")
	if err != nil {
		return 0, err
	}
	defer stmt.Close()
	var first int64
	for i, r := range records {
		res, err := stmt.ExecContext(ctx, r)
		if err != nil {
			return 0, err
		}
		if i == 0 {
			if first, err = res.LastInsertId(); err != nil {
				return 0, err
			}
		}
	}
	return first, tx.Commit()
}

// ReadLog returns up to limit records after the given sequence number.
func (db *DB) ReadLog(ctx context.Context, after int64, limit int) ([]brazen.LogRecord, error) {
	rows, err := db.logr.QueryContext(ctx, "SELECT seq, data FROM ingest_log WHERE seq > ? ORDER BY seq LIMIT ?", after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []brazen.LogRecord
	for rows.Next() {
		var r brazen.LogRecord
		if err := rows.Scan(&r.Seq, &r.Data); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// LogHead returns the newest sequence number ever appended.
func (db *DB) LogHead(ctx context.Context) (int64, error) {
	var seq sql.NullInt64
	err := db.logr.QueryRowContext(ctx, "SELECT seq FROM sqlite_sequence WHERE name = 'ingest_log'").Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return seq.Int64, err
}

// AppliedPosition returns the applier's position.
func (db *DB) AppliedPosition(ctx context.Context) (int64, error) {
	var pos int64
	err := db.read.QueryRowContext(ctx, "SELECT position FROM applier_state WHERE id = 1").Scan(&pos)
	return pos, err
}

// Apply runs fn in a write transaction and records its position.
func (db *DB) Apply(ctx context.Context, fn func(brazen.UserTx) (int64, error)) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	utx := &userTx{q: tx, tx: tx}
	defer utx.close()
	pos, err := fn(utx)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE applier_state SET position = ? WHERE id = 1 AND position < ?", pos, pos); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	// Trim the log only now that the position is durable, and at most once
	// a second: a trim takes the log file's write lock, which appends (on
	// the request path) wait for. Records left behind by a crash before a
	// trim are skipped by ReadLog and removed by the next trim.
	if now := time.Now(); now.Sub(db.lastTrim) >= time.Second {
		db.lastTrim = now
		if _, err := db.logw.ExecContext(ctx, "DELETE FROM ingest_log WHERE seq <= ?", pos); err != nil {
			return err
		}
		_, err = db.logc.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
	}
	return err
}

// rowQuerier is what reads need: the read pool or the applier's transaction.
type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (db *DB) Profile(ctx context.Context, brazeID string) (*brazen.Profile, error) {
	return profile(ctx, db.read, brazeID)
}
func (db *DB) ByExternalID(ctx context.Context, id string) (brazen.ProfileRef, error) {
	return byExternalID(ctx, db.read, id)
}
func (db *DB) ByAlias(ctx context.Context, a brazen.Alias) (brazen.ProfileRef, error) {
	return byAlias(ctx, db.read, a)
}
func (db *DB) ByEmail(ctx context.Context, email string) ([]brazen.ProfileRef, error) {
	return refsBy(ctx, db.read, "email", strings.ToLower(email))
}
func (db *DB) ByPhone(ctx context.Context, phone string) ([]brazen.ProfileRef, error) {
	return refsBy(ctx, db.read, "phone", phone)
}

var errNoProfile = brazen.Errorf(brazen.ENOTFOUND, "no such user")

func profile(ctx context.Context, q rowQuerier, brazeID string) (*brazen.Profile, error) {
	var data []byte
	err := q.QueryRowContext(ctx, "SELECT data FROM profiles WHERE braze_id = ?", brazeID).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoProfile
	}
	if err != nil {
		return nil, err
	}
	return decodeProfile(data)
}

func decodeProfile(data []byte) (*brazen.Profile, error) {
	var p brazen.Profile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("decoding a stored profile: %w", err)
	}
	return &p, nil
}

const refColumns = "braze_id, external_id IS NOT NULL, updated_at"

func scanRef(s scanner) (brazen.ProfileRef, error) {
	var r brazen.ProfileRef
	var updated sql.NullInt64
	if err := s.Scan(&r.BrazeID, &r.HasExternalID, &updated); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return r, errNoProfile
		}
		return r, err
	}
	r.UpdatedAt = fromMillis(updated)
	return r, nil
}

func byExternalID(ctx context.Context, q rowQuerier, id string) (brazen.ProfileRef, error) {
	r, err := scanRef(q.QueryRowContext(ctx, "SELECT "+refColumns+" FROM profiles WHERE external_id = ?", id))
	if !brazen.IsNotFound(err) {
		return r, err
	}
	return scanRef(q.QueryRowContext(ctx, "SELECT "+refColumns+` FROM profiles
		WHERE braze_id = (SELECT braze_id FROM deprecated_external_ids WHERE external_id = ?)`, id))
}

func byAlias(ctx context.Context, q rowQuerier, a brazen.Alias) (brazen.ProfileRef, error) {
	return scanRef(q.QueryRowContext(ctx, "SELECT "+refColumns+` FROM profiles
		WHERE braze_id = (SELECT braze_id FROM user_aliases WHERE alias_label = ? AND alias_name = ?)`, a.Label, a.Name))
}

func refsBy(ctx context.Context, q rowQuerier, column, value string) ([]brazen.ProfileRef, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+refColumns+" FROM profiles WHERE "+column+" = ?", value)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []brazen.ProfileRef
	for rows.Next() {
		r, err := scanRef(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// userTx is the applier's transaction, with its statements prepared once.
type userTx struct {
	q     rowQuerier
	tx    *sql.Tx
	stmts map[string]*sql.Stmt
}

func (t *userTx) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if s, ok := t.stmts[query]; ok {
		return s, nil
	}
	s, err := t.tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if t.stmts == nil {
		t.stmts = map[string]*sql.Stmt{}
	}
	t.stmts[query] = s
	return s, nil
}

func (t *userTx) exec(ctx context.Context, query string, args ...any) error {
	s, err := t.stmt(ctx, query)
	if err != nil {
		return err
	}
	_, err = s.ExecContext(ctx, args...)
	return err
}

func (t *userTx) close() {
	for _, s := range t.stmts {
		s.Close()
	}
}

func (t *userTx) Profile(ctx context.Context, brazeID string) (*brazen.Profile, error) {
	return profile(ctx, t.q, brazeID)
}
func (t *userTx) ByExternalID(ctx context.Context, id string) (brazen.ProfileRef, error) {
	return byExternalID(ctx, t.q, id)
}
func (t *userTx) ByAlias(ctx context.Context, a brazen.Alias) (brazen.ProfileRef, error) {
	return byAlias(ctx, t.q, a)
}
func (t *userTx) ByEmail(ctx context.Context, email string) ([]brazen.ProfileRef, error) {
	return refsBy(ctx, t.q, "email", strings.ToLower(email))
}
func (t *userTx) ByPhone(ctx context.Context, phone string) ([]brazen.ProfileRef, error) {
	return refsBy(ctx, t.q, "phone", phone)
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (t *userTx) PutProfile(ctx context.Context, p *brazen.Profile, identityChanged bool) error {
	data, err := json.Marshal(p)
	if err != nil {
		return err
	}
	if err := t.exec(ctx, `INSERT INTO profiles (braze_id, external_id, email, phone, created_at, updated_at, data)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (braze_id) DO UPDATE SET external_id = excluded.external_id, email = excluded.email,
			phone = excluded.phone, updated_at = excluded.updated_at, data = excluded.data`,
		p.BrazeID, nullString(p.ExternalID), nullString(strings.ToLower(p.Email)), nullString(p.Phone),
		millis(p.CreatedAt), millis(p.UpdatedAt), data); err != nil {
		return err
	}
	if !identityChanged {
		return nil
	}
	if err := t.exec(ctx, "DELETE FROM user_aliases WHERE braze_id = ?", p.BrazeID); err != nil {
		return err
	}
	for _, a := range p.Aliases {
		if err := t.exec(ctx, `INSERT INTO user_aliases (alias_label, alias_name, braze_id) VALUES (?, ?, ?)
			ON CONFLICT DO UPDATE SET braze_id = excluded.braze_id`, a.Label, a.Name, p.BrazeID); err != nil {
			return err
		}
	}
	if err := t.exec(ctx, "DELETE FROM deprecated_external_ids WHERE braze_id = ?", p.BrazeID); err != nil {
		return err
	}
	for _, id := range p.Deprecated {
		if err := t.exec(ctx, `INSERT INTO deprecated_external_ids (external_id, braze_id) VALUES (?, ?)
			ON CONFLICT DO UPDATE SET braze_id = excluded.braze_id`, id, p.BrazeID); err != nil {
			return err
		}
	}
	return nil
}

func (t *userTx) DeleteProfile(ctx context.Context, brazeID string) error {
	for _, q := range []string{
		"DELETE FROM profiles WHERE braze_id = ?",
		"DELETE FROM user_aliases WHERE braze_id = ?",
		"DELETE FROM deprecated_external_ids WHERE braze_id = ?",
		"DELETE FROM events WHERE braze_id = ?",
		"DELETE FROM purchases WHERE braze_id = ?",
	} {
		if err := t.exec(ctx, q, brazeID); err != nil {
			return err
		}
	}
	return nil
}

func (t *userTx) MoveActivity(ctx context.Context, from, to string) error {
	if err := t.exec(ctx, "UPDATE events SET braze_id = ? WHERE braze_id = ?", to, from); err != nil {
		return err
	}
	return t.exec(ctx, "UPDATE purchases SET braze_id = ? WHERE braze_id = ?", to, from)
}

func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

func (t *userTx) AddEvents(ctx context.Context, events []brazen.EventRecord) error {
	for _, e := range events {
		if err := t.exec(ctx, "INSERT INTO events (braze_id, name, time, app_id, properties) VALUES (?, ?, ?, ?, ?)",
			e.BrazeID, e.Name, millis(e.Time), nullString(e.AppID), nullBytes(e.Properties)); err != nil {
			return err
		}
	}
	return nil
}

func (t *userTx) AddPurchases(ctx context.Context, purchases []brazen.PurchaseRecord) error {
	for _, p := range purchases {
		if err := t.exec(ctx, `INSERT INTO purchases (braze_id, product_id, currency, price, quantity, time, app_id, properties)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			p.BrazeID, p.ProductID, p.Currency, p.Price, p.Quantity, millis(p.Time), nullString(p.AppID), nullBytes(p.Properties)); err != nil {
			return err
		}
	}
	return nil
}

func (t *userTx) AddRollups(ctx context.Context, rollups []brazen.Rollup) error {
	for _, r := range rollups {
		if err := t.exec(ctx, `INSERT INTO rollups (kind, name, day, count, revenue) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (kind, name, day) DO UPDATE SET count = count + excluded.count, revenue = revenue + excluded.revenue`,
			r.Kind, r.Name, r.Day, r.Count, r.Revenue); err != nil {
			return err
		}
	}
	return nil
}
