package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/golden"
	"github.com/brazenhq/brazen/internal/profile"
)

var trackNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// A valid object of each array, to complete bodies.
const (
	trackEventJSON    = `{"external_id":"u1","name":"played","time":"2025-05-01T10:00:00Z"}`
	trackPurchaseJSON = `{"external_id":"u1","product_id":"gem","currency":"USD","price":1.5,"time":"2025-05-01T10:00:00Z"}`
	trackAttrsJSON    = `{"external_id":"u1"}`
)

// trackOne parses one object of array, next to a valid object of another
// array so that an invalid one is a non-fatal error. It returns the object's
// op, or its error message.
func trackOne(t *testing.T, array, obj string) (Op, string) {
	t.Helper()
	other, otherKind := "purchases", KindPurchase
	if array == "purchases" {
		other, otherKind = "events", KindEvent
	}
	body := fmt.Sprintf(`{%q:[%s],%q:[%s]}`, array, obj, other, map[string]string{
		"purchases": trackPurchaseJSON, "events": trackEventJSON}[other])
	tr, err := ParseTrack([]byte(body), TrackLimitsDefault, trackNow)
	if err != nil {
		t.Fatalf("ParseTrack(%s): %v", body, err)
	}
	if len(tr.Ops)+len(tr.Errors) != 2 {
		t.Fatalf("ParseTrack(%s): %d ops and %d errors, want 2 in all", body, len(tr.Ops), len(tr.Errors))
	}
	if len(tr.Errors) > 0 { // at most one: the other array's object is valid
		e := tr.Errors[0]
		if e.InputArray != array || e.Index != 0 {
			t.Fatalf("ParseTrack(%s): unexpected error %+v", body, e)
		}
		return Op{}, e.Type
	}
	for _, op := range tr.Ops {
		if op.Kind != otherKind {
			return op, ""
		}
	}
	t.Fatalf("ParseTrack(%s): no op for %s", body, array)
	return Op{}, ""
}

// trackAttrs is what profile.Parse makes of fields, as JSON, to compare
// with an op's Attrs.
func trackAttrs(t *testing.T, fields string, merge bool) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(fields), &m); err != nil {
		t.Fatal(err)
	}
	u, err := profile.Parse(m, merge)
	if err != nil {
		t.Fatalf("profile.Parse(%s): %v", fields, err)
	}
	b, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func trackJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func trackObjects(array, obj string, n int) string {
	return fmt.Sprintf("%q:[%s]", array, strings.TrimSuffix(strings.Repeat(obj+",", n), ","))
}

// TestParseTrackFatal pins the message and errors of every request-level
// error as golden files (go test -update rewrites them).
func TestParseTrackFatal(t *testing.T) {
	tests := []struct {
		name string
		body string
		lim  TrackLimits
	}{
		{"malformed_json", `{"attributes": [}`, TrackLimitsDefault},
		{"truncated_json", `{"events": [`, TrackLimitsDefault},
		{"trailing_data", `{} {}`, TrackLimitsDefault},
		{"empty_body", ``, TrackLimitsDefault},
		{"body_not_object", `[{"external_id":"u1"}]`, TrackLimitsDefault},
		{"body_invalid_utf8", "{\"events\":[{\"external_id\":\"\xff\"}]}", TrackLimitsDefault},
		{"attributes_object", `{"attributes": {"external_id": "u1"}}`, TrackLimitsDefault},
		{"events_string", `{"events": "played"}`, TrackLimitsDefault},
		{"purchases_number", `{"purchases": 1}`, TrackLimitsDefault},
		{"max_input_total", `{` + trackObjects("events", trackEventJSON, 40) + `,` + trackObjects("purchases", trackPurchaseJSON, 36) + `}`, TrackLimitsDefault},
		{"max_input_legacy_per_array", `{` + trackObjects("events", trackEventJSON, 76) + `}`, TrackLimits{MaxObjects: 75, PerArray: true}},
		{"max_input_bulk", `{` + trackObjects("events", trackEventJSON, 1001) + `}`, TrackLimitsBulk},
		{"max_input_sync", `{` + trackObjects("events", trackEventJSON, 1) + `,` + trackObjects("purchases", trackPurchaseJSON, 1) + `}`, TrackLimitsSync},
		{"no_fields", `{}`, TrackLimitsDefault},
		{"only_api_key", `{"api_key": "0e7c1b2a-0000-4000-8000-000000000000"}`, TrackLimitsDefault},
		{"null_body", `null`, TrackLimitsDefault},
		{"empty_arrays", `{"attributes": [], "events": [], "purchases": []}`, TrackLimitsDefault},
		{"null_arrays", `{"attributes": null, "events": null}`, TrackLimitsDefault},
		{"all_invalid", `{"attributes": [{"first_name": "Ann"}], "events": [{"external_id": "u1", "time": "2025-01-01"}, 7], "purchases": [{"email": "a@example.com", "product_id": "gem", "currency": "ZZZ", "price": 1, "time": "2025-01-01"}]}`, TrackLimitsDefault},
		{"sync_invalid", `{"events": [{"external_id": "u1", "name": "x"}]}`, TrackLimitsSync},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := ParseTrack([]byte(tt.body), tt.lim, trackNow)
			if err == nil {
				t.Fatalf("got %+v, want a fatal error", tr)
			}
			var e *brazen.Error
			if !errors.As(err, &e) || e.Code != brazen.EINVALID {
				t.Fatalf("got %#v, want a *brazen.Error of kind %s", err, brazen.EINVALID)
			}
			b, _ := json.MarshalIndent(struct {
				Message string   `json:"message"`
				Errors  []string `json:"errors,omitempty"`
			}{e.Message, e.Details}, "", "  ")
			golden.Check(t, filepath.Join("testdata", "track", tt.name+".golden"), string(b)+"\n")
		})
	}
}

// TestParseTrackLimits: the batch limits accept exactly up to their bound.
func TestParseTrackLimits(t *testing.T) {
	tests := []struct {
		name string
		body string
		lim  TrackLimits
		ops  int
	}{
		{"75 total", `{` + trackObjects("events", trackEventJSON, 40) + `,` + trackObjects("purchases", trackPurchaseJSON, 35) + `}`, TrackLimitsDefault, 75},
		{"legacy 75 per array", `{` + trackObjects("events", trackEventJSON, 75) + `,` + trackObjects("purchases", trackPurchaseJSON, 75) + `}`, TrackLimits{MaxObjects: 75, PerArray: true}, 150},
		{"bulk 1000, 100 per user", trackBulk1000(), TrackLimitsBulk, 1000},
		{"sync 1", `{` + trackObjects("purchases", trackPurchaseJSON, 1) + `, "events": []}`, TrackLimitsSync, 1},
		{"no limit", `{` + trackObjects("events", trackEventJSON, 2000) + `}`, TrackLimits{}, 2000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := ParseTrack([]byte(tt.body), tt.lim, trackNow)
			if err != nil {
				t.Fatal(err)
			}
			if len(tr.Ops) != tt.ops || len(tr.Errors) != 0 {
				t.Fatalf("got %d ops and errors %v, want %d ops", len(tr.Ops), tr.Errors, tt.ops)
			}
		})
	}
}

