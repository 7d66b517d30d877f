package ratelimit_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brazenhq/brazen/internal/ratelimit"
)

func TestParseLimit(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    ratelimit.Limit
		wantErr string // a fragment of the error, if invalid
	}{
		{in: "5/3s", want: ratelimit.Limit{N: 5, Window: 3 * time.Second}},
		{in: "250000/hour", want: ratelimit.Limit{N: 250000, Window: time.Hour}},
		{in: "100/day", want: ratelimit.Limit{N: 100, Window: 24 * time.Hour}},
		{in: "10/minute", want: ratelimit.Limit{N: 10, Window: time.Minute}},
		{in: "10/second", want: ratelimit.Limit{N: 10, Window: time.Second}},
		{in: "1/1m", want: ratelimit.Limit{N: 1, Window: time.Minute}},
		{in: "1/m", want: ratelimit.Limit{N: 1, Window: time.Minute}},
		{in: "1/s", want: ratelimit.Limit{N: 1, Window: time.Second}},
		{in: "1/h", want: ratelimit.Limit{N: 1, Window: time.Hour}},
		{in: "1/d", want: ratelimit.Limit{N: 1, Window: 24 * time.Hour}},
		{in: "1/1m30s", want: ratelimit.Limit{N: 1, Window: 90 * time.Second}},
		{in: "1/24h", want: ratelimit.Limit{N: 1, Window: 24 * time.Hour}},
		{in: " 5 / 3s ", want: ratelimit.Limit{N: 5, Window: 3 * time.Second}},
		{in: "5", wantErr: "is not N/WINDOW"},
		{in: "", wantErr: "is not N/WINDOW"},
		{in: "0/1s", wantErr: "at least 1"},
		{in: "-1/1s", wantErr: "at least 1"},
		{in: "x/1s", wantErr: "at least 1"},
		{in: "/1s", wantErr: "at least 1"},
		{in: "1.5/1s", wantErr: "at least 1"},
		{in: "5/", wantErr: "the window must be"},
		{in: "5/500ms", wantErr: "from 1s to 24h"},
		{in: "5/1.5s", wantErr: "from 1s to 24h"},
		{in: "5/48h", wantErr: "from 1s to 24h"},
		{in: "5/24h1s", wantErr: "from 1s to 24h"},
		{in: "5/-3s", wantErr: "from 1s to 24h"},
		{in: "5/0s", wantErr: "from 1s to 24h"},
		{in: "5/fortnight", wantErr: "the window must be"},
		{in: "5/3s/2", wantErr: "the window must be"},
		{in: "5/Hour", wantErr: "the window must be"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ratelimit.ParseLimit(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseLimit(%q) = %v, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
				}
				// The message quotes what was given, so the setting can be found.
				if !strings.Contains(err.Error(), fmt.Sprintf("%q", tt.in)) {
					t.Errorf("error %q does not quote the input", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseLimit(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

// String is what config listings and logs show; it has to read back as the
// same limit for every window ParseLimit accepts.
func TestLimitStringRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		l    ratelimit.Limit
		want string
	}{
		{ratelimit.Limit{N: 5, Window: 3 * time.Second}, "5/3s"},
		{ratelimit.Limit{N: 1, Window: time.Second}, "1/second"},
		{ratelimit.Limit{N: 10, Window: time.Minute}, "10/minute"},
		{ratelimit.Limit{N: 250000, Window: time.Hour}, "250000/hour"},
		{ratelimit.Limit{N: 100, Window: 24 * time.Hour}, "100/day"},
		{ratelimit.Limit{N: 7, Window: 90 * time.Second}, "7/1m30s"},
	} {
		if got := tt.l.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.l, got, tt.want)
		}
	}
	for s := int64(1); s <= 24*3600; s++ {
		l := ratelimit.Limit{N: s, Window: time.Duration(s) * time.Second}
		got, err := ratelimit.ParseLimit(l.String())
		if err != nil || got != l {
			t.Fatalf("ParseLimit(%q) = %v, %v; want %v", l.String(), got, err, l)
		}
	}
}

// Limits come from the config file, the environment and flags.
func FuzzParseLimit(f *testing.F) {
	for _, s := range []string{"5/3s", "250000/hour", "1/1m", "5", "0/1s", "5/500ms", "5/1.5s", "5/48h", "5/fortnight", "9223372036854775807/d", " 1 / 1h0m1s "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ratelimit.ParseLimit(s)
		if err != nil {
			return
		}
		if l.N < 1 || l.Window < time.Second || l.Window > 24*time.Hour || l.Window%time.Second != 0 {
			t.Fatalf("ParseLimit(%q) = %#v, outside the documented range", s, l)
		}
		if again, err := ratelimit.ParseLimit(l.String()); err != nil || again != l {
			t.Fatalf("ParseLimit(%q) = %v, but ParseLimit(%q) = %v, %v", s, l, l.String(), again, err)
		}
	})
}

