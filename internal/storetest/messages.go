package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
)

var messageTests = []storeTest{
	{"OutcomesOfJobs", testJobOutcomes},
	{"RecordAndList", testMessageEvents},
	{"StatsBySend", testMessageStatsBySend},
	{"Dispatches", testDispatches},
	{"ConcurrentCounters", testConcurrentCounters},
	{"SendIDs", testSendIDs},
}

// testJobOutcomes: finishing a job records its outcome on the user's
// history and in the counters, in the same step; a refused finish records
// nothing.
func testJobOutcomes(t *testing.T, s brazen.Store) {
	ctx := t.Context()
	jobs := []brazen.Job{
		{Key: "d1/u1/webhook", DispatchID: "d1", Channel: "webhook", BrazeID: "u1", Payload: []byte("{}")},
		{Key: "d1/u1/email", DispatchID: "d1", Channel: "email", BrazeID: "u1", Payload: []byte("{}")},
		{Key: "d1/u2/email", DispatchID: "d1", Channel: "email", BrazeID: "u2", Payload: []byte("{}")},
		{Key: "d1/u3/email", DispatchID: "d1", Channel: "email", BrazeID: "u3", Payload: []byte("{}")},
	}
	enqueueEach(t, s, jobs...)
	got := claim(t, s, "w", nil, 4, time.Minute)
	if len(got) != 4 {
		t.Fatalf("claimed %d jobs", len(got))
	}
	if missed, err := s.CompleteJobs(ctx, "w", []int64{got[0].ID, got[1].ID}); err != nil || len(missed) != 0 {
		t.Fatalf("CompleteJobs = %v, %v", missed, err)
	}
	if err := s.FailJob(ctx, "w", got[2].ID, brazen.OutcomeBounced, "550 no such user"); err != nil {
		t.Fatal(err)
	}
	if err := s.FailJob(ctx, "w", got[3].ID, brazen.OutcomeFailed, "gave up"); err != nil {
		t.Fatal(err)
	}
	// Refused: not leased to this worker any more. Nothing is recorded.
	wantCode(t, "FailJob of a finished job", s.FailJob(ctx, "w", got[3].ID, brazen.OutcomeFailed, "again"), brazen.ECONFLICT)
	if missed, err := s.CompleteJobs(ctx, "w", []int64{got[0].ID}); err != nil || len(missed) != 1 {
		t.Errorf("CompleteJobs of a done job = %v, %v; want it missed", missed, err)
	}

	events, err := s.MessageEvents(ctx, brazen.MessageEventFilter{DispatchID: "d1"}, 10)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, e := range events {
		seen = append(seen, e.BrazeID+"/"+e.Channel+"/"+e.Outcome)
		if e.At.IsZero() || time.Since(e.At) > time.Minute {
			t.Errorf("event %+v: At not now", e)
		}
	}
	want := []string{"u3/email/failed", "u2/email/bounced", "u1/email/sent", "u1/webhook/delivered"}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("events newest first = %v, want %v", seen, want)
	}
	if events[1].Detail != "550 no such user" {
		t.Errorf("bounce detail = %q", events[1].Detail)
	}
	stats, err := s.MessageStats(ctx, "d1", "", "", time.Now().Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int64{}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	for _, st := range stats {
		counts[st.Channel+"/"+st.Outcome] += st.Count
		if !st.Day.Equal(today) {
			t.Errorf("stat day %v, want %v", st.Day, today)
		}
	}
	if fmt.Sprint(counts) != "map[email/bounced:1 email/failed:1 email/sent:1 webhook/delivered:1]" {
		t.Errorf("counters = %v", counts)
	}
}

// testMessageEvents: events recorded directly, listed with filters and
// paged by id.
func testMessageEvents(t *testing.T, s brazen.Store) {
	ctx := t.Context()
	var evs []brazen.MessageEvent
	for i := range 5 {
		evs = append(evs, brazen.MessageEvent{At: base.Add(time.Duration(i) * time.Hour), DispatchID: "d", Channel: "email",
			BrazeID: fmt.Sprintf("u%d", i%2), Outcome: brazen.OutcomeAborted, Detail: "no \x00 plan"})
	}
	if err := s.RecordMessageEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	all, err := s.MessageEvents(ctx, brazen.MessageEventFilter{}, 10)
	if err != nil || len(all) != 5 {
		t.Fatalf("all = %d, %v", len(all), err)
	}
	if !all[0].At.Equal(base.Add(4*time.Hour)) || all[0].Detail != "no \uFFFD plan" {
		t.Errorf("newest = %+v", all[0])
	}
	u1, _ := s.MessageEvents(ctx, brazen.MessageEventFilter{BrazeID: "u1"}, 10)
	if len(u1) != 2 {
		t.Errorf("u1's events = %d, want 2", len(u1))
	}
	page, _ := s.MessageEvents(ctx, brazen.MessageEventFilter{BeforeID: all[1].ID}, 2)
	if len(page) != 2 || page[0].ID != all[2].ID || page[1].ID != all[3].ID {
		t.Errorf("page before %d = %+v", all[1].ID, page)
	}
	since, _ := s.MessageEvents(ctx, brazen.MessageEventFilter{Since: base.Add(3 * time.Hour)}, 10)
	if len(since) != 2 {
		t.Errorf("since = %d, want 2", len(since))
	}
	none, _ := s.MessageEvents(ctx, brazen.MessageEventFilter{Outcome: brazen.OutcomeSent}, 10)
	if len(none) != 0 {
		t.Errorf("sent events = %d", len(none))
	}
	stats, _ := s.MessageStats(ctx, "d", "", "", base)
	if len(stats) != 1 || stats[0].Count != 5 || !stats[0].Day.Equal(base.Truncate(24*time.Hour)) {
		t.Errorf("stats = %+v", stats)
	}
	if stats, _ := s.MessageStats(ctx, "d", "", "", base.AddDate(0, 0, 1)); len(stats) != 0 {
		t.Errorf("stats from the next day = %+v", stats)
	}
}

