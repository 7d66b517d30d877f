package brazeapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzRequest throws arbitrary methods, paths, auth headers and bodies at
// the API: it must never panic and never answer 5xx other than 501.
func FuzzRequest(f *testing.F) {
	h := newHarness(f, harnessOpts{})
	key := h.key(nil)
	f.Add("POST", "/users/track", "Bearer "+key, `{"attributes":[]}`)
	f.Add("POST", "/users/track", "", `{"api_key":"`+key+`"}`)
	f.Add("GET", "/catalogs/x/items/y?api_key="+key, "", "")
	f.Add("PATCH", "/users/track", "bearer", `{`)
	f.Add("POST", "/users/track/bulk", "Bearer "+key, `[1,2,`)
	f.Fuzz(func(t *testing.T, method, path, authz, body string) {
		if !validMethod(method) || !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n\t#") {
			return
		}
		r, err := http.NewRequest(method, "http://brazen.test"+path, strings.NewReader(body))
		if err != nil {
			return
		}
		r.RemoteAddr = "192.0.2.1:1"
		if authz != "" && !strings.ContainsAny(authz, "\r\n\x00") {
			r.Header.Set("Authorization", authz)
		}
		w := httptest.NewRecorder()
		h.api.ServeHTTP(w, r)
		if w.Code >= 500 && w.Code != http.StatusNotImplemented {
			t.Fatalf("%s %s: %d %s", method, path, w.Code, w.Body)
		}
		if ct := w.Header().Get("Content-Type"); w.Code >= 400 && w.Code != 301 && !strings.Contains(ct, "json") {
			t.Fatalf("%s %s: %d with Content-Type %q: %s", method, path, w.Code, ct, w.Body)
		}
	})
}

func validMethod(m string) bool {
	if m == "" || len(m) > 16 {
		return false
	}
	for _, c := range m {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

// FuzzBodyAPIKey: the legacy body-key scan never panics and only returns a
// key that the body really holds.
func FuzzBodyAPIKey(f *testing.F) {
	f.Add(`{"api_key":"k"}`)
	f.Add(`{"x":{"api_key":"nested"}}`)
	f.Add(`{"api_key":1}`)
	f.Add(`"api_key"`)
	f.Fuzz(func(t *testing.T, body string) {
		if k := bodyAPIKey([]byte(body)); k != "" && !strings.Contains(body, `"api_key"`) {
			t.Fatalf("found key %q in a body without api_key", k)
		}
	})
}
