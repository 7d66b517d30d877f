// Package httpx is the HTTP plumbing shared by Brazen's APIs: the one table
// from error kinds to statuses, Braze-shaped error bodies, request ids, body
// limits and JSON decoding, and the middleware that logs, measures and
// recovers every request.
package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/brazenhq/brazen/internal/brazen"
)

// statuses maps each error kind to its HTTP status.
var statuses = map[string]int{
	brazen.EINVALID:          http.StatusBadRequest,
	brazen.EUNAUTHORIZED:     http.StatusUnauthorized,
	brazen.EFORBIDDEN:        http.StatusForbidden,
	brazen.ENOTFOUND:         http.StatusNotFound,
	brazen.EMETHODNOTALLOWED: http.StatusMethodNotAllowed,
	brazen.ECONFLICT:         http.StatusConflict,
	brazen.ETOOLARGE:         http.StatusRequestEntityTooLarge,
	brazen.ERATELIMITED:      http.StatusTooManyRequests,
	brazen.ENOTIMPLEMENTED:   http.StatusNotImplemented,
	brazen.EUNAVAILABLE:      http.StatusServiceUnavailable,
	brazen.EINTERNAL:         http.StatusInternalServerError,
}

// Status returns the HTTP status for err's kind.
func Status(err error) int {
	if s, ok := statuses[brazen.ErrorCode(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// ErrorBody is Braze's error envelope: {"message": …, "errors": [...]}.
// RequestID is added to 5xx bodies only, so an operator can find the log line.
type ErrorBody struct {
	Message   string   `json:"message"`
	Errors    []string `json:"errors,omitempty"`
	RequestID string   `json:"request_id,omitempty"`
}

// WriteError writes err as a Braze-shaped JSON error. The text of an error
// that is not a *brazen.Error, or is internal, never reaches the client: it
// is logged with the request id instead.
func WriteError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	status := Status(err)
	var body ErrorBody
	var e *brazen.Error
	if errors.As(err, &e) && status != http.StatusInternalServerError {
		body.Message, body.Errors = e.Message, e.Details
	} else {
		body.Message = "Internal Server Error"
		logger.Error("internal error", "request_id", RequestID(r),
			"method", r.Method, "path", r.URL.Path, "err", err)
	}
	if status >= 500 {
		body.RequestID = RequestID(r)
	}
	if body.Message == "" {
		body.Message = http.StatusText(status)
	}
	WriteJSON(w, status, body)
}

// WriteJSON writes v as a JSON response with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"message":"Internal Server Error"}` + "\n")
	}
	h := w.Header()
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json; charset=utf-8")
	}
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
