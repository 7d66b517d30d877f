package webhook

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/brazenhq/brazen/internal/channel"
)

type received struct {
	method, path, body, key, contentType, custom string
}

func sink(t *testing.T, status func(n int) int) (*httptest.Server, func() []received) {
	var mu sync.Mutex
	var got []received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, received{r.Method, r.URL.Path, string(b), r.Header.Get("Idempotency-Key"), r.Header.Get("Content-Type"), r.Header.Get("X-Custom")})
		n := len(got)
		mu.Unlock()
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "/final", http.StatusPermanentRedirect)
			return
		}
		if r.URL.Path == "/slow" {
			time.Sleep(300 * time.Millisecond)
		}
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(status(n))
	}))
	t.Cleanup(srv.Close)
	return srv, func() []received { mu.Lock(); defer mu.Unlock(); return append([]received(nil), got...) }
}

func TestSend(t *testing.T) {
	for _, tt := range []struct {
		name      string
		status    int
		path      string
		permanent bool
		ok        bool
		retry     time.Duration
	}{
		{"delivered", 200, "/hook", false, true, 0},
		{"accepted", 202, "/hook", false, true, 0},
		{"server error is transient", 503, "/hook", false, false, 7 * time.Second},
		{"rate limited is transient", 429, "/hook", false, false, 7 * time.Second},
		{"timeout answer is transient", 408, "/hook", false, false, 7 * time.Second},
		{"not found is permanent", 404, "/hook", true, false, 0},
		{"bad request is permanent", 400, "/hook", true, false, 0},
		{"redirect with the body kept", 200, "/redirect", false, true, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := sink(t, func(int) int { return tt.status })
			s := NewSender(time.Second)
			err := s.Send(t.Context(), "d1/u1/webhook", Request{Method: "POST", URL: srv.URL + tt.path,
				Headers: map[string]string{"X-Custom": "v"}, Body: `{"hello":"Ada"}`})
			if (err == nil) != tt.ok || channel.IsPermanent(err) != tt.permanent || channel.RetryAfter(err) != tt.retry {
				t.Fatalf("Send = %v (permanent %v, retry after %v)", err, channel.IsPermanent(err), channel.RetryAfter(err))
			}
			r := got()[len(got())-1]
			if r.method != "POST" || r.body != `{"hello":"Ada"}` || r.key != "d1/u1/webhook" ||
				r.contentType != "application/json" || r.custom != "v" {
				t.Errorf("the receiver got %+v", r)
			}
		})
	}
}

func TestSendTimeoutAndBadURL(t *testing.T) {
	srv, _ := sink(t, func(int) int { return 200 })
	s := NewSender(100 * time.Millisecond)
	err := s.Send(t.Context(), "k", Request{Method: "GET", URL: srv.URL + "/slow"})
	if err == nil || channel.IsPermanent(err) {
		t.Errorf("a receiver slower than the timeout: %v, want a transient failure", err)
	}
	if err := s.Send(t.Context(), "k", Request{Method: "POST", URL: "http://127.0.0.1:1/closed"}); err == nil || channel.IsPermanent(err) {
		t.Errorf("a closed port: %v, want a transient failure", err)
	}
	if err := s.Send(t.Context(), "k", Request{Method: "BAD METHOD", URL: srv.URL}); !channel.IsPermanent(err) {
		t.Errorf("an invalid method: %v, want a permanent failure", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Send(ctx, "k", Request{Method: "GET", URL: srv.URL}); err != context.Canceled {
		t.Errorf("a canceled context: %v, want context.Canceled", err)
	}
}

func TestFormBody(t *testing.T) {
	srv, got := sink(t, func(int) int { return 200 })
	if err := NewSender(time.Second).Send(t.Context(), "k", Request{Method: "PUT", URL: srv.URL, Body: "a=1&b=2"}); err != nil {
		t.Fatal(err)
	}
	if r := got()[0]; r.method != "PUT" || r.contentType != "application/x-www-form-urlencoded" {
		t.Errorf("got %+v", r)
	}
}
