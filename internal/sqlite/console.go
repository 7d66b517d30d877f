package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
)

var (
	_ brazen.ConsoleStore = (*DB)(nil)
	_ brazen.UsageStore   = (*DB)(nil)
)

// execer is a connection or a transaction.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// nullMillis is t in Unix milliseconds, NULL if t is zero.
func nullMillis(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: millis(t), Valid: true}
}

func insertAdmin(ctx context.Context, e execer, a *brazen.Admin) error {
	email := strings.ToLower(a.Email)
	_, err := e.ExecContext(ctx, `INSERT INTO admins (id, email, password_hash, created_at, last_login_at)
		VALUES (?, ?, ?, ?, ?)`, a.ID, email, a.PasswordHash, millis(a.CreatedAt), nullMillis(a.LastLoginAt))
	if err != nil && strings.Contains(err.Error(), "UNIQUE") {
		msg := "an account with the id " + a.ID + " already exists"
		if strings.Contains(err.Error(), "admins.email") {
			msg = "an account with the email " + email + " already exists"
		}
		return &brazen.Error{Code: brazen.ECONFLICT, Message: msg, Err: err}
	}
	if err != nil {
		return fmt.Errorf("creating an account: %w", err)
	}
	return nil
}

// CreateAdmin stores an account; an email in use is ECONFLICT.
func (db *DB) CreateAdmin(ctx context.Context, a *brazen.Admin) error {
	return insertAdmin(ctx, db.write, a)
}

const adminColumns = "id, email, password_hash, created_at, last_login_at"

func scanAdmin(s scanner) (*brazen.Admin, error) {
	var a brazen.Admin
	var created, login sql.NullInt64
	if err := s.Scan(&a.ID, &a.Email, &a.PasswordHash, &created, &login); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, brazen.Errorf(brazen.ENOTFOUND, "account not found")
		}
		return nil, err
	}
	a.CreatedAt, a.LastLoginAt = fromMillis(created), fromMillis(login)
	return &a, nil
}

// AdminByEmail finds an account by email, in any case.
func (db *DB) AdminByEmail(ctx context.Context, email string) (*brazen.Admin, error) {
	return scanAdmin(db.read.QueryRowContext(ctx, "SELECT "+adminColumns+" FROM admins WHERE email = ?", strings.ToLower(email)))
}

// AdminByID finds an account.
func (db *DB) AdminByID(ctx context.Context, id string) (*brazen.Admin, error) {
	return scanAdmin(db.read.QueryRowContext(ctx, "SELECT "+adminColumns+" FROM admins WHERE id = ?", id))
}

// Admins lists the accounts, oldest first.
func (db *DB) Admins(ctx context.Context) ([]*brazen.Admin, error) {
	return queryAll(ctx, db.read, scanAdmin, "SELECT "+adminColumns+" FROM admins ORDER BY created_at, id")
}

// SetAdminPassword replaces an account's password hash and ends its
// sessions.
func (db *DB) SetAdminPassword(ctx context.Context, id, hash string) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, "UPDATE admins SET password_hash = ? WHERE id = ?", hash, id)
	if err != nil {
		return fmt.Errorf("setting a password: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return brazen.Errorf(brazen.ENOTFOUND, "account %q not found", id)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM console_tokens WHERE admin_id = ? AND kind = ?", id, brazen.TokenSession); err != nil {
		return fmt.Errorf("ending an account's sessions: %w", err)
	}
	return tx.Commit()
}

// TouchAdminLogin records a successful login, never moving the last login
// backwards.
func (db *DB) TouchAdminLogin(ctx context.Context, id string, at time.Time) error {
	_, err := db.write.ExecContext(ctx, "UPDATE admins SET last_login_at = max(coalesce(last_login_at, 0), ?) WHERE id = ?", millis(at), id)
	return err
}

// DeleteAdmin removes an account and its sessions in one transaction.
func (db *DB) DeleteAdmin(ctx context.Context, id string) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, "DELETE FROM admins WHERE id = ?", id)
	if err != nil {
		return fmt.Errorf("deleting an account: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return brazen.Errorf(brazen.ENOTFOUND, "account %q not found", id)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM console_tokens WHERE admin_id = ?", id); err != nil {
		return fmt.Errorf("deleting an account's sessions: %w", err)
	}
	return tx.Commit()
}

// CreateConsoleToken stores a token.
func (db *DB) CreateConsoleToken(ctx context.Context, t brazen.ConsoleToken) error {
	_, err := db.write.ExecContext(ctx, `INSERT INTO console_tokens (hash, kind, admin_id, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?)`, t.Hash[:], t.Kind, t.AdminID, millis(t.CreatedAt), millis(t.ExpiresAt))
	if err != nil && strings.Contains(err.Error(), "UNIQUE") {
		return &brazen.Error{Code: brazen.ECONFLICT, Message: "a console token with this secret already exists", Err: err}
	}
	if err != nil {
		return fmt.Errorf("creating a console token: %w", err)
	}
	return nil
}

