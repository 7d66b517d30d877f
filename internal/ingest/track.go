package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/httpx"
	"github.com/brazenhq/brazen/internal/profile"
)

// TrackLimits are the batch rules of one track endpoint.
type TrackLimits struct {
	MaxObjects int  // objects per request (0: no limit)
	PerArray   bool // legacy: MaxObjects applies to each array, not to all three together
	MaxPerUser int  // objects for one identifier per request (0: no limit)
}

// The limits of /users/track, /users/track/bulk and /users/track/sync.
var (
	TrackLimitsDefault = TrackLimits{MaxObjects: 75}
	TrackLimitsBulk    = TrackLimits{MaxObjects: 1000, MaxPerUser: 100}
	TrackLimitsSync    = TrackLimits{MaxObjects: 1}
)

// Track is a parsed /users/track request.
type Track struct {
	// Ops are the accepted objects in Braze's processing order: attributes,
	// then events, then purchases, each in request order.
	Ops []Op
	// Accepted objects per array (the *_processed response counts).
	Attributes, Events, Purchases int
	// Whether the request had that array, even empty (so the response has
	// its *_processed key).
	HasAttributes, HasEvents, HasPurchases bool
	// Errors are the refused objects, by array and index.
	Errors []ObjectError
}

// Braze's fatal messages.
const (
	trackMsgMaxInput = "Max Input Length Exceeded"
	trackMsgNoData   = "Valid data must be provided in the 'attributes', 'events', or 'purchases' fields."
)

// Limits of the object fields.
const (
	trackMaxExternalID     = 997       // bytes: the SDKs' user id limit, so any SDK user can be addressed
	trackMaxAliasPart      = 236       // bytes, alias_name and alias_label
	trackMaxName           = 255       // characters: event name, product_id, property keys and string values
	trackMaxEventNested    = 100 << 10 // bytes of event properties holding arrays or objects
	trackMaxPurchaseNested = 50 << 10  // the same for purchase properties
	trackMaxQuantity       = 100
	trackErrNoIdentifier   = "'external_id' or 'braze_id' or 'user_alias' or 'email' or 'phone' is required"
	trackErrOneIdentifier  = "only one of 'external_id', 'braze_id' or 'user_alias' may be given"
)

// The three arrays, in processing order.
const (
	trackAttributes = "attributes"
	trackEvents     = "events"
	trackPurchases  = "purchases"
)

var trackArrays = [...]string{trackAttributes, trackEvents, trackPurchases}

