package brazen

import (
	"context"
	"crypto/sha256"
	"net/netip"
	"time"
)

// Workspace is the unit that owns users, keys and rate limits, as in Braze
// (historically an "app group"). A Brazen store holds one workspace today; the
// types carry its id so that a multi-workspace store needs no API change.
type Workspace struct {
	ID        string
	Name      string
	CreatedAt time.Time
	// Bootstrapped is set once `brazen serve` has issued the first admin key,
	// so that it is printed once and never again.
	Bootstrapped bool
}

// KeyHash is the SHA-256 of a secret. Secrets are stored and compared only in
// this form.
type KeyHash [sha256.Size]byte

// HashSecret returns the hash under which a secret is stored.
func HashSecret(secret string) KeyHash { return sha256.Sum256([]byte(secret)) }

// APIKey is a REST API key. The secret itself is never stored: only its hash.
// Permissions and AllowedIPs are fixed at creation, as in Braze.
type APIKey struct {
	ID          string
	WorkspaceID string
	Name        string
	Hash        KeyHash
	Permissions []string       // Braze permission names, in the dashboard's order
	AllowedIPs  []netip.Prefix // empty means any address
	CreatedAt   time.Time
	LastUsedAt  time.Time // zero if never used
}

// AdminToken opens Brazen's own admin API (not the Braze REST API). Like an
// APIKey it is stored only as a hash.
type AdminToken struct {
	ID         string
	Name       string
	Hash       KeyHash
	CreatedAt  time.Time
	LastUsedAt time.Time
}

// WorkspaceStore keeps workspaces.
type WorkspaceStore interface {
	// DefaultWorkspace returns the store's workspace, creating it (with the
	// given name) on first call. created reports whether it was made now.
	DefaultWorkspace(ctx context.Context, name string) (ws *Workspace, created bool, err error)
	// Bootstrap atomically marks the workspace bootstrapped and stores key.
	// It fails with ECONFLICT if the workspace was already bootstrapped, so
	// that two processes starting at once issue one first key between them.
	Bootstrap(ctx context.Context, workspaceID string, key *APIKey) error
}

// KeyStore keeps REST API keys.
type KeyStore interface {
	CreateKey(ctx context.Context, k *APIKey) error
	// Key returns the key with the given id, or ENOTFOUND.
	Key(ctx context.Context, id string) (*APIKey, error)
	// KeyByHash returns the key whose secret hashes to h, or ENOTFOUND.
	KeyByHash(ctx context.Context, h KeyHash) (*APIKey, error)
	// Keys lists a workspace's keys, oldest first.
	Keys(ctx context.Context, workspaceID string) ([]*APIKey, error)
	// AllKeys lists every key of every workspace (for the auth cache).
	AllKeys(ctx context.Context) ([]*APIKey, error)
	// DeleteKey deletes a key, or returns ENOTFOUND.
	DeleteKey(ctx context.Context, id string) error
	// TouchKeys records last-used times; unknown ids are ignored and a time
	// never moves backwards.
	TouchKeys(ctx context.Context, lastUsed map[string]time.Time) error
}

// AdminTokenStore keeps admin API tokens.
type AdminTokenStore interface {
	CreateAdminToken(ctx context.Context, t *AdminToken) error
	AdminTokenByHash(ctx context.Context, h KeyHash) (*AdminToken, error)
	AdminTokens(ctx context.Context) ([]*AdminToken, error)
	TouchAdminToken(ctx context.Context, id string, at time.Time) error
	DeleteAdminToken(ctx context.Context, id string) error
}

// Store is everything a backend provides. Every backend passes the same
// conformance suite (internal/storetest).
type Store interface {
	WorkspaceStore
	KeyStore
	AdminTokenStore
	UserStore
	CounterStore
	JobStore
	CardStore
	BounceStore
	MessageStore
	ConsoleStore
	UsageStore
	// Migrate applies pending schema migrations and returns the versions it
	// applied.
	Migrate(ctx context.Context) ([]int, error)
	// Ping reports whether the store can serve requests.
	Ping(ctx context.Context) error
	Close() error
}