func TestWindowsAlignToTheClock(t *testing.T) {
	day := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
	kolkata := time.FixedZone("IST", 5*3600+1800) // a half-hour zone
	for _, tt := range []struct {
		name      string
		window    time.Duration
		now       time.Time
		wantReset time.Time
	}{
		{name: "hour just before the hour", window: time.Hour, now: day.Add(10*time.Hour + 59*time.Minute + 59*time.Second + 900*time.Millisecond), wantReset: day.Add(11 * time.Hour)},
		{name: "hour on the hour", window: time.Hour, now: day.Add(11 * time.Hour), wantReset: day.Add(12 * time.Hour)},
		// Windows follow Unix time, whatever zone the clock reads in.
		{name: "hour in a half-hour zone", window: time.Hour, now: day.Add(10*time.Hour + 59*time.Minute).In(kolkata), wantReset: day.Add(11 * time.Hour)},
		{name: "minute", window: time.Minute, now: day.Add(10*time.Hour + 30*time.Second), wantReset: day.Add(10*time.Hour + time.Minute)},
		{name: "day", window: 24 * time.Hour, now: day.Add(23*time.Hour + 59*time.Minute), wantReset: day.Add(24 * time.Hour)},
		// 1741910400 (the day) is a multiple of 3.
		{name: "3s at a multiple of 3", window: 3 * time.Second, now: day, wantReset: day.Add(3 * time.Second)},
		{name: "3s one past", window: 3 * time.Second, now: day.Add(time.Second), wantReset: day.Add(3 * time.Second)},
		{name: "3s just before", window: 3 * time.Second, now: day.Add(2999 * time.Millisecond), wantReset: day.Add(3 * time.Second)},
		{name: "7s", window: 7 * time.Second, now: time.Unix(700, 0), wantReset: time.Unix(707, 0)},
		{name: "7s mid-window", window: 7 * time.Second, now: time.Unix(706, 999), wantReset: time.Unix(707, 0)},
		{name: "before the epoch", window: 3 * time.Second, now: time.Unix(-1, 0), wantReset: time.Unix(0, 0)},
		{name: "well before the epoch", window: 3 * time.Second, now: time.Unix(-4, 0), wantReset: time.Unix(-3, 0)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.wantReset.Unix()%int64(tt.window/time.Second) != 0 {
				t.Fatalf("test case: reset %v is not aligned to %v", tt.wantReset, tt.window)
			}
			l := ratelimit.NewLocal(1)
			lim := ratelimit.Limit{N: 2, Window: tt.window}
			d := l.Take("ws", 0, lim, tt.now)
			if d.Reset != tt.wantReset.Unix() {
				t.Errorf("Reset = %d (%v), want %d (%v)", d.Reset, time.Unix(d.Reset, 0).UTC(), tt.wantReset.Unix(), tt.wantReset.UTC())
			}
			// The last instant of the window still counts against it; the
			// reset instant starts afresh.
			last := time.Unix(tt.wantReset.Unix(), 0).Add(-time.Nanosecond)
			if d := l.Take("ws", 0, lim, last); d.Remaining != 0 || !d.Allowed || d.Reset != tt.wantReset.Unix() {
				t.Errorf("Take at %v = %+v, want the second request of the same window", last, d)
			}
			if d := l.Take("ws", 0, lim, tt.wantReset); !d.Allowed || d.Remaining != 1 || d.Reset != tt.wantReset.Add(tt.window).Unix() {
				t.Errorf("Take at reset = %+v, want the first request of the next window", d)
			}
		})
	}
}