// ParseTrack parses and validates a /users/track body. An object that is
// wrong is refused on its own (Track.Errors) while the others are accepted,
// as Braze does. A fatal problem (malformed JSON, a non-array field, more
// objects than lim allows, no objects at all, or no valid one) is a
// *brazen.Error of kind EINVALID with Braze's message. Event and purchase
// times after now are taken as now.
func ParseTrack(body []byte, lim TrackLimits, now time.Time) (*Track, error) {
	if !utf8.Valid(body) {
		return nil, &brazen.Error{Code: brazen.EINVALID, Message: "Bad Request",
			Details: []string{"the request body is not valid UTF-8"}}
	}
	// One validating pass; after it the body is walked with trackMembers and
	// trackElements, which rely on it being valid. DecodeJSON words the
	// error when it is not.
	if !json.Valid(body) {
		var v json.RawMessage
		if err := httpx.DecodeJSON(body, &v); err != nil {
			return nil, err
		}
	}
	var top [len(trackArrays)]json.RawMessage
	switch body = bytes.TrimSpace(body); body[0] {
	case '{':
		trackMembers(body, func(key string, val json.RawMessage) {
			if i := trackArrayIndex(key); i >= 0 {
				top[i] = val // the last of duplicate keys wins, as in encoding/json
			}
		})
	case 'n':
		// null: no arrays
	default:
		// Worded as httpx.DecodeJSON words it for other endpoints.
		kind := map[byte]string{'[': "array", '"': "string", 't': "bool", 'f': "bool"}[body[0]]
		if kind == "" {
			kind = "number"
		}
		return nil, &brazen.Error{Code: brazen.EINVALID, Message: "Bad Request",
			Details: []string{"the request body must be an object, not " + kind}}
	}
	tr := &Track{}
	has := [len(trackArrays)]*bool{&tr.HasAttributes, &tr.HasEvents, &tr.HasPurchases}
	accepted := [len(trackArrays)]*int{&tr.Attributes, &tr.Events, &tr.Purchases}
	var items [len(trackArrays)][]json.RawMessage
	total := 0
	for i, name := range trackArrays {
		raw := top[i]
		if raw == nil || trackNull(raw) {
			continue
		}
		if raw[0] != '[' {
			return nil, &brazen.Error{Code: brazen.EINVALID, Message: "Bad Request",
				Details: []string{fmt.Sprintf("'%s' must be an array of objects, not %s", name, trackKind(raw))}}
		}
		items[i] = trackElements(raw)
		*has[i] = true
		total += len(items[i])
		if lim.PerArray && lim.MaxObjects > 0 && len(items[i]) > lim.MaxObjects {
			return nil, &brazen.Error{Code: brazen.EINVALID, Message: trackMsgMaxInput,
				Details: []string{fmt.Sprintf("a request may hold at most %d objects in each of 'attributes', 'events' and 'purchases'; '%s' holds %d",
					lim.MaxObjects, name, len(items[i]))}}
		}
	}
	if !lim.PerArray && lim.MaxObjects > 0 && total > lim.MaxObjects {
		return nil, &brazen.Error{Code: brazen.EINVALID, Message: trackMsgMaxInput,
			Details: []string{fmt.Sprintf("a request may hold at most %d %s in 'attributes', 'events' and 'purchases' together; this one holds %d",
				lim.MaxObjects, trackPlural(lim.MaxObjects, "object", "objects"), total)}}
	}
	if total == 0 {
		return nil, &brazen.Error{Code: brazen.EINVALID, Message: trackMsgNoData}
	}

	tr.Ops = make([]Op, 0, total)
	now = now.UTC()
	// perUser counts accepted objects per user, in processing order, when
	// lim bounds them. Users are told apart by identifier alone: an object
	// by email and one by external_id may be the same profile, which only
	// the store knows.
	var perUser map[string]int
	if lim.MaxPerUser > 0 {
		perUser = make(map[string]int)
	}
	for i, name := range trackArrays {
		for j, item := range items[i] {
			op, msg := parseTrackObject(name, item, now)
			if msg == "" && perUser != nil {
				key := trackUserKey(op.ID)
				if perUser[key]++; perUser[key] > lim.MaxPerUser {
					op, msg = Op{}, fmt.Sprintf("a request may hold at most %d objects for one user", lim.MaxPerUser)
				}
			}
			if msg != "" {
				tr.Errors = append(tr.Errors, ObjectError{Type: msg, InputArray: name, Index: j})
				if op.Kind == "" {
					continue // refused whole; otherwise partly applied (see parseTrackAttributes)
				}
			}
			tr.Ops = append(tr.Ops, op)
			*accepted[i]++
		}
	}
	if len(tr.Ops) == 0 {
		details := make([]string, len(tr.Errors))
		for i, e := range tr.Errors {
			details[i] = fmt.Sprintf("%s[%d]: %s", e.InputArray, e.Index, e.Type)
		}
		return nil, &brazen.Error{Code: brazen.EINVALID, Message: trackMsgNoData, Details: details}
	}
	return tr, nil
}

// trackUserKey names the user an identifier points at, for counting.
func trackUserKey(id brazen.Identifier) string {
	switch {
	case id.ExternalID != "":
		return "x\x00" + id.ExternalID
	case id.Alias != nil:
		return "a\x00" + id.Alias.Label + "\x00" + id.Alias.Name
	case id.BrazeID != "":
		return "b\x00" + id.BrazeID
	case id.Email != "":
		return "e\x00" + strings.ToLower(id.Email)
	}
	return "p\x00" + id.Phone
}

