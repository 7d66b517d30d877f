package profile

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParse: Parse never panics on any attributes object; whatever Update
// it returns applies without panicking, survives the ingest log (JSON)
// unchanged, and applies the same after the trip.
func FuzzParse(f *testing.F) {
	for _, tc := range roundTripCases {
		f.Add([]byte(tc.attrs), tc.merge)
	}
	for _, s := range []string{
		`{"o": {"a": {"$time": "2020-02-30"}}, "x": 1}`,
		`{"pets": {"$update": [{"$identifier_key": "id", "$identifier_value": 1, "$new_object": {"a": [1, {"b": null}]}}]}}`,
		`{"n": {"inc": 1e400}, "m": {"inc": -0}, "t": ["a", "a", 1, 1.0, true]}`,
		`{"time_zone": "Eastern Time (US & Canada)", "country": "côte d'ivoire", "gender": "p"}`,
		`{"current_location": {"longitude": 1e-400, "latitude": -0.0}}`,
		`{"$x": 1, "": 2}`,
		`{"date_of_first_session": "Thu May 28 12:34:56 EDT 2020", "dob": "2000-02-29"}`,
	} {
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, mergeObjects bool) {
		var m map[string]json.RawMessage
		if json.Unmarshal(data, &m) != nil {
			return
		}
		u, err := Parse(m, mergeObjects)
		if u == nil {
			if err == nil {
				t.Fatal("Parse returned neither an Update nor an error")
			}
			return
		}
		b, err := json.Marshal(u)
		if err != nil {
			t.Fatalf("Marshal(%+v): %v", u, err)
		}
		var u2 Update
		if err := json.Unmarshal(b, &u2); err != nil {
			t.Fatalf("Unmarshal(%s): %v", b, err)
		}
		if diff := cmp.Diff(u, &u2); diff != "" {
			t.Fatalf("Update changed in JSON %s (-before +after):\n%s", b, diff)
		}
		if b2, _ := json.Marshal(&u2); !bytes.Equal(b, b2) {
			t.Fatalf("JSON changed on a second trip:\n%s\n%s", b, b2)
		}
		p1, p2 := seeded(t), seeded(t)
		Apply(p1, u, t1)
		Apply(p2, &u2, t1)
		if diff := cmp.Diff(p1, p2); diff != "" {
			t.Fatalf("profiles differ (-original +decoded):\n%s", diff)
		}
		if _, err := json.Marshal(p1); err != nil {
			t.Fatalf("profile cannot be encoded: %v", err)
		}
	})
}
