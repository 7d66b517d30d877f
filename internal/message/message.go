// Package message parses and validates the body of Braze's POST
// /messages/send (and POST /sends/id/create) into typed values. It sends
// nothing: the handler decides what to do with a Send, and delivery belongs
// to the channels.
//
// Every problem is a *brazen.Error of kind EINVALID (HTTP 400). Its Message
// is Braze's documented text where Braze documents one ("No Recipients",
// "Message Variant Unspecified", "Apple Push Length Exceeded", …) and
// "Bad Request" otherwise; its Details say what exactly is wrong and name
// the field by its path in the body ("messages.email.from must be a
// string"), so clients that print Braze's message keep working and people
// reading the body find the cause.
//
// Checks run in a fixed order and the first failure is returned, so the same
// body always gets the same answer: the body, the top-level fields (the
// audience among them), the recipients, the keys of messages, every
// message's message_variation_id, then each message's own fields in the
// order Braze documents the keys (apple_push … whats_app). Nothing is
// checked against stored data (apps, campaigns, segments, users): that is
// the caller's.
package message

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/httpx"
)

// Limits of a send.
const (
	// MaxRecipients bounds external_user_ids and user_aliases together.
	MaxRecipients = 50
	// MaxAliasBytes bounds alias_name and alias_label, as in /users/*.
	MaxAliasBytes = 236
	// MaxSendIDLength bounds a send_id, which Braze documents as ASCII
	// only and at most 64 characters.
	MaxSendIDLength = 64
)

// Values of recipient_subscription_state.
const (
	SubscriptionOptedIn    = "opted_in"
	SubscriptionSubscribed = "subscribed" // the default: subscribed or opted in
	SubscriptionAll        = "all"        // unsubscribed users too, for transactional messages
)

// Braze's documented messages for a refused send.
const (
	msgNoRecipients   = "No Recipients"
	msgTooManyIDs     = "The max number of external_ids and aliases per request was exceeded"
	msgNoMessage      = "No message to send"
	msgVariantMissing = "Message Variant Unspecified"
	msgInvalidExtra   = "Invalid Extra Push Payload"
	msgAppleTooLong   = "Apple Push Length Exceeded"
	msgAndroidTooLong = "Android Push Length Exceeded"
)

const recipientFieldsNames = "segment_id, external_user_ids, user_aliases or audience"

// Send is a validated /messages/send request.
type Send struct {
	// Broadcast is true for a send to a whole segment or audience; then
	// ExternalUserIDs and UserAliases are empty.
	Broadcast bool
	// ExternalUserIDs and UserAliases name the recipients, in request
	// order with repeats removed (a user gets one message). With a segment
	// or audience, only those of them in it receive the message.
	ExternalUserIDs []string
	UserAliases     []brazen.Alias
	// SegmentID is kept as sent; Brazen has no segments yet, which the
	// caller answers.
	SegmentID string
	// Audience is the connected-audience filter, nil when not given.
	Audience *Audience
	// CampaignID ties the send to a campaign's statistics; with it every
	// message has a MessageVariationID.
	CampaignID string
	SendID     string
	// OverrideFrequencyCapping bypasses the campaign's frequency caps.
	OverrideFrequencyCapping bool
	// RecipientSubscriptionState is one of the Subscription* values,
	// SubscriptionSubscribed when not given.
	RecipientSubscriptionState string
	// Messages holds at least one message.
	Messages Messages
}

// Messages holds one message per channel; nil channels are not sent.
type Messages struct {
	ApplePush   *ApplePush
	AndroidPush *AndroidPush
	KindlePush  *KindlePush
	WebPush     *WebPush
	Email       *Email
	ContentCard *ContentCard
	SMS         *SMS
	Webhook     *Webhook
	WhatsApp    *WhatsApp
}

// Parse parses and validates a /messages/send body. now is the time
// relative to which content-card expiry is checked. Fields Braze does not
// document for this endpoint, such as the legacy api_key, are ignored.
func Parse(body []byte, now time.Time) (*Send, error) {
	root, err := decodeBody(body)
	if err != nil {
		return nil, err
	}
	s := &Send{RecipientSubscriptionState: SubscriptionSubscribed}
	if err := s.parseTop(root); err != nil {
		return nil, err
	}
	if err := s.parseRecipients(root); err != nil {
		return nil, err
	}
	if err := s.parseMessages(root, now); err != nil {
		return nil, err
	}
	return s, nil
}

