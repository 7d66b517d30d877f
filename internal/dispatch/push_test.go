package dispatch

import (
	"strings"
	"testing"

	"github.com/brazenhq/brazen/internal/brazen"
)

// TestPushTokensOf: tokens are sorted to their service by the configured
// app platforms, else by shape; most-recent-only keeps the last
// registered.
func TestPushTokensOf(t *testing.T) {
	ios1, ios2 := strings.Repeat("ab", 32), strings.Repeat("CD", 32)
	u := &brazen.Profile{Standard: map[string]any{"push_tokens": []any{
		map[string]any{"app_id": "a", "token": ios1, "device_id": "d1"},
		map[string]any{"app_id": "b", "token": "dGhpcyBpcyBub3QgaGV4:APA91b", "device_id": "d2"},
		map[string]any{"app_id": "a", "token": ios2, "device_id": "d3"},
		map[string]any{"app_id": "forced", "token": strings.Repeat("ef", 32), "device_id": "d4"},
		map[string]any{"app_id": "a"}, // no token: ignored
	}}}
	apps := map[string]string{"forced": PlatformAndroid}
	ids := func(ts []pushToken) (out []string) {
		for _, t := range ts {
			out = append(out, t.DeviceID)
		}
		return out
	}
	if got := ids(pushTokensOf(u, apps, PlatformIOS, false)); strings.Join(got, ",") != "d1,d3" {
		t.Errorf("iOS tokens = %v, want d1,d3", got)
	}
	if got := ids(pushTokensOf(u, apps, PlatformAndroid, false)); strings.Join(got, ",") != "d2,d4" {
		t.Errorf("Android tokens = %v, want d2,d4 (d4 by its app's setting)", got)
	}
	if got := ids(pushTokensOf(u, apps, PlatformIOS, true)); strings.Join(got, ",") != "d3" {
		t.Errorf("most recent iOS token = %v, want d3", got)
	}
	if got := pushTokensOf(&brazen.Profile{}, apps, PlatformIOS, false); len(got) != 0 {
		t.Errorf("a profile without tokens: %v", got)
	}
}
