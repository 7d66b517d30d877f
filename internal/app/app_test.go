package app

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/brazenhq/brazen/internal/auth"
	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/config"
)

func testConfig(t *testing.T, dir string) config.Config {
	cfg := config.Default()
	cfg.Data = dir
	cfg.Addr = "127.0.0.1:0"
	cfg.ConsoleAddr = "127.0.0.1:0"
	cfg.ShutdownTimeout = 5 * time.Second
	return cfg
}

// start opens and runs an App; the returned stop shuts it down and returns
// Run's error.
func start(t *testing.T, cfg config.Config) (*App, func() error) {
	t.Helper()
	a, err := Open(t.Context(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var stopped bool
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after cancel")
			return nil
		}
	}
	t.Cleanup(func() { stop() })
	return a, stop
}

func call(t *testing.T, method, url, key, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/") {
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatalf("%s %s: body is not JSON: %s", method, url, raw)
		}
	}
	return resp.StatusCode, resp.Header, v
}

// TestFirstStart: the first start of a fresh data directory issues one admin
// key holding every permission; a restart issues none, and the key still
// works.
func TestFirstStart(t *testing.T) {
	dir := t.TempDir()
	a, stop := start(t, testConfig(t, dir))
	key := a.FirstKey
	if len(key) != 36 {
		t.Fatalf("FirstKey = %q", key)
	}
	base := "http://" + a.Addr()
	if status, _, body := call(t, "POST", base+"/users/track", key, `{"attributes":[{"external_id":"u1","first_name":"Ada"}]}`); status != 201 {
		t.Fatalf("track: %d %v", status, body)
	}
	status, hdr, body := call(t, "POST", base+"/users/export/ids", key, `{"external_ids":["u1"]}`)
	if users, _ := body["users"].([]any); status != 200 || len(users) != 1 || hdr.Get("X-RateLimit-Limit") != "250" || hdr.Get("X-Request-Id") == "" {
		t.Fatalf("got %d %v %v", status, hdr, body)
	}
	k, err := a.Store().KeyByHash(t.Context(), brazen.HashSecret(key))
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Permissions) != len(auth.PermissionNames()) {
		t.Errorf("first key has %d permissions, want all %d", len(k.Permissions), len(auth.PermissionNames()))
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}

	b, _ := start(t, testConfig(t, dir))
	if b.FirstKey != "" {
		t.Errorf("a restart issued another first key")
	}
	status, _, body = call(t, "POST", "http://"+b.Addr()+"/users/export/ids", key, `{"external_ids":["u1"]}`)
	if users, _ := body["users"].([]any); status != 200 || len(users) != 1 {
		t.Errorf("after a restart, with the first key: %d %v", status, body)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.Instance = "EU-01"
	a, _ := start(t, cfg)
	base := "http://" + a.Addr()
	if status, _, body := call(t, "GET", base+"/healthz", "", ""); status != 200 || body["instance"] != "EU-01" || body["status"] != "ok" {
		t.Errorf("healthz: %d %v", status, body)
	}
	if status, _, body := call(t, "GET", base+"/readyz", "", ""); status != 200 || body["instance"] != "EU-01" || body["store"] != "sqlite" {
		t.Errorf("readyz: %d %v", status, body)
	}
	if status, hdr, _ := call(t, "POST", base+"/healthz", "", ""); status != 405 || hdr.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /healthz: %d %v", status, hdr)
	}
	if status, _, body := call(t, "GET", base+"/openapi.json", "", ""); status != 200 || body["openapi"] != "3.1.0" {
		t.Errorf("openapi.json: %d %v", status, body["openapi"])
	}
	call(t, "POST", base+"/users/track", "nope", "{}")
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`brazen_http_requests_total{code="401",listener="rest",route="POST /users/track"} 1`,
		`brazen_http_request_duration_seconds_bucket{listener="rest",route="POST /users/track"`,
		`brazen_rate_limited_total{group="users.track"} 0`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestReadyzReportsTheStore: readiness fails once the store is gone.
func TestReadyzReportsTheStore(t *testing.T) {
	a, _ := start(t, testConfig(t, t.TempDir()))
	a.store.Close()
	if status, _, body := call(t, "GET", "http://"+a.Addr()+"/readyz", "", ""); status != 503 || body["status"] != "unavailable" {
		t.Errorf("readyz with a closed store: %d %v", status, body)
	}
}

