package usage

import (
	"log/slog"
	"testing"
	"time"

	"github.com/brazenhq/brazen/internal/sqlite/sqlitetest"
)

// TestRecorder: REST requests are counted per minute, route and status;
// other listeners and health checks are not; a flush adds the counts to
// the store, and counts a failed flush could not store are kept.
func TestRecorder(t *testing.T) {
	db := sqlitetest.Open(t)
	r := New(db, slog.New(slog.DiscardHandler))
	t0 := time.Date(2026, 11, 26, 12, 0, 30, 0, time.UTC)
	r.now = func() time.Time { return t0 }
	for range 3 {
		r.Count("rest", "POST /users/track", 201)
	}
	r.Count("rest", "POST /users/track", 429)
	r.Count("rest", "GET /healthz", 200)
	r.Count("console", "GET /keys", 200)
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	r.Count("rest", "POST /users/track", 201)
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	got, err := db.APIUsageSince(t.Context(), t0.Add(-time.Hour), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[int]int64{}
	for _, u := range got {
		if u.Route != "POST /users/track" || !u.Minute.Equal(t0.Truncate(time.Minute)) {
			t.Errorf("counted %+v", u)
		}
		counts[u.Status] += u.Count
	}
	if counts[201] != 4 || counts[429] != 1 || len(got) != 2 {
		t.Errorf("counts %v over %d rows, want 201: 4, 429: 1", counts, len(got))
	}
	// A store that refuses keeps the counts for the next flush.
	db.Close()
	r.Count("rest", "POST /users/track", 201)
	if err := r.Flush(t.Context()); err == nil {
		t.Fatal("a flush to a closed store succeeded")
	}
	if n := len(r.counts); n != 1 {
		t.Errorf("%d counts kept after the failed flush, want 1", n)
	}
}
