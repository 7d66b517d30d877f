// Package profile holds the pure logic of Braze user attributes: parsing and
// validating an attributes object's fields into an Update (at request time,
// so that errors reach the caller), and applying an Update to a profile (in
// the applier, where it cannot fail). No I/O.
package profile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/brazenhq/brazen/internal/brazen"
)

// Limits Braze documents for custom attributes.
const (
	MaxNameLength   = 255        // characters in a custom attribute name
	MaxStringLength = 255        // characters in a string value (top level and in arrays)
	MaxArrayLength  = 25         // elements of an array of primitives (Braze's default)
	MaxNestedSize   = 100 * 1024 // bytes of compact JSON in a nested object or array of objects
)

// Update is the validated, normalised form of one attributes object's
// attribute fields (identifiers and control keys excluded). It is written to
// the ingest log as JSON, so every field must round-trip through
// encoding/json: values are decoded JSON (string, json.Number, bool, []any,
// map[string]any) and UnmarshalJSON keeps numbers as json.Number.
type Update struct {
	Standard []Op `json:"s,omitempty"` // by name
	Custom   []Op `json:"c,omitempty"` // by name
}

// Kind is what an Op does to its attribute.
type Kind string

// Op kinds.
const (
	// KindSet stores Value, replacing the attribute.
	KindSet Kind = "set"
	// KindUnset removes the attribute.
	KindUnset Kind = "unset"
	// KindInc adds the integer Value to the attribute; a missing or
	// non-numeric attribute counts as 0.
	KindInc Kind = "inc"
	// KindArray edits an array of primitives: Add appends (a value already
	// present moves to the end), then Remove removes, then the oldest
	// elements beyond MaxArrayLength are dropped.
	KindArray Kind = "array"
	// KindMerge deep-merges the object Value into the attribute (a custom
	// nested object with _merge_objects, or subscription_groups).
	KindMerge Kind = "merge"
	// KindObjects edits an array of objects: Add ($add) appends, then
	// RemoveWhere ($remove) removes every matching element, then UpdateWhere
	// ($update) merges into every matching element.
	KindObjects Kind = "objects"
	// KindTokens adds the push tokens in Value (objects with app_id, token,
	// device_id), replacing those with the same token.
	KindTokens Kind = "tokens"
)

// Op is one change to one attribute.
type Op struct {
	Name        string         `json:"n"`
	Kind        Kind           `json:"k"`
	Value       any            `json:"v,omitempty"`
	Add         []any          `json:"add,omitempty"`
	Remove      []any          `json:"rm,omitempty"`
	RemoveWhere []Match        `json:"rmw,omitempty"`
	UpdateWhere []ObjectUpdate `json:"upw,omitempty"`
}

// Match selects the elements of an array of objects whose Key holds a
// value equal to Value (Braze's $identifier_key and $identifier_value).
type Match struct {
	Key   string `json:"k"`
	Value any    `json:"v"`
}

// ObjectUpdate is one $update: NewObject is deep-merged into every element
// that Where matches.
type ObjectUpdate struct {
	Where     Match          `json:"w"`
	NewObject map[string]any `json:"o"`
}

// UnmarshalJSON decodes numbers as json.Number, as Parse produces them, so
// that an Update read back from the ingest log applies exactly as the
// original would.
func (u *Update) UnmarshalJSON(b []byte) error {
	type plain Update
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var p plain
	if err := dec.Decode(&p); err != nil {
		return err
	}
	*u = Update(p)
	return nil
}

// keys that are never attributes. The caller removes them; Parse ignores
// them if they slip through rather than make custom attributes of them.
func ignored(name string) bool {
	switch name {
	case "external_id", "user_alias", "braze_id", "alias_name", "alias_label",
		"_update_existing_only", "push_token_import", "_merge_objects":
		return true
	}
	return false
}

// Parse validates the attribute fields of one /users/track attributes
// object. fields holds every key of the object except external_id,
// user_alias, braze_id and the control keys (_update_existing_only,
// push_token_import, _merge_objects); email and phone are always included,
// even when the caller used one of them to identify the user, since they are
// attributes too. mergeObjects is the object's _merge_objects. An error is a message in
// Braze's style naming the bad field, returned to the caller as a non-fatal
// error for this object.
//
// The rule for callers: apply u when it is non-nil, report err when it is
// non-nil. Usually exactly one of them is. Both are non-nil in one case,
// which Braze documents: an invalid value inside a nested custom attribute
// (a bad $time, a null, a misused $ operator) drops every nested custom
// attribute update of the object — nested objects and arrays of objects —
// while its other attributes are still applied. Then u holds those other
// attributes and err says why the nested ones were dropped. Any other error
// refuses the whole object (u is nil). Fields are checked in name order and
// the first error is reported.
func Parse(fields map[string]json.RawMessage, mergeObjects bool) (*Update, error) {
	names := make([]string, 0, len(fields))
	for name := range fields {
		if !ignored(name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	u := &Update{}
	var nestedErr error
	for _, name := range names {
		v, err := decode(fields[name])
		if err != nil {
			return nil, invalid("'%s' is not valid JSON", quoteName(name))
		}
		if isStandard(name) {
			op, keep, err := parseStandard(name, v)
			if err != nil {
				return nil, err
			}
			if keep {
				u.Standard = append(u.Standard, op)
			}
			continue
		}
		if err := checkName(name); err != nil {
			return nil, err
		}
		op, nested, err := parseCustom(name, v, mergeObjects)
		switch {
		case nested && err != nil:
			if nestedErr == nil {
				nestedErr = err
			}
		case err != nil:
			return nil, err
		default:
			u.Custom = append(u.Custom, op)
		}
	}
	if nestedErr != nil {
		if u.Custom = slices.DeleteFunc(u.Custom, isNestedOp); len(u.Custom) == 0 {
			u.Custom = nil // as JSON decoding would give
		}
		return u, nestedErr
	}
	return u, nil
}

// isNestedOp reports whether op is a nested custom attribute update: one
// that Braze drops when any nested value of the object is invalid.
func isNestedOp(op Op) bool {
	switch op.Kind {
	case KindMerge, KindObjects:
		return true
	case KindSet:
		return isNested(op.Value)
	}
	return false
}

// isNested reports whether v is a nested object or an array holding one.
func isNested(v any) bool {
	switch t := v.(type) {
	case map[string]any:
		return true
	case []any:
		for _, e := range t {
			if _, ok := e.(map[string]any); ok {
				return true
			}
		}
	}
	return false
}

func checkName(name string) error {
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		return invalid("custom attribute names must not be empty")
	case n > MaxNameLength:
		return invalid("custom attribute name '%s' is longer than %d characters", quoteName(name), MaxNameLength)
	case strings.HasPrefix(name, "$"):
		return invalid("custom attribute name '%s' must not start with '$'", quoteName(name))
	}
	return nil
}

// quoteName shortens a name for an error message.
func quoteName(name string) string {
	if utf8.RuneCountInString(name) <= 64 {
		return name
	}
	r := []rune(name)
	return string(r[:64]) + "…"
}

func invalid(format string, args ...any) error {
	return &brazen.Error{Code: brazen.EINVALID, Message: fmt.Sprintf(format, args...)}
}
