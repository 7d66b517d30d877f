package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/brazenhq/brazen/internal/brazen"
)

func TestStatus(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"invalid", brazen.Errorf(brazen.EINVALID, "x"), 400},
		{"unauthorized", brazen.Errorf(brazen.EUNAUTHORIZED, "x"), 401},
		{"forbidden", brazen.Errorf(brazen.EFORBIDDEN, "x"), 403},
		{"not found", brazen.Errorf(brazen.ENOTFOUND, "x"), 404},
		{"method", brazen.Errorf(brazen.EMETHODNOTALLOWED, "x"), 405},
		{"conflict", brazen.Errorf(brazen.ECONFLICT, "x"), 409},
		{"too large", brazen.Errorf(brazen.ETOOLARGE, "x"), 413},
		{"rate limited", brazen.Errorf(brazen.ERATELIMITED, "x"), 429},
		{"not implemented", brazen.Errorf(brazen.ENOTIMPLEMENTED, "x"), 501},
		{"unavailable", brazen.Errorf(brazen.EUNAVAILABLE, "x"), 503},
		{"wrapped", errorsJoin(brazen.Errorf(brazen.ENOTFOUND, "x")), 404},
		{"plain error", errors.New("boom"), 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Status(tt.err); got != tt.want {
				t.Errorf("Status = %d, want %d", got, tt.want)
			}
		})
	}
}

func errorsJoin(err error) error { return errors.Join(errors.New("context"), err) }

// TestInternalErrorsStayInternal: a 500 shows a request id, never the error
// text, which goes to the log instead.
func TestInternalErrorsStayInternal(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	r := httptest.NewRequest("GET", "/x", nil)
	r.Header.Set(RequestIDHeader, "rid-1")
	w := httptest.NewRecorder()
	WriteError(w, r, logger, errors.New("secret detail: password=hunter2"))
	if w.Code != 500 {
		t.Fatalf("status %d", w.Code)
	}
	if got, want := w.Body.String(), `{"message":"Internal Server Error","request_id":"rid-1"}`+"\n"; got != want {
		t.Errorf("body %s, want %s", got, want)
	}
	if !strings.Contains(logs.String(), "secret detail") || !strings.Contains(logs.String(), "rid-1") {
		t.Errorf("log lacks the error or the request id: %s", logs.String())
	}
}

func TestDecodeJSON(t *testing.T) {
	type target struct {
		Name  string   `json:"name"`
		Count int      `json:"count"`
		List  []string `json:"list"`
	}
	tests := []struct {
		name, body, wantErr string
	}{
		{"ok", `{"name":"a","count":2,"list":["x"]}`, ""},
		{"ok with whitespace", " \n{\"name\":\"a\"}\n ", ""},
		{"empty", ``, "the request body is empty"},
		{"blank", "  \n", "the request body is empty"},
		{"syntax", `{"name":}`, "malformed JSON at byte 9"},
		{"truncated", `{"name":"a"`, "the body ends early"},
		{"trailing", `{"name":"a"} x`, "unexpected data after the JSON value"},
		{"wrong field type", `{"count":"two"}`, "'count' must be a number, not string"},
		{"wrong list type", `{"list":"x"}`, "'list' must be an array, not string"},
		{"array body", `[1,2]`, "the request body must be an object, not array"},
		{"string body", `"x"`, "the request body must be an object, not string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v target
			err := DecodeJSON([]byte(tt.body), &v)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			var e *brazen.Error
			if !errors.As(err, &e) || e.Code != brazen.EINVALID || e.Message != "Bad Request" {
				t.Fatalf("err = %#v, want an EINVALID Bad Request", err)
			}
			if len(e.Details) != 1 || !strings.Contains(e.Details[0], tt.wantErr) {
				t.Errorf("details %q, want one containing %q", e.Details, tt.wantErr)
			}
		})
	}
}

// FuzzDecodeJSON: any body decodes or gets an EINVALID with one detail.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,{"b":null}]}`, `{"a":`, `[]`, `"x"`, `{"a":1}{`, "\xff", `{"a":1e999}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var v map[string]any
		err := DecodeJSON(body, &v)
		if err == nil {
			if !json.Valid(body) {
				t.Fatalf("accepted invalid JSON %q", body)
			}
			return
		}
		var e *brazen.Error
		if !errors.As(err, &e) || e.Code != brazen.EINVALID || len(e.Details) != 1 {
			t.Fatalf("err = %#v", err)
		}
	})
}

