package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/httpx"
)

// MaxItems is Braze's limit on the items of one identity request (aliases,
// identifies, merges, deletes, renames, removals).
const MaxItems = 50

// MaxAliasBytes bounds alias_name and alias_label.
const MaxAliasBytes = 236

func invalid(format string, args ...any) *brazen.Error {
	return &brazen.Error{Code: brazen.EINVALID, Message: fmt.Sprintf(format, args...)}
}

// decodeObject decodes a JSON object body into its fields.
func decodeObject(body []byte) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := httpx.DecodeJSON(body, &m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, invalid("the request body must be a JSON object")
	}
	return m, nil
}

// items decodes field as an array of objects with at most MaxItems items.
// A missing field gives nil, false.
func items(m map[string]json.RawMessage, field string) ([]map[string]json.RawMessage, bool, error) {
	raw, ok := m[field]
	if !ok || isNull(raw) {
		return nil, false, nil
	}
	var list []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil || hasNil(list) {
		return nil, true, invalid("'%s' must be an array of objects", field)
	}
	if len(list) > MaxItems {
		return nil, true, invalid("a single request may not contain more than %d items in '%s'", MaxItems, field)
	}
	return list, true, nil
}

func hasNil(list []map[string]json.RawMessage) bool {
	return slices.ContainsFunc(list, func(m map[string]json.RawMessage) bool { return m == nil })
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

// str reads a required non-empty string field.
func str(m map[string]json.RawMessage, field string) (string, error) {
	var s string
	raw, ok := m[field]
	if !ok || json.Unmarshal(raw, &s) != nil || s == "" {
		return "", fmt.Errorf("'%s' must be a non-empty string", field)
	}
	return s, nil
}

// optStr reads an optional string field.
func optStr(m map[string]json.RawMessage, field string) (string, bool, error) {
	raw, ok := m[field]
	if !ok || isNull(raw) {
		return "", false, nil
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", true, fmt.Errorf("'%s' must be a string", field)
	}
	return s, true, nil
}

// parseAlias reads a user alias object.
func parseAlias(raw json.RawMessage) (*brazen.Alias, error) {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || m == nil {
		return nil, fmt.Errorf("'user_alias' must be an object with 'alias_name' and 'alias_label'")
	}
	return aliasFields(m, "alias_name", "alias_label")
}

func aliasFields(m map[string]json.RawMessage, nameField, labelField string) (*brazen.Alias, error) {
	name, err := str(m, nameField)
	if err != nil {
		return nil, err
	}
	label, err := str(m, labelField)
	if err != nil {
		return nil, err
	}
	if len(name) > MaxAliasBytes || len(label) > MaxAliasBytes {
		return nil, fmt.Errorf("'%s' and '%s' must be at most %d bytes", nameField, labelField, MaxAliasBytes)
	}
	return &brazen.Alias{Name: name, Label: label}, nil
}

var prioritizations = []string{"identified", "unidentified", "most_recently_updated", "least_recently_updated"}

// parsePrioritization reads a required prioritization array.
func parsePrioritization(m map[string]json.RawMessage, allowed []string) ([]string, error) {
	raw, ok := m["prioritization"]
	var p []string
	if !ok || json.Unmarshal(raw, &p) != nil || len(p) == 0 {
		return nil, fmt.Errorf("'prioritization' must be a non-empty array of: %s", quoteList(allowed))
	}
	for _, v := range p {
		if !slices.Contains(allowed, v) {
			return nil, fmt.Errorf("'prioritization' has %q; allowed values are %s", v, quoteList(allowed))
		}
	}
	if slices.Contains(p, "identified") && slices.Contains(p, "unidentified") {
		return nil, fmt.Errorf("'prioritization' may hold only one of 'identified' and 'unidentified'")
	}
	return p, nil
}

func quoteList(l []string) string {
	var b bytes.Buffer
	for i, s := range l {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "'%s'", s)
	}
	return b.String()
}

// AliasNew parses /users/alias/new.
func AliasNew(body []byte) ([]Op, error) {
	m, err := decodeObject(body)
	if err != nil {
		return nil, err
	}
	list, ok, err := items(m, "user_aliases")
	if err != nil {
		return nil, err
	}
	if !ok || len(list) == 0 {
		return nil, invalid("'user_aliases' must be a non-empty array of objects")
	}
	ops := make([]Op, 0, len(list))
	for i, it := range list {
		a, err := aliasFields(it, "alias_name", "alias_label")
		if err != nil {
			return nil, invalid("user_aliases[%d]: %s", i, err)
		}
		ext, _, err := optStr(it, "external_id")
		if err != nil {
			return nil, invalid("user_aliases[%d]: %s", i, err)
		}
		ops = append(ops, Op{Kind: KindAliasNew, ID: brazen.Identifier{ExternalID: ext}, Alias: a})
	}
	return ops, nil
}

