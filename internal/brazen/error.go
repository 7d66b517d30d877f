// Package brazen holds Brazen's domain types, error kinds and store contracts.
// It depends on nothing but the standard library, so every other package can
// import it and no backend leaks into the layers above the store.
package brazen

import (
	"errors"
	"fmt"
)

// Error kinds. They are stable strings, not HTTP statuses: the HTTP layer maps
// each kind to a status in one table (httpx), and the CLI maps them to exit
// codes.
const (
	EINVALID          = "invalid"            // the caller sent something wrong
	EUNAUTHORIZED     = "unauthorized"       // missing or unknown credentials
	EFORBIDDEN        = "forbidden"          // credentials valid, action not allowed
	ENOTFOUND         = "not_found"          // the thing asked for does not exist
	ECONFLICT         = "conflict"           // the thing already exists or changed
	EMETHODNOTALLOWED = "method_not_allowed" // the path exists, the method does not
	ETOOLARGE         = "too_large"          // a request body or batch over its limit
	ERATELIMITED      = "rate_limited"       // a rate limit was hit
	ENOTIMPLEMENTED   = "not_implemented"    // a known endpoint Brazen does not serve yet
	EUNAVAILABLE      = "unavailable"        // a dependency (the store) cannot serve now
	EINTERNAL         = "internal"           // a bug or an unexpected failure
)

// Error is Brazen's error value. Message is what a Braze client sees as the
// body's "message"; Details become the body's "errors" array.
type Error struct {
	Code    string
	Message string
	Details []string
	Err     error // the underlying cause, never shown to clients
}

func (e *Error) Error() string {
	s := e.Message
	if len(e.Details) > 0 {
		s += ": " + e.Details[0]
		for _, d := range e.Details[1:] {
			s += "; " + d
		}
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of the given kind whose message is formatted.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the kind of err: the Code of the first *Error in its
// chain, or EINTERNAL for any other non-nil error.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// IsNotFound reports whether err is of kind ENOTFOUND.
func IsNotFound(err error) bool { return ErrorCode(err) == ENOTFOUND }
