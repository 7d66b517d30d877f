package brazen

import "time"

// Alias is a user alias: a name unique within its label.
type Alias struct {
	Name  string `json:"alias_name"`
	Label string `json:"alias_label"`
}

// Identifier names one user the way Braze's API does: exactly one of its
// fields is set. Email and Phone may match several profiles; then
// Prioritization (Braze's "identified", "unidentified",
// "most_recently_updated", "least_recently_updated") picks one.
type Identifier struct {
	ExternalID     string   `json:"external_id,omitempty"`
	Alias          *Alias   `json:"user_alias,omitempty"`
	BrazeID        string   `json:"braze_id,omitempty"`
	Email          string   `json:"email,omitempty"`
	Phone          string   `json:"phone,omitempty"`
	Prioritization []string `json:"prioritization,omitempty"`
}

// Summary counts the occurrences of one custom event or one product's
// purchases on a profile.
type Summary struct {
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
	Count int64     `json:"count"`
}

// Profile is a user profile. Standard holds Braze's standard attributes
// (first_name, dob, country, gender, email_subscribe, …) by their Braze
// names, already normalised; Custom holds custom attributes as decoded JSON
// values (string, json.Number, bool, []any, map[string]any).
type Profile struct {
	BrazeID      string              `json:"braze_id"`
	ExternalID   string              `json:"external_id,omitempty"`
	Deprecated   []string            `json:"deprecated_external_ids,omitempty"`
	Aliases      []Alias             `json:"user_aliases,omitempty"`
	Email        string              `json:"email,omitempty"`
	Phone        string              `json:"phone,omitempty"`
	Standard     map[string]any      `json:"standard,omitempty"`
	Custom       map[string]any      `json:"custom,omitempty"`
	Events       map[string]*Summary `json:"events,omitempty"`
	Purchases    map[string]*Summary `json:"purchases,omitempty"`
	TotalRevenue float64             `json:"total_revenue,omitempty"`
	CreatedAt    time.Time           `json:"created_at"`
	UpdatedAt    time.Time           `json:"updated_at"`
	// Version is the store's version of the profile, set when it is read
	// or written (0: not stored yet); see UserTx.PutProfile.
	Version int64 `json:"-"`
}