// trackBulk1000 is a full /users/track/bulk request: 1,000 events, 100 for
// each of ten users.
func trackBulk1000() string {
	objs := make([]string, 1000)
	for i := range objs {
		objs[i] = fmt.Sprintf(`{"external_id":"u%d","name":"e","time":"2025-01-01"}`, i%10)
	}
	return `{"events":[` + strings.Join(objs, ",") + `]}`
}

// TestParseTrackResponse: counts, array presence, op order and error order.
func TestParseTrackResponse(t *testing.T) {
	body := `{
		"api_key": "legacy keys are ignored here",
		"something_else": {"x": 1},
		"purchases": [
			{"external_id": "p0", "product_id": "gem", "currency": "USD", "price": 1, "time": "2025-01-01"},
			{"external_id": "p1", "product_id": "gem", "currency": "USD", "time": "2025-01-01"}
		],
		"events": [
			{"external_id": "e0", "name": "a", "time": "2025-01-01"},
			{"name": "b", "time": "2025-01-01"},
			{"external_id": "e2", "name": "c", "time": "2025-01-01"}
		],
		"attributes": [
			{"braze_id": "a0"},
			{"external_id": "a1"}
		]
	}`
	tr, err := ParseTrack([]byte(body), TrackLimitsDefault, trackNow)
	if err != nil {
		t.Fatal(err)
	}
	type summary struct {
		Attributes, Events, Purchases          int
		HasAttributes, HasEvents, HasPurchases bool
		Errors                                 []ObjectError
		Order                                  []string
	}
	got := summary{Attributes: tr.Attributes, Events: tr.Events, Purchases: tr.Purchases,
		HasAttributes: tr.HasAttributes, HasEvents: tr.HasEvents, HasPurchases: tr.HasPurchases, Errors: tr.Errors}
	for _, op := range tr.Ops {
		got.Order = append(got.Order, string(op.Kind)+":"+op.ID.ExternalID+op.ID.BrazeID)
	}
	want := summary{Attributes: 2, Events: 2, Purchases: 1, HasAttributes: true, HasEvents: true, HasPurchases: true,
		Errors: []ObjectError{
			{Type: trackErrNoIdentifier, InputArray: "events", Index: 1},
			{Type: "'price' is required", InputArray: "purchases", Index: 1},
		},
		Order: []string{"attributes:a0", "attributes:a1", "event:e0", "event:e2", "purchase:p0"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}

	// An array that is present but empty still counts as present; an
	// absent or null one does not.
	tr, err = ParseTrack([]byte(`{"events":[`+trackEventJSON+`],"attributes":[],"purchases":null}`), TrackLimitsDefault, trackNow)
	if err != nil {
		t.Fatal(err)
	}
	if !tr.HasAttributes || !tr.HasEvents || tr.HasPurchases || tr.Attributes != 0 || tr.Events != 1 {
		t.Errorf("got %+v", tr)
	}
}

// TestParseTrackIdentifiers is the identifier matrix, for events (where
// update-only is always on with an alias) and purchases.
func TestParseTrackIdentifiers(t *testing.T) {
	alias := &brazen.Alias{Name: "n", Label: "l"}
	long := strings.Repeat("x", 997)
	tests := []struct {
		name   string
		fields string
		id     brazen.Identifier
		ueo    bool
		err    string
	}{
		{name: "external_id", fields: `"external_id":"u1"`, id: brazen.Identifier{ExternalID: "u1"}},
		{name: "external_id update only", fields: `"external_id":"u1","_update_existing_only":true`, id: brazen.Identifier{ExternalID: "u1"}, ueo: true},
		{name: "external_id update only false", fields: `"external_id":"u1","_update_existing_only":false`, id: brazen.Identifier{ExternalID: "u1"}},
		{name: "external_id 997 bytes", fields: `"external_id":"` + long + `"`, id: brazen.Identifier{ExternalID: long}},
		{name: "external_id unicode escape", fields: `"external_id":"\u00e9t\u00e9"`, id: brazen.Identifier{ExternalID: "été"}},
		{name: "braze_id", fields: `"braze_id":"5f0c1a2b3c4d5e6f7a8b9c0d"`, id: brazen.Identifier{BrazeID: "5f0c1a2b3c4d5e6f7a8b9c0d"}},
		{name: "user_alias always update only", fields: `"user_alias":{"alias_name":"n","alias_label":"l"}`, id: brazen.Identifier{Alias: alias}, ueo: true},
		{name: "user_alias update only false ignored", fields: `"user_alias":{"alias_name":"n","alias_label":"l"},"_update_existing_only":false`, id: brazen.Identifier{Alias: alias}, ueo: true},
		{name: "user_alias 236 bytes", fields: `"user_alias":{"alias_name":"` + strings.Repeat("é", 118) + `","alias_label":"l"}`, id: brazen.Identifier{Alias: &brazen.Alias{Name: strings.Repeat("é", 118), Label: "l"}}, ueo: true},
		{name: "email only", fields: `"email":"ann@example.com"`, id: brazen.Identifier{Email: "ann@example.com"}},
		{name: "phone only", fields: `"phone":"+15555550100"`, id: brazen.Identifier{Phone: "+15555550100"}},
		{name: "email wins over phone", fields: `"phone":"+15555550100","email":"ann@example.com"`, id: brazen.Identifier{Email: "ann@example.com"}},
		{name: "external_id wins over email", fields: `"email":"ann@example.com","external_id":"u1"`, id: brazen.Identifier{ExternalID: "u1"}},
		{name: "braze_id wins over phone", fields: `"phone":"+15555550100","braze_id":"b1"`, id: brazen.Identifier{BrazeID: "b1"}},
		{name: "null identifiers are absent", fields: `"external_id":null,"user_alias":null,"braze_id":"b1"`, id: brazen.Identifier{BrazeID: "b1"}},
		{name: "null email falls to phone", fields: `"email":null,"phone":"+15555550100"`, id: brazen.Identifier{Phone: "+15555550100"}},
		{name: "email update only", fields: `"email":"ann@example.com","_update_existing_only":true`, id: brazen.Identifier{Email: "ann@example.com"}, ueo: true},
		{name: "update only null", fields: `"external_id":"u1","_update_existing_only":null`, id: brazen.Identifier{ExternalID: "u1"}},

		{name: "none", fields: `"first_name":"Ann"`, err: "'external_id' or 'braze_id' or 'user_alias' or 'email' or 'phone' is required"},
		{name: "all null", fields: `"external_id":null,"email":null,"phone":null`, err: trackErrNoIdentifier},
		{name: "external_id and braze_id", fields: `"external_id":"u1","braze_id":"b1"`, err: "only one of 'external_id', 'braze_id' or 'user_alias' may be given"},
		{name: "external_id and user_alias", fields: `"external_id":"u1","user_alias":{"alias_name":"n","alias_label":"l"}`, err: trackErrOneIdentifier},
		{name: "all three", fields: `"external_id":"u1","braze_id":"b1","user_alias":{"alias_name":"n","alias_label":"l"}`, err: trackErrOneIdentifier},
		{name: "external_id number", fields: `"external_id":42`, err: "'external_id' must be a string"},
		{name: "external_id empty", fields: `"external_id":""`, err: "'external_id' must not be empty"},
		{name: "external_id too long", fields: `"external_id":"` + long + `x"`, err: "'external_id' must be at most 997 bytes"},
		{name: "braze_id number", fields: `"braze_id":1`, err: "'braze_id' must be a string"},
		{name: "braze_id empty", fields: `"braze_id":""`, err: "'braze_id' must not be empty"},
		{name: "user_alias string", fields: `"user_alias":"n"`, err: "'user_alias' must be an object with 'alias_name' and 'alias_label'"},
		{name: "user_alias no label", fields: `"user_alias":{"alias_name":"n"}`, err: "'user_alias' must be an object with 'alias_name' and 'alias_label'"},
		{name: "user_alias name number", fields: `"user_alias":{"alias_name":1,"alias_label":"l"}`, err: "'user_alias.alias_name' must be a string"},
		{name: "user_alias empty label", fields: `"user_alias":{"alias_name":"n","alias_label":""}`, err: "'user_alias.alias_label' must not be empty"},
		{name: "user_alias name 237 bytes", fields: `"user_alias":{"alias_name":"` + strings.Repeat("é", 118) + `x","alias_label":"l"}`, err: "'user_alias.alias_name' must be at most 236 bytes"},
		{name: "email number", fields: `"email":1`, err: "'email' must be a string"},
		{name: "email empty", fields: `"email":""`, err: "'email' must not be empty"},
		{name: "phone array", fields: `"phone":["+1"]`, err: "'phone' must be a string"},
		{name: "phone blank", fields: `"phone":"  "`, err: "'phone' must not be empty"},
		{name: "update only string", fields: `"external_id":"u1","_update_existing_only":"true"`, err: "'_update_existing_only' must be a boolean"},
	}
	for _, array := range []string{"events", "purchases"} {
		rest := `"name":"played","time":"2025-05-01T10:00:00Z"`
		if array == "purchases" {
			rest = `"product_id":"gem","currency":"USD","price":1,"time":"2025-05-01T10:00:00Z"`
		}
		for _, tt := range tests {
			t.Run(array+"/"+tt.name, func(t *testing.T) {
				op, msg := trackOne(t, array, "{"+tt.fields+","+rest+"}")
				if msg != tt.err {
					t.Fatalf("error %q, want %q", msg, tt.err)
				}
				if tt.err != "" {
					return
				}
				if d := cmp.Diff(tt.id, op.ID); d != "" {
					t.Errorf("ID (-want +got)\n%s", d)
				}
				if op.UpdateExistingOnly != tt.ueo {
					t.Errorf("UpdateExistingOnly = %v, want %v", op.UpdateExistingOnly, tt.ueo)
				}
			})
		}
	}
}

// TestParseTrackAttributes: identifiers and control keys of attributes
// objects, and what reaches profile.Parse.
func TestParseTrackAttributes(t *testing.T) {
	alias := &brazen.Alias{Name: "n", Label: "l"}
	tests := []struct {
		name  string
		obj   string
		id    brazen.Identifier
		ueo   bool
		attrs string // the fields profile.Parse must have been given
		merge bool
		err   string
	}{
		{name: "identifier only", obj: `{"external_id":"u1"}`, id: brazen.Identifier{ExternalID: "u1"}, attrs: `{}`},
		{name: "attributes", obj: `{"external_id":"u1","first_name":"Ann","score":3}`, id: brazen.Identifier{ExternalID: "u1"}, attrs: `{"first_name":"Ann","score":3}`},
		{name: "email is an attribute with external_id", obj: `{"external_id":"u1","email":"ann@example.com"}`, id: brazen.Identifier{ExternalID: "u1"}, attrs: `{"email":"ann@example.com"}`},
		{name: "email identifies and is an attribute", obj: `{"email":"ann@example.com","first_name":"Ann"}`, id: brazen.Identifier{Email: "ann@example.com"}, attrs: `{"email":"ann@example.com","first_name":"Ann"}`},
		{name: "phone is an attribute with email", obj: `{"email":"ann@example.com","phone":"+15555550100"}`, id: brazen.Identifier{Email: "ann@example.com"}, attrs: `{"email":"ann@example.com","phone":"+15555550100"}`},
		{name: "phone identifies", obj: `{"phone":"+15555550100","last_name":"F"}`, id: brazen.Identifier{Phone: "+15555550100"}, attrs: `{"phone":"+15555550100","last_name":"F"}`},
		{name: "alias update only by default", obj: `{"user_alias":{"alias_name":"n","alias_label":"l"},"first_name":"Ann"}`, id: brazen.Identifier{Alias: alias}, ueo: true, attrs: `{"first_name":"Ann"}`},
		{name: "alias creates when asked", obj: `{"user_alias":{"alias_name":"n","alias_label":"l"},"_update_existing_only":false}`, id: brazen.Identifier{Alias: alias}, attrs: `{}`},
		{name: "alias update only explicit", obj: `{"user_alias":{"alias_name":"n","alias_label":"l"},"_update_existing_only":true}`, id: brazen.Identifier{Alias: alias}, ueo: true, attrs: `{}`},
		{name: "external_id creates by default", obj: `{"external_id":"u1","_update_existing_only":null}`, id: brazen.Identifier{ExternalID: "u1"}, attrs: `{}`},
		{name: "braze_id update only", obj: `{"braze_id":"b1","_update_existing_only":true}`, id: brazen.Identifier{BrazeID: "b1"}, ueo: true, attrs: `{}`},
		{name: "control keys are not attributes", obj: `{"external_id":"u1","_merge_objects":true,"push_token_import":false,"_update_existing_only":false,"pet":{"name":"Rex"}}`, id: brazen.Identifier{ExternalID: "u1"}, attrs: `{"pet":{"name":"Rex"}}`, merge: true},
		{name: "merge objects false", obj: `{"external_id":"u1","_merge_objects":false,"pet":{"name":"Rex"}}`, id: brazen.Identifier{ExternalID: "u1"}, attrs: `{"pet":{"name":"Rex"}}`},

		{name: "no identifier", obj: `{"first_name":"Ann"}`, err: trackErrNoIdentifier},
		{name: "two identifiers", obj: `{"external_id":"u1","braze_id":"b1","first_name":"Ann"}`, err: trackErrOneIdentifier},
		{name: "merge objects string", obj: `{"external_id":"u1","_merge_objects":"yes"}`, err: "'_merge_objects' must be a boolean"},
		{name: "update only number", obj: `{"user_alias":{"alias_name":"n","alias_label":"l"},"_update_existing_only":0}`, err: "'_update_existing_only' must be a boolean"},
		{name: "push token import string", obj: `{"push_token_import":"true","push_tokens":[]}`, err: "'push_token_import' must be a boolean"},
		{name: "push token import with external_id", obj: `{"push_token_import":true,"external_id":"u1","push_tokens":[{"app_id":"a","token":"t"}]}`, err: "'push_token_import' objects must not have an 'external_id' or 'braze_id'"},
		{name: "push token import with braze_id", obj: `{"push_token_import":true,"braze_id":"b1","push_tokens":[{"app_id":"a","token":"t"}]}`, err: "'push_token_import' objects must not have an 'external_id' or 'braze_id'"},
		{name: "push token import without tokens", obj: `{"push_token_import":true}`, err: "'push_token_import' objects must have 'push_tokens'"},
		{name: "push token import", obj: `{"push_token_import":true,"push_tokens":[{"app_id":"a","token":"t"}]}`, err: "'push_token_import' (anonymous push token import) is not supported by Brazen yet"},
		{name: "not an object", obj: `"u1"`, err: "each item of 'attributes' must be an object"},
		{name: "null", obj: `null`, err: "each item of 'attributes' must be an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op, msg := trackOne(t, "attributes", tt.obj)
			if msg != tt.err {
				t.Fatalf("error %q, want %q", msg, tt.err)
			}
			if tt.err != "" {
				return
			}
			if op.Kind != KindAttributes {
				t.Errorf("Kind = %q", op.Kind)
			}
			if d := cmp.Diff(tt.id, op.ID); d != "" {
				t.Errorf("ID (-want +got)\n%s", d)
			}
			if op.UpdateExistingOnly != tt.ueo {
				t.Errorf("UpdateExistingOnly = %v, want %v", op.UpdateExistingOnly, tt.ueo)
			}
			if got, want := trackJSON(t, op.Attrs), trackAttrs(t, tt.attrs, tt.merge); got != want {
				t.Errorf("Attrs = %s, want profile.Parse(%s, %v) = %s", got, tt.attrs, tt.merge, want)
			}
		})
	}
}

