// Package ingest is Brazen's write path for user data: requests are parsed
// and validated into operations (Op), appended durably to the ingest log in
// group commits, and applied in log order by the applier, which keeps
// profiles, event and purchase summaries and daily rollups current.
package ingest

import (
	"encoding/json"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/profile"
)

// Kind is what an Op does.
type Kind string

// Operation kinds.
const (
	KindAttributes  Kind = "attributes"   // /users/track attributes object
	KindEvent       Kind = "event"        // /users/track events object
	KindPurchase    Kind = "purchase"     // /users/track purchases object
	KindAliasNew    Kind = "alias_new"    // /users/alias/new item
	KindAliasUpdate Kind = "alias_update" // /users/alias/update item
	KindIdentify    Kind = "identify"     // /users/identify item
	KindMerge       Kind = "merge"        // /users/merge item
	KindDelete      Kind = "delete"       // /users/delete identifier
	KindRename      Kind = "rename"       // /users/external_ids/rename item
	KindRemove      Kind = "remove"       // /users/external_ids/remove item
	// KindTokenRemove takes a push token off a profile: the push service
	// refused it for good (an uninstalled app).
	KindTokenRemove Kind = "token_remove"
)

// Op is one accepted operation on user data, as written to the ingest log.
// Which fields are set depends on Kind.
type Op struct {
	Kind Kind              `json:"k"`
	ID   brazen.Identifier `json:"id"` // the user operated on (merge: identifier_to_merge)

	// UpdateExistingOnly: never create a profile (track objects).
	UpdateExistingOnly bool `json:"ueo,omitempty"`

	Attrs    *profile.Update `json:"a,omitempty"` // KindAttributes
	Event    *Event          `json:"e,omitempty"` // KindEvent
	Purchase *Purchase       `json:"p,omitempty"` // KindPurchase

	// Target is identifier_to_keep (merge) or the external_id to identify as
	// (identify: Target.ExternalID).
	Target *brazen.Identifier `json:"t,omitempty"`
	// Alias is the alias to add (alias_new) or rename (alias_update: Alias
	// holds the old name, NewName the new one).
	Alias   *brazen.Alias `json:"al,omitempty"`
	NewName string        `json:"nn,omitempty"`
	// NewExternalID is the rename's new_external_id (ID.ExternalID is the
	// current one).
	NewExternalID string `json:"nx,omitempty"`
	// Token is the push token to take off (token_remove).
	Token string `json:"tk,omitempty"`
}

// Event is a custom event occurrence.
type Event struct {
	Name       string          `json:"name"`
	Time       time.Time       `json:"time"`
	AppID      string          `json:"app_id,omitempty"`
	Properties json.RawMessage `json:"properties,omitempty"`
}

// Purchase is a purchase of Quantity units of one product at Price each.
type Purchase struct {
	ProductID  string          `json:"product_id"`
	Currency   string          `json:"currency"`
	Price      float64         `json:"price"`
	Quantity   int             `json:"quantity"`
	Time       time.Time       `json:"time"`
	AppID      string          `json:"app_id,omitempty"`
	Properties json.RawMessage `json:"properties,omitempty"`
}

// ObjectError is a non-fatal error about one object of a /users/track
// request, returned with 201 while the other objects are processed.
type ObjectError struct {
	Type       string `json:"type"`
	InputArray string `json:"input_array"`
	Index      int    `json:"index"`
}
