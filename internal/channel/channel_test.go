package channel

import (
	"net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	soon := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	for h, want := range map[string]time.Duration{
		"": 0, "0": 0, "-5": 0, "junk": 0, " 30 ": 30 * time.Second, "999999": time.Hour,
		"Wed, 21 Oct 2015 07:28:00 GMT": 0, // in the past
	} {
		if got := ParseRetryAfter(h); got != want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", h, got, want)
		}
	}
	if got := ParseRetryAfter(soon); got < 85*time.Second || got > 91*time.Second {
		t.Errorf("ParseRetryAfter(a date 90 s ahead) = %v", got)
	}
}
