package liquid

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/osteele/liquid"
	"github.com/osteele/liquid/render"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/export"
)

// Engine compiles and renders templates; it is safe for concurrent use.
// Compiled templates are cached by source, so a send renders its message
// for every recipient from one parse.
type Engine struct {
	lq *liquid.Engine

	mu    sync.Mutex
	cache map[string]*Template
}

// abortKey is the binding through which {% abort_message %} reports to
// the Render call that runs it (templates render concurrently, so the
// report cannot live on the engine).
const abortKey = "__abort"

type abortState struct{ reason *string }

// NewEngine returns an engine with Braze's tags and filters.
func NewEngine() *Engine {
	lq := liquid.NewEngine()
	lq.RegisterTag("abort_message", func(c render.Context) (string, error) {
		reason := ""
		if arg := strings.TrimSpace(c.TagArgs()); arg != "" {
			v, err := c.EvaluateString(arg)
			if err != nil {
				return "", err
			}
			reason = fmt.Sprint(v)
		}
		if st, ok := c.Get(abortKey).(*abortState); ok && st.reason == nil {
			st.reason = &reason
		}
		return "", errAborted
	})
	// time_zone converts a time (or "now", or a Unix time) to a zone, for
	// the date filter that follows, as Braze's filter does.
	lq.RegisterFilter("time_zone", func(v any, zone string) any {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			return v
		}
		if t, ok := toTime(v); ok {
			return t.In(loc)
		}
		return v
	})
	return &Engine{lq: lq, cache: map[string]*Template{}}
}

var errAborted = errors.New("abort_message")

// Template is a compiled template.
type Template struct {
	t *liquid.Template
}

// maxCached bounds the template cache; past it the cache starts over.
const maxCached = 1024

// Compile preprocesses and parses src (Braze's dialect). Errors name the
// problem and where it is, for a 400 to the API caller.
func (e *Engine) Compile(src string) (*Template, error) {
	e.mu.Lock()
	t, ok := e.cache[src]
	e.mu.Unlock()
	if ok {
		return t, nil
	}
	std, err := Preprocess(src)
	if err != nil {
		return nil, err
	}
	lt, err := e.parse(std)
	if err != nil {
		return nil, err
	}
	t = &Template{t: lt}
	e.mu.Lock()
	if len(e.cache) >= maxCached {
		clear(e.cache)
	}
	e.cache[src] = t
	e.mu.Unlock()
	return t, nil
}

// parse parses standard Liquid. The engine panics on some malformed input
// (found by FuzzPreprocess); a template is outside input, so a panic is a
// parse error like any other.
func (e *Engine) parse(std string) (t *liquid.Template, err error) {
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("the template cannot be parsed: %v", r)
		}
	}()
	lt, serr := e.lq.ParseString(std)
	if serr != nil {
		return nil, fmt.Errorf("%s", serr.Error())
	}
	return lt, nil
}

// AbortError is returned by Render when the template ran
// {% abort_message %}: the message is not sent to this user.
type AbortError struct{ Reason string }

func (e *AbortError) Error() string {
	if e.Reason == "" {
		return "aborted by abort_message"
	}
	return "aborted by abort_message: " + e.Reason
}

// Render renders t with the bindings. An abort is an *AbortError; any
// other error means the template could not be rendered for these bindings
// (the caller skips the user and logs why).
func (t *Template) Render(b Bindings) (out string, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = "", fmt.Errorf("the template cannot be rendered: %v", r)
		}
	}()
	st := &abortState{}
	vars := make(map[string]any, len(b)+2)
	for k, v := range b {
		vars[k] = v
	}
	vars[topLevel] = map[string]any(b)
	vars[abortKey] = st
	out, serr := t.t.RenderString(vars)
	if st.reason != nil {
		return "", &AbortError{Reason: *st.reason}
	}
	if serr != nil {
		return "", fmt.Errorf("%s", serr.Error())
	}
	return out, nil
}

// Bindings are the variables a template sees.
type Bindings map[string]any

// Context is what a message adds to the user's own values.
type Context struct {
	// TriggerProperties are the request's trigger_properties
	// ({{api_trigger_properties.${key}}}).
	TriggerProperties map[string]any
	// Campaign holds campaign.${dispatch_id}, ${api_id}, ${name}, … .
	Campaign map[string]any
	// Extra top-level values, e.g. set_user_to_unsubscribed_url.
	Extra map[string]any
}

// UserBindings returns the variables of Braze's dialect for a profile:
// standard attributes by their Liquid names (${first_name},
// ${email_address}, ${user_id}, ${city}, …), custom_attribute.${name},
// subscribed_state.${email_global} and the message's context.
func UserBindings(p *brazen.Profile, c Context) Bindings {
	std := func(name string) any {
		if p.Standard == nil {
			return nil
		}
		return plain(p.Standard[name])
	}
	b := Bindings{
		"first_name":           std("first_name"),
		"last_name":            std("last_name"),
		"email_address":        nilIfEmpty(p.Email),
		"phone_number":         nilIfEmpty(p.Phone),
		"city":                 std("home_city"),
		"country":              std("country"),
		"date_of_birth":        std("dob"),
		"gender":               std("gender"),
		"language":             std("language"),
		"time_zone":            std("time_zone"),
		"user_id":              nilIfEmpty(p.ExternalID),
		"braze_id":             p.BrazeID,
		"random_bucket_number": export.RandomBucket(p.BrazeID),
		"custom_attribute":     plain(anyMap(p.Custom)),
		"subscribed_state": map[string]any{
			"email_global": std("email_subscribe"),
			"push_global":  std("push_subscribe"),
		},
		"api_trigger_properties": plain(anyMap(c.TriggerProperties)),
		"campaign":               plain(anyMap(c.Campaign)),
	}
	for k, v := range c.Extra {
		b[k] = plain(v)
	}
	return b
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func anyMap(m map[string]any) any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// plain turns decoded JSON into values Liquid computes with: json.Number
// into int64 or float64, recursively.
func plain(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i
		}
		if f, err := strconv.ParseFloat(string(x), 64); err == nil {
			return f
		}
		return string(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = plain(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plain(e)
		}
		return out
	}
	return v
}

// toTime reads what Liquid's date filter reads: a time, "now"/"today", a
// Unix time, or a date-time string.
func toTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, true
	case int:
		return time.Unix(int64(x), 0), true
	case int64:
		return time.Unix(x, 0), true
	case float64:
		return time.Unix(int64(x), 0), true
	case string:
		switch x {
		case "now", "today":
			return time.Now(), true
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
			if t, err := time.Parse(layout, x); err == nil {
				return t, true
			}
		}
	}
	return time.Time{}, false
}