func TestTake(t *testing.T) {
	l := ratelimit.NewLocal(1)
	lim := ratelimit.Limit{N: 3, Window: time.Minute}
	t0 := time.Date(2025, 1, 1, 12, 0, 10, 0, time.UTC)
	reset := time.Date(2025, 1, 1, 12, 1, 0, 0, time.UTC).Unix()
	for i, want := range []ratelimit.Decision{
		{Allowed: true, Limit: 3, Remaining: 2, Reset: reset},
		{Allowed: true, Limit: 3, Remaining: 1, Reset: reset},
		{Allowed: true, Limit: 3, Remaining: 0, Reset: reset},
		{Allowed: false, Limit: 3, Remaining: 0, Reset: reset},
		{Allowed: false, Limit: 3, Remaining: 0, Reset: reset},
	} {
		if got := l.Take("ws", 0, lim, t0.Add(time.Duration(i)*time.Second)); got != want {
			t.Errorf("Take #%d = %+v, want %+v", i+1, got, want)
		}
	}
	// Denied requests are not counted, so the next window starts full.
	next := t0.Add(time.Minute)
	if got, want := l.Take("ws", 0, lim, next), (ratelimit.Decision{Allowed: true, Limit: 3, Remaining: 2, Reset: reset + 60}); got != want {
		t.Errorf("Take in the next window = %+v, want %+v", got, want)
	}
	// A smaller limit on a counter already past it denies without going
	// negative (limits can be lowered by a restart with new config).
	if d := l.Take("ws", 0, ratelimit.Limit{N: 1, Window: time.Minute}, next); d.Allowed || d.Remaining != 0 {
		t.Errorf("Take with a lowered limit = %+v, want denied with 0 remaining", d)
	}
}

func TestPeek(t *testing.T) {
	l := ratelimit.NewLocal(1)
	lim := ratelimit.Limit{N: 2, Window: time.Minute}
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	reset := now.Add(time.Minute).Unix()
	for range 10 {
		if got, want := l.Peek("ws", 0, lim, now), (ratelimit.Decision{Allowed: true, Limit: 2, Remaining: 2, Reset: reset}); got != want {
			t.Fatalf("Peek on a fresh window = %+v, want %+v", got, want)
		}
	}
	if d := l.Take("ws", 0, lim, now); !d.Allowed || d.Remaining != 1 {
		t.Fatalf("Take after Peeks = %+v, want the first request", d)
	}
	if d := l.Peek("ws", 0, lim, now); d.Remaining != 1 {
		t.Errorf("Peek after one Take = %+v, want 1 remaining", d)
	}
	l.Take("ws", 0, lim, now)
	if d := l.Peek("ws", 0, lim, now); d.Remaining != 0 || d.Reset != reset {
		t.Errorf("Peek on a spent window = %+v, want 0 remaining", d)
	}
	// Peek in a later window sees it fresh, and does not disturb it.
	later := now.Add(time.Minute)
	if d := l.Peek("ws", 0, lim, later); d.Remaining != 2 || d.Reset != reset+60 {
		t.Errorf("Peek in the next window = %+v, want 2 remaining", d)
	}
	if d := l.Take("ws", 0, lim, later); !d.Allowed || d.Remaining != 1 {
		t.Errorf("Take in the next window = %+v, want the first request", d)
	}
}

