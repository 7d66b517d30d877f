package fcmtest_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brazenhq/brazen/internal/channel"
	"github.com/brazenhq/brazen/internal/channel/fcm"
	"github.com/brazenhq/brazen/internal/channel/fcm/fcmtest"
)

func client(t *testing.T, s *fcmtest.Server, credentials []byte) *fcm.Client {
	t.Helper()
	creds, err := fcm.LoadCredentials(credentials)
	if err != nil {
		t.Fatal(err)
	}
	c, err := fcm.New(fcm.Config{BaseURL: s.URL(), Credentials: creds})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestServer(t *testing.T) {
	s := fcmtest.NewServer(t)
	c := client(t, s, s.CredentialsJSON())
	ttl := time.Hour
	m := fcm.Message{Token: "tok-1", Data: map[string]string{"t": "Hi"}, Priority: "high", TTL: &ttl, CollapseKey: "news"}
	if err := c.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	want := fcmtest.Received{Token: "tok-1", Data: map[string]string{"t": "Hi"},
		Android: fcmtest.Android{Priority: "HIGH", TTL: "3600s", CollapseKey: "news"}}
	if got := s.Messages(); len(got) != 1 || fmt.Sprint(got[0]) != fmt.Sprint(want) {
		t.Fatalf("Messages() = %+v, want %+v", got, want)
	}

	s.FailNext(2, 503)
	for range 2 {
		if err := c.Send(t.Context(), m); err == nil || channel.IsPermanent(err) || !strings.Contains(err.Error(), "UNAVAILABLE") {
			t.Errorf("after FailNext(2, 503): %v, want a transient UNAVAILABLE", err)
		}
	}
	if err := c.Send(t.Context(), m); err != nil {
		t.Errorf("after the failures: %v", err)
	}

	s.Unregister("tok-1")
	if err := c.Send(t.Context(), m); !errors.Is(err, channel.ErrInvalidToken) || !channel.IsPermanent(err) {
		t.Errorf("an unregistered token: %v, want a permanent ErrInvalidToken", err)
	}

	s.ExpireTokens()
	if err := c.Send(t.Context(), fcm.Message{Token: "tok-2"}); err == nil || channel.IsPermanent(err) {
		t.Errorf("a revoked access token: %v, want a transient failure", err)
	}
	if err := c.Send(t.Context(), fcm.Message{Token: "tok-2"}); err != nil {
		t.Errorf("after the refresh: %v", err)
	}
	if n := s.TokenRequests(); n != 2 {
		t.Errorf("%d token requests, want 2", n)
	}
	if n := len(s.Messages()); n != 3 {
		t.Errorf("%d messages recorded, want the 3 accepted", n)
	}
}

func TestServerRefuses(t *testing.T) {
	s := fcmtest.NewServer(t)
	c := client(t, s, s.CredentialsJSON())
	for _, tt := range []struct {
		name, want   string
		m            fcm.Message
		invalidToken bool
	}{
		{"reserved data key", "Invalid data payload key", fcm.Message{Token: "t", Data: map[string]string{"google.x": "1"}}, false},
		{"malformed token", "registration token", fcm.Message{Token: "not a token"}, true},
	} {
		err := c.Send(t.Context(), tt.m)
		if !channel.IsPermanent(err) || errors.Is(err, channel.ErrInvalidToken) != tt.invalidToken || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want a permanent failure saying %q (invalid token %v)", tt.name, err, tt.want, tt.invalidToken)
		}
	}

	// A service account the server did not make: same file, another key.
	var sa map[string]string
	json.Unmarshal(s.CredentialsJSON(), &sa)
	var other map[string]string
	json.Unmarshal(fcmtest.NewServer(t).CredentialsJSON(), &other)
	sa["private_key"] = other["private_key"]
	forged, _ := json.Marshal(sa)
	if err := client(t, s, forged).Send(t.Context(), fcm.Message{Token: "t"}); !channel.IsPermanent(err) || !strings.Contains(err.Error(), "invalid_grant") {
		t.Errorf("credentials with another key: %v, want a permanent invalid_grant", err)
	}
	if n := len(s.Messages()); n != 0 {
		t.Errorf("%d messages recorded, want none", n)
	}
}

func TestServerConcurrent(t *testing.T) {
	s := fcmtest.NewServer(t)
	c := client(t, s, s.CredentialsJSON())
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			if err := c.Send(t.Context(), fcm.Message{Token: fmt.Sprint("tok-", i)}); err != nil {
				t.Error(err)
			}
		})
		if i == 50 {
			s.Unregister("tok-1000")
		}
	}
	wg.Wait()
	if n, tr := len(s.Messages()), s.TokenRequests(); n != 100 || tr != 1 {
		t.Errorf("%d messages and %d token requests, want 100 and 1", n, tr)
	}
}
