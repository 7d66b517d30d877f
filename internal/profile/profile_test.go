package profile

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/brazenhq/brazen/internal/brazen"
)

var (
	t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	t1 = t0.Add(time.Hour)
)

// fields decodes an attributes object the way the ingest layer does.
func fields(t testing.TB, js string) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		t.Fatalf("bad test JSON %s: %v", js, err)
	}
	return m
}

// value decodes JSON as profiles hold it (numbers as json.Number).
func value(t testing.TB, js string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(js))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("bad test JSON %s: %v", js, err)
	}
	return v
}

func object(t testing.TB, js string) map[string]any {
	t.Helper()
	if js == "" {
		return nil
	}
	return value(t, js).(map[string]any)
}

func mustParse(t testing.TB, js string, mergeObjects bool) *Update {
	t.Helper()
	u, err := Parse(fields(t, js), mergeObjects)
	if err != nil {
		t.Fatalf("Parse(%s): %v", js, err)
	}
	return u
}

// applied applies the attributes object js to a profile whose custom
// attributes are start and returns the profile.
func applied(t testing.TB, start, js string, mergeObjects bool) *brazen.Profile {
	t.Helper()
	p := &brazen.Profile{BrazeID: "b1", Custom: object(t, start), CreatedAt: t0, UpdatedAt: t0}
	Apply(p, mustParse(t, js, mergeObjects), t1)
	return p
}

func TestParseErrors(t *testing.T) {
	long := strings.Repeat("é", 256)
	for _, tc := range []struct {
		name  string
		attrs string
		merge bool
		want  string
	}{
		{"first_name number", `{"first_name": 1}`, false, "'first_name' must be a string"},
		{"last_name object", `{"last_name": {}}`, false, "'last_name' must be a string"},
		{"home_city too long", `{"home_city": "` + long + `"}`, false, "'home_city' must be at most 255 characters"},
		{"email bool", `{"email": true}`, false, "'email' must be a string"},
		{"phone number", `{"phone": 123}`, false, "'phone' must be a string"},
		{"country number", `{"country": 36}`, false, "'country' must be a string"},
		{"location string", `{"current_location": "here"}`, false, "'current_location' must be an object with a numeric 'longitude' (-180 to 180) and 'latitude' (-90 to 90)"},
		{"location missing latitude", `{"current_location": {"longitude": 1}}`, false, "'current_location' must be an object with a numeric 'longitude' (-180 to 180) and 'latitude' (-90 to 90)"},
		{"location out of range", `{"current_location": {"longitude": 181, "latitude": 0}}`, false, "'current_location' must be an object with a numeric 'longitude' (-180 to 180) and 'latitude' (-90 to 90)"},
		{"location string numbers", `{"current_location": {"longitude": "1", "latitude": "2"}}`, false, "'current_location' must be an object with a numeric 'longitude' (-180 to 180) and 'latitude' (-90 to 90)"},
		{"first session bad", `{"date_of_first_session": "yesterday"}`, false, "'date_of_first_session' must be a date in ISO 8601 or another format Braze accepts"},
		{"last session number", `{"date_of_last_session": 1700000000}`, false, "'date_of_last_session' must be a date in ISO 8601 or another format Braze accepts"},
		{"spam date bad", `{"marked_email_as_spam_at": "2020-02-30"}`, false, "'marked_email_as_spam_at' must be a date in ISO 8601 or another format Braze accepts"},
		{"dob datetime", `{"dob": "1980-12-21T00:00:00Z"}`, false, "'dob' must be a date in the format YYYY-MM-DD"},
		{"dob not a day", `{"dob": "1981-02-29"}`, false, "'dob' must be a date in the format YYYY-MM-DD"},
		{"dob slashes", `{"dob": "12/21/1980"}`, false, "'dob' must be a date in the format YYYY-MM-DD"},
		{"email_subscribe bad", `{"email_subscribe": "yes"}`, false, "'email_subscribe' must be one of 'opted_in', 'subscribed' or 'unsubscribed'"},
		{"push_subscribe bool", `{"push_subscribe": true}`, false, "'push_subscribe' must be one of 'opted_in', 'subscribed' or 'unsubscribed'"},
		{"open tracking string", `{"email_open_tracking_disabled": "true"}`, false, "'email_open_tracking_disabled' must be a boolean"},
		{"click tracking number", `{"email_click_tracking_disabled": 1}`, false, "'email_click_tracking_disabled' must be a boolean"},
		{"facebook string", `{"facebook": "me"}`, false, "'facebook' must be an object"},
		{"facebook id number", `{"facebook": {"id": 1}}`, false, "'facebook.id' must be a string"},
		{"facebook likes", `{"facebook": {"likes": ["a", 1]}}`, false, "'facebook.likes' must be an array of strings"},
		{"facebook friends float", `{"facebook": {"num_friends": 1.5}}`, false, "'facebook.num_friends' must be an integer"},
		{"twitter array", `{"twitter": []}`, false, "'twitter' must be an object"},
		{"twitter id string", `{"twitter": {"id": "1"}}`, false, "'twitter.id' must be an integer"},
		{"twitter screen_name", `{"twitter": {"screen_name": 5}}`, false, "'twitter.screen_name' must be a string"},
		{"twitter followers", `{"twitter": {"followers_count": "5"}}`, false, "'twitter.followers_count' must be an integer"},
		{"gender word", `{"gender": "female"}`, false, "'gender' must be one of 'M', 'F', 'O', 'N', 'P' or null"},
		{"gender number", `{"gender": 1}`, false, "'gender' must be one of 'M', 'F', 'O', 'N', 'P' or null"},
		{"language name", `{"language": "English"}`, false, "'language' must be an ISO-639-1 language code"},
		{"language unknown", `{"language": "xx"}`, false, "'language' must be an ISO-639-1 language code"},
		{"time_zone number", `{"time_zone": -5}`, false, "'time_zone' must be a string"},
		{"push_tokens object", `{"push_tokens": {"app_id": "a", "token": "t"}}`, false, "'push_tokens' must be an array of objects with 'app_id' and 'token'"},
		{"push_tokens no token", `{"push_tokens": [{"app_id": "a"}]}`, false, "'push_tokens' must be an array of objects with 'app_id' and 'token' strings and an optional 'device_id' string"},
		{"push_tokens device number", `{"push_tokens": [{"app_id": "a", "token": "t", "device_id": 1}]}`, false, "'push_tokens' must be an array of objects with 'app_id' and 'token' strings and an optional 'device_id' string"},
		{"subscription state", `{"subscription_groups": [{"subscription_group_id": "g", "subscription_state": "opted_in"}]}`, false, "'subscription_groups' must be an array of objects with a 'subscription_group_id' string and a 'subscription_state' of 'subscribed' or 'unsubscribed'"},
		{"subscription no id", `{"subscription_groups": [{"subscription_state": "subscribed"}]}`, false, "'subscription_groups' must be an array of objects with a 'subscription_group_id' string and a 'subscription_state' of 'subscribed' or 'unsubscribed'"},

		{"empty name", `{"": 1}`, false, "custom attribute names must not be empty"},
		{"dollar name", `{"$plan": 1}`, false, "custom attribute name '$plan' must not start with '$'"},
		{"long name", `{"` + strings.Repeat("n", 256) + `": 1}`, false, "custom attribute name '" + strings.Repeat("n", 64) + "…' is longer than 255 characters"},
		{"long string", `{"bio": "` + long + `"}`, false, "'bio' must be at most 255 characters"},
		{"inc float", `{"visits": {"inc": 1.5}}`, false, "'visits' can only be incremented by an integer: {\"inc\": 1}"},
		{"inc string", `{"visits": {"inc": "1"}}`, false, "'visits' can only be incremented by an integer: {\"inc\": 1}"},
		{"array of arrays", `{"tags": [["a"]]}`, false, "'tags' values must be strings of at most 255 characters, numbers or booleans"},
		{"array with null", `{"tags": ["a", null]}`, false, "'tags' values must be strings of at most 255 characters, numbers or booleans"},
		{"array long string", `{"tags": ["` + long + `"]}`, false, "'tags' values must be strings of at most 255 characters, numbers or booleans"},
		{"add not array", `{"tags": {"add": "a"}}`, false, "'tags' 'add' must be an array"},
		{"remove objects", `{"tags": {"remove": [{"a": 1}]}}`, false, "'tags' 'remove' values must be strings of at most 255 characters, numbers or booleans"},
		{"first error in name order", `{"b": {"inc": "x"}, "a": {"inc": "y"}}`, false, "'a' can only be incremented by an integer: {\"inc\": 1}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := Parse(fields(t, tc.attrs), tc.merge)
			if err == nil {
				t.Fatalf("Parse(%s) = %+v, want error %q", tc.attrs, u, tc.want)
			}
			if u != nil {
				t.Errorf("Parse(%s) returned an Update with a non-nested error", tc.attrs)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("error = %q\nwant    %q", got, tc.want)
			}
			if code := brazen.ErrorCode(err); code != brazen.EINVALID {
				t.Errorf("error code = %q, want %q", code, brazen.EINVALID)
			}
		})
	}
}

