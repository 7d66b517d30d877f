package message

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// Bounds of a connected audience. Braze documents none; these keep a
// hostile tree from costing much to parse or to turn into a query, and are
// far beyond what the dashboard lets anyone build.
const (
	MaxAudienceDepth   = 32   // nesting levels of AND/OR, the root being 1
	MaxAudienceFilters = 1000 // filters in the whole tree
)

// Audience is a connected-audience filter tree: exactly one of its fields is
// set. And and Or hold at least one child each.
type Audience struct {
	And               []*Audience
	Or                []*Audience
	CustomAttribute   *AttributeFilter
	PushSubscription  *SubscriptionFilter
	EmailSubscription *SubscriptionFilter
	LastUsedApp       *TimeFilter
}

// AttributeFilter compares a custom attribute. Which comparisons apply
// depends on the attribute's type, which only the workspace knows; the
// parser checks that the comparison exists and that the value fits it.
type AttributeFilter struct {
	Name       string
	Comparison string
	// Value is nil for exists and does_not_exist; a string, json.Number or
	// bool for equals, not_equal, includes_value and does_not_include_value;
	// a bool for does_not_equal; a string that compiles as a Go (RE2)
	// regular expression for the regex comparisons; a json.Number for the
	// numeric and x_days comparisons (days are not negative); a time.Time
	// (UTC) for after and before.
	Value any
}

// SubscriptionFilter matches a push or email subscription state.
type SubscriptionFilter struct {
	Comparison string // "is" or "is_not"
	Value      string // "opted_in", "subscribed" or "unsubscribed"
}

// TimeFilter matches last_used_app against a time.
type TimeFilter struct {
	Comparison string // "after" or "before"
	Value      time.Time
}

// The kinds of value a custom-attribute comparison takes.
type valueKind int

const (
	valueNone valueKind = iota
	valueScalar
	valueBool
	valueRegex
	valueNumber
	valueDays
	valueTime
)

// comparisons are Braze's custom-attribute comparisons, over all attribute
// types (string, array, number, boolean, time).
var comparisons = map[string]valueKind{
	"exists":                            valueNone,
	"does_not_exist":                    valueNone,
	"equals":                            valueScalar,
	"not_equal":                         valueScalar,
	"does_not_equal":                    valueBool,
	"matches_regex":                     valueRegex,
	"does_not_match_regex":              valueRegex,
	"includes_value":                    valueScalar,
	"does_not_include_value":            valueScalar,
	"greater_than":                      valueNumber,
	"greater_than_or_equal_to":          valueNumber,
	"less_than":                         valueNumber,
	"less_than_or_equal_to":             valueNumber,
	"less_than_x_days_ago":              valueDays,
	"greater_than_x_days_ago":           valueDays,
	"less_than_x_days_in_the_future":    valueDays,
	"greater_than_x_days_in_the_future": valueDays,
	"after":                             valueTime,
	"before":                            valueTime,
}

var comparisonNames = func() []string {
	names := make([]string, 0, len(comparisons))
	for k := range comparisons {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}()

// The keys of an audience node.
var audienceKeys = []string{"AND", "OR", "custom_attribute", "push_subscription_status", "email_subscription_status", "last_used_app"}

func parseAudience(raw json.RawMessage) (*Audience, error) {
	// Decoded once into plain values and walked: decoding each level's
	// raw JSON in turn would rescan every subtree once per level above it,
	// letting a deep, wide tree cost seconds.
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, badRequest("audience must be an object")
	}
	filters := 0
	return parseAudienceNode("audience", v, 1, &filters)
}

func parseAudienceNode(path string, v any, depth int, filters *int) (*Audience, error) {
	if depth > MaxAudienceDepth {
		return nil, badRequest("%s: the audience is nested more than %d levels deep", path, MaxAudienceDepth)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, badRequest("%s must be an object", path)
	}
	if len(m) != 1 {
		return nil, badRequest("%s must have exactly one key, one of %s", path, quoteList(audienceKeys))
	}
	var key string
	for k := range m {
		key = k
	}
	at := join(path, key)
	if !slices.Contains(audienceKeys, key) {
		return nil, badRequest("%s is not a connected audience filter; use one of %s", at, quoteList(audienceKeys))
	}
	a := &Audience{}
	switch key {
	case "AND", "OR":
		items, ok := m[key].([]any)
		if !ok && m[key] != nil {
			return nil, badRequest("%s must be an array", at)
		}
		if len(items) == 0 {
			return nil, badRequest("%s must hold at least one filter", at)
		}
		children := make([]*Audience, len(items))
		for i, item := range items {
			var err error
			if children[i], err = parseAudienceNode(index(at, i), item, depth+1, filters); err != nil {
				return nil, err
			}
		}
		if key == "AND" {
			a.And = children
		} else {
			a.Or = children
		}
		return a, nil
	}
	if *filters++; *filters > MaxAudienceFilters {
		return nil, badRequest("audience holds more than %d filters", MaxAudienceFilters)
	}
	fm, ok := m[key].(map[string]any)
	if !ok {
		return nil, badRequest("%s must be an object", at)
	}
	// A filter is small and flat: re-encoding its fields lets it be read
	// with the same helpers, and the same messages, as the rest.
	f := &obj{path: at, m: make(map[string]json.RawMessage, len(fm))}
	for k, x := range fm {
		f.m[k] = marshal(x)
	}
	var err error
	switch key {
	case "custom_attribute":
		a.CustomAttribute, err = parseAttributeFilter(f)
	case "push_subscription_status":
		a.PushSubscription, err = parseSubscriptionFilter(f)
	case "email_subscription_status":
		a.EmailSubscription, err = parseSubscriptionFilter(f)
	case "last_used_app":
		a.LastUsedApp, err = parseTimeFilter(f)
	}
	if err != nil {
		return nil, err
	}
	return a, nil
}