// decodeBody decodes a request body that must be a JSON object.
func decodeBody(body []byte) (*obj, error) {
	if !utf8.Valid(body) {
		// encoding/json would turn invalid bytes into U+FFFD silently,
		// sending text the caller never wrote.
		return nil, badRequest("the request body is not valid UTF-8")
	}
	var m map[string]json.RawMessage
	if err := httpx.DecodeJSON(body, &m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, badRequest("the request body must be a JSON object")
	}
	return &obj{m: m}, nil
}

// parseTop reads the scalar top-level fields.
func (s *Send) parseTop(root *obj) error {
	var err error
	if s.Broadcast, err = root.boolean("broadcast", false); err != nil {
		return err
	}
	if s.SegmentID, err = root.str("segment_id"); err != nil {
		return err
	}
	if s.CampaignID, err = root.str("campaign_id"); err != nil {
		return err
	}
	if s.SendID, err = root.str("send_id"); err != nil {
		return err
	}
	if err := checkSendID("send_id", s.SendID); err != nil {
		return err
	}
	if s.OverrideFrequencyCapping, err = root.boolean("override_frequency_capping", false); err != nil {
		return err
	}
	state, err := root.str("recipient_subscription_state")
	if err != nil {
		return err
	}
	if err := oneOf("recipient_subscription_state", state, SubscriptionOptedIn, SubscriptionSubscribed, SubscriptionAll); err != nil {
		return err
	}
	if state != "" {
		s.RecipientSubscriptionState = state
	}
	if raw := root.get("audience"); raw != nil {
		if s.Audience, err = parseAudience(raw); err != nil {
			return err
		}
	}
	return nil
}

// parseRecipients reads external_user_ids and user_aliases and applies the
// targeting rules.
func (s *Send) parseRecipients(root *obj) error {
	ids, err := root.array("external_user_ids")
	if err != nil {
		return err
	}
	aliases, err := root.array("user_aliases")
	if err != nil {
		return err
	}
	// Counted before the items are read, so a huge list is refused
	// without decoding it; repeats count, as the request holds them.
	if n := len(ids) + len(aliases); n > MaxRecipients {
		return brazeError(msgTooManyIDs, "external_user_ids and user_aliases hold %d users together; the limit is %d", n, MaxRecipients)
	}
	seenID := make(map[string]bool, len(ids))
	for i, raw := range ids {
		id, err := decodeString(index("external_user_ids", i), raw)
		if err == nil && id == "" {
			err = badRequest("%s must not be empty", index("external_user_ids", i))
		}
		if err != nil {
			return err
		}
		if !seenID[id] {
			seenID[id] = true
			s.ExternalUserIDs = append(s.ExternalUserIDs, id)
		}
	}
	seenAlias := make(map[brazen.Alias]bool, len(aliases))
	for i, raw := range aliases {
		a, err := parseAlias(index("user_aliases", i), raw)
		if err != nil {
			return err
		}
		if !seenAlias[a] {
			seenAlias[a] = true
			s.UserAliases = append(s.UserAliases, a)
		}
	}

	users := len(s.ExternalUserIDs)+len(s.UserAliases) > 0
	if !users && s.SegmentID == "" && s.Audience == nil {
		return brazeError(msgNoRecipients, "give at least one of %s", recipientFieldsNames)
	}
	if s.Broadcast && users {
		return badRequest("broadcast must not be true when external_user_ids or user_aliases name users: a broadcast goes to the whole segment or audience")
	}
	if !s.Broadcast && !users {
		return badRequest("broadcast must be true to send to a whole segment or audience without naming users in external_user_ids or user_aliases")
	}
	return nil
}

func parseAlias(path string, raw json.RawMessage) (brazen.Alias, error) {
	o, err := asObject(path, raw)
	if err != nil {
		return brazen.Alias{}, err
	}
	var a brazen.Alias
	if a.Name, err = o.reqStr("alias_name"); err != nil {
		return a, err
	}
	if a.Label, err = o.reqStr("alias_label"); err != nil {
		return a, err
	}
	if len(a.Name) > MaxAliasBytes || len(a.Label) > MaxAliasBytes {
		return a, badRequest("%s: alias_name and alias_label must be at most %d bytes", path, MaxAliasBytes)
	}
	return a, nil
}

// Keys of the messages object, in the order they are checked (Braze's
// documentation order).
const (
	keyApplePush   = "apple_push"
	keyAndroidPush = "android_push"
	keyKindlePush  = "kindle_push"
	keyWebPush     = "web_push"
	keyEmail       = "email"
	keyContentCard = "content_card"
	keySMS         = "sms"
	keyWebhook     = "webhook"
	keyWhatsApp    = "whats_app"
)

var messageKeys = []string{keyApplePush, keyAndroidPush, keyKindlePush, keyWebPush, keyEmail, keyContentCard, keySMS, keyWebhook, keyWhatsApp}

