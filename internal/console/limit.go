package console

import (
	"net/netip"
	"sync"
	"time"
)

// Login and setup attempts are limited per client address and per email,
// on each node: loginAttempts in loginWindow, the window opening at the
// first attempt.
const (
	loginAttempts = 10
	loginWindow   = 5 * time.Minute
	// maxTracked bounds the memory the limiter takes: past it, expired
	// windows are swept, and if every one is live the attempt is refused.
	maxTracked = 100_000
)

type window struct {
	start time.Time
	n     int
}

// attempts counts attempts by key. Unlike the REST API's limiter, whose
// scopes are keys an operator made, its keys are what anyone sends, so it
// forgets windows that ended.
type attempts struct {
	mu sync.Mutex
	m  map[string]window
}

func newAttempts() *attempts { return &attempts{m: map[string]window{}} }

// take counts an attempt and reports whether it is allowed, and if not
// when the key's window ends.
func (a *attempts) take(key string, now time.Time) (bool, time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	w, ok := a.m[key]
	if !ok && len(a.m) >= maxTracked {
		for k, v := range a.m {
			if now.Sub(v.start) >= loginWindow {
				delete(a.m, k)
			}
		}
		if len(a.m) >= maxTracked {
			return false, now.Add(loginWindow)
		}
	}
	if now.Sub(w.start) >= loginWindow {
		w = window{start: now}
	}
	if w.n >= loginAttempts {
		return false, w.start.Add(loginWindow)
	}
	w.n++
	a.m[key] = w
	return true, time.Time{}
}

// addressKey is a client's key for the limiter: its IPv4 address, or its
// IPv6 /64 (one host can hold a whole /64).
func addressKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	if ip.Is4() || ip.Is4In6() {
		return ip.Unmap().String()
	}
	p, _ := ip.Prefix(64)
	return p.String()
}

// sentForms remembers, for an hour, the ids of key forms already sent, so
// that a reload of the page a POST answered does not create a second key.
// It is per node: a resubmission reaching another node creates one.
type sentForms struct {
	mu sync.Mutex
	m  map[string]time.Time
}

const formMemory = time.Hour

func newSentForms() *sentForms { return &sentForms{m: map[string]time.Time{}} }

// take reports whether id is new, and remembers it.
func (f *sentForms) take(id string, now time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.m) >= maxTracked {
		for k, at := range f.m {
			if now.Sub(at) >= formMemory {
				delete(f.m, k)
			}
		}
	}
	if at, ok := f.m[id]; ok && now.Sub(at) < formMemory {
		return false
	}
	if len(f.m) >= maxTracked {
		return true // full of live ids: better a possible duplicate than a refusal
	}
	f.m[id] = now
	return true
}
