package auth

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
)

// Key is the in-memory form of a REST API key that the request path checks.
type Key struct {
	ID          string
	WorkspaceID string
	Name        string
	Hash        brazen.KeyHash
	Permissions PermissionSet
	AllowedIPs  []netip.Prefix

	lastUsed atomic.Int64 // unix nanoseconds of the latest use not yet flushed, 0 if none
}

// Allows reports whether the key may call an endpoint guarded by p.
func (k *Key) Allows(p Permission) bool { return k.Permissions.Has(p) }

// AllowsAddr reports whether the key may be used from addr.
func (k *Key) AllowsAddr(addr netip.Addr) bool { return Allowed(k.AllowedIPs, addr) }

func newKey(k *brazen.APIKey) *Key {
	perms, _ := ParsePermissions(k.Permissions) // names were validated at creation
	return &Key{
		ID:          k.ID,
		WorkspaceID: k.WorkspaceID,
		Name:        k.Name,
		Hash:        k.Hash,
		Permissions: perms,
		AllowedIPs:  k.AllowedIPs,
	}
}

// Keyring authenticates REST API keys from memory. A key it has not seen is
// looked up in the store once, so a key created by another process (the CLI,
// another node) works at once; Refresh reloads the whole set, so a key deleted
// elsewhere stops working within one refresh interval. Last-used times are
// kept in memory and written to the store in batches.
type Keyring struct {
	store  brazen.KeyStore
	logger *slog.Logger

	mu   sync.RWMutex // guards keys
	keys map[brazen.KeyHash]*Key
}

// NewKeyring returns an empty Keyring over store; call Refresh to fill it.
func NewKeyring(store brazen.KeyStore, logger *slog.Logger) *Keyring {
	return &Keyring{store: store, logger: logger, keys: make(map[brazen.KeyHash]*Key)}
}

var errUnknownKey = &brazen.Error{Code: brazen.EUNAUTHORIZED, Message: "Unauthorized",
	Details: []string{"the API key is not valid for this Brazen instance"}}

// Authenticate returns the key whose secret is secret, and records its use at
// now. It fails with EUNAUTHORIZED for an unknown key.
func (r *Keyring) Authenticate(ctx context.Context, secret string, now time.Time) (*Key, error) {
	h := brazen.HashSecret(secret)
	r.mu.RLock()
	k := r.keys[h]
	r.mu.RUnlock()
	if k == nil {
		sk, err := r.store.KeyByHash(ctx, h)
		if brazen.IsNotFound(err) {
			return nil, errUnknownKey
		}
		if err != nil {
			return nil, err
		}
		k = r.put(sk)
	}
	// The map lookup already matched the hash; this compare keeps the check
	// constant-time whatever the map implementation does.
	if subtle.ConstantTimeCompare(k.Hash[:], h[:]) != 1 {
		return nil, errUnknownKey
	}
	k.lastUsed.Store(now.UnixNano())
	return k, nil
}

// put adds or replaces a key, keeping an unflushed last-used time.
func (r *Keyring) put(sk *brazen.APIKey) *Key {
	k := newKey(sk)
	r.mu.Lock()
	defer r.mu.Unlock()
	if old := r.keys[k.Hash]; old != nil {
		k.lastUsed.Store(old.lastUsed.Load())
	}
	r.keys[k.Hash] = k
	return k
}

// Add makes a key known at once (after it was created in this process).
func (r *Keyring) Add(k *brazen.APIKey) { r.put(k) }

// Forget drops a key at once (after it was deleted in this process).
func (r *Keyring) Forget(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for h, k := range r.keys {
		if k.ID == id {
			delete(r.keys, h)
		}
	}
}

// Refresh reloads every key from the store.
func (r *Keyring) Refresh(ctx context.Context) error {
	all, err := r.store.AllKeys(ctx)
	if err != nil {
		return err
	}
	next := make(map[brazen.KeyHash]*Key, len(all))
	for _, sk := range all {
		k := newKey(sk)
		next[k.Hash] = k
	}
	r.mu.Lock()
	for h, k := range next {
		if old := r.keys[h]; old != nil {
			k.lastUsed.Store(old.lastUsed.Load())
		}
	}
	r.keys = next
	r.mu.Unlock()
	return nil
}

// Flush writes the last-used times recorded since the previous flush.
func (r *Keyring) Flush(ctx context.Context) error {
	used := make(map[string]time.Time)
	var flushed []*Key
	r.mu.RLock()
	for _, k := range r.keys {
		if ns := k.lastUsed.Load(); ns != 0 {
			used[k.ID] = time.Unix(0, ns)
			flushed = append(flushed, k)
		}
	}
	r.mu.RUnlock()
	if len(used) == 0 {
		return nil
	}
	if err := r.store.TouchKeys(ctx, used); err != nil {
		return err
	}
	for _, k := range flushed {
		// Clear only if no newer use came in meanwhile.
		k.lastUsed.CompareAndSwap(used[k.ID].UnixNano(), 0)
	}
	return nil
}

// Run refreshes the keys and flushes last-used times every interval until ctx
// ends, then flushes once more.
func (r *Keyring) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			// A last flush on the way out; ctx is done, so give it its own
			// short deadline.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := r.Flush(fctx); err != nil {
				r.logger.Warn("flushing key last-used times", "err", err)
			}
			cancel()
			return
		case <-t.C:
			if err := r.Flush(ctx); err != nil && ctx.Err() == nil {
				r.logger.Warn("flushing key last-used times", "err", err)
			}
			if err := r.Refresh(ctx); err != nil && ctx.Err() == nil {
				r.logger.Warn("refreshing API keys", "err", err)
			}
		}
	}
}