// parseTrackObject parses one item of array. A non-empty message is the
// object's error.
func parseTrackObject(array string, item json.RawMessage, now time.Time) (Op, string) {
	if item[0] != '{' {
		return Op{}, fmt.Sprintf("each item of '%s' must be an object", array)
	}
	obj := make(map[string]json.RawMessage, 8)
	trackMembers(item, func(key string, val json.RawMessage) { obj[key] = val })
	switch array {
	case trackAttributes:
		return parseTrackAttributes(obj)
	case trackEvents:
		return parseTrackEvent(obj, now)
	}
	return parseTrackPurchase(obj, now)
}

// The keys of an attributes object that are not attributes.
var trackControlKeys = [...]string{"external_id", "user_alias", "braze_id", "_update_existing_only", "push_token_import", "_merge_objects"}

func parseTrackAttributes(obj map[string]json.RawMessage) (Op, string) {
	pti, msg := trackOptBool(obj, "push_token_import")
	if msg != "" {
		return Op{}, msg
	}
	if pti {
		switch {
		case trackPresent(obj, "external_id") || trackPresent(obj, "braze_id"):
			return Op{}, "'push_token_import' objects must not have an 'external_id' or 'braze_id'"
		case !trackPresent(obj, "push_tokens"):
			return Op{}, "'push_token_import' objects must have 'push_tokens'"
		}
		return Op{}, "'push_token_import' (anonymous push token import) is not supported by Brazen yet"
	}
	id, via, msg := parseTrackIdentifier(obj)
	if msg != "" {
		return Op{}, msg
	}
	ueo, msg := trackOptBool(obj, "_update_existing_only")
	if msg != "" {
		return Op{}, msg
	}
	if via == "user_alias" && !trackFalse(obj["_update_existing_only"]) {
		// Braze creates an alias-only profile only when asked to explicitly.
		ueo = true
	}
	merge, msg := trackOptBool(obj, "_merge_objects")
	if msg != "" {
		return Op{}, msg
	}
	for _, k := range trackControlKeys {
		delete(obj, k)
	}
	// profile.Parse returns an update together with an error when only the
	// object's nested attributes are invalid: Braze drops those and applies
	// the rest, and so the op is kept and the error reported.
	u, err := profile.Parse(obj, merge)
	if u == nil {
		return Op{}, err.Error()
	}
	op := Op{Kind: KindAttributes, ID: id, UpdateExistingOnly: ueo, Attrs: u}
	if err != nil {
		return op, err.Error()
	}
	return op, ""
}

func parseTrackEvent(obj map[string]json.RawMessage, now time.Time) (Op, string) {
	id, ueo, msg := trackEventIdentifier(obj)
	if msg != "" {
		return Op{}, msg
	}
	e := &Event{}
	if e.Name, msg = trackReqName(obj, "name"); msg != "" {
		return Op{}, msg
	}
	if e.Time, msg = trackReqTime(obj, now); msg != "" {
		return Op{}, msg
	}
	if e.AppID, msg = trackOptString(obj, "app_id"); msg != "" {
		return Op{}, msg
	}
	if e.Properties, msg = parseTrackProperties(obj["properties"], trackMaxEventNested); msg != "" {
		return Op{}, msg
	}
	return Op{Kind: KindEvent, ID: id, UpdateExistingOnly: ueo, Event: e}, ""
}

func parseTrackPurchase(obj map[string]json.RawMessage, now time.Time) (Op, string) {
	id, ueo, msg := trackEventIdentifier(obj)
	if msg != "" {
		return Op{}, msg
	}
	p := &Purchase{Quantity: 1}
	if p.ProductID, msg = trackReqName(obj, "product_id"); msg != "" {
		return Op{}, msg
	}
	cur, ok := obj["currency"]
	if !ok || trackNull(cur) {
		return Op{}, "'currency' is required"
	}
	s, ok := trackString(cur)
	if p.Currency = strings.ToUpper(s); !ok || !isISO4217(p.Currency) {
		return Op{}, "'currency' must be an ISO 4217 currency code"
	}
	price, ok := obj["price"]
	if !ok || trackNull(price) {
		return Op{}, "'price' is required"
	}
	if p.Price, ok = trackNumber(price); !ok {
		return Op{}, "'price' must be a number"
	}
	if q, ok := obj["quantity"]; ok && !trackNull(q) {
		f, ok := trackNumber(q)
		if !ok || f != math.Trunc(f) || f < 1 || f > trackMaxQuantity {
			return Op{}, fmt.Sprintf("'quantity' must be an integer from 1 to %d", trackMaxQuantity)
		}
		p.Quantity = int(f)
	}
	if p.Time, msg = trackReqTime(obj, now); msg != "" {
		return Op{}, msg
	}
	if p.AppID, msg = trackOptString(obj, "app_id"); msg != "" {
		return Op{}, msg
	}
	if p.Properties, msg = parseTrackProperties(obj["properties"], trackMaxPurchaseNested); msg != "" {
		return Op{}, msg
	}
	return Op{Kind: KindPurchase, ID: id, UpdateExistingOnly: ueo, Purchase: p}, ""
}