// AliasUpdate parses /users/alias/update.
func AliasUpdate(body []byte) ([]Op, error) {
	m, err := decodeObject(body)
	if err != nil {
		return nil, err
	}
	list, ok, err := items(m, "alias_updates")
	if err != nil {
		return nil, err
	}
	if !ok || len(list) == 0 {
		return nil, invalid("'alias_updates' must be a non-empty array of objects")
	}
	ops := make([]Op, 0, len(list))
	for i, it := range list {
		old, err := aliasFields(it, "old_alias_name", "alias_label")
		if err == nil {
			_, err = aliasFields(it, "new_alias_name", "alias_label")
		}
		if err != nil {
			return nil, invalid("alias_updates[%d]: %s", i, err)
		}
		next, _ := str(it, "new_alias_name")
		ops = append(ops, Op{Kind: KindAliasUpdate, Alias: old, NewName: next})
	}
	return ops, nil
}

// Identify parses /users/identify.
func Identify(body []byte) ([]Op, error) {
	m, err := decodeObject(body)
	if err != nil {
		return nil, err
	}
	var ops []Op
	kinds := 0
	for _, field := range []string{"aliases_to_identify", "emails_to_identify", "phone_numbers_to_identify"} {
		list, ok, err := items(m, field)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		kinds++
		for i, it := range list {
			ext, err := str(it, "external_id")
			if err != nil {
				return nil, invalid("%s[%d]: %s", field, i, err)
			}
			op := Op{Kind: KindIdentify, Target: &brazen.Identifier{ExternalID: ext}}
			switch field {
			case "aliases_to_identify":
				op.ID.Alias, err = parseAlias(it["user_alias"])
			case "emails_to_identify":
				if op.ID.Email, err = str(it, "email"); err == nil {
					op.ID.Prioritization, err = parsePrioritization(it, prioritizations)
				}
			default:
				if op.ID.Phone, err = str(it, "phone"); err == nil {
					op.ID.Prioritization, err = parsePrioritization(it, prioritizations)
				}
			}
			if err != nil {
				return nil, invalid("%s[%d]: %s", field, i, err)
			}
			ops = append(ops, op)
		}
	}
	if kinds == 0 || len(ops) == 0 {
		return nil, invalid("give one of 'aliases_to_identify', 'emails_to_identify' or 'phone_numbers_to_identify', as a non-empty array")
	}
	if len(ops) > MaxItems {
		return nil, invalid("a single request may not contain more than %d identifications", MaxItems)
	}
	return ops, nil
}

const mergeIdentifierMessage = "identifiers must be objects with an 'external_id' property that is a string, 'user_alias' property that is an object, 'email' property that is a string, or 'phone' property that is a string"

// mergeIdentifier reads one side of a merge update.
func mergeIdentifier(raw json.RawMessage) (*brazen.Identifier, error) {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || m == nil {
		return nil, invalid(mergeIdentifierMessage)
	}
	id := &brazen.Identifier{}
	var err error
	switch {
	case m["external_id"] != nil:
		id.ExternalID, err = str(m, "external_id")
	case m["user_alias"] != nil:
		id.Alias, err = parseAlias(m["user_alias"])
	case m["email"] != nil:
		if id.Email, err = str(m, "email"); err == nil {
			id.Prioritization, err = parsePrioritization(m, prioritizations)
		}
	case m["phone"] != nil:
		if id.Phone, err = str(m, "phone"); err == nil {
			id.Prioritization, err = parsePrioritization(m, prioritizations)
		}
	default:
		return nil, invalid(mergeIdentifierMessage)
	}
	if err != nil {
		return nil, &brazen.Error{Code: brazen.EINVALID, Message: mergeIdentifierMessage, Details: []string{err.Error()}}
	}
	return id, nil
}

