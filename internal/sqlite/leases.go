package sqlite

import (
	"context"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
)

// The SQLite store has one log partition; it is leased all the same, so
// that a second process on the same file never applies it at once.

// Heartbeat records node as alive and counts the live nodes.
func (db *DB) Heartbeat(ctx context.Context, node string, ttl time.Duration) ([]string, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	now := time.Now()
	if ttl <= 0 {
		if _, err := tx.ExecContext(ctx, "DELETE FROM nodes WHERE id = ?", node); err != nil {
			return nil, err
		}
	} else if _, err := tx.ExecContext(ctx, `INSERT INTO nodes (id, expires) VALUES (?, ?)
		ON CONFLICT (id) DO UPDATE SET expires = excluded.expires`, node, millis(now.Add(ttl))); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM nodes WHERE expires < ?", millis(now)); err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, "SELECT id FROM nodes ORDER BY id")
	if err != nil {
		return nil, err
	}
	var live []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		live = append(live, id)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	return live, tx.Commit()
}

// ClaimLeases renews node's leases and claims free or expired ones.
func (db *DB) ClaimLeases(ctx context.Context, node string, ttl time.Duration, want int) ([]brazen.Lease, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	now := time.Now()
	until := millis(now.Add(ttl))
	if _, err := tx.ExecContext(ctx, "UPDATE leases SET expires = ? WHERE owner = ?", until, node); err != nil {
		return nil, err
	}
	var held int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM leases WHERE owner = ?", node).Scan(&held); err != nil {
		return nil, err
	}
	if held < want {
		if _, err := tx.ExecContext(ctx, `UPDATE leases SET owner = ?, epoch = epoch + 1, expires = ?
			WHERE partition IN (SELECT partition FROM leases WHERE owner IS NULL OR expires < ? ORDER BY partition LIMIT ?)`,
			node, until, millis(now), want-held); err != nil {
			return nil, err
		}
	}
	rows, err := tx.QueryContext(ctx, "SELECT partition, epoch FROM leases WHERE owner = ? ORDER BY partition", node)
	if err != nil {
		return nil, err
	}
	var out []brazen.Lease
	for rows.Next() {
		var l brazen.Lease
		if err := rows.Scan(&l.Partition, &l.Epoch); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, l)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	return out, tx.Commit()
}

// ReleaseLeases frees node's leases on partitions.
func (db *DB) ReleaseLeases(ctx context.Context, node string, partitions []int) error {
	for _, p := range partitions {
		if _, err := db.write.ExecContext(ctx, "UPDATE leases SET owner = NULL, expires = 0 WHERE partition = ? AND owner = ?", p, node); err != nil {
			return err
		}
	}
	return nil
}
