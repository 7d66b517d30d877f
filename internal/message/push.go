package message

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"time"
)

// Push payload limits, as Braze documents them. They are lower than the
// services' own (APNs 4 KB, FCM 4 KB) so that Braze's tracking data fits.
const (
	MaxApplePayload   = 1912
	MaxAndroidPayload = 4000
	// MaxAndroidTTL is FCM's longest time to live: 28 days, in seconds.
	MaxAndroidTTL = 2419200
	// maxCollapseID is APNs' limit on apns-collapse-id.
	maxCollapseID = 64
)

// Button actions. Braze lists OPEN_APP, URI, DEEP_LINK and CLOSE for iOS
// and OPEN_APP, URI and CLOSE for web push; Android's list is not in the
// reference and takes iOS's.
var (
	pushActions = []string{"OPEN_APP", "URI", "DEEP_LINK", "CLOSE"}
	webActions  = []string{"OPEN_APP", "URI", "CLOSE"}
)

// ApplePush is an apple_push message.
type ApplePush struct {
	MessageVariationID string
	// Alert is nil for a silent (content-available) push. A string alert
	// is its Body.
	Alert *AppleAlert
	Badge *int64 // nil: left unchanged; 0 clears it
	Sound string
	// Extra holds the custom keys sent next to "aps"; numbers are
	// json.Number.
	Extra             map[string]any
	ContentAvailable  bool
	InterruptionLevel string // "", passive, active, time-sensitive or critical
	RelevanceScore    *float64
	Expiry            time.Time // zero: none
	CustomURI         string
	UseWebview        bool // default true
	ThreadID          string
	AssetURL          string
	AssetFileType     string
	CollapseID        string
	// MutableContent is forced true with an AssetURL, which needs the
	// notification service extension.
	MutableContent             bool
	SendToMostRecentDeviceOnly bool
	Category                   string
	Buttons                    []AppleButton
	// APNsPriority is 1–10: 10 by default, 5 for a content-available push.
	APNsPriority int
}

// AppleAlert is the alert of an iOS push.
type AppleAlert struct {
	Body         string
	Title        string
	TitleLocKey  string
	TitleLocArgs []string
	ActionLocKey string
	LocKey       string
	LocArgs      []string
	Sound        string // live activities
}

// AppleButton is an iOS action button.
type AppleButton struct {
	ActionID   string
	Action     string // OPEN_APP (default), URI, DEEP_LINK or CLOSE
	URI        string
	UseWebview bool // default true
}

var (
	interruptionLevels = []string{"passive", "active", "time-sensitive", "critical"}
	assetFileTypes     = []string{"aif", "gif", "jpg", "m4a", "mp3", "mp4", "png", "wav"}
)

