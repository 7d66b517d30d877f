package message

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/profile"
)

// The request is walked as nested maps of raw JSON rather than unmarshalled
// into tagged structs: encoding/json's type errors name neither the full
// path nor Braze's wording, and it cannot tell a missing field from null or
// from a zero value, which several rules depend on.

// badRequest is Braze's generic 400, with a detail saying what is wrong.
func badRequest(format string, args ...any) *brazen.Error {
	return &brazen.Error{Code: brazen.EINVALID, Message: "Bad Request", Details: []string{fmt.Sprintf(format, args...)}}
}

// brazeError is one of Braze's documented 400 messages, with a detail.
func brazeError(message, format string, args ...any) *brazen.Error {
	return &brazen.Error{Code: brazen.EINVALID, Message: message, Details: []string{fmt.Sprintf(format, args...)}}
}

// JSON kinds, by the first byte of a (valid) value.
const (
	kindNull   = 'n'
	kindString = '"'
	kindObject = '{'
	kindArray  = '['
	kindBool   = 'b'
	kindNumber = '0'
)

func kindOf(raw json.RawMessage) byte {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return kindNull
	}
	switch c := raw[0]; c {
	case 'n', '"', '{', '[':
		return c
	case 't', 'f':
		return kindBool
	}
	return kindNumber
}

// obj is one JSON object of the request and its path from the body's root,
// which every error names ("messages.email.from").
type obj struct {
	path string
	m    map[string]json.RawMessage
}

// asObject decodes raw, a valid JSON value, as the object at path.
func asObject(path string, raw json.RawMessage) (*obj, error) {
	if kindOf(raw) != kindObject {
		return nil, badRequest("%s must be an object", path)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, badRequest("%s must be an object", path)
	}
	return &obj{path: path, m: m}, nil
}

// at is the path of the object's field key.
func (o *obj) at(key string) string { return join(o.path, key) }

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// index is the path of item i of the array at path.
func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// mapKey is the path of key in the map at path; quoted, since map keys
// (header names, extras) may hold dots and spaces.
func mapKey(path, key string) string { return path + "[" + strconv.Quote(key) + "]" }

// get returns the field's value, or nil when it is missing or null: many
// clients send unset fields as null, so null is taken as absent throughout.
func (o *obj) get(key string) json.RawMessage {
	raw, ok := o.m[key]
	if !ok || kindOf(raw) == kindNull {
		return nil
	}
	return raw
}

func (o *obj) has(key string) bool { return o.get(key) != nil }

// str reads an optional string; missing, null and "" are all "".
func (o *obj) str(key string) (string, error) {
	raw := o.get(key)
	if raw == nil {
		return "", nil
	}
	s, ok := stringValue(raw)
	if !ok {
		return "", badRequest("%s must be a string", o.at(key))
	}
	return s, nil
}

// reqStr reads a required, non-empty string.
func (o *obj) reqStr(key string) (string, error) {
	s, err := o.str(key)
	if err == nil && s == "" {
		err = badRequest("%s is required", o.at(key))
	}
	return s, err
}

func decodeString(path string, raw json.RawMessage) (string, error) {
	s, ok := stringValue(raw)
	if !ok {
		return "", badRequest("%s must be a string", path)
	}
	return s, nil
}

// stringValue decodes a JSON string; the callers build the path of an
// error only when there is one, since most fields are fine.
func stringValue(raw json.RawMessage) (string, bool) {
	if kindOf(raw) != kindString {
		return "", false
	}
	// The body was checked as valid JSON and UTF-8 on entry, so a string
	// without escapes is its bytes between the quotes; this spares
	// encoding/json's two passes over long bodies (email HTML).
	if raw = bytes.TrimSpace(raw); bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), true
	}
	var s string
	return s, json.Unmarshal(raw, &s) == nil
}

// boolean reads an optional boolean, def when absent.
func (o *obj) boolean(key string, def bool) (bool, error) {
	raw := o.get(key)
	if raw == nil {
		return def, nil
	}
	var b bool
	if kindOf(raw) != kindBool || json.Unmarshal(raw, &b) != nil {
		return false, badRequest("%s must be a boolean", o.at(key))
	}
	return b, nil
}

