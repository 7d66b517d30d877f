package sqlite

import (
	"context"
	"database/sql"
	"strings"

	"github.com/brazenhq/brazen/internal/brazen"
)

var _ brazen.BounceStore = (*DB)(nil)

// AddBounces puts addresses on the hard-bounce list.
func (db *DB) AddBounces(ctx context.Context, bounces []brazen.Bounce) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, b := range bounces {
		if _, err := tx.ExecContext(ctx, `INSERT INTO email_bounces (email, bounced_at, reason) VALUES (?, ?, ?)
			ON CONFLICT (email) DO NOTHING`, strings.ToLower(b.Email), millis(b.BouncedAt), brazen.CleanJobError(b.Reason)); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Bounces lists the hard-bounce list, newest first.
func (db *DB) Bounces(ctx context.Context, q brazen.BounceQuery) ([]brazen.Bounce, error) {
	var rows *sql.Rows
	var err error
	if q.Email != "" {
		rows, err = db.read.QueryContext(ctx, "SELECT email, bounced_at, reason FROM email_bounces WHERE email = ?", strings.ToLower(q.Email))
	} else {
		rows, err = db.read.QueryContext(ctx, `SELECT email, bounced_at, reason FROM email_bounces
			WHERE bounced_at >= ? AND bounced_at < ? ORDER BY bounced_at DESC, email LIMIT ? OFFSET ?`,
			millis(q.Start), millis(q.End), q.Limit, q.Offset)
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []brazen.Bounce
	for rows.Next() {
		var b brazen.Bounce
		var at sql.NullInt64
		if err := rows.Scan(&b.Email, &at, &b.Reason); err != nil {
			return nil, err
		}
		b.BouncedAt = fromMillis(at)
		out = append(out, b)
	}
	return out, rows.Err()
}

// Bounced returns which addresses are on the list.
func (db *DB) Bounced(ctx context.Context, emails []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, e := range emails {
		var n int
		if err := db.read.QueryRowContext(ctx, "SELECT count(*) FROM email_bounces WHERE email = ?", strings.ToLower(e)).Scan(&n); err != nil {
			return nil, err
		}
		if n > 0 {
			out[strings.ToLower(e)] = true
		}
	}
	return out, nil
}

// RemoveBounces takes addresses off the list.
func (db *DB) RemoveBounces(ctx context.Context, emails []string) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, e := range emails {
		if _, err := tx.ExecContext(ctx, "DELETE FROM email_bounces WHERE email = ?", strings.ToLower(e)); err != nil {
			return err
		}
	}
	return tx.Commit()
}
