package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/brazenhq/brazen/internal/brazen"
)

// Apply runs fn in one transaction and records the partition's position,
// fenced by the lease's epoch. fn's writes are queued and sent in batches
// (see userTx); the fence is the last statement before the commit, so the
// lease row is locked only briefly and a takeover waits at most for one
// commit.
func (db *DB) Apply(ctx context.Context, lease brazen.Lease, fn func(brazen.UserTx) (int64, error)) error {
	if err := checkPartition(lease.Partition); err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx) // a batch is small: finish it rather than abandon it half-sent
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	utx := &userTx{tx: tx}
	// The batch's commit need not wait for its WAL flush: what it applies
	// is durable in the log already, and PostgreSQL loses async commits
	// only as a suffix of its WAL (on an OS crash or power loss, never on
	// a process crash), together with the position they moved, so the
	// batch is applied again from the log. Waiting for the flush here
	// would cost each partition's applier an fsync per batch.
	utx.queue("", "SET LOCAL synchronous_commit = off")
	pos, err := fn(utx)
	if err == nil {
		// The fence rides with the batch's last writes: one round trip.
		utx.queue(leaseCheck, "UPDATE leases SET applied = greatest(applied, $3) WHERE partition = $1 AND epoch = $2",
			lease.Partition, lease.Epoch, pos)
		err = utx.send(ctx)
	}
	if errors.Is(err, brazen.ErrLeaseLost) {
		return err
	}
	if err != nil {
		return conflict(err, "another partition's applier wrote the same data")
	}
	if err := tx.Commit(ctx); err != nil {
		return conflict(err, "another partition's applier wrote the same data")
	}
	if db.trims.due(lease.Partition) {
		// Records left by a failed trim are skipped by readers (they read
		// after the applied position) and removed by the next one.
		db.pool.Exec(ctx, "DELETE FROM ingest_log WHERE partition = $1 AND seq <= $2", lease.Partition, pos)
	}
	return nil
}

func (db *DB) Profile(ctx context.Context, brazeID string) (*brazen.Profile, error) {
	p, err := profile(ctx, db.pool, brazeID)
	return p, unavailable(err)
}
func (db *DB) ByExternalID(ctx context.Context, id string) (brazen.ProfileRef, error) {
	r, err := byExternalID(ctx, db.pool, id)
	return r, unavailable(err)
}
func (db *DB) ByAlias(ctx context.Context, a brazen.Alias) (brazen.ProfileRef, error) {
	r, err := byAlias(ctx, db.pool, a)
	return r, unavailable(err)
}
func (db *DB) ByEmail(ctx context.Context, email string) ([]brazen.ProfileRef, error) {
	rs, err := refsBy(ctx, db.pool, "email", strings.ToLower(email))
	return rs, unavailable(err)
}
func (db *DB) ByPhone(ctx context.Context, phone string) ([]brazen.ProfileRef, error) {
	rs, err := refsBy(ctx, db.pool, "phone", phone)
	return rs, unavailable(err)
}

// ScanProfiles reads a page of profiles in braze id order.
func (db *DB) ScanProfiles(ctx context.Context, after string, limit int) ([]*brazen.Profile, error) {
	ps, err := scanProfiles(ctx, db.pool, after, limit)
	return ps, unavailable(err)
}

func scanProfiles(ctx context.Context, q reader, after string, limit int) ([]*brazen.Profile, error) {
	rows, err := q.Query(ctx, "SELECT data, version FROM profiles WHERE braze_id > $1 ORDER BY braze_id LIMIT $2", after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var stored []brazen.StoredProfile
	for rows.Next() {
		var sp brazen.StoredProfile
		if err := rows.Scan(&sp.Data, &sp.Version); err != nil {
			return nil, err
		}
		stored = append(stored, sp)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return brazen.DecodeProfiles(stored)
}

var errNoProfile = brazen.Errorf(brazen.ENOTFOUND, "no such user")

func profile(ctx context.Context, q reader, brazeID string) (*brazen.Profile, error) {
	var data []byte
	var version int64
	err := q.QueryRow(ctx, "SELECT data, version FROM profiles WHERE braze_id = $1", brazeID).Scan(&data, &version)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNoProfile
	}
	if err != nil {
		return nil, err
	}
	return brazen.DecodeProfile(data, version)
}

const refColumns = "braze_id, external_id IS NOT NULL, updated_at"

func scanRef(s pgx.Row) (brazen.ProfileRef, error) {
	var r brazen.ProfileRef
	var updated *int64
	if err := s.Scan(&r.BrazeID, &r.HasExternalID, &updated); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return r, errNoProfile
		}
		return r, err
	}
	r.UpdatedAt = fromMillis(updated)
	return r, nil
}

