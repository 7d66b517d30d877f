package console

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
)

// Login and setup attempts (and guesses at the current password when it
// is changed) are limited per client address and per email: loginAttempts
// in each fixed loginWindow. They are counted in the store's shared
// counters, the REST API's rate-limit counters, so the limit holds for the
// whole cluster rather than per node, and the store sweeps the windows
// that ended. A counter is named by a hash of its key rather than by what
// was typed into the email field.
const (
	loginAttempts = 10
	loginWindow   = 5 * time.Minute
)

// takeAttempt counts an attempt, and reports whether it is within the
// limits; if not, also when the window that refused it ends. The keys are
// counted in order, and a key over its limit stops the count there: a
// client past its address's limit adds no counters for the emails it
// tries.
func takeAttempt(ctx context.Context, store brazen.CounterStore, now time.Time, keys ...string) (bool, time.Time, error) {
	size := int64(loginWindow / time.Second)
	start := now.Unix() / size * size
	for _, k := range keys {
		totals, err := store.AddCounts(ctx, []brazen.CounterDelta{{Key: "console-attempts/" + counterName(k), Window: start, Expires: start + size, N: 1}})
		if err != nil {
			return false, time.Time{}, err
		}
		if totals[0] > loginAttempts {
			return false, time.Unix(start+size, 0), nil
		}
	}
	return true, time.Time{}, nil
}

// attemptKeys are the keys an attempt is counted under: the client's
// address, then key (the email, or the setup link). A client on the loopback
// address (an SSH tunnel, a proxy on the same host that is not a trusted
// proxy) is many people at once, so it is limited by key alone.
func attemptKeys(client netip.Addr, key string) []string {
	if client.IsLoopback() {
		return []string{key}
	}
	return []string{"addr/" + addressKey(client), key}
}

// addressKey is a client's key for the limiter: its IPv4 address, or its
// IPv6 /64 (one host can hold a whole /64).
func addressKey(ip netip.Addr) string {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.Is4() {
		return ip.String()
	}
	p, _ := ip.Prefix(64)
	return p.String()
}

// formMemory is how long the id of a key form that was sent is kept.
const formMemory = time.Hour

// firstSend reports whether the key form with this id is sent for the
// first time in formMemory, so that a reload of the page a POST answered
// does not create a second key. The ids are counted in the store's shared
// counters, so a resubmission reaching another node is recognised too.
func firstSend(ctx context.Context, store brazen.CounterStore, id string, now time.Time) (bool, error) {
	totals, err := store.AddCounts(ctx, []brazen.CounterDelta{{Key: "console-form/" + counterName(id),
		Expires: now.Add(formMemory).Unix(), N: 1}})
	if err != nil {
		return false, err
	}
	return totals[0] == 1, nil
}

// counterName names a counter by a hash of what a client sent.
func counterName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16])
}
