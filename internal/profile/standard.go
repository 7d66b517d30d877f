package profile

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// isStandard reports whether name is one of Braze's standard attributes.
func isStandard(name string) bool {
	switch name {
	case "first_name", "last_name", "home_city", "email", "phone", "country",
		"current_location", "date_of_first_session", "date_of_last_session",
		"marked_email_as_spam_at", "dob", "email_subscribe", "push_subscribe",
		"email_open_tracking_disabled", "email_click_tracking_disabled",
		"facebook", "twitter", "gender", "language", "time_zone",
		"push_tokens", "subscription_groups":
		return true
	}
	return false
}

// NormalizeEmail is the form an email address is stored in: trimmed and in
// lower case. Look-ups by email should use it too.
func NormalizeEmail(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}

// parseStandard validates one standard attribute. keep is false when the
// value is to be ignored (an invalid time_zone, as Braze does).
func parseStandard(name string, v any) (op Op, keep bool, err error) {
	op = Op{Name: name, Kind: KindSet}
	if v == nil {
		return Op{Name: name, Kind: KindUnset}, true, nil
	}
	switch name {
	case "first_name", "last_name", "home_city":
		op.Value, err = stdString(name, v)
	case "email", "phone":
		var s string
		if s, err = stdString(name, v); err != nil {
			break
		}
		if name == "email" {
			s = NormalizeEmail(s)
		} else {
			s = strings.TrimSpace(s)
		}
		if s == "" {
			// An empty address is no address; p.Email and p.Phone cannot
			// tell "" from unset anyway.
			return Op{Name: name, Kind: KindUnset}, true, nil
		}
		op.Value = s
	case "country":
		var s string
		if s, err = stdString(name, v); err != nil {
			break
		}
		code, ok := CountryCode(s)
		if !ok {
			return Op{Name: name, Kind: KindUnset}, true, nil
		}
		op.Value = code
	case "current_location":
		op.Value, err = location(v)
	case "date_of_first_session", "date_of_last_session", "marked_email_as_spam_at":
		s, ok := v.(string)
		t, perr := ParseTime(s)
		if !ok || perr != nil {
			return op, false, invalid("'%s' must be a date in ISO 8601 or another format Braze accepts", name)
		}
		op.Value = t.Format(TimeLayout)
	case "dob":
		s, ok := v.(string)
		if _, perr := time.Parse(time.DateOnly, s); !ok || len(s) != 10 || perr != nil {
			return op, false, invalid("'dob' must be a date in the format YYYY-MM-DD")
		}
		op.Value = s
	case "email_subscribe", "push_subscribe":
		s, _ := v.(string)
		switch s = strings.ToLower(s); s {
		case "opted_in", "subscribed", "unsubscribed":
			op.Value = s
		default:
			err = invalid("'%s' must be one of 'opted_in', 'subscribed' or 'unsubscribed'", name)
		}
	case "email_open_tracking_disabled", "email_click_tracking_disabled":
		if _, ok := v.(bool); !ok {
			err = invalid("'%s' must be a boolean", name)
		}
		op.Value = v
	case "facebook":
		op.Value, err = facebook(v)
	case "twitter":
		op.Value, err = twitter(v)
	case "gender":
		s, _ := v.(string)
		switch s = strings.ToUpper(s); s {
		case "M", "F", "O", "N", "P":
			op.Value = s
		default:
			err = invalid("'gender' must be one of 'M', 'F', 'O', 'N', 'P' or null")
		}
	case "language":
		s, _ := v.(string)
		code, ok := languageCode(s)
		if !ok {
			return op, false, invalid("'language' must be an ISO-639-1 language code")
		}
		op.Value = code
	case "time_zone":
		var s string
		if s, err = stdString(name, v); err != nil {
			break
		}
		tz, ok := timeZone(s)
		if !ok {
			return op, false, nil // Braze ignores an invalid time zone
		}
		op.Value = tz
	case "push_tokens":
		op.Kind = KindTokens
		op.Value, err = pushTokens(v)
	case "subscription_groups":
		op.Kind = KindMerge
		op.Value, err = subscriptionGroups(v)
	}
	if err != nil {
		return op, false, err
	}
	return op, true, nil
}

func stdString(name string, v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", invalid("'%s' must be a string", name)
	}
	if utf8.RuneCountInString(s) > MaxStringLength {
		return "", invalid("'%s' must be at most %d characters", name, MaxStringLength)
	}
	return s, nil
}

