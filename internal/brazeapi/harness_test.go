package brazeapi

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brazenhq/brazen/internal/auth"
	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/dispatch"
	"github.com/brazenhq/brazen/internal/ingest"
	"github.com/brazenhq/brazen/internal/ratelimit"
	"github.com/brazenhq/brazen/internal/sqlite"
	"github.com/brazenhq/brazen/internal/sqlite/sqlitetest"
)

// clock is a settable time source for rate-limit windows.
type clock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// harness is an API over a real SQLite store with a controllable clock.
type harness struct {
	t     testing.TB
	api   *API
	store *sqlite.DB
	ws    *brazen.Workspace
	clock *clock
	users *ingest.Service
}

type harnessOpts struct {
	limits  map[string]ratelimit.Limit
	trusted []string
}

func newHarness(t testing.TB, o harnessOpts) *harness {
	t.Helper()
	db := sqlitetest.Open(t)
	ctx := t.Context()
	ws, _, err := db.DefaultWorkspace(ctx, "Test")
	if err != nil {
		t.Fatal(err)
	}
	limits, err := ResolveLimits(o.limits)
	if err != nil {
		t.Fatal(err)
	}
	trusted, err := auth.ParsePrefixes(o.trusted)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	users, err := ingest.Open(ctx, db, logger, ingest.ApplierOptions{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { users.Run(ctx); close(done) }()
	t.Cleanup(func() { <-done }) // runs before db.Close: cleanups are last in, first out
	api := New(Options{
		Keys: auth.NewKeyring(db, logger), Limiter: ratelimit.NewLocal(numGroups), Limits: limits,
		TrustedProxies: trusted, Now: clk.Now, Logger: logger, Users: users,
		// A planner with no channels: /messages/send is built, and refuses
		// every message with 400 (the real channels are tested end to end).
		Messages: dispatch.NewPlanner(users, db, nil, logger),
		Bounces:  db,
		Sends:    db,
	})
	return &harness{t: t, api: api, store: db, ws: ws, clock: clk, users: users}
}

// key creates a key and returns its secret.
func (h *harness) key(perms []string, ips ...string) string {
	h.t.Helper()
	k, secret, err := auth.NewAPIKey(auth.KeyRequest{
		WorkspaceID: h.ws.ID, Name: "test", Permissions: perms, AllPermissions: perms == nil, AllowedIPs: ips,
	}, time.Now())
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.store.CreateKey(h.t.Context(), k); err != nil {
		h.t.Fatal(err)
	}
	return secret
}

// request describes one call.
type request struct {
	method, path string
	headers      map[string]string
	body         string
	remote       string // default 203.0.113.7:5555
}

func (h *harness) do(rq request) *httptest.ResponseRecorder {
	h.t.Helper()
	var body io.Reader
	if rq.body != "" {
		body = strings.NewReader(rq.body)
	}
	r := httptest.NewRequest(rq.method, rq.path, body)
	r.RemoteAddr = "203.0.113.7:5555"
	if rq.remote != "" {
		r.RemoteAddr = rq.remote
	}
	for k, v := range rq.headers {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.api.ServeHTTP(w, r)
	return w
}

func bearer(key string) map[string]string { return map[string]string{"Authorization": "Bearer " + key} }

// concretePath fills a pattern's wildcards.
func concretePath(path string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(path, '{')
		if i < 0 {
			b.WriteString(path)
			return b.String()
		}
		j := strings.IndexByte(path[i:], '}')
		b.WriteString(path[:i])
		b.WriteString("x1")
		path = path[i+j+1:]
	}
}
