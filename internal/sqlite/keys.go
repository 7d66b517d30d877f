package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
)

// DefaultWorkspace returns the oldest workspace, creating one if there is none.
func (db *DB) DefaultWorkspace(ctx context.Context, name string) (*brazen.Workspace, bool, error) {
	if ws, err := db.firstWorkspace(ctx, db.read); err == nil || !brazen.IsNotFound(err) {
		return ws, false, err
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, false, err
	}
	defer tx.Rollback()
	ws, err := db.firstWorkspace(ctx, tx) // another process may have made it meanwhile
	if err == nil || !brazen.IsNotFound(err) {
		return ws, false, err
	}
	ws = &brazen.Workspace{ID: brazen.NewID(), Name: name, CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
	if _, err := tx.ExecContext(ctx, "INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, ?)",
		ws.ID, ws.Name, millis(ws.CreatedAt)); err != nil {
		return nil, false, err
	}
	return ws, true, tx.Commit()
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (db *DB) firstWorkspace(ctx context.Context, q querier) (*brazen.Workspace, error) {
	var ws brazen.Workspace
	var created sql.NullInt64
	err := q.QueryRowContext(ctx, "SELECT id, name, created_at, bootstrapped FROM workspaces ORDER BY created_at, id LIMIT 1").
		Scan(&ws.ID, &ws.Name, &created, &ws.Bootstrapped)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, brazen.Errorf(brazen.ENOTFOUND, "no workspace")
	}
	ws.CreatedAt = fromMillis(created)
	return &ws, err
}

// Bootstrap marks the workspace bootstrapped and stores its first key in one
// transaction.
func (db *DB) Bootstrap(ctx context.Context, workspaceID string, k *brazen.APIKey) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, "UPDATE workspaces SET bootstrapped = 1 WHERE id = ? AND bootstrapped = 0", workspaceID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return brazen.Errorf(brazen.ECONFLICT, "workspace %s is already bootstrapped or does not exist", workspaceID)
	}
	if err := insertKey(ctx, tx, k); err != nil {
		return err
	}
	return tx.Commit()
}

func insertKey(ctx context.Context, tx *sql.Tx, k *brazen.APIKey) error {
	perms, _ := json.Marshal(nonNil(k.Permissions))
	ips := make([]string, len(k.AllowedIPs))
	for i, p := range k.AllowedIPs {
		ips[i] = p.String()
	}
	ipsJSON, _ := json.Marshal(ips)
	_, err := tx.ExecContext(ctx, `INSERT INTO api_keys
		(id, workspace_id, name, key_hash, permissions, allowed_ips, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.WorkspaceID, k.Name, k.Hash[:], string(perms), string(ipsJSON), millis(k.CreatedAt))
	if err != nil && strings.Contains(err.Error(), "UNIQUE") {
		return &brazen.Error{Code: brazen.ECONFLICT, Message: "an API key with this id or secret already exists", Err: err}
	}
	if err != nil && strings.Contains(err.Error(), "FOREIGN KEY") {
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
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := insertKey(ctx, tx, k); err != nil {
		return err
	}
	return tx.Commit()
}

const keyColumns = "id, workspace_id, name, key_hash, permissions, allowed_ips, created_at, last_used_at"

type scanner interface{ Scan(dest ...any) error }

func scanKey(s scanner) (*brazen.APIKey, error) {
	var k brazen.APIKey
	var hash []byte
	var perms, ips string
	var created, used sql.NullInt64
	if err := s.Scan(&k.ID, &k.WorkspaceID, &k.Name, &hash, &perms, &ips, &created, &used); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
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
	return scanKey(db.read.QueryRowContext(ctx, "SELECT "+keyColumns+" FROM api_keys WHERE id = ?", id))
}

// KeyByHash returns the key whose secret has hash h.
func (db *DB) KeyByHash(ctx context.Context, h brazen.KeyHash) (*brazen.APIKey, error) {
	return scanKey(db.read.QueryRowContext(ctx, "SELECT "+keyColumns+" FROM api_keys WHERE key_hash = ?", h[:]))
}

// Keys lists a workspace's keys, oldest first.
func (db *DB) Keys(ctx context.Context, workspaceID string) ([]*brazen.APIKey, error) {
	return db.queryKeys(ctx, "SELECT "+keyColumns+" FROM api_keys WHERE workspace_id = ? ORDER BY created_at, id", workspaceID)
}

// AllKeys lists every key.
func (db *DB) AllKeys(ctx context.Context) ([]*brazen.APIKey, error) {
	return db.queryKeys(ctx, "SELECT "+keyColumns+" FROM api_keys ORDER BY created_at, id")
}

func (db *DB) queryKeys(ctx context.Context, query string, args ...any) ([]*brazen.APIKey, error) {
	return queryAll(ctx, db.read, scanKey, query, args...)
}

// queryAll runs a query and scans every row with scan.
func queryAll[T any](ctx context.Context, q *sql.DB, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
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
	return db.deleteByID(ctx, "DELETE FROM api_keys WHERE id = ?", id, "API key")
}

func (db *DB) deleteByID(ctx context.Context, query, id, what string) error {
	res, err := db.write.ExecContext(ctx, query, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return brazen.Errorf(brazen.ENOTFOUND, "%s %q not found", what, id)
	}
	return nil
}

// TouchKeys records last-used times, never moving one backwards.
func (db *DB) TouchKeys(ctx context.Context, used map[string]time.Time) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, "UPDATE api_keys SET last_used_at = max(coalesce(last_used_at, 0), ?) WHERE id = ?")
	if err != nil {
		return err
	}
	defer stmt.Close()
	for id, t := range used {
		if _, err := stmt.ExecContext(ctx, millis(t), id); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// CreateAdminToken stores a new admin token.
func (db *DB) CreateAdminToken(ctx context.Context, t *brazen.AdminToken) error {
	_, err := db.write.ExecContext(ctx, "INSERT INTO admin_tokens (id, name, token_hash, created_at) VALUES (?, ?, ?, ?)",
		t.ID, t.Name, t.Hash[:], millis(t.CreatedAt))
	if err != nil && strings.Contains(err.Error(), "UNIQUE") {
		return &brazen.Error{Code: brazen.ECONFLICT, Message: "an admin token with this id or secret already exists", Err: err}
	}
	return err
}

func scanAdminToken(s scanner) (*brazen.AdminToken, error) {
	var t brazen.AdminToken
	var hash []byte
	var created, used sql.NullInt64
	if err := s.Scan(&t.ID, &t.Name, &hash, &created, &used); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
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
	return scanAdminToken(db.read.QueryRowContext(ctx, "SELECT "+adminTokenColumns+" FROM admin_tokens WHERE token_hash = ?", h[:]))
}

// AdminTokens lists admin tokens, oldest first.
func (db *DB) AdminTokens(ctx context.Context) ([]*brazen.AdminToken, error) {
	return queryAll(ctx, db.read, scanAdminToken, "SELECT "+adminTokenColumns+" FROM admin_tokens ORDER BY created_at, id")
}

// TouchAdminToken records that a token was used at t.
func (db *DB) TouchAdminToken(ctx context.Context, id string, t time.Time) error {
	_, err := db.write.ExecContext(ctx, "UPDATE admin_tokens SET last_used_at = max(coalesce(last_used_at, 0), ?) WHERE id = ?", millis(t), id)
	return err
}

// DeleteAdminToken deletes an admin token by id.
func (db *DB) DeleteAdminToken(ctx context.Context, id string) error {
	return db.deleteByID(ctx, "DELETE FROM admin_tokens WHERE id = ?", id, "admin token")
}
