package message

import (
	"encoding/json"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Email is an email message.
type Email struct {
	MessageVariationID string
	AppID              string
	From               mail.Address // Name is never empty
	Subject            string
	// ReplyTo is nil for the workspace's default reply-to, or for none at
	// all when NoReplyTo is set (Braze's "NO_REPLY_TO").
	ReplyTo   *mail.Address
	NoReplyTo bool
	// BCC must be one of the workspace's BCC addresses, which the caller
	// checks.
	BCC             *mail.Address
	Body            string // empty only with an EmailTemplateID
	PlaintextBody   string // generated from Body when empty
	Preheader       string
	EmailTemplateID string
	Extras          map[string]string
	Headers         map[string]string
	ShouldInlineCSS *bool // nil: the workspace's setting
	Attachments     []Attachment
}

// Attachment is a file fetched from URL and attached to an email.
type Attachment struct {
	FileName            string // without extension: it is inferred from the URL or Content-Type
	URL                 string
	BasicAuthCredential string
}

// NoReplyTo is reply_to's value for "no reply-to address".
const NoReplyTo = "NO_REPLY_TO"

// reservedEmailHeaders are set from the email's own fields or by the
// sender; taking them from headers could address or restructure the
// message behind those fields' backs.
var reservedEmailHeaders = []string{"bcc", "cc", "content-transfer-encoding", "content-type", "date", "from",
	"mime-version", "reply-to", "return-path", "sender", "subject", "to"}

func parseEmail(o *obj) (*Email, error) {
	e := &Email{}
	var err error
	e.MessageVariationID, _ = o.str("message_variation_id")
	if e.AppID, err = o.reqStr("app_id"); err != nil {
		return nil, err
	}
	from, err := o.reqStr("from")
	if err != nil {
		return nil, err
	}
	a, ok := parseFrom(from)
	if !ok {
		return nil, badRequest("%s must be a display name and an address, as in \"Display Name <sender@example.com>\"", o.at("from"))
	}
	e.From = *a
	for _, f := range []struct {
		key string
		dst *string
	}{
		{"subject", &e.Subject}, {"body", &e.Body}, {"plaintext_body", &e.PlaintextBody},
		{"preheader", &e.Preheader}, {"email_template_id", &e.EmailTemplateID},
	} {
		if *f.dst, err = o.str(f.key); err != nil {
			return nil, err
		}
	}
	if e.Body == "" && e.EmailTemplateID == "" {
		return nil, badRequest("%s is required unless email_template_id is given", o.at("body"))
	}
	replyTo, err := o.str("reply_to")
	if err != nil {
		return nil, err
	}
	switch {
	case replyTo == NoReplyTo:
		e.NoReplyTo = true
	case replyTo != "":
		if e.ReplyTo, err = address(o.at("reply_to"), replyTo); err != nil {
			return nil, err
		}
	}
	if bcc, err := o.str("bcc"); err != nil {
		return nil, err
	} else if bcc != "" {
		if e.BCC, err = address(o.at("bcc"), bcc); err != nil {
			return nil, err
		}
	}
	if e.Extras, err = o.stringMap("extras"); err != nil {
		return nil, err
	}
	if e.Headers, err = o.stringMap("headers"); err != nil {
		return nil, err
	}
	for _, k := range sortedKeys(e.Headers) {
		v := e.Headers[k]
		path := mapKey(o.at("headers"), k)
		if !validEmailHeaderName(k) {
			return nil, badRequest("%s: %q is not a valid header name", path, k)
		}
		if slices.Contains(reservedEmailHeaders, strings.ToLower(k)) {
			return nil, badRequest("%s: the %s header is set from the email's own fields and cannot be given in headers", path, k)
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return nil, badRequest("%s must not contain line breaks", path)
		}
	}
	if b, err := o.boolean("should_inline_css", false); err != nil {
		return nil, err
	} else if o.has("should_inline_css") {
		e.ShouldInlineCSS = &b
	}
	atts, err := o.objects("attachments")
	if err != nil {
		return nil, err
	}
	for _, ao := range atts {
		var at Attachment
		if at.FileName, err = ao.reqStr("file_name"); err != nil {
			return nil, err
		}
		if strings.ContainsFunc(at.FileName, isControl) || strings.ContainsAny(at.FileName, `/\`) {
			return nil, badRequest("%s must be a file name, without control characters or slashes", ao.at("file_name"))
		}
		if at.URL, err = ao.reqStr("url"); err != nil {
			return nil, err
		}
		if err := checkURL(ao.at("url"), at.URL); err != nil {
			return nil, err
		}
		if at.BasicAuthCredential, err = ao.str("basic_auth_credential"); err != nil {
			return nil, err
		}
		e.Attachments = append(e.Attachments, at)
	}
	return e, nil
}

// parseFrom reads Braze's "Display Name <addr@domain>". A display name
// with RFC 5322 specials (a comma, a dot) is accepted unquoted, as people
// write it; the sender encodes it properly.
func parseFrom(s string) (*mail.Address, bool) {
	if strings.ContainsFunc(s, isControl) {
		return nil, false
	}
	a, err := mail.ParseAddress(s)
	if err == nil {
		return a, a.Name != "" && strings.Contains(s, "<")
	}
	s = strings.TrimSpace(s)
	i := strings.LastIndexByte(s, '<')
	if i <= 0 || !strings.HasSuffix(s, ">") {
		return nil, false
	}
	name := strings.TrimSpace(s[:i])
	if len(name) >= 2 && name[0] == '"' && name[len(name)-1] == '"' {
		name = name[1 : len(name)-1]
	}
	a, err = mail.ParseAddress(s[i:])
	if err != nil || name == "" {
		return nil, false
	}
	a.Name = name
	return a, true
}

// address reads an address with or without a display name.
func address(path, s string) (*mail.Address, error) {
	a, err := mail.ParseAddress(s)
	if err != nil || strings.ContainsFunc(s, isControl) {
		return nil, badRequest("%s must be an email address", path)
	}
	return a, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// validEmailHeaderName: RFC 5322 field names are printable ASCII other than
// the colon.
func validEmailHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; c < 0x21 || c > 0x7e || c == ':' {
			return false
		}
	}
	return true
}

// validHTTPHeaderName: RFC 9110 field names are tokens.
func validHTTPHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// hasLiquid reports whether s holds a Liquid tag or output, which is
// rendered per user before sending.
func hasLiquid(s string) bool { return strings.Contains(s, "{{") || strings.Contains(s, "{%") }

// checkURL checks an absolute http or https URL. A URL holding Liquid is
// only checked for its scheme, since its host may be rendered too; the
// sender checks the rendered URL.
func checkURL(path, s string) error {
	lower := strings.ToLower(s)
	if !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") {
		return badRequest("%s must be an absolute http or https URL", path)
	}
	if hasLiquid(s) {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return badRequest("%s must be an absolute http or https URL", path)
	}
	return nil
}

// Webhook is a webhook message.
type Webhook struct {
	MessageVariationID string
	URL                string
	RequestMethod      string // POST, PUT, DELETE or GET
	// RequestHeaders are sent as given; without a Content-Type the sender
	// infers one from the body.
	RequestHeaders map[string]string
	Body           string
}

// reservedWebhookHeaders are set by the HTTP client from the URL and the
// body; a caller's value would be wrong or break the request.
var reservedWebhookHeaders = []string{"connection", "content-length", "host", "transfer-encoding"}

func parseWebhook(o *obj) (*Webhook, error) {
	w := &Webhook{}
	var err error
	w.MessageVariationID, _ = o.str("message_variation_id")
	if w.URL, err = o.reqStr("url"); err != nil {
		return nil, err
	}
	if err := checkURL(o.at("url"), w.URL); err != nil {
		return nil, err
	}
	if w.RequestMethod, err = o.reqStr("request_method"); err != nil {
		return nil, err
	}
	if err := oneOf(o.at("request_method"), w.RequestMethod, "POST", "PUT", "DELETE", "GET"); err != nil {
		return nil, err
	}
	if w.RequestHeaders, err = o.stringMap("request_headers"); err != nil {
		return nil, err
	}
	for _, k := range sortedKeys(w.RequestHeaders) {
		v := w.RequestHeaders[k]
		path := mapKey(o.at("request_headers"), k)
		if !validHTTPHeaderName(k) {
			return nil, badRequest("%s: %q is not a valid header name", path, k)
		}
		if slices.Contains(reservedWebhookHeaders, strings.ToLower(k)) {
			return nil, badRequest("%s: the %s header is set by Brazen and cannot be given", path, k)
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return nil, badRequest("%s must not contain line breaks", path)
		}
	}
	if w.Body, err = o.str("body"); err != nil {
		return nil, err
	}
	return w, nil
}

// SMS is an SMS or MMS message.
type SMS struct {
	MessageVariationID  string
	SubscriptionGroupID string
	Body                string
	AppID               string
	// MediaItems are the URLs of MMS images.
	MediaItems            []string
	LinkShorteningEnabled bool
	// UserClickTrackingEnabled applies only with LinkShorteningEnabled.
	UserClickTrackingEnabled bool
}

func parseSMS(o *obj) (*SMS, error) {
	s := &SMS{}
	var err error
	s.MessageVariationID, _ = o.str("message_variation_id")
	if s.SubscriptionGroupID, err = o.reqStr("subscription_group_id"); err != nil {
		return nil, err
	}
	if s.Body, err = o.reqStr("body"); err != nil {
		return nil, err
	}
	if s.AppID, err = o.reqStr("app_id"); err != nil {
		return nil, err
	}
	items, err := o.array("media_items")
	if err != nil {
		return nil, err
	}
	// Braze documents media_items only as "an array" for image URLs;
	// items may be URL strings or objects with a "url".
	for i, raw := range items {
		path := index(o.at("media_items"), i)
		var u string
		switch kindOf(raw) {
		case kindString:
			u, err = decodeString(path, raw)
		case kindObject:
			var io *obj
			if io, err = asObject(path, raw); err == nil {
				u, err = io.reqStr("url")
				path = io.at("url")
			}
		default:
			err = badRequest("%s must be an image URL", path)
		}
		if err == nil {
			err = checkURL(path, u)
		}
		if err != nil {
			return nil, err
		}
		s.MediaItems = append(s.MediaItems, u)
	}
	if s.LinkShorteningEnabled, err = o.boolean("link_shortening_enabled", false); err != nil {
		return nil, err
	}
	if s.UserClickTrackingEnabled, err = o.boolean("user_click_tracking_enabled", false); err != nil {
		return nil, err
	}
	return s, nil
}

// Content Card types and limits.
const (
	CardClassic        = "CLASSIC"
	CardCaptionedImage = "CAPTIONED_IMAGE"
	CardBanner         = "BANNER"
	// MaxCardLifetime is how far ahead a card may expire.
	MaxCardLifetime = 30 * 24 * time.Hour
	// localTimeSlack covers the time zones (UTC−12 to UTC+14) in which a
	// local expire_at can fall.
	localTimeSlack = 14 * time.Hour
)

// ContentCard is a content_card message.
type ContentCard struct {
	MessageVariationID string
	Type               string // CLASSIC, CAPTIONED_IMAGE or BANNER
	Title              string
	Description        string
	Pinned             bool
	ImageURL           string // required for CAPTIONED_IMAGE and BANNER
	// Exactly one of TimeToLive (seconds) and ExpireAt is set.
	TimeToLive *int64
	ExpireAt   time.Time
	// ExpireInLocalTime reads ExpireAt's wall clock in each user's zone.
	ExpireInLocalTime bool
	IOSURI            string
	AndroidURI        string
	WebURI            string
	IOSUseWebview     bool // default true
	AndroidUseWebview bool // default true
	URIText           string
	Extra             map[string]any
}

func parseContentCard(o *obj, now time.Time) (*ContentCard, error) {
	c := &ContentCard{}
	var err error
	c.MessageVariationID, _ = o.str("message_variation_id")
	if c.Type, err = o.reqStr("type"); err != nil {
		return nil, err
	}
	if err := oneOf(o.at("type"), c.Type, CardClassic, CardCaptionedImage, CardBanner); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		key string
		dst *string
	}{
		{"title", &c.Title}, {"description", &c.Description}, {"image_url", &c.ImageURL},
		{"ios_uri", &c.IOSURI}, {"android_uri", &c.AndroidURI}, {"web_uri", &c.WebURI}, {"uri_text", &c.URIText},
	} {
		if *f.dst, err = o.str(f.key); err != nil {
			return nil, err
		}
	}
	if c.Description == "" {
		return nil, badRequest("%s is required", o.at("description"))
	}
	if c.ImageURL == "" && c.Type != CardClassic {
		return nil, badRequest("%s is required for a %s card", o.at("image_url"), c.Type)
	}
	for _, f := range []struct {
		key string
		def bool
		dst *bool
	}{
		{"pinned", false, &c.Pinned}, {"expire_in_local_time", false, &c.ExpireInLocalTime},
		{"ios_use_webview", true, &c.IOSUseWebview}, {"android_use_webview", true, &c.AndroidUseWebview},
	} {
		if *f.dst, err = o.boolean(f.key, f.def); err != nil {
			return nil, err
		}
	}
	extra, ok := o.anyMap("extra")
	if !ok {
		return nil, badRequest("%s must be an object of keys and values", o.at("extra"))
	}
	c.Extra = extra
	maxTTL := int64(MaxCardLifetime / time.Second)
	if c.TimeToLive, err = optInteger(o, "time_to_live", 1, maxTTL); err != nil {
		return nil, err
	}
	if c.ExpireAt, err = o.time("expire_at"); err != nil {
		return nil, err
	}
	switch {
	case c.TimeToLive == nil && c.ExpireAt.IsZero():
		return nil, badRequest("%s: give one of time_to_live and expire_at", o.path)
	case c.TimeToLive != nil && !c.ExpireAt.IsZero():
		return nil, badRequest("%s: give only one of time_to_live and expire_at", o.path)
	case !c.ExpireAt.IsZero():
		earliest, latest := now, now.Add(MaxCardLifetime)
		if c.ExpireInLocalTime {
			earliest, latest = earliest.Add(-localTimeSlack), latest.Add(localTimeSlack)
		}
		if !c.ExpireAt.After(earliest) {
			return nil, badRequest("%s must be in the future", o.at("expire_at"))
		}
		if c.ExpireAt.After(latest) {
			return nil, badRequest("%s must be at most 30 days ahead", o.at("expire_at"))
		}
	}
	return c, nil
}

// WhatsApp message types.
var whatsAppTypes = []string{"template_message", "text_response_message", "text_image_response_message",
	"quick_reply_response_message", "list_response_message", "flow_response_message"}

// WhatsApp is a whats_app message. Message is kept as sent, once checked
// against MessageType's shape.
type WhatsApp struct {
	MessageVariationID  string
	AppID               string
	SubscriptionGroupID string
	MessageType         string
	Message             json.RawMessage
}

func parseWhatsApp(o *obj) (*WhatsApp, error) {
	w := &WhatsApp{}
	var err error
	w.MessageVariationID, _ = o.str("message_variation_id")
	if w.AppID, err = o.reqStr("app_id"); err != nil {
		return nil, err
	}
	if w.SubscriptionGroupID, err = o.reqStr("subscription_group_id"); err != nil {
		return nil, err
	}
	if w.MessageType, err = o.reqStr("message_type"); err != nil {
		return nil, err
	}
	if err := oneOf(o.at("message_type"), w.MessageType, whatsAppTypes...); err != nil {
		return nil, err
	}
	m, err := o.object("message")
	if err == nil && m == nil {
		err = badRequest("%s is required", o.at("message"))
	}
	if err != nil {
		return nil, err
	}
	if err := checkWhatsAppMessage(w.MessageType, m); err != nil {
		return nil, err
	}
	w.Message = o.get("message")
	return w, nil
}

// WhatsApp's limits, which Braze passes on.
const (
	maxQuickReplyButtons = 3
	maxListRows          = 10
	maxFlowCaption       = 20
)

func checkWhatsAppMessage(typ string, m *obj) error {
	strs := func(required []string, optional ...string) error {
		for _, k := range required {
			if _, err := m.reqStr(k); err != nil {
				return err
			}
		}
		for _, k := range optional {
			if _, err := m.str(k); err != nil {
				return err
			}
		}
		return nil
	}
	switch typ {
	case "template_message":
		if err := strs([]string{"template_name", "template_language_code"}, "header_media_uri"); err != nil {
			return err
		}
		for _, v := range []struct {
			key string
			max int
		}{{"header_variables", 1}, {"body_variables", 0}, {"button_variables", 1}} {
			vars, err := m.stringMap(v.key)
			if err != nil {
				return err
			}
			if v.max > 0 && len(vars) > v.max {
				return badRequest("%s may hold at most %d variable", m.at(v.key), v.max)
			}
		}
	case "text_response_message":
		if err := strs([]string{"body"}); err != nil {
			return err
		}
		if _, err := m.boolean("preview_url", false); err != nil {
			return err
		}
	case "text_image_response_message":
		return strs([]string{"image_uri"}, "caption")
	case "quick_reply_response_message":
		if err := strs([]string{"body"}, "header_image_uri", "header_text", "footer"); err != nil {
			return err
		}
		if m.has("header_image_uri") && m.has("header_text") {
			return badRequest("%s: give at most one of header_image_uri and header_text", m.path)
		}
		buttons, err := m.objects("buttons")
		if err != nil {
			return err
		}
		if len(buttons) == 0 || len(buttons) > maxQuickReplyButtons {
			return badRequest("%s must hold 1 to %d buttons", m.at("buttons"), maxQuickReplyButtons)
		}
		for _, b := range buttons {
			if _, err := b.reqStr("text"); err != nil {
				return err
			}
		}
	case "list_response_message":
		if err := strs([]string{"body"}, "header", "footer"); err != nil {
			return err
		}
		list, err := m.object("list")
		if err == nil && list == nil {
			err = badRequest("%s is required", m.at("list"))
		}
		if err != nil {
			return err
		}
		if _, err := list.reqStr("list_button_text"); err != nil {
			return err
		}
		sections, err := list.objects("list_sections")
		if err != nil {
			return err
		}
		if len(sections) == 0 {
			return badRequest("%s must hold at least one section", list.at("list_sections"))
		}
		rows := 0
		for _, s := range sections {
			if _, err := s.str("section_title"); err != nil {
				return err
			}
			rs, err := s.objects("list_rows")
			if err != nil {
				return err
			}
			if len(rs) == 0 {
				return badRequest("%s must hold at least one row", s.at("list_rows"))
			}
			for _, r := range rs {
				if _, err := r.reqStr("row_title"); err != nil {
					return err
				}
				if _, err := r.str("row_description"); err != nil {
					return err
				}
			}
			rows += len(rs)
		}
		if rows > maxListRows {
			return badRequest("%s hold %d rows in all; the limit is %d", list.at("list_sections"), rows, maxListRows)
		}
	case "flow_response_message":
		if err := strs([]string{"body"}, "header_text", "footer"); err != nil {
			return err
		}
		fb, err := m.object("flow_button")
		if err == nil && fb == nil {
			err = badRequest("%s is required", m.at("flow_button"))
		}
		if err != nil {
			return err
		}
		caption, err := fb.reqStr("caption")
		if err != nil {
			return err
		}
		if utf8.RuneCountInString(caption) > maxFlowCaption {
			return badRequest("%s must be at most %d characters", fb.at("caption"), maxFlowCaption)
		}
		if _, err := fb.reqStr("flow_id"); err != nil {
			return err
		}
		if _, err := m.boolean("generate_custom_attribute", false); err != nil {
			return err
		}
	}
	return nil
}
