package brazeapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/export"
	"github.com/brazenhq/brazen/internal/golden"
	"github.com/brazenhq/brazen/internal/ratelimit"
)

// The user-data endpoints, driven as a client drives them: HTTP-shaped
// requests to the API over a real SQLite store with the ingest log and the
// applier running. Each scenario gets its own store, runs its setup
// requests (which must succeed), then its own request, and checks the
// status and fragments of the compact JSON body. Fragments rely on the body
// being encoded the way httpx.WriteJSON encodes it: compact, map keys
// sorted, struct fields in declaration order, HTML not escaped.

// userPaths are the eleven user-data endpoints, all POST.
var userPaths = []string{
	"/users/track", "/users/track/bulk", "/users/track/sync",
	"/users/alias/new", "/users/alias/update", "/users/identify", "/users/merge",
	"/users/delete", "/users/external_ids/rename", "/users/external_ids/remove",
	"/users/export/ids",
}

// usersHarness is a harness with a key holding exactly the user-data
// permissions, and no effective rate limit on those endpoints: the fixed
// clock would otherwise exhaust per-minute windows such as export's 250.
type usersHarness struct {
	*harness
	key string
}

func newUsersHarness(t testing.TB) *usersHarness {
	t.Helper()
	limits := map[string]ratelimit.Limit{}
	var perms []string
	for _, p := range userPaths {
		limits["POST "+p] = ratelimit.Limit{N: 1 << 62, Window: time.Hour}
		perms = append(perms, permissionOf(t, "POST "+p))
	}
	h := newHarness(t, harnessOpts{limits: limits})
	return &usersHarness{harness: h, key: h.key(perms)}
}

func permissionOf(t testing.TB, pattern string) string {
	for _, e := range endpointTable {
		if e.pattern == pattern {
			return e.permission
		}
	}
	t.Fatalf("no endpoint %s", pattern)
	return ""
}

func (u *usersHarness) post(path, body string) *httptest.ResponseRecorder {
	u.t.Helper()
	return u.do(request{method: http.MethodPost, path: path, body: u.expand(body), headers: bearer(u.key)})
}

// brazeIDRef is a placeholder in a scenario body for the braze_id of the
// profile with an external id, which only exists once the setup has run.
var brazeIDRef = regexp.MustCompile(`\{\{braze_id:([^}]*)\}\}`)

func (u *usersHarness) expand(body string) string {
	u.t.Helper()
	return brazeIDRef.ReplaceAllStringFunc(body, func(ref string) string {
		ext := brazeIDRef.FindStringSubmatch(ref)[1]
		users := u.export(`{"external_ids":[` + js(ext) + `],"fields_to_export":["braze_id"]}`)
		if len(users) != 1 {
			u.t.Fatalf("%s: %d users have external id %q", ref, len(users), ext)
		}
		id, _ := users[0]["braze_id"].(string)
		return id
	})
}

// export runs /users/export/ids, which must succeed, and returns its users.
func (u *usersHarness) export(body string) []map[string]any {
	u.t.Helper()
	w := u.do(request{method: http.MethodPost, path: "/users/export/ids", body: body, headers: bearer(u.key)})
	if w.Code != http.StatusOK {
		u.t.Fatalf("export %s: %d %s", body, w.Code, w.Body)
	}
	return exportedUsers(u.t, w.Body.Bytes())
}

// settle waits until the applier has applied every record in the store's
// log. Scenarios call it after their setup so that they test their own
// request, not read-your-writes: that is TestUsersReadYourWrites' job.
func (u *usersHarness) settle() {
	u.t.Helper()
	if err := u.users.Sync(u.t.Context()); err != nil {
		u.t.Fatal(err)
	}
}

