package postgres

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/brazenhq/brazen/internal/brazen"
)

var _ brazen.BounceStore = (*DB)(nil)

func lower(emails []string) []string {
	out := make([]string, len(emails))
	for i, e := range emails {
		out[i] = strings.ToLower(e)
	}
	return out
}

// AddBounces puts addresses on the hard-bounce list.
func (db *DB) AddBounces(ctx context.Context, bounces []brazen.Bounce) error {
	emails, ats, reasons := make([]string, len(bounces)), make([]int64, len(bounces)), make([]string, len(bounces))
	for i, b := range bounces {
		emails[i], ats[i], reasons[i] = strings.ToLower(b.Email), millis(b.BouncedAt), brazen.CleanJobError(b.Reason)
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO email_bounces (email, bounced_at, reason)
		SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[]) ORDER BY 1 ON CONFLICT (email) DO NOTHING`, emails, ats, reasons)
	return unavailable(err)
}

// Bounces lists the hard-bounce list, newest first.
func (db *DB) Bounces(ctx context.Context, q brazen.BounceQuery) ([]brazen.Bounce, error) {
	var rows pgx.Rows
	var err error
	if q.Email != "" {
		rows, err = db.pool.Query(ctx, "SELECT email, bounced_at, reason FROM email_bounces WHERE email = $1", strings.ToLower(q.Email))
	} else {
		rows, err = db.pool.Query(ctx, `SELECT email, bounced_at, reason FROM email_bounces
			WHERE bounced_at >= $1 AND bounced_at < $2 ORDER BY bounced_at DESC, email LIMIT $3 OFFSET $4`,
			millis(q.Start), millis(q.End), q.Limit, q.Offset)
	}
	if err != nil {
		return nil, unavailable(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (brazen.Bounce, error) {
		var b brazen.Bounce
		var at int64
		err := r.Scan(&b.Email, &at, &b.Reason)
		b.BouncedAt = fromMillis(&at)
		return b, err
	})
	return out, unavailable(err)
}

// Bounced returns which addresses are on the list.
func (db *DB) Bounced(ctx context.Context, emails []string) (map[string]bool, error) {
	rows, err := db.pool.Query(ctx, "SELECT email FROM email_bounces WHERE email = ANY($1)", lower(emails))
	if err != nil {
		return nil, unavailable(err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	out := map[string]bool{}
	for _, e := range found {
		out[e] = true
	}
	return out, unavailable(err)
}

// RemoveBounces takes addresses off the list.
func (db *DB) RemoveBounces(ctx context.Context, emails []string) error {
	_, err := db.pool.Exec(ctx, "DELETE FROM email_bounces WHERE email = ANY($1)", lower(emails))
	return unavailable(err)
}