// integer reads an optional integer in [min, max]. A number with a zero
// fraction (10.0, 1e2) counts as an integer, as it does in JavaScript
// clients that cannot tell them apart.
func (o *obj) integer(key string, min, max int64) (int64, bool, error) {
	raw := o.get(key)
	if raw == nil {
		return 0, false, nil
	}
	n, ok := decodeInteger(raw)
	if !ok || n < min || n > max {
		return 0, true, badRequest("%s must be an integer from %d to %d", o.at(key), min, max)
	}
	return n, true, nil
}

func decodeInteger(raw json.RawMessage) (int64, bool) {
	if kindOf(raw) != kindNumber {
		return 0, false
	}
	s := string(bytes.TrimSpace(raw))
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

// number reads an optional finite number.
func (o *obj) number(key string) (float64, bool, error) {
	raw := o.get(key)
	if raw == nil {
		return 0, false, nil
	}
	f, ok := decodeNumber(raw)
	if !ok {
		return 0, true, badRequest("%s must be a number", o.at(key))
	}
	return f, true, nil
}

func decodeNumber(raw json.RawMessage) (float64, bool) {
	if kindOf(raw) != kindNumber {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(bytes.TrimSpace(raw)), 64)
	return f, err == nil && !math.IsInf(f, 0)
}

// object reads an optional object; nil when absent.
func (o *obj) object(key string) (*obj, error) {
	raw := o.get(key)
	if raw == nil {
		return nil, nil
	}
	return asObject(o.at(key), raw)
}

// array reads an optional array's items; nil when absent.
func (o *obj) array(key string) ([]json.RawMessage, error) {
	raw := o.get(key)
	if raw == nil {
		return nil, nil
	}
	var items []json.RawMessage
	if kindOf(raw) != kindArray || json.Unmarshal(raw, &items) != nil {
		return nil, badRequest("%s must be an array", o.at(key))
	}
	return items, nil
}

// objects reads an optional array of objects.
func (o *obj) objects(key string) ([]*obj, error) {
	items, err := o.array(key)
	if err != nil {
		return nil, err
	}
	out := make([]*obj, len(items))
	for i, raw := range items {
		if out[i], err = asObject(index(o.at(key), i), raw); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// strings reads an optional array of strings.
func (o *obj) strings(key string) ([]string, error) {
	items, err := o.array(key)
	if err != nil || items == nil {
		return nil, err
	}
	out := make([]string, len(items))
	for i, raw := range items {
		var ok bool
		if out[i], ok = stringValue(raw); !ok {
			return nil, badRequest("%s must be a string", index(o.at(key), i))
		}
	}
	return out, nil
}

// stringMap reads an optional object whose values are all strings.
func (o *obj) stringMap(key string) (map[string]string, error) {
	m, err := o.object(key)
	if m == nil || err != nil {
		return nil, err
	}
	out := make(map[string]string, len(m.m))
	for _, k := range sortedKeys(m.m) { // sorted, so the error reported is always the same
		var ok bool
		if out[k], ok = stringValue(m.m[k]); !ok {
			return nil, badRequest("%s must be a string", mapKey(m.path, k))
		}
	}
	return out, nil
}

// anyMap reads an optional object of any JSON values; numbers stay
// json.Number, so they are passed on exactly as sent. ok is false when the
// field is present but not an object.
func (o *obj) anyMap(key string) (m map[string]any, ok bool) {
	raw := o.get(key)
	if raw == nil {
		return nil, true
	}
	if kindOf(raw) != kindObject {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(&m) != nil {
		return nil, false
	}
	return m, true
}

// time reads an optional date in any format Braze accepts for dates
// (ISO 8601 among them); the zero time when absent.
func (o *obj) time(key string) (time.Time, error) {
	raw := o.get(key)
	if raw == nil {
		return time.Time{}, nil
	}
	return decodeTime(o.at(key), raw)
}

func decodeTime(path string, raw json.RawMessage) (time.Time, error) {
	s, err := decodeString(path, raw)
	if err != nil {
		return time.Time{}, badRequest("%s must be an ISO 8601 date and time string", path)
	}
	t, err := profile.ParseTime(s)
	if err != nil {
		return time.Time{}, badRequest("%s must be an ISO 8601 date and time: %v", path, err)
	}
	return t, nil
}

// oneOf checks that s, when set, is one of allowed.
func oneOf(path, s string, allowed ...string) error {
	if s == "" {
		return nil
	}
	for _, a := range allowed {
		if s == a {
			return nil
		}
	}
	return badRequest("%s must be one of %s, not %q", path, quoteList(allowed), s)
}

func quoteList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