func parseApplePush(o *obj) (*ApplePush, error) {
	p := &ApplePush{}
	var err error
	p.MessageVariationID, _ = o.str("message_variation_id")
	if p.ContentAvailable, err = o.boolean("content-available", false); err != nil {
		return nil, err
	}
	if p.Alert, err = parseAppleAlert(o); err != nil {
		return nil, err
	}
	if p.Alert == nil && !p.ContentAvailable {
		return nil, badRequest("%s is required unless content-available is true", o.at("alert"))
	}
	if n, ok, err := o.integer("badge", 0, math.MaxInt32); err != nil {
		return nil, err
	} else if ok {
		p.Badge = &n
	}
	if p.Sound, err = o.str("sound"); err != nil {
		return nil, err
	}
	if p.Extra, err = pushExtra(o); err != nil {
		return nil, err
	}
	for _, k := range []string{"ab", "aps"} {
		if _, ok := p.Extra[k]; ok {
			return nil, brazeError(msgInvalidExtra, "%s must not have the key %q, which Braze reserves", o.at("extra"), k)
		}
	}
	if p.InterruptionLevel, err = o.str("interruption_level"); err != nil {
		return nil, err
	}
	if err := oneOf(o.at("interruption_level"), p.InterruptionLevel, interruptionLevels...); err != nil {
		return nil, err
	}
	if f, ok, err := o.number("relevance_score"); err != nil || (ok && (f < 0 || f > 1)) {
		return nil, badRequest("%s must be a number from 0 to 1", o.at("relevance_score"))
	} else if ok {
		p.RelevanceScore = &f
	}
	if p.Expiry, err = o.time("expiry"); err != nil {
		return nil, err
	}
	if p.CustomURI, err = o.str("custom_uri"); err != nil {
		return nil, err
	}
	if p.UseWebview, err = o.boolean("use_webview", true); err != nil {
		return nil, err
	}
	if p.ThreadID, err = o.str("notification_group_thread_id"); err != nil {
		return nil, err
	}
	if p.AssetURL, err = o.str("asset_url"); err != nil {
		return nil, err
	}
	if p.AssetFileType, err = o.str("asset_file_type"); err != nil {
		return nil, err
	}
	if err := oneOf(o.at("asset_file_type"), p.AssetFileType, assetFileTypes...); err != nil {
		return nil, err
	}
	if p.AssetURL != "" && p.AssetFileType == "" {
		return nil, badRequest("%s is required with asset_url", o.at("asset_file_type"))
	}
	if p.CollapseID, err = o.str("collapse_id"); err != nil {
		return nil, err
	}
	if len(p.CollapseID) > maxCollapseID {
		return nil, badRequest("%s must be at most %d bytes (the APNs limit)", o.at("collapse_id"), maxCollapseID)
	}
	if p.MutableContent, err = o.boolean("mutable_content", false); err != nil {
		return nil, err
	}
	p.MutableContent = p.MutableContent || p.AssetURL != ""
	if p.SendToMostRecentDeviceOnly, err = o.boolean("send_to_most_recent_device_only", false); err != nil {
		return nil, err
	}
	if p.Category, err = o.str("category"); err != nil {
		return nil, err
	}
	buttons, err := o.objects("buttons")
	if err != nil {
		return nil, err
	}
	for _, b := range buttons {
		btn := AppleButton{}
		if btn.ActionID, err = b.str("action_id"); err != nil {
			return nil, err
		}
		if btn.Action, btn.URI, err = buttonAction(b, pushActions); err != nil {
			return nil, err
		}
		if btn.UseWebview, err = b.boolean("use_webview", true); err != nil {
			return nil, err
		}
		p.Buttons = append(p.Buttons, btn)
	}
	p.APNsPriority = 10
	if p.ContentAvailable {
		p.APNsPriority = 5
	}
	if n, ok, err := o.integer("apns_priority", 1, 10); err != nil {
		return nil, err
	} else if ok {
		p.APNsPriority = int(n)
	}
	if n := len(p.APNsPayload()); n > MaxApplePayload {
		return nil, brazeError(msgAppleTooLong, "%s: the APNs payload would be %d bytes; the limit is %d", o.path, n, MaxApplePayload)
	}
	return p, nil
}

// parseAppleAlert reads an alert given as a string or as an alert object.
// An empty string or an object with no text is no alert.
func parseAppleAlert(o *obj) (*AppleAlert, error) {
	raw := o.get("alert")
	if raw == nil {
		return nil, nil
	}
	if kindOf(raw) == kindString {
		s, err := decodeString(o.at("alert"), raw)
		if err != nil || s == "" {
			return nil, err
		}
		return &AppleAlert{Body: s}, nil
	}
	if kindOf(raw) != kindObject {
		return nil, badRequest("%s must be a string or an alert object", o.at("alert"))
	}
	ao, err := asObject(o.at("alert"), raw)
	if err != nil {
		return nil, err
	}
	a := &AppleAlert{}
	for _, f := range []struct {
		key string
		dst *string
	}{
		{"body", &a.Body}, {"title", &a.Title}, {"title_loc_key", &a.TitleLocKey},
		{"action_loc_key", &a.ActionLocKey}, {"loc_key", &a.LocKey}, {"sound", &a.Sound},
	} {
		if *f.dst, err = ao.str(f.key); err != nil {
			return nil, err
		}
	}
	if a.TitleLocArgs, err = ao.strings("title_loc_args"); err != nil {
		return nil, err
	}
	if a.LocArgs, err = ao.strings("loc_args"); err != nil {
		return nil, err
	}
	if a.Body == "" && a.Title == "" && a.LocKey == "" && a.TitleLocKey == "" {
		return nil, nil
	}
	return a, nil
}