func exportedUsers(t testing.TB, body []byte) []map[string]any {
	t.Helper()
	var v struct {
		Users []map[string]any `json:"users"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("export body: %v: %s", err, body)
	}
	return v.Users
}

// js is v as JSON.
func js(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// array is a JSON array of n items made by item(i).
func array(n int, item func(i int) string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = item(i)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// A few request-body makers.
func attrObj(ext, attrs string) string { return `{"external_id":` + js(ext) + `,` + attrs + `}` }
func eventObj(ext, name, at string) string {
	return `{"external_id":` + js(ext) + `,"name":` + js(name) + `,"time":` + js(at) + `}`
}
func aliasJSON(name, label string) string {
	return `{"alias_name":` + js(name) + `,"alias_label":` + js(label) + `}`
}
func trackAttrs(objs ...string) string { return `{"attributes":[` + strings.Join(objs, ",") + `]}` }
func exportIDs(ids ...string) string   { return `{"external_ids":` + js(ids) + `}` }
func exportAlias(name, label string) string {
	return `{"user_aliases":[` + aliasJSON(name, label) + `]}`
}
func ids(prefix string, n int) string {
	return array(n, func(i int) string { return js(fmt.Sprintf("%s%d", prefix, i)) })
}

// Event times: before the harness clock (2026-11-26T10:00:00Z), so kept as
// given; exported with milliseconds.
const (
	t1 = "2026-01-02T03:04:05Z"
	t2 = "2026-02-03T04:05:06Z"
	t3 = "2026-03-04T05:06:07Z"
)

// step is a request made before a scenario's own; it must succeed.
type step struct{ path, body string }

func track(body string) step    { return step{"/users/track", body} }
func aliasNew(body string) step { return step{"/users/alias/new", body} }
func rename(current, next string) step {
	return step{"/users/external_ids/rename", `{"external_id_renames":[{"current_external_id":` + js(current) + `,"new_external_id":` + js(next) + `}]}`}
}

// userScenario is one row of the scenario tables.
type userScenario struct {
	name    string
	setup   []step
	method  string // default POST
	path    string
	body    string // {{braze_id:EXT}} is replaced by that profile's braze_id
	status  int
	want    []string // fragments of the body
	notWant []string
	check   func(t *testing.T, body []byte)
}

func runUserScenarios(t *testing.T, tests []userScenario) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := newUsersHarness(t)
			for i, s := range tt.setup {
				if w := u.post(s.path, s.body); w.Code/100 != 2 {
					t.Fatalf("setup %d, %s %s: %d %s", i, s.path, s.body, w.Code, w.Body)
				}
				u.settle()
			}
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			w := u.do(request{method: method, path: tt.path, body: u.expand(tt.body), headers: bearer(u.key)})
			body := w.Body.String()
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", w.Code, tt.status, body)
			}
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			if msg := decodeMessage(t, w.Body.Bytes()); msg == "" {
				t.Errorf("no message: %s", body)
			}
			for _, f := range tt.want {
				if !strings.Contains(body, f) {
					t.Errorf("body lacks %s\nbody: %s", f, body)
				}
			}
			for _, f := range tt.notWant {
				if strings.Contains(body, f) {
					t.Errorf("body has %s\nbody: %s", f, body)
				}
			}
			if tt.check != nil {
				tt.check(t, w.Body.Bytes())
			}
		})
	}
}

// fullProfile sets every kind of data a profile can hold through
// /users/track, for user "full".
var fullProfile = []step{
	track(`{
	"attributes": [{"external_id": "full", "first_name": "Ann", "last_name": "Lee", "email": "Ann@Example.com",
		"phone": "+15551234567", "dob": "1990-04-05", "home_city": "Lyon", "country": "France", "language": "fr",
		"time_zone": "Europe/Paris", "gender": "f", "current_location": {"longitude": 4.83, "latitude": 45.76},
		"email_subscribe": "opted_in", "push_subscribe": "subscribed",
		"push_tokens": [{"app_id": "app-1", "token": "tok-1", "device_id": "dev-1"}],
		"plan": "gold", "visits": 3, "vip": true, "tags": ["a", "b"], "address": {"city": "Lyon", "zip": "69001"}}],
	"events": [
		{"external_id": "full", "name": "played", "time": "` + t1 + `"},
		{"external_id": "full", "name": "played", "time": "` + t2 + `"},
		{"external_id": "full", "name": "won", "time": "` + t3 + `", "properties": {"level": 3}}],
	"purchases": [
		{"external_id": "full", "product_id": "sku-1", "currency": "EUR", "price": 10.5, "quantity": 2, "time": "` + t1 + `"},
		{"external_id": "full", "product_id": "sku-2", "currency": "eur", "price": 4.25, "time": "` + t2 + `"}]}`),
	aliasNew(`{"user_aliases": [{"external_id": "full", "alias_name": "ann-crm", "alias_label": "crm"}]}`),
}

var hex24 = regexp.MustCompile(`^[0-9a-f]{24}$`)

// checkExportShape checks the export of fullProfile against Braze's user
// export object.
func checkExportShape(t *testing.T, body []byte) {
	users := exportedUsers(t, body)
	if len(users) != 1 {
		t.Fatalf("%d users, want 1", len(users))
	}
	u := users[0]
	if id, _ := u["braze_id"].(string); !hex24.MatchString(id) {
		t.Errorf("braze_id %q is not 24 lowercase hex digits", u["braze_id"])
	}
	if ca, _ := u["created_at"].(string); !isExportTime(ca) {
		t.Errorf("created_at %q is not an export time", u["created_at"])
	}
	wantStd := map[string]any{
		"external_id": "full", "first_name": "Ann", "last_name": "Lee", "email": "ann@example.com",
		"phone": "+15551234567", "dob": "1990-04-05", "home_city": "Lyon", "country": "FR", "language": "fr",
		"time_zone": "Europe/Paris", "gender": "F", "email_subscribe": "opted_in", "push_subscribe": "subscribed",
		"total_revenue":    25.25,
		"last_coordinates": []any{4.83, 45.76},
		"user_aliases":     []any{map[string]any{"alias_name": "ann-crm", "alias_label": "crm"}},
		"custom_attributes": map[string]any{"plan": "gold", "visits": 3.0, "vip": true, "tags": []any{"a", "b"},
			"address": map[string]any{"city": "Lyon", "zip": "69001"}},
		"custom_events": []any{
			map[string]any{"name": "played", "first": "2026-01-02T03:04:05.000Z", "last": "2026-02-03T04:05:06.000Z", "count": 2.0},
			map[string]any{"name": "won", "first": "2026-03-04T05:06:07.000Z", "last": "2026-03-04T05:06:07.000Z", "count": 1.0},
		},
		"purchases": []any{
			map[string]any{"name": "sku-1", "first": "2026-01-02T03:04:05.000Z", "last": "2026-01-02T03:04:05.000Z", "count": 2.0},
			map[string]any{"name": "sku-2", "first": "2026-02-03T04:05:06.000Z", "last": "2026-02-03T04:05:06.000Z", "count": 1.0},
		},
		"push_tokens": []any{map[string]any{"app": "app-1", "token": "tok-1", "device_id": "dev-1"}},
	}
	for k, want := range wantStd {
		if diff := cmp.Diff(want, u[k]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", k, diff)
		}
	}
	if b, ok := u["random_bucket"].(float64); !ok || b < 0 || b > 9999 || int(b) != export.RandomBucket(u["braze_id"].(string)) {
		t.Errorf("random_bucket %v", u["random_bucket"])
	}
}

var exportTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

func isExportTime(s string) bool { return exportTime.MatchString(s) }

// onlyKeys checks that the one exported user has exactly these keys.
func onlyKeys(keys ...string) func(t *testing.T, body []byte) {
	return func(t *testing.T, body []byte) {
		users := exportedUsers(t, body)
		if len(users) != 1 {
			t.Fatalf("%d users, want 1", len(users))
		}
		var got []string
		for k := range users[0] {
			got = append(got, k)
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(keys))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("exported keys (-want +got):\n%s", diff)
		}
	}
}

// userCount checks how many users an export returned.
func userCount(n int) func(t *testing.T, body []byte) {
	return func(t *testing.T, body []byte) {
		if got := len(exportedUsers(t, body)); got != n {
			t.Errorf("%d users, want %d", got, n)
		}
	}
}

const (
	msgNoData   = `"message":"Valid data must be provided in the 'attributes', 'events', or 'purchases' fields."`
	msgMaxInput = `"message":"Max Input Length Exceeded"`
	msgBad      = `"message":"Bad Request"`
	noUsers     = `"users":[]`
)

func TestUsersTrack(t *testing.T) {
	seventyFive := `{"attributes":` + array(40, func(i int) string { return attrObj(fmt.Sprint("u", i), `"n":1`) }) +
		`,"events":` + array(35, func(i int) string { return eventObj(fmt.Sprint("u", i), "e", t1) }) + `}`
	seventySix := `{"attributes":` + array(40, func(i int) string { return attrObj(fmt.Sprint("u", i), `"n":1`) }) +
		`,"events":` + array(36, func(i int) string { return eventObj(fmt.Sprint("u", i), "e", t1) }) + `}`
	aliasA := `"user_alias":` + aliasJSON("anon-1", "web")
	runUserScenarios(t, []userScenario{
		{
			name: "attributes, events and purchases",
			path: "/users/track",
			body: `{"attributes":[` + attrObj("u1", `"first_name":"Ann"`) + `],
				"events":[` + eventObj("u1", "played", t1) + `,` + eventObj("u2", "played", t1) + `],
				"purchases":[{"external_id":"u1","product_id":"sku","currency":"USD","price":9.99,"time":"` + t1 + `"}]}`,
			status:  201,
			want:    []string{`"attributes_processed":1`, `"events_processed":2`, `"purchases_processed":1`, `"message":"success"`},
			notWant: []string{`"errors"`},
		},
		{
			name:    "only the arrays sent are counted",
			path:    "/users/track",
			body:    `{"events":[` + eventObj("u1", "played", t1) + `]}`,
			status:  201,
			want:    []string{`{"events_processed":1,"message":"success"}`},
			notWant: []string{`attributes_processed`, `purchases_processed`},
		},
		{
			name: "per-object errors are not fatal",
			path: "/users/track",
			body: `{"attributes":[` + attrObj("u1", `"plan":"gold"`) + `,{"plan":"gold"}],
				"events":[{"external_id":"u1","time":"` + t1 + `"},` + eventObj("u1", "played", t1) + `],
				"purchases":[{"external_id":"u1","product_id":"sku","currency":"XYZ","price":1,"time":"` + t1 + `"}]}`,
			status: 201,
			want: []string{
				`"attributes_processed":1`, `"events_processed":1`, `"purchases_processed":0`, `"message":"success"`,
				`{"type":"'external_id' or 'braze_id' or 'user_alias' or 'email' or 'phone' is required","input_array":"attributes","index":1}`,
				`{"type":"'name' is required","input_array":"events","index":0}`,
				`{"type":"'currency' must be an ISO 4217 currency code","input_array":"purchases","index":0}`,
			},
		},
		{
			name:   "objects with errors are not applied, the others are",
			setup:  []step{track(`{"attributes":[` + attrObj("u1", `"plan":"gold"`) + `,` + attrObj("u2", `"gender":"martian"`) + `]}`)},
			path:   "/users/export/ids",
			body:   exportIDs("u1", "u2"),
			status: 200,
			want:   []string{`"custom_attributes":{"plan":"gold"}`, `"invalid_user_ids":["u2"]`},
		},
		{name: "no arrays", path: "/users/track", body: `{}`, status: 400, want: []string{msgNoData}},
		{name: "null body", path: "/users/track", body: `null`, status: 400, want: []string{msgNoData}},
		{name: "empty arrays", path: "/users/track", body: `{"attributes":[],"events":[],"purchases":[]}`, status: 400, want: []string{msgNoData}},
		{
			name:   "no valid object",
			path:   "/users/track",
			body:   `{"attributes":[{"plan":"gold"}],"events":[{"external_id":"u1"}]}`,
			status: 400,
			want:   []string{msgNoData, `"attributes[0]: 'external_id' or 'braze_id' or 'user_alias' or 'email' or 'phone' is required"`},
		},
		{name: "75 objects across arrays", path: "/users/track", body: seventyFive, status: 201,
			want: []string{`"attributes_processed":40`, `"events_processed":35`}},
		{name: "76 objects across arrays", path: "/users/track", body: seventySix, status: 400,
			want: []string{msgMaxInput, "at most 75 objects", "this one holds 76"}},
		{name: "76 attributes", path: "/users/track",
			body:   `{"attributes":` + array(76, func(i int) string { return attrObj("u1", `"n":1`) }) + `}`,
			status: 400, want: []string{msgMaxInput}},
		{name: "malformed JSON", path: "/users/track", body: `{"attributes":[}`, status: 400, want: []string{msgBad, "malformed JSON"}},
		{name: "truncated JSON", path: "/users/track", body: `{"attributes":[`, status: 400, want: []string{msgBad}},
		{name: "empty body", path: "/users/track", body: ``, status: 400, want: []string{msgBad, "empty"}},
		{name: "body is an array", path: "/users/track", body: `[{}]`, status: 400, want: []string{msgBad, "must be an object, not array"}},
		{name: "attributes not an array", path: "/users/track", body: `{"attributes":{"external_id":"u1"}}`, status: 400,
			want: []string{msgBad, "'attributes' must be an array of objects, not an object"}},
		{
			name:   "over 4 MB",
			path:   "/users/track",
			body:   trackAttrs(attrObj("u1", `"blob":"`+strings.Repeat("x", 4<<20)+`"`)),
			status: 413,
			want:   []string{`"message":"Request Entity Too Large"`},
		},
		{name: "wrong method", method: http.MethodGet, path: "/users/track", status: 405, want: []string{`"message":"Method Not Allowed"`}},
		{
			name:   "a tracked profile in Braze's export shape",
			setup:  fullProfile,
			path:   "/users/export/ids",
			body:   exportIDs("full"),
			status: 200,
			want:   []string{`"message":"success"`},
			check:  checkExportShape,
		},
		{
			name:   "unknown external_id creates a profile",
			setup:  []step{track(trackAttrs(attrObj("new", `"plan":"gold"`)))},
			path:   "/users/export/ids",
			body:   exportIDs("new"),
			status: 200,
			want:   []string{`"external_id":"new"`, `"custom_attributes":{"plan":"gold"}`},
		},
		{
			name:    "external_id with _update_existing_only true creates nobody",
			setup:   []step{track(trackAttrs(attrObj("new", `"_update_existing_only":true,"plan":"gold"`)))},
			path:    "/users/export/ids",
			body:    exportIDs("new"),
			status:  200,
			want:    []string{noUsers, `"invalid_user_ids":["new"]`},
			notWant: []string{"_update_existing_only"},
		},
		{
			name: "_update_existing_only true updates an existing profile",
			setup: []step{track(trackAttrs(attrObj("u1", `"plan":"gold"`))),
				track(trackAttrs(attrObj("u1", `"_update_existing_only":true,"plan":"silver"`)))},
			path:   "/users/export/ids",
			body:   exportIDs("u1"),
			status: 200,
			want:   []string{`"custom_attributes":{"plan":"silver"}`},
		},
		{
			name:   "user_alias attributes update existing profiles only by default",
			setup:  []step{track(`{"attributes":[{` + aliasA + `,"plan":"gold"}]}`)},
			path:   "/users/export/ids",
			body:   exportAlias("anon-1", "web"),
			status: 200,
			want:   []string{noUsers},
		},
		{
			name:   "user_alias attributes with _update_existing_only true create nobody",
			setup:  []step{track(`{"attributes":[{` + aliasA + `,"_update_existing_only":true,"plan":"gold"}]}`)},
			path:   "/users/export/ids",
			body:   exportAlias("anon-1", "web"),
			status: 200,
			want:   []string{noUsers},
		},
		{
			name:    "user_alias attributes with _update_existing_only false create an alias-only profile",
			setup:   []step{track(`{"attributes":[{` + aliasA + `,"_update_existing_only":false,"plan":"gold"}]}`)},
			path:    "/users/export/ids",
			body:    exportAlias("anon-1", "web"),
			status:  200,
			want:    []string{`"user_aliases":[{"alias_name":"anon-1","alias_label":"web"}]`, `"custom_attributes":{"plan":"gold"}`},
			notWant: []string{`"external_id"`},
		},
		{
			name: "user_alias attributes update an existing alias-only profile by default",
			setup: []step{
				track(`{"attributes":[{` + aliasA + `,"_update_existing_only":false,"plan":"gold"}]}`),
				track(`{"attributes":[{` + aliasA + `,"visits":2}]}`),
			},
			path:   "/users/export/ids",
			body:   exportAlias("anon-1", "web"),
			status: 200,
			want:   []string{`"custom_attributes":{"plan":"gold","visits":2}`},
		},
		{
			name:   "user_alias events never create a profile",
			setup:  []step{track(`{"events":[{` + aliasA + `,"_update_existing_only":false,"name":"played","time":"` + t1 + `"}]}`)},
			path:   "/users/export/ids",
			body:   exportAlias("anon-1", "web"),
			status: 200,
			want:   []string{noUsers},
		},
		{
			name: "user_alias events update an alias-only profile",
			setup: []step{
				track(`{"attributes":[{` + aliasA + `,"_update_existing_only":false}]}`),
				track(`{"events":[{` + aliasA + `,"name":"played","time":"` + t1 + `"}]}`),
			},
			path:   "/users/export/ids",
			body:   exportAlias("anon-1", "web"),
			status: 200,
			want:   []string{`"custom_events":[{"name":"played","first":"2026-01-02T03:04:05.000Z","last":"2026-01-02T03:04:05.000Z","count":1}]`},
		},
		{
			name:   "a future event time is taken as now",
			setup:  []step{track(`{"events":[` + eventObj("u1", "played", "2030-01-01T00:00:00Z") + `]}`)},
			path:   "/users/export/ids",
			body:   exportIDs("u1"),
			status: 200,
			want:   []string{`"custom_events":[{"name":"played","first":"2026-11-26T10:00:00.000Z","last":"2026-11-26T10:00:00.000Z","count":1}]`},
		},
		{
			name:   "an email identifier creates an email-only profile",
			setup:  []step{track(`{"attributes":[{"email":"lead@example.com","first_name":"Lee"}]}`)},
			path:   "/users/export/ids",
			body:   `{"email_address":"lead@example.com"}`,
			status: 200,
			want:   []string{`"first_name":"Lee"`, `"email":"lead@example.com"`},
			check:  userCount(1),
		},
	})
}

func TestUsersTrackBulk(t *testing.T) {
	// 1,000 objects for 20 users, 50 each.
	thousand := `{"attributes":` + array(1000, func(i int) string { return attrObj(fmt.Sprint("b", i%20), `"n":{"inc":1}`) }) + `}`
	runUserScenarios(t, []userScenario{
		{name: "1,000 objects", path: "/users/track/bulk", body: thousand, status: 201,
			want: []string{`{"attributes_processed":1000,"message":"success"}`}},
		{name: "1,000 objects are all applied", setup: []step{{"/users/track/bulk", thousand}},
			path: "/users/export/ids", body: exportIDs("b7"), status: 200,
			want: []string{`"custom_attributes":{"n":50}`}},
		{name: "1,001 objects", path: "/users/track/bulk", status: 400, want: []string{msgMaxInput, "at most 1000 objects"},
			body: `{"attributes":` + array(600, func(i int) string { return attrObj(fmt.Sprint("b", i%20), `"n":1`) }) +
				`,"events":` + array(401, func(i int) string { return eventObj(fmt.Sprint("b", i%20), "e", t1) }) + `}`},
		{
			name:   "101 objects for one user",
			path:   "/users/track/bulk",
			body:   `{"attributes":` + array(101, func(i int) string { return attrObj("same", `"n":{"inc":1}`) }) + `}`,
			status: 201,
			want: []string{`"attributes_processed":100`,
				`"errors":[{"type":"a request may hold at most 100 objects for one user","input_array":"attributes","index":100}]`},
		},
		{
			name:   "101 objects for one user across arrays",
			path:   "/users/track/bulk",
			body:   `{"attributes":` + array(60, func(i int) string { return attrObj("same", `"n":1`) }) + `,"events":` + array(41, func(i int) string { return eventObj("same", "e", t1) }) + `}`,
			status: 201,
			want: []string{`"attributes_processed":60`, `"events_processed":40`,
				`{"type":"a request may hold at most 100 objects for one user","input_array":"events","index":40}`},
		},
		{
			name:   "the 101st object for one user is not applied",
			setup:  []step{{"/users/track/bulk", `{"attributes":` + array(101, func(i int) string { return attrObj("same", `"n":{"inc":1}`) }) + `}`}},
			path:   "/users/export/ids",
			body:   exportIDs("same"),
			status: 200,
			want:   []string{`"custom_attributes":{"n":100}`},
		},
		{
			name:   "over 2 MB",
			path:   "/users/track/bulk",
			body:   trackAttrs(attrObj("u1", `"blob":"`+strings.Repeat("x", 2<<20)+`"`)),
			status: 400,
			want:   []string{`"message":"Request Entity Too Large"`, "limit of 2097152 bytes"},
		},
		{
			name:   "3 MB is fine on /users/track",
			path:   "/users/track",
			body:   trackAttrs(attrObj("u1", `"n":1`)) + strings.Repeat(" ", 3<<20), // JSON may end in any whitespace
			status: 201,
		},
		{name: "no arrays", path: "/users/track/bulk", body: `{}`, status: 400, want: []string{msgNoData}},
	})
}

func TestUsersTrackSync(t *testing.T) {
	twoEvents := track(`{"events":[` + eventObj("u1", "played", t1) + `,` + eventObj("u1", "played", t2) + `]}`)
	runUserScenarios(t, []userScenario{
		{
			name:   "one event echoes the event's summary",
			setup:  []step{twoEvents},
			path:   "/users/track/sync",
			body:   `{"events":[` + eventObj("u1", "played", t3) + `]}`,
			status: 201,
			want: []string{`"events_processed":1`, `"message":"success"`, `"external_id":"u1"`,
				`"custom_events":[{"name":"played","first":"2026-01-02T03:04:05.000Z","last":"2026-03-04T05:06:07.000Z","count":3}]`},
			notWant: []string{`"custom_attributes"`, `"purchase_events"`},
			check: func(t *testing.T, body []byte) {
				var v struct{ Users []map[string]any }
				if err := json.Unmarshal(body, &v); err != nil || len(v.Users) != 1 {
					t.Fatalf("users: %v %s", err, body)
				}
			},
		},
		{
			name:   "one attributes object echoes its custom attributes",
			path:   "/users/track/sync",
			body:   trackAttrs(attrObj("u1", `"plan":"gold","first_name":"Ann"`)),
			status: 201,
			want:   []string{`"attributes_processed":1`, `"custom_attributes":{"plan":"gold"}`, `"external_id":"u1"`},
		},
		{
			name:   "one purchase echoes the product's summary",
			path:   "/users/track/sync",
			body:   `{"purchases":[{"external_id":"u1","product_id":"sku","currency":"USD","price":2,"quantity":3,"time":"` + t1 + `"}]}`,
			status: 201,
			want: []string{`"purchases_processed":1`,
				`"purchase_events":[{"count":3,"first":"2026-01-02T03:04:05.000Z","last":"2026-01-02T03:04:05.000Z","product_id":"sku"}]`},
		},
		{
			name:   "a user_alias object echoes the alias",
			setup:  []step{track(`{"attributes":[{"user_alias":` + aliasJSON("anon-1", "web") + `,"_update_existing_only":false}]}`)},
			path:   "/users/track/sync",
			body:   `{"attributes":[{"user_alias":` + aliasJSON("anon-1", "web") + `,"plan":"gold"}]}`,
			status: 201,
			want:   []string{`"user_alias":{"alias_name":"anon-1","alias_label":"web"}`, `"custom_attributes":{"plan":"gold"}`},
		},
		{
			name:   "_update_existing_only hitting nobody gives no users",
			path:   "/users/track/sync",
			body:   trackAttrs(attrObj("ghost", `"_update_existing_only":true,"plan":"gold"`)),
			status: 201,
			want:   []string{`"users":[]`, `"attributes_processed":1`},
		},
		{
			name:   "the profile is complete when the response is sent",
			setup:  []step{{"/users/track/sync", trackAttrs(attrObj("u1", `"plan":"gold"`))}},
			path:   "/users/export/ids",
			body:   exportIDs("u1"),
			status: 200,
			want:   []string{`"custom_attributes":{"plan":"gold"}`},
		},
		{
			name:    "only the attributes the request touched are echoed",
			setup:   []step{track(trackAttrs(attrObj("u1", `"plan":"gold"`)))},
			path:    "/users/track/sync",
			body:    trackAttrs(attrObj("u1", `"visits":3`)),
			status:  201,
			want:    []string{`"custom_attributes":{"visits":3}`},
			notWant: []string{`"plan"`},
		},
		{name: "two objects in one array", path: "/users/track/sync", status: 400, want: []string{msgMaxInput},
			body: `{"events":[` + eventObj("u1", "a", t1) + `,` + eventObj("u1", "b", t1) + `]}`},
		{name: "two objects in two arrays", path: "/users/track/sync", status: 400, want: []string{msgMaxInput},
			body: `{"attributes":[` + attrObj("u1", `"n":1`) + `],"events":[` + eventObj("u1", "a", t1) + `]}`},
		{name: "no object", path: "/users/track/sync", body: `{"events":[]}`, status: 400, want: []string{msgNoData}},
		{name: "an invalid object", path: "/users/track/sync", body: `{"events":[{"external_id":"u1"}]}`, status: 400, want: []string{msgNoData}},
	})
}

func TestUsersAliases(t *testing.T) {
	twoAliases := aliasNew(`{"user_aliases":[{"alias_name":"anon-1","alias_label":"web"},{"alias_name":"anon-2","alias_label":"web"}]}`)
	runUserScenarios(t, []userScenario{
		{name: "new aliases", path: "/users/alias/new", body: twoAliases.body, status: 201,
			want: []string{`{"aliases_processed":2,"message":"success"}`}},
		{name: "a new alias without external_id is an alias-only profile", setup: []step{twoAliases},
			path: "/users/export/ids", body: `{"user_aliases":[` + aliasJSON("anon-1", "web") + `,` + aliasJSON("anon-2", "web") + `]}`,
			status: 200, want: []string{`"user_aliases":[{"alias_name":"anon-1","alias_label":"web"}]`, `"user_aliases":[{"alias_name":"anon-2","alias_label":"web"}]`},
			notWant: []string{`"external_id"`}, check: userCount(2)},
		{
			name:   "a new alias with external_id is added to that user",
			setup:  []step{track(trackAttrs(attrObj("u1", `"plan":"gold"`))), aliasNew(`{"user_aliases":[{"external_id":"u1","alias_name":"c-1","alias_label":"crm"}]}`)},
			path:   "/users/export/ids",
			body:   exportAlias("c-1", "crm"),
			status: 200,
			want:   []string{`"external_id":"u1"`, `"user_aliases":[{"alias_name":"c-1","alias_label":"crm"}]`},
		},
		{
			name:   "a new alias for an unknown external_id does nothing",
			setup:  []step{aliasNew(`{"user_aliases":[{"external_id":"ghost","alias_name":"c-1","alias_label":"crm"}]}`)},
			path:   "/users/export/ids",
			body:   exportAlias("c-1", "crm"),
			status: 200,
			want:   []string{noUsers},
		},
		{name: "new alias without alias_label", path: "/users/alias/new", body: `{"user_aliases":[{"alias_name":"a"}]}`, status: 400,
			want: []string{`"message":"user_aliases[0]: 'alias_label' must be a non-empty string"`}},
		{name: "new alias with a long alias_name", path: "/users/alias/new", body: `{"user_aliases":[` + aliasJSON(strings.Repeat("n", 237), "web") + `]}`, status: 400,
			want: []string{"must be at most 236 bytes"}},
		{name: "new aliases empty", path: "/users/alias/new", body: `{"user_aliases":[]}`, status: 400},
		{name: "new aliases missing", path: "/users/alias/new", body: `{}`, status: 400},
		{name: "51 new aliases", path: "/users/alias/new", status: 400, want: []string{"more than 50"},
			body: `{"user_aliases":` + array(51, func(i int) string { return aliasJSON(fmt.Sprint("a", i), "web") }) + `}`},
		{name: "50 new aliases", path: "/users/alias/new", status: 201, want: []string{`"aliases_processed":50`},
			body: `{"user_aliases":` + array(50, func(i int) string { return aliasJSON(fmt.Sprint("a", i), "web") }) + `}`},
		{
			name:   "update an alias",
			setup:  []step{twoAliases},
			path:   "/users/alias/update",
			body:   `{"alias_updates":[{"alias_label":"web","old_alias_name":"anon-1","new_alias_name":"anon-9"}]}`,
			status: 201,
			want:   []string{`{"message":"success"}`},
		},
		{
			name: "an updated alias is found by its new name only",
			setup: []step{twoAliases, {"/users/alias/update",
				`{"alias_updates":[{"alias_label":"web","old_alias_name":"anon-1","new_alias_name":"anon-9"}]}`}},
			path:   "/users/export/ids",
			body:   `{"user_aliases":[` + aliasJSON("anon-9", "web") + `,` + aliasJSON("anon-1", "web") + `]}`,
			status: 200,
			want:   []string{`"user_aliases":[{"alias_name":"anon-9","alias_label":"web"}]`},
			check:  userCount(1),
		},
		{name: "update an unknown alias", path: "/users/alias/update", status: 201,
			body: `{"alias_updates":[{"alias_label":"web","old_alias_name":"nobody","new_alias_name":"x"}]}`},
		{name: "update without new_alias_name", path: "/users/alias/update", status: 400,
			body: `{"alias_updates":[{"alias_label":"web","old_alias_name":"anon-1"}]}`,
			want: []string{`"message":"alias_updates[0]: 'new_alias_name' must be a non-empty string"`}},
		{name: "update empty", path: "/users/alias/update", body: `{"alias_updates":[]}`, status: 400},
		{name: "update not an array", path: "/users/alias/update", body: `{"alias_updates":{}}`, status: 400,
			want: []string{`"message":"'alias_updates' must be an array of objects"`}},
	})
}

func TestUsersIdentify(t *testing.T) {
	anon := track(`{"attributes":[{"user_alias":` + aliasJSON("anon-1", "web") + `,"_update_existing_only":false,"cart":"open"}]}`)
	identifyAlias := step{"/users/identify", `{"aliases_to_identify":[{"external_id":"u9","user_alias":` + aliasJSON("anon-1", "web") + `}]}`}
	lead := track(`{"attributes":[{"email":"lead@example.com","first_name":"Lee"}]}`)
	runUserScenarios(t, []userScenario{
		{name: "alias", setup: []step{anon}, path: identifyAlias.path, body: identifyAlias.body, status: 201,
			want: []string{`{"aliases_processed":1,"message":"success"}`}},
		{
			name:   "an identified alias-only profile takes the external_id",
			setup:  []step{anon, identifyAlias},
			path:   "/users/export/ids",
			body:   exportIDs("u9"),
			status: 200,
			want:   []string{`"external_id":"u9"`, `"user_aliases":[{"alias_name":"anon-1","alias_label":"web"}]`, `"custom_attributes":{"cart":"open"}`},
		},
		{
			name:   "an alias-only profile identified as an existing user is merged into it",
			setup:  []step{track(trackAttrs(attrObj("u9", `"plan":"gold"`))), anon, identifyAlias},
			path:   "/users/export/ids",
			body:   exportAlias("anon-1", "web"),
			status: 200,
			want:   []string{`"external_id":"u9"`, `"custom_attributes":{"cart":"open","plan":"gold"}`},
			check:  userCount(1),
		},
		{
			name: "an alias-only profile is not merged into a user with an alias of the same label",
			setup: []step{track(trackAttrs(attrObj("u9", `"plan":"gold"`))),
				aliasNew(`{"user_aliases":[{"external_id":"u9","alias_name":"known","alias_label":"web"}]}`), anon, identifyAlias},
			path:    "/users/export/ids",
			body:    exportAlias("anon-1", "web"),
			status:  200,
			want:    []string{`"custom_attributes":{"cart":"open"}`},
			notWant: []string{`"external_id"`, `"plan"`},
		},
		{
			name:   "email with prioritization",
			setup:  []step{lead},
			path:   "/users/identify",
			body:   `{"emails_to_identify":[{"external_id":"u7","email":"lead@example.com","prioritization":["unidentified","most_recently_updated"]}]}`,
			status: 201,
			want:   []string{`"aliases_processed":1`},
		},
		{
			name: "an identified email-only profile takes the external_id",
			setup: []step{lead, {"/users/identify",
				`{"emails_to_identify":[{"external_id":"u7","email":"lead@example.com","prioritization":["unidentified"]}]}`}},
			path:   "/users/export/ids",
			body:   exportIDs("u7"),
			status: 200,
			want:   []string{`"external_id":"u7"`, `"first_name":"Lee"`, `"email":"lead@example.com"`},
		},
		{name: "email without prioritization", path: "/users/identify", status: 400,
			body: `{"emails_to_identify":[{"external_id":"u7","email":"lead@example.com"}]}`,
			want: []string{`"message":"emails_to_identify[0]: 'prioritization' must be a non-empty array of`}},
		{name: "email with an unknown prioritization", path: "/users/identify", status: 400,
			body: `{"emails_to_identify":[{"external_id":"u7","email":"lead@example.com","prioritization":["newest"]}]}`,
			want: []string{`'prioritization' has \"newest\"`}},
		{name: "email with identified and unidentified", path: "/users/identify", status: 400,
			body: `{"emails_to_identify":[{"external_id":"u7","email":"lead@example.com","prioritization":["identified","unidentified"]}]}`,
			want: []string{"only one of 'identified' and 'unidentified'"}},
		{name: "phone with prioritization", path: "/users/identify", status: 201,
			body: `{"phone_numbers_to_identify":[{"external_id":"u7","phone":"+15551234567","prioritization":["unidentified"]}]}`,
			want: []string{`"aliases_processed":1`}},
		{name: "alias without external_id", path: "/users/identify", status: 400,
			body: `{"aliases_to_identify":[{"user_alias":` + aliasJSON("anon-1", "web") + `}]}`,
			want: []string{"'external_id' must be a non-empty string"}},
		{name: "nothing to identify", path: "/users/identify", body: `{}`, status: 400},
		{name: "51 aliases", path: "/users/identify", status: 400, want: []string{"more than 50"},
			body: `{"aliases_to_identify":` + array(51, func(i int) string {
				return `{"external_id":"u` + fmt.Sprint(i) + `","user_alias":` + aliasJSON(fmt.Sprint("a", i), "web") + `}`
			}) + `}`},
	})
}

// The bodies of /users/merge's documented errors.
var mergeErrors = []struct{ name, body, message string }{
	{"merge_not_array", `{"merge_updates":{"identifier_to_merge":{"external_id":"a"},"identifier_to_keep":{"external_id":"b"}}}`,
		"'merge_updates' must be an array of objects"},
	{"merge_array_of_strings", `{"merge_updates":["a","b"]}`, "'merge_updates' must be an array of objects"},
	{"merge_missing", `{}`, "'merge_updates' must be an array of objects"},
	{"merge_too_many", `{"merge_updates":` + array(51, func(i int) string {
		return `{"identifier_to_merge":{"external_id":"m` + fmt.Sprint(i) + `"},"identifier_to_keep":{"external_id":"k"}}`
	}) + `}`, "a single request may not contain more than 50 merge updates"},
	{"merge_bad_identifier", `{"merge_updates":[{"identifier_to_merge":{"device_id":"d"},"identifier_to_keep":{"external_id":"b"}}]}`,
		"identifiers must be objects with an 'external_id' property that is a string, 'user_alias' property that is an object, 'email' property that is a string, or 'phone' property that is a string"},
	{"merge_identifier_not_string", `{"merge_updates":[{"identifier_to_merge":{"external_id":7},"identifier_to_keep":{"external_id":"b"}}]}`,
		"identifiers must be objects with an 'external_id' property that is a string, 'user_alias' property that is an object, 'email' property that is a string, or 'phone' property that is a string"},
	{"merge_missing_keep", `{"merge_updates":[{"identifier_to_merge":{"external_id":"a"}}]}`,
		"identifiers must be objects with an 'external_id' property that is a string, 'user_alias' property that is an object, 'email' property that is a string, or 'phone' property that is a string"},
	{"merge_extra_keys", `{"merge_updates":[{"identifier_to_merge":{"external_id":"a"},"identifier_to_keep":{"external_id":"b"},"note":"x"}]}`,
		"'merge_updates' must only have 'identifier_to_merge' and 'identifier_to_keep'"},
}

func TestUsersMerge(t *testing.T) {
	two := []step{
		track(`{"attributes":[` + attrObj("u1", `"a":1,"first_name":"Ann"`) + `,` + attrObj("u2", `"b":2`) + `],
			"events":[` + eventObj("u1", "played", t1) + `,` + eventObj("u2", "played", t2) + `]}`),
	}
	merge := step{"/users/merge", `{"merge_updates":[{"identifier_to_merge":{"external_id":"u1"},"identifier_to_keep":{"external_id":"u2"}}]}`}
	tests := []userScenario{
		{name: "merge", setup: two, path: merge.path, body: merge.body, status: 202, want: []string{`{"message":"success"}`}},
		{
			name:   "the merged profile is gone and its data is kept",
			setup:  append(two, merge),
			path:   "/users/export/ids",
			body:   exportIDs("u1", "u2"),
			status: 200,
			want: []string{`"invalid_user_ids":["u1"]`, `"external_id":"u2"`, `"first_name":"Ann"`, `"custom_attributes":{"a":1,"b":2}`,
				`"custom_events":[{"name":"played","first":"2026-01-02T03:04:05.000Z","last":"2026-02-03T04:05:06.000Z","count":2}]`},
			check: userCount(1),
		},
		{
			name: "merge an alias-only profile into an identified one",
			setup: []step{
				track(`{"attributes":[{"user_alias":` + aliasJSON("anon-1", "web") + `,"_update_existing_only":false,"cart":"open"}]}`),
				track(trackAttrs(attrObj("u2", `"b":2`))),
				{"/users/merge", `{"merge_updates":[{"identifier_to_merge":{"user_alias":` + aliasJSON("anon-1", "web") + `},"identifier_to_keep":{"external_id":"u2"}}]}`},
			},
			path:   "/users/export/ids",
			body:   exportIDs("u2"),
			status: 200,
			want:   []string{`"custom_attributes":{"b":2,"cart":"open"}`},
		},
		{name: "merge by email", setup: two, path: "/users/merge", status: 202,
			body: `{"merge_updates":[{"identifier_to_merge":{"email":"a@example.com","prioritization":["unidentified"]},"identifier_to_keep":{"external_id":"u2"}}]}`},
		{name: "merge by email without prioritization", path: "/users/merge", status: 400,
			body: `{"merge_updates":[{"identifier_to_merge":{"email":"a@example.com"},"identifier_to_keep":{"external_id":"u2"}}]}`,
			want: []string{`"message":"identifiers must be objects`, "'prioritization' must be a non-empty array"}},
		{name: "50 merge updates", path: "/users/merge", status: 202, body: `{"merge_updates":` + array(50, func(i int) string {
			return `{"identifier_to_merge":{"external_id":"m` + fmt.Sprint(i) + `"},"identifier_to_keep":{"external_id":"k"}}`
		}) + `}`},
	}
	for _, e := range mergeErrors {
		tests = append(tests, userScenario{name: e.name, path: "/users/merge", body: e.body, status: 400, want: []string{`"message":` + js(e.message)}})
	}
	runUserScenarios(t, tests)
}

func TestUsersDelete(t *testing.T) {
	three := track(trackAttrs(attrObj("u1", `"email":"one@example.com"`), attrObj("u2", `"n":1`), attrObj("u3", `"n":1`)))
	const tooMany = `"message":"The max number of ids per request was exceeded"`
	runUserScenarios(t, []userScenario{
		{name: "external_ids", setup: []step{three}, path: "/users/delete", body: `{"external_ids":["u1","u2"]}`, status: 202,
			want: []string{`{"deleted":2,"message":"success"}`}},
		{name: "deleted profiles are gone", setup: []step{three, {"/users/delete", `{"external_ids":["u1","u2"]}`}},
			path: "/users/export/ids", body: exportIDs("u1", "u2", "u3"), status: 200,
			want: []string{`"invalid_user_ids":["u1","u2"]`, `"external_id":"u3"`}, check: userCount(1)},
		{name: "braze_ids", setup: []step{three, {"/users/delete", `{"braze_ids":["{{braze_id:u3}}"]}`}},
			path: "/users/export/ids", body: exportIDs("u3"), status: 200, want: []string{`"invalid_user_ids":["u3"]`}},
		{name: "user_aliases", setup: []step{aliasNew(`{"user_aliases":[` + aliasJSON("anon-1", "web") + `]}`),
			{"/users/delete", `{"user_aliases":[` + aliasJSON("anon-1", "web") + `]}`}},
			path: "/users/export/ids", body: exportAlias("anon-1", "web"), status: 200, want: []string{noUsers}},
		{name: "email_addresses", setup: []step{three, {"/users/delete", `{"email_addresses":[{"email":"one@example.com","prioritization":["identified"]}]}`}},
			path: "/users/export/ids", body: exportIDs("u1"), status: 200, want: []string{`"invalid_user_ids":["u1"]`}},
		{name: "email_addresses without prioritization", path: "/users/delete", status: 400,
			body: `{"email_addresses":[{"email":"one@example.com"}]}`, want: []string{"'prioritization' must be a non-empty array"}},
		{name: "email_addresses with least_recently_updated", path: "/users/delete", status: 400,
			body: `{"email_addresses":[{"email":"one@example.com","prioritization":["least_recently_updated"]}]}`,
			want: []string{`'prioritization' has \"least_recently_updated\"`}},
		{name: "unknown ids are queued too", path: "/users/delete", body: `{"external_ids":["ghost"]}`, status: 202, want: []string{`"deleted":1`}},
		{name: "two identifier kinds", path: "/users/delete", body: `{"external_ids":["u1"],"braze_ids":["b"]}`, status: 400,
			want: []string{`"message":"give exactly one of 'external_ids', 'user_aliases', 'braze_ids', 'email_addresses', 'phone_numbers'"`}},
		{name: "no identifier", path: "/users/delete", body: `{}`, status: 400, want: []string{"give exactly one of"}},
		{name: "empty external_ids", path: "/users/delete", body: `{"external_ids":[]}`, status: 400},
		{name: "50 external_ids", path: "/users/delete", body: `{"external_ids":` + ids("x", 50) + `}`, status: 202, want: []string{`"deleted":50`}},
		{name: "51 external_ids", path: "/users/delete", body: `{"external_ids":` + ids("x", 51) + `}`, status: 400, want: []string{tooMany}},
		{name: "51 braze_ids", path: "/users/delete", body: `{"braze_ids":` + ids("b", 51) + `}`, status: 400, want: []string{tooMany}},
		{
			name:   "51 user_aliases",
			path:   "/users/delete",
			body:   `{"user_aliases":` + array(51, func(i int) string { return aliasJSON(fmt.Sprint("a", i), "web") }) + `}`,
			status: 400,
			want:   []string{tooMany},
		},
	})
}

// renameSetup: u1, u2, u3 exist; u3 was renamed u3b, so u3 is deprecated.
var renameSetup = []step{
	track(trackAttrs(attrObj("u1", `"n":1`), attrObj("u2", `"n":2`), attrObj("u3", `"n":3`))),
	rename("u3", "u3b"),
}

const renameWithErrors = `{"external_id_renames":[
	{"current_external_id":"u1","new_external_id":"u1b"},
	{"current_external_id":"u3","new_external_id":"u3c"},
	{"current_external_id":"u2","new_external_id":"u3b"},
	{"current_external_id":"u2","new_external_id":"u3"},
	{"current_external_id":"u2","new_external_id":"u2"},
	{"current_external_id":"ghost","new_external_id":"g2"},
	{"current_external_id":"u2"}]}`

func TestUsersRename(t *testing.T) {
	runUserScenarios(t, []userScenario{
		{
			name:   "renames with errors",
			setup:  renameSetup,
			path:   "/users/external_ids/rename",
			body:   renameWithErrors,
			status: 200,
			want: []string{`"external_ids":["u1"]`, `"message":"success"`, `"rename_errors":[` +
				`[1,"'u3' is not the primary external id of any user"],` + // current is deprecated
				`[2,"'u3b' is already in use"],` + // new is another user's primary id
				`[3,"'u3' is already in use"],` + // new is another user's deprecated id
				`[4,"'current_external_id' and 'new_external_id' must differ"],` +
				`[5,"'ghost' is not the primary external id of any user"],` +
				`[6,"'new_external_id' must be a non-empty string"]]`},
		},
		{name: "no errors", setup: renameSetup, path: "/users/external_ids/rename", status: 200,
			body: `{"external_id_renames":[{"current_external_id":"u1","new_external_id":"u1b"},{"current_external_id":"u2","new_external_id":"u2b"}]}`,
			want: []string{`{"external_ids":["u1","u2"],"message":"success","rename_errors":[]}`}},
		{name: "one id in two renames", setup: renameSetup, path: "/users/external_ids/rename", status: 200,
			body: `{"external_id_renames":[{"current_external_id":"u1","new_external_id":"x"},{"current_external_id":"u2","new_external_id":"x"}]}`,
			want: []string{`"external_ids":["u1"]`, `"rename_errors":[[1,"an external id may appear in one rename per request"]]`}},
		{
			name:   "the new id is primary",
			setup:  append(slices.Clone(renameSetup), rename("u1", "u1b")),
			path:   "/users/export/ids",
			body:   exportIDs("u1b"),
			status: 200,
			want:   []string{`"external_id":"u1b"`, `"custom_attributes":{"n":1}`},
		},
		{
			name:    "the old id still finds the user, under its new primary id",
			setup:   append(slices.Clone(renameSetup), rename("u1", "u1b")),
			path:    "/users/export/ids",
			body:    exportIDs("u1"),
			status:  200,
			want:    []string{`"external_id":"u1b"`, `"custom_attributes":{"n":1}`},
			notWant: []string{"invalid_user_ids"},
		},
		{name: "empty array", path: "/users/external_ids/rename", body: `{"external_id_renames":[]}`, status: 400,
			want: []string{`"message":"'external_id_renames' must be a non-empty array of objects"`}},
		{name: "missing", path: "/users/external_ids/rename", body: `{}`, status: 400},
		{name: "51 renames", path: "/users/external_ids/rename", status: 400, want: []string{"more than 50"},
			body: `{"external_id_renames":` + array(51, func(i int) string {
				return `{"current_external_id":"c` + fmt.Sprint(i) + `","new_external_id":"n` + fmt.Sprint(i) + `"}`
			}) + `}`},
		{name: "malformed JSON", path: "/users/external_ids/rename", body: `{"external_id_renames":[`, status: 400, want: []string{msgBad}},
	})
}

func TestUsersRemove(t *testing.T) {
	setup := []step{track(trackAttrs(attrObj("u1", `"n":1`), attrObj("u2", `"n":2`))), rename("u1", "u1b")}
	remove := step{"/users/external_ids/remove", `{"external_ids":["u1"]}`}
	runUserScenarios(t, []userScenario{
		{
			name:   "removals with errors",
			setup:  setup,
			path:   "/users/external_ids/remove",
			body:   `{"external_ids":["u1","u1b","u2","ghost","","u1"]}`,
			status: 200,
			want: []string{`"removed_ids":["u1"]`, `"message":"success"`, `"removal_errors":[` +
				`[1,"'u1b' is a primary external id; only deprecated ids can be removed"],` +
				`[2,"'u2' is a primary external id; only deprecated ids can be removed"],` +
				`[3,"'ghost' is not a deprecated external id of any user"],` +
				`[4,"an external id must be a non-empty string"],` +
				`[5,"'u1' appears more than once"]]`},
		},
		{name: "no errors", setup: setup, path: remove.path, body: remove.body, status: 200,
			want: []string{`{"message":"success","removal_errors":[],"removed_ids":["u1"]}`}},
		{name: "a removed id finds nobody", setup: append(slices.Clone(setup), remove),
			path: "/users/export/ids", body: exportIDs("u1", "u1b"), status: 200,
			want: []string{`"invalid_user_ids":["u1"]`, `"external_id":"u1b"`}, check: userCount(1)},
		{name: "empty array", path: "/users/external_ids/remove", body: `{"external_ids":[]}`, status: 400,
			want: []string{`"message":"'external_ids' must be a non-empty array of strings"`}},
		{name: "not strings", path: "/users/external_ids/remove", body: `{"external_ids":[1]}`, status: 400},
		{name: "51 ids", path: "/users/external_ids/remove", body: `{"external_ids":` + ids("x", 51) + `}`, status: 400,
			want: []string{"more than 50"}},
	})
}

func TestUsersExportIDs(t *testing.T) {
	const tooMany = `"message":"The max number of external_ids and aliases per request was exceeded"`
	shared := track(trackAttrs(
		attrObj("s1", `"email":"shared@example.com","phone":"+15550001111"`),
		attrObj("s2", `"email":"Shared@Example.com"`),
		attrObj("s3", `"email":"other@example.com"`)))
	aliases := func(n int) string {
		return array(n, func(i int) string { return aliasJSON(fmt.Sprint("a", i), "web") })
	}
	runUserScenarios(t, []userScenario{
		{name: "51 external_ids", path: "/users/export/ids", body: `{"external_ids":` + ids("x", 51) + `}`, status: 400, want: []string{tooMany}},
		{name: "51 user_aliases", path: "/users/export/ids", body: `{"user_aliases":` + aliases(51) + `}`, status: 400, want: []string{tooMany}},
		{name: "26 external_ids and 25 user_aliases", path: "/users/export/ids", status: 400, want: []string{tooMany},
			body: `{"external_ids":` + ids("x", 26) + `,"user_aliases":` + aliases(25) + `}`},
		{name: "25 external_ids and 25 user_aliases", path: "/users/export/ids", status: 200,
			body: `{"external_ids":` + ids("x", 25) + `,"user_aliases":` + aliases(25) + `}`, want: []string{noUsers}},
		{name: "unknown external_ids", setup: []step{track(trackAttrs(attrObj("u1", `"n":1`)))}, path: "/users/export/ids",
			body: exportIDs("ghost", "u1", "phantom"), status: 200,
			want: []string{`"invalid_user_ids":["ghost","phantom"]`, `"external_id":"u1"`}, check: userCount(1)},
		{name: "all known: no invalid_user_ids", setup: []step{track(trackAttrs(attrObj("u1", `"n":1`)))}, path: "/users/export/ids",
			body: exportIDs("u1"), status: 200, notWant: []string{"invalid_user_ids"}},
		{name: "fields_to_export", setup: fullProfile, path: "/users/export/ids", status: 200,
			body:  `{"external_ids":["full"],"fields_to_export":["first_name","custom_events","total_revenue","braze_id"]}`,
			check: onlyKeys("first_name", "custom_events", "total_revenue", "braze_id")},
		{name: "fields_to_export identifiers", setup: fullProfile, path: "/users/export/ids", status: 200,
			body:  `{"external_ids":["full"],"fields_to_export":["external_id","user_aliases","email","phone","created_at","random_bucket"]}`,
			check: onlyKeys("external_id", "user_aliases", "email", "phone", "created_at", "random_bucket")},
		{name: "fields_to_export custom_attributes and push_tokens", setup: fullProfile, path: "/users/export/ids", status: 200,
			body:  `{"external_ids":["full"],"fields_to_export":["custom_attributes","push_tokens","purchases"]}`,
			check: onlyKeys("custom_attributes", "push_tokens", "purchases")},
		{
			name:   "fields_to_export last_coordinates",
			setup:  fullProfile,
			path:   "/users/export/ids",
			body:   `{"external_ids":["full"],"fields_to_export":["last_coordinates","country"]}`,
			status: 200,
			want:   []string{`"last_coordinates":[4.83,45.76]`},
			check:  onlyKeys("last_coordinates", "country"),
		},
		{name: "unknown field", path: "/users/export/ids", status: 400,
			body: `{"external_ids":["u1"],"fields_to_export":["first_name","favourite_colour"]}`,
			want: []string{msgBad, "unknown fields_to_export 'favourite_colour'; valid fields are: apps, attributed_campaign,", "user_aliases"}},
		{name: "email_address finds every profile with it", setup: []step{shared}, path: "/users/export/ids",
			body: `{"email_address":"shared@example.com","fields_to_export":["external_id","email"]}`, status: 200,
			want: []string{`"external_id":"s1"`, `"external_id":"s2"`}, notWant: []string{`"s3"`}, check: userCount(2)},
		{name: "email_address ignores case", setup: []step{shared}, path: "/users/export/ids",
			body: `{"email_address":"SHARED@example.COM"}`, status: 200, check: userCount(2)},
		{name: "unknown email_address", path: "/users/export/ids", body: `{"email_address":"nobody@example.com"}`, status: 200, want: []string{noUsers}},
		{name: "phone", setup: []step{shared}, path: "/users/export/ids", body: `{"phone":"+15550001111"}`, status: 200,
			want: []string{`"external_id":"s1"`}, check: userCount(1)},
		{name: "braze_id", setup: []step{shared}, path: "/users/export/ids", body: `{"braze_id":"{{braze_id:s3}}"}`, status: 200,
			want: []string{`"external_id":"s3"`}, check: userCount(1)},
		{name: "unknown braze_id", path: "/users/export/ids", body: `{"braze_id":"0123456789abcdef01234567"}`, status: 200, want: []string{noUsers}},
		{name: "device_id", setup: []step{shared}, path: "/users/export/ids", body: `{"device_id":"dev-1"}`, status: 200, want: []string{noUsers}},
		{name: "user_aliases", setup: []step{aliasNew(`{"user_aliases":[{"alias_name":"a1","alias_label":"web"}]}`)}, path: "/users/export/ids",
			body: `{"user_aliases":[` + aliasJSON("a1", "web") + `,` + aliasJSON("a1", "crm") + `]}`, status: 200,
			want: []string{`"user_aliases":[{"alias_name":"a1","alias_label":"web"}]`}, check: userCount(1)},
		{name: "a deprecated external id gives the new primary one", setup: []step{track(trackAttrs(attrObj("old", `"n":1`))), rename("old", "new")},
			path: "/users/export/ids", body: exportIDs("old"), status: 200,
			want: []string{`"external_id":"new"`}, notWant: []string{`"external_id":"old"`, "invalid_user_ids"}},
		{name: "external_ids with email_address", path: "/users/export/ids", body: `{"external_ids":["u1"],"email_address":"a@example.com"}`,
			status: 400, want: []string{msgBad, "each used alone"}},
		{name: "user_aliases with braze_id", path: "/users/export/ids", status: 400, want: []string{msgBad, "each used alone"},
			body: `{"user_aliases":[` + aliasJSON("a", "b") + `],"braze_id":"0123456789abcdef01234567"}`},
		{name: "two single identifiers", path: "/users/export/ids", body: `{"phone":"+15550001111","device_id":"d"}`, status: 400,
			want: []string{msgBad, "each used alone"}},
		{name: "no identifier", path: "/users/export/ids", body: `{"fields_to_export":["email"]}`, status: 400, want: []string{msgBad}},
		{name: "alias without label", path: "/users/export/ids", body: `{"user_aliases":[{"alias_name":"a"}]}`, status: 400,
			want: []string{"user_aliases[0] needs 'alias_name' and 'alias_label'"}},
		{name: "malformed JSON", path: "/users/export/ids", body: `{"external_ids":`, status: 400, want: []string{msgBad}},
		{name: "external_ids not an array", path: "/users/export/ids", body: `{"external_ids":"u1"}`, status: 400, want: []string{msgBad}},
	})
}

// TestUsersReadYourWrites: every identity write is visible to the export
// that follows it at once, with no waiting by the client, because reads wait
// for the applier to pass the writes acknowledged before them.
func TestUsersReadYourWrites(t *testing.T) {
	u := newUsersHarness(t)
	for round := range 10 {
		ext, ext2, ext3 := fmt.Sprint("r", round), fmt.Sprint("r", round, "-id"), fmt.Sprint("r", round, "-b")
		a1, a2 := fmt.Sprint("anon-", round), fmt.Sprint("anon-", round, "-x")
		steps := []struct {
			path, body    string
			export        string
			want, notWant []string
		}{
			{"/users/track", trackAttrs(attrObj(ext, `"n":{"inc":1}`)), exportIDs(ext), []string{`"custom_attributes":{"n":1}`}, nil},
			{"/users/alias/new", `{"user_aliases":[` + aliasJSON(a1, "rw") + `]}`, exportAlias(a1, "rw"),
				[]string{`"user_aliases":[` + aliasJSON(a1, "rw") + `]`}, nil},
			{"/users/alias/update", `{"alias_updates":[{"alias_label":"rw","old_alias_name":` + js(a1) + `,"new_alias_name":` + js(a2) + `}]}`,
				`{"user_aliases":[` + aliasJSON(a1, "rw") + `,` + aliasJSON(a2, "rw") + `]}`, []string{js(a2)}, []string{js(a1)}},
			{"/users/identify", `{"aliases_to_identify":[{"external_id":` + js(ext2) + `,"user_alias":` + aliasJSON(a2, "rw") + `}]}`,
				exportIDs(ext2), []string{`"external_id":` + js(ext2), js(a2)}, []string{"invalid_user_ids"}},
			{"/users/merge", `{"merge_updates":[{"identifier_to_merge":{"external_id":` + js(ext2) + `},"identifier_to_keep":{"external_id":` + js(ext) + `}}]}`,
				exportIDs(ext, ext2), []string{`"external_id":` + js(ext), js(a2), `"invalid_user_ids":[` + js(ext2) + `]`}, nil},
			{"/users/external_ids/rename", `{"external_id_renames":[{"current_external_id":` + js(ext) + `,"new_external_id":` + js(ext3) + `}]}`,
				exportIDs(ext), []string{`"external_id":` + js(ext3)}, []string{"invalid_user_ids"}},
			{"/users/external_ids/remove", `{"external_ids":[` + js(ext) + `]}`,
				exportIDs(ext), []string{`"invalid_user_ids":[` + js(ext) + `]`}, nil},
			{"/users/delete", `{"external_ids":[` + js(ext3) + `]}`,
				exportIDs(ext3), []string{`"invalid_user_ids":[` + js(ext3) + `]`, noUsers}, nil},
		}
		for _, s := range steps {
			if w := u.post(s.path, s.body); w.Code/100 != 2 {
				t.Fatalf("round %d %s: %d %s", round, s.path, w.Code, w.Body)
			}
			w := u.post("/users/export/ids", s.export)
			if w.Code != 200 {
				t.Fatalf("round %d, export after %s: %d %s", round, s.path, w.Code, w.Body)
			}
			body := w.Body.String()
			for _, f := range s.want {
				if !strings.Contains(body, f) {
					t.Errorf("round %d, export after %s lacks %s: %s", round, s.path, f, body)
				}
			}
			for _, f := range s.notWant {
				if strings.Contains(body, f) {
					t.Errorf("round %d, export after %s has %s: %s", round, s.path, f, body)
				}
			}
		}
	}
}

// Volatile values in golden bodies, checked and replaced by placeholders.
var (
	goldenBrazeID      = regexp.MustCompile(`"braze_id":"([^"]*)"`)
	goldenCreatedAt    = regexp.MustCompile(`"created_at":"([^"]*)"`)
	goldenRandomBucket = regexp.MustCompile(`"random_bucket":(-?\d+)`)
)

// stabilise replaces braze_id, created_at and random_bucket with
// placeholders after checking their shape.
func stabilise(t *testing.T, body string) string {
	t.Helper()
	var brazeIDs []string
	body = goldenBrazeID.ReplaceAllStringFunc(body, func(m string) string {
		id := goldenBrazeID.FindStringSubmatch(m)[1]
		if !hex24.MatchString(id) {
			t.Errorf("braze_id %q is not 24 lowercase hex digits", id)
		}
		brazeIDs = append(brazeIDs, id)
		return `"braze_id":"<braze_id>"`
	})
	body = goldenCreatedAt.ReplaceAllStringFunc(body, func(m string) string {
		if s := goldenCreatedAt.FindStringSubmatch(m)[1]; !isExportTime(s) {
			t.Errorf("created_at %q is not an export time", s)
		}
		return `"created_at":"<created_at>"`
	})
	n := 0
	body = goldenRandomBucket.ReplaceAllStringFunc(body, func(m string) string {
		got := goldenRandomBucket.FindStringSubmatch(m)[1]
		if n < len(brazeIDs) {
			if want := fmt.Sprint(export.RandomBucket(brazeIDs[n])); got != want {
				t.Errorf("random_bucket %s, want %s for braze_id %s", got, want, brazeIDs[n])
			}
		}
		n++
		return `"random_bucket":"<random_bucket>"`
	})
	return body
}

// TestUsersGolden pins exact response bodies (go test -run TestUsersGolden
// -update rewrites them).
func TestUsersGolden(t *testing.T) {
	type goldenCase struct {
		name  string
		setup []step
		path  string
		body  string
	}
	tests := []goldenCase{
		{name: "track_nonfatal_errors", path: "/users/track", body: `{
			"attributes": [{"external_id": "u1", "plan": "gold"}, {"plan": "gold"}, {"external_id": "u2", "braze_id": "b"},
				{"external_id": "u3", "dob": "1 April"}, {"external_id": "u4", "$bad": 1}, "not an object"],
			"events": [{"external_id": "u1", "name": "played", "time": "` + t1 + `"}, {"external_id": "u1", "name": "played"},
				{"external_id": "u1", "name": "played", "time": "yesterday"}, {"external_id": "u1", "name": "x", "time": "` + t1 + `", "properties": {"time": 1}}],
			"purchases": [{"external_id": "u1", "product_id": "sku", "currency": "usd", "price": 1, "time": "` + t1 + `"},
				{"external_id": "u1", "product_id": "sku", "currency": "USD", "price": "1", "time": "` + t1 + `"},
				{"external_id": "u1", "product_id": "sku", "currency": "USD", "price": 1, "quantity": 101, "time": "` + t1 + `"}]}`},
		{name: "rename_errors", setup: renameSetup, path: "/users/external_ids/rename", body: renameWithErrors},
		{name: "remove_errors", setup: []step{track(trackAttrs(attrObj("u1", `"n":1`))), rename("u1", "u1b")},
			path: "/users/external_ids/remove", body: `{"external_ids":["u1","u1b","ghost"]}`},
		{name: "export_full_profile", setup: fullProfile, path: "/users/export/ids", body: exportIDs("full", "ghost")},
		{name: "sync_event", setup: fullProfile, path: "/users/track/sync", body: `{"events":[` + eventObj("full", "played", t3) + `]}`},
	}
	for _, e := range mergeErrors {
		tests = append(tests, goldenCase{name: e.name, path: "/users/merge", body: e.body})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newUsersHarness(t)
			for i, s := range tt.setup {
				if w := u.post(s.path, s.body); w.Code/100 != 2 {
					t.Fatalf("setup %d: %d %s", i, w.Code, w.Body)
				}
				u.settle()
			}
			w := u.post(tt.path, tt.body)
			var b strings.Builder
			fmt.Fprintf(&b, "%d %s\n", w.Code, http.StatusText(w.Code))
			fmt.Fprintf(&b, "Content-Type: %s\n\n", w.Header().Get("Content-Type"))
			b.WriteString(stabilise(t, w.Body.String()))
			golden.Check(t, filepath.Join("testdata", "users", tt.name+".golden"), b.String())
		})
	}
}