// The Limiter contract says Peek reports what Take would; on a spent window
// Take denies.
func TestPeekOnSpentWindowReportsDenied(t *testing.T) {
	l := ratelimit.NewLocal(1)
	lim := ratelimit.Limit{N: 1, Window: time.Minute}
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	l.Take("ws", 0, lim, now)
	peek, take := l.Peek("ws", 0, lim, now), l.Take("ws", 0, lim, now)
	if peek.Allowed != take.Allowed {
		t.Errorf("Peek = %+v but the next Take = %+v", peek, take)
	}
}

func TestScopesAndBucketsAreIndependent(t *testing.T) {
	l := ratelimit.NewLocal(3)
	lim := ratelimit.Limit{N: 1, Window: time.Hour}
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, scope := range []string{"ws-a", "ws-b", ""} {
		for bucket := range 3 {
			if d := l.Take(scope, bucket, lim, now); !d.Allowed {
				t.Errorf("first Take(%q, %d) = %+v, want allowed", scope, bucket, d)
			}
		}
	}
	for _, scope := range []string{"ws-a", "ws-b", ""} {
		for bucket := range 3 {
			if d := l.Take(scope, bucket, lim, now); d.Allowed {
				t.Errorf("second Take(%q, %d) = %+v, want denied", scope, bucket, d)
			}
		}
	}
}

// Run with -race: many goroutines share one counter, and others create
// scopes at the same time.
func TestTakeConcurrent(t *testing.T) {
	const (
		n          = 100
		goroutines = 32
		each       = 20
		scopes     = 4
	)
	l := ratelimit.NewLocal(2)
	lim := ratelimit.Limit{N: n, Window: time.Hour}
	now := time.Date(2025, 1, 1, 12, 30, 0, 0, time.UTC)
	var allowed [scopes][2]atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				s, b := (g+i)%scopes, i%2
				// A third of the requests land at the window's last instant:
				// still the same window.
				at := now
				if i%3 == 0 {
					at = now.Add(30*time.Minute - time.Nanosecond)
				}
				if l.Take(fmt.Sprint("ws-", s), b, lim, at).Allowed {
					allowed[s][b].Add(1)
				}
				l.Peek(fmt.Sprint("ws-", s), b, lim, at)
			}
		})
	}
	wg.Wait()
	total := int64(0)
	for s := range scopes {
		for b := range 2 {
			got := allowed[s][b].Load()
			total += got
			if got > n {
				t.Errorf("scope %d bucket %d allowed %d requests, limit %d", s, b, got, n)
			}
		}
	}
	// 640 requests spread evenly over 8 counters: 80 each, under the limit,
	// so every one is allowed and none is lost.
	if want := int64(goroutines * each); total != want {
		t.Errorf("allowed %d requests in total, want %d", total, want)
	}

	// One counter, far more requests than the limit.
	l = ratelimit.NewLocal(1)
	var got atomic.Int64
	for range goroutines {
		wg.Go(func() {
			for range each * 4 {
				if l.Take("ws", 0, lim, now).Allowed {
					got.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if got.Load() != n {
		t.Errorf("allowed %d of %d requests, want exactly %d", got.Load(), goroutines*each*4, n)
	}
}

func BenchmarkTake(b *testing.B) {
	lim := ratelimit.Limit{N: 1 << 62, Window: time.Hour}
	now := time.Now()
	b.Run("one-scope", func(b *testing.B) {
		l := ratelimit.NewLocal(1)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				l.Take("ws", 0, lim, now)
			}
		})
	})
	// Each goroutine its own workspace: only the scope map's read lock is
	// shared.
	b.Run("scope-per-goroutine", func(b *testing.B) {
		l := ratelimit.NewLocal(1)
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			scope := fmt.Sprint("ws-", next.Add(1))
			for pb.Next() {
				l.Take(scope, 0, lim, now)
			}
		})
	})
}