// trackEventIdentifier is the identifier and update-only mode of an event or
// purchase object: with a user_alias, update-only is always on.
func trackEventIdentifier(obj map[string]json.RawMessage) (brazen.Identifier, bool, string) {
	id, via, msg := parseTrackIdentifier(obj)
	if msg != "" {
		return id, false, msg
	}
	ueo, msg := trackOptBool(obj, "_update_existing_only")
	if msg != "" {
		return id, false, msg
	}
	return id, ueo || via == "user_alias", ""
}

// parseTrackIdentifier returns the object's identifier and the key it came from.
// external_id, user_alias and braze_id exclude each other; email, then
// phone, identify the user only when none of them is given (and are then
// attributes too). A null identifier counts as absent, since many clients
// send unset fields as null.
func parseTrackIdentifier(obj map[string]json.RawMessage) (brazen.Identifier, string, string) {
	var id brazen.Identifier
	var via string
	n := 0
	if raw, ok := obj["external_id"]; ok && !trackNull(raw) {
		s, ok := trackString(raw)
		switch {
		case !ok:
			return id, "", "'external_id' must be a string"
		case s == "":
			return id, "", "'external_id' must not be empty"
		case len(s) > trackMaxExternalID:
			return id, "", fmt.Sprintf("'external_id' must be at most %d bytes", trackMaxExternalID)
		}
		id.ExternalID, via = s, "external_id"
		n++
	}
	if raw, ok := obj["user_alias"]; ok && !trackNull(raw) {
		a, msg := parseTrackAlias(raw)
		if msg != "" {
			return id, "", msg
		}
		id.Alias, via = a, "user_alias"
		n++
	}
	if raw, ok := obj["braze_id"]; ok && !trackNull(raw) {
		s, ok := trackString(raw)
		switch {
		case !ok:
			return id, "", "'braze_id' must be a string"
		case s == "":
			return id, "", "'braze_id' must not be empty"
		}
		id.BrazeID, via = s, "braze_id"
		n++
	}
	if n > 1 {
		return brazen.Identifier{}, "", trackErrOneIdentifier
	}
	if n == 1 {
		return id, via, ""
	}
	for _, key := range [...]string{"email", "phone"} {
		raw, ok := obj[key]
		if !ok || trackNull(raw) {
			continue
		}
		s, ok := trackString(raw)
		switch {
		case !ok:
			return id, "", fmt.Sprintf("'%s' must be a string", key)
		case strings.TrimSpace(s) == "":
			return id, "", fmt.Sprintf("'%s' must not be empty", key)
		}
		if key == "email" {
			id.Email = s
		} else {
			id.Phone = s
		}
		return id, key, ""
	}
	return id, "", trackErrNoIdentifier
}

func parseTrackAlias(raw json.RawMessage) (*brazen.Alias, string) {
	const msgShape = "'user_alias' must be an object with 'alias_name' and 'alias_label'"
	if raw[0] != '{' {
		return nil, msgShape
	}
	m := make(map[string]json.RawMessage, 2)
	trackMembers(raw, func(key string, val json.RawMessage) { m[key] = val })
	var a brazen.Alias
	for _, f := range [...]struct {
		key string
		dst *string
	}{{"alias_name", &a.Name}, {"alias_label", &a.Label}} {
		v, ok := m[f.key]
		if !ok || trackNull(v) {
			return nil, msgShape
		}
		s, ok := trackString(v)
		switch {
		case !ok:
			return nil, fmt.Sprintf("'user_alias.%s' must be a string", f.key)
		case s == "":
			return nil, fmt.Sprintf("'user_alias.%s' must not be empty", f.key)
		case len(s) > trackMaxAliasPart:
			return nil, fmt.Sprintf("'user_alias.%s' must be at most %d bytes", f.key, trackMaxAliasPart)
		}
		*f.dst = s
	}
	return &a, ""
}