func TestStandard(t *testing.T) {
	for _, tc := range []struct {
		name        string
		startStd    string // p.Standard before, as JSON
		startEmail  string
		attrs       string
		want        string // p.Standard after
		email       string // p.Email after
		phone       string
		ignoredOnly bool // attrs has no attributes at all
	}{
		{name: "names", attrs: `{"first_name": "Ada", "last_name": "Lovelace", "home_city": "London"}`,
			want: `{"first_name": "Ada", "last_name": "Lovelace", "home_city": "London"}`},
		{name: "empty string kept", attrs: `{"first_name": ""}`, want: `{"first_name": ""}`},
		{name: "email normalised", attrs: `{"email": "  Ada@Example.COM "}`, want: `{"email": "ada@example.com"}`, email: "ada@example.com"},
		{name: "phone trimmed", attrs: `{"phone": " +15555550100 "}`, want: `{"phone": "+15555550100"}`, phone: "+15555550100"},
		{name: "empty email unsets", startStd: `{"email": "a@b.c"}`, startEmail: "a@b.c", attrs: `{"email": ""}`, want: `{}`},
		{name: "null email unsets", startStd: `{"email": "a@b.c"}`, startEmail: "a@b.c", attrs: `{"email": null}`, want: `{}`},
		{name: "country code", attrs: `{"country": "au"}`, want: `{"country": "AU"}`},
		{name: "country unmappable unsets", startStd: `{"country": "FR"}`, attrs: `{"country": "Atlantis"}`, want: `{}`},
		{name: "location", attrs: `{"current_location": {"longitude": -73.99, "latitude": 40.75, "alt": 3}}`,
			want: `{"current_location": {"longitude": -73.99, "latitude": 40.75}}`},
		{name: "session dates", attrs: `{"date_of_first_session": "2020-05-28T12:00:00+02:00", "date_of_last_session": "2020-05-28", "marked_email_as_spam_at": "2013-05-21T12:54:33:123Z"}`,
			want: `{"date_of_first_session": "2020-05-28T10:00:00.000Z", "date_of_last_session": "2020-05-28T00:00:00.000Z", "marked_email_as_spam_at": "2013-05-21T12:54:33.123Z"}`},
		{name: "dob", attrs: `{"dob": "1980-02-29"}`, want: `{"dob": "1980-02-29"}`},
		{name: "subscriptions", attrs: `{"email_subscribe": "Opted_In", "push_subscribe": "unsubscribed"}`,
			want: `{"email_subscribe": "opted_in", "push_subscribe": "unsubscribed"}`},
		{name: "tracking flags", attrs: `{"email_open_tracking_disabled": true, "email_click_tracking_disabled": false}`,
			want: `{"email_open_tracking_disabled": true, "email_click_tracking_disabled": false}`},
		{name: "facebook", attrs: `{"facebook": {"id": "123", "likes": ["go", "tea"], "num_friends": 4.0, "extra": 1}}`,
			want: `{"facebook": {"id": "123", "likes": ["go", "tea"], "num_friends": 4}}`},
		{name: "facebook replaces", startStd: `{"facebook": {"id": "1", "num_friends": 2}}`, attrs: `{"facebook": {"num_friends": 3}}`,
			want: `{"facebook": {"num_friends": 3}}`},
		{name: "twitter", attrs: `{"twitter": {"id": 9007199254740993, "screen_name": "ada", "followers_count": 1, "friends_count": 2, "statuses_count": 3}}`,
			want: `{"twitter": {"id": 9007199254740993, "screen_name": "ada", "followers_count": 1, "friends_count": 2, "statuses_count": 3}}`},
		{name: "gender upper", attrs: `{"gender": "f"}`, want: `{"gender": "F"}`},
		{name: "gender null unsets", startStd: `{"gender": "M"}`, attrs: `{"gender": null}`, want: `{}`},
		{name: "language", attrs: `{"language": "EN"}`, want: `{"language": "en"}`},
		{name: "language locale", attrs: `{"language": "pt_BR"}`, want: `{"language": "pt"}`},
		{name: "time zone IANA", attrs: `{"time_zone": "America/New_York"}`, want: `{"time_zone": "America/New_York"}`},
		{name: "time zone Rails", attrs: `{"time_zone": "Eastern Time (US & Canada)"}`, want: `{"time_zone": "America/New_York"}`},
		{name: "time zone invalid ignored", startStd: `{"time_zone": "Europe/Paris"}`, attrs: `{"time_zone": "Mars/Olympus"}`, want: `{"time_zone": "Europe/Paris"}`},
		{name: "push tokens", attrs: `{"push_tokens": [{"app_id": "ios", "token": "t1", "device_id": "d1"}, {"app_id": "ios", "token": "t2"}, {"app_id": "web", "token": "t1", "device_id": "d9"}]}`,
			want: `{"push_tokens": [{"app_id": "ios", "token": "t2", "device_id": "` + deviceID("ios", "t2") + `"}, {"app_id": "web", "token": "t1", "device_id": "d9"}]}`},
		{name: "push tokens add to held", startStd: `{"push_tokens": [{"app_id": "ios", "token": "t1", "device_id": "d1"}, {"app_id": "ios", "token": "t2", "device_id": "d2"}]}`,
			attrs: `{"push_tokens": [{"app_id": "ios", "token": "t1", "device_id": "d3"}, {"app_id": "and", "token": "t3", "device_id": "d4"}]}`,
			want:  `{"push_tokens": [{"app_id": "ios", "token": "t2", "device_id": "d2"}, {"app_id": "ios", "token": "t1", "device_id": "d3"}, {"app_id": "and", "token": "t3", "device_id": "d4"}]}`},
		{name: "push tokens null", startStd: `{"push_tokens": [{"app_id": "ios", "token": "t1", "device_id": "d1"}]}`, attrs: `{"push_tokens": null}`, want: `{}`},
		{name: "subscription groups merge", startStd: `{"subscription_groups": {"g1": "subscribed", "g2": "subscribed"}}`,
			attrs: `{"subscription_groups": [{"subscription_group_id": "g2", "subscription_state": "unsubscribed"}, {"subscription_group_id": "g3", "subscription_state": "subscribed"}]}`,
			want:  `{"subscription_groups": {"g1": "subscribed", "g2": "unsubscribed", "g3": "subscribed"}}`},
		{name: "subscription groups empty", attrs: `{"subscription_groups": []}`, want: `{}`},
		{name: "identifiers and control keys ignored", attrs: `{"external_id": "x", "braze_id": "y", "user_alias": {}, "alias_name": "n", "alias_label": "l", "_merge_objects": true, "_update_existing_only": true, "push_token_import": false}`,
			want: `{}`, ignoredOnly: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &brazen.Profile{Standard: object(t, tc.startStd), Email: tc.startEmail}
			u := mustParse(t, tc.attrs, false)
			Apply(p, u, t1)
			if diff := cmp.Diff(object(t, tc.want), p.Standard, cmp.Comparer(emptyMapEqual)); diff != "" {
				t.Errorf("Standard (-want +got):\n%s", diff)
			}
			if p.Email != tc.email || p.Phone != tc.phone {
				t.Errorf("Email, Phone = %q, %q; want %q, %q", p.Email, p.Phone, tc.email, tc.phone)
			}
			if len(p.Custom) != 0 {
				t.Errorf("Custom = %v, want none", p.Custom)
			}
			if tc.ignoredOnly && (len(u.Standard) != 0 || len(u.Custom) != 0) {
				t.Errorf("Update = %+v, want empty", u)
			}
		})
	}
}

