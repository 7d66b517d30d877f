package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/brazenhq/brazen/internal/brazen"
)

var (
	_ brazen.ConsoleStore = (*DB)(nil)
	_ brazen.UsageStore   = (*DB)(nil)
)

// nullMillis is t in Unix milliseconds, NULL if t is zero.
func nullMillis(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	ms := millis(t)
	return &ms
}

func insertAdmin(ctx context.Context, q querier, a *brazen.Admin) error {
	email := strings.ToLower(a.Email)
	_, err := q.Exec(ctx, `INSERT INTO admins (id, email, password_hash, created_at, last_login_at)
		VALUES ($1, $2, $3, $4, $5)`, a.ID, email, a.PasswordHash, millis(a.CreatedAt), nullMillis(a.LastLoginAt))
	if pgCode(err) == "23505" {
		msg := "an account with the id " + a.ID + " already exists"
		var pe *pgconn.PgError
		if errors.As(err, &pe) && strings.Contains(pe.ConstraintName, "email") {
			msg = "an account with the email " + email + " already exists"
		}
		return &brazen.Error{Code: brazen.ECONFLICT, Message: msg, Err: err}
	}
	if err != nil {
		return unavailable(fmt.Errorf("creating an account: %w", err))
	}
	return nil
}

// CreateAdmin stores an account; an email in use is ECONFLICT.
func (db *DB) CreateAdmin(ctx context.Context, a *brazen.Admin) error {
	return insertAdmin(ctx, db.pool, a)
}

const adminColumns = "id, email, password_hash, created_at, last_login_at"

func scanAdmin(s pgx.Row) (*brazen.Admin, error) {
	var a brazen.Admin
	var created, login *int64
	if err := s.Scan(&a.ID, &a.Email, &a.PasswordHash, &created, &login); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, brazen.Errorf(brazen.ENOTFOUND, "account not found")
		}
		return nil, unavailable(err)
	}
	a.CreatedAt, a.LastLoginAt = fromMillis(created), fromMillis(login)
	return &a, nil
}

// AdminByEmail finds an account by email, in any case.
func (db *DB) AdminByEmail(ctx context.Context, email string) (*brazen.Admin, error) {
	return scanAdmin(db.pool.QueryRow(ctx, "SELECT "+adminColumns+" FROM admins WHERE email = $1", strings.ToLower(email)))
}

// AdminByID finds an account.
func (db *DB) AdminByID(ctx context.Context, id string) (*brazen.Admin, error) {
	return scanAdmin(db.pool.QueryRow(ctx, "SELECT "+adminColumns+" FROM admins WHERE id = $1", id))
}

// Admins lists the accounts, oldest first.
func (db *DB) Admins(ctx context.Context) ([]*brazen.Admin, error) {
	admins, err := queryAll(ctx, db.pool, scanAdmin, "SELECT "+adminColumns+" FROM admins ORDER BY created_at, id")
	return admins, unavailable(err)
}

// SetAdminPassword replaces an account's password hash and ends its
// sessions.
func (db *DB) SetAdminPassword(ctx context.Context, id, hash string) error {
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "UPDATE admins SET password_hash = $1 WHERE id = $2", hash, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return brazen.Errorf(brazen.ENOTFOUND, "account %q not found", id)
		}
		_, err = tx.Exec(ctx, "DELETE FROM console_tokens WHERE admin_id = $1 AND kind = $2", id, brazen.TokenSession)
		return err
	})
	var be *brazen.Error
	if err != nil && !errors.As(err, &be) {
		return unavailable(fmt.Errorf("setting a password: %w", err))
	}
	return err
}

// TouchAdminLogin records a successful login, never moving the last login
// backwards.
func (db *DB) TouchAdminLogin(ctx context.Context, id string, at time.Time) error {
	_, err := db.pool.Exec(ctx, "UPDATE admins SET last_login_at = greatest(coalesce(last_login_at, 0), $1) WHERE id = $2", millis(at), id)
	return unavailable(err)
}

// DeleteAdmin removes an account and its sessions in one transaction.
func (db *DB) DeleteAdmin(ctx context.Context, id string) error {
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM admins WHERE id = $1", id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return brazen.Errorf(brazen.ENOTFOUND, "account %q not found", id)
		}
		_, err = tx.Exec(ctx, "DELETE FROM console_tokens WHERE admin_id = $1", id)
		return err
	})
	var be *brazen.Error
	if err != nil && !errors.As(err, &be) {
		return unavailable(fmt.Errorf("deleting an account: %w", err))
	}
	return err
}

// CreateConsoleToken stores a token.
func (db *DB) CreateConsoleToken(ctx context.Context, t brazen.ConsoleToken) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO console_tokens (hash, kind, admin_id, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, t.Hash[:], t.Kind, t.AdminID, millis(t.CreatedAt), millis(t.ExpiresAt))
	if pgCode(err) == "23505" {
		return &brazen.Error{Code: brazen.ECONFLICT, Message: "a console token with this secret already exists", Err: err}
	}
	if err != nil {
		return unavailable(fmt.Errorf("creating a console token: %w", err))
	}
	return nil
}

