// Package channel holds what every delivery channel (email, webhook, push,
// SMS) shares: how a delivery attempt's failure is classified. The
// channels themselves are its subpackages; internal/dispatch drives them.
package channel

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Error is a failed delivery attempt. Permanent failures (the provider
// refused the message or the address for good) are not retried; the
// others are, with backoff. RetryAfter, if set, is the provider's own
// request for a pause.
type Error struct {
	Permanent  bool
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	kind := "transient"
	if e.Permanent {
		kind = "permanent"
	}
	return fmt.Sprintf("%s delivery failure: %v", kind, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Permanentf returns a permanent failure.
func Permanentf(format string, args ...any) error {
	return &Error{Permanent: true, Err: fmt.Errorf(format, args...)}
}

// Transientf returns a failure worth retrying.
func Transientf(format string, args ...any) error {
	return &Error{Err: fmt.Errorf(format, args...)}
}

// IsPermanent reports whether err is a permanent failure. An error that is
// not an *Error (a bug, a canceled context) is not: retrying is the safe
// side, and attempts are bounded.
func IsPermanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Permanent
}

// RetryAfter returns the pause a provider asked for, 0 if none.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// ErrInvalidToken is wrapped by the permanent failure a push service
// answers for a device token it no longer accepts (uninstalled app,
// token for another app); the token is then removed from the profile.
var ErrInvalidToken = errors.New("the push service no longer accepts this device token")

// maxRetryAfter caps the pause a provider may ask for.
const maxRetryAfter = time.Hour

// ParseRetryAfter reads a Retry-After header: delay-seconds or an HTTP
// date (RFC 9110), at most an hour; 0 if absent or unreadable.
func ParseRetryAfter(h string) time.Duration {
	h = strings.TrimSpace(h)
	if n, err := strconv.Atoi(h); err == nil && n > 0 {
		return min(time.Duration(n)*time.Second, maxRetryAfter)
	}
	if t, err := http.ParseTime(h); err == nil {
		if d := time.Until(t); d > 0 {
			return min(d.Round(time.Second), maxRetryAfter)
		}
	}
	return 0
}
