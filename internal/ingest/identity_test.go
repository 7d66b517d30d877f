package ingest

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/brazenhq/brazen/internal/brazen"
)

// identityParsers are the request decoders of the identity endpoints.
var identityParsers = map[string]func([]byte) ([]Op, error){
	"alias/new": AliasNew, "alias/update": AliasUpdate, "identify": Identify, "merge": Merge, "delete": Delete,
}

// FuzzIdentityParsers: any body gives operations or an EINVALID error with a
// message; never a panic; every operation re-encodes for the log.
func FuzzIdentityParsers(f *testing.F) {
	for _, s := range []string{
		`{"merge_updates":[{"identifier_to_merge":{"external_id":"a"},"identifier_to_keep":{"user_alias":{"alias_name":"n","alias_label":"l"}}}]}`,
		`{"merge_updates":[{"identifier_to_merge":{"email":"a@b.c","prioritization":["identified","most_recently_updated"]},"identifier_to_keep":{"phone":"+1555"}}]}`,
		`{"merge_updates":{}}`, `{"merge_updates":[null]}`, `{"merge_updates":[{"x":1}]}`,
		`{"aliases_to_identify":[{"external_id":"e","user_alias":{"alias_name":"n","alias_label":"l"}}]}`,
		`{"emails_to_identify":[{"external_id":"e","email":"a@b.c","prioritization":["unidentified"]}]}`,
		`{"user_aliases":[{"alias_name":"n","alias_label":"l","external_id":"e"}]}`,
		`{"alias_updates":[{"alias_label":"l","old_alias_name":"a","new_alias_name":"b"}]}`,
		`{"external_ids":["a","b"]}`, `{"email_addresses":[{"email":"a@b.c","prioritization":["identified"]}]}`,
		`{"braze_ids":["x"],"external_ids":["y"]}`, `[]`, `null`, `{"phone_numbers":[{}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for name, parse := range identityParsers {
			ops, err := parse(body)
			if err != nil {
				var e *brazen.Error
				if !errors.As(err, &e) || e.Code != brazen.EINVALID || e.Message == "" {
					t.Fatalf("%s: error %#v is not an EINVALID with a message", name, err)
				}
				continue
			}
			if len(ops) == 0 || len(ops) > MaxItems {
				t.Fatalf("%s: %d operations accepted", name, len(ops))
			}
			if _, err := json.Marshal(ops); err != nil {
				t.Fatalf("%s: operations do not encode: %v", name, err)
			}
		}
	})
}

func TestMergeMessages(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"not an array", `{"merge_updates":{}}`, "'merge_updates' must be an array of objects"},
		{"missing", `{}`, "'merge_updates' must be an array of objects"},
		{"too many", `{"merge_updates":[` + strings.Repeat(`{"identifier_to_merge":{"external_id":"a"},"identifier_to_keep":{"external_id":"b"}},`, 50) +
			`{"identifier_to_merge":{"external_id":"a"},"identifier_to_keep":{"external_id":"b"}}]}`,
			"a single request may not contain more than 50 merge updates"},
		{"bad identifier", `{"merge_updates":[{"identifier_to_merge":{"externalid":"a"},"identifier_to_keep":{"external_id":"b"}}]}`, mergeIdentifierMessage},
		{"extra key", `{"merge_updates":[{"identifier_to_merge":{"external_id":"a"},"identifier_to_keep":{"external_id":"b"},"x":1}]}`,
			"'merge_updates' must only have 'identifier_to_merge' and 'identifier_to_keep'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Merge([]byte(tt.body))
			var e *brazen.Error
			if !errors.As(err, &e) || e.Message != tt.want {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
