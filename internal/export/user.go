// Package export renders Brazen's data in Braze's export shapes: the user
// export object of /users/export/ids (and, later, segment exports).
package export

import (
	"fmt"
	"hash/fnv"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
)

// Fields are the values /users/export/ids accepts in fields_to_export.
var Fields = []string{
	"apps", "attributed_campaign", "attributed_source", "attributed_adgroup", "attributed_ad",
	"braze_id", "campaigns_received", "canvases_received", "cards_clicked", "country", "created_at",
	"custom_attributes", "custom_events", "devices", "dob", "email", "email_subscribe", "external_id",
	"first_name", "gender", "home_city", "language", "last_coordinates", "last_name", "phone",
	"purchases", "push_subscribe", "push_tokens", "random_bucket", "time_zone", "total_revenue",
	"uninstalled_at", "user_aliases",
}

// FieldSet selects export fields; nil selects all.
type FieldSet map[string]bool

// ParseFields validates fields_to_export.
func ParseFields(list []string) (FieldSet, error) {
	if list == nil {
		return nil, nil
	}
	fs := FieldSet{}
	var bad []string
	for _, f := range list {
		if !slices.Contains(Fields, f) {
			bad = append(bad, fmt.Sprintf("'%s'", f))
			continue
		}
		fs[f] = true
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("unknown fields_to_export %s; valid fields are: %s", strings.Join(bad, ", "), strings.Join(Fields, ", "))
	}
	return fs, nil
}

func (fs FieldSet) has(f string) bool { return fs == nil || fs[f] }

// Time formats an export time as Braze does: UTC with milliseconds.
func Time(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// Summary is a custom event or purchase summary.
type Summary struct {
	Name  string `json:"name"`
	First string `json:"first"`
	Last  string `json:"last"`
	Count int64  `json:"count"`
}

// PushToken is a push token as exported.
type PushToken struct {
	App      string `json:"app"`
	Platform string `json:"platform,omitempty"`
	Token    string `json:"token"`
	DeviceID string `json:"device_id,omitempty"`
}

// User is Braze's user export object; fields are omitted when empty or not
// selected, as Braze omits missing fields.
type User struct {
	CreatedAt        string         `json:"created_at,omitempty"`
	ExternalID       string         `json:"external_id,omitempty"`
	UserAliases      []brazen.Alias `json:"user_aliases,omitempty"`
	BrazeID          string         `json:"braze_id,omitempty"`
	FirstName        any            `json:"first_name,omitempty"`
	LastName         any            `json:"last_name,omitempty"`
	Email            string         `json:"email,omitempty"`
	DOB              any            `json:"dob,omitempty"`
	HomeCity         any            `json:"home_city,omitempty"`
	Country          any            `json:"country,omitempty"`
	Phone            string         `json:"phone,omitempty"`
	Language         any            `json:"language,omitempty"`
	TimeZone         any            `json:"time_zone,omitempty"`
	LastCoordinates  []any          `json:"last_coordinates,omitempty"`
	Gender           any            `json:"gender,omitempty"`
	TotalRevenue     *float64       `json:"total_revenue,omitempty"`
	RandomBucket     *int           `json:"random_bucket,omitempty"`
	PushSubscribe    any            `json:"push_subscribe,omitempty"`
	EmailSubscribe   any            `json:"email_subscribe,omitempty"`
	CustomAttributes map[string]any `json:"custom_attributes,omitempty"`
	CustomEvents     []Summary      `json:"custom_events,omitempty"`
	Purchases        []Summary      `json:"purchases,omitempty"`
	PushTokens       []PushToken    `json:"push_tokens,omitempty"`
}

// RandomBucket is the profile's random bucket number (0–9999), fixed for
// its lifetime: derived from the braze_id, so it needs no storage.
func RandomBucket(brazeID string) int {
	h := fnv.New32a()
	h.Write([]byte(brazeID))
	return int(h.Sum32() % 10000)
}

// NewUser renders p with the selected fields.
func NewUser(p *brazen.Profile, fs FieldSet) *User {
	u := &User{}
	std := func(f string) any {
		if !fs.has(f) {
			return nil
		}
		return p.Standard[f]
	}
	if fs.has("created_at") {
		u.CreatedAt = Time(p.CreatedAt)
	}
	if fs.has("external_id") {
		u.ExternalID = p.ExternalID
	}
	if fs.has("user_aliases") {
		u.UserAliases = p.Aliases
	}
	if fs.has("braze_id") {
		u.BrazeID = p.BrazeID
	}
	u.FirstName, u.LastName, u.DOB, u.HomeCity = std("first_name"), std("last_name"), std("dob"), std("home_city")
	u.Country, u.Language, u.TimeZone, u.Gender = std("country"), std("language"), std("time_zone"), std("gender")
	u.PushSubscribe, u.EmailSubscribe = std("push_subscribe"), std("email_subscribe")
	if fs.has("email") {
		u.Email = p.Email
	}
	if fs.has("phone") {
		u.Phone = p.Phone
	}
	if loc, ok := p.Standard["current_location"].(map[string]any); ok && fs.has("last_coordinates") {
		u.LastCoordinates = []any{loc["longitude"], loc["latitude"]}
	}
	if fs.has("total_revenue") {
		r := p.TotalRevenue
		u.TotalRevenue = &r
	}
	if fs.has("random_bucket") {
		b := RandomBucket(p.BrazeID)
		u.RandomBucket = &b
	}
	if fs.has("custom_attributes") && len(p.Custom) > 0 {
		u.CustomAttributes = p.Custom
	}
	if fs.has("custom_events") {
		u.CustomEvents = summaries(p.Events)
	}
	if fs.has("purchases") {
		u.Purchases = summaries(p.Purchases)
	}
	if tokens, ok := std("push_tokens").([]any); ok {
		for _, t := range tokens {
			m, _ := t.(map[string]any)
			app, _ := m["app_id"].(string)
			tok, _ := m["token"].(string)
			dev, _ := m["device_id"].(string)
			u.PushTokens = append(u.PushTokens, PushToken{App: app, Token: tok, DeviceID: dev})
		}
	}
	return u
}

func summaries(m map[string]*brazen.Summary) []Summary {
	if len(m) == 0 {
		return nil
	}
	out := make([]Summary, 0, len(m))
	for name, s := range m {
		out = append(out, Summary{Name: name, First: Time(s.First), Last: Time(s.Last), Count: s.Count})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
