package brazeapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brazenhq/brazen/internal/auth"
	"github.com/brazenhq/brazen/internal/golden"
	"github.com/brazenhq/brazen/internal/ratelimit"
)

// TestRouteTable checks the table against Braze's reference: every
// permission exists, every pattern is unique, and it holds the 116 endpoints.
func TestRouteTable(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range endpointTable {
		if seen[e.pattern] {
			t.Errorf("duplicate pattern %q", e.pattern)
		}
		seen[e.pattern] = true
		if e.permission != "" {
			if _, ok := auth.LookupPermission(e.permission); !ok {
				t.Errorf("%s: unknown permission %q", e.pattern, e.permission)
			}
		} else if !strings.HasPrefix(e.path(), "/scim/") {
			t.Errorf("%s: no permission", e.pattern)
		}
	}
	if got, want := len(endpointTable), 116; got != want {
		t.Errorf("route table has %d endpoints, want %d", got, want)
	}
}

// TestRouteTableMatchesReference compares the table with the endpoint list
// distilled from Braze's documentation, when it is present beside the repo.
func TestRouteTableMatchesReference(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "reference", "braze-endpoints.tsv"))
	if err != nil {
		t.Skip("reference not beside the repository:", err)
	}
	want := map[string]string{}
	for _, line := range strings.Split(string(raw), "\n")[1:] {
		f := strings.Split(line, "\t")
		if len(f) < 6 || strings.Contains(f[5], "[early access]") || strings.Contains(f[5], "[hidden]") ||
			f[4] == "Legacy (removed)" || strings.HasPrefix(f[1], "/scim/") {
			continue
		}
		want[f[0]+" "+f[1]] = f[2]
	}
	got := map[string]string{}
	for _, e := range endpointTable {
		if e.permission != "" {
			got[e.pattern] = e.permission
		}
	}
	for p, perm := range want {
		if got[p] != perm {
			t.Errorf("%s: table has permission %q, reference %q", p, got[p], perm)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("%s is in the table but not a generally-available endpoint of the reference", p)
		}
	}
}

// TestAuthMatrix sends every endpoint a request with a key holding exactly
// one permission, for every permission: only the endpoint's own permission
// gets through (to 501), every other answers 403 Access Denied.
func TestAuthMatrix(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	keys := map[string]string{}
	for _, p := range auth.PermissionNames() {
		keys[p] = h.key([]string{p})
	}
	for _, e := range endpointTable {
		if e.permission == "" {
			continue
		}
		t.Run(e.pattern, func(t *testing.T) {
			rq := request{method: e.method(), path: concretePath(e.path())}
			if hasBodyMethod(rq.method) {
				rq.body = "{}"
			}
			for perm, key := range keys {
				rq.headers = bearer(key)
				w := h.do(rq)
				msg := decodeMessage(t, w.Body.Bytes())
				switch {
				case perm != e.permission:
					if w.Code != http.StatusForbidden || msg != "Access Denied" {
						t.Fatalf("key with %s: got %d %s, want 403 Access Denied", perm, w.Code, w.Body)
					}
				case e.handler == nil:
					if w.Code != http.StatusNotImplemented || msg != e.pattern+" is not implemented by Brazen yet" {
						t.Fatalf("key with %s: got %d %s, want 501", perm, w.Code, w.Body)
					}
				case w.Code == http.StatusUnauthorized || w.Code == http.StatusForbidden || w.Code >= 500:
					t.Fatalf("key with %s: got %d %s, want the endpoint's own answer", perm, w.Code, w.Body)
				}
			}
		})
	}
}