// TestAdminAPI: admin tokens open the admin API and REST keys do not; keys
// created and deleted there take effect on the REST API at once.
func TestAdminAPI(t *testing.T) {
	a, _ := start(t, testConfig(t, t.TempDir()))
	admin := "http://" + a.ConsoleAddr() + "/admin/v1"
	rest := "http://" + a.Addr()

	token := adminToken(t, a)
	if status, _, _ := call(t, "GET", admin+"/keys", a.FirstKey, ""); status != 401 {
		t.Errorf("a REST key opened the admin API: %d", status)
	}
	if status, _, _ := call(t, "GET", admin+"/keys", "", ""); status != 401 {
		t.Errorf("no token: %d", status)
	}
	if status, _, _ := call(t, "GET", rest+"/admin/v1/keys", token, ""); status != 404 {
		t.Errorf("the admin API is reachable on the REST listener: %d", status)
	}
	if status, _, _ := call(t, "POST", rest+"/users/track", token, "{}"); status != 401 {
		t.Errorf("an admin token opened the REST API: %d", status)
	}

	status, _, body := call(t, "POST", admin+"/keys", token,
		`{"name":"ci","permissions":["users.track"],"allowed_ips":["127.0.0.1","::1"]}`)
	if status != 201 {
		t.Fatalf("create: %d %v", status, body)
	}
	secret, id := body["key"].(string), body["id"].(string)
	if status, _, _ := call(t, "POST", rest+"/users/track", secret, `{"events":[{"external_id":"u","name":"e","time":"2026-01-01T00:00:00Z"}]}`); status != 201 {
		t.Errorf("new key on REST: %d", status)
	}
	if status, _, _ := call(t, "GET", rest+"/campaigns/list", secret, ""); status != 403 {
		t.Errorf("new key outside its permissions: %d", status)
	}
	status, _, body = call(t, "GET", admin+"/keys/"+id, token, "")
	if status != 200 || body["key"] != nil || body["name"] != "ci" {
		t.Errorf("get: %d %v", status, body)
	}
	status, _, body = call(t, "GET", admin+"/keys", token, "")
	if keys, _ := body["keys"].([]any); status != 200 || len(keys) != 2 {
		t.Errorf("list: %d %v", status, body)
	}
	if strings.Contains(fmt.Sprint(body), secret) {
		t.Errorf("the list shows a secret")
	}
	for _, bad := range []string{
		`{"name":"","permissions":["users.track"]}`,
		`{"name":"x","permissions":["users.nope"]}`,
		`{"name":"x","permissions":[]}`,
		`{"name":"x","all_permissions":true,"allowed_ips":["10.0.0.1/8"]}`,
		`{"name":`,
	} {
		if status, _, body := call(t, "POST", admin+"/keys", token, bad); status != 400 {
			t.Errorf("create %s: %d %v", bad, status, body)
		}
	}
	if status, _, _ := call(t, "DELETE", admin+"/keys/"+id, token, ""); status != 200 {
		t.Errorf("delete: %d", status)
	}
	if status, _, _ := call(t, "POST", rest+"/users/track", secret, `{"events":[{"external_id":"u","name":"e","time":"2026-01-01T00:00:00Z"}]}`); status != 401 {
		t.Errorf("deleted key still works: %d", status)
	}
	if status, _, _ := call(t, "DELETE", admin+"/keys/"+id, token, ""); status != 404 {
		t.Errorf("second delete: %d", status)
	}
	status, _, body = call(t, "GET", admin+"/permissions", token, "")
	if groups, _ := body["groups"].([]any); status != 200 || len(groups) != len(auth.Groups) {
		t.Errorf("permissions: %d %v", status, body)
	}
	status, _, body = call(t, "GET", admin+"/instance", token, "")
	if status != 200 || body["instance"] != "LOCAL-01" || body["rest_addr"] != a.Addr() {
		t.Errorf("instance: %d %v", status, body)
	}
}

// TestGracefulShutdown: a request in flight when shutdown begins is
// answered; new connections are refused.
func TestGracefulShutdown(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	a, stop := start(t, cfg)
	conn, err := net.Dial("tcp", a.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Send the headers and half the body, so the request is in flight.
	body := `{"attributes":[{"external_id":"in-flight","first_name":"Ada"}]}`
	half := len(body) / 2
	fmt.Fprintf(conn, "POST /users/track HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s",
		a.FirstKey, len(body), body[:half])
	time.Sleep(100 * time.Millisecond)
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	time.Sleep(200 * time.Millisecond)
	if _, err := net.DialTimeout("tcp", a.Addr(), time.Second); err == nil {
		t.Errorf("a new connection was accepted during shutdown")
	}
	fmt.Fprint(conn, body[half:])
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the in-flight request got no answer: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Errorf("in-flight request: %d", resp.StatusCode)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Run: %v", err)
	}
	// What was acknowledged is there after a restart.
	b, _ := start(t, cfg)
	status, _, out := call(t, "POST", "http://"+b.Addr()+"/users/export/ids", a.FirstKey, `{"external_ids":["in-flight"]}`)
	if users, _ := out["users"].([]any); status != 200 || len(users) != 1 {
		t.Errorf("the acknowledged in-flight write is missing after restart: %d %v", status, out)
	}
}