// TestUsersRefuseNUL: the NUL character (which PostgreSQL cannot keep in
// text) is refused with 400 wherever it is, and nothing is logged; an
// escaped backslash followed by "u0000" is ordinary text.
func TestUsersRefuseNUL(t *testing.T) {
	u := newUsersHarness(t)
	for _, tt := range []struct{ path, body string }{
		{"/users/track", `{"attributes":[{"external_id":"a\u0000b","plan":"x"}]}`},
		{"/users/track", `{"events":[{"external_id":"e","name":"n\u0000","time":"2026-11-20T10:00:00Z"}]}`},
		{"/users/alias/new", `{"user_aliases":[{"alias_name":"n\u0000","alias_label":"l"}]}`},
		{"/users/delete", `{"external_ids":["x\u0000"]}`},
	} {
		w := u.post(tt.path, tt.body)
		if w.Code != 400 || !strings.Contains(w.Body.String(), `NUL character`) {
			t.Errorf("%s %s: %d %s, want 400 naming the NUL character", tt.path, tt.body, w.Code, w.Body)
		}
	}
	if w := u.post("/users/track", `{"attributes":[{"external_id":"slash","note":"a\\u0000b"}]}`); w.Code != 201 {
		t.Fatalf("an escaped backslash before u0000: %d %s, want 201", w.Code, w.Body)
	}
	u.settle()
	if got := u.export(`{"external_ids":["slash","a\\u0000b"]}`); len(got) != 1 {
		t.Errorf("export after the refused writes = %v, want only the user \"slash\"", got)
	}
}