// ConsoleToken finds a token of the kind that has not expired at now.
func (db *DB) ConsoleToken(ctx context.Context, h brazen.KeyHash, kind string, now time.Time) (*brazen.ConsoleToken, error) {
	var t brazen.ConsoleToken
	var hash []byte
	var created, expires sql.NullInt64
	err := db.read.QueryRowContext(ctx, `SELECT hash, kind, admin_id, created_at, expires_at FROM console_tokens
		WHERE hash = ? AND kind = ? AND expires_at > ?`, h[:], kind, millis(now)).
		Scan(&hash, &t.Kind, &t.AdminID, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, brazen.Errorf(brazen.ENOTFOUND, "console token not found or expired")
	}
	if err != nil {
		return nil, fmt.Errorf("reading a console token: %w", err)
	}
	copy(t.Hash[:], hash)
	t.CreatedAt, t.ExpiresAt = fromMillis(created), fromMillis(expires)
	return &t, nil
}

// DeleteConsoleToken removes a token; a token already gone is no error.
func (db *DB) DeleteConsoleToken(ctx context.Context, h brazen.KeyHash) error {
	_, err := db.write.ExecContext(ctx, "DELETE FROM console_tokens WHERE hash = ?", h[:])
	return err
}

// ConsumeSetupToken removes an unexpired setup token and creates the
// account in one transaction; when the account cannot be created the
// transaction rolls back and the token is kept.
func (db *DB) ConsumeSetupToken(ctx context.Context, h brazen.KeyHash, now time.Time, a *brazen.Admin) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, "DELETE FROM console_tokens WHERE hash = ? AND kind = ? AND expires_at > ?",
		h[:], brazen.TokenSetup, millis(now))
	if err != nil {
		return fmt.Errorf("using a setup token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return brazen.Errorf(brazen.ENOTFOUND, "setup token unknown, used or expired")
	}
	// A setup link makes the first account only: once one exists, by a
	// link or by the CLI, every link is spent.
	var admins int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM admins").Scan(&admins); err != nil {
		return fmt.Errorf("using a setup token: %w", err)
	}
	if admins > 0 {
		return brazen.Errorf(brazen.ENOTFOUND, "setup token spent: an account exists")
	}
	if err := insertAdmin(ctx, tx, a); err != nil {
		return err
	}
	return tx.Commit()
}

// DeleteExpiredConsoleTokens removes the tokens expired at now.
func (db *DB) DeleteExpiredConsoleTokens(ctx context.Context, now time.Time) error {
	_, err := db.write.ExecContext(ctx, "DELETE FROM console_tokens WHERE expires_at <= ?", millis(now))
	return err
}

// AddAPIUsage adds counts in one transaction.
func (db *DB) AddAPIUsage(ctx context.Context, counts []brazen.APIUsage) error {
	if len(counts) == 0 {
		return nil
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("counting API requests: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO api_usage (minute, route, status, count) VALUES (?, ?, ?, ?)
		ON CONFLICT (minute, route, status) DO UPDATE SET count = count + excluded.count`)
	if err != nil {
		return fmt.Errorf("counting API requests: %w", err)
	}
	defer stmt.Close()
	for _, u := range counts {
		if _, err := stmt.ExecContext(ctx, millis(u.Minute.Truncate(time.Minute)), u.Route, u.Status, u.Count); err != nil {
			return fmt.Errorf("counting API requests: %w", err)
		}
	}
	return tx.Commit()
}

// APIUsageSince returns the counts of the minutes from since on, summed
// by bucket in the database, oldest first (then by route and status).
func (db *DB) APIUsageSince(ctx context.Context, since time.Time, bucket time.Duration) ([]brazen.APIUsage, error) {
	return queryAll(ctx, db.read, func(s scanner) (brazen.APIUsage, error) {
		var u brazen.APIUsage
		var minute sql.NullInt64
		err := s.Scan(&minute, &u.Route, &u.Status, &u.Count)
		u.Minute = fromMillis(minute)
		return u, err
	}, `SELECT minute / ?1 * ?1 AS b, route, status, sum(count) FROM api_usage WHERE minute >= ?2
		GROUP BY b, route, status ORDER BY b, route, status`, max(bucket, time.Minute).Milliseconds(), millis(since))
}

// DeleteAPIUsageBefore removes the counts of the minutes before t.
func (db *DB) DeleteAPIUsageBefore(ctx context.Context, t time.Time) error {
	_, err := db.write.ExecContext(ctx, "DELETE FROM api_usage WHERE minute < ?", millis(t))
	return err
}
