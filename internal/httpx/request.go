package httpx

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/brazenhq/brazen/internal/brazen"
)

// RequestIDHeader carries the request id in and out.
const RequestIDHeader = "X-Request-Id"

// IDs hands out request ids: a random per-process prefix and a counter, so
// ids are unique across nodes and cost no system call per request.
type IDs struct {
	prefix string
	n      atomic.Uint64
}

// NewIDs returns an id source with a fresh random prefix.
func NewIDs() *IDs {
	var b [8]byte
	rand.Read(b[:])
	return &IDs{prefix: hex.EncodeToString(b[:]) + "-"}
}

// Next returns a new request id.
func (g *IDs) Next() string { return g.prefix + strconv.FormatUint(g.n.Add(1), 36) }

// validRequestID accepts a caller's id if it is short printable ASCII, so it
// can go into logs and headers unescaped.
func validRequestID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// RequestID returns the id the Observe middleware gave r.
func RequestID(r *http.Request) string { return r.Header.Get(RequestIDHeader) }

// DefaultMaxBody is Braze's request body limit on most endpoints.
const DefaultMaxBody = 4 << 20

// ReadBody reads r's body up to max bytes. A larger body fails with tooLarge
// (Braze answers 413 on most endpoints, 400 on some).
func ReadBody(w http.ResponseWriter, r *http.Request, max int64, tooLarge *brazen.Error) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > max {
		return nil, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, tooLarge
	}
	if err != nil {
		return nil, &brazen.Error{Code: brazen.EINVALID, Message: "Bad Request",
			Details: []string{"could not read the request body: " + err.Error()}}
	}
	return body, nil
}

// TooLarge returns the error for a body over max bytes with the given kind.
func TooLarge(code string, max int64) *brazen.Error {
	return &brazen.Error{Code: code, Message: "Request Entity Too Large",
		Details: []string{fmt.Sprintf("the request body is larger than the limit of %d bytes", max)}}
}

// DecodeJSON decodes body, which must hold exactly one JSON value, into v.
// Any problem is an EINVALID error whose detail says what is wrong and where.
func DecodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return badJSON("the request body is empty; expected a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return badJSON(describeJSONError(err, body))
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); err != io.EOF {
		return badJSON(fmt.Sprintf("unexpected data after the JSON value, which ends at byte %d", end))
	}
	return nil
}

// HasEscapedNUL reports whether a JSON text holds the escape \u0000 (the
// NUL character) in a string. An escaped backslash followed by "u0000" is
// not one.
func HasEscapedNUL(b []byte) bool {
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		if i+5 < len(b) && b[i+1] == 'u' && string(b[i+2:i+6]) == "0000" {
			return true
		}
		i++ // the escaped character
	}
	return false
}

// CheckJSON reports whether body is one well-formed JSON value, with the same
// errors as DecodeJSON.
func CheckJSON(body []byte) error {
	var v json.RawMessage
	return DecodeJSON(body, &v)
}

func badJSON(detail string) error {
	return &brazen.Error{Code: brazen.EINVALID, Message: "Bad Request", Details: []string{detail}}
}

func describeJSONError(err error, body []byte) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("malformed JSON at byte %d: %s", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Sprintf("'%s' must be %s, not %s", typ.Field, jsonKind(typ.Type.Kind().String()), typ.Value)
		}
		return fmt.Sprintf("the request body must be %s, not %s", jsonKind(typ.Type.Kind().String()), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return fmt.Sprintf("malformed JSON: the body ends early, after %d bytes", len(body))
	}
	return "malformed JSON: " + err.Error()
}

func jsonKind(goKind string) string {
	switch goKind {
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "a number"
	}
	return "a " + goKind
}