// TestHardBounces: GET /email/hard_bounces lists the list newest first by
// date range or by address; POST /email/bounce/remove takes addresses off.
func TestHardBounces(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	key := h.key([]string{"email.hard_bounces", "email.bounce.remove"})
	bs := h.store
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	if err := bs.AddBounces(t.Context(), []brazen.Bounce{
		{Email: "a@example.com", BouncedAt: day.Add(time.Hour), Reason: "550"},
		{Email: "b@example.com", BouncedAt: day.Add(2 * time.Hour), Reason: "550"},
		{Email: "c@example.com", BouncedAt: day.AddDate(0, 0, 3), Reason: "550"},
	}); err != nil {
		t.Fatal(err)
	}
	get := func(query string) (int, string) {
		w := h.do(request{method: "GET", path: "/email/hard_bounces?" + query, headers: bearer(key)})
		return w.Code, strings.TrimSpace(w.Body.String())
	}
	for _, tt := range []struct {
		query  string
		status int
		want   string
	}{
		{"start_date=2026-11-20&end_date=2026-11-20", 200, `{"emails":[{"email":"b@example.com","hard_bounced_at":"2026-11-20T02:00:00Z"},{"email":"a@example.com","hard_bounced_at":"2026-11-20T01:00:00Z"}],"message":"success"}`},
		{"start_date=2026-11-20&end_date=2026-11-30&limit=1&offset=1", 200, `{"emails":[{"email":"b@example.com","hard_bounced_at":"2026-11-20T02:00:00Z"}],"message":"success"}`},
		{"email=C@example.com&end_date=2026-11-30", 200, `{"emails":[{"email":"c@example.com","hard_bounced_at":"2026-11-23T00:00:00Z"}],"message":"success"}`},
		{"start_date=2026-11-20", 400, `end_date is required`},
		{"end_date=2026-11-20", 400, `give start_date`},
		{"start_date=20-11-2026&end_date=2026-11-20", 400, `start_date must be a date`},
		{"start_date=2026-11-21&end_date=2026-11-20", 400, `must not be after`},
		{"start_date=2026-11-20&end_date=2026-11-20&limit=501", 400, `limit must be`},
	} {
		status, body := get(tt.query)
		if status != tt.status || !strings.Contains(body, tt.want) {
			t.Errorf("%s: %d %s, want %d with %s", tt.query, status, body, tt.status, tt.want)
		}
	}
	for _, tt := range []struct {
		body   string
		status int
	}{
		{`{"email":"a@example.com"}`, 200},
		{`{"email":["b@example.com","nobody@example.com"]}`, 200},
		{`{"email":"not an address"}`, 400},
		{`{"email":[]}`, 400},
		{`{}`, 400},
	} {
		if w := h.do(request{method: "POST", path: "/email/bounce/remove", body: tt.body, headers: bearer(key)}); w.Code != tt.status {
			t.Errorf("bounce/remove %s: %d %s, want %d", tt.body, w.Code, w.Body, tt.status)
		}
	}
	if b, _ := bs.Bounced(t.Context(), []string{"a@example.com", "b@example.com", "c@example.com"}); b["a@example.com"] || b["b@example.com"] || !b["c@example.com"] {
		t.Errorf("after the removals: %v", b)
	}
}

