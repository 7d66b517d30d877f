package sqlite

import (
	"context"
	"database/sql"
	"errors"
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
	head, err := db.logHead(ctx)
	if err != nil || head >= pos {
		return err
	}
	if _, err := db.logw.ExecContext(ctx, "DELETE FROM sqlite_sequence WHERE name = 'ingest_log'"); err != nil {
		return err
	}
	_, err = db.logw.ExecContext(ctx, "INSERT INTO sqlite_sequence (name, seq) VALUES ('ingest_log', ?)", pos)
	return err
}

// Partitions returns 1: the SQLite log is one partition.
func (db *DB) Partitions() int { return 1 }

var errPartition = brazen.Errorf(brazen.EINVALID, "the SQLite store has one ingest log partition, 0")

// AppendLog appends records in one transaction on the log file's writer.
func (db *DB) AppendLog(ctx context.Context, records []brazen.LogRecord) error {
	tx, err := db.logw.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, "INSERT INTO ingest_log (data) VALUES (?) RETURNING seq")
	if err != nil {
		return err
	}
	defer stmt.Close()
	for i := range records {
		if records[i].Partition != 0 {
			return errPartition
		}
		if err := stmt.QueryRowContext(ctx, records[i].Data).Scan(&records[i].Seq); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// ReadLog returns up to limit records after the given sequence number.
func (db *DB) ReadLog(ctx context.Context, partition int, after int64, limit int) ([]brazen.LogRecord, error) {
	if partition != 0 {
		return nil, errPartition
	}
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

// LogHeads returns the newest sequence number ever appended.
func (db *DB) LogHeads(ctx context.Context) ([]int64, error) {
	head, err := db.logHead(ctx)
	return []int64{head}, err
}

func (db *DB) logHead(ctx context.Context) (int64, error) {
	var seq sql.NullInt64
	err := db.logr.QueryRowContext(ctx, "SELECT seq FROM sqlite_sequence WHERE name = 'ingest_log'").Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return seq.Int64, err
}

// AppliedPositions returns the applier's position.
func (db *DB) AppliedPositions(ctx context.Context) ([]int64, error) {
	var pos int64
	err := db.read.QueryRowContext(ctx, "SELECT position FROM applier_state WHERE id = 1").Scan(&pos)
	return []int64{pos}, err
}

// Apply runs fn in a write transaction and records its position. It uses a
// connection of its own (the applier's), on which statements stay prepared.
// The transaction is not cut short by ctx: a batch is small, and finishing
// it is simpler than recovering the shared connection from a cancelled
// transaction. Apply is called by one goroutine at a time (the applier).
func (db *DB) Apply(ctx context.Context, lease brazen.Lease, fn func(brazen.UserTx) (int64, error)) error {
	ctx = context.WithoutCancel(ctx)
	if lease.Partition != 0 {
		return errPartition
	}
	db.applyMu.Lock()
	defer db.applyMu.Unlock()
	conn, err := db.applyConn(ctx)
	if err != nil {
		return err
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	utx := &userTx{db: db, tx: tx}
	defer utx.close()
	// The transaction holds the write lock (BEGIN IMMEDIATE), so the lease
	// cannot change hands between this check and the commit.
	var epoch int64
	if err := utx.QueryRowContext(ctx, "SELECT epoch FROM leases WHERE partition = 0").Scan(&epoch); err != nil {
		return err
	}
	if epoch != lease.Epoch {
		return brazen.ErrLeaseLost
	}
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
	// trim, or by a trim that failed, are skipped by ReadLog and removed by
	// the next trim; so a trim's failure is not Apply's (the batch is
	// applied, and reporting otherwise would make the caller apply it again).
	if now := time.Now(); now.Sub(db.lastTrim) >= time.Second {
		db.lastTrim = now
		if _, err := db.logw.ExecContext(ctx, "DELETE FROM ingest_log WHERE seq <= ?", pos); err == nil {
			db.logc.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
		}
	}
	return nil
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

// ScanProfiles reads a page of profiles in braze id order.
func (db *DB) ScanProfiles(ctx context.Context, after string, limit int) ([]*brazen.Profile, error) {
	return scanProfiles(ctx, db.read, after, limit)
}

func scanProfiles(ctx context.Context, q rowQuerier, after string, limit int) ([]*brazen.Profile, error) {
	rows, err := q.QueryContext(ctx, "SELECT data, version FROM profiles WHERE braze_id > ? ORDER BY braze_id LIMIT ?", after, limit)
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

func profile(ctx context.Context, q rowQuerier, brazeID string) (*brazen.Profile, error) {
	var data []byte
	var version int64
	err := q.QueryRowContext(ctx, "SELECT data, version FROM profiles WHERE braze_id = ?", brazeID).Scan(&data, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoProfile
	}
	if err != nil {
		return nil, err
	}
	return brazen.DecodeProfile(data, version)
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

// byExternalIDQuery finds a primary external id, else a deprecated one, in
// one statement.
const byExternalIDQuery = "SELECT " + refColumns + ` FROM profiles WHERE external_id = ?1
	UNION ALL
	SELECT ` + refColumns + ` FROM profiles
		WHERE braze_id = (SELECT braze_id FROM deprecated_external_ids WHERE external_id = ?1)
	LIMIT 1`

func byExternalID(ctx context.Context, q rowQuerier, id string) (brazen.ProfileRef, error) {
	return scanRef(q.QueryRowContext(ctx, byExternalIDQuery, id))
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

// userTx is the applier's transaction. Its statements are prepared once on
// the writer connection (db.prepared) and bound to each transaction, so
// SQLite parses each statement once per process, not once per batch.
//
// Its statements ignore the caller's cancellation, as Apply does: a
// canceled context makes the driver interrupt the connection from another
// goroutine, and an interrupt that lands late hits the next statement on
// the applier's one connection, such as the ROLLBACK, leaving the
// transaction open for the next Apply to trip over.
type userTx struct {
	db    *DB
	tx    *sql.Tx
	stmts map[string]*sql.Stmt // bound to tx
}

func (t *userTx) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if s, ok := t.stmts[query]; ok {
		return s, nil
	}
	base, err := t.db.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	s := t.tx.StmtContext(ctx, base)
	if t.stmts == nil {
		t.stmts = map[string]*sql.Stmt{}
	}
	t.stmts[query] = s
	return s, nil
}

// QueryRowContext and QueryContext make userTx a rowQuerier whose reads use
// prepared statements.
func (t *userTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = context.WithoutCancel(ctx)
	s, err := t.stmt(ctx, query)
	if err != nil {
		return t.tx.QueryRowContext(ctx, query, args...) // reports err the usual way
	}
	return s.QueryRowContext(ctx, args...)
}

func (t *userTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = context.WithoutCancel(ctx)
	s, err := t.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

func (t *userTx) exec(ctx context.Context, query string, args ...any) error {
	ctx = context.WithoutCancel(ctx)
	s, err := t.stmt(ctx, query)
	if err != nil {
		return err
	}
	_, err = s.ExecContext(ctx, args...)
	return err
}

func (t *userTx) execN(ctx context.Context, query string, args ...any) (int64, error) {
	ctx = context.WithoutCancel(ctx)
	s, err := t.stmt(ctx, query)
	if err != nil {
		return 0, err
	}
	res, err := s.ExecContext(ctx, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (t *userTx) close() {
	for _, s := range t.stmts {
		s.Close() // the tx's binding; the statement stays prepared on the connection
	}
}

// applyConn returns the applier's connection to the main file.
func (db *DB) applyConn(ctx context.Context) (*sql.Conn, error) {
	db.stmtMu.Lock()
	defer db.stmtMu.Unlock()
	if db.conn == nil {
		c, err := db.apply.Conn(ctx)
		if err != nil {
			return nil, err
		}
		db.conn = c
	}
	return db.conn, nil
}

// prepared returns a statement prepared once on the applier's connection.
func (db *DB) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	db.stmtMu.Lock()
	defer db.stmtMu.Unlock()
	if s, ok := db.stmts[query]; ok {
		return s, nil
	}
	s, err := db.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if db.stmts == nil {
		db.stmts = map[string]*sql.Stmt{}
	}
	db.stmts[query] = s
	return s, nil
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

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// prefetchChunk bounds the ids of one IN (…) query.
const prefetchChunk = 256

func (t *userTx) ProfilesByExternalID(ctx context.Context, ids []string) (map[string]*brazen.Profile, error) {
	type row struct {
		ext, bid string
		data     []byte
		version  int64
	}
	var rows []row
	for start := 0; start < len(ids); start += prefetchChunk {
		chunk := ids[start:min(start+prefetchChunk, len(ids))]
		in := strings.TrimSuffix(strings.Repeat("?, ", len(chunk)), ", ")
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		for _, q := range []string{ // deprecated ids first: a primary id read later wins, as in ByExternalID
			`SELECT d.external_id, p.braze_id, p.data, p.version FROM deprecated_external_ids d
				JOIN profiles p ON p.braze_id = d.braze_id WHERE d.external_id IN (` + in + ")",
			"SELECT external_id, braze_id, data, version FROM profiles WHERE external_id IN (" + in + ")",
		} {
			rs, err := t.QueryContext(ctx, q, args...)
			if err != nil {
				return nil, err
			}
			for rs.Next() {
				var r row
				if err := rs.Scan(&r.ext, &r.bid, &r.data, &r.version); err != nil {
					rs.Close()
					return nil, err
				}
				rows = append(rows, r)
			}
			if err := rs.Close(); err != nil {
				return nil, err
			}
		}
	}
	byBID := map[string]*brazen.Profile{}
	var order []row
	var stored []brazen.StoredProfile
	for _, r := range rows {
		if _, ok := byBID[r.bid]; !ok {
			byBID[r.bid] = nil
			order = append(order, r)
			stored = append(stored, brazen.StoredProfile{Data: r.data, Version: r.version})
		}
	}
	decoded, err := brazen.DecodeProfiles(stored)
	if err != nil {
		return nil, err
	}
	for i, r := range order {
		byBID[r.bid] = decoded[i]
	}
	out := make(map[string]*brazen.Profile, len(rows))
	for _, r := range rows {
		out[r.ext] = byBID[r.bid]
	}
	return out, nil
}

func (t *userTx) PutProfile(ctx context.Context, p *brazen.Profile, identityChanged bool) error {
	data, err := brazen.EncodeProfile(p)
	if err != nil {
		return err
	}
	var n int64
	if p.Version == 0 {
		n, err = t.execN(ctx, `INSERT INTO profiles (braze_id, external_id, email, phone, created_at, updated_at, data, version)
			VALUES (?, ?, ?, ?, ?, ?, ?, 1) ON CONFLICT (braze_id) DO NOTHING`,
			p.BrazeID, nullString(p.ExternalID), nullString(strings.ToLower(p.Email)), nullString(p.Phone),
			millis(p.CreatedAt), millis(p.UpdatedAt), data)
	} else {
		n, err = t.execN(ctx, `UPDATE profiles SET external_id = ?, email = ?, phone = ?, updated_at = ?, data = ?,
			version = version + 1 WHERE braze_id = ? AND version = ?`,
			nullString(p.ExternalID), nullString(strings.ToLower(p.Email)), nullString(p.Phone),
			millis(p.UpdatedAt), data, p.BrazeID, p.Version)
	}
	if err != nil {
		return err
	}
	if n == 0 {
		return brazen.Errorf(brazen.ECONFLICT, "profile %s is not at version %d", p.BrazeID, p.Version)
	}
	p.Version++
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

// rowsPerInsert is how many rows one multi-row INSERT writes.
const rowsPerInsert = 64

// insertRows inserts rows with multi-row INSERT statements of up to
// rowsPerInsert rows: one statement execution per chunk, not per row.
func (t *userTx) insertRows(ctx context.Context, head string, cols, n int, row func(i int, args []any)) error {
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	args := make([]any, 0, cols*rowsPerInsert)
	for start := 0; start < n; start += rowsPerInsert {
		k := min(rowsPerInsert, n-start)
		args = args[:cols*k]
		for i := range k {
			row(start+i, args[i*cols:(i+1)*cols])
		}
		query := head + " VALUES " + strings.TrimSuffix(strings.Repeat(one+", ", k), ", ")
		if err := t.exec(ctx, query, args...); err != nil {
			return err
		}
	}
	return nil
}

func (t *userTx) AddEvents(ctx context.Context, events []brazen.EventRecord) error {
	return t.insertRows(ctx, "INSERT INTO events (braze_id, name, time, app_id, properties)", 5, len(events), func(i int, a []any) {
		e := &events[i]
		a[0], a[1], a[2], a[3], a[4] = e.BrazeID, e.Name, millis(e.Time), nullString(e.AppID), nullBytes(e.Properties)
	})
}

func (t *userTx) AddPurchases(ctx context.Context, purchases []brazen.PurchaseRecord) error {
	return t.insertRows(ctx, "INSERT INTO purchases (braze_id, product_id, currency, price, quantity, time, app_id, properties)", 8,
		len(purchases), func(i int, a []any) {
			p := &purchases[i]
			a[0], a[1], a[2], a[3] = p.BrazeID, p.ProductID, p.Currency, p.Price
			a[4], a[5], a[6], a[7] = p.Quantity, millis(p.Time), nullString(p.AppID), nullBytes(p.Properties)
		})
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
