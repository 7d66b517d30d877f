package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/brazenhq/brazen/internal/brazen"
)

// DefaultWorkspace returns the oldest workspace, creating one if there is
// none. Two nodes starting at once create one between them: the creation
// holds a transaction-scoped advisory lock.
func (db *DB) DefaultWorkspace(ctx context.Context, name string) (*brazen.Workspace, bool, error) {
	if ws, err := firstWorkspace(ctx, db.pool); err == nil || !brazen.IsNotFound(err) {
		return ws, false, err
	}
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return nil, false, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLock+1); err != nil {
		return nil, false, err
	}
	ws, err := firstWorkspace(ctx, tx) // another node may have made it meanwhile
	if err == nil || !brazen.IsNotFound(err) {
		return ws, false, err
	}
	ws = &brazen.Workspace{ID: brazen.NewID(), Name: name, CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
	if _, err := tx.Exec(ctx, "INSERT INTO workspaces (id, name, created_at) VALUES ($1, $2, $3)",
		ws.ID, ws.Name, millis(ws.CreatedAt)); err != nil {
		return nil, false, err
	}
	return ws, true, tx.Commit(ctx)
}

func firstWorkspace(ctx context.Context, q querier) (*brazen.Workspace, error) {
	var ws brazen.Workspace
	var created int64
	err := q.QueryRow(ctx, "SELECT id, name, created_at, bootstrapped FROM workspaces ORDER BY created_at, id LIMIT 1").
		Scan(&ws.ID, &ws.Name, &created, &ws.Bootstrapped)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, brazen.Errorf(brazen.ENOTFOUND, "no workspace")
	}
	ws.CreatedAt = fromMillis(&created)
	return &ws, err
}

// Bootstrap marks the workspace bootstrapped and stores its first key in
// one transaction.
func (db *DB) Bootstrap(ctx context.Context, workspaceID string, k *brazen.APIKey) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	tag, err := tx.Exec(ctx, "UPDATE workspaces SET bootstrapped = true WHERE id = $1 AND NOT bootstrapped", workspaceID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return brazen.Errorf(brazen.ECONFLICT, "workspace %s is already bootstrapped or does not exist", workspaceID)
	}
	if err := insertKey(ctx, tx, k); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