// pushExtra reads a push message's extra: Braze's "Invalid Extra Push
// Payload" when it is not an object.
func pushExtra(o *obj) (map[string]any, error) {
	m, ok := o.anyMap("extra")
	if !ok {
		return nil, brazeError(msgInvalidExtra, "%s must be an object of keys and values", o.at("extra"))
	}
	return m, nil
}

// buttonAction reads a button's action (default OPEN_APP) and its uri,
// required for URI and DEEP_LINK.
func buttonAction(b *obj, allowed []string) (action, uri string, err error) {
	if action, err = b.str("action"); err != nil {
		return "", "", err
	}
	if err = oneOf(b.at("action"), action, allowed...); err != nil {
		return "", "", err
	}
	if action == "" {
		action = "OPEN_APP"
	}
	if uri, err = b.str("uri"); err != nil {
		return "", "", err
	}
	if uri == "" && (action == "URI" || action == "DEEP_LINK") {
		return "", "", badRequest("%s is required for action %q", b.at("uri"), action)
	}
	return action, uri, nil
}

// APNsPayload is the JSON body Brazen sends to APNs for this push, before
// Liquid is rendered and without Braze's tracking data: "aps", the extras,
// and the keys Braze's iOS SDK reads (ab_uri and ab_use_webview for the
// click, ab.att for rich push). Expiry, CollapseID and APNsPriority travel as
// HTTP/2 headers, not in the body. Its length is what Braze's 1,912-byte
// limit is checked against.
func (p *ApplePush) APNsPayload() []byte {
	aps := map[string]any{}
	if a := p.Alert; a != nil {
		if a.Title == "" && a.TitleLocKey == "" && a.LocKey == "" && a.ActionLocKey == "" && a.TitleLocArgs == nil && a.LocArgs == nil {
			aps["alert"] = a.Body // APNs takes a plain string as the body
		} else {
			alert := map[string]any{}
			for k, v := range map[string]string{"body": a.Body, "title": a.Title, "title-loc-key": a.TitleLocKey,
				"action-loc-key": a.ActionLocKey, "loc-key": a.LocKey} {
				if v != "" {
					alert[k] = v
				}
			}
			if a.TitleLocArgs != nil {
				alert["title-loc-args"] = a.TitleLocArgs
			}
			if a.LocArgs != nil {
				alert["loc-args"] = a.LocArgs
			}
			aps["alert"] = alert
		}
	}
	if p.Badge != nil {
		aps["badge"] = *p.Badge
	}
	if p.Sound != "" {
		aps["sound"] = p.Sound
	}
	if p.ContentAvailable {
		aps["content-available"] = 1
	}
	if p.MutableContent {
		aps["mutable-content"] = 1
	}
	if p.Category != "" {
		aps["category"] = p.Category
	}
	if p.ThreadID != "" {
		aps["thread-id"] = p.ThreadID
	}
	if p.InterruptionLevel != "" {
		aps["interruption-level"] = p.InterruptionLevel
	}
	if p.RelevanceScore != nil {
		aps["relevance-score"] = *p.RelevanceScore
	}
	body := make(map[string]any, len(p.Extra)+4)
	for k, v := range p.Extra {
		body[k] = v
	}
	body["aps"] = aps
	if p.CustomURI != "" {
		body["ab_uri"] = p.CustomURI
		body["ab_use_webview"] = p.UseWebview
	}
	ab := map[string]any{}
	if p.AssetURL != "" {
		ab["att"] = map[string]string{"url": p.AssetURL, "type": p.AssetFileType}
	}
	if len(p.Buttons) > 0 {
		// Braze does not document where its SDK finds per-button URIs;
		// these keys are Brazen's and count toward the limit like any.
		btns := make([]map[string]any, len(p.Buttons))
		for i, b := range p.Buttons {
			btns[i] = map[string]any{"id": b.ActionID, "a": b.Action, "uri": b.URI, "use_webview": b.UseWebview}
		}
		ab["btns"] = btns
	}
	if len(ab) > 0 {
		body["ab"] = ab
	}
	return marshal(body)
}

