package brazeapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/brazenhq/brazen/internal/auth"
	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/ratelimit"
)

// unlimited keeps the benchmarks' fixed clock from exhausting the window;
// the limiter still counts every request.
var unlimited = harnessOpts{limits: map[string]ratelimit.Limit{"default": {N: 1 << 62, Window: time.Hour}}}

func hashOf(secret string) brazen.KeyHash { return brazen.HashSecret(secret) }

// BenchmarkMiddleware measures what every REST request pays before its
// handler: key lookup, permission, IP allowlist, rate limit and headers.
// Target: under 5 µs per request.
func BenchmarkMiddleware(b *testing.B) {
	h := newHarness(b, unlimited)
	key := h.key([]string{"users.track"}, "203.0.113.0/24", "2001:db8::/32")
	e := &endpoint{pattern: "POST /users/track", permission: "users.track", group: gDefault,
		handler: func(*API, *Call) error { return nil }}
	perm := auth.MustPermission(e.permission)
	r := httptest.NewRequest("POST", "/users/track", nil)
	r.RemoteAddr = "203.0.113.7:5555"
	r.Header.Set("Authorization", "Bearer "+key)
	w := &discardWriter{h: http.Header{}}
	if err := h.api.serve(&Call{W: w, R: r, Now: h.clock.Now(), e: e}, perm); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := h.api.serve(&Call{W: w, R: r, Now: h.clock.Now(), e: e}, perm); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMiddlewareParallel is the same on every core at once.
func BenchmarkMiddlewareParallel(b *testing.B) {
	h := newHarness(b, unlimited)
	key := h.key([]string{"users.track"})
	e := &endpoint{pattern: "POST /users/track", permission: "users.track", group: gDefault,
		handler: func(*API, *Call) error { return nil }}
	perm := auth.MustPermission(e.permission)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := httptest.NewRequest("POST", "/users/track", nil)
		r.RemoteAddr = "203.0.113.7:5555"
		r.Header.Set("Authorization", "Bearer "+key)
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			if err := h.api.serve(&Call{W: w, R: r, Now: h.clock.Now(), e: e}, perm); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkNotBuilt is a whole request through the mux to a 501 answer,
// error body included.
func BenchmarkNotBuilt(b *testing.B) {
	h := newHarness(b, unlimited)
	key := h.key(nil)
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest("POST", "/campaigns/trigger/send", strings.NewReader(`{"broadcast":true}`))
		r.RemoteAddr = "203.0.113.7:5555"
		r.Header.Set("Authorization", "Bearer "+key)
		w := &discardWriter{h: http.Header{}}
		h.api.ServeHTTP(w, r)
		if w.code != 501 {
			b.Fatal(w.code)
		}
	}
}

type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }
