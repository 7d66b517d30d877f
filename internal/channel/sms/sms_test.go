package sms

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/brazenhq/brazen/internal/channel"
)

func TestSend(t *testing.T) {
	var got *http.Request
	status := 201
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		got = r
		w.WriteHeader(status)
		w.Write([]byte(`{"code":21211,"message":"Invalid 'To' Phone Number"}`))
	}))
	defer srv.Close()
	s, err := NewSender(strings.Replace(srv.URL, "http://", "http://AC123:tok@", 1)+"?from=%2B15550001111", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(t.Context(), Message{To: "+15555550100", Body: "Hi Ada", Media: []string{"https://x.example/a.png"}}); err != nil {
		t.Fatal(err)
	}
	user, pass, _ := got.BasicAuth()
	if got.URL.Path != "/2010-04-01/Accounts/AC123/Messages.json" || user != "AC123" || pass != "tok" ||
		got.PostForm.Get("To") != "+15555550100" || got.PostForm.Get("From") != "+15550001111" ||
		got.PostForm.Get("Body") != "Hi Ada" || got.PostForm.Get("MediaUrl") != "https://x.example/a.png" {
		t.Errorf("the provider got %s %v (auth %s:%s)", got.URL.Path, got.PostForm, user, pass)
	}
	status = 400
	if err := s.Send(t.Context(), Message{To: "bad", Body: "x"}); !channel.IsPermanent(err) || !strings.Contains(err.Error(), "21211") {
		t.Errorf("an invalid number: %v, want a permanent failure naming the code", err)
	}
	status = 503
	if err := s.Send(t.Context(), Message{To: "+1", Body: "x"}); err == nil || channel.IsPermanent(err) {
		t.Errorf("a 503: %v, want a transient failure", err)
	}
}

func TestNewSenderRefuses(t *testing.T) {
	for _, u := range []string{"ftp://a:b@x?from=1", "https://x?from=1", "https://a:b@x", "https://a:b@x?from=1&messaging_service_sid=MG1", "https://a@x?from=1"} {
		if _, err := NewSender(u, time.Second); err == nil {
			t.Errorf("NewSender(%q) accepted it", u)
		}
	}
}