// marshal encodes v as compact JSON without HTML escaping (which would
// grow "<" to six bytes), as the senders will.
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(v) // cannot fail: maps, strings, numbers and booleans only
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// AndroidPush is an android_push message.
type AndroidPush struct {
	MessageVariationID string
	// Alert and Title are required, except for a SendToSync (silent) push,
	// which has neither.
	Alert, Title               string
	Extra                      map[string]any
	NotificationChannelID      string
	Priority                   int    // −2..2, default 0
	AndroidPriority            string // "", normal or high (FCM's message priority)
	SendToSync                 bool
	CollapseKey                string
	Sound                      string
	CustomURI                  string
	UseWebview                 bool // default false
	SummaryText                string
	TimeToLive                 *int64 // seconds, at most MaxAndroidTTL
	NotificationID             *int64
	PushIconImageURL           string
	AccentColor                *int64 // 0xAARRGGBB or 0xRRGGBB
	SendToMostRecentDeviceOnly bool
	Buttons                    []AndroidButton
	ConversationData           *Conversation
}

// AndroidButton is an Android action button.
type AndroidButton struct {
	Text       string
	Action     string // OPEN_APP (default), URI, DEEP_LINK or CLOSE
	URI        string
	UseWebview bool
}

// Conversation is Android's conversation-style push.
type Conversation struct {
	ShortcutID    string
	ReplyPersonID string
	Messages      []ConversationMessage
	Persons       []ConversationPerson
}

// ConversationMessage is one line of a conversation push.
type ConversationMessage struct {
	Text      string
	Timestamp int64
	PersonID  string
}

// ConversationPerson is one participant of a conversation push.
type ConversationPerson struct {
	ID, Name string
}

func parseAndroidPush(o *obj) (*AndroidPush, error) {
	p := &AndroidPush{}
	var err error
	p.MessageVariationID, _ = o.str("message_variation_id")
	if p.SendToSync, err = o.boolean("send_to_sync", false); err != nil {
		return nil, err
	}
	if p.Alert, err = o.str("alert"); err != nil {
		return nil, err
	}
	if p.Title, err = o.str("title"); err != nil {
		return nil, err
	}
	switch {
	case p.SendToSync && (p.Alert != "" || p.Title != ""):
		return nil, badRequest("%s: a send_to_sync push must not have an alert or a title", o.path)
	case !p.SendToSync && p.Alert == "":
		return nil, badRequest("%s is required", o.at("alert"))
	case !p.SendToSync && p.Title == "":
		return nil, badRequest("%s is required", o.at("title"))
	}
	if p.Extra, err = pushExtra(o); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		key string
		dst *string
	}{
		{"notification_channel_id", &p.NotificationChannelID}, {"collapse_key", &p.CollapseKey},
		{"sound", &p.Sound}, {"custom_uri", &p.CustomURI}, {"summary_text", &p.SummaryText},
		{"push_icon_image_url", &p.PushIconImageURL}, {"android_priority", &p.AndroidPriority},
	} {
		if *f.dst, err = o.str(f.key); err != nil {
			return nil, err
		}
	}
	if err := oneOf(o.at("android_priority"), p.AndroidPriority, "normal", "high"); err != nil {
		return nil, err
	}
	n, _, err := o.integer("priority", -2, 2)
	if err != nil {
		return nil, err
	}
	p.Priority = int(n)
	if p.UseWebview, err = o.boolean("use_webview", false); err != nil {
		return nil, err
	}
	if p.SendToMostRecentDeviceOnly, err = o.boolean("send_to_most_recent_device_only", false); err != nil {
		return nil, err
	}
	if p.TimeToLive, err = optInteger(o, "time_to_live", 0, MaxAndroidTTL); err != nil {
		return nil, err
	}
	if p.NotificationID, err = optInteger(o, "notification_id", math.MinInt32, math.MaxInt32); err != nil {
		return nil, err
	}
	if p.AccentColor, err = optInteger(o, "accent_color", 0, math.MaxUint32); err != nil {
		return nil, err
	}
	buttons, err := o.objects("buttons")
	if err != nil {
		return nil, err
	}
	for _, b := range buttons {
		btn := AndroidButton{}
		if btn.Text, err = b.reqStr("text"); err != nil {
			return nil, err
		}
		if btn.Action, btn.URI, err = buttonAction(b, pushActions); err != nil {
			return nil, err
		}
		if btn.UseWebview, err = b.boolean("use_webview", p.UseWebview); err != nil {
			return nil, err
		}
		p.Buttons = append(p.Buttons, btn)
	}
	if c, err := o.object("conversation_data"); err != nil {
		return nil, err
	} else if c != nil {
		if p.ConversationData, err = parseConversation(c); err != nil {
			return nil, err
		}
	}
	if n := len(marshal(p.FCMData())); n > MaxAndroidPayload {
		return nil, brazeError(msgAndroidTooLong, "%s: the FCM data payload would be %d bytes; the limit is %d", o.path, n, MaxAndroidPayload)
	}
	return p, nil
}

func optInteger(o *obj, key string, min, max int64) (*int64, error) {
	n, ok, err := o.integer(key, min, max)
	if err != nil || !ok {
		return nil, err
	}
	return &n, nil
}

// parseConversation reads conversation_data. Every message must come from a
// listed person, and the reply person must be listed, or the SDK cannot
// draw it.
func parseConversation(o *obj) (*Conversation, error) {
	c := &Conversation{}
	var err error
	if c.ShortcutID, err = o.reqStr("shortcut_id"); err != nil {
		return nil, err
	}
	if c.ReplyPersonID, err = o.reqStr("reply_person_id"); err != nil {
		return nil, err
	}
	persons, err := o.objects("persons")
	if err != nil {
		return nil, err
	}
	if len(persons) == 0 {
		return nil, badRequest("%s must hold at least one person", o.at("persons"))
	}
	ids := map[string]bool{}
	for _, po := range persons {
		var p ConversationPerson
		if p.ID, err = po.reqStr("id"); err != nil {
			return nil, err
		}
		if p.Name, err = po.reqStr("name"); err != nil {
			return nil, err
		}
		ids[p.ID] = true
		c.Persons = append(c.Persons, p)
	}
	if !ids[c.ReplyPersonID] {
		return nil, badRequest("%s %q is not one of the persons", o.at("reply_person_id"), c.ReplyPersonID)
	}
	msgs, err := o.objects("messages")
	if err != nil {
		return nil, err
	}
	if len(msgs) == 0 {
		return nil, badRequest("%s must hold at least one message", o.at("messages"))
	}
	for _, mo := range msgs {
		var m ConversationMessage
		if m.Text, err = mo.reqStr("text"); err != nil {
			return nil, err
		}
		ts, ok, err := mo.integer("timestamp", 0, math.MaxInt64)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, badRequest("%s is required", mo.at("timestamp"))
		}
		m.Timestamp = ts
		if m.PersonID, err = mo.reqStr("person_id"); err != nil {
			return nil, err
		}
		if !ids[m.PersonID] {
			return nil, badRequest("%s %q is not one of the persons", mo.at("person_id"), m.PersonID)
		}
		c.Messages = append(c.Messages, m)
	}
	return c, nil
}

// FCMData is the data map Brazen sends to FCM for this push, keyed as
// Braze's Android SDK reads it, before Liquid is rendered and without
// Braze's tracking data. FCM data values are strings, so extras travel as
// one JSON string. CollapseKey, TimeToLive and AndroidPriority are FCM
// message options, not data. The length of this map as JSON is what
// Braze's 4,000-byte limit is checked against.
func (p *AndroidPush) FCMData() map[string]string {
	d := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			d[k] = v
		}
	}
	set("t", p.Title)
	set("a", p.Alert)
	if len(p.Extra) > 0 {
		d["extra"] = string(marshal(p.Extra))
	}
	if p.Priority != 0 {
		d["p"] = strconv.Itoa(p.Priority)
	}
	set("ab_nc", p.NotificationChannelID)
	set("sd", p.Sound)
	set("uri", p.CustomURI)
	if p.CustomURI != "" {
		d["ab_use_webview"] = strconv.FormatBool(p.UseWebview)
	}
	set("s", p.SummaryText)
	set("ab_li", p.PushIconImageURL)
	if p.NotificationID != nil {
		d["n"] = strconv.FormatInt(*p.NotificationID, 10)
	}
	if p.AccentColor != nil {
		d["ac"] = strconv.FormatInt(*p.AccentColor, 10)
	}
	for i, b := range p.Buttons {
		k := "ab_a" + strconv.Itoa(i) + "_"
		d[k+"t"] = b.Text
		d[k+"a"] = map[string]string{"OPEN_APP": "ab_open", "URI": "ab_uri", "DEEP_LINK": "ab_uri", "CLOSE": "ab_none"}[b.Action]
		set(k+"uri", b.URI)
		if b.URI != "" {
			d[k+"use_webview"] = strconv.FormatBool(b.UseWebview)
		}
	}
	if c := p.ConversationData; c != nil {
		d["ab_cp"] = "true"
		d["ab_c_si"] = c.ShortcutID
		d["ab_c_rpi"] = c.ReplyPersonID
		for i, m := range c.Messages {
			n := strconv.Itoa(i)
			d["ab_c_mt"+n], d["ab_c_mw"+n], d["ab_c_mp"+n] = m.Text, strconv.FormatInt(m.Timestamp, 10), m.PersonID
		}
		for i, pe := range c.Persons {
			n := strconv.Itoa(i)
			d["ab_c_pi"+n], d["ab_c_pn"+n] = pe.ID, pe.Name
		}
	}
	return d
}