func decodeMessage(t *testing.T, body []byte) string {
	t.Helper()
	var v struct {
		Message string `json:"message"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, body)
	}
	return v.Message
}

// TestCredentials covers every way a key can arrive, and every way it can be
// wrong.
func TestCredentials(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	key := h.key(nil)
	upperKey := strings.ToUpper(key)
	tests := []struct {
		name   string
		rq     request
		status int
	}{
		{"bearer header", request{headers: bearer(key)}, 501},
		{"lowercase header name and scheme", request{headers: map[string]string{"authorization": "bearer " + key}}, 501},
		{"uppercase scheme", request{headers: map[string]string{"Authorization": "BEARER " + key}}, 501},
		{"key is case-exact", request{headers: bearer(upperKey)}, 401},
		{"quoted key", request{headers: bearer(`"` + key + `"`)}, 401},
		{"basic scheme", request{headers: map[string]string{"Authorization": "Basic " + key}}, 401},
		{"scheme without key", request{headers: map[string]string{"Authorization": "Bearer"}}, 401},
		{"unknown key", request{headers: bearer("00000000-0000-0000-0000-000000000000")}, 401},
		{"no key", request{}, 401},
		{"legacy api_key query", request{path: "/campaigns/trigger/send?api_key=" + key}, 501},
		{"legacy api_key body", request{body: `{"api_key":"` + key + `","attributes":[]}`}, 501},
		{"legacy body key wrong", request{body: `{"api_key":"nope"}`}, 401},
		{"header wins over query", request{path: "/campaigns/trigger/send?api_key=" + key, headers: bearer("nope")}, 401},
		{"body not JSON, no key", request{body: `{"api_key":`}, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rq := tt.rq
			rq.method = "POST"
			if rq.path == "" {
				rq.path = "/campaigns/trigger/send"
			}
			if rq.body == "" {
				rq.body = "{}"
			}
			w := h.do(rq)
			if w.Code != tt.status {
				t.Fatalf("got %d %s, want %d", w.Code, w.Body, tt.status)
			}
			if w.Code == 401 {
				if decodeMessage(t, w.Body.Bytes()) != "Unauthorized" {
					t.Errorf("401 body %s", w.Body)
				}
				if w.Header().Get("X-RateLimit-Limit") != "" {
					t.Errorf("a 401 belongs to no workspace, yet carries rate-limit headers")
				}
				if strings.Contains(w.Body.String(), key) {
					t.Errorf("the error body echoes the key")
				}
			}
		})
	}
}

// TestAllowlist checks keys with IP allowlists, with and without a trusted
// proxy in front.
func TestAllowlist(t *testing.T) {
	h := newHarness(t, harnessOpts{trusted: []string{"10.9.0.0/16", "::1"}})
	v4 := h.key([]string{"campaigns.trigger.send"}, "198.51.100.0/24", "192.0.2.10")
	v6 := h.key([]string{"campaigns.trigger.send"}, "2001:db8::/32")
	tests := []struct {
		name   string
		key    string
		remote string
		xff    string
		status int
	}{
		{"v4 in subnet", v4, "198.51.100.77:1000", "", 501},
		{"v4 single host", v4, "192.0.2.10:1000", "", 501},
		{"v4 outside", v4, "192.0.2.11:1000", "", 403},
		{"v4 as mapped v6", v4, "[::ffff:198.51.100.5]:1000", "", 501},
		{"v6 in subnet", v6, "[2001:db8:1::5]:1000", "", 501},
		{"v6 outside", v6, "[2001:db9::5]:1000", "", 403},
		{"v6 key from v4", v6, "198.51.100.77:1000", "", 403},
		{"xff ignored from untrusted peer", v4, "203.0.113.1:1000", "198.51.100.9", 403},
		{"xff believed from trusted proxy", v4, "10.9.1.1:1000", "198.51.100.9", 501},
		{"xff from trusted v6 proxy", v6, "[::1]:1000", "2001:db8::9", 501},
		{"xff spoofed left of a real client", v4, "10.9.1.1:1000", "198.51.100.9, 203.0.113.50", 403},
		{"xff through two trusted proxies", v4, "10.9.1.1:1000", "198.51.100.9, 10.9.2.2", 501},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hd := bearer(tt.key)
			if tt.xff != "" {
				hd["X-Forwarded-For"] = tt.xff
			}
			w := h.do(request{method: "POST", path: "/campaigns/trigger/send", body: "{}", headers: hd, remote: tt.remote})
			if w.Code != tt.status {
				t.Fatalf("got %d %s, want %d", w.Code, w.Body, tt.status)
			}
			if w.Code == 403 && decodeMessage(t, w.Body.Bytes()) != "Invalid whitelisted IPs" {
				t.Errorf("403 body %s", w.Body)
			}
		})
	}
}

// TestRateLimits drives a small overridden limit with a controlled clock.
func TestRateLimits(t *testing.T) {
	h := newHarness(t, harnessOpts{limits: map[string]ratelimit.Limit{
		"/users/track":   {N: 5, Window: 3 * time.Second},
		"users.identity": {N: 2, Window: time.Minute},
	}})
	key := h.key(nil)
	denied := h.key([]string{"users.export.ids"})
	start := time.Date(2026, 11, 26, 10, 0, 1, 500e6, time.UTC) // inside the window [10:00:00, 10:00:03)
	h.clock.Set(start)
	reset := fmt.Sprint(time.Date(2026, 11, 26, 10, 0, 3, 0, time.UTC).Unix())

	track := request{method: "POST", path: "/users/track", body: "{}", headers: bearer(key)}
	for i := range 5 { // an empty track body is a 400, counted like any request past auth
		w := h.do(track)
		checkRate(t, w, 400, "5", fmt.Sprint(4-i), reset)
	}
	w := h.do(track)
	checkRate(t, w, 429, "5", "0", reset)
	if msg := decodeMessage(t, w.Body.Bytes()); msg != "Rate Limited" {
		t.Errorf("429 message %q", msg)
	}
	// A refused permission neither counts nor hides the headers.
	w = h.do(request{method: "POST", path: "/users/track", body: "{}", headers: bearer(denied)})
	checkRate(t, w, 403, "5", "0", reset)

	// The next window, aligned to the clock, starts afresh.
	h.clock.Set(time.Date(2026, 11, 26, 10, 0, 3, 0, time.UTC))
	w = h.do(track)
	checkRate(t, w, 400, "5", "4", fmt.Sprint(time.Date(2026, 11, 26, 10, 0, 6, 0, time.UTC).Unix()))

	// Shared group: delete and identify draw from one bucket.
	minuteReset := fmt.Sprint(time.Date(2026, 11, 26, 10, 1, 0, 0, time.UTC).Unix())
	checkRate(t, h.do(request{method: "POST", path: "/users/delete", body: "{}", headers: bearer(key)}), 400, "2", "1", minuteReset)
	checkRate(t, h.do(request{method: "POST", path: "/users/identify", body: "{}", headers: bearer(key)}), 400, "2", "0", minuteReset)
	checkRate(t, h.do(request{method: "POST", path: "/users/merge", body: "{}", headers: bearer(key)}), 429, "2", "0", minuteReset)

	// Default pool: 250,000 per hour, reset at the top of the hour.
	hourReset := fmt.Sprint(time.Date(2026, 11, 26, 11, 0, 0, 0, time.UTC).Unix())
	checkRate(t, h.do(request{method: "GET", path: "/campaigns/list", headers: bearer(key)}), 501, "250000", "249999", hourReset)
}

func checkRate(t *testing.T, w *httptest.ResponseRecorder, status int, limit, remaining, reset string) {
	t.Helper()
	h := w.Header()
	got := [4]string{fmt.Sprint(w.Code), h.Get("X-RateLimit-Limit"), h.Get("X-RateLimit-Remaining"), h.Get("X-RateLimit-Reset")}
	want := [4]string{fmt.Sprint(status), limit, remaining, reset}
	if got != want {
		t.Fatalf("status, limit, remaining, reset = %v, want %v", got, want)
	}
}

func TestResolveLimits(t *testing.T) {
	tests := []struct {
		name    string
		key     string
		group   int
		wantErr string
	}{
		{"path", "/users/track", gTrack, ""},
		{"method and path", "POST /users/track", gTrack, ""},
		{"group name", "users.identity", gIdentity, ""},
		{"path in a shared group", "/users/merge", gIdentity, ""},
		{"default pool", "default", gDefault, ""},
		{"path with wildcard", "/catalogs/{catalog_name}", gCatalogs, ""},
		{"ambiguous path", "/catalogs/{catalog_name}/items", 0, "different rate-limit groups"},
		{"ambiguous resolved by method", "GET /catalogs/{catalog_name}/items", gCatalogItemsSync, ""},
		{"unknown", "/nope", 0, "neither an endpoint path nor a rate-limit group"},
		{"wrong method", "GET /users/track", 0, "neither"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := ratelimit.Limit{N: 7, Window: time.Second}
			got, err := ResolveLimits(map[string]ratelimit.Limit{tt.key: l})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got[tt.group] != l {
				t.Errorf("group %s = %v, want %v", limitGroups[tt.group].Name, got[tt.group], l)
			}
		})
	}
}

// TestErrorBodies pins the exact status, headers and body of each error a
// client can meet, as golden files (go test -update rewrites them).
func TestErrorBodies(t *testing.T) {
	h := newHarness(t, harnessOpts{limits: map[string]ratelimit.Limit{"/users/export/ids": {N: 1, Window: time.Minute}}})
	key := h.key(nil)
	narrow := h.key([]string{"users.track"})
	allowlisted := h.key(nil, "192.0.2.0/24")
	big := `{"attributes":"` + strings.Repeat("x", 4<<20) + `"}`
	bulkBig := `{"attributes":"` + strings.Repeat("x", 2<<20) + `"}`
	tests := []struct {
		name string
		rq   request
	}{
		{"no_key", request{method: "POST", path: "/users/track", body: "{}"}},
		{"bad_scheme", request{method: "POST", path: "/users/track", body: "{}", headers: map[string]string{"Authorization": "Token abc"}}},
		{"unknown_key", request{method: "POST", path: "/users/track", body: "{}", headers: bearer("0e7c1b2a-0000-4000-8000-000000000000")}},
		{"access_denied", request{method: "GET", path: "/campaigns/list", headers: bearer(narrow)}},
		{"ip_not_allowed", request{method: "POST", path: "/users/track", body: "{}", headers: bearer(allowlisted)}},
		{"not_found", request{method: "GET", path: "/users/nope", headers: bearer(key)}},
		{"method_not_allowed", request{method: "GET", path: "/users/track", headers: bearer(key)}},
		{"method_not_allowed_multi", request{method: "PATCH", path: "/catalogs", headers: bearer(key)}},
		{"malformed_json", request{method: "POST", path: "/users/track", body: `{"attributes": [}`, headers: bearer(key)}},
		{"truncated_json", request{method: "POST", path: "/users/track", body: `{"attributes": [`, headers: bearer(key)}},
		{"trailing_data", request{method: "POST", path: "/users/track", body: `{} {}`, headers: bearer(key)}},
		{"too_large", request{method: "POST", path: "/users/track", body: big, headers: bearer(key)}},
		{"bulk_too_large", request{method: "POST", path: "/users/track/bulk", body: bulkBig, headers: bearer(key)}},
		{"not_built", request{method: "POST", path: "/campaigns/trigger/send", body: `{"broadcast":true}`, headers: bearer(key)}},
		{"rate_limited_first", request{method: "POST", path: "/users/export/ids", body: "{}", headers: bearer(key)}},
		{"rate_limited", request{method: "POST", path: "/users/export/ids", body: "{}", headers: bearer(key)}},
		{"scim_no_token", request{method: "GET", path: "/scim/v2/Users/abc"}},
		{"scim_not_built", request{method: "GET", path: "/scim/v2/Users/abc", headers: map[string]string{"Authorization": "Bearer t", "X-Request-Origin": "okta"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := h.do(tt.rq)
			var b strings.Builder
			fmt.Fprintf(&b, "%d %s\n", w.Code, http.StatusText(w.Code))
			for _, name := range []string{"Allow", "Content-Type", "X-RateLimit-Limit", "X-RateLimit-Remaining"} {
				if v := w.Header().Get(name); v != "" {
					fmt.Fprintf(&b, "%s: %s\n", name, v)
				}
			}
			b.WriteString("\n")
			b.Write(w.Body.Bytes())
			golden.Check(t, filepath.Join("testdata", "errors", tt.name+".golden"), b.String())
		})
	}
}

// TestKeyLifecycleAcrossProcesses: a key written to the store by another
// process (the CLI) works at once; one deleted there stops at the next
// refresh.
func TestKeyLifecycleAcrossProcesses(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	key := h.key([]string{"campaigns.trigger.send"})
	rq := request{method: "POST", path: "/campaigns/trigger/send", body: "{}", headers: bearer(key)}
	if w := h.do(rq); w.Code != 501 {
		t.Fatalf("new key: got %d %s", w.Code, w.Body)
	}
	k, err := h.store.KeyByHash(t.Context(), hashOf(key))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.store.DeleteKey(t.Context(), k.ID); err != nil {
		t.Fatal(err)
	}
	if err := h.api.keys.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if w := h.do(rq); w.Code != 401 {
		t.Fatalf("deleted key: got %d %s", w.Code, w.Body)
	}
}

// TestBroadcastLimits: broadcasts count against 10 a minute per audience
// (and 250 for the workspace), apart from other sends.
func TestBroadcastLimits(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	key := h.key([]string{"messages.send"})
	send := func(plan string) *httptest.ResponseRecorder {
		return h.do(request{method: "POST", path: "/messages/send", headers: bearer(key), body: `{"broadcast":true,
			"audience":{"custom_attribute":{"custom_attribute_name":"plan","comparison":"equals","value":"` + plan + `"}},
			"messages":{"webhook":{"url":"https://x.example/h","request_method":"POST"}}}`})
	}
	for i := range 10 {
		// The harness has no channels: past the limits, the send is refused
		// with 400.
		if w := send("pro"); w.Code != 400 || w.Header().Get("X-RateLimit-Remaining") != fmt.Sprint(9-i) {
			t.Fatalf("broadcast %d: %d %s, remaining %q", i, w.Code, w.Body, w.Header().Get("X-RateLimit-Remaining"))
		}
	}
	if w := send("pro"); w.Code != 429 || w.Header().Get("X-RateLimit-Limit") != "10" {
		t.Errorf("11th broadcast to one audience: %d %s (limit %q), want 429", w.Code, w.Body, w.Header().Get("X-RateLimit-Limit"))
	}
	if w := send("free"); w.Code != 400 {
		t.Errorf("a broadcast to another audience: %d %s, want it past the limits", w.Code, w.Body)
	}
}
