package brazen

import (
	"crypto/rand"
	"encoding/hex"
)

// NewID returns a random 24-character lowercase hex identifier, the shape of
// Braze's object ids (braze_id, campaign ids, …).
func NewID() string {
	var b [12]byte
	rand.Read(b[:]) // never fails (crypto/rand panics rather than return short)
	return hex.EncodeToString(b[:])
}
