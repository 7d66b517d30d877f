package profile

import (
	"bytes"
	"encoding/json"
	"math"
	"math/big"
	"strconv"
	"unicode/utf8"
)

// decode decodes one JSON value into string, json.Number, bool, nil,
// []any or map[string]any. Scalars, which are most attribute values, skip
// the reflective decoder.
func decode(raw json.RawMessage) (any, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0:
	case string(raw) == "null":
		return nil, nil
	case string(raw) == "true":
		return true, nil
	case string(raw) == "false":
		return false, nil
	case raw[0] == '-' || isDigit(raw[0]):
		if json.Valid(raw) {
			return json.Number(raw), nil
		}
	case raw[0] == '"' && plainString(raw):
		return string(raw[1 : len(raw)-1]), nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errTrailing
	}
	return v, nil
}

type trailingError struct{}

func (trailingError) Error() string { return "trailing data after a JSON value" }

var errTrailing error = trailingError{}

// plainString reports whether raw is a quoted JSON string needing no
// unescaping: no backslash, no control character, valid UTF-8.
func plainString(raw []byte) bool {
	if len(raw) < 2 || raw[len(raw)-1] != '"' {
		return false
	}
	body := raw[1 : len(raw)-1]
	for _, c := range body {
		if c == '\\' || c == '"' || c < 0x20 {
			return false
		}
	}
	return utf8.Valid(body)
}

// clone deep-copies the containers of a decoded JSON value, so that a
// profile never shares memory with an Update (which may be applied again)
// or with another profile.
func clone(v any) any {
	switch t := v.(type) {
	case []any:
		c := make([]any, len(t))
		for i, e := range t {
			c[i] = clone(e)
		}
		return c
	case map[string]any:
		c := make(map[string]any, len(t))
		for k, e := range t {
			c[k] = clone(e)
		}
		return c
	}
	return v
}

// merge deep-merges src into dst and returns the result as a new map,
// leaving both arguments untouched: keys of src replace those of dst,
// except that two objects merge recursively. A {"$time": …} value is a
// scalar here, never merged into.
func merge(dst, src map[string]any) map[string]any {
	out := make(map[string]any, len(dst)+len(src))
	for k, v := range dst {
		out[k] = v
	}
	for k, v := range src {
		sm, ok1 := v.(map[string]any)
		dm, ok2 := out[k].(map[string]any)
		if ok1 && ok2 && !isTimeObject(sm) && !isTimeObject(dm) {
			out[k] = merge(dm, sm)
		} else {
			out[k] = clone(v)
		}
	}
	return out
}

func isTimeObject(m map[string]any) bool {
	if len(m) != 1 {
		return false
	}
	_, ok := m["$time"]
	return ok
}

// number reads a numeric value as stored on a profile: json.Number
// normally, float64 or an integer if the profile was decoded carelessly.
func number(v any) (json.Number, bool) {
	switch n := v.(type) {
	case json.Number:
		return n, true
	case float64:
		if math.IsInf(n, 0) || math.IsNaN(n) {
			return "", false
		}
		return json.Number(strconv.FormatFloat(n, 'g', -1, 64)), true
	case int:
		return json.Number(strconv.Itoa(n)), true
	case int64:
		return json.Number(strconv.FormatInt(n, 10)), true
	}
	return "", false
}

// integer returns n in canonical integer form if n is an integral value in
// the int64 range ("5", "5.0" and "5e0" all give "5").
func integer(n json.Number) (json.Number, bool) {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return json.Number(strconv.FormatInt(i, 10)), true
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return "", false
	}
	return json.Number(strconv.FormatInt(int64(f), 10)), true
}

// add returns cur + inc, where inc is an integer. Integers stay exact at
// any size; a non-integral cur gives a float sum.
func add(cur, inc json.Number) json.Number {
	c, err1 := strconv.ParseInt(string(cur), 10, 64)
	d, err2 := strconv.ParseInt(string(inc), 10, 64)
	if err1 == nil && err2 == nil {
		if s := c + d; (s > c) == (d > 0) || d == 0 {
			return json.Number(strconv.FormatInt(s, 10))
		}
	}
	bc, ok1 := new(big.Int).SetString(string(cur), 10)
	bd, ok2 := new(big.Int).SetString(string(inc), 10)
	if ok1 && ok2 {
		return json.Number(bc.Add(bc, bd).String())
	}
	fc, err1 := strconv.ParseFloat(string(cur), 64)
	fd, err2 := strconv.ParseFloat(string(inc), 64)
	if err1 != nil || err2 != nil || math.IsInf(fc+fd, 0) || math.IsNaN(fc+fd) {
		return cur // unrepresentable: leave the value alone
	}
	return json.Number(strconv.FormatFloat(fc+fd, 'g', -1, 64))
}

// key is a primitive's identity for array uniqueness and $identifier_value
// matching: strings by content, booleans by value, numbers by numeric value
// (so 1 and 1.0 are the same element). ok is false for anything else.
func key(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return "s" + t, true
	case bool:
		if t {
			return "t", true
		}
		return "f", true
	}
	n, ok := number(v)
	if !ok {
		return "", false
	}
	if i, ok := integer(n); ok {
		return "n" + string(i), true
	}
	if f, err := strconv.ParseFloat(string(n), 64); err == nil {
		return "n" + strconv.FormatFloat(f, 'g', -1, 64), true
	}
	return "n" + string(n), true
}

// equal reports whether two primitives are the same value by key.
func equal(a, b any) bool {
	ka, ok1 := key(a)
	kb, ok2 := key(b)
	return ok1 && ok2 && ka == kb
}

// jsonSize returns the length in bytes of v's compact JSON encoding, or
// some number greater than limit once it is known to exceed limit.
func jsonSize(v any, limit int) int {
	n := 0
	var walk func(v any)
	walk = func(v any) {
		if n > limit {
			return
		}
		switch t := v.(type) {
		case nil:
			n += 4
		case bool:
			if t {
				n += 4
			} else {
				n += 5
			}
		case string:
			n += stringSize(t)
		case []any:
			n += 2 + max(len(t)-1, 0)
			for _, e := range t {
				walk(e)
			}
		case map[string]any:
			n += 2 + max(len(t)-1, 0)
			for k, e := range t {
				n += stringSize(k) + 1
				walk(e)
			}
		default:
			if num, ok := number(v); ok {
				n += len(num)
			} else {
				n += 4
			}
		}
	}
	walk(v)
	return n
}

func stringSize(s string) int {
	n := 2 + len(s)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f':
			n++
		case c < 0x20:
			n += 5
		}
	}
	return n
}
