package message

import (
	"strings"
	"testing"
	"time"
)

func TestProbeDeep(t *testing.T) {
	inner := `{"OR":[` + strings.Repeat(`{"push_subscription_status":{"comparison":"is","value":"opted_in"}},`, 60000) + `{"x":1}]}`
	s := inner
	for range 31 {
		s = `{"AND":[` + s + `]}`
	}
	body := with(`"broadcast":true,"audience":`+s, hook)
	t.Logf("body %d bytes", len(body))
	start := time.Now()
	_, err := Parse([]byte(body), now)
	t.Logf("%v in %v", err, time.Since(start))
}
