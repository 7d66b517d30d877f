// Package profile holds the pure logic of Braze user attributes: parsing and
// validating an attributes object's fields into an Update (at request time,
// so that errors reach the caller), and applying an Update to a profile (in
// the applier, where it cannot fail). No I/O.
package profile

import (
	"encoding/json"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
)

// Update is the validated, normalised form of one attributes object's
// attribute fields (identifiers and control keys excluded). It is written to
// the ingest log as JSON, so every field must round-trip through
// encoding/json.
type Update struct {
	// TODO(helper): fields.
}

// Parse validates the attribute fields of one /users/track attributes
// object. fields holds every key of the object except external_id,
// user_alias, braze_id and the control keys (_update_existing_only,
// push_token_import, _merge_objects); email and phone are always included,
// even when the caller used one of them to identify the user, since they are
// attributes too. mergeObjects is the object's _merge_objects. An error is a message in
// Braze's style naming the bad field, returned to the caller as a non-fatal
// error for this object.
func Parse(fields map[string]json.RawMessage, mergeObjects bool) (*Update, error) {
	panic("TODO")
}

// Apply applies u to p at time now. It never fails: Parse validated u.
func Apply(p *brazen.Profile, u *Update, now time.Time) {
	panic("TODO")
}
