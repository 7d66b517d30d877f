package auth

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
)

// NewKeySecret returns a new REST API key: 128 bits from crypto/rand written
// in the 8-4-4-4-12 hex shape of Braze's keys, so that clients validating the
// shape accept it. Unlike a UUID no bits are spent on a version.
func NewKeySecret() string {
	var b [16]byte
	rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// AdminTokenPrefix starts every admin API token, so that a token pasted in the
// wrong place is recognisable (and a REST key is never one).
const AdminTokenPrefix = "brazen_admin_"

// NewAdminToken returns a new admin API token with 192 random bits.
func NewAdminToken() string {
	var b [24]byte
	rand.Read(b[:])
	return AdminTokenPrefix + hex.EncodeToString(b[:])
}

// BearerToken extracts the credential from an Authorization header value.
// The scheme is matched in any case ("Bearer", "bearer", "BEARER"); the
// credential is returned as sent (keys are case-exact, and a quoted key is
// not unquoted: Braze refuses it too). ok is false when the value is not a
// Bearer credential.
func BearerToken(header string) (token string, ok bool) {
	const scheme = "bearer"
	if len(header) <= len(scheme) || !strings.EqualFold(header[:len(scheme)], scheme) {
		return "", false
	}
	rest := header[len(scheme):]
	if rest[0] != ' ' && rest[0] != '\t' {
		return "", false
	}
	token = strings.Trim(rest, " \t")
	if token == "" || strings.ContainsAny(token, " \t") {
		return "", false
	}
	return token, true
}