// TestParseTrackAttributeError: profile.Parse's error becomes the object's
// error, word for word.
func TestParseTrackAttributeError(t *testing.T) {
	fields := map[string]json.RawMessage{"email_subscribe": json.RawMessage(`"maybe"`)}
	_, perr := profile.Parse(fields, false)
	if perr == nil {
		t.Fatal(`profile.Parse accepted "email_subscribe": "maybe"`)
	}
	_, msg := trackOne(t, "attributes", `{"external_id":"u1","email_subscribe":"maybe"}`)
	if msg != perr.Error() {
		t.Errorf("error %q, want profile.Parse's %q", msg, perr.Error())
	}
}

// TestParseTrackEvents: event objects' fields other than identifiers.
func TestParseTrackEvents(t *testing.T) {
	at := time.Date(2025, 5, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		fields string
		want   Event
		err    string
	}{
		{name: "minimal", fields: `"name":"played","time":"2025-05-01T10:00:00Z"`, want: Event{Name: "played", Time: at}},
		{name: "app_id and properties", fields: `"name":"played","time":"2025-05-01T12:00:00+02:00","app_id":"app-1","properties":{ "level" : 3, "hard": true, "tags":["a", "b"], "at": "2025-01-01", "who": {"n": "x"}, "none": null }`,
			want: Event{Name: "played", Time: at, AppID: "app-1", Properties: json.RawMessage(`{"level":3,"hard":true,"tags":["a","b"],"at":"2025-01-01","who":{"n":"x"},"none":null}`)}},
		{name: "empty properties dropped", fields: `"name":"played","time":"2025-05-01T10:00:00Z","properties":{}`, want: Event{Name: "played", Time: at}},
		{name: "null optional fields", fields: `"name":"played","time":"2025-05-01T10:00:00Z","properties":null,"app_id":null`, want: Event{Name: "played", Time: at}},
		{name: "future time is now", fields: `"name":"played","time":"2030-01-01T00:00:00Z"`, want: Event{Name: "played", Time: trackNow}},
		{name: "date only", fields: `"name":"played","time":"2025-05-01"`, want: Event{Name: "played", Time: time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)}},
		{name: "name 255 characters", fields: `"name":"` + strings.Repeat("é", 255) + `","time":"2025-05-01T10:00:00Z"`, want: Event{Name: strings.Repeat("é", 255), Time: at}},
		{name: "unknown keys ignored", fields: `"name":"played","time":"2025-05-01T10:00:00Z","color":"red"`, want: Event{Name: "played", Time: at}},

		{name: "no name", fields: `"time":"2025-05-01T10:00:00Z"`, err: "'name' is required"},
		{name: "null name", fields: `"name":null,"time":"2025-05-01T10:00:00Z"`, err: "'name' is required"},
		{name: "empty name", fields: `"name":"","time":"2025-05-01T10:00:00Z"`, err: "'name' must not be empty"},
		{name: "name number", fields: `"name":5,"time":"2025-05-01T10:00:00Z"`, err: "'name' must be a string"},
		{name: "name 256 characters", fields: `"name":"` + strings.Repeat("é", 256) + `","time":"2025-05-01T10:00:00Z"`, err: "'name' must be at most 255 characters"},
		{name: "no time", fields: `"name":"played"`, err: "'time' is required"},
		{name: "time number", fields: `"name":"played","time":1714557600`, err: "'time' must be a string in ISO 8601 format"},
		{name: "time garbage", fields: `"name":"played","time":"yesterday"`, err: "'time' must be a valid ISO 8601 time"},
		{name: "time impossible date", fields: `"name":"played","time":"2025-02-30T10:00:00Z"`, err: "'time' must be a valid ISO 8601 time"},
		{name: "app_id number", fields: `"name":"played","time":"2025-05-01","app_id":1`, err: "'app_id' must be a string"},
		{name: "properties array", fields: `"name":"played","time":"2025-05-01","properties":[1]`, err: "'properties' must be an object"},
		{name: "properties string", fields: `"name":"played","time":"2025-05-01","properties":"{}"`, err: "'properties' must be an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op, msg := trackOne(t, "events", `{"external_id":"u1",`+tt.fields+`}`)
			if msg != tt.err {
				t.Fatalf("error %q, want %q", msg, tt.err)
			}
			if tt.err != "" {
				return
			}
			if op.Kind != KindEvent || op.Event == nil {
				t.Fatalf("got %+v", op)
			}
			if d := cmp.Diff(tt.want, *op.Event); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
}

// TestParseTrackPurchases: purchase objects' fields other than identifiers.
func TestParseTrackPurchases(t *testing.T) {
	at := time.Date(2025, 5, 1, 10, 0, 0, 0, time.UTC)
	const base = `"product_id":"gem","currency":"USD","time":"2025-05-01T10:00:00Z"`
	tests := []struct {
		name   string
		fields string
		want   Purchase
		err    string
	}{
		{name: "minimal", fields: base + `,"price":1.5`, want: Purchase{ProductID: "gem", Currency: "USD", Price: 1.5, Quantity: 1, Time: at}},
		{name: "free", fields: base + `,"price":0`, want: Purchase{ProductID: "gem", Currency: "USD", Price: 0, Quantity: 1, Time: at}},
		{name: "refund", fields: base + `,"price":-3.25`, want: Purchase{ProductID: "gem", Currency: "USD", Price: -3.25, Quantity: 1, Time: at}},
		{name: "quantity", fields: base + `,"price":2,"quantity":100`, want: Purchase{ProductID: "gem", Currency: "USD", Price: 2, Quantity: 100, Time: at}},
		{name: "quantity as 2.0", fields: base + `,"price":2,"quantity":2.0`, want: Purchase{ProductID: "gem", Currency: "USD", Price: 2, Quantity: 2, Time: at}},
		{name: "quantity null", fields: base + `,"price":2,"quantity":null`, want: Purchase{ProductID: "gem", Currency: "USD", Price: 2, Quantity: 1, Time: at}},
		{name: "lower-case currency", fields: `"product_id":"gem","currency":"jpy","price":300,"time":"2025-05-01T10:00:00Z"`, want: Purchase{ProductID: "gem", Currency: "JPY", Price: 300, Quantity: 1, Time: at}},
		{name: "withdrawn currency", fields: `"product_id":"gem","currency":"HRK","price":3,"time":"2025-05-01T10:00:00Z"`, want: Purchase{ProductID: "gem", Currency: "HRK", Price: 3, Quantity: 1, Time: at}},
		{name: "future time", fields: `"product_id":"gem","currency":"EUR","price":3,"time":"2999-01-01T00:00:00Z"`, want: Purchase{ProductID: "gem", Currency: "EUR", Price: 3, Quantity: 1, Time: trackNow}},
		{name: "properties and app_id", fields: base + `,"price":1,"app_id":"a","properties":{"color": "red"}`, want: Purchase{ProductID: "gem", Currency: "USD", Price: 1, Quantity: 1, Time: at, AppID: "a", Properties: json.RawMessage(`{"color":"red"}`)}},

		{name: "no product_id", fields: `"currency":"USD","price":1,"time":"2025-05-01"`, err: "'product_id' is required"},
		{name: "empty product_id", fields: `"product_id":"","currency":"USD","price":1,"time":"2025-05-01"`, err: "'product_id' must not be empty"},
		{name: "product_id number", fields: `"product_id":7,"currency":"USD","price":1,"time":"2025-05-01"`, err: "'product_id' must be a string"},
		{name: "product_id 256", fields: `"product_id":"` + strings.Repeat("p", 256) + `","currency":"USD","price":1,"time":"2025-05-01"`, err: "'product_id' must be at most 255 characters"},
		{name: "no currency", fields: `"product_id":"gem","price":1,"time":"2025-05-01"`, err: "'currency' is required"},
		{name: "currency unknown", fields: `"product_id":"gem","currency":"ABC","price":1,"time":"2025-05-01"`, err: "'currency' must be an ISO 4217 currency code"},
		{name: "currency symbol", fields: `"product_id":"gem","currency":"$","price":1,"time":"2025-05-01"`, err: "'currency' must be an ISO 4217 currency code"},
		{name: "currency long", fields: `"product_id":"gem","currency":"USDX","price":1,"time":"2025-05-01"`, err: "'currency' must be an ISO 4217 currency code"},
		{name: "currency spaced", fields: `"product_id":"gem","currency":"SD ","price":1,"time":"2025-05-01"`, err: "'currency' must be an ISO 4217 currency code"},
		{name: "currency number", fields: `"product_id":"gem","currency":840,"price":1,"time":"2025-05-01"`, err: "'currency' must be an ISO 4217 currency code"},
		{name: "no price", fields: base, err: "'price' is required"},
		{name: "price string", fields: base + `,"price":"1.50"`, err: "'price' must be a number"},
		{name: "price overflow", fields: base + `,"price":1e400`, err: "'price' must be a number"},
		{name: "quantity 0", fields: base + `,"price":1,"quantity":0`, err: "'quantity' must be an integer from 1 to 100"},
		{name: "quantity 101", fields: base + `,"price":1,"quantity":101`, err: "'quantity' must be an integer from 1 to 100"},
		{name: "quantity fraction", fields: base + `,"price":1,"quantity":1.5`, err: "'quantity' must be an integer from 1 to 100"},
		{name: "quantity string", fields: base + `,"price":1,"quantity":"2"`, err: "'quantity' must be an integer from 1 to 100"},
		{name: "no time", fields: `"product_id":"gem","currency":"USD","price":1`, err: "'time' is required"},
		{name: "bad time", fields: `"product_id":"gem","currency":"USD","price":1,"time":"01/02/2025 10:00"`, err: "'time' must be a valid ISO 8601 time"},
		{name: "app_id bool", fields: base + `,"price":1,"app_id":true`, err: "'app_id' must be a string"},
		{name: "properties reserved", fields: base + `,"price":1,"properties":{"time":"x"}`, err: "'properties' key 'time' is reserved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op, msg := trackOne(t, "purchases", `{"external_id":"u1",`+tt.fields+`}`)
			if msg != tt.err {
				t.Fatalf("error %q, want %q", msg, tt.err)
			}
			if tt.err != "" {
				return
			}
			if op.Kind != KindPurchase || op.Purchase == nil {
				t.Fatalf("got %+v", op)
			}
			if d := cmp.Diff(tt.want, *op.Purchase); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
}

// TestParseTrackProperties: the rules on event and purchase properties.
func TestParseTrackProperties(t *testing.T) {
	// nested builds properties holding an array whose compact JSON is n bytes.
	nested := func(n int) string {
		const head, tail = `{"a":["`, `"]}`
		return head + strings.Repeat("x", n-len(head)-len(tail)) + tail
	}
	tests := []struct {
		name  string
		array string
		props string
		err   string
	}{
		{name: "scalars", props: `{"n":1,"f":-1.5e3,"b":false,"s":"x","d":"2025-01-01T00:00:00Z","z":null}`},
		{name: "key 255 characters", props: `{"` + strings.Repeat("ü", 255) + `":1}`},
		{name: "string 255 characters", props: `{"s":"` + strings.Repeat("ü", 255) + `"}`},
		{name: "long strings inside arrays are allowed", props: `{"s":["` + strings.Repeat("x", 300) + `"]}`},
		{name: "dollar inside key", props: `{"price$":1}`},
		{name: "Time is not time", props: `{"Time":1,"event_name_2":2}`},
		{name: "event nested 100 KB", array: "events", props: nested(100 << 10)},
		{name: "purchase nested 50 KB", array: "purchases", props: nested(50 << 10)},
		{name: "flat payload has no size rule", array: "purchases", props: `{` + strings.TrimSuffix(strings.Repeat(`"k":"`+strings.Repeat("v", 250)+`",`, 300), ",") + `}`},

		{name: "empty key", props: `{"":1}`, err: "'properties' keys must not be empty"},
		{name: "dollar key", props: `{"$set":1}`, err: "'properties' key '$set' must not start with '$'"},
		{name: "key 256 characters", props: `{"` + strings.Repeat("ü", 256) + `":1}`, err: "'properties' key '" + strings.Repeat("ü", 64) + "…' must be at most 255 characters"},
		{name: "reserved time", props: `{"a":1,"time":"2025-01-01"}`, err: "'properties' key 'time' is reserved"},
		{name: "reserved event_name", props: `{"event_name":"x"}`, err: "'properties' key 'event_name' is reserved"},
		{name: "string 256 characters", props: `{"s":"` + strings.Repeat("ü", 256) + `"}`, err: "'properties.s' must be a string of at most 255 characters"},
		{name: "escaped string 256 characters", props: `{"s":"` + strings.Repeat(`\u00fc`, 256) + `"}`, err: "'properties.s' must be a string of at most 255 characters"},
		{name: "event nested over 100 KB", array: "events", props: nested(100<<10 + 1), err: "'properties' holding arrays or objects must be at most 100 KB; these are 102401 bytes"},
		{name: "purchase nested over 50 KB", array: "purchases", props: nested(50<<10 + 1), err: "'properties' holding arrays or objects must be at most 50 KB; these are 51201 bytes"},
	}
	for _, tt := range tests {
		for _, array := range []string{"events", "purchases"} {
			if tt.array != "" && tt.array != array {
				continue
			}
			t.Run(array+"/"+tt.name, func(t *testing.T) {
				obj := `{"external_id":"u1","name":"e","product_id":"p","currency":"USD","price":1,"time":"2025-01-01","properties":` + tt.props + `}`
				op, msg := trackOne(t, array, obj)
				if msg != tt.err {
					t.Fatalf("error %q, want %q", msg, tt.err)
				}
				if tt.err != "" {
					return
				}
				var got json.RawMessage
				if op.Event != nil {
					got = op.Event.Properties
				} else {
					got = op.Purchase.Properties
				}
				if !json.Valid(got) || string(got) != tt.props {
					t.Errorf("Properties = %.80s…, want the compact input", got)
				}
			})
		}
	}
}

// TestParseTrackTime: event and purchase times in the formats Braze
// documents (profile.ParseTime reads them), stored in UTC, future ones
// clamped to now.
func TestParseTrackTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time // zero: invalid
	}{
		{"2013-07-16T19:20:30+01:00", time.Date(2013, 7, 16, 18, 20, 30, 0, time.UTC)},
		{"2013-07-16T19:20:30Z", time.Date(2013, 7, 16, 19, 20, 30, 0, time.UTC)},
		{"2013-07-16T19:20:30.45+01:00", time.Date(2013, 7, 16, 18, 20, 30, 450_000_000, time.UTC)},
		{"2013-07-16T19:20:30", time.Date(2013, 7, 16, 19, 20, 30, 0, time.UTC)},
		{"2013-07-16T19:20:30.5", time.Date(2013, 7, 16, 19, 20, 30, 500_000_000, time.UTC)},
		{"2013-07-16T19:20:30:123Z", time.Date(2013, 7, 16, 19, 20, 30, 123_000_000, time.UTC)},
		{"2013-07-16T19:20:30:123-0800", time.Date(2013, 7, 17, 3, 20, 30, 123_000_000, time.UTC)},
		{"2013-07-16 19:20:30", time.Date(2013, 7, 16, 19, 20, 30, 0, time.UTC)},
		{"2013-07-16", time.Date(2013, 7, 16, 0, 0, 0, 0, time.UTC)},
		{"2024-02-29", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
		{"2025-06-01T14:00:00+02:00", trackNow},      // now itself
		{"2025-06-01T12:00:00.000000001Z", trackNow}, // a nanosecond later
		{"2099-01-01", trackNow}, // far future
		{"1969-07-20T20:17:40Z", time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC)},

		{"", time.Time{}},
		{"yesterday", time.Time{}},
		{"2013-13-01", time.Time{}},
		{"2023-02-29", time.Time{}},
		{"2013-07-16T24:00:00Z", time.Time{}},
		{"2013-07-16T19:20:30Zjunk", time.Time{}},
		{"1373995230", time.Time{}},
		{"0000-01-01T00:00:00+01:00", time.Time{}}, // year -1 in UTC
	}
	for _, tt := range tests {
		for _, array := range []string{"events", "purchases"} {
			t.Run(array+"/"+tt.in, func(t *testing.T) {
				obj := `{"external_id":"u","name":"e","product_id":"p","currency":"USD","price":1,"time":"` + tt.in + `"}`
				op, msg := trackOne(t, array, obj)
				if tt.want.IsZero() {
					if msg != "'time' must be a valid ISO 8601 time" {
						t.Fatalf("error %q", msg)
					}
					return
				}
				if msg != "" {
					t.Fatal(msg)
				}
				var got time.Time
				if op.Event != nil {
					got = op.Event.Time
				} else {
					got = op.Purchase.Time
				}
				if !got.Equal(tt.want) || got.Location() != time.UTC {
					t.Errorf("got %v, want %v", got, tt.want)
				}
			})
		}
	}

	// now is clamped in UTC even when given in another zone.
	tr, err := ParseTrack([]byte(`{"events":[{"external_id":"u","name":"e","time":"2099-01-01"}]}`), TrackLimitsDefault, trackNow.In(time.FixedZone("X", 3600)))
	if err != nil {
		t.Fatal(err)
	}
	if got := tr.Ops[0].Event.Time; !got.Equal(trackNow) || got.Location() != time.UTC {
		t.Errorf("clamped to %v", got)
	}
}

// TestParseTrackPerUser: /users/track/bulk takes at most 100 objects for one
// user; those beyond, in processing order, are refused one by one.
func TestParseTrackPerUser(t *testing.T) {
	ev := func(id string) string { return `{"external_id":"` + id + `","name":"e","time":"2025-01-01"}` }
	body := `{` + trackObjects("events", ev("u1"), 50) + `,` +
		trackObjects("attributes", `{"external_id":"u1"}`, 60) + `,` +
		trackObjects("purchases", `{"external_id":"u2","product_id":"p","currency":"USD","price":1,"time":"2025-01-01"}`, 100) + `}`
	// An invalid object does not count against its user.
	body = strings.Replace(body, `"events":[`, `"events":[{"external_id":"u1"},`, 1)
	tr, err := ParseTrack([]byte(body), TrackLimitsBulk, trackNow)
	if err != nil {
		t.Fatal(err)
	}
	// u1: 60 attributes then events 1..40 accepted, events 41..50 refused.
	if tr.Attributes != 60 || tr.Events != 40 || tr.Purchases != 100 || len(tr.Ops) != 200 {
		t.Fatalf("counts %d/%d/%d, %d ops", tr.Attributes, tr.Events, tr.Purchases, len(tr.Ops))
	}
	want := []ObjectError{{Type: "'name' is required", InputArray: "events", Index: 0}}
	for i := 41; i <= 50; i++ {
		want = append(want, ObjectError{Type: "a request may hold at most 100 objects for one user", InputArray: "events", Index: i})
	}
	if d := cmp.Diff(want, tr.Errors); d != "" {
		t.Errorf("errors (-want +got)\n%s", d)
	}
	for i, op := range tr.Ops {
		want := KindPurchase
		switch {
		case i < 60:
			want = KindAttributes
		case i < 100:
			want = KindEvent
		}
		if op.Kind != want {
			t.Fatalf("op %d is %s, want %s", i, op.Kind, want)
		}
	}

	// Different identifier kinds are counted apart; email case does not
	// make a different user.
	var objs []string
	for range 100 {
		objs = append(objs, `{"email":"Ann@Example.com","name":"e","time":"2025-01-01"}`, `{"phone":"+1555","name":"e","time":"2025-01-01"}`)
	}
	objs = append(objs, `{"email":"ann@example.com","name":"e","time":"2025-01-01"}`)
	tr, err = ParseTrack([]byte(`{"events":[`+strings.Join(objs, ",")+`]}`), TrackLimitsBulk, trackNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Ops) != 200 || len(tr.Errors) != 1 || tr.Errors[0].Index != 200 {
		t.Errorf("%d ops, errors %v", len(tr.Ops), tr.Errors)
	}

	// /users/track has no per-user limit.
	tr, err = ParseTrack([]byte(`{`+trackObjects("events", ev("u1"), 75)+`}`), TrackLimitsDefault, trackNow)
	if err != nil || len(tr.Ops) != 75 {
		t.Errorf("default limits: %v", err)
	}
}

// TestParseTrackOpsEncode: every op of a rich request survives the ingest
// log's JSON.
func TestParseTrackOpsEncode(t *testing.T) {
	tr, err := ParseTrack(trackMixA(), TrackLimitsDefault, trackNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Errors) != 0 || len(tr.Ops) != 4 {
		t.Fatalf("errors %v, %d ops", tr.Errors, len(tr.Ops))
	}
	for _, op := range tr.Ops {
		b, err := json.Marshal(op)
		if err != nil {
			t.Fatal(err)
		}
		var back Op
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if b2, _ := json.Marshal(back); string(b2) != string(b) {
			t.Errorf("round trip:\n%s\n%s", b, b2)
		}
	}
}

func FuzzParseTrack(f *testing.F) {
	f.Add([]byte(trackMixA()))
	f.Add([]byte(`{"attributes":[{"external_id":"u1","first_name":"Ann","pets":{"$add":[{"id":1}]},"_merge_objects":true}]}`))
	f.Add([]byte(`{"events":[` + trackEventJSON + `,{"user_alias":{"alias_name":"n","alias_label":"l"},"name":"x","time":"2013-07-16T19:20:30:123-0800","properties":{"a":[1,{"b":null}]}}]}`))
	f.Add([]byte(`{"purchases":[` + trackPurchaseJSON + `,{"email":"a@b.c","product_id":"p","currency":"eur","price":-1,"quantity":3,"time":"2099-01-01"}]}`))
	f.Add([]byte(`{"attributes":[{"phone":"+1","email":null,"push_token_import":true,"push_tokens":[]},null,1,"x"],"events":{}}`))
	f.Add([]byte(`{"attributes":[],"events":[],"purchases":[]}`))
	f.Add([]byte(`{"events":[{"external_id":"u","name":"e","time":"0000-01-01T00:00:00+01:00"}]}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, body []byte) {
		tr, err := ParseTrack(body, TrackLimitsDefault, trackNow)
		if err != nil {
			var e *brazen.Error
			if !errors.As(err, &e) || e.Code != brazen.EINVALID || e.Message == "" {
				t.Fatalf("error %#v is not an EINVALID *brazen.Error", err)
			}
			return
		}
		var top map[string]json.RawMessage
		if err := json.Unmarshal(body, &top); err != nil {
			t.Fatalf("accepted a body encoding/json refuses: %v", err)
		}
		n := 0
		for _, name := range []string{"attributes", "events", "purchases"} {
			var items []json.RawMessage
			json.Unmarshal(top[name], &items)
			n += len(items)
		}
		// An attributes object whose nested attributes alone are invalid is
		// both an op and an error.
		if len(tr.Ops)+len(tr.Errors) < n || len(tr.Ops) > n || len(tr.Errors) > n || len(tr.Ops) == 0 {
			t.Fatalf("%d ops + %d errors for %d objects", len(tr.Ops), len(tr.Errors), n)
		}
		if tr.Attributes+tr.Events+tr.Purchases != len(tr.Ops) {
			t.Fatalf("counts %d+%d+%d for %d ops", tr.Attributes, tr.Events, tr.Purchases, len(tr.Ops))
		}
		for _, op := range tr.Ops {
			if _, err := json.Marshal(op); err != nil {
				t.Fatalf("op %+v does not encode: %v", op, err)
			}
			if op.Kind == KindEvent && op.Event.Time.After(trackNow) || op.Kind == KindPurchase && op.Purchase.Time.After(trackNow) {
				t.Fatalf("time after now: %+v", op)
			}
		}
	})
}

// FuzzTrackScan: the walkers ParseTrack uses on validated JSON agree with
// encoding/json on every valid object and array.
func FuzzTrackScan(f *testing.F) {
	for _, s := range []string{
		`{"a":1,"b":[1,2,{"c":"]}"}],"d":"\"}","a":2}`,
		` { "k\u00e9y" : "v\\" , "n" : -1.5e3 , "t" : true , "z" : null , "o" : { } , "e" : [ ] } `,
		`[1, "two", [3], {"four": 4}, null, false, -0.5E-2]`,
		"[\n]", `{}`, `"x"`, `12`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) || !utf8.Valid(b) {
			return
		}
		b = bytes.TrimSpace(b)
		switch b[0] {
		case '{':
			var want map[string]json.RawMessage
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			got := map[string]json.RawMessage{}
			trackMembers(b, func(k string, v json.RawMessage) { got[k] = v })
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("members of %s (-encoding/json +trackMembers)\n%s", b, d)
			}
		case '[':
			var want []json.RawMessage
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			if got := trackElements(b); len(want) != 0 || len(got) != 0 {
				if d := cmp.Diff(want, got); d != "" {
					t.Fatalf("elements of %s (-encoding/json +trackElements)\n%s", b, d)
				}
			}
		default:
			if end := trackValueEnd(b, 0); end != len(b) {
				t.Fatalf("value %s ends at %d", b, end)
			}
		}
	})
}

// trackMixA is the benchmark's "mix A" request: one attributes object with
// ten attributes and three events with three properties each.
func trackMixA() []byte {
	return []byte(`{
  "attributes": [{
    "external_id": "user-000123",
    "first_name": "Ann", "last_name": "Fisher", "email": "ann@example.com",
    "country": "US", "gender": "F", "dob": "1990-04-02",
    "plan": "pro", "visits": 42, "vip": true, "favourite_colors": ["red", "blue"]
  }],
  "events": [
    {"external_id": "user-000123", "app_id": "app-1", "name": "viewed_item", "time": "2025-05-01T10:00:00Z",
     "properties": {"item_id": "sku-1", "price": 19.99, "in_stock": true}},
    {"external_id": "user-000123", "app_id": "app-1", "name": "added_to_cart", "time": "2025-05-01T10:01:00Z",
     "properties": {"item_id": "sku-1", "quantity": 2, "source": "search"}},
    {"external_id": "user-000123", "app_id": "app-1", "name": "checked_out", "time": "2025-05-01T10:05:00Z",
     "properties": {"order_id": "o-77", "total": 39.98, "items": ["sku-1", "sku-1"]}}
  ]
}`)
}

// trackBody75 is a full /users/track request: 25 objects of each array.
func trackBody75() []byte {
	var b strings.Builder
	b.WriteString(`{"attributes":[`)
	for i := range 25 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"external_id":"user-%d","first_name":"Ann","last_name":"Fisher","plan":"pro","visits":%d,"vip":true}`, i, i)
	}
	b.WriteString(`],"events":[`)
	for i := range 25 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"external_id":"user-%d","name":"viewed_item","time":"2025-05-01T10:00:00Z","properties":{"item_id":"sku-%d","price":19.99,"in_stock":true}}`, i, i)
	}
	b.WriteString(`],"purchases":[`)
	for i := range 25 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"external_id":"user-%d","product_id":"sku-%d","currency":"USD","price":19.99,"quantity":2,"time":"2025-05-01T10:00:00Z","properties":{"color":"red"}}`, i, i)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

func BenchmarkParseTrack(b *testing.B) {
	for _, bb := range []struct {
		name string
		body []byte
		ops  int
	}{{"mixA", trackMixA(), 4}, {"75objects", trackBody75(), 75}} {
		b.Run(bb.name, func(b *testing.B) {
			b.SetBytes(int64(len(bb.body)))
			b.ReportAllocs()
			for b.Loop() {
				tr, err := ParseTrack(bb.body, TrackLimitsDefault, trackNow)
				if err != nil || len(tr.Ops) != bb.ops {
					b.Fatalf("%v, %+v", err, tr)
				}
			}
		})
	}
}

// TestTrackNestedErrorKeepsOtherAttributes: an invalid value inside a nested
// attribute drops the object's nested updates, not the object.
func TestTrackNestedErrorKeepsOtherAttributes(t *testing.T) {
	body := `{"attributes":[{"external_id":"u","first_name":"Ada","pet":{"born":{"$time":"not a date"}}}]}`
	tr, err := ParseTrack([]byte(body), TrackLimitsDefault, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Ops) != 1 || tr.Attributes != 1 || len(tr.Errors) != 1 || tr.Errors[0].InputArray != "attributes" {
		t.Fatalf("ops %d, attributes_processed %d, errors %+v", len(tr.Ops), tr.Attributes, tr.Errors)
	}
	p := &brazen.Profile{}
	profile.Apply(p, tr.Ops[0].Attrs, time.Now())
	if p.Standard["first_name"] != "Ada" || p.Custom["pet"] != nil {
		t.Errorf("applied %v %v, want first_name only", p.Standard, p.Custom)
	}
}