// trackReqName is a required non-empty string of at most 255 characters.
func trackReqName(obj map[string]json.RawMessage, key string) (string, string) {
	raw, ok := obj[key]
	if !ok || trackNull(raw) {
		return "", fmt.Sprintf("'%s' is required", key)
	}
	s, ok := trackString(raw)
	switch {
	case !ok:
		return "", fmt.Sprintf("'%s' must be a string", key)
	case s == "":
		return "", fmt.Sprintf("'%s' must not be empty", key)
	case utf8.RuneCountInString(s) > trackMaxName:
		return "", fmt.Sprintf("'%s' must be at most %d characters", key, trackMaxName)
	}
	return s, ""
}

// trackReqTime is the required "time" of an event or purchase, in UTC, no later
// than now.
func trackReqTime(obj map[string]json.RawMessage, now time.Time) (time.Time, string) {
	raw, ok := obj["time"]
	if !ok || trackNull(raw) {
		return time.Time{}, "'time' is required"
	}
	s, ok := trackString(raw)
	if !ok {
		return time.Time{}, "'time' must be a string in ISO 8601 format"
	}
	t, err := profile.ParseTime(s) // UTC
	if err != nil {
		return time.Time{}, "'time' must be a valid ISO 8601 time"
	}
	if t.After(now) {
		t = now
	}
	return t, ""
}

func trackOptString(obj map[string]json.RawMessage, key string) (string, string) {
	raw, ok := obj[key]
	if !ok || trackNull(raw) {
		return "", ""
	}
	s, ok := trackString(raw)
	if !ok {
		return "", fmt.Sprintf("'%s' must be a string", key)
	}
	return s, ""
}

func trackOptBool(obj map[string]json.RawMessage, key string) (bool, string) {
	raw, ok := obj[key]
	if !ok || trackNull(raw) {
		return false, ""
	}
	switch string(raw) {
	case "true":
		return true, ""
	case "false":
		return false, ""
	}
	return false, fmt.Sprintf("'%s' must be a boolean", key)
}

// parseTrackProperties validates an event's or purchase's properties and returns
// them as compact JSON (nil when absent or empty). maxNested bounds the
// payload when a value is an array or an object.
func parseTrackProperties(raw json.RawMessage, maxNested int) (json.RawMessage, string) {
	if len(raw) == 0 || trackNull(raw) {
		return nil, ""
	}
	if raw[0] != '{' {
		return nil, "'properties' must be an object"
	}
	nested, n, msg := false, 0, ""
	trackMembers(raw, func(key string, v json.RawMessage) {
		if msg != "" {
			return
		}
		if msg = trackPropertyKeyError(key); msg != "" {
			return
		}
		n++
		switch v[0] {
		case '[', '{':
			nested = true
		case '"':
			if s, _ := trackString(v); utf8.RuneCountInString(s) > trackMaxName {
				msg = fmt.Sprintf("'properties.%s' must be a string of at most %d characters", trackShorten(key), trackMaxName)
			}
		}
	})
	if msg != "" {
		return nil, msg
	}
	if n == 0 {
		return nil, ""
	}
	// A copy, compact: the ingest log keeps it, not the request body.
	var buf bytes.Buffer
	buf.Grow(len(raw))
	json.Compact(&buf, raw) // raw is valid JSON
	if nested && buf.Len() > maxNested {
		return nil, fmt.Sprintf("'properties' holding arrays or objects must be at most %d KB; these are %d bytes", maxNested>>10, buf.Len())
	}
	return buf.Bytes(), ""
}

func trackPropertyKeyError(key string) string {
	switch {
	case key == "":
		return "'properties' keys must not be empty"
	case utf8.RuneCountInString(key) > trackMaxName:
		return fmt.Sprintf("'properties' key '%s' must be at most %d characters", trackShorten(key), trackMaxName)
	case key[0] == '$':
		return fmt.Sprintf("'properties' key '%s' must not start with '$'", trackShorten(key))
	case key == "time", key == "event_name":
		return fmt.Sprintf("'properties' key '%s' is reserved", key)
	}
	return ""
}

