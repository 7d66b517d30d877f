package storetest

import (
	"testing"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
)

var cardTests = []storeTest{
	{"PutAndList", testCards},
}

func testCards(t *testing.T, s brazen.Store) {
	cs := brazen.CardStore(s)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Millisecond)
	for _, c := range []brazen.Card{
		{ID: "d1/u1/content_card", DispatchID: "d1", BrazeID: "u1", Card: []byte(`{"title":"one"}`), ExpiresAt: now.Add(time.Hour)},
		{ID: "d0/u1/content_card", DispatchID: "d0", BrazeID: "u1", Card: []byte(`{"title":"old"}`), ExpiresAt: now.Add(-time.Minute)},
		{ID: "d1/u2/content_card", DispatchID: "d1", BrazeID: "u2", Card: []byte(`{"title":"other user"}`), ExpiresAt: now.Add(time.Hour)},
		{ID: "d1/u1/content_card", DispatchID: "d1", BrazeID: "u1", Card: []byte(`{"title":"again"}`), ExpiresAt: now.Add(time.Hour)},
	} {
		if err := cs.PutCard(ctx, c); err != nil {
			t.Fatalf("PutCard(%s): %v", c.ID, err)
		}
	}
	got, err := cs.Cards(ctx, "u1", now)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != "d1/u1/content_card" || string(got[0].Card) != `{"title":"one"}` || !got[0].ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Errorf("Cards(u1) = %+v, want the live card, stored once (the repeat left it as it was)", got)
	}
	if got, err := cs.Cards(ctx, "nobody", now); err != nil || len(got) != 0 {
		t.Errorf("Cards(nobody) = %v, %v", got, err)
	}
}
