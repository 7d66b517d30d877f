package profile

import (
	"encoding/json"
	"testing"

	"github.com/brazenhq/brazen/internal/brazen"
)

// benchUpdate is a typical attributes object: ten attributes of the common
// kinds.
const benchUpdate = `{
	"first_name": "Ada", "email": "ada@example.com", "country": "GB",
	"plan": "pro", "visits": {"inc": 1}, "score": 97.5, "vip": true,
	"tags": {"add": ["beta"]}, "last_seen": "2026-01-02T03:04:05Z",
	"prefs": {"theme": "dark", "digest": {"weekly": true}}
}`

// benchProfile holds twenty attributes.
func benchProfile(b *testing.B) *brazen.Profile {
	return &brazen.Profile{
		BrazeID: "b1", ExternalID: "u1", Email: "ada@example.com",
		Standard: object(b, `{"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com",
			"country": "GB", "language": "en", "time_zone": "Europe/London", "gender": "F",
			"email_subscribe": "opted_in"}`),
		Custom: object(b, `{"plan": "free", "visits": 41, "score": 12, "vip": false,
			"tags": ["a", "b", "c"], "last_seen": "2025-12-01T00:00:00Z", "prefs": {"theme": "light"},
			"city": "London", "age": 36, "ltv": 120.5, "referrer": "ad", "cohort": "2024-01"}`),
		CreatedAt: t0, UpdatedAt: t0,
	}
}

func BenchmarkApply(b *testing.B) {
	for _, merge := range []bool{false, true} {
		name := "overwrite"
		if merge {
			name = "merge_objects"
		}
		b.Run(name, func(b *testing.B) {
			u := mustParse(b, benchUpdate, merge)
			p := benchProfile(b)
			b.ReportAllocs()
			for b.Loop() {
				Apply(p, u, t1)
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	f := fields(b, benchUpdate)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(f, false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUpdateJSON is the ingest log's share: encode at accept time,
// decode in the applier.
func BenchmarkUpdateJSON(b *testing.B) {
	u := mustParse(b, benchUpdate, false)
	enc, _ := json.Marshal(u)
	b.Logf("encoded Update: %d bytes", len(enc))
	b.ReportAllocs()
	for b.Loop() {
		data, _ := json.Marshal(u)
		var u2 Update
		if err := json.Unmarshal(data, &u2); err != nil {
			b.Fatal(err)
		}
	}
}
