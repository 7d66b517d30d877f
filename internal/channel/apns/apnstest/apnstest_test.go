package apnstest_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brazenhq/brazen/internal/channel"
	"github.com/brazenhq/brazen/internal/channel/apns"
	"github.com/brazenhq/brazen/internal/channel/apns/apnstest"
)

const token = "00fc13adff785122b4ad28809a3420982341241421348097878e577c991de8f0"

func client(t *testing.T, s *apnstest.Server, keyID string) *apns.Client {
	t.Helper()
	key, err := apns.LoadKey(s.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	c, err := apns.New(apns.Config{BaseURL: s.URL(), KeyID: keyID, TeamID: s.TeamID, Key: key, Topic: "com.example.app"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestServer(t *testing.T) {
	s := apnstest.NewServer(t)
	c := client(t, s, s.KeyID)
	n := apns.Notification{Token: token, ID: apns.UUIDFor("k"), PushType: "background", Priority: 5,
		Expiration: time.Unix(2_000_000_000, 0), CollapseID: "c", Payload: []byte(`{"aps":{"content-available":1}}`)}
	if err := c.Send(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	got := s.Notifications()
	want := apnstest.Received{Token: token, ID: apns.UUIDFor("k"), Topic: "com.example.app", PushType: "background",
		Priority: "5", Expiration: "2000000000", CollapseID: "c", Body: []byte(`{"aps":{"content-available":1}}`)}
	if len(got) != 1 || fmt.Sprint(got[0]) != fmt.Sprint(want) {
		t.Fatalf("Notifications() = %+v, want %+v", got, want)
	}

	s.FailNext(2, 503)
	for range 2 {
		if err := c.Send(t.Context(), n); err == nil || channel.IsPermanent(err) || !strings.Contains(err.Error(), "ServiceUnavailable") {
			t.Errorf("after FailNext(2, 503): %v, want a transient ServiceUnavailable", err)
		}
	}
	if err := c.Send(t.Context(), n); err != nil {
		t.Errorf("after the failures: %v", err)
	}

	s.Unregister(token)
	if err := c.Send(t.Context(), n); !errors.Is(err, channel.ErrInvalidToken) || !channel.IsPermanent(err) {
		t.Errorf("an unregistered token: %v, want a permanent ErrInvalidToken", err)
	}
	if got := len(s.Notifications()); got != 2 {
		t.Errorf("%d notifications recorded, want the 2 accepted", got)
	}
}

func TestServerRefuses(t *testing.T) {
	s := apnstest.NewServer(t)
	c := client(t, s, s.KeyID)
	for _, tt := range []struct {
		name, reason string
		n            apns.Notification
	}{
		{"odd-length token", "BadDeviceToken", apns.Notification{Token: "abc", Payload: []byte(`{}`)}},
		{"bad apns-id", "BadMessageId", apns.Notification{Token: token, ID: "not-a-uuid", Payload: []byte(`{}`)}},
		{"bad priority", "BadPriority", apns.Notification{Token: token, Priority: 7, Payload: []byte(`{}`)}},
		{"bad push type", "InvalidPushType", apns.Notification{Token: token, PushType: "shout", Payload: []byte(`{}`)}},
		{"too large", "PayloadTooLarge", apns.Notification{Token: token, Payload: []byte(`{"x":"` + strings.Repeat("x", 4096) + `"}`)}},
		{"not JSON", "BadPayload", apns.Notification{Token: token, Payload: []byte(`{"aps":`)}},
	} {
		if err := c.Send(t.Context(), tt.n); !channel.IsPermanent(err) || !strings.Contains(err.Error(), tt.reason) {
			t.Errorf("%s: %v, want a permanent %s", tt.name, err, tt.reason)
		}
	}
	if err := client(t, s, "WRONGKEYID").Send(t.Context(), apns.Notification{Token: token, Payload: []byte(`{}`)}); !channel.IsPermanent(err) || !strings.Contains(err.Error(), "InvalidProviderToken") {
		t.Errorf("a token with another kid: %v, want a permanent InvalidProviderToken", err)
	}
	if n := len(s.Notifications()); n != 0 {
		t.Errorf("%d notifications recorded, want none", n)
	}
}

func TestServerConcurrent(t *testing.T) {
	s := apnstest.NewServer(t)
	c := client(t, s, s.KeyID)
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			if err := c.Send(t.Context(), apns.Notification{Token: fmt.Sprintf("%064x", i), Payload: []byte(`{}`)}); err != nil {
				t.Error(err)
			}
		})
		if i == 50 {
			s.Unregister(fmt.Sprintf("%064x", 1000))
		}
	}
	wg.Wait()
	if n := len(s.Notifications()); n != 100 {
		t.Errorf("%d notifications, want 100", n)
	}
}