// emptyMapEqual makes a nil map equal an empty one.
func emptyMapEqual(a, b map[string]any) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return cmp.Equal(a, b)
}

func deviceID(app, token string) string {
	v, err := pushTokens([]any{map[string]any{"app_id": app, "token": token}})
	if err != nil {
		panic(err)
	}
	return v.([]any)[0].(map[string]any)["device_id"].(string)
}

func TestParseNotJSON(t *testing.T) {
	for _, raw := range []string{`{"x":`, ``, `1 2`, `"a`} {
		u, err := Parse(map[string]json.RawMessage{"a": json.RawMessage(raw)}, false)
		if u != nil || err == nil || err.Error() != "'a' is not valid JSON" {
			t.Errorf("Parse(%q) = %v, %v", raw, u, err)
		}
	}
}

func TestDeviceIDDerived(t *testing.T) {
	a, b := deviceID("ios", "t1"), deviceID("ios", "t1")
	if a != b || a == deviceID("ios", "t2") || len(a) != 36 {
		t.Errorf("device ids %q %q %q: want stable, distinct, UUID-shaped", a, b, deviceID("ios", "t2"))
	}
}

func TestCountryCode(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"AU", "AU"}, {"au", "AU"}, {"Au", "AU"}, {"AUS", "AU"}, {"usa", "US"},
		{"Australia", "AU"}, {"australia", "AU"}, {"  Australia ", "AU"},
		{"United States", "US"}, {"United States of America", "US"}, {"U.S.A.", "US"}, {"U.S.", "US"},
		{"united kingdom", "GB"}, {"UK", "GB"}, {"Great Britain", "GB"}, {"England", "GB"},
		{"The Netherlands", "NL"}, {"Holland", "NL"},
		{"Côte d'Ivoire", "CI"}, {"Cote d'Ivoire", "CI"}, {"Ivory Coast", "CI"},
		{"South Korea", "KR"}, {"Korea, Republic of", "KR"}, {"North Korea", "KP"},
		{"Bosnia & Herzegovina", "BA"}, {"St. Lucia", "LC"}, {"St Kitts and Nevis", "KN"},
		{"Trinidad & Tobago", "TT"}, {"Türkiye", "TR"}, {"Turkey", "TR"}, {"Czech Republic", "CZ"},
		{"Russia", "RU"}, {"Viet Nam", "VN"}, {"Vietnam", "VN"}, {"Réunion", "RE"},
		{"Democratic Republic of the Congo", "CD"}, {"Republic of the Congo", "CG"}, {"Congo", "CG"},
		{"São Tomé and Príncipe", "ST"}, {"Kosovo", "XK"}, {"GUINEA-BISSAU", "GW"},
		{"Atlantis", ""}, {"", ""}, {"U", ""}, {"ZZ", ""}, {"Europe", ""},
	} {
		got, ok := CountryCode(tc.in)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("CountryCode(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
}

func TestCountryTable(t *testing.T) {
	m, clashes := buildCountryIndex()
	if len(clashes) > 0 {
		t.Errorf("names claimed by several countries: %q", clashes)
	}
	codes := map[string]bool{}
	for _, code := range m {
		codes[code] = true
	}
	if len(codes) != 250 { // ISO 3166-1's 249 and XK
		t.Errorf("%d countries, want 250", len(codes))
	}
}

func TestTimeZone(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"America/New_York", "America/New_York"},
		{"Europe/London", "Europe/London"},
		{"UTC", "UTC"},
		{"Etc/GMT+12", "Etc/GMT+12"},
		{"Eastern Time (US & Canada)", "America/New_York"},
		{"eastern time (us & canada)", "America/New_York"},
		{"Pacific Time (US & Canada)", "America/Los_Angeles"},
		{"Central Time (US & Canada)", "America/Chicago"},
		{"Mountain Time (US & Canada)", "America/Denver"},
		{"Hawaii", "Pacific/Honolulu"},
		{"Tokyo", "Asia/Tokyo"},
		{"Kyiv", "Europe/Kyiv"},
		{"utc", "Etc/UTC"},
		{"Mars/Olympus", ""},
		{"", ""},
		{"Local", ""},
		{"../../etc/passwd", ""},
		{"/etc/localtime", ""},
		{"+05:00", ""},
	} {
		got, ok := timeZone(tc.in)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("timeZone(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
}

func TestRailsZonesLoad(t *testing.T) {
	for _, z := range railsZones {
		if _, err := time.LoadLocation(z[1]); err != nil {
			t.Errorf("%q maps to %q: %v", z[0], z[1], err)
		}
	}
}

func TestLanguages(t *testing.T) {
	if n := len(strings.Fields(iso6391)); n != 184 {
		t.Errorf("%d ISO-639-1 codes, want 184", n)
	}
	for _, tc := range []struct{ in, want string }{
		{"en", "en"}, {"EN", "en"}, {"en-US", "en"}, {"zh-Hant", "zh"}, {"pt_BR", "pt"},
		{"xx", ""}, {"eng", ""}, {"e", ""}, {"", ""}, {"-en", ""},
	} {
		got, ok := languageCode(tc.in)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("languageCode(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
}

func TestCustom(t *testing.T) {
	full := `["a1","a2","a3","a4","a5","a6","a7","a8","a9","a10","a11","a12","a13","a14","a15","a16","a17","a18","a19","a20","a21","a22","a23","a24","a25"]`
	for _, tc := range []struct {
		name  string
		start string // p.Custom before, as JSON
		attrs string
		merge bool
		want  string // p.Custom after
	}{
		{"set scalars", ``, `{"s": "text", "i": 12, "f": 1.50, "b": true, "d": "2020-05-28"}`, false,
			`{"s": "text", "i": 12, "f": 1.50, "b": true, "d": "2020-05-28"}`},
		{"replace type", `{"x": [1]}`, `{"x": "now a string"}`, false, `{"x": "now a string"}`},
		{"null unsets", `{"x": 1, "y": 2}`, `{"x": null}`, false, `{"y": 2}`},
		{"null on missing", ``, `{"x": null}`, false, `{}`},
		{"string of 255", ``, `{"x": "` + strings.Repeat("é", 255) + `"}`, false, `{"x": "` + strings.Repeat("é", 255) + `"}`},

		{"inc missing", ``, `{"n": {"inc": 5}}`, false, `{"n": 5}`},
		{"inc existing", `{"n": 5}`, `{"n": {"inc": -7}}`, false, `{"n": -2}`},
		{"inc 2.0 is an integer", `{"n": 5}`, `{"n": {"inc": 2.0}}`, false, `{"n": 7}`},
		{"inc string counts as 0", `{"n": "five"}`, `{"n": {"inc": 1}}`, false, `{"n": 1}`},
		{"inc bool counts as 0", `{"n": true}`, `{"n": {"inc": 1}}`, false, `{"n": 1}`},
		{"inc float value", `{"n": 1.5}`, `{"n": {"inc": 1}}`, false, `{"n": 2.5}`},
		{"inc past int64", `{"n": 9223372036854775807}`, `{"n": {"inc": 1}}`, false, `{"n": 9223372036854775808}`},
		{"inc big", `{"n": 100000000000000000000}`, `{"n": {"inc": -1}}`, false, `{"n": 99999999999999999999}`},

		{"array replace", `{"t": ["x"]}`, `{"t": ["a", "b"]}`, false, `{"t": ["a", "b"]}`},
		{"array replace dedupes keeping last", ``, `{"t": ["a", "b", "a", 1, 1.0, true, "1"]}`, false, `{"t": ["b", "a", 1.0, true, "1"]}`},
		{"array replace empty", `{"t": ["x"]}`, `{"t": []}`, false, `{"t": []}`},
		{"array replace caps to last 25", ``, `{"t": ["a0",` + full[1:] + `}`, false, `{"t": ` + full + `}`},
		{"add to missing", ``, `{"t": {"add": ["a", "b"]}}`, false, `{"t": ["a", "b"]}`},
		{"add moves to end", `{"t": ["a", "b", "c"]}`, `{"t": {"add": ["a", "d"]}}`, false, `{"t": ["b", "c", "a", "d"]}`},
		{"add number equal", `{"t": [1, 2]}`, `{"t": {"add": [1.0]}}`, false, `{"t": [2, 1.0]}`},
		{"remove", `{"t": ["a", "b", "c"]}`, `{"t": {"remove": ["b", "z"]}}`, false, `{"t": ["a", "c"]}`},
		{"remove all", `{"t": ["a"]}`, `{"t": {"remove": ["a"]}}`, false, `{"t": []}`},
		{"remove from missing", ``, `{"t": {"remove": ["a"]}}`, false, `{}`},
		{"add and remove", `{"t": ["a", "b"]}`, `{"t": {"add": ["c", "x"], "remove": ["a", "x"]}}`, false, `{"t": ["b", "c"]}`},
		{"add beyond 25 drops oldest", `{"t": ` + full + `}`, `{"t": {"add": ["a26", "a27"]}}`, false,
			`{"t": ["a3","a4","a5","a6","a7","a8","a9","a10","a11","a12","a13","a14","a15","a16","a17","a18","a19","a20","a21","a22","a23","a24","a25","a26","a27"]}`},
		{"re-add at 25 keeps all", `{"t": ` + full + `}`, `{"t": {"add": ["a1"]}}`, false,
			`{"t": ["a2","a3","a4","a5","a6","a7","a8","a9","a10","a11","a12","a13","a14","a15","a16","a17","a18","a19","a20","a21","a22","a23","a24","a25","a1"]}`},
		{"add onto a string", `{"t": "x"}`, `{"t": {"add": ["a"]}}`, false, `{"t": ["a"]}`},
		{"add onto objects", `{"t": [{"id": 1}]}`, `{"t": {"add": ["a"]}}`, false, `{"t": ["a"]}`},

		{"object overwrite", `{"o": {"a": 1, "n": {"x": 1, "y": 2}}}`, `{"o": {"b": 2, "n": {"x": 3}}}`, false,
			`{"o": {"b": 2, "n": {"x": 3}}}`},
		{"object merge", `{"o": {"a": 1, "n": {"x": 1, "y": 2}, "l": [1, 2]}}`, `{"o": {"b": 2, "n": {"x": 3, "z": {"q": true}}, "l": [3]}}`, true,
			`{"o": {"a": 1, "b": 2, "n": {"x": 3, "y": 2, "z": {"q": true}}, "l": [3]}}`},
		{"object merge onto missing", ``, `{"o": {"a": 1}}`, true, `{"o": {"a": 1}}`},
		{"object merge onto string", `{"o": "s"}`, `{"o": {"a": 1}}`, true, `{"o": {"a": 1}}`},
		{"object merge replaces non-object", `{"o": {"a": {"x": 1}}}`, `{"o": {"a": 5}}`, true, `{"o": {"a": 5}}`},
		{"object time", ``, `{"o": {"when": {"$time": "2020-05-28T12:00:00+02:00"}, "list": [{"at": {"$time": "05/28/2020"}}]}}`, false,
			`{"o": {"when": {"$time": "2020-05-28T10:00:00.000Z"}, "list": [{"at": {"$time": "2020-05-28T00:00:00.000Z"}}]}}`},
		{"object time merges as a value", `{"o": {"when": {"$time": "2020-01-01T00:00:00.000Z"}}}`, `{"o": {"when": {"$time": "2021-01-01"}}}`, true,
			`{"o": {"when": {"$time": "2021-01-01T00:00:00.000Z"}}}`},
		{"object empty", `{"o": {"a": 1}}`, `{"o": {}}`, false, `{"o": {}}`},
		{"object with inc and more keys", ``, `{"o": {"inc": 1, "x": 2}}`, false, `{"o": {"inc": 1, "x": 2}}`},
		{"object with add and more keys", ``, `{"o": {"add": [1], "x": 2}}`, false, `{"o": {"add": [1], "x": 2}}`},

		{"objects replace", `{"pets": [{"id": 1}]}`, `{"pets": [{"id": 2, "type": "dog"}, {"id": 3, "born": {"$time": "2019-01-01"}}]}`, false,
			`{"pets": [{"id": 2, "type": "dog"}, {"id": 3, "born": {"$time": "2019-01-01T00:00:00.000Z"}}]}`},
		{"objects add to missing", ``, `{"pets": {"$add": [{"id": 1}]}}`, false, `{"pets": [{"id": 1}]}`},
		{"objects add", `{"pets": [{"id": 1}]}`, `{"pets": {"$add": [{"id": 2}, {"id": 1}]}}`, false, `{"pets": [{"id": 1}, {"id": 2}, {"id": 1}]}`},
		{"objects remove all matches", `{"pets": [{"id": 1}, {"id": 2}, {"id": 1.0, "x": 1}, {"name": 1}]}`,
			`{"pets": {"$remove": [{"$identifier_key": "id", "$identifier_value": 1}]}}`, false, `{"pets": [{"id": 2}, {"name": 1}]}`},
		{"objects remove string id", `{"pets": [{"id": "1"}, {"id": 1}]}`,
			`{"pets": {"$remove": [{"$identifier_key": "id", "$identifier_value": "1"}]}}`, false, `{"pets": [{"id": 1}]}`},
		{"objects remove from missing", ``, `{"pets": {"$remove": [{"$identifier_key": "id", "$identifier_value": 1}]}}`, false, `{}`},
		{"objects update merges every match", `{"pets": [{"id": 4, "type": "fish", "o": {"a": 1}}, {"id": 5}, {"id": 4}]}`,
			`{"pets": {"$update": [{"$identifier_key": "id", "$identifier_value": 4, "$new_object": {"breed": "goldfish", "o": {"b": 2}}}]}}`, true,
			`{"pets": [{"id": 4, "type": "fish", "breed": "goldfish", "o": {"a": 1, "b": 2}}, {"id": 5}, {"id": 4, "breed": "goldfish", "o": {"b": 2}}]}`},
		{"objects order add remove update", `{"pets": [{"id": 1, "v": 0}]}`,
			`{"pets": {"$update": [{"$identifier_key": "id", "$identifier_value": 2, "$new_object": {"v": 9}}], "$remove": [{"$identifier_key": "id", "$identifier_value": 1}], "$add": [{"id": 1, "v": 1}, {"id": 2, "v": 2}]}}`, true,
			`{"pets": [{"id": 2, "v": 9}]}`},
		{"objects remove then add is no upsert", `{"pets": [{"id": 1, "v": 0}]}`,
			`{"pets": {"$remove": [{"$identifier_key": "id", "$identifier_value": 1}], "$add": [{"id": 1, "v": 1}]}}`, false,
			`{"pets": []}`},
		{"objects add onto primitives", `{"pets": ["cat"]}`, `{"pets": {"$add": [{"id": 1}]}}`, false, `{"pets": [{"id": 1}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := applied(t, tc.start, tc.attrs, tc.merge)
			if diff := cmp.Diff(object(t, tc.want), p.Custom, cmp.Comparer(emptyMapEqual)); diff != "" {
				t.Errorf("Custom (-want +got):\n%s", diff)
			}
			if len(p.Standard) != 0 {
				t.Errorf("Standard = %v, want none", p.Standard)
			}
		})
	}
}

// TestNestedInvalid: an invalid value inside any nested custom attribute
// drops every nested update of the object; the rest still applies, and the
// error names the place.
func TestNestedInvalid(t *testing.T) {
	const start = `{"o": {"a": 1}, "pets": [{"id": 1}], "k": "old"}`
	const rest = `, "first_name": "Ada", "k": "new", "t": {"add": ["x"]}, "ok": {"b": 2}, "pets2": {"$add": [{"id": 9}]}`
	for _, tc := range []struct {
		name  string
		bad   string
		merge bool
		want  string
	}{
		{"null in object", `"o": {"a": null}`, false, "'o.a' must not be null in a nested attribute"},
		{"deep null", `"o": {"a": {"b": [1, {"c": null}]}}`, false, "'o.a.b[1].c' must not be null in a nested attribute"},
		{"bad time", `"o": {"when": {"$time": "soon"}}`, false, "'o.when.$time' must be a date in ISO 8601 or another format Braze accepts"},
		{"time not a string", `"o": {"when": {"$time": 5}}`, false, "'o.when.$time' must be a date in ISO 8601 or another format Braze accepts"},
		{"dollar key in object", `"o": {"x": {"$foo": 1}}`, false, "'o.x.$foo' is not allowed: keys starting with '$' are operators, and only '$time' may appear inside a nested object, alone"},
		{"time with other keys", `"o": {"when": {"$time": "2020-01-01", "x": 1}}`, false, "'o.when.$time' is not allowed: keys starting with '$' are operators, and only '$time' may appear inside a nested object, alone"},
		{"empty key", `"o": {"": 1}`, false, "'o' must not have an empty key"},
		{"array in array", `"o": {"m": [[1]]}`, false, "'o.m[0]' must not be an array: arrays cannot hold arrays"},
		{"mixed array", `"pets": [{"id": 1}, 2]`, false, "'pets[1]' must be an object: an array holding objects must hold only objects"},
		{"null in array of objects", `"pets": [{"id": null}]`, false, "'pets[0].id' must not be null in a nested attribute"},
		{"update without merge", `"pets": {"$update": [{"$identifier_key": "id", "$identifier_value": 1, "$new_object": {"x": 1}}]}`, false,
			"'pets' '$update' requires '_merge_objects' to be true"},
		{"update missing new object", `"pets": {"$update": [{"$identifier_key": "id", "$identifier_value": 1}]}`, true,
			"'pets' '$update' must be an array of objects with '$identifier_key', '$identifier_value' and '$new_object'"},
		{"update null inside", `"pets": {"$update": [{"$identifier_key": "id", "$identifier_value": 1, "$new_object": {"x": null}}]}`, true,
			"'pets.$new_object.x' must not be null in a nested attribute"},
		{"remove extra key", `"pets": {"$remove": [{"$identifier_key": "id", "$identifier_value": 1, "x": 1}]}`, false,
			"'pets' '$remove' must be an array of objects with '$identifier_key' and '$identifier_value'"},
		{"remove object value", `"pets": {"$remove": [{"$identifier_key": "id", "$identifier_value": {}}]}`, false,
			"'pets' '$remove' must be an array of objects with '$identifier_key' and '$identifier_value'"},
		{"add not objects", `"pets": {"$add": [1]}`, false, "'pets[0]' must be an object: an array holding objects must hold only objects"},
		{"add not array", `"pets": {"$add": {"id": 1}}`, false, "'pets' '$add' must be an array of objects"},
		{"unknown operator", `"pets": {"$push": [{"id": 1}]}`, false,
			"'pets' '$push' is not allowed: an object with $ operators may only hold '$add', '$remove' and '$update'"},
		{"operators mixed with keys", `"pets": {"$add": [{"id": 1}], "x": 1}`, false,
			"'pets' 'x' is not allowed: an object with $ operators may only hold '$add', '$remove' and '$update'"},
		{"top-level time", `"o": {"$time": "2020-01-01"}`, false, "'o' '$time' is only allowed inside a nested object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := Parse(fields(t, `{`+tc.bad+rest+`}`), tc.merge)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error = %v\nwant    %q", err, tc.want)
			}
			if u == nil {
				t.Fatal("Update is nil: the object's other attributes must still apply")
			}
			p := &brazen.Profile{Custom: object(t, start)}
			Apply(p, u, t1)
			want := object(t, `{"o": {"a": 1}, "pets": [{"id": 1}], "k": "new", "t": ["x"]}`)
			if diff := cmp.Diff(want, p.Custom); diff != "" {
				t.Errorf("Custom (-want +got):\n%s", diff)
			}
			if p.Standard["first_name"] != "Ada" {
				t.Errorf("first_name not applied: %v", p.Standard)
			}
		})
	}
}

// TestNonNestedErrorWins: an error outside nested attributes refuses the
// whole object even when a nested one is also bad.
func TestNonNestedErrorWins(t *testing.T) {
	u, err := Parse(fields(t, `{"a": {"x": null}, "z": {"inc": "x"}}`), false)
	if u != nil || err == nil || err.Error() != `'z' can only be incremented by an integer: {"inc": 1}` {
		t.Errorf("Parse = %v, %v", u, err)
	}
}

func TestNestedSizeLimit(t *testing.T) {
	big := strings.Repeat("x", 1000)
	obj := func(n int) string {
		var b strings.Builder
		b.WriteString("[")
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(`{"v":"` + big + `"}`)
		}
		b.WriteString("]")
		return b.String()
	}
	// Each element is 1,010 bytes ({"v":"…"}) plus a comma: 101 fit in 100 KB, 102 do not.
	fits, over := obj(101), obj(102)
	for _, tc := range []struct {
		name, start, attrs, want string
		merge                    bool
	}{
		{name: "replace within limit", attrs: `{"l": ` + fits + `}`, want: `{"l": ` + fits + `}`},
		{name: "replace over limit dropped", start: `{"l": [{"v": 1}]}`, attrs: `{"l": ` + over + `}`, want: `{"l": [{"v": 1}]}`},
		{name: "add within limit", start: `{"l": ` + fits + `}`, attrs: `{"l": {"$add": [{"v": 1}]}}`, want: `{"l": ` + fits[:len(fits)-1] + `,{"v": 1}]}`},
		{name: "add over limit dropped", start: `{"l": ` + fits + `}`, attrs: `{"l": {"$add": [{"v": "` + big + `"}]}}`, want: `{"l": ` + fits + `}`},
		{name: "object over limit dropped", start: `{"o": {"a": 1}}`, attrs: `{"o": {"x": ` + over + `}}`, want: `{"o": {"a": 1}}`},
		{name: "merge over limit dropped", start: `{"o": {"x": ` + fits + `}}`, attrs: `{"o": {"y": ` + obj(2) + `}}`, merge: true, want: `{"o": {"x": ` + fits + `}}`},
		{name: "other attributes unaffected", attrs: `{"l": ` + over + `, "s": "ok"}`, want: `{"s": "ok"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := applied(t, tc.start, tc.attrs, tc.merge)
			if want := object(t, tc.want); !cmp.Equal(want, p.Custom) {
				got, _ := json.Marshal(p.Custom)
				wantJSON, _ := json.Marshal(want)
				t.Errorf("Custom is %d bytes of JSON (%.60s…), want %d (%.60s…)", len(got), got, len(wantJSON), wantJSON)
			}
		})
	}
	b, _ := json.Marshal(value(t, fits))
	if len(b) > MaxNestedSize || len(b)+1011 <= MaxNestedSize {
		t.Fatalf("test arrays are %d bytes, not at the limit", len(b))
	}
	for _, js := range []string{fits, over, `{"a":"q\"\\\n\u0001é","b":[true,false,null,1.5e3]}`} {
		v := value(t, js)
		b, _ := json.Marshal(v)
		if got := jsonSize(v, 1<<30); got != len(b) && !bytes.Contains(b, []byte(`\u`)) {
			t.Errorf("jsonSize(%.40s…) = %d, encoding is %d bytes", js, got, len(b))
		}
	}
}

func TestApplyTimestamps(t *testing.T) {
	p := &brazen.Profile{}
	Apply(p, mustParse(t, `{"a": 1}`, false), t0)
	if !p.CreatedAt.Equal(t0) || !p.UpdatedAt.Equal(t0) {
		t.Errorf("new profile: created %v updated %v, want both %v", p.CreatedAt, p.UpdatedAt, t0)
	}
	Apply(p, mustParse(t, `{"a": 2}`, false), t1)
	if !p.CreatedAt.Equal(t0) || !p.UpdatedAt.Equal(t1) {
		t.Errorf("existing profile: created %v updated %v, want %v, %v", p.CreatedAt, p.UpdatedAt, t0, t1)
	}
	Apply(p, nil, t1.Add(time.Hour))
	if !p.UpdatedAt.Equal(t1.Add(time.Hour)) {
		t.Errorf("nil Update: updated %v", p.UpdatedAt)
	}
}

// TestApplyShares: values stored on a profile share no memory with the
// Update or with values a caller kept from before Apply.
func TestApplyShares(t *testing.T) {
	const attrs = `{"o": {"n": {"x": 1}}, "l": ["a"], "pets": [{"id": 1}], "current_location": {"longitude": 1, "latitude": 2}}`
	u := mustParse(t, attrs, false)
	p1, p2, want := &brazen.Profile{}, &brazen.Profile{}, &brazen.Profile{}
	Apply(p1, u, t0)
	Apply(p2, u, t0)
	Apply(want, mustParse(t, attrs, false), t0)
	p1.Custom["o"].(map[string]any)["n"].(map[string]any)["x"] = "changed"
	p1.Custom["l"].([]any)[0] = "changed"
	p1.Custom["pets"].([]any)[0].(map[string]any)["id"] = "changed"
	p1.Standard["current_location"].(map[string]any)["latitude"] = "changed"
	if diff := cmp.Diff(want, p2); diff != "" {
		t.Errorf("second profile changed with the first (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(mustParse(t, attrs, false), u); diff != "" {
		t.Errorf("Update changed with the profile (-want +got):\n%s", diff)
	}

	before := object(t, `{"o": {"n": {"x": 1}}, "l": ["a"], "pets": [{"id": 1, "v": {"a": 1}}]}`)
	p := &brazen.Profile{Custom: map[string]any{}}
	for k, v := range before {
		p.Custom[k] = v
	}
	Apply(p, mustParse(t, `{"o": {"n": {"y": 2}}, "l": {"add": ["b"]}, "pets": {"$update": [{"$identifier_key": "id", "$identifier_value": 1, "$new_object": {"v": {"b": 2}}}]}}`, true), t0)
	if diff := cmp.Diff(object(t, `{"o": {"n": {"x": 1}}, "l": ["a"], "pets": [{"id": 1, "v": {"a": 1}}]}`), before); diff != "" {
		t.Errorf("values held before Apply were modified (-want +got):\n%s", diff)
	}
}

// roundTripCases are attribute objects covering every Op kind and shape.
var roundTripCases = []struct {
	attrs string
	merge bool
}{
	{`{"first_name": "Ada", "email": "A@B.C", "phone": "+1", "country": "Australia", "gender": "f", "dob": "1980-01-02", "language": "EN"}`, false},
	{`{"current_location": {"longitude": -73.99, "latitude": 40.75}, "date_of_first_session": "2020-05-28T12:00:00Z", "email_subscribe": "opted_in", "email_open_tracking_disabled": false}`, false},
	{`{"facebook": {"id": "1", "likes": ["a"], "num_friends": 3}, "twitter": {"id": 1234567890123456789, "screen_name": "x"}, "time_zone": "Hawaii"}`, false},
	{`{"push_tokens": [{"app_id": "a", "token": "t"}], "subscription_groups": [{"subscription_group_id": "g", "subscription_state": "subscribed"}]}`, false},
	{`{"country": "nowhere", "home_city": null, "last_name": null}`, false},
	{`{"s": "x", "n": 1.50, "big": 123456789012345678901234567890, "b": false, "null": null, "e": 1e3}`, false},
	{`{"n": {"inc": 3}, "m": {"inc": -9223372036854775808}, "z": {"inc": 0}}`, false},
	{`{"t": ["a", 1, true, 2.5], "u": [], "v": {"add": ["x", 2]}, "w": {"remove": [false]}, "y": {"add": [], "remove": []}}`, false},
	{`{"o": {"a": 1, "b": {"c": [1, {"d": {"$time": "2020-01-01"}}]}, "e": ""}, "p": {}}`, false},
	{`{"o": {"a": 1.0, "b": {"c": "d"}}}`, true},
	{`{"pets": [{"id": 1, "tags": ["a"]}], "more": {"$add": [{"id": 2}], "$remove": [{"$identifier_key": "id", "$identifier_value": 1.5}], "$update": [{"$identifier_key": "id", "$identifier_value": "x", "$new_object": {"n": {"m": 1}}}]}}`, true},
	{`{"bad": {"x": null}, "good": 1}`, false},
}

// seeded is a profile holding something under most names the round-trip
// cases touch, so that every op kind does real work.
func seeded(t testing.TB) *brazen.Profile {
	return &brazen.Profile{
		BrazeID: "b1",
		Email:   "old@example.com",
		Standard: object(t, `{"email": "old@example.com", "home_city": "Paris", "last_name": "L",
			"push_tokens": [{"app_id": "a", "token": "t0", "device_id": "d0"}],
			"subscription_groups": {"g0": "unsubscribed"}}`),
		Custom: object(t, `{"n": 41, "m": 5, "v": ["q", 2.0], "w": [true, false], "o": {"x": 1, "b": {"y": 2}},
			"more": [{"id": 1.5}, {"id": "x", "n": {"k": 0}}], "null": "gone", "t": ["old"]}`),
		CreatedAt: t0,
		UpdatedAt: t0,
	}
}

func TestUpdateRoundTrip(t *testing.T) {
	for _, tc := range roundTripCases {
		t.Run(tc.attrs, func(t *testing.T) {
			u, _ := Parse(fields(t, tc.attrs), tc.merge)
			if u == nil {
				t.Fatal("Parse gave no Update")
			}
			b, err := json.Marshal(u)
			if err != nil {
				t.Fatal(err)
			}
			var u2 Update
			if err := json.Unmarshal(b, &u2); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(u, &u2); diff != "" {
				t.Errorf("Update changed in JSON %s (-before +after):\n%s", b, diff)
			}
			p1, p2 := seeded(t), seeded(t)
			Apply(p1, u, t1)
			Apply(p2, &u2, t1)
			if diff := cmp.Diff(p1, p2); diff != "" {
				t.Errorf("profiles differ (-original +decoded):\n%s", diff)
			}
		})
	}
}

// TestUpdateJSON pins the log format: short keys, numbers kept as written.
func TestUpdateJSON(t *testing.T) {
	u := mustParse(t, `{"first_name": "Ada", "n": {"inc": 2}, "f": 1.50, "gone": null, "t": {"add": ["a"]}}`, false)
	b, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"s":[{"n":"first_name","k":"set","v":"Ada"}],"c":[{"n":"f","k":"set","v":1.50},{"n":"gone","k":"unset"},{"n":"n","k":"inc","v":2},{"n":"t","k":"array","add":["a"]}]}`
	if string(b) != want {
		t.Errorf("JSON = %s\nwant   %s", b, want)
	}
	// An Update embedded in another document decodes the same way.
	var op struct {
		A *Update `json:"a"`
	}
	if err := json.Unmarshal([]byte(`{"a":`+want+`}`), &op); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(u, op.A); diff != "" {
		t.Errorf("embedded decode (-want +got):\n%s", diff)
	}
}