// refusedKeys are message kinds Braze once had or has elsewhere, with why
// they are refused here.
var refusedKeys = map[string]string{
	"in_app_message":         "in-app messages cannot be sent through the messaging API; Braze sends them only from dashboard and API-triggered campaigns",
	"windows_phone8_push":    "Windows push is no longer supported by Braze",
	"windows_universal_push": "Windows push is no longer supported by Braze",
}

func (s *Send) parseMessages(root *obj, now time.Time) error {
	msgs, err := root.object("messages")
	if err != nil {
		return err
	}
	var keys []string
	if msgs != nil {
		for k := range msgs.m {
			if msgs.has(k) {
				keys = append(keys, k)
			}
		}
	}
	if len(keys) == 0 {
		return brazeError(msgNoMessage, "messages must hold at least one of %s", strings.Join(messageKeys, ", "))
	}
	slices.Sort(keys) // for a deterministic choice among several bad keys
	for _, k := range keys {
		if why, ok := refusedKeys[k]; ok {
			return badRequest("messages.%s: %s", k, why)
		}
		if !slices.Contains(messageKeys, k) {
			return badRequest("messages.%s is not a message type; use %s", k, strings.Join(messageKeys, ", "))
		}
	}
	// The variations are checked for every message before any message's
	// own fields: a missing one is a fault of the request as a whole.
	objs := make(map[string]*obj, len(keys))
	for _, k := range messageKeys {
		raw := msgs.get(k)
		if raw == nil {
			continue
		}
		o, err := asObject(msgs.at(k), raw)
		if err != nil {
			return err
		}
		variation, err := o.str("message_variation_id")
		if err != nil {
			return err
		}
		if s.CampaignID != "" && variation == "" {
			return brazeError(msgVariantMissing, "%s needs a message_variation_id, since campaign_id is given", o.path)
		}
		objs[k] = o
	}
	for _, k := range messageKeys {
		o := objs[k]
		if o == nil {
			continue
		}
		var err error
		m := &s.Messages
		switch k {
		case keyApplePush:
			m.ApplePush, err = parseApplePush(o)
		case keyAndroidPush:
			m.AndroidPush, err = parseAndroidPush(o)
		case keyKindlePush:
			m.KindlePush, err = parseKindlePush(o)
		case keyWebPush:
			m.WebPush, err = parseWebPush(o)
		case keyEmail:
			m.Email, err = parseEmail(o)
		case keyContentCard:
			m.ContentCard, err = parseContentCard(o, now)
		case keySMS:
			m.SMS, err = parseSMS(o)
		case keyWebhook:
			m.Webhook, err = parseWebhook(o)
		case keyWhatsApp:
			m.WhatsApp, err = parseWhatsApp(o)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// checkSendID applies Braze's send_id rule: ASCII only, at most 64
// characters. Braze does not say which ASCII; Brazen takes the printable
// characters other than space, so an id can go in a query string or a log
// line unchanged and cannot differ from another only by invisible bytes.
func checkSendID(path, id string) error {
	if len(id) > MaxSendIDLength {
		return badRequest("%s must be at most %d characters", path, MaxSendIDLength)
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return badRequest("%s must hold only printable ASCII characters other than space", path)
		}
	}
	return nil
}

// ParseSendIDCreate parses a /sends/id/create body. campaign_id is required;
// send_id is optional ("" when not given: the caller makes one) and follows
// the same rule as in /messages/send.
func ParseSendIDCreate(body []byte) (campaignID, sendID string, err error) {
	root, err := decodeBody(body)
	if err != nil {
		return "", "", err
	}
	if campaignID, err = root.reqStr("campaign_id"); err != nil {
		return "", "", err
	}
	if sendID, err = root.str("send_id"); err != nil {
		return "", "", err
	}
	if err := checkSendID("send_id", sendID); err != nil {
		return "", "", err
	}
	return campaignID, sendID, nil
}

// AudienceKey names the audience of a broadcast for Braze's per-audience
// rate limit (10 per minute): two requests share it when their campaign,
// segment and connected audience are the same. Filters are compared by
// meaning, not by spelling (key order, whitespace and date formats do not
// matter).
func (s *Send) AudienceKey() string {
	var b strings.Builder
	b.WriteString(s.CampaignID)
	b.WriteByte(0)
	b.WriteString(s.SegmentID)
	b.WriteByte(0)
	if s.Audience != nil {
		j, _ := json.Marshal(s.Audience) // cannot fail: only strings, numbers, booleans and times
		b.Write(j)
	}
	return b.String()
}
