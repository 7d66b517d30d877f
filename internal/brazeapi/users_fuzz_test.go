package brazeapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/brazenhq/brazen/internal/httpx"
)

// serveUser sends body to a user endpoint without testing.TB helpers, which
// a fuzz target may not call on its *testing.F.
func serveUser(u *usersHarness, path, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	r.RemoteAddr = "203.0.113.7:5555"
	r.Header.Set("Authorization", "Bearer "+u.key)
	w := httptest.NewRecorder()
	u.api.ServeHTTP(w, r)
	return w
}

// checkUserResponse is what every user endpoint promises for any body: no
// 5xx, a JSON object with a non-empty string "message", "success" on 2xx.
func checkUserResponse(t *testing.T, path, body string, w *httptest.ResponseRecorder) map[string]json.RawMessage {
	t.Helper()
	if w.Code >= 500 {
		t.Fatalf("%s %q: %d %s", path, body, w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s %q: Content-Type %q", path, body, ct)
	}
	var resp map[string]json.RawMessage
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || resp == nil {
		t.Fatalf("%s %q: body is not a JSON object (%v): %s", path, body, err, w.Body)
	}
	var msg string
	if err := json.Unmarshal(resp["message"], &msg); err != nil || msg == "" {
		t.Fatalf("%s %q: no string message: %s", path, body, w.Body)
	}
	if w.Code/100 == 2 && msg != "success" {
		t.Fatalf("%s %q: %d with message %q", path, body, w.Code, msg)
	}
	return resp
}

// seedProfiles gives the fuzzers profiles to find, rename, merge and delete.
func seedProfiles(tb testing.TB, u *usersHarness) {
	for _, s := range []step{
		track(`{"attributes":[{"external_id":"u1","email":"a@example.com","phone":"+15550001111","plan":"gold"},
			{"external_id":"u2","email":"a@example.com"},
			{"user_alias":{"alias_name":"anon-1","alias_label":"web"},"_update_existing_only":false,"cart":"open"}],
			"events":[{"external_id":"u1","name":"played","time":"2026-01-02T03:04:05Z"}],
			"purchases":[{"external_id":"u2","product_id":"sku","currency":"USD","price":2,"time":"2026-01-02T03:04:05Z"}]}`),
		rename("u2", "u2b"),
	} {
		if w := serveUser(u, s.path, s.body); w.Code/100 != 2 {
			tb.Fatalf("seed %s: %d %s", s.path, w.Code, w.Body)
		}
		u.settle()
	}
}

// userSeeds are valid and invalid bodies for each user endpoint.
var userSeeds = map[string][]string{
	"/users/track": {
		`{"attributes":[{"external_id":"u1","first_name":"Ann","visits":{"inc":1},"tags":{"add":["x"]}}]}`,
		`{"events":[{"external_id":"u1","name":"played","time":"2026-01-02T03:04:05Z","properties":{"n":1,"o":{"a":[1]}}}]}`,
		`{"purchases":[{"user_alias":{"alias_name":"anon-1","alias_label":"web"},"product_id":"sku","currency":"EUR","price":1.5,"quantity":2,"time":"2026-01-02"}]}`,
		`{"attributes":[{"email":"b@example.com","_update_existing_only":false},{"phone":"+1555"},{"braze_id":"x"},{}]}`,
		`{"attributes":[{"external_id":"u1","pets":{"$add":[{"id":1}]},"_merge_objects":true,"address":{"$time":"bad"}}]}`,
		`{"attributes":[{"push_token_import":true,"push_tokens":[{"app_id":"a","token":"t"}]}]}`,
		`{}`, `null`, `[]`, `{"attributes":{}}`, `{"attributes":[1,"x",null,[]]}`, `{"attributes":[`, "\xff",
		`{"events":[{"external_id":"u1","name":"a","time":"9999-99-99"}]}`,
	},
	"/users/track/bulk": {
		`{"attributes":[{"external_id":"u1","n":1},{"external_id":"u1","n":2}],"events":[{"external_id":"u2b","name":"e","time":"2026-01-02T03:04:05Z"}]}`,
		`{"purchases":[{"external_id":"u1","product_id":"p","currency":"usd","price":-1,"time":"2026-01-02T03:04:05Z"}]}`,
		`{}`, `{"events":"x"}`,
	},
	"/users/track/sync": {
		`{"events":[{"external_id":"u1","name":"played","time":"2026-01-02T03:04:05Z"}]}`,
		`{"attributes":[{"external_id":"u1","plan":"silver"}]}`,
		`{"attributes":[{"external_id":"ghost","_update_existing_only":true}]}`,
		`{"purchases":[{"email":"a@example.com","product_id":"sku","currency":"USD","price":1,"time":"2026-01-02T03:04:05Z"}]}`,
		`{"attributes":[{"external_id":"u1"},{"external_id":"u2"}]}`, `{}`,
	},
	"/users/alias/new": {
		`{"user_aliases":[{"alias_name":"n1","alias_label":"crm"},{"external_id":"u1","alias_name":"n2","alias_label":"crm"}]}`,
		`{"user_aliases":[{"alias_name":"","alias_label":"crm"}]}`, `{"user_aliases":[null]}`, `{"user_aliases":[{"external_id":5,"alias_name":"a","alias_label":"b"}]}`, `{}`,
	},
	"/users/alias/update": {
		`{"alias_updates":[{"alias_label":"web","old_alias_name":"anon-1","new_alias_name":"anon-2"}]}`,
		`{"alias_updates":[{"alias_label":"web","old_alias_name":"anon-1"}]}`, `{"alias_updates":"x"}`,
	},
	"/users/identify": {
		`{"aliases_to_identify":[{"external_id":"u3","user_alias":{"alias_name":"anon-1","alias_label":"web"}}]}`,
		`{"emails_to_identify":[{"external_id":"u1","email":"a@example.com","prioritization":["unidentified","most_recently_updated"]}]}`,
		`{"phone_numbers_to_identify":[{"external_id":"u1","phone":"+15550001111","prioritization":["identified"]}]}`,
		`{"emails_to_identify":[{"external_id":"u1","email":"a@example.com"}]}`, `{"aliases_to_identify":[{"user_alias":1}]}`, `{}`,
	},
	"/users/merge": {
		`{"merge_updates":[{"identifier_to_merge":{"external_id":"u1"},"identifier_to_keep":{"external_id":"u2b"}}]}`,
		`{"merge_updates":[{"identifier_to_merge":{"user_alias":{"alias_name":"anon-1","alias_label":"web"}},"identifier_to_keep":{"email":"a@example.com","prioritization":["identified","most_recently_updated"]}}]}`,
		`{"merge_updates":[{"identifier_to_merge":{"phone":"+15550001111","prioritization":["least_recently_updated"]},"identifier_to_keep":{"external_id":"u1"}}]}`,
		`{"merge_updates":"x"}`, `{"merge_updates":[{"identifier_to_merge":{},"identifier_to_keep":{}}]}`,
		`{"merge_updates":[{"identifier_to_merge":{"external_id":"a"},"identifier_to_keep":{"external_id":"b"},"x":1}]}`,
	},
	"/users/delete": {
		`{"external_ids":["u1","ghost"]}`, `{"braze_ids":["0123456789abcdef01234567"]}`,
		`{"user_aliases":[{"alias_name":"anon-1","alias_label":"web"}]}`,
		`{"email_addresses":[{"email":"a@example.com","prioritization":["identified"]}]}`,
		`{"phone_numbers":[{"phone":"+15550001111","prioritization":["most_recently_updated"]}]}`,
		`{"external_ids":["u1"],"braze_ids":["b"]}`, `{"external_ids":[""]}`, `{}`,
	},
	"/users/external_ids/rename": {
		`{"external_id_renames":[{"current_external_id":"u1","new_external_id":"u1b"},{"current_external_id":"u2","new_external_id":"x"}]}`,
		`{"external_id_renames":[{"current_external_id":"u1","new_external_id":"u1"},{"current_external_id":7}]}`,
		`{"external_id_renames":[]}`, `{"external_id_renames":[null]}`,
	},
	"/users/external_ids/remove": {
		`{"external_ids":["u2","u2b","ghost","",""]}`, `{"external_ids":[]}`, `{"external_ids":[1]}`, `{}`,
	},
	"/users/export/ids": exportSeeds,
}

var exportSeeds = []string{
	`{"external_ids":["u1","u2","ghost"],"fields_to_export":["external_id","email","custom_attributes"]}`,
	`{"user_aliases":[{"alias_name":"anon-1","alias_label":"web"}]}`,
	`{"email_address":"A@example.com"}`, `{"phone":"+15550001111"}`, `{"braze_id":"0123456789abcdef01234567"}`,
	`{"device_id":"d"}`, `{"external_ids":["u1"],"email_address":"a@example.com"}`,
	`{"external_ids":["u1"],"fields_to_export":["nope"]}`, `{"external_ids":["u1"],"fields_to_export":[]}`,
	`{"external_ids":[` + strings.Repeat(`"x",`, 50) + `"x"]}`,
	`{"user_aliases":[{"alias_name":"a"}]}`, `{"external_ids":"u1"}`, `{"EXTERNAL_IDS":["u1"]}`,
	`{}`, `null`, `[]`, `{"external_ids":[`, ``,
}

// FuzzUserEndpoints sends arbitrary bodies to each of the eleven user
// endpoints: never a 5xx, never a panic, always a JSON object with a
// "message".
func FuzzUserEndpoints(f *testing.F) {
	u := newUsersHarness(f)
	seedProfiles(f, u)
	for i, p := range userPaths {
		for _, body := range userSeeds[p] {
			f.Add(uint8(i), body)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		path := userPaths[int(which)%len(userPaths)]
		checkUserResponse(t, path, body, serveUser(u, path, body))
	})
}

// FuzzExportIDs sends arbitrary bodies to /users/export/ids. Besides what
// every user endpoint promises: more than 50 external_ids and user_aliases
// is always Braze's 400; a 200 has a "users" array whose users hold only
// the fields asked for, and invalid_user_ids only ids asked for.
func FuzzExportIDs(f *testing.F) {
	u := newUsersHarness(f)
	seedProfiles(f, u)
	for _, body := range exportSeeds {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		const path = "/users/export/ids"
		w := serveUser(u, path, body)
		resp := checkUserResponse(t, path, body, w)
		var req exportRequest
		if httpx.DecodeJSON([]byte(body), &req) != nil {
			if w.Code != http.StatusBadRequest {
				t.Fatalf("%q does not decode, yet got %d %s", body, w.Code, w.Body)
			}
			return
		}
		if len(req.ExternalIDs)+len(req.UserAliases) > 50 {
			if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `"message":"The max number of external_ids and aliases per request was exceeded"`) {
				t.Fatalf("%d ids and aliases: %d %s", len(req.ExternalIDs)+len(req.UserAliases), w.Code, w.Body)
			}
			return
		}
		if w.Code != http.StatusOK {
			return
		}
		var users []map[string]json.RawMessage
		if err := json.Unmarshal(resp["users"], &users); err != nil || users == nil {
			t.Fatalf("%q: 200 without a users array: %s", body, w.Body)
		}
		if req.FieldsToExport != nil {
			for _, usr := range users {
				for k := range usr {
					if !slices.Contains(req.FieldsToExport, k) {
						t.Fatalf("%q: exported %q, not in fields_to_export: %s", body, k, w.Body)
					}
				}
			}
		}
		if raw, ok := resp["invalid_user_ids"]; ok {
			var invalid []string
			if err := json.Unmarshal(raw, &invalid); err != nil {
				t.Fatalf("%q: invalid_user_ids %s", body, raw)
			}
			for _, id := range invalid {
				if !slices.Contains(req.ExternalIDs, id) {
					t.Fatalf("%q: invalid_user_ids has %q, which was not asked for", body, id)
				}
			}
		}
	})
}