func location(v any) (any, error) {
	m, _ := v.(map[string]any)
	lon, ok1 := m["longitude"].(json.Number)
	lat, ok2 := m["latitude"].(json.Number)
	if ok1 && ok2 {
		fo, err1 := strconv.ParseFloat(string(lon), 64)
		fa, err2 := strconv.ParseFloat(string(lat), 64)
		if err1 == nil && err2 == nil && -180 <= fo && fo <= 180 && -90 <= fa && fa <= 90 {
			return map[string]any{"longitude": lon, "latitude": lat}, nil
		}
	}
	return nil, invalid("'current_location' must be an object with a numeric 'longitude' (-180 to 180) and 'latitude' (-90 to 90)")
}

// facebook keeps the documented keys and drops others.
func facebook(v any) (any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, invalid("'facebook' must be an object")
	}
	out := map[string]any{}
	if id, ok := m["id"]; ok && id != nil {
		s, ok := id.(string)
		if !ok {
			return nil, invalid("'facebook.id' must be a string")
		}
		out["id"] = s
	}
	if likes, ok := m["likes"]; ok && likes != nil {
		arr, ok := likes.([]any)
		for _, e := range arr {
			if _, isStr := e.(string); !isStr {
				ok = false
			}
		}
		if !ok {
			return nil, invalid("'facebook.likes' must be an array of strings")
		}
		out["likes"] = arr
	}
	if err := intField(m, out, "facebook", "num_friends"); err != nil {
		return nil, err
	}
	return out, nil
}

// twitter keeps the documented keys and drops others.
func twitter(v any) (any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, invalid("'twitter' must be an object")
	}
	out := map[string]any{}
	if name, ok := m["screen_name"]; ok && name != nil {
		s, ok := name.(string)
		if !ok {
			return nil, invalid("'twitter.screen_name' must be a string")
		}
		out["screen_name"] = s
	}
	for _, k := range [...]string{"id", "followers_count", "friends_count", "statuses_count"} {
		if err := intField(m, out, "twitter", k); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// intField copies the integer m[k], if present and not null, to out.
func intField(m, out map[string]any, obj, k string) error {
	v, ok := m[k]
	if !ok || v == nil {
		return nil
	}
	n, ok := v.(json.Number)
	if ok {
		n, ok = integer(n)
	}
	if !ok {
		return invalid("'%s.%s' must be an integer", obj, k)
	}
	out[k] = n
	return nil
}

// pushTokens validates push_tokens, keeping the last of several entries
// with one token and deriving a missing device_id from app_id and token:
// Braze generates one, and a derived id is stable across retries.
func pushTokens(v any) (any, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, invalid("'push_tokens' must be an array of objects with 'app_id' and 'token'")
	}
	out := make([]any, 0, len(arr))
	for _, e := range arr {
		m, _ := e.(map[string]any)
		app, ok1 := m["app_id"].(string)
		tok, ok2 := m["token"].(string)
		dev, ok3 := m["device_id"].(string)
		if d, present := m["device_id"]; !present || d == nil {
			ok3 = true
		}
		if !ok1 || !ok2 || !ok3 || app == "" || tok == "" {
			return nil, invalid("'push_tokens' must be an array of objects with 'app_id' and 'token' strings and an optional 'device_id' string")
		}
		if dev == "" {
			sum := sha256.Sum256([]byte(app + "\x00" + tok))
			h := hex.EncodeToString(sum[:16])
			dev = h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
		}
		out = appendToken(out, map[string]any{"app_id": app, "token": tok, "device_id": dev})
	}
	return out, nil
}

// appendToken appends t to list, removing an earlier entry with its token
// (and anything that is not a token object).
func appendToken(list []any, t map[string]any) []any {
	token, _ := t["token"].(string)
	list = deleteFunc(list, func(e any) bool {
		m, ok := e.(map[string]any)
		s, _ := m["token"].(string)
		return !ok || s == token
	})
	return append(list, t)
}

func subscriptionGroups(v any) (any, error) {
	arr, ok := v.([]any)
	msg := "'subscription_groups' must be an array of objects with a 'subscription_group_id' string and a 'subscription_state' of 'subscribed' or 'unsubscribed'"
	if !ok {
		return nil, invalid("%s", msg)
	}
	out := make(map[string]any, len(arr))
	for _, e := range arr {
		m, _ := e.(map[string]any)
		id, ok1 := m["subscription_group_id"].(string)
		state, ok2 := m["subscription_state"].(string)
		if !ok1 || !ok2 || id == "" || (state != "subscribed" && state != "unsubscribed") {
			return nil, invalid("%s", msg)
		}
		out[id] = state
	}
	return out, nil
}

// deleteFunc is slices.DeleteFunc on a copy: values on a profile are never
// modified in place.
func deleteFunc(list []any, del func(any) bool) []any {
	out := make([]any, 0, len(list))
	for _, e := range list {
		if !del(e) {
			out = append(out, e)
		}
	}
	return out
}