func TestReadBody(t *testing.T) {
	tooLarge := TooLarge(brazen.ETOOLARGE, 8)
	tests := []struct {
		name     string
		body     string
		chunked  bool
		wantErr  bool
		wantBody string
	}{
		{"under", "1234567", false, false, "1234567"},
		{"at the limit", "12345678", false, false, "12345678"},
		{"over, by Content-Length", "123456789", false, true, ""},
		{"over, chunked", "123456789", true, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", strings.NewReader(tt.body))
			if tt.chunked {
				r.ContentLength = -1
			}
			body, err := ReadBody(httptest.NewRecorder(), r, 8, tooLarge)
			if tt.wantErr {
				if err != tooLarge {
					t.Fatalf("err = %v, want the too-large error", err)
				}
				return
			}
			if err != nil || string(body) != tt.wantBody {
				t.Fatalf("got %q, %v", body, err)
			}
		})
	}
}

func newObserved(t *testing.T, h http.Handler) (http.Handler, *bytes.Buffer, *Metrics) {
	t.Helper()
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	m := NewMetrics(prometheus.NewRegistry())
	mux := http.NewServeMux()
	mux.Handle("/", h)
	return Observe("rest", mux, logger, m, NewIDs()), &logs, m
}

func TestObservePanic(t *testing.T) {
	h, logs, m := newObserved(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("kaboom") }))
	r := httptest.NewRequest("POST", "/users/track?api_key=SECRET-KEY", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 500 {
		t.Fatalf("status %d", w.Code)
	}
	id := w.Header().Get(RequestIDHeader)
	var body ErrorBody
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if body.Message != "Internal Server Error" || body.RequestID != id || id == "" {
		t.Errorf("body %+v, request id %q", body, id)
	}
	if !strings.Contains(logs.String(), "kaboom") || !strings.Contains(logs.String(), `"stack"`) {
		t.Errorf("panic not logged with its stack: %s", logs.String())
	}
	if strings.Contains(logs.String(), "SECRET-KEY") {
		t.Errorf("the query string (which may hold a key) reached the log: %s", logs.String())
	}
	if got := testutil.ToFloat64(m.Requests.WithLabelValues("rest", "/", "500")); got != 1 {
		t.Errorf("requests{code=500} = %v", got)
	}
}

func TestObserveRequestID(t *testing.T) {
	h, _, _ := newObserved(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(RequestID(r)))
	}))
	tests := []struct {
		name, in string
		keep     bool
	}{
		{"caller's id kept", "abc-123", true},
		{"none generates one", "", false},
		{"control characters replaced", "bad\x01id", false},
		{"too long replaced", strings.Repeat("a", 129), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tt.in != "" {
				r.Header.Set(RequestIDHeader, tt.in)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			out := w.Header().Get(RequestIDHeader)
			if out != w.Body.String() {
				t.Errorf("handler saw %q, response header %q", w.Body.String(), out)
			}
			if tt.keep != (out == tt.in) || out == "" {
				t.Errorf("request id %q for input %q", out, tt.in)
			}
		})
	}
}

func TestIDsUnique(t *testing.T) {
	a, b := NewIDs(), NewIDs()
	seen := map[string]bool{}
	for range 1000 {
		for _, id := range []string{a.Next(), b.Next()} {
			if seen[id] {
				t.Fatalf("duplicate id %s", id)
			}
			seen[id] = true
		}
	}
}

func TestHasEscapedNUL(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{`{"a":"x\u0000y"}`, true},
		{`{"a\u0000":1}`, true},
		{`"\\\u0000"`, true},
		{`{"a":"x\\u0000y"}`, false}, // a backslash, then the text u0000
		{`{"a":"\u00001"}`, true},
		{`{"a":"\u0001"}`, false},
		{`\u000`, false},
		{`\`, false},
		{``, false},
	} {
		if got := HasEscapedNUL([]byte(tt.in)); got != tt.want {
			t.Errorf("HasEscapedNUL(%s) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