// KindlePush is a kindle_push message (Amazon Device Messaging).
type KindlePush struct {
	MessageVariationID string
	Alert, Title       string
	Extra              map[string]any
	Priority           int // −2..2, default 0
	CollapseKey        string
	Sound              string
	CustomURI          string
}

func parseKindlePush(o *obj) (*KindlePush, error) {
	p := &KindlePush{}
	var err error
	if p.MessageVariationID, p.Alert, p.Title, p.Extra, err = alertTitleExtra(o); err != nil {
		return nil, err
	}
	n, _, err := o.integer("priority", -2, 2)
	if err != nil {
		return nil, err
	}
	p.Priority = int(n)
	for _, f := range []struct {
		key string
		dst *string
	}{{"collapse_key", &p.CollapseKey}, {"sound", &p.Sound}, {"custom_uri", &p.CustomURI}} {
		if *f.dst, err = o.str(f.key); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// WebPush is a web_push message.
type WebPush struct {
	MessageVariationID         string
	Alert, Title               string
	Extra                      map[string]any
	CustomURI                  string
	ImageURL                   string // the icon, 1:1
	LargeImageURL              string
	RequireInteraction         bool
	TimeToLive                 *int64 // seconds
	SendToMostRecentDeviceOnly bool
	Buttons                    []WebButton
}

// WebButton is a web push action button.
type WebButton struct {
	Text   string
	Action string // OPEN_APP (default), URI or CLOSE
	URI    string
}

func parseWebPush(o *obj) (*WebPush, error) {
	p := &WebPush{}
	var err error
	if p.MessageVariationID, p.Alert, p.Title, p.Extra, err = alertTitleExtra(o); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		key string
		dst *string
	}{{"custom_uri", &p.CustomURI}, {"image_url", &p.ImageURL}, {"large_image_url", &p.LargeImageURL}} {
		if *f.dst, err = o.str(f.key); err != nil {
			return nil, err
		}
	}
	if p.RequireInteraction, err = o.boolean("require_interaction", false); err != nil {
		return nil, err
	}
	if p.SendToMostRecentDeviceOnly, err = o.boolean("send_to_most_recent_device_only", false); err != nil {
		return nil, err
	}
	// Braze gives no maximum; Web Push services keep a message at most 28
	// days, like FCM.
	if p.TimeToLive, err = optInteger(o, "time_to_live", 0, MaxAndroidTTL); err != nil {
		return nil, err
	}
	buttons, err := o.objects("buttons")
	if err != nil {
		return nil, err
	}
	for _, b := range buttons {
		btn := WebButton{}
		if btn.Text, err = b.reqStr("text"); err != nil {
			return nil, err
		}
		if btn.Action, btn.URI, err = buttonAction(b, webActions); err != nil {
			return nil, err
		}
		p.Buttons = append(p.Buttons, btn)
	}
	return p, nil
}

// alertTitleExtra reads what the Kindle and web push objects share: the
// variation, a required alert and title, and the extra payload.
func alertTitleExtra(o *obj) (variation, alert, title string, extra map[string]any, err error) {
	variation, _ = o.str("message_variation_id")
	if alert, err = o.reqStr("alert"); err != nil {
		return
	}
	if title, err = o.reqStr("title"); err != nil {
		return
	}
	extra, err = pushExtra(o)
	return
}