func insertKey(ctx context.Context, q querier, k *brazen.APIKey) error {
	perms, _ := json.Marshal(nonNil(k.Permissions))
	ips := make([]string, len(k.AllowedIPs))
	for i, p := range k.AllowedIPs {
		ips[i] = p.String()
	}
	ipsJSON, _ := json.Marshal(ips)
	_, err := q.Exec(ctx, `INSERT INTO api_keys
		(id, workspace_id, name, key_hash, permissions, allowed_ips, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		k.ID, k.WorkspaceID, k.Name, k.Hash[:], string(perms), string(ipsJSON), millis(k.CreatedAt))
	switch pgCode(err) {
	case "23505":
		return &brazen.Error{Code: brazen.ECONFLICT, Message: "an API key with this id or secret already exists", Err: err}
	case "23503":
		return &brazen.Error{Code: brazen.ENOTFOUND, Message: "no workspace " + k.WorkspaceID, Err: err}
	}
	return err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// CreateKey stores a new key.
func (db *DB) CreateKey(ctx context.Context, k *brazen.APIKey) error {
	return insertKey(ctx, db.pool, k)
}

const keyColumns = "id, workspace_id, name, key_hash, permissions, allowed_ips, created_at, last_used_at"

func scanKey(s pgx.Row) (*brazen.APIKey, error) {
	var k brazen.APIKey
	var hash []byte
	var perms, ips string
	var created, used *int64
	if err := s.Scan(&k.ID, &k.WorkspaceID, &k.Name, &hash, &perms, &ips, &created, &used); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, brazen.Errorf(brazen.ENOTFOUND, "API key not found")
		}
		return nil, err
	}
	copy(k.Hash[:], hash)
	if err := json.Unmarshal([]byte(perms), &k.Permissions); err != nil {
		return nil, err
	}
	var prefixes []string
	if err := json.Unmarshal([]byte(ips), &prefixes); err != nil {
		return nil, err
	}
	for _, s := range prefixes {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, err
		}
		k.AllowedIPs = append(k.AllowedIPs, p)
	}
	k.CreatedAt, k.LastUsedAt = fromMillis(created), fromMillis(used)
	return &k, nil
}

// Key returns a key by id.
func (db *DB) Key(ctx context.Context, id string) (*brazen.APIKey, error) {
	return scanKey(db.pool.QueryRow(ctx, "SELECT "+keyColumns+" FROM api_keys WHERE id = $1", id))
}

// KeyByHash returns the key whose secret has hash h.
func (db *DB) KeyByHash(ctx context.Context, h brazen.KeyHash) (*brazen.APIKey, error) {
	k, err := scanKey(db.pool.QueryRow(ctx, "SELECT "+keyColumns+" FROM api_keys WHERE key_hash = $1", h[:]))
	return k, unavailable(err)
}

// Keys lists a workspace's keys, oldest first.
func (db *DB) Keys(ctx context.Context, workspaceID string) ([]*brazen.APIKey, error) {
	return queryAll(ctx, db.pool, scanKey, "SELECT "+keyColumns+" FROM api_keys WHERE workspace_id = $1 ORDER BY created_at, id", workspaceID)
}

// AllKeys lists every key.
func (db *DB) AllKeys(ctx context.Context) ([]*brazen.APIKey, error) {
	return queryAll(ctx, db.pool, scanKey, "SELECT "+keyColumns+" FROM api_keys ORDER BY created_at, id")
}

func queryAll[T any](ctx context.Context, q querier, scan func(pgx.Row) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// DeleteKey deletes a key by id.
func (db *DB) DeleteKey(ctx context.Context, id string) error {
	return db.deleteByID(ctx, "DELETE FROM api_keys WHERE id = $1", id, "API key")
}

func (db *DB) deleteByID(ctx context.Context, query, id, what string) error {
	tag, err := db.pool.Exec(ctx, query, id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return brazen.Errorf(brazen.ENOTFOUND, "%s %q not found", what, id)
	}
	return nil
}

// TouchKeys records last-used times, never moving one backwards.
func (db *DB) TouchKeys(ctx context.Context, used map[string]time.Time) error {
	if len(used) == 0 {
		return nil
	}
	ids := make([]string, 0, len(used))
	times := make([]int64, 0, len(used))
	for id, t := range used {
		ids = append(ids, id)
		times = append(times, millis(t))
	}
	_, err := db.pool.Exec(ctx, `UPDATE api_keys k SET last_used_at = greatest(coalesce(k.last_used_at, 0), u.t)
		FROM unnest($1::text[], $2::bigint[]) AS u(id, t) WHERE k.id = u.id`, ids, times)
	return err
}

// CreateAdminToken stores a new admin token.
func (db *DB) CreateAdminToken(ctx context.Context, t *brazen.AdminToken) error {
	_, err := db.pool.Exec(ctx, "INSERT INTO admin_tokens (id, name, token_hash, created_at) VALUES ($1, $2, $3, $4)",
		t.ID, t.Name, t.Hash[:], millis(t.CreatedAt))
	if pgCode(err) == "23505" {
		return &brazen.Error{Code: brazen.ECONFLICT, Message: "an admin token with this id or secret already exists", Err: err}
	}
	return err
}

func scanAdminToken(s pgx.Row) (*brazen.AdminToken, error) {
	var t brazen.AdminToken
	var hash []byte
	var created, used *int64
	if err := s.Scan(&t.ID, &t.Name, &hash, &created, &used); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, brazen.Errorf(brazen.ENOTFOUND, "admin token not found")
		}
		return nil, err
	}
	copy(t.Hash[:], hash)
	t.CreatedAt, t.LastUsedAt = fromMillis(created), fromMillis(used)
	return &t, nil
}

const adminTokenColumns = "id, name, token_hash, created_at, last_used_at"

// AdminTokenByHash returns the admin token whose secret has hash h.
func (db *DB) AdminTokenByHash(ctx context.Context, h brazen.KeyHash) (*brazen.AdminToken, error) {
	return scanAdminToken(db.pool.QueryRow(ctx, "SELECT "+adminTokenColumns+" FROM admin_tokens WHERE token_hash = $1", h[:]))
}

// AdminTokens lists admin tokens, oldest first.
func (db *DB) AdminTokens(ctx context.Context) ([]*brazen.AdminToken, error) {
	return queryAll(ctx, db.pool, scanAdminToken, "SELECT "+adminTokenColumns+" FROM admin_tokens ORDER BY created_at, id")
}

// TouchAdminToken records that a token was used at t.
func (db *DB) TouchAdminToken(ctx context.Context, id string, t time.Time) error {
	_, err := db.pool.Exec(ctx, "UPDATE admin_tokens SET last_used_at = greatest(coalesce(last_used_at, 0), $1) WHERE id = $2", millis(t), id)
	return err
}

// DeleteAdminToken deletes an admin token by id.
func (db *DB) DeleteAdminToken(ctx context.Context, id string) error {
	return db.deleteByID(ctx, "DELETE FROM admin_tokens WHERE id = $1", id, "admin token")
}