func parseAttributeFilter(o *obj) (*AttributeFilter, error) {
	f := &AttributeFilter{}
	var err error
	if f.Name, err = o.reqStr("custom_attribute_name"); err != nil {
		return nil, err
	}
	if f.Comparison, err = o.reqStr("comparison"); err != nil {
		return nil, err
	}
	kind, ok := comparisons[f.Comparison]
	if !ok {
		return nil, oneOf(o.at("comparison"), f.Comparison, comparisonNames...)
	}
	raw := o.get("value")
	path := o.at("value")
	switch kind {
	case valueNone:
		// Braze says to omit the value; one sent anyway is ignored.
	case valueScalar:
		switch kindOf(raw) {
		case kindString:
			f.Value, err = decodeString(path, raw)
		case kindNumber:
			f.Value = json.Number(bytes.TrimSpace(raw))
		case kindBool:
			f.Value = raw[0] == 't'
		default:
			err = badRequest("%s must be a string, number or boolean for comparison %q", path, f.Comparison)
		}
	case valueBool:
		if kindOf(raw) != kindBool {
			return nil, badRequest("%s must be a boolean for comparison %q", path, f.Comparison)
		}
		f.Value = raw[0] == 't'
	case valueRegex:
		if kindOf(raw) != kindString {
			return nil, badRequest("%s must be a string (a regular expression) for comparison %q", path, f.Comparison)
		}
		var s string
		if s, err = decodeString(path, raw); err != nil {
			return nil, err
		}
		// Brazen evaluates the expression itself, with Go's RE2 syntax;
		// one it could not evaluate is refused now rather than matching
		// nobody later.
		if _, rerr := regexp.Compile(s); rerr != nil {
			return nil, badRequest("%s is not a valid regular expression: %v", path, rerr)
		}
		f.Value = s
	case valueNumber, valueDays:
		n, ok := decodeNumber(raw)
		if !ok || (kind == valueDays && n < 0) {
			what := "a number"
			if kind == valueDays {
				what = "a number of days, not negative,"
			}
			return nil, badRequest("%s must be %s for comparison %q", path, what, f.Comparison)
		}
		f.Value = json.Number(bytes.TrimSpace(raw))
	case valueTime:
		if raw == nil {
			return nil, badRequest("%s must be an ISO 8601 date and time string for comparison %q", path, f.Comparison)
		}
		f.Value, err = decodeTime(path, raw)
	}
	if err != nil {
		return nil, err
	}
	return f, nil
}

func parseSubscriptionFilter(o *obj) (*SubscriptionFilter, error) {
	f := &SubscriptionFilter{}
	var err error
	if f.Comparison, err = o.reqStr("comparison"); err != nil {
		return nil, err
	}
	if err := oneOf(o.at("comparison"), f.Comparison, "is", "is_not"); err != nil {
		return nil, err
	}
	if f.Value, err = o.reqStr("value"); err != nil {
		return nil, err
	}
	if err := oneOf(o.at("value"), f.Value, "opted_in", "subscribed", "unsubscribed"); err != nil {
		return nil, err
	}
	return f, nil
}

func parseTimeFilter(o *obj) (*TimeFilter, error) {
	f := &TimeFilter{}
	var err error
	if f.Comparison, err = o.reqStr("comparison"); err != nil {
		return nil, err
	}
	if err := oneOf(o.at("comparison"), f.Comparison, "after", "before"); err != nil {
		return nil, err
	}
	if !o.has("value") {
		return nil, badRequest("%s is required", o.at("value"))
	}
	if f.Value, err = o.time("value"); err != nil {
		return nil, err
	}
	return f, nil
}

// MarshalJSON writes the audience in Braze's shape, with times in RFC 3339
// UTC; equal filters give equal bytes (see Send.AudienceKey).
func (a *Audience) MarshalJSON() ([]byte, error) {
	type filter struct {
		Name       string `json:"custom_attribute_name,omitempty"`
		Comparison string `json:"comparison"`
		Value      any    `json:"value,omitempty"`
	}
	var node map[string]any
	switch {
	case a.And != nil:
		node = map[string]any{"AND": a.And}
	case a.Or != nil:
		node = map[string]any{"OR": a.Or}
	case a.CustomAttribute != nil:
		f := a.CustomAttribute
		v := f.Value
		switch x := v.(type) {
		case time.Time:
			v = x.UTC().Format(time.RFC3339Nano)
		case json.Number:
			// 1, 1.0 and 1e0 are one value.
			if n, err := strconv.ParseFloat(string(x), 64); err == nil {
				v = json.Number(strconv.FormatFloat(n, 'g', -1, 64))
			}
		}
		node = map[string]any{"custom_attribute": filter{f.Name, f.Comparison, v}}
	case a.PushSubscription != nil:
		node = map[string]any{"push_subscription_status": filter{"", a.PushSubscription.Comparison, a.PushSubscription.Value}}
	case a.EmailSubscription != nil:
		node = map[string]any{"email_subscription_status": filter{"", a.EmailSubscription.Comparison, a.EmailSubscription.Value}}
	case a.LastUsedApp != nil:
		node = map[string]any{"last_used_app": filter{"", a.LastUsedApp.Comparison, a.LastUsedApp.Value.UTC().Format(time.RFC3339Nano)}}
	default:
		node = map[string]any{}
	}
	return json.Marshal(node)
}
