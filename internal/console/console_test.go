package console

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/sqlite"
	"github.com/brazenhq/brazen/internal/sqlite/sqlitetest"
)

type keyCache struct{ added, forgotten []string }

func (c *keyCache) Add(k *brazen.APIKey) { c.added = append(c.added, k.ID) }
func (c *keyCache) Forget(id string)     { c.forgotten = append(c.forgotten, id) }

type consoleEnv struct {
	t      *testing.T
	srv    *httptest.Server
	store  *sqlite.DB
	client *http.Client
	now    time.Time
	cache  *keyCache
	ws     string
}

// newConsole serves the console over a real SQLite store, with one
// account (ops@example.com) and a client that keeps cookies and does not
// follow redirects.
func newConsole(t *testing.T) *consoleEnv {
	t.Helper()
	db := sqlitetest.Open(t)
	ws, _, err := db.DefaultWorkspace(t.Context(), "Test")
	if err != nil {
		t.Fatal(err)
	}
	e := &consoleEnv{t: t, store: db, now: time.Now(), cache: &keyCache{}, ws: ws.ID}
	h, err := New(Options{Store: db, Keys: e.cache, Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return e.now },
		Instance: Instance{Name: "TEST-01", WorkspaceID: ws.ID, RESTURL: "http://127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	jar, _ := cookiejar.New(nil)
	e.client = &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	hash, _ := HashPassword("the right password")
	if err := db.CreateAdmin(t.Context(), &brazen.Admin{ID: "a1", Email: "ops@example.com", PasswordHash: hash, CreatedAt: e.now}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *consoleEnv) do(method, path string, form url.Values, hdr ...string) (*http.Response, string) {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func (e *consoleEnv) login(password string) *http.Response {
	resp, _ := e.do("POST", "/login", url.Values{"email": {"OPS@example.com"}, "password": {password}, "next": {"/usage"}})
	return resp
}

// TestConsoleSessions: pages need a session; a wrong password is refused;
// a login lands on ?next; the session ends at logout and at expiry; the
// headers keep pages out of frames and caches.
func TestConsoleSessions(t *testing.T) {
	e := newConsole(t)
	resp, _ := e.do("GET", "/keys", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next=%2Fkeys" {
		t.Errorf("no session: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp := e.login("wrong"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong password: %d", resp.StatusCode)
	}
	resp = e.login("the right password")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/usage" {
		t.Fatalf("login: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == cookieName {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Secure {
		t.Errorf("session cookie %+v (Secure only over TLS)", cookie)
	}
	resp, body := e.do("GET", "/keys", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "ops@example.com") {
		t.Fatalf("keys with a session: %d", resp.StatusCode)
	}
	for h, want := range map[string]string{"Content-Security-Policy": "frame-ancestors 'none'", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"} {
		if !strings.Contains(resp.Header.Get(h), want) {
			t.Errorf("%s: %q", h, resp.Header.Get(h))
		}
	}
	if a, _ := e.store.AdminByID(t.Context(), "a1"); a.LastLoginAt.IsZero() {
		t.Error("the login was not recorded")
	}
	// An open redirect is not followed.
	resp, _ = e.do("POST", "/login", url.Values{"email": {"ops@example.com"}, "password": {"the right password"}, "next": {"//evil.example/x"}})
	if resp.Header.Get("Location") != "/keys" {
		t.Errorf("next=//evil.example: redirected to %s", resp.Header.Get("Location"))
	}
	for _, c := range resp.Cookies() {
		if c.Name == cookieName {
			cookie = c // the session logout will end
		}
	}
	for _, next := range []string{"/\t/evil.example", "/\t\\evil.example", "/\\evil.example", "https://evil.example", "/%0a/evil"} {
		if got := localPath(next); got != "/keys" && next != "/%0a/evil" {
			t.Errorf("localPath(%q) = %q", next, got)
		}
	}
	if got := localPath("/users?by=email&q=a%40b.c"); got != "/users?by=email&q=a%40b.c" {
		t.Errorf("a local path with a query: %q", got)
	}
	// Forms are small and URL-encoded.
	if resp, _ := e.do("POST", "/login", url.Values{"email": {strings.Repeat("a", 20<<10)}}); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("a 20 KB login form: %d", resp.StatusCode)
	}
	if resp, _ := e.do("POST", "/login", nil, "Content-Type", "multipart/form-data; boundary=x"); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("a multipart login: %d", resp.StatusCode)
	}
	// Expiry.
	e.now = e.now.Add(13 * time.Hour)
	if resp, _ := e.do("GET", "/keys", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after the session's 12 hours: %d", resp.StatusCode)
	}
	e.now = e.now.Add(-13 * time.Hour)
	// Logout ends it in the store, not only in the browser.
	if resp, _ := e.do("POST", "/logout", url.Values{}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("logout: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", e.srv.URL+"/keys", nil)
	req.AddCookie(&http.Cookie{Name: cookieName, Value: cookie.Value})
	if resp, err := e.client.Do(req); err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the old cookie after logout: %v %v", resp.StatusCode, err)
	}
}

// TestConsoleLoginLimit: the 11th attempt in 5 minutes for one email is
// refused with 429, even with the right password, whichever node of the
// cluster (two consoles over one store here) took the others.
func TestConsoleLoginLimit(t *testing.T) {
	e := newConsole(t)
	h, err := New(Options{Store: e.store, Keys: e.cache, Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return e.now }})
	if err != nil {
		t.Fatal(err)
	}
	other := httptest.NewServer(h)
	defer other.Close()
	nodeB := &consoleEnv{t: t, srv: other, client: e.client}
	for i := range 10 {
		node := e
		if i%2 == 1 {
			node = nodeB
		}
		if resp := node.login("wrong"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i+1, resp.StatusCode)
		}
	}
	for _, node := range []*consoleEnv{e, nodeB} {
		resp := node.login("the right password")
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
			t.Errorf("11th attempt: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	e.now = e.now.Add(6 * time.Minute)
	if resp := e.login("the right password"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after the window: %d", resp.StatusCode)
	}
}

// TestConsoleLoginLimitByAddress: behind a trusted proxy, the address it
// forwards for is limited across emails; loopback peers (no proxy named)
// are limited by email only.
func TestConsoleLoginLimitByAddress(t *testing.T) {
	e := newConsole(t)
	h, err := New(Options{Store: e.store, Keys: e.cache, Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return e.now },
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	if err != nil {
		t.Fatal(err)
	}
	proxied := httptest.NewServer(h)
	defer proxied.Close()
	p := &consoleEnv{t: t, srv: proxied, client: e.client}
	login := func(env *consoleEnv, email, from string) int {
		resp, _ := env.do("POST", "/login", url.Values{"email": {email}, "password": {"wrong"}}, "X-Forwarded-For", from)
		return resp.StatusCode
	}
	for i := range 10 {
		if code := login(p, fmt.Sprintf("user%d@example.com", i), "192.0.2.7"); code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i+1, code)
		}
	}
	if code := login(p, "new@example.com", "192.0.2.7"); code != http.StatusTooManyRequests {
		t.Errorf("the address's 11th attempt, with a new email: %d, want 429", code)
	}
	if code := login(p, "new@example.com", "192.0.2.8"); code != http.StatusUnauthorized {
		t.Errorf("the same email from another address: %d, want 401", code)
	}
	// Without a trusted proxy, X-Forwarded-For is not believed, and the
	// loopback peer is limited by email only.
	if code := login(e, "other@example.com", "192.0.2.7"); code != http.StatusUnauthorized {
		t.Errorf("a loopback peer with a forged X-Forwarded-For: %d, want 401", code)
	}
}

// TestConsoleKeys: keys are created with Braze's validation, shown once,
// cached for the REST API, and deleted; a cross-site post is refused.
func TestConsoleKeys(t *testing.T) {
	e := newConsole(t)
	e.login("the right password")
	resp, body := e.do("POST", "/keys", url.Values{"form_id": {"f1"}, "name": {"etl"}, "permissions": {"users.track"}, "allowed_ips": {"10.0.0.0/8\nnot-an-ip"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "not-an-ip") || !strings.Contains(body, `value="users.track" checked`) {
		t.Errorf("a bad allowlist entry: %d (the form must keep what was typed)", resp.StatusCode)
	}
	if !strings.Contains(body, `aria-describedby="ips-hint ips-status form-error" aria-invalid="true"`) {
		t.Error("the allowlist field is not marked invalid and tied to the error")
	}
	resp, body = e.do("POST", "/keys", url.Values{"name": {"etl"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "at least one permission") {
		t.Errorf("no permission: %d", resp.StatusCode)
	}
	form := url.Values{"form_id": {"f1"}, "name": {"etl"}, "permissions": {"users.track", "messages.send"}, "allowed_ips": {"10.0.0.0/8, 192.0.2.1"}}
	resp, body = e.do("POST", "/keys", form)
	if resp.StatusCode != http.StatusCreated || len(e.cache.added) != 1 {
		t.Fatalf("create: %d, cached %v", resp.StatusCode, e.cache.added)
	}
	// The same form again (a reload) creates nothing.
	if resp, _ := e.do("POST", "/keys", form); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/keys?done=exists" || len(e.cache.added) != 1 {
		t.Errorf("the form sent twice: %d %s, %d keys", resp.StatusCode, resp.Header.Get("Location"), len(e.cache.added))
	}
	keys, _ := e.store.Keys(t.Context(), e.ws)
	if len(keys) != 1 || len(keys[0].AllowedIPs) != 2 || strings.Join(keys[0].Permissions, ",") != "users.track,messages.send" {
		t.Fatalf("stored %+v", keys)
	}
	if resp, _ := e.do("POST", "/keys/"+keys[0].ID+"/delete", url.Values{}, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a cross-site delete: %d", resp.StatusCode)
	}
	if resp, _ := e.do("POST", "/keys/"+keys[0].ID+"/delete", url.Values{}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("delete: %d", resp.StatusCode)
	}
	if keys, _ := e.store.Keys(t.Context(), e.ws); len(keys) != 0 || len(e.cache.forgotten) != 1 {
		t.Errorf("after delete: %d keys, forgotten %v", len(keys), e.cache.forgotten)
	}
	if resp, _ := e.do("GET", "/keys/nope/delete", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown key: %d", resp.StatusCode)
	}
}

// TestConsoleSetupLink: the link makes one account and logs it in; it
// works once; a weak password or mismatch is refused without using it.
func TestConsoleSetupLink(t *testing.T) {
	e := newConsole(t)
	if err := e.store.DeleteAdmin(t.Context(), "a1"); err != nil { // a store without accounts
		t.Fatal(err)
	}
	secret := NewSecret()
	if err := e.store.CreateConsoleToken(t.Context(), brazen.ConsoleToken{Hash: brazen.HashSecret(secret), Kind: brazen.TokenSetup,
		CreatedAt: e.now, ExpiresAt: e.now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if resp, _ := e.do("GET", "/setup?token=wrong", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a wrong token: %d", resp.StatusCode)
	}
	if resp, _ := e.do("GET", "/setup?token="+secret, nil); resp.StatusCode != 200 {
		t.Errorf("the link: %d", resp.StatusCode)
	}
	// Attempts are counted by link: someone without it, posting to the
	// setup form, does not use up the link's attempts.
	for i := range 11 {
		resp, _ := e.do("POST", "/setup", url.Values{"token": {"guess"}, "email": {"x@example.com"}, "password": {"x"}})
		if want := map[bool]int{true: http.StatusTooManyRequests, false: http.StatusNotFound}[i == 10]; resp.StatusCode != want {
			t.Errorf("guess %d: %d, want %d", i+1, resp.StatusCode, want)
		}
	}
	form := url.Values{"token": {secret}, "email": {"new@example.com"}, "password": {"short"}, "confirm": {"short"}}
	if resp, _ := e.do("POST", "/setup", form); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a weak password: %d", resp.StatusCode)
	}
	form.Set("password", "a long enough password")
	form.Set("confirm", "a different password!!")
	if resp, _ := e.do("POST", "/setup", form); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("passwords that differ: %d", resp.StatusCode)
	}
	form.Set("confirm", "a long enough password")
	if resp, _ := e.do("POST", "/setup", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("setup: %d", resp.StatusCode)
	}
	if resp, body := e.do("GET", "/keys", nil); resp.StatusCode != 200 || !strings.Contains(body, "new@example.com") {
		t.Errorf("logged in after setup: %d", resp.StatusCode)
	}
	form.Set("email", "other@example.com")
	if resp, _ := e.do("POST", "/setup", form); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the link used twice: %d", resp.StatusCode)
	}
	// Another link made before the account is spent too.
	other := NewSecret()
	if err := e.store.CreateConsoleToken(t.Context(), brazen.ConsoleToken{Hash: brazen.HashSecret(other), Kind: brazen.TokenSetup,
		CreatedAt: e.now, ExpiresAt: e.now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if resp, _ := e.do("GET", "/setup?token="+other, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a second link once an account exists: %d", resp.StatusCode)
	}
	form.Set("token", other)
	if resp, _ := e.do("POST", "/setup", form); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a second link posted once an account exists: %d", resp.StatusCode)
	}
}

// TestConsoleUsage: counts fall in the range's buckets; errors and 429s
// are counted apart; the 7-day axis marks midnights.
func TestConsoleUsage(t *testing.T) {
	e := newConsole(t)
	e.login("the right password")
	now := e.now.UTC()
	if err := e.store.AddAPIUsage(t.Context(), []brazen.APIUsage{
		{Minute: now.Add(-30 * time.Minute).Truncate(time.Minute), Route: "POST /users/track", Status: 201, Count: 7},
		{Minute: now.Add(-20 * time.Minute).Truncate(time.Minute), Route: "POST /users/track", Status: 429, Count: 2},
		{Minute: now.Add(-72 * time.Hour).Truncate(time.Minute), Route: "POST /messages/send", Status: 400, Count: 5},
		{Minute: now.Add(-9 * 24 * time.Hour).Truncate(time.Minute), Route: "POST /messages/send", Status: 201, Count: 100},
	}); err != nil {
		t.Fatal(err)
	}
	stat := func(body, label string) string {
		i := strings.Index(body, `<span class="label">`+label)
		j := strings.LastIndex(body[:i], `<span class="n">`)
		return body[j+len(`<span class="n">`) : strings.Index(body[j:], "</span>")+j]
	}
	for _, tt := range []struct{ rng, total, errors, limited string }{
		{"1h", "9", "2", "2"}, {"24h", "9", "2", "2"}, {"7d", "14", "7", "2"},
	} {
		resp, body := e.do("GET", "/usage?range="+tt.rng, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", tt.rng, resp.StatusCode)
		}
		if got := [3]string{stat(body, "requests"), stat(body, "errors"), stat(body, "rate-limited")}; got != [3]string{tt.total, tt.errors, tt.limited} {
			t.Errorf("%s: requests, errors, rate-limited = %v, want %s %s %s", tt.rng, got, tt.total, tt.errors, tt.limited)
		}
		if tt.rng == "7d" && strings.Count(body, ">"+now.Format("Jan 2")+"</text>") != 2 {
			t.Errorf("7d: today's midnight is not marked once on each of the two time axes")
		}
	}
}

// TestConsoleChangePassword: the account page changes the password once
// the current one is given; the account's other sessions end, this
// browser's continues, and only the new password logs in.
func TestConsoleChangePassword(t *testing.T) {
	e := newConsole(t)
	// A second browser logged in to the same account.
	jar, _ := cookiejar.New(nil)
	other := &consoleEnv{t: t, srv: e.srv, client: &http.Client{Jar: jar, CheckRedirect: e.client.CheckRedirect}}
	if resp := other.login("the right password"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the other browser's login: %d", resp.StatusCode)
	}
	if resp := e.login("the right password"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	if resp, body := e.do("GET", "/account", nil); resp.StatusCode != 200 || !strings.Contains(body, "ops@example.com") || !strings.Contains(body, `action="/account/password"`) {
		t.Fatalf("account page: %d\n%s", resp.StatusCode, body)
	}
	const newPassword = "a longer new password"
	for _, c := range []struct {
		name                      string
		current, password, repeat string
		status                    int
		says, field               string
	}{
		{"wrong current", "wrong", newPassword, newPassword, http.StatusUnauthorized, "current password is not right", `id="current" name="current" type="password" autocomplete="current-password" required aria-describedby="form-error" aria-invalid="true"`},
		{"too short", "the right password", "short", "short", http.StatusBadRequest, "too weak", `id="password"`},
		{"repeated wrongly", "the right password", newPassword, newPassword + "!", http.StatusBadRequest, "differ", `id="confirm"`},
	} {
		resp, body := e.do("POST", "/account/password", url.Values{"current": {c.current}, "password": {c.password}, "confirm": {c.repeat}})
		if resp.StatusCode != c.status || !strings.Contains(body, c.says) || !strings.Contains(body, c.field) {
			t.Errorf("%s: %d, want %d saying %q\n%s", c.name, resp.StatusCode, c.status, c.says, body)
		}
	}
	if a, _ := e.store.AdminByID(t.Context(), "a1"); a == nil {
		t.Fatal("the account is gone")
	} else if ok, _ := VerifyPassword(a.PasswordHash, "the right password"); !ok {
		t.Fatal("a refused change changed the password")
	}

	resp, _ := e.do("POST", "/account/password", url.Values{"current": {"the right password"}, "password": {newPassword}, "confirm": {newPassword}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account?done=password" {
		t.Fatalf("change: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, body := e.do("GET", "/account?done=password", nil); resp.StatusCode != 200 || !strings.Contains(body, "The password is changed") {
		t.Errorf("this browser after the change: %d", resp.StatusCode)
	}
	if resp, _ := other.do("GET", "/keys", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the other browser's session after the change: %d, want a redirect to the login", resp.StatusCode)
	}
	if resp := other.login("the right password"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the old password: %d", resp.StatusCode)
	}
	if resp := other.login(newPassword); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the new password: %d", resp.StatusCode)
	}
	// Cross-site posts are refused like every form's.
	if resp, _ := e.do("POST", "/account/password", url.Values{"current": {newPassword}, "password": {"x"}, "confirm": {"x"}},
		"Sec-Fetch-Site", "cross-site"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a cross-site change: %d", resp.StatusCode)
	}
}

// failingStore is a real store whose key creation or session creation
// can be made to fail, as a store that went away would.
type failingStore struct {
	*sqlite.DB
	failKeys, failSessions bool
	changeFirst            string // a password hash set just before the next session is stored
}

var errStoreDown = &brazen.Error{Code: brazen.EUNAVAILABLE, Message: "the store is down"}

func (s *failingStore) CreateKey(ctx context.Context, k *brazen.APIKey) error {
	if s.failKeys {
		return errStoreDown
	}
	return s.DB.CreateKey(ctx, k)
}

func (s *failingStore) CreateConsoleToken(ctx context.Context, t brazen.ConsoleToken) error {
	if s.failSessions {
		return errStoreDown
	}
	if s.changeFirst != "" {
		// A password change commits while a login is between checking
		// the old password and storing its session.
		if err := s.DB.SetAdminPassword(ctx, t.AdminID, s.changeFirst); err != nil {
			return err
		}
		s.changeFirst = ""
	}
	return s.DB.CreateConsoleToken(ctx, t)
}

// TestConsoleStoreFailures: a key the store failed to create can be
// created by sending the form again (its id is not taken for a reload);
// a password changed when the new session cannot be stored sends the
// browser to the login page, saying the password changed.
func TestConsoleStoreFailures(t *testing.T) {
	e := newConsole(t)
	fs := &failingStore{DB: e.store}
	h, err := New(Options{Store: fs, Keys: e.cache, Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return e.now },
		Instance: Instance{WorkspaceID: e.ws}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	f := &consoleEnv{t: t, srv: srv, client: e.client}
	if resp := f.login("the right password"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", resp.StatusCode)
	}

	fs.failKeys = true
	form := url.Values{"form_id": {"f9"}, "name": {"etl"}, "permissions": {"users.track"}}
	resp, body := f.do("POST", "/keys", form)
	if resp.StatusCode != http.StatusServiceUnavailable || strings.Contains(body, `value="f9"`) || !strings.Contains(body, `name="form_id"`) {
		t.Fatalf("a key the store failed to create: %d, want 503 and the form with a new id\n%s", resp.StatusCode, body)
	}
	fs.failKeys = false
	form.Set("form_id", regexp.MustCompile(`name="form_id" value="([^"]+)"`).FindStringSubmatch(body)[1])
	if resp, _ := f.do("POST", "/keys", form); resp.StatusCode != http.StatusCreated {
		t.Errorf("the form sent again with its new id: %d, want 201", resp.StatusCode)
	}

	fs.failSessions = true
	const newPassword = "a longer new password"
	resp, _ = f.do("POST", "/account/password", url.Values{"current": {"the right password"}, "password": {newPassword}, "confirm": {newPassword}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?done=password" {
		t.Fatalf("a password change whose session could not be stored: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, body := f.do("GET", "/login?done=password", nil); resp.StatusCode != 200 || !strings.Contains(body, "The password is changed. Log in with the new one.") {
		t.Errorf("the login page after it: %d", resp.StatusCode)
	}
	fs.failSessions = false
	if resp := f.login(newPassword); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the new password: %d", resp.StatusCode)
	}

	// A login that checked the password a change then replaced gets no
	// session: the change ended every session, this one included.
	third, _ := HashPassword("a third long password")
	fs.changeFirst = third
	jar, _ := cookiejar.New(nil)
	late := &consoleEnv{t: t, srv: srv, client: &http.Client{Jar: jar, CheckRedirect: e.client.CheckRedirect}}
	if resp := late.login(newPassword); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a login racing a password change: %d, want 401", resp.StatusCode)
	}
	if resp, _ := late.do("GET", "/keys", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the racing login's browser: %d, want a redirect to the login", resp.StatusCode)
	}
}
