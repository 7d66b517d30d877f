package storetest

import (
	"testing"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
)

var bounceTests = []storeTest{
	{"AddListRemove", testBounces},
}

func testBounces(t *testing.T, s brazen.Store) {
	bs := brazen.BounceStore(s)
	ctx := t.Context()
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	if err := bs.AddBounces(ctx, []brazen.Bounce{
		{Email: "A@Example.com", BouncedAt: day.Add(time.Hour), Reason: "550 no such user"},
		{Email: "b@example.com", BouncedAt: day.Add(2 * time.Hour), Reason: "550"},
		{Email: "c@example.com", BouncedAt: day.AddDate(0, 0, 2), Reason: "550"},
	}); err != nil {
		t.Fatal(err)
	}
	// A second bounce keeps the first one's time.
	if err := bs.AddBounces(ctx, []brazen.Bounce{{Email: "a@example.com", BouncedAt: day.AddDate(0, 0, 5), Reason: "again"}}); err != nil {
		t.Fatal(err)
	}
	got, err := bs.Bounces(ctx, brazen.BounceQuery{Start: day, End: day.AddDate(0, 0, 1), Limit: 10})
	if err != nil || len(got) != 2 || got[0].Email != "b@example.com" || got[1].Email != "a@example.com" ||
		!got[1].BouncedAt.Equal(day.Add(time.Hour)) || got[1].Reason != "550 no such user" {
		t.Fatalf("Bounces(that day) = %+v, %v", got, err)
	}
	if got, _ := bs.Bounces(ctx, brazen.BounceQuery{Start: day, End: day.AddDate(0, 0, 3), Limit: 1, Offset: 1}); len(got) != 1 || got[0].Email != "b@example.com" {
		t.Errorf("Bounces(limit 1, offset 1) = %+v", got)
	}
	if got, _ := bs.Bounces(ctx, brazen.BounceQuery{Email: "C@example.com"}); len(got) != 1 || got[0].Email != "c@example.com" {
		t.Errorf("Bounces(email) = %+v", got)
	}
	bounced, err := bs.Bounced(ctx, []string{"a@example.com", "B@EXAMPLE.COM", "z@example.com"})
	if err != nil || !bounced["a@example.com"] || !bounced["b@example.com"] || bounced["z@example.com"] {
		t.Errorf("Bounced = %v, %v", bounced, err)
	}
	if err := bs.RemoveBounces(ctx, []string{"A@example.com", "nobody@example.com"}); err != nil {
		t.Fatal(err)
	}
	if bounced, _ := bs.Bounced(ctx, []string{"a@example.com", "b@example.com"}); bounced["a@example.com"] || !bounced["b@example.com"] {
		t.Errorf("after removing a: %v", bounced)
	}
}
