package console

import (
	"fmt"
	"testing"
	"time"
)

func TestAttempts(t *testing.T) {
	a := newAttempts()
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for i := range loginAttempts {
		if ok, _ := a.take("k", t0.Add(time.Duration(i)*time.Second)); !ok {
			t.Fatalf("attempt %d refused", i+1)
		}
	}
	ok, until := a.take("k", t0.Add(time.Minute))
	if ok || !until.Equal(t0.Add(loginWindow)) {
		t.Errorf("attempt 11: %v until %v", ok, until)
	}
	if ok, _ := a.take("k", t0.Add(loginWindow)); !ok {
		t.Error("a new window refused")
	}
	// Windows that ended are forgotten when the map is full.
	for i := range maxTracked {
		a.take(fmt.Sprint("x", i), t0)
	}
	if ok, _ := a.take("new", t0.Add(time.Second)); ok {
		t.Error("a full map of live windows took one more key")
	}
	if ok, _ := a.take("new", t0.Add(2*loginWindow)); !ok || len(a.m) > 2 {
		t.Errorf("after the windows ended: allowed %v, %d keys kept", ok, len(a.m))
	}
}

func TestAddressKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7": "192.0.2.7", "::ffff:192.0.2.7": "192.0.2.7",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64", "2001:db8:1:2:ffff::1": "2001:db8:1:2::/64", "junk": "junk",
	} {
		if got := addressKey(in); got != want {
			t.Errorf("addressKey(%s) = %s, want %s", in, got, want)
		}
	}
}
