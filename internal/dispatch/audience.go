package dispatch

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/message"
	"github.com/brazenhq/brazen/internal/profile"
)

// matcher evaluates a connected audience against profiles; regular
// expressions are compiled once per send.
type matcher struct {
	now     time.Time
	regexps map[string]*regexp.Regexp
}

func newMatcher(now time.Time) *matcher {
	return &matcher{now: now, regexps: map[string]*regexp.Regexp{}}
}

// match reports whether p is in the audience a.
func (m *matcher) match(a *message.Audience, p *brazen.Profile) bool {
	switch {
	case a.And != nil:
		for _, c := range a.And {
			if !m.match(c, p) {
				return false
			}
		}
		return true
	case a.Or != nil:
		return slices.ContainsFunc(a.Or, func(c *message.Audience) bool { return m.match(c, p) })
	case a.CustomAttribute != nil:
		return m.attribute(a.CustomAttribute, p)
	case a.EmailSubscription != nil:
		return subscription(a.EmailSubscription, p, "email_subscribe")
	case a.PushSubscription != nil:
		return subscription(a.PushSubscription, p, "push_subscribe")
	case a.LastUsedApp != nil:
		// Brazen records no sessions yet: no user has a last-used-app time,
		// so neither comparison can hold.
		return false
	}
	return false
}

func subscription(f *message.SubscriptionFilter, p *brazen.Profile, field string) bool {
	s, _ := p.Standard[field].(string)
	if s == "" {
		s = "subscribed" // Braze's default state
	}
	return (s == f.Value) == (f.Comparison == "is")
}

// attribute applies one custom-attribute comparison. A comparison that
// does not fit the attribute's stored type is false (and its negation
// true), as a segment filter on a mistyped attribute matches nobody.
func (m *matcher) attribute(f *message.AttributeFilter, p *brazen.Profile) bool {
	v, ok := p.Custom[f.Name]
	if ok && v == nil {
		ok = false
	}
	switch f.Comparison {
	case "exists":
		return ok
	case "does_not_exist":
		return !ok
	}
	switch f.Comparison {
	case "equals":
		return ok && same(v, f.Value)
	case "not_equal", "does_not_equal":
		return !ok || !same(v, f.Value)
	case "includes_value":
		arr, isArr := v.([]any)
		return isArr && slices.ContainsFunc(arr, func(e any) bool { return same(e, f.Value) })
	case "does_not_include_value":
		arr, isArr := v.([]any)
		return !isArr || !slices.ContainsFunc(arr, func(e any) bool { return same(e, f.Value) })
	case "matches_regex", "does_not_match_regex":
		s, isStr := v.(string)
		re := m.regexp(f.Value)
		matched := isStr && re != nil && re.MatchString(s)
		if f.Comparison == "matches_regex" {
			return matched
		}
		return !matched
	case "greater_than", "greater_than_or_equal_to", "less_than", "less_than_or_equal_to":
		x, okx := number(v)
		y, oky := number(f.Value)
		if !ok || !okx || !oky {
			return false
		}
		switch f.Comparison {
		case "greater_than":
			return x > y
		case "greater_than_or_equal_to":
			return x >= y
		case "less_than":
			return x < y
		}
		return x <= y
	case "after", "before":
		t, okt := attrTime(v)
		at, _ := f.Value.(time.Time)
		if !ok || !okt {
			return false
		}
		if f.Comparison == "after" {
			return t.After(at)
		}
		return t.Before(at)
	case "less_than_x_days_ago", "greater_than_x_days_ago", "less_than_x_days_in_the_future", "greater_than_x_days_in_the_future":
		t, okt := attrTime(v)
		days, okd := number(f.Value)
		if !ok || !okt || !okd {
			return false
		}
		span := time.Duration(days * float64(24*time.Hour))
		switch f.Comparison {
		case "less_than_x_days_ago":
			return !t.After(m.now) && m.now.Sub(t) < span
		case "greater_than_x_days_ago":
			return !t.After(m.now) && m.now.Sub(t) > span
		case "less_than_x_days_in_the_future":
			return t.After(m.now) && t.Sub(m.now) < span
		}
		return t.After(m.now) && t.Sub(m.now) > span
	}
	return false
}

func (m *matcher) regexp(v any) *regexp.Regexp {
	s, _ := v.(string)
	if re, ok := m.regexps[s]; ok {
		return re
	}
	re, err := regexp.Compile(s)
	if err != nil {
		re = nil // the parser compiled it already; cannot happen
	}
	m.regexps[s] = re
	return re
}

// same compares an attribute value with a filter value: numbers as
// numbers, strings and booleans as themselves.
func same(a, b any) bool {
	if x, ok := number(a); ok {
		if y, ok := number(b); ok {
			return x == y
		}
	}
	return fmt.Sprint(a) == fmt.Sprint(b) && sameKind(a, b)
}

func sameKind(a, b any) bool {
	_, sa := a.(string)
	_, sb := b.(string)
	_, ba := a.(bool)
	_, bb := b.(bool)
	return sa == sb && ba == bb
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		return f, err == nil
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	}
	return 0, false
}

// attrTime reads a time attribute: stored as an ISO 8601 string (or a
// {"$time": …} object, Braze's explicit form).
func attrTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case string:
		t, err := profile.ParseTime(x)
		return t, err == nil
	case map[string]any:
		if s, ok := x["$time"].(string); ok {
			t, err := profile.ParseTime(s)
			return t, err == nil
		}
	}
	return time.Time{}, false
}
