package brazen

import (
	"context"
	"time"
)

// Admin is a console account. Its password is kept only as a memory-hard
// hash in PHC string format ($argon2id$v=19$m=…,t=…,p=…$salt$hash).
type Admin struct {
	ID           string
	Email        string // lower case, unique
	PasswordHash string
	CreatedAt    time.Time
	LastLoginAt  time.Time // zero: never
}

// ConsoleToken is a console session or a one-time setup link, stored only
// as the hash of its secret.
type ConsoleToken struct {
	Hash      KeyHash
	Kind      string // TokenSession or TokenSetup
	AdminID   string // the session's account; "" for a setup token
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Console token kinds.
const (
	TokenSession = "session"
	TokenSetup   = "setup"
)

// ConsoleStore keeps console accounts and their tokens.
type ConsoleStore interface {
	// CreateAdmin stores an account; an email in use is ECONFLICT.
	CreateAdmin(ctx context.Context, a *Admin) error
	// AdminByEmail finds an account by email (any case); ENOTFOUND if none.
	AdminByEmail(ctx context.Context, email string) (*Admin, error)
	// AdminByID finds an account; ENOTFOUND if none.
	AdminByID(ctx context.Context, id string) (*Admin, error)
	// Admins lists the accounts, oldest first.
	Admins(ctx context.Context) ([]*Admin, error)
	// SetAdminPassword replaces an account's password hash and ends the
	// account's sessions, in one transaction; ENOTFOUND if no such
	// account.
	SetAdminPassword(ctx context.Context, id, hash string) error
	// TouchAdminLogin records a successful login.
	TouchAdminLogin(ctx context.Context, id string, at time.Time) error
	// DeleteAdmin removes an account and its sessions; ENOTFOUND if none.
	DeleteAdmin(ctx context.Context, id string) error

	// CreateConsoleToken stores a token.
	CreateConsoleToken(ctx context.Context, t ConsoleToken) error
	// ConsoleToken finds a token of the kind that has not expired at now;
	// ENOTFOUND otherwise.
	ConsoleToken(ctx context.Context, h KeyHash, kind string, now time.Time) (*ConsoleToken, error)
	// DeleteConsoleToken removes a token (no error if it is gone).
	DeleteConsoleToken(ctx context.Context, h KeyHash) error
	// ConsumeSetupToken removes a setup token that has not expired and
	// creates the account in the same transaction, so that one link makes
	// one account, and only the first: ENOTFOUND when the token is
	// unknown, used or expired or when any account exists already (the
	// token is then kept, and useless).
	ConsumeSetupToken(ctx context.Context, h KeyHash, now time.Time, a *Admin) error
	// DeleteExpiredConsoleTokens removes the tokens expired at now.
	DeleteExpiredConsoleTokens(ctx context.Context, now time.Time) error
}

// APIUsage counts the REST API requests of one route that got one status
// in one minute.
type APIUsage struct {
	Minute time.Time // UTC, truncated to the minute
	Route  string    // the route's pattern, e.g. "POST /users/track"
	Status int
	Count  int64
}

// UsageStore keeps the REST API's request counts for the console's usage
// charts. Nodes add their counts every few seconds; the counts of one
// (minute, route, status) from several nodes add up.
type UsageStore interface {
	// AddAPIUsage adds counts, in one transaction.
	AddAPIUsage(ctx context.Context, counts []APIUsage) error
	// APIUsageSince returns the counts of the minutes from since on,
	// summed by bucket (a whole number of minutes, measured from the Unix
	// epoch; Minute is then the bucket's start), oldest first, then by
	// route and status. A bucket under a minute counts as one minute.
	APIUsageSince(ctx context.Context, since time.Time, bucket time.Duration) ([]APIUsage, error)
	// DeleteAPIUsageBefore removes the counts of the minutes before t.
	DeleteAPIUsageBefore(ctx context.Context, t time.Time) error
}
