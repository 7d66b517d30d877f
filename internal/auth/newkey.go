package auth

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/brazenhq/brazen/internal/brazen"
)

// KeyRequest is what a caller asks for when creating a REST API key.
type KeyRequest struct {
	WorkspaceID    string
	Name           string
	Permissions    []string
	AllPermissions bool
	AllowedIPs     []string
}

// MaxKeyNameLength bounds a key's name, in characters.
const MaxKeyNameLength = 255

// NewAPIKey validates req and returns the key to store with its secret, which
// exists only in this return value: the key holds its hash.
func NewAPIKey(req KeyRequest, now time.Time) (*brazen.APIKey, string, error) {
	invalid := func(format string, args ...any) error {
		return &brazen.Error{Code: brazen.EINVALID, Message: "Bad Request", Details: []string{fmt.Sprintf(format, args...)}}
	}
	name := strings.TrimSpace(req.Name)
	if name == "" {
		return nil, "", invalid("a key needs a name")
	}
	if utf8.RuneCountInString(name) > MaxKeyNameLength {
		return nil, "", invalid("a key name has at most %d characters", MaxKeyNameLength)
	}
	perms := AllPermissions()
	if !req.AllPermissions {
		var err error
		if perms, err = ParsePermissions(req.Permissions); err != nil {
			return nil, "", invalid("%s", err)
		}
	}
	if perms.Len() == 0 {
		return nil, "", invalid("a key needs at least one permission")
	}
	ips, err := ParsePrefixes(req.AllowedIPs)
	if err != nil {
		return nil, "", invalid("%s", err)
	}
	secret := NewKeySecret()
	return &brazen.APIKey{
		ID:          brazen.NewID(),
		WorkspaceID: req.WorkspaceID,
		Name:        name,
		Hash:        brazen.HashSecret(secret),
		Permissions: perms.Names(),
		AllowedIPs:  ips,
		CreatedAt:   now.UTC().Truncate(time.Millisecond),
	}, secret, nil
}
