package dispatch

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/message"
)

func TestAudienceMatch(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	p := &brazen.Profile{
		Standard: map[string]any{"email_subscribe": "opted_in"},
		Custom: map[string]any{"plan": "pro", "visits": json.Number("41"), "vip": true, "tags": []any{"a", json.Number("7")},
			"seen": "2026-11-20T12:00:00Z", "renews": "2026-12-01T12:00:00Z"},
	}
	attr := func(name, cmp string, v any) *message.Audience {
		return &message.Audience{CustomAttribute: &message.AttributeFilter{Name: name, Comparison: cmp, Value: v}}
	}
	for _, tt := range []struct {
		name string
		a    *message.Audience
		want bool
	}{
		{"equals string", attr("plan", "equals", "pro"), true},
		{"equals other", attr("plan", "equals", "free"), false},
		{"not_equal", attr("plan", "not_equal", "free"), true},
		{"equals number", attr("visits", "equals", json.Number("41")), true},
		{"number is not a string", attr("visits", "equals", "41"), false},
		{"bool", attr("vip", "equals", true), true},
		{"does_not_equal bool", attr("vip", "does_not_equal", true), false},
		{"exists", attr("plan", "exists", nil), true},
		{"does_not_exist", attr("nope", "does_not_exist", nil), true},
		{"missing equals", attr("nope", "equals", "x"), false},
		{"missing not_equal", attr("nope", "not_equal", "x"), true},
		{"greater_than", attr("visits", "greater_than", json.Number("40")), true},
		{"less_than_or_equal_to", attr("visits", "less_than_or_equal_to", json.Number("41")), true},
		{"less_than on a string", attr("plan", "less_than", json.Number("1")), false},
		{"regex", attr("plan", "matches_regex", "^p.o$"), true},
		{"not regex", attr("plan", "does_not_match_regex", "^f"), true},
		{"includes string", attr("tags", "includes_value", "a"), true},
		{"includes number", attr("tags", "includes_value", json.Number("7")), true},
		{"does_not_include", attr("tags", "does_not_include_value", "b"), true},
		{"after", attr("seen", "after", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)), true},
		{"before", attr("seen", "before", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)), false},
		{"less than 7 days ago", attr("seen", "less_than_x_days_ago", json.Number("7")), true},
		{"greater than 3 days ago", attr("seen", "greater_than_x_days_ago", json.Number("3")), true},
		{"less than 10 days ahead", attr("renews", "less_than_x_days_in_the_future", json.Number("10")), true},
		{"greater than 10 days ahead", attr("renews", "greater_than_x_days_in_the_future", json.Number("10")), false},
		{"email is opted_in", &message.Audience{EmailSubscription: &message.SubscriptionFilter{Comparison: "is", Value: "opted_in"}}, true},
		{"push is_not unsubscribed (default subscribed)", &message.Audience{PushSubscription: &message.SubscriptionFilter{Comparison: "is_not", Value: "unsubscribed"}}, true},
		{"last_used_app (no sessions yet)", &message.Audience{LastUsedApp: &message.TimeFilter{Comparison: "after", Value: now.AddDate(-1, 0, 0)}}, false},
		{"AND", &message.Audience{And: []*message.Audience{attr("plan", "equals", "pro"), attr("vip", "equals", true)}}, true},
		{"AND fails", &message.Audience{And: []*message.Audience{attr("plan", "equals", "pro"), attr("vip", "equals", false)}}, false},
		{"OR", &message.Audience{Or: []*message.Audience{attr("plan", "equals", "free"), attr("vip", "equals", true)}}, true},
	} {
		if got := newMatcher(now).match(tt.a, p); got != tt.want {
			t.Errorf("%s: match = %v, want %v", tt.name, got, tt.want)
		}
	}
}