// trackShorten keeps a key quoted in a message readable.
func trackShorten(s string) string {
	const max = 64
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max]) + "…"
}

// trackPresent reports whether obj has key with a non-null value.
func trackPresent(obj map[string]json.RawMessage, key string) bool {
	raw, ok := obj[key]
	return ok && !trackNull(raw)
}

func trackNull(raw json.RawMessage) bool  { return string(raw) == "null" }
func trackFalse(raw json.RawMessage) bool { return string(raw) == "false" }

// trackString decodes a JSON string. The body is valid UTF-8 (ParseTrack
// checked), so a string without escapes is its bytes between the quotes.
func trackString(raw json.RawMessage) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	if inner := raw[1 : len(raw)-1]; bytes.IndexByte(inner, '\\') < 0 {
		return string(inner), true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// trackNumber decodes a JSON number that fits a float64.
func trackNumber(raw json.RawMessage) (float64, bool) {
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	return f, err == nil
}

// trackKind names the JSON type of raw for messages.
func trackKind(raw json.RawMessage) string {
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

func trackPlural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// isISO4217 reports whether c is an ISO 4217 alphabetic code.
func isISO4217(c string) bool {
	if len(c) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if c[i] < 'A' || c[i] > 'Z' {
			return false
		}
	}
	return strings.Contains(iso4217Codes, " "+c+" ")
}

// iso4217Codes are ISO 4217's alphabetic codes (list one, 2025): the active
// ones, fund codes and X-codes, then codes withdrawn since 2015, which are
// kept so that historical purchases can be imported.
const iso4217Codes = " " +
	"AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL " +
	"BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF " +
	"DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG " +
	"HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK " +
	"LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN " +
	"NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR " +
	"SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY " +
	"TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XAG XAU XBA " +
	"XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XTS XUA XXX YER ZAR ZMW ZWG " +
	// withdrawn since 2015
	"ANG BYR CUC HRK LTL MRO SLL STD VEF ZWL "

func trackArrayIndex(key string) int {
	for i, name := range trackArrays {
		if key == name {
			return i
		}
	}
	return -1
}

// The body's JSON was validated once; these walk it without validating
// again, so they must only ever see valid JSON.

// trackMembers calls fn with each member of the valid JSON object b, in
// order.
func trackMembers(b []byte, fn func(key string, val json.RawMessage)) {
	i := trackSpace(b, 1) // after '{'
	for i < len(b) && b[i] == '"' {
		end := trackValueEnd(b, i)
		key, _ := trackString(b[i:end])
		i = trackSpace(b, end) + 1 // after ':'
		i = trackSpace(b, i)
		end = trackValueEnd(b, i)
		fn(key, b[i:end:end])
		i = trackSpace(b, end)
		if i < len(b) && b[i] == ',' {
			i = trackSpace(b, i+1)
		}
	}
}

// trackElements returns the elements of the valid JSON array b.
func trackElements(b []byte) []json.RawMessage {
	var out []json.RawMessage
	i := trackSpace(b, 1) // after '['
	for i < len(b) && b[i] != ']' {
		end := trackValueEnd(b, i)
		out = append(out, b[i:end:end])
		i = trackSpace(b, end)
		if i < len(b) && b[i] == ',' {
			i = trackSpace(b, i+1)
		}
	}
	return out
}

func trackSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// trackValueEnd returns the index just after the valid JSON value that
// starts at b[i].
func trackValueEnd(b []byte, i int) int {
	depth := 0
	for ; i < len(b); i++ {
		switch c := b[i]; c {
		case '"':
			for i++; b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
			if depth == 0 {
				return i + 1
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				return i + 1
			}
		default:
			if depth == 0 {
				// A number or a literal: it ends at a delimiter.
				for ; i < len(b); i++ {
					switch b[i] {
					case ',', '}', ']', ' ', '\t', '\n', '\r':
						return i
					}
				}
				return i
			}
		}
	}
	return i
}