// byExternalIDQuery finds a primary external id, else a deprecated one.
const byExternalIDQuery = "(SELECT " + refColumns + ` FROM profiles WHERE external_id = $1)
	UNION ALL
	(SELECT ` + refColumns + ` FROM profiles
		WHERE braze_id = (SELECT braze_id FROM deprecated_external_ids WHERE external_id = $1))
	LIMIT 1`

func byExternalID(ctx context.Context, q reader, id string) (brazen.ProfileRef, error) {
	return scanRef(q.QueryRow(ctx, byExternalIDQuery, id))
}

func byAlias(ctx context.Context, q reader, a brazen.Alias) (brazen.ProfileRef, error) {
	return scanRef(q.QueryRow(ctx, "SELECT "+refColumns+` FROM profiles
		WHERE braze_id = (SELECT braze_id FROM user_aliases WHERE alias_label = $1 AND alias_name = $2)`, a.Label, a.Name))
}

func refsBy(ctx context.Context, q reader, column, value string) ([]brazen.ProfileRef, error) {
	rows, err := q.Query(ctx, "SELECT "+refColumns+" FROM profiles WHERE "+column+" = $1", value)
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

// userTx is the applier's transaction. Writes are queued in a pgx.Batch and
// sent in one round trip when a read needs them (reads see the
// transaction's own writes), when the batch grows large, and before the
// commit; a profile write that finds the store not as expected is reported
// then, as ECONFLICT, and fails the whole Apply.
type userTx struct {
	tx      pgx.Tx
	batch   pgx.Batch
	checks  []string // per queued statement: "" or what it means if it changed no row
	pending int
}

// leaseCheck marks the fence: no row means the lease is lost.
const leaseCheck = "the lease"

// sendEvery bounds the statements queued before they are sent.
const sendEvery = 1024

func (t *userTx) queue(check string, query string, args ...any) {
	t.batch.Queue(query, args...)
	t.checks = append(t.checks, check)
}

func (t *userTx) queueMaybeSend(ctx context.Context, check string, query string, args ...any) error {
	t.queue(check, query, args...)
	if len(t.checks) >= sendEvery {
		return t.send(ctx)
	}
	return nil
}

// send sends the queued writes and checks their outcomes.
func (t *userTx) send(ctx context.Context) error {
	if len(t.checks) == 0 {
		return nil
	}
	br, err := t.sendBut(ctx, 0)
	if err != nil {
		return err
	}
	return br.Close()
}

// sendBut sends the queue and checks the outcomes of all but its last
// keep statements, whose results the caller reads from br (and closes it).
func (t *userTx) sendBut(ctx context.Context, keep int) (pgx.BatchResults, error) {
	checks, batch := t.checks, t.batch
	t.batch, t.checks = pgx.Batch{}, nil
	br := t.tx.SendBatch(ctx, &batch)
	var first error
	for _, check := range checks[:len(checks)-keep] {
		tag, err := br.Exec()
		if err != nil {
			if first == nil {
				first = conflict(err, "another partition's applier wrote the same data")
			}
			continue
		}
		if check != "" && tag.RowsAffected() == 0 && first == nil {
			first = brazen.Errorf(brazen.ECONFLICT, "%s", check)
			if check == leaseCheck {
				first = brazen.ErrLeaseLost
			}
		}
	}
	if first != nil {
		br.Close()
		return nil, first
	}
	return br, nil
}

// Reads send the queued writes first, so that they see them.

// Query sends the queued writes and the query in one round trip.
func (t *userTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if len(t.checks) == 0 {
		return t.tx.Query(ctx, sql, args...)
	}
	t.queue("", sql, args...)
	br, err := t.sendBut(ctx, 1)
	if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

// batchRows are a query's rows read from a batch, closed with it.
type batchRows struct {
	pgx.Rows
	br  pgx.BatchResults
	err error // closing the batch
}

// Next closes the batch once the rows are read, as pgx's Rows close
// themselves.
func (r *batchRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
}

func (r *batchRows) Close() {
	r.Rows.Close()
	if err := r.br.Close(); err != nil && r.err == nil {
		r.err = err
	}
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

func (t *userTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := t.Query(ctx, sql, args...)
	if err != nil {
		return errRow{err}
	}
	return rowOf{rows}
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// rowOf is pgx.Row over Rows, as pgx's own QueryRow: the first row, or
// pgx.ErrNoRows.
type rowOf struct{ rows pgx.Rows }

func (r rowOf) Scan(dest ...any) error {
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}

func (t *userTx) Profile(ctx context.Context, brazeID string) (*brazen.Profile, error) {
	return profile(ctx, t, brazeID)
}
func (t *userTx) ByExternalID(ctx context.Context, id string) (brazen.ProfileRef, error) {
	return byExternalID(ctx, t, id)
}
func (t *userTx) ByAlias(ctx context.Context, a brazen.Alias) (brazen.ProfileRef, error) {
	return byAlias(ctx, t, a)
}
func (t *userTx) ByEmail(ctx context.Context, email string) ([]brazen.ProfileRef, error) {
	return refsBy(ctx, t, "email", strings.ToLower(email))
}
func (t *userTx) ByPhone(ctx context.Context, phone string) ([]brazen.ProfileRef, error) {
	return refsBy(ctx, t, "phone", phone)
}
func (t *userTx) ScanProfiles(ctx context.Context, after string, limit int) ([]*brazen.Profile, error) {
	return scanProfiles(ctx, t, after, limit)
}

func (t *userTx) ProfilesByExternalID(ctx context.Context, ids []string) (map[string]*brazen.Profile, error) {
	// Deprecated ids first: a primary id read later wins, as in ByExternalID.
	rows, err := t.Query(ctx, `SELECT d.external_id, p.braze_id, p.data, p.version, 0 AS rank FROM deprecated_external_ids d
			JOIN profiles p ON p.braze_id = d.braze_id WHERE d.external_id = ANY($1)
		UNION ALL
		SELECT external_id, braze_id, data, version, 1 FROM profiles WHERE external_id = ANY($1)
		ORDER BY rank`, ids)
	if err != nil {
		return nil, err
	}
	type row struct{ ext, bid string }
	var found []row
	var stored []brazen.StoredProfile
	index := map[string]int{} // braze id → position in stored
	for rows.Next() {
		var r row
		var sp brazen.StoredProfile
		var rank int
		if err := rows.Scan(&r.ext, &r.bid, &sp.Data, &sp.Version, &rank); err != nil {
			rows.Close()
			return nil, err
		}
		if _, ok := index[r.bid]; !ok {
			index[r.bid] = len(stored)
			stored = append(stored, sp)
		}
		found = append(found, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	decoded, err := brazen.DecodeProfiles(stored)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*brazen.Profile, len(found))
	for _, r := range found {
		out[r.ext] = decoded[index[r.bid]]
	}
	return out, nil
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (t *userTx) PutProfile(ctx context.Context, p *brazen.Profile, identityChanged bool) error {
	data, err := brazen.EncodeProfile(p)
	if err != nil {
		return err
	}
	if p.Version == 0 {
		t.queue(fmt.Sprintf("profile %s exists already", p.BrazeID),
			`INSERT INTO profiles (braze_id, external_id, email, phone, created_at, updated_at, version, data)
			VALUES ($1, $2, $3, $4, $5, $6, 1, $7) ON CONFLICT (braze_id) DO NOTHING`,
			p.BrazeID, nullString(p.ExternalID), nullString(strings.ToLower(p.Email)), nullString(p.Phone),
			millis(p.CreatedAt), millis(p.UpdatedAt), data)
	} else {
		t.queue(fmt.Sprintf("profile %s is not at version %d", p.BrazeID, p.Version),
			`UPDATE profiles SET external_id = $2, email = $3, phone = $4, updated_at = $5, data = $6, version = version + 1
			WHERE braze_id = $1 AND version = $7`,
			p.BrazeID, nullString(p.ExternalID), nullString(strings.ToLower(p.Email)), nullString(p.Phone),
			millis(p.UpdatedAt), data, p.Version)
	}
	p.Version++
	if identityChanged {
		t.queue("", "DELETE FROM user_aliases WHERE braze_id = $1", p.BrazeID)
		for _, a := range p.Aliases {
			t.queue("", `INSERT INTO user_aliases (alias_label, alias_name, braze_id) VALUES ($1, $2, $3)
				ON CONFLICT (alias_label, alias_name) DO UPDATE SET braze_id = excluded.braze_id`, a.Label, a.Name, p.BrazeID)
		}
		t.queue("", "DELETE FROM deprecated_external_ids WHERE braze_id = $1", p.BrazeID)
		for _, id := range p.Deprecated {
			t.queue("", `INSERT INTO deprecated_external_ids (external_id, braze_id) VALUES ($1, $2)
				ON CONFLICT (external_id) DO UPDATE SET braze_id = excluded.braze_id`, id, p.BrazeID)
		}
	}
	if len(t.checks) >= sendEvery {
		return t.send(ctx)
	}
	return nil
}

func (t *userTx) DeleteProfile(ctx context.Context, brazeID string) error {
	for _, q := range []string{
		"DELETE FROM profiles WHERE braze_id = $1",
		"DELETE FROM user_aliases WHERE braze_id = $1",
		"DELETE FROM deprecated_external_ids WHERE braze_id = $1",
		"DELETE FROM events WHERE braze_id = $1",
		"DELETE FROM purchases WHERE braze_id = $1",
	} {
		t.queue("", q, brazeID)
	}
	return t.queueMaybeSend(ctx, "", "SELECT 1")
}

func (t *userTx) MoveActivity(ctx context.Context, from, to string) error {
	t.queue("", "UPDATE events SET braze_id = $1 WHERE braze_id = $2", to, from)
	return t.queueMaybeSend(ctx, "", "UPDATE purchases SET braze_id = $1 WHERE braze_id = $2", to, from)
}

// Events and purchases are inserted from arrays, queued with the other
// writes.

func (t *userTx) AddEvents(ctx context.Context, events []brazen.EventRecord) error {
	if len(events) == 0 {
		return nil
	}
	n := len(events)
	ids, names, times := make([]string, n), make([]string, n), make([]int64, n)
	apps, props := make([]*string, n), make([]*string, n)
	for i := range events {
		e := &events[i]
		ids[i], names[i], times[i], apps[i], props[i] = e.BrazeID, e.Name, millis(e.Time), nullString(e.AppID), nullString(string(e.Properties))
	}
	return t.queueMaybeSend(ctx, "", `INSERT INTO events (braze_id, name, time, app_id, properties)
		SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[])`, ids, names, times, apps, props)
}

func (t *userTx) AddPurchases(ctx context.Context, purchases []brazen.PurchaseRecord) error {
	if len(purchases) == 0 {
		return nil
	}
	n := len(purchases)
	ids, products, currencies := make([]string, n), make([]string, n), make([]string, n)
	prices, quantities, times := make([]float64, n), make([]int32, n), make([]int64, n)
	apps, props := make([]*string, n), make([]*string, n)
	for i := range purchases {
		p := &purchases[i]
		ids[i], products[i], currencies[i], prices[i] = p.BrazeID, p.ProductID, p.Currency, p.Price
		quantities[i], times[i], apps[i], props[i] = int32(p.Quantity), millis(p.Time), nullString(p.AppID), nullString(string(p.Properties))
	}
	return t.queueMaybeSend(ctx, "", `INSERT INTO purchases (braze_id, product_id, currency, price, quantity, time, app_id, properties)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::double precision[], $5::int[], $6::bigint[], $7::text[], $8::text[])`,
		ids, products, currencies, prices, quantities, times, apps, props)
}

// AddRollups adds to the daily totals in one statement, in key order: the
// appliers of all partitions add to the same rows, and a common order
// keeps them from deadlocking.
func (t *userTx) AddRollups(ctx context.Context, rollups []brazen.Rollup) error {
	if len(rollups) == 0 {
		return nil
	}
	rs := slices.Clone(rollups)
	slices.SortFunc(rs, func(a, b brazen.Rollup) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Day, b.Day))
	})
	// Merge duplicates: one statement may not update a row twice.
	merged := rs[:0]
	for _, r := range rs {
		if n := len(merged); n > 0 && merged[n-1].Kind == r.Kind && merged[n-1].Name == r.Name && merged[n-1].Day == r.Day {
			merged[n-1].Count += r.Count
			merged[n-1].Revenue += r.Revenue
			continue
		}
		merged = append(merged, r)
	}
	kinds, names, days := make([]string, len(merged)), make([]string, len(merged)), make([]string, len(merged))
	counts, revenues := make([]int64, len(merged)), make([]float64, len(merged))
	for i, r := range merged {
		kinds[i], names[i], days[i], counts[i], revenues[i] = r.Kind, r.Name, r.Day, r.Count, r.Revenue
	}
	return t.queueMaybeSend(ctx, "", `INSERT INTO rollups (kind, name, day, count, revenue)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::double precision[]) ORDER BY 1, 2, 3
		ON CONFLICT (kind, name, day) DO UPDATE SET count = rollups.count + excluded.count, revenue = rollups.revenue + excluded.revenue`,
		kinds, names, days, counts, revenues)
}