// Merge parses /users/merge with Braze's error messages.
func Merge(body []byte) ([]Op, error) {
	m, err := decodeObject(body)
	if err != nil {
		return nil, err
	}
	var list []map[string]json.RawMessage
	if raw, ok := m["merge_updates"]; !ok || json.Unmarshal(raw, &list) != nil || hasNil(list) || len(list) == 0 {
		return nil, invalid("'merge_updates' must be an array of objects")
	}
	if len(list) > MaxItems {
		return nil, invalid("a single request may not contain more than %d merge updates", MaxItems)
	}
	ops := make([]Op, 0, len(list))
	for _, it := range list {
		for k := range it {
			if k != "identifier_to_merge" && k != "identifier_to_keep" {
				return nil, invalid("'merge_updates' must only have 'identifier_to_merge' and 'identifier_to_keep'")
			}
		}
		src, err := mergeIdentifier(it["identifier_to_merge"])
		if err != nil {
			return nil, err
		}
		keep, err := mergeIdentifier(it["identifier_to_keep"])
		if err != nil {
			return nil, err
		}
		ops = append(ops, Op{Kind: KindMerge, ID: *src, Target: keep})
	}
	return ops, nil
}

// Delete parses /users/delete: exactly one kind of identifier.
func Delete(body []byte) ([]Op, error) {
	m, err := decodeObject(body)
	if err != nil {
		return nil, err
	}
	fields := []string{"external_ids", "user_aliases", "braze_ids", "email_addresses", "phone_numbers"}
	var given []string
	for _, f := range fields {
		if raw, ok := m[f]; ok && !isNull(raw) {
			given = append(given, f)
		}
	}
	if len(given) != 1 {
		return nil, invalid("give exactly one of %s", quoteList(fields))
	}
	field := given[0]
	var ops []Op
	switch field {
	case "external_ids", "braze_ids":
		var ids []string
		if json.Unmarshal(m[field], &ids) != nil || slices.Contains(ids, "") {
			return nil, invalid("'%s' must be an array of non-empty strings", field)
		}
		for _, id := range ids {
			op := Op{Kind: KindDelete}
			if field == "external_ids" {
				op.ID.ExternalID = id
			} else {
				op.ID.BrazeID = id
			}
			ops = append(ops, op)
		}
	default:
		var n []json.RawMessage
		if json.Unmarshal(m[field], &n) == nil && len(n) > MaxItems {
			return nil, invalid("The max number of ids per request was exceeded")
		}
		list, _, err := items(m, field)
		if err != nil {
			return nil, err
		}
		deletePrio := []string{"identified", "unidentified", "most_recently_updated"}
		for i, it := range list {
			op := Op{Kind: KindDelete}
			switch field {
			case "user_aliases":
				op.ID.Alias, err = aliasFields(it, "alias_name", "alias_label")
			case "email_addresses":
				if op.ID.Email, err = str(it, "email"); err == nil {
					op.ID.Prioritization, err = parsePrioritization(it, deletePrio)
				}
			default:
				if op.ID.Phone, err = str(it, "phone"); err == nil {
					op.ID.Prioritization, err = parsePrioritization(it, deletePrio)
				}
			}
			if err != nil {
				return nil, invalid("%s[%d]: %s", field, i, err)
			}
			ops = append(ops, op)
		}
	}
	if len(ops) == 0 {
		return nil, invalid("'%s' must not be empty", field)
	}
	if len(ops) > MaxItems {
		return nil, invalid("The max number of ids per request was exceeded")
	}
	return ops, nil
}

// Rename is one /users/external_ids/rename item.
type Rename struct{ Current, New string }

// ParseRenames parses /users/external_ids/rename. A malformed item is
// reported in its place (err set), not as a fatal error, as Braze does.
func ParseRenames(body []byte) ([]Rename, []error, error) {
	m, err := decodeObject(body)
	if err != nil {
		return nil, nil, err
	}
	list, ok, err := items(m, "external_id_renames")
	if err != nil {
		return nil, nil, err
	}
	if !ok || len(list) == 0 {
		return nil, nil, invalid("'external_id_renames' must be a non-empty array of objects")
	}
	out := make([]Rename, len(list))
	errs := make([]error, len(list))
	for i, it := range list {
		cur, err := str(it, "current_external_id")
		if err == nil {
			out[i].New, err = str(it, "new_external_id")
		}
		out[i].Current, errs[i] = cur, err
	}
	return out, errs, nil
}

// ParseRemovals parses /users/external_ids/remove.
func ParseRemovals(body []byte) ([]string, error) {
	m, err := decodeObject(body)
	if err != nil {
		return nil, err
	}
	var ids []string
	if raw, ok := m["external_ids"]; !ok || json.Unmarshal(raw, &ids) != nil || len(ids) == 0 {
		return nil, invalid("'external_ids' must be a non-empty array of strings")
	}
	if len(ids) > MaxItems {
		return nil, invalid("a single request may not contain more than %d external ids", MaxItems)
	}
	return ids, nil
}