// ConsoleToken finds a token of the kind that has not expired at now.
func (db *DB) ConsoleToken(ctx context.Context, h brazen.KeyHash, kind string, now time.Time) (*brazen.ConsoleToken, error) {
	var t brazen.ConsoleToken
	var hash []byte
	var created, expires int64
	err := db.pool.QueryRow(ctx, `SELECT hash, kind, admin_id, created_at, expires_at FROM console_tokens
		WHERE hash = $1 AND kind = $2 AND expires_at > $3`, h[:], kind, millis(now)).
		Scan(&hash, &t.Kind, &t.AdminID, &created, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, brazen.Errorf(brazen.ENOTFOUND, "console token not found or expired")
	}
	if err != nil {
		return nil, unavailable(fmt.Errorf("reading a console token: %w", err))
	}
	copy(t.Hash[:], hash)
	t.CreatedAt, t.ExpiresAt = fromMillis(&created), fromMillis(&expires)
	return &t, nil
}

// DeleteConsoleToken removes a token; a token already gone is no error.
func (db *DB) DeleteConsoleToken(ctx context.Context, h brazen.KeyHash) error {
	_, err := db.pool.Exec(ctx, "DELETE FROM console_tokens WHERE hash = $1", h[:])
	return unavailable(err)
}

// ConsumeSetupToken removes an unexpired setup token and creates the
// account in one transaction; when the account cannot be created the
// transaction rolls back and the token is kept. Two requests using one
// token at once are serialised by the row lock of the DELETE: the second
// finds the row gone and gets ENOTFOUND.
func (db *DB) ConsumeSetupToken(ctx context.Context, h brazen.KeyHash, now time.Time, a *brazen.Admin) error {
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM console_tokens WHERE hash = $1 AND kind = $2 AND expires_at > $3",
			h[:], brazen.TokenSetup, millis(now))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return brazen.Errorf(brazen.ENOTFOUND, "setup token unknown, used or expired")
		}
		// A setup link makes the first account only: once one exists, by
		// a link or by the CLI, every link is spent. The lock keeps two
		// links used at once on two nodes from both seeing none.
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('brazen.admins'))"); err != nil {
			return err
		}
		var admins int
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM admins").Scan(&admins); err != nil {
			return err
		}
		if admins > 0 {
			return brazen.Errorf(brazen.ENOTFOUND, "setup token spent: an account exists")
		}
		return insertAdmin(ctx, tx, a)
	})
	var be *brazen.Error
	if err != nil && !errors.As(err, &be) {
		return unavailable(fmt.Errorf("using a setup token: %w", err))
	}
	return err
}

// DeleteExpiredConsoleTokens removes the tokens expired at now.
func (db *DB) DeleteExpiredConsoleTokens(ctx context.Context, now time.Time) error {
	_, err := db.pool.Exec(ctx, "DELETE FROM console_tokens WHERE expires_at <= $1", millis(now))
	return unavailable(err)
}

// AddAPIUsage adds counts in one statement. The rows are grouped (a key
// may come twice) and sorted, so that nodes adding counts of the same
// minutes at once lock their rows in the same order and never deadlock.
func (db *DB) AddAPIUsage(ctx context.Context, counts []brazen.APIUsage) error {
	if len(counts) == 0 {
		return nil
	}
	n := len(counts)
	minutes, routes, statuses, ns := make([]int64, n), make([]string, n), make([]int32, n), make([]int64, n)
	for i, u := range counts {
		minutes[i], routes[i], statuses[i], ns[i] = millis(u.Minute.Truncate(time.Minute)), u.Route, int32(u.Status), u.Count
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO api_usage (minute, route, status, count)
		SELECT minute, route, status, sum(count)::bigint
		FROM unnest($1::bigint[], $2::text[], $3::integer[], $4::bigint[]) AS u(minute, route, status, count)
		GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
		ON CONFLICT (minute, route, status) DO UPDATE SET count = api_usage.count + excluded.count`,
		minutes, routes, statuses, ns)
	if err != nil {
		return unavailable(conflict(fmt.Errorf("counting API requests: %w", err), "counters changed meanwhile"))
	}
	return nil
}

// APIUsageSince returns the counts of the minutes from since on, summed
// by bucket in the database, oldest first (then by route and status).
func (db *DB) APIUsageSince(ctx context.Context, since time.Time, bucket time.Duration) ([]brazen.APIUsage, error) {
	rows, err := db.pool.Query(ctx, `SELECT minute / $1 * $1, route, status, sum(count)::bigint FROM api_usage WHERE minute >= $2
		GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, max(bucket, time.Minute).Milliseconds(), millis(since))
	if err != nil {
		return nil, unavailable(fmt.Errorf("reading API usage: %w", err))
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (brazen.APIUsage, error) {
		var u brazen.APIUsage
		var minute int64
		err := row.Scan(&minute, &u.Route, &u.Status, &u.Count)
		u.Minute = fromMillis(&minute)
		return u, err
	})
	if err != nil {
		return nil, unavailable(fmt.Errorf("reading API usage: %w", err))
	}
	return out, nil
}

// DeleteAPIUsageBefore removes the counts of the minutes before t.
func (db *DB) DeleteAPIUsageBefore(ctx context.Context, t time.Time) error {
	_, err := db.pool.Exec(ctx, "DELETE FROM api_usage WHERE minute < $1", millis(t))
	return unavailable(err)
}