// testMessageStatsBySend: a campaign's counters, all its sends or one.
func testMessageStatsBySend(t *testing.T, s brazen.Store) {
	ctx := t.Context()
	for _, d := range []brazen.Dispatch{
		{ID: "d1", CampaignID: "c", SendID: "s1"}, {ID: "d2", CampaignID: "c", SendID: "s2"}, {ID: "d3", CampaignID: "other"},
	} {
		if err := s.CreateDispatch(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateDispatch(ctx, brazen.Dispatch{ID: "d1", CampaignID: "changed"}); err != nil {
		t.Errorf("CreateDispatch again: %v", err)
	}
	var evs []brazen.MessageEvent
	for _, d := range []string{"d1", "d1", "d2", "d3"} {
		evs = append(evs, brazen.MessageEvent{At: base, DispatchID: d, Channel: "webhook", BrazeID: "u", Outcome: brazen.OutcomeDelivered})
	}
	if err := s.RecordMessageEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	sum := func(st []brazen.MessageStat) (n int64) {
		for _, x := range st {
			n += x.Count
		}
		return n
	}
	if st, err := s.MessageStats(ctx, "", "c", "", base); err != nil || sum(st) != 3 {
		t.Errorf("campaign c = %+v, %v", st, err)
	}
	if st, _ := s.MessageStats(ctx, "", "c", "s1", base); sum(st) != 2 {
		t.Errorf("send s1 = %+v", st)
	}
	if st, _ := s.MessageStats(ctx, "", "nobody", "", base); len(st) != 0 {
		t.Errorf("unknown campaign = %+v", st)
	}
}

// testConcurrentCounters: counters of one day counted from several
// goroutines at once lose nothing and never deadlock.
func testConcurrentCounters(t *testing.T, s brazen.Store) {
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 10 {
				evs := []brazen.MessageEvent{
					{DispatchID: "d", Channel: "email", BrazeID: "u", Outcome: brazen.OutcomeSent},
					{DispatchID: "d", Channel: "sms", BrazeID: "u", Outcome: brazen.OutcomeSent},
				}
				if g%2 == 1 { // the other order
					evs[0], evs[1] = evs[1], evs[0]
				}
				if err := s.RecordMessageEvents(t.Context(), evs); err != nil {
					t.Errorf("goroutine %d, call %d: %v", g, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	st, err := s.MessageStats(t.Context(), "d", "", "", time.Now().Add(-24*time.Hour))
	var n int64
	for _, x := range st {
		n += x.Count
	}
	if err != nil || n != 160 {
		t.Errorf("counted %d, want 160 (%v)", n, err)
	}
}

// testSendIDs: a pair is created once, and at most SendIDQuota a day.
func testSendIDs(t *testing.T, s brazen.Store) {
	ctx := t.Context()
	now := base
	if err := s.CreateSendID(ctx, "c", "s", now); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "the same send id again", s.CreateSendID(ctx, "c", "s", now), brazen.ECONFLICT)
	if err := s.CreateSendID(ctx, "c2", "s", now); err != nil {
		t.Errorf("the same send id for another campaign: %v", err)
	}
	for i := 2; i < brazen.SendIDQuota; i++ {
		if err := s.CreateSendID(ctx, "c", fmt.Sprint("s", i), now); err != nil {
			t.Fatalf("send id %d: %v", i, err)
		}
	}
	wantCode(t, "one over the quota", s.CreateSendID(ctx, "c", "over", now.Add(time.Hour)), brazen.ERATELIMITED)
	if err := s.CreateSendID(ctx, "c", "tomorrow", now.Add(25*time.Hour)); err != nil {
		t.Errorf("a day later: %v", err)
	}
}

// testDispatches: dispatches are listed newest first, up to the limit.
func testDispatches(t *testing.T, s brazen.Store) {
	ctx := t.Context()
	for i, id := range []string{"d1", "d2", "d3"} {
		if err := s.CreateDispatch(ctx, brazen.Dispatch{ID: id, CampaignID: "c", SendID: "s" + id, CreatedAt: base.Add(time.Duration(i) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Dispatches(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "d3" || got[1].ID != "d2" || got[0].SendID != "sd3" || !got[0].CreatedAt.Equal(base.Add(2*time.Minute)) {
		t.Errorf("Dispatches(2) = %+v", got)
	}
	if got, _ := s.Dispatches(ctx, 0); len(got) != 0 {
		t.Errorf("Dispatches(0) = %+v", got)
	}
}