func TestOpenRejectsBadSettings(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*config.Config)
		setting string
	}{
		{"unknown rate-limit path", func(c *config.Config) { c.RateLimits["/nope"] = "1/1s" }, "rate_limit"},
		{"postgres bad port", func(c *config.Config) { c.Store = "postgres://localhost:notaport/brazen" }, "store"},
		{"address in use", nil, "addr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t, t.TempDir())
			if tt.mutate != nil {
				tt.mutate(&cfg)
			} else {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				cfg.Addr = ln.Addr().String()
			}
			_, err := Open(t.Context(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{})
			se, ok := err.(*config.SettingError)
			if !ok || se.Setting != tt.setting {
				t.Fatalf("err = %v, want a SettingError for %s", err, tt.setting)
			}
		})
	}
}

// TestAdminMessages: the admin API lists a send's deliveries, newest
// first, with filters, and never their payloads.
func TestAdminMessages(t *testing.T) {
	a, _ := start(t, testConfig(t, t.TempDir()))
	admin := "http://" + a.ConsoleAddr() + "/admin/v1"
	rest := "http://" + a.Addr()
	token := adminToken(t, a)
	if status, _, body := call(t, "POST", rest+"/users/track", a.FirstKey, `{"attributes":[{"external_id":"u1"},{"external_id":"u2"}]}`); status != 201 {
		t.Fatalf("track: %d %v", status, body)
	}
	// A webhook to a closed port: the jobs stay pending (retried).
	status, _, body := call(t, "POST", rest+"/messages/send", a.FirstKey,
		`{"external_user_ids":["u1","u2"],"messages":{"webhook":{"url":"http://127.0.0.1:9/x","request_method":"POST","body":"secret {{${user_id}}}"}}}`)
	if status != 201 {
		t.Fatalf("send: %d %v", status, body)
	}
	dispatch := body["dispatch_id"].(string)
	status, _, body = call(t, "GET", admin+"/messages?dispatch_id="+dispatch+"&channel=webhook", token, "")
	raw, _ := json.Marshal(body)
	msgs, _ := body["messages"].([]any)
	if status != 200 || len(msgs) != 2 || strings.Contains(string(raw), "secret") {
		t.Fatalf("messages: %d %s", status, raw)
	}
	if m := msgs[0].(map[string]any); m["dispatch_id"] != dispatch || m["channel"] != "webhook" || m["key"] == "" {
		t.Errorf("message %v", m)
	}
	if status, _, body := call(t, "GET", admin+"/messages?state=done", token, ""); status != 200 || len(body["messages"].([]any)) != 0 {
		t.Errorf("done messages: %d %v", status, body)
	}
	if status, _, _ := call(t, "GET", admin+"/messages?limit=0", token, ""); status != 400 {
		t.Errorf("limit=0: %d, want 400", status)
	}
	if status, _, _ := call(t, "GET", admin+"/messages", a.FirstKey, ""); status != 401 {
		t.Errorf("a REST key opened the messages list: %d", status)
	}
}

// TestContentCards: a content card sent to a user is stored for that user,
// personalised, until it expires, and listed by the admin API.
func TestContentCards(t *testing.T) {
	a, _ := start(t, testConfig(t, t.TempDir()))
	admin := "http://" + a.ConsoleAddr() + "/admin/v1"
	rest := "http://" + a.Addr()
	token := adminToken(t, a)
	if status, _, body := call(t, "POST", rest+"/users/track", a.FirstKey, `{"attributes":[{"external_id":"u1","first_name":"Ada"}]}`); status != 201 {
		t.Fatalf("track: %d %v", status, body)
	}
	status, _, body := call(t, "POST", rest+"/messages/send", a.FirstKey, `{"external_user_ids":["u1"],"messages":{"content_card":{
		"type":"CLASSIC","title":"Hi {{${first_name}}}","description":"Your offer","time_to_live":3600,"web_uri":"https://x.example/o"}}}`)
	if status != 201 {
		t.Fatalf("send: %d %v", status, body)
	}
	ref, err := a.Store().ByExternalID(t.Context(), "u1")
	if err != nil {
		t.Fatal(err)
	}
	var cards []any
	for deadline := time.Now().Add(10 * time.Second); len(cards) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		status, _, body = call(t, "GET", admin+"/users/"+ref.BrazeID+"/cards", token, "")
		if status != 200 {
			t.Fatalf("cards: %d %v", status, body)
		}
		cards, _ = body["cards"].([]any)
	}
	if len(cards) != 1 {
		t.Fatalf("cards = %v, want the one sent", body)
	}
	c := cards[0].(map[string]any)
	card := c["card"].(map[string]any)
	exp, _ := time.Parse(time.RFC3339, c["expires_at"].(string))
	if card["title"] != "Hi Ada" || card["type"] != "CLASSIC" || card["web_uri"] != "https://x.example/o" ||
		exp.Before(time.Now().Add(59*time.Minute)) || exp.After(time.Now().Add(61*time.Minute)) {
		t.Errorf("card %v", c)
	}
}

// adminToken stores a new admin token and returns its secret.
func adminToken(t *testing.T, a *App) string {
	t.Helper()
	token := auth.NewAdminToken()
	if err := a.Store().CreateAdminToken(t.Context(), &brazen.AdminToken{
		ID: brazen.NewID(), Name: "test", Hash: brazen.HashSecret(token), CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return token
}