// TestSendIDCreate: POST /sends/id/create makes or takes a send id for a
// campaign; a retried pair succeeds; bad bodies get 400s.
func TestSendIDCreate(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	key := h.key([]string{"sends.id.create"})
	post := func(body string) (int, map[string]any) {
		w := h.do(request{method: "POST", path: "/sends/id/create", body: body, headers: bearer(key)})
		var out map[string]any
		json.Unmarshal(w.Body.Bytes(), &out)
		return w.Code, out
	}
	if code, out := post(`{"campaign_id":"c1","send_id":"spring-sale"}`); code != 201 || out["send_id"] != "spring-sale" || out["message"] != "success" {
		t.Errorf("given send id: %d %v", code, out)
	}
	if code, out := post(`{"campaign_id":"c1","send_id":"spring-sale"}`); code != 201 || out["send_id"] != "spring-sale" {
		t.Errorf("the same pair again: %d %v", code, out)
	}
	code, out := post(`{"campaign_id":"c1"}`)
	if id, _ := out["send_id"].(string); code != 201 || len(id) < 8 {
		t.Errorf("made send id: %d %v", code, out)
	}
	for _, tt := range []struct{ body, want string }{
		{`{}`, "campaign_id"},
		{`{"campaign_id":"c","send_id":"é"}`, "ASCII"},
		{`{"campaign_id":"c","send_id":"` + strings.Repeat("x", 65) + `"}`, "64"},
		{`{"campaign_id":7}`, "campaign_id"},
	} {
		w := h.do(request{method: "POST", path: "/sends/id/create", body: tt.body, headers: bearer(key)})
		if w.Code != 400 || !strings.Contains(w.Body.String(), tt.want) {
			t.Errorf("%s: %d %s, want 400 naming %s", tt.body, w.Code, w.Body, tt.want)
		}
	}
}
