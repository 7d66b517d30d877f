// Package ratelimit counts requests in fixed windows aligned to the clock, as
// Braze does: an hourly limit resets at :00, a per-minute one at :00 seconds,
// a 3-second one at every multiple of 3 seconds since the Unix epoch.
package ratelimit

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limit is N requests per Window. Window is a whole number of seconds.
type Limit struct {
	N      int64
	Window time.Duration
}

func (l Limit) String() string {
	switch l.Window {
	case time.Second:
		return fmt.Sprintf("%d/second", l.N)
	case time.Minute:
		return fmt.Sprintf("%d/minute", l.N)
	case time.Hour:
		return fmt.Sprintf("%d/hour", l.N)
	case 24 * time.Hour:
		return fmt.Sprintf("%d/day", l.N)
	}
	return fmt.Sprintf("%d/%s", l.N, l.Window)
}

// ParseLimit parses "N/WINDOW": N a positive integer, WINDOW a Go duration of
// whole seconds ("3s", "1m", "1h", "24h") or one of second, minute, hour, day.
// Examples: "5/3s", "250000/hour".
func ParseLimit(s string) (Limit, error) {
	n, w, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Limit{}, fmt.Errorf("%q is not N/WINDOW (e.g. 5/3s or 1000/hour)", s)
	}
	count, err := strconv.ParseInt(strings.TrimSpace(n), 10, 64)
	if err != nil || count < 1 {
		return Limit{}, fmt.Errorf("%q: the count must be a whole number of at least 1", s)
	}
	var window time.Duration
	switch w = strings.TrimSpace(w); w {
	case "s", "sec", "second":
		window = time.Second
	case "m", "min", "minute":
		window = time.Minute
	case "h", "hour":
		window = time.Hour
	case "d", "day":
		window = 24 * time.Hour
	default:
		window, err = time.ParseDuration(w)
		if err != nil {
			return Limit{}, fmt.Errorf("%q: the window must be a duration such as 3s, 1m, 1h or a word such as minute", s)
		}
	}
	if window < time.Second || window%time.Second != 0 || window > 24*time.Hour {
		return Limit{}, fmt.Errorf("%q: the window must be a whole number of seconds, from 1s to 24h", s)
	}
	return Limit{N: count, Window: window}, nil
}

// Decision is the outcome of counting one request.
type Decision struct {
	Allowed   bool
	Limit     int64 // X-RateLimit-Limit
	Remaining int64 // X-RateLimit-Remaining
	Reset     int64 // X-RateLimit-Reset: the window's end, Unix seconds
}

// windowBounds returns the start and end of the window holding now, in Unix
// seconds.
func windowBounds(l Limit, now time.Time) (start, end int64) {
	w := int64(l.Window / time.Second)
	t := now.Unix()
	start = t - ((t%w)+w)%w
	return start, start + w
}

// Limiter counts requests per (scope, bucket): scope is the workspace, bucket
// the index of a rate-limit group.
type Limiter interface {
	// Take counts one request and says whether it is allowed.
	Take(scope string, bucket int, l Limit, now time.Time) Decision
	// Peek says what Take would report about the window without counting.
	Peek(scope string, bucket int, l Limit, now time.Time) Decision
}

// Local is a Limiter for one process.
type Local struct {
	buckets int

	mu     sync.RWMutex // guards scopes
	scopes map[string][]counter
}

var _ Limiter = (*Local)(nil)

type counter struct {
	mu    sync.Mutex // guards start and n
	start int64
	n     int64
}

// NewLocal returns a Limiter for buckets 0 … buckets-1.
func NewLocal(buckets int) *Local {
	return &Local{buckets: buckets, scopes: make(map[string][]counter)}
}

func (l *Local) counter(scope string, bucket int) *counter {
	l.mu.RLock()
	cs := l.scopes[scope]
	l.mu.RUnlock()
	if cs == nil {
		l.mu.Lock()
		if cs = l.scopes[scope]; cs == nil {
			cs = make([]counter, l.buckets)
			l.scopes[scope] = cs
		}
		l.mu.Unlock()
	}
	return &cs[bucket]
}

func (l *Local) Take(scope string, bucket int, lim Limit, now time.Time) Decision {
	return l.count(scope, bucket, lim, now, 1)
}

func (l *Local) Peek(scope string, bucket int, lim Limit, now time.Time) Decision {
	return l.count(scope, bucket, lim, now, 0)
}

func (l *Local) count(scope string, bucket int, lim Limit, now time.Time, add int64) Decision {
	start, end := windowBounds(lim, now)
	c := l.counter(scope, bucket)
	c.mu.Lock()
	if c.start != start {
		c.start, c.n = start, 0
	}
	allowed := c.n < lim.N // whether one more request fits
	if allowed {
		c.n += add
	}
	n := c.n
	c.mu.Unlock()
	return Decision{Allowed: allowed, Limit: lim.N, Remaining: max(lim.N-n, 0), Reset: end}
}
