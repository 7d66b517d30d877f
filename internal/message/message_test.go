package message

import (
	"encoding/json"
	"errors"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/google/go-cmp/cmp"
)

var now = time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)

// hook is a valid webhook message, for cases about something else.
const hook = `"webhook":{"url":"https://example.com/hook","request_method":"POST"}`

// toUsers is a send to one user with the given messages.
func toUsers(msgs string) string { return `{"external_user_ids":["u1"],"messages":{` + msgs + `}}` }

// with is a send with the given top-level fields and messages.
func with(top, msgs string) string { return `{` + top + `,"messages":{` + msgs + `}}` }

func ids(n int) string {
	l := make([]string, n)
	for i := range l {
		l[i] = `"u` + strings.Repeat("x", i) + `"`
	}
	return `"external_user_ids":[` + strings.Join(l, ",") + `]`
}

func aliases(n int) string {
	l := make([]string, n)
	for i := range l {
		l[i] = `{"alias_name":"n` + strings.Repeat("x", i) + `","alias_label":"l"}`
	}
	return `"user_aliases":[` + strings.Join(l, ",") + `]`
}

func nested(depth int) string {
	s := `{"push_subscription_status":{"comparison":"is","value":"opted_in"}}`
	for range depth - 1 {
		s = `{"AND":[` + s + `]}`
	}
	return s
}

// failures are bodies Parse refuses, with the exact message and detail.
var failures = []struct {
	name, body, message, detail string
}{
	// The body.
	{"not utf-8", "{\"segment_id\":\"\xff\"}", "Bad Request", "the request body is not valid UTF-8"},
	{"malformed", `{"broadcast":`, "Bad Request", "malformed JSON: the body ends early, after 13 bytes"},
	{"empty", ``, "Bad Request", "the request body is empty; expected a JSON object"},
	{"array", `[]`, "Bad Request", "the request body must be an object, not array"},
	{"null", `null`, "Bad Request", "the request body must be a JSON object"},
	{"trailing data", `{} {}`, "Bad Request", "unexpected data after the JSON value, which ends at byte 2"},

	// Top-level fields.
	{"broadcast type", with(`"broadcast":"yes","segment_id":"s"`, hook), "Bad Request", "broadcast must be a boolean"},
	{"ids type", with(`"external_user_ids":"u1"`, hook), "Bad Request", "external_user_ids must be an array"},
	{"id type", with(`"external_user_ids":["a",1]`, hook), "Bad Request", "external_user_ids[1] must be a string"},
	{"id empty", with(`"external_user_ids":[""]`, hook), "Bad Request", "external_user_ids[0] must not be empty"},
	{"aliases type", with(`"user_aliases":{}`, hook), "Bad Request", "user_aliases must be an array"},
	{"alias not object", with(`"user_aliases":["n"]`, hook), "Bad Request", "user_aliases[0] must be an object"},
	{"alias label missing", with(`"user_aliases":[{"alias_name":"n"}]`, hook), "Bad Request", "user_aliases[0].alias_label is required"},
	{"alias name type", with(`"user_aliases":[{"alias_name":1,"alias_label":"l"}]`, hook), "Bad Request", "user_aliases[0].alias_name must be a string"},
	{"alias too long", with(`"user_aliases":[{"alias_name":"`+strings.Repeat("n", 237)+`","alias_label":"l"}]`, hook),
		"Bad Request", "user_aliases[0]: alias_name and alias_label must be at most 236 bytes"},
	{"segment type", with(`"segment_id":5,"broadcast":true`, hook), "Bad Request", "segment_id must be a string"},
	{"campaign type", with(`"campaign_id":[],"external_user_ids":["u"]`, hook), "Bad Request", "campaign_id must be a string"},
	{"send_id space", with(`"send_id":"a b","external_user_ids":["u"]`, hook), "Bad Request", "send_id must hold only printable ASCII characters other than space"},
	{"send_id non-ascii", with(`"send_id":"é","external_user_ids":["u"]`, hook), "Bad Request", "send_id must hold only printable ASCII characters other than space"},
	{"send_id long", with(`"send_id":"`+strings.Repeat("a", 65)+`","external_user_ids":["u"]`, hook), "Bad Request", "send_id must be at most 64 characters"},
	{"override type", with(`"override_frequency_capping":1,"external_user_ids":["u"]`, hook), "Bad Request", "override_frequency_capping must be a boolean"},
	{"subscription state", with(`"recipient_subscription_state":"everyone","external_user_ids":["u"]`, hook),
		"Bad Request", `recipient_subscription_state must be one of "opted_in", "subscribed", "all", not "everyone"`},

	// Recipients and broadcast.
	{"no recipients", `{"messages":{` + hook + `}}`, "No Recipients", "give at least one of segment_id, external_user_ids, user_aliases or audience"},
	{"empty recipients", with(`"external_user_ids":[],"user_aliases":[],"segment_id":""`, hook), "No Recipients",
		"give at least one of segment_id, external_user_ids, user_aliases or audience"},
	{"null recipients", with(`"external_user_ids":null,"audience":null`, hook), "No Recipients",
		"give at least one of segment_id, external_user_ids, user_aliases or audience"},
	{"51 ids", with(ids(51), hook), "The max number of external_ids and aliases per request was exceeded",
		"external_user_ids and user_aliases hold 51 users together; the limit is 50"},
	{"30 ids and 21 aliases", with(ids(30)+","+aliases(21), hook), "The max number of external_ids and aliases per request was exceeded",
		"external_user_ids and user_aliases hold 51 users together; the limit is 50"},
	{"51 repeated ids", with(`"external_user_ids":[`+strings.Repeat(`"u",`, 50)+`"u"]`, hook), "The max number of external_ids and aliases per request was exceeded",
		"external_user_ids and user_aliases hold 51 users together; the limit is 50"},
	{"broadcast with users", with(`"broadcast":true,"segment_id":"s","external_user_ids":["u"]`, hook), "Bad Request",
		"broadcast must not be true when external_user_ids or user_aliases name users: a broadcast goes to the whole segment or audience"},
	{"segment without broadcast", with(`"segment_id":"s"`, hook), "Bad Request",
		"broadcast must be true to send to a whole segment or audience without naming users in external_user_ids or user_aliases"},
	{"audience without broadcast", with(`"broadcast":false,"audience":{"last_used_app":{"comparison":"after","value":"2026-01-01"}}`, hook), "Bad Request",
		"broadcast must be true to send to a whole segment or audience without naming users in external_user_ids or user_aliases"},

	// The messages object.
	{"no messages", `{"external_user_ids":["u"]}`, "No message to send",
		"messages must hold at least one of apple_push, android_push, kindle_push, web_push, email, content_card, sms, webhook, whats_app"},
	{"empty messages", toUsers(``), "No message to send",
		"messages must hold at least one of apple_push, android_push, kindle_push, web_push, email, content_card, sms, webhook, whats_app"},
	{"null messages", toUsers(`"email":null,"sms":null`), "No message to send",
		"messages must hold at least one of apple_push, android_push, kindle_push, web_push, email, content_card, sms, webhook, whats_app"},
	{"messages array", `{"external_user_ids":["u"],"messages":[]}`, "Bad Request", "messages must be an object"},
	{"in-app message", toUsers(hook + `,"in_app_message":{"message":"hi"}`), "Bad Request",
		"messages.in_app_message: in-app messages cannot be sent through the messaging API; Braze sends them only from dashboard and API-triggered campaigns"},
	{"windows push", toUsers(`"windows_phone8_push":{"alert":"hi"}`), "Bad Request", "messages.windows_phone8_push: Windows push is no longer supported by Braze"},
	{"unknown message", toUsers(hook + `,"fax":{}`), "Bad Request",
		"messages.fax is not a message type; use apple_push, android_push, kindle_push, web_push, email, content_card, sms, webhook, whats_app"},
	{"message not object", toUsers(`"webhook":"https://example.com"`), "Bad Request", "messages.webhook must be an object"},
	{"variant unspecified", with(`"campaign_id":"c","external_user_ids":["u"]`, hook), "Message Variant Unspecified",
		"messages.webhook needs a message_variation_id, since campaign_id is given"},
	{"variant unspecified second", with(`"campaign_id":"c","external_user_ids":["u"]`, `"sms":{"message_variation_id":"v"},`+hook), "Message Variant Unspecified",
		"messages.webhook needs a message_variation_id, since campaign_id is given"},
	{"variant type", toUsers(`"webhook":{"message_variation_id":7}`), "Bad Request", "messages.webhook.message_variation_id must be a string"},

	// apple_push.
	{"apple no alert", toUsers(`"apple_push":{"badge":1}`), "Bad Request", "messages.apple_push.alert is required unless content-available is true"},
	{"apple empty alert", toUsers(`"apple_push":{"alert":""}`), "Bad Request", "messages.apple_push.alert is required unless content-available is true"},
	{"apple alert object without text", toUsers(`"apple_push":{"alert":{"sound":"x"}}`), "Bad Request", "messages.apple_push.alert is required unless content-available is true"},
	{"apple alert type", toUsers(`"apple_push":{"alert":5}`), "Bad Request", "messages.apple_push.alert must be a string or an alert object"},
	{"apple alert field type", toUsers(`"apple_push":{"alert":{"title":1}}`), "Bad Request", "messages.apple_push.alert.title must be a string"},
	{"apple loc args type", toUsers(`"apple_push":{"alert":{"loc_key":"k","loc_args":["a",2]}}`), "Bad Request", "messages.apple_push.alert.loc_args[1] must be a string"},
	{"apple content-available type", toUsers(`"apple_push":{"content-available":"yes"}`), "Bad Request", "messages.apple_push.content-available must be a boolean"},
	{"apple extra string", toUsers(`"apple_push":{"alert":"hi","extra":"x"}`), "Invalid Extra Push Payload", "messages.apple_push.extra must be an object of keys and values"},
	{"apple extra array", toUsers(`"apple_push":{"alert":"hi","extra":[1]}`), "Invalid Extra Push Payload", "messages.apple_push.extra must be an object of keys and values"},
	{"apple extra ab", toUsers(`"apple_push":{"alert":"hi","extra":{"ab":1}}`), "Invalid Extra Push Payload", `messages.apple_push.extra must not have the key "ab", which Braze reserves`},
	{"apple extra aps", toUsers(`"apple_push":{"alert":"hi","extra":{"k":"v","aps":{}}}`), "Invalid Extra Push Payload", `messages.apple_push.extra must not have the key "aps", which Braze reserves`},
	{"apple badge negative", toUsers(`"apple_push":{"alert":"hi","badge":-1}`), "Bad Request", "messages.apple_push.badge must be an integer from 0 to 2147483647"},
	{"apple badge string", toUsers(`"apple_push":{"alert":"hi","badge":"1"}`), "Bad Request", "messages.apple_push.badge must be an integer from 0 to 2147483647"},
	{"apple badge fraction", toUsers(`"apple_push":{"alert":"hi","badge":1.5}`), "Bad Request", "messages.apple_push.badge must be an integer from 0 to 2147483647"},
	{"apple interruption level", toUsers(`"apple_push":{"alert":"hi","interruption_level":"loud"}`), "Bad Request",
		`messages.apple_push.interruption_level must be one of "passive", "active", "time-sensitive", "critical", not "loud"`},
	{"apple relevance high", toUsers(`"apple_push":{"alert":"hi","relevance_score":1.5}`), "Bad Request", "messages.apple_push.relevance_score must be a number from 0 to 1"},
	{"apple relevance type", toUsers(`"apple_push":{"alert":"hi","relevance_score":"1"}`), "Bad Request", "messages.apple_push.relevance_score must be a number from 0 to 1"},
	{"apple priority 0", toUsers(`"apple_push":{"alert":"hi","apns_priority":0}`), "Bad Request", "messages.apple_push.apns_priority must be an integer from 1 to 10"},
	{"apple priority 11", toUsers(`"apple_push":{"alert":"hi","apns_priority":11}`), "Bad Request", "messages.apple_push.apns_priority must be an integer from 1 to 10"},
	{"apple expiry", toUsers(`"apple_push":{"alert":"hi","expiry":"tomorrow"}`), "Bad Request",
		`messages.apple_push.expiry must be an ISO 8601 date and time: "tomorrow" is not a date in a format Braze accepts`},
	{"apple asset type", toUsers(`"apple_push":{"alert":"hi","asset_url":"https://x/a.bmp","asset_file_type":"bmp"}`), "Bad Request",
		`messages.apple_push.asset_file_type must be one of "aif", "gif", "jpg", "m4a", "mp3", "mp4", "png", "wav", not "bmp"`},
	{"apple asset without type", toUsers(`"apple_push":{"alert":"hi","asset_url":"https://x/a.png"}`), "Bad Request", "messages.apple_push.asset_file_type is required with asset_url"},
	{"apple collapse id", toUsers(`"apple_push":{"alert":"hi","collapse_id":"` + strings.Repeat("c", 65) + `"}`), "Bad Request",
		"messages.apple_push.collapse_id must be at most 64 bytes (the APNs limit)"},
	{"apple buttons type", toUsers(`"apple_push":{"alert":"hi","buttons":{}}`), "Bad Request", "messages.apple_push.buttons must be an array"},
	{"apple button action", toUsers(`"apple_push":{"alert":"hi","buttons":[{"action_id":"a","action":"OPEN"}]}`), "Bad Request",
		`messages.apple_push.buttons[0].action must be one of "OPEN_APP", "URI", "DEEP_LINK", "CLOSE", not "OPEN"`},
	{"apple button uri", toUsers(`"apple_push":{"alert":"hi","buttons":[{"action_id":"a"},{"action_id":"b","action":"DEEP_LINK"}]}`), "Bad Request",
		`messages.apple_push.buttons[1].uri is required for action "DEEP_LINK"`},
	// {"aps":{"alert":"…"}} is 20 bytes around the alert; with extra
	// {"k":"…"}, {"aps":{"alert":"hi"},"k":"…"} is 29.
	{"apple too long", toUsers(`"apple_push":{"alert":"` + strings.Repeat("x", 1893) + `"}`), "Apple Push Length Exceeded",
		"messages.apple_push: the APNs payload would be 1913 bytes; the limit is 1912"},
	{"apple too long with extra", toUsers(`"apple_push":{"alert":"hi","extra":{"k":"` + strings.Repeat("x", 2000) + `"}}`), "Apple Push Length Exceeded",
		"messages.apple_push: the APNs payload would be 2029 bytes; the limit is 1912"},

	// android_push.
	{"android no alert", toUsers(`"android_push":{"title":"t"}`), "Bad Request", "messages.android_push.alert is required"},
	{"android no title", toUsers(`"android_push":{"alert":"a"}`), "Bad Request", "messages.android_push.title is required"},
	{"android alert type", toUsers(`"android_push":{"alert":1,"title":"t"}`), "Bad Request", "messages.android_push.alert must be a string"},
	{"android sync with alert", toUsers(`"android_push":{"send_to_sync":true,"alert":"a"}`), "Bad Request",
		"messages.android_push: a send_to_sync push must not have an alert or a title"},
	{"android sync with title", toUsers(`"android_push":{"send_to_sync":true,"title":"t"}`), "Bad Request",
		"messages.android_push: a send_to_sync push must not have an alert or a title"},
	{"android conversation no persons", toUsers(`"android_push":{"alert":"a","title":"t","conversation_data":{"shortcut_id":"s","reply_person_id":"p1","persons":[],"messages":[]}}`), "Bad Request",
		"messages.android_push.conversation_data.persons must hold at least one person"},
	{"android conversation unknown person", toUsers(`"android_push":{"alert":"a","title":"t","conversation_data":{"shortcut_id":"s","reply_person_id":"p1",` +
		`"persons":[{"id":"p1","name":"Ann"}],"messages":[{"text":"hi","timestamp":1,"person_id":"p2"}]}}`), "Bad Request",
		`messages.android_push.conversation_data.messages[0].person_id "p2" is not one of the persons`},
	{"android notification id", toUsers(`"android_push":{"alert":"a","title":"t","notification_id":2147483648}`), "Bad Request",
		"messages.android_push.notification_id must be an integer from -2147483648 to 2147483647"},
	{"android priority", toUsers(`"android_push":{"alert":"a","title":"t","priority":3}`), "Bad Request", "messages.android_push.priority must be an integer from -2 to 2"},
	{"android fcm priority", toUsers(`"android_push":{"alert":"a","title":"t","android_priority":"urgent"}`), "Bad Request",
		`messages.android_push.android_priority must be one of "normal", "high", not "urgent"`},
	{"android ttl", toUsers(`"android_push":{"alert":"a","title":"t","time_to_live":2419201}`), "Bad Request",
		"messages.android_push.time_to_live must be an integer from 0 to 2419200"},
	{"android extra", toUsers(`"android_push":{"alert":"a","title":"t","extra":"k=v"}`), "Invalid Extra Push Payload",
		"messages.android_push.extra must be an object of keys and values"},
	{"android accent", toUsers(`"android_push":{"alert":"a","title":"t","accent_color":-1}`), "Bad Request",
		"messages.android_push.accent_color must be an integer from 0 to 4294967295"},
	{"android button text", toUsers(`"android_push":{"alert":"a","title":"t","buttons":[{"action":"CLOSE"}]}`), "Bad Request",
		"messages.android_push.buttons[0].text is required"},
	{"android conversation person", toUsers(`"android_push":{"alert":"a","title":"t","conversation_data":{"shortcut_id":"s","reply_person_id":"p9",` +
		`"persons":[{"id":"p1","name":"Ann"}],"messages":[{"text":"hi","timestamp":1,"person_id":"p1"}]}}`), "Bad Request",
		`messages.android_push.conversation_data.reply_person_id "p9" is not one of the persons`},
	{"android conversation message", toUsers(`"android_push":{"alert":"a","title":"t","conversation_data":{"shortcut_id":"s","reply_person_id":"p1",` +
		`"persons":[{"id":"p1","name":"Ann"}],"messages":[{"text":"hi","person_id":"p1"}]}}`), "Bad Request",
		"messages.android_push.conversation_data.messages[0].timestamp is required"},
	// {"a":"…","t":"T"} is 16 bytes around the alert.
	{"android too long", toUsers(`"android_push":{"title":"T","alert":"` + strings.Repeat("x", 3985) + `"}`), "Android Push Length Exceeded",
		"messages.android_push: the FCM data payload would be 4001 bytes; the limit is 4000"},

	// kindle_push and web_push.
	{"kindle no title", toUsers(`"kindle_push":{"alert":"a"}`), "Bad Request", "messages.kindle_push.title is required"},
	{"kindle extra", toUsers(`"kindle_push":{"alert":"a","title":"t","extra":1}`), "Invalid Extra Push Payload", "messages.kindle_push.extra must be an object of keys and values"},
	{"web no alert", toUsers(`"web_push":{"title":"t"}`), "Bad Request", "messages.web_push.alert is required"},
	{"web button action", toUsers(`"web_push":{"alert":"a","title":"t","buttons":[{"text":"x","action":"DEEP_LINK","uri":"app://x"}]}`), "Bad Request",
		`messages.web_push.buttons[0].action must be one of "OPEN_APP", "URI", "CLOSE", not "DEEP_LINK"`},
	{"web ttl", toUsers(`"web_push":{"alert":"a","title":"t","time_to_live":-5}`), "Bad Request", "messages.web_push.time_to_live must be an integer from 0 to 2419200"},

	// email.
	{"email no app_id", toUsers(`"email":{"from":"A <a@example.com>","body":"b"}`), "Bad Request", "messages.email.app_id is required"},
	{"email no from", toUsers(`"email":{"app_id":"x","body":"b"}`), "Bad Request", "messages.email.from is required"},
	{"email from type", toUsers(`"email":{"app_id":"x","from":5,"body":"b"}`), "Bad Request", "messages.email.from must be a string"},
	{"email from bare", toUsers(`"email":{"app_id":"x","from":"a@example.com","body":"b"}`), "Bad Request",
		`messages.email.from must be a display name and an address, as in "Display Name <sender@example.com>"`},
	{"email from no name", toUsers(`"email":{"app_id":"x","from":"<a@example.com>","body":"b"}`), "Bad Request",
		`messages.email.from must be a display name and an address, as in "Display Name <sender@example.com>"`},
	{"email from bad address", toUsers(`"email":{"app_id":"x","from":"A <nobody>","body":"b"}`), "Bad Request",
		`messages.email.from must be a display name and an address, as in "Display Name <sender@example.com>"`},
	{"email from line break", toUsers(`"email":{"app_id":"x","from":"A\r\nBcc: x@y.z <a@example.com>","body":"b"}`), "Bad Request",
		`messages.email.from must be a display name and an address, as in "Display Name <sender@example.com>"`},
	{"email no body", toUsers(`"email":{"app_id":"x","from":"A <a@example.com>","subject":"s"}`), "Bad Request",
		"messages.email.body is required unless email_template_id is given"},
	{"email reply_to", toUsers(`"email":{"app_id":"x","from":"A <a@example.com>","body":"b","reply_to":"nobody"}`), "Bad Request",
		"messages.email.reply_to must be an email address"},
	{"email bcc", toUsers(`"email":{"app_id":"x","from":"A <a@example.com>","body":"b","bcc":"x"}`), "Bad Request", "messages.email.bcc must be an email address"},
	{"email headers type", toUsers(`"email":{"app_id":"x","from":"A <a@example.com>","body":"b","headers":["X-A"]}`), "Bad Request",
		"messages.email.headers must be an object"},
	{"email header value type", toUsers(`"email":{"app_id":"x","from":"A <a@example.com>","body":"b","headers":{"X-B":"ok","X-A":1}}`), "Bad Request",
		`messages.email.headers["X-A"] must be a string`},
	{"email header name", toUsers(`"email":{"app_id":"x","from":"A <a@example.com>","body":"b","headers":{"X A:":"v"}}`), "Bad Request",
		`messages.email.headers["X A:"]: "X A:" is not a valid header name`},
	{"email header reserved", toUsers(`"email":{"app_id":"x","from":"A <a@example.com>","body":"b","headers":{"BCC":"x@example.com"}}`), "Bad Request",
		`messages.email.headers["BCC"]: the BCC header is set from the email's own fields and cannot be given in headers`},
	{"email header injection", toUsers(`"email":{"app_id":"x","from":"A <a@example.com>","body":"b","headers":{"X-A":"v\r\nBcc: x@y.z"}}`), "Bad Request",
		`messages.email.headers["X-A"] must not contain line breaks`},
	{"email extras type", toUsers(`"email":{"app_id":"x","from":"A <a@example.com>","body":"b","extras":{"k":true}}`), "Bad Request",
		`messages.email.extras["k"] must be a string`},
	{"email inline css", toUsers(`"email":{"app_id":"x","from":"A <a@example.com>","body":"b","should_inline_css":"no"}`), "Bad Request",
		"messages.email.should_inline_css must be a boolean"},
	{"email attachment url", toUsers(`"email":{"app_id":"x","from":"A <a@example.com>","body":"b","attachments":[{"file_name":"f"}]}`), "Bad Request",
		"messages.email.attachments[0].url is required"},
	{"email attachment scheme", toUsers(`"email":{"app_id":"x","from":"A <a@example.com>","body":"b","attachments":[{"file_name":"f","url":"ftp://x/f"}]}`), "Bad Request",
		"messages.email.attachments[0].url must be an absolute http or https URL"},
	{"email attachment name", toUsers(`"email":{"app_id":"x","from":"A <a@example.com>","body":"b","attachments":[{"file_name":"../f","url":"https://x/f"}]}`), "Bad Request",
		"messages.email.attachments[0].file_name must be a file name, without control characters or slashes"},
	{"email attachments type", toUsers(`"email":{"app_id":"x","from":"A <a@example.com>","body":"b","attachments":["https://x/f"]}`), "Bad Request",
		"messages.email.attachments[0] must be an object"},

	// webhook.
	{"webhook no url", toUsers(`"webhook":{"request_method":"POST"}`), "Bad Request", "messages.webhook.url is required"},
	{"webhook relative url", toUsers(`"webhook":{"url":"/hook","request_method":"POST"}`), "Bad Request", "messages.webhook.url must be an absolute http or https URL"},
	{"webhook no host", toUsers(`"webhook":{"url":"https:///hook","request_method":"POST"}`), "Bad Request", "messages.webhook.url must be an absolute http or https URL"},
	{"webhook control", toUsers(`"webhook":{"url":"https://x.com/\t","request_method":"POST"}`), "Bad Request", "messages.webhook.url must be an absolute http or https URL"},
	{"webhook no method", toUsers(`"webhook":{"url":"https://x.com"}`), "Bad Request", "messages.webhook.request_method is required"},
	{"webhook method", toUsers(`"webhook":{"url":"https://x.com","request_method":"post"}`), "Bad Request",
		`messages.webhook.request_method must be one of "POST", "PUT", "DELETE", "GET", not "post"`},
	{"webhook header reserved", toUsers(`"webhook":{"url":"https://x.com","request_method":"POST","request_headers":{"content-length":"5"}}`), "Bad Request",
		`messages.webhook.request_headers["content-length"]: the content-length header is set by Brazen and cannot be given`},
	{"webhook header name", toUsers(`"webhook":{"url":"https://x.com","request_method":"POST","request_headers":{"Bad Header":"x"}}`), "Bad Request",
		`messages.webhook.request_headers["Bad Header"]: "Bad Header" is not a valid header name`},
	{"webhook header value", toUsers(`"webhook":{"url":"https://x.com","request_method":"POST","request_headers":{"X-A":"a\nb"}}`), "Bad Request",
		`messages.webhook.request_headers["X-A"] must not contain line breaks`},
	{"webhook body type", toUsers(`"webhook":{"url":"https://x.com","request_method":"POST","body":{"a":1}}`), "Bad Request",
		"messages.webhook.body must be a string"},

	// sms.
	{"sms no group", toUsers(`"sms":{"body":"b","app_id":"a"}`), "Bad Request", "messages.sms.subscription_group_id is required"},
	{"sms no body", toUsers(`"sms":{"subscription_group_id":"g","app_id":"a"}`), "Bad Request", "messages.sms.body is required"},
	{"sms no app", toUsers(`"sms":{"subscription_group_id":"g","body":"b"}`), "Bad Request", "messages.sms.app_id is required"},
	{"sms media type", toUsers(`"sms":{"subscription_group_id":"g","body":"b","app_id":"a","media_items":[5]}`), "Bad Request",
		"messages.sms.media_items[0] must be an image URL"},
	{"sms media url", toUsers(`"sms":{"subscription_group_id":"g","body":"b","app_id":"a","media_items":[{"url":"x.png"}]}`), "Bad Request",
		"messages.sms.media_items[0].url must be an absolute http or https URL"},

	// content_card.
	{"card type", toUsers(`"content_card":{"type":"HERO","description":"d","time_to_live":60}`), "Bad Request",
		`messages.content_card.type must be one of "CLASSIC", "CAPTIONED_IMAGE", "BANNER", not "HERO"`},
	{"card no type", toUsers(`"content_card":{"description":"d","time_to_live":60}`), "Bad Request", "messages.content_card.type is required"},
	{"card no description", toUsers(`"content_card":{"type":"CLASSIC","time_to_live":60}`), "Bad Request", "messages.content_card.description is required"},
	{"card no image", toUsers(`"content_card":{"type":"BANNER","description":"d","time_to_live":60}`), "Bad Request",
		"messages.content_card.image_url is required for a BANNER card"},
	{"card no expiry", toUsers(`"content_card":{"type":"CLASSIC","description":"d"}`), "Bad Request",
		"messages.content_card: give one of time_to_live and expire_at"},
	{"card both expiries", toUsers(`"content_card":{"type":"CLASSIC","description":"d","time_to_live":60,"expire_at":"2026-09-02T00:00:00Z"}`), "Bad Request",
		"messages.content_card: give only one of time_to_live and expire_at"},
	{"card ttl 0", toUsers(`"content_card":{"type":"CLASSIC","description":"d","time_to_live":0}`), "Bad Request",
		"messages.content_card.time_to_live must be an integer from 1 to 2592000"},
	{"card ttl 30 days and 1 s", toUsers(`"content_card":{"type":"CLASSIC","description":"d","time_to_live":2592001}`), "Bad Request",
		"messages.content_card.time_to_live must be an integer from 1 to 2592000"},
	{"card expired", toUsers(`"content_card":{"type":"CLASSIC","description":"d","expire_at":"2026-09-01T12:00:00Z"}`), "Bad Request",
		"messages.content_card.expire_at must be in the future"},
	{"card too far", toUsers(`"content_card":{"type":"CLASSIC","description":"d","expire_at":"2026-10-01T12:00:01Z"}`), "Bad Request",
		"messages.content_card.expire_at must be at most 30 days ahead"},
	{"card local too far", toUsers(`"content_card":{"type":"CLASSIC","description":"d","expire_at":"2026-10-02T02:00:01","expire_in_local_time":true}`), "Bad Request",
		"messages.content_card.expire_at must be at most 30 days ahead"},
	{"card expire type", toUsers(`"content_card":{"type":"CLASSIC","description":"d","expire_at":1790000000}`), "Bad Request",
		"messages.content_card.expire_at must be an ISO 8601 date and time string"},
	{"card extra", toUsers(`"content_card":{"type":"CLASSIC","description":"d","time_to_live":60,"extra":[]}`), "Bad Request",
		"messages.content_card.extra must be an object of keys and values"},
	{"card pinned", toUsers(`"content_card":{"type":"CLASSIC","description":"d","time_to_live":60,"pinned":"true"}`), "Bad Request",
		"messages.content_card.pinned must be a boolean"},

	// whats_app.
	{"whatsapp type", toUsers(`"whats_app":{"app_id":"a","subscription_group_id":"g","message_type":"sticker","message":{}}`), "Bad Request",
		`messages.whats_app.message_type must be one of "template_message", "text_response_message", "text_image_response_message", "quick_reply_response_message", "list_response_message", "flow_response_message", not "sticker"`},
	{"whatsapp no message", toUsers(`"whats_app":{"app_id":"a","subscription_group_id":"g","message_type":"text_response_message"}`), "Bad Request",
		"messages.whats_app.message is required"},
	{"whatsapp template name", toUsers(`"whats_app":{"app_id":"a","subscription_group_id":"g","message_type":"template_message","message":{"template_language_code":"en"}}`), "Bad Request",
		"messages.whats_app.message.template_name is required"},
	{"whatsapp header variables", toUsers(`"whats_app":{"app_id":"a","subscription_group_id":"g","message_type":"template_message","message":{"template_name":"t","template_language_code":"en","header_variables":{"0":"a","1":"b"}}}`), "Bad Request",
		"messages.whats_app.message.header_variables may hold at most 1 variable"},
	{"whatsapp quick reply headers", toUsers(`"whats_app":{"app_id":"a","subscription_group_id":"g","message_type":"quick_reply_response_message","message":{"body":"b","header_text":"h","header_image_uri":"https://x/i.png","buttons":[{"text":"y"}]}}`), "Bad Request",
		"messages.whats_app.message: give at most one of header_image_uri and header_text"},
	{"whatsapp quick reply buttons", toUsers(`"whats_app":{"app_id":"a","subscription_group_id":"g","message_type":"quick_reply_response_message","message":{"body":"b","buttons":[]}}`), "Bad Request",
		"messages.whats_app.message.buttons must hold 1 to 3 buttons"},
	{"whatsapp list rows", toUsers(`"whats_app":{"app_id":"a","subscription_group_id":"g","message_type":"list_response_message","message":{"body":"b","list":{"list_button_text":"x","list_sections":[` +
		`{"section_title":"s1","list_rows":[` + strings.Repeat(`{"row_title":"r"},`, 5) + `{"row_title":"r"}]},` +
		`{"section_title":"s2","list_rows":[` + strings.Repeat(`{"row_title":"r"},`, 4) + `{"row_title":"r"}]}]}}}`), "Bad Request",
		"messages.whats_app.message.list.list_sections hold 11 rows in all; the limit is 10"},
	{"whatsapp text body", toUsers(`"whats_app":{"app_id":"a","subscription_group_id":"g","message_type":"text_response_message","message":{"preview_url":true}}`), "Bad Request",
		"messages.whats_app.message.body is required"},
	{"whatsapp preview type", toUsers(`"whats_app":{"app_id":"a","subscription_group_id":"g","message_type":"text_response_message","message":{"body":"b","preview_url":"yes"}}`), "Bad Request",
		"messages.whats_app.message.preview_url must be a boolean"},
	{"whatsapp image uri", toUsers(`"whats_app":{"app_id":"a","subscription_group_id":"g","message_type":"text_image_response_message","message":{"caption":"c"}}`), "Bad Request",
		"messages.whats_app.message.image_uri is required"},
	{"whatsapp list missing", toUsers(`"whats_app":{"app_id":"a","subscription_group_id":"g","message_type":"list_response_message","message":{"body":"b"}}`), "Bad Request",
		"messages.whats_app.message.list is required"},
	{"whatsapp list empty row", toUsers(`"whats_app":{"app_id":"a","subscription_group_id":"g","message_type":"list_response_message","message":{"body":"b","list":{"list_button_text":"x","list_sections":[{"list_rows":[{"row_description":"d"}]}]}}}`), "Bad Request",
		"messages.whats_app.message.list.list_sections[0].list_rows[0].row_title is required"},
	{"whatsapp flow id", toUsers(`"whats_app":{"app_id":"a","subscription_group_id":"g","message_type":"flow_response_message","message":{"body":"b","flow_button":{"caption":"c"}}}`), "Bad Request",
		"messages.whats_app.message.flow_button.flow_id is required"},
	{"whatsapp body variables", toUsers(`"whats_app":{"app_id":"a","subscription_group_id":"g","message_type":"template_message","message":{"template_name":"t","template_language_code":"en","body_variables":{"0":1}}}`), "Bad Request",
		`messages.whats_app.message.body_variables["0"] must be a string`},
	{"whatsapp no app", toUsers(`"whats_app":{"subscription_group_id":"g","message_type":"text_response_message","message":{"body":"b"}}`), "Bad Request",
		"messages.whats_app.app_id is required"},
	{"whatsapp flow caption", toUsers(`"whats_app":{"app_id":"a","subscription_group_id":"g","message_type":"flow_response_message","message":{"body":"b","flow_button":{"caption":"` + strings.Repeat("é", 21) + `","flow_id":"f"}}}`), "Bad Request",
		"messages.whats_app.message.flow_button.caption must be at most 20 characters"},

	// audience.
	{"audience empty", with(`"broadcast":true,"audience":{}`, hook), "Bad Request",
		`audience must have exactly one key, one of "AND", "OR", "custom_attribute", "push_subscription_status", "email_subscription_status", "last_used_app"`},
	{"audience two filters", with(`"broadcast":true,"audience":{"push_subscription_status":{"comparison":"is","value":"opted_in"},"email_subscription_status":{"comparison":"is","value":"opted_in"}}`, hook), "Bad Request",
		`audience must have exactly one key, one of "AND", "OR", "custom_attribute", "push_subscription_status", "email_subscription_status", "last_used_app"`},
	{"audience type", with(`"broadcast":true,"audience":[]`, hook), "Bad Request", "audience must be an object"},
	{"audience empty AND", with(`"broadcast":true,"audience":{"AND":[]}`, hook), "Bad Request", "audience.AND must hold at least one filter"},
	{"audience OR type", with(`"broadcast":true,"audience":{"OR":{}}`, hook), "Bad Request", "audience.OR must be an array"},
	{"audience lowercase and", with(`"broadcast":true,"audience":{"and":[]}`, hook), "Bad Request",
		`audience.and is not a connected audience filter; use one of "AND", "OR", "custom_attribute", "push_subscription_status", "email_subscription_status", "last_used_app"`},
	{"audience unknown filter", with(`"broadcast":true,"audience":{"AND":[{"OR":[{"country":{"comparison":"equals","value":"FR"}}]}]}`, hook), "Bad Request",
		`audience.AND[0].OR[0].country is not a connected audience filter; use one of "AND", "OR", "custom_attribute", "push_subscription_status", "email_subscription_status", "last_used_app"`},
	{"audience filter type", with(`"broadcast":true,"audience":{"custom_attribute":"x"}`, hook), "Bad Request", "audience.custom_attribute must be an object"},
	{"audience attribute name", with(`"broadcast":true,"audience":{"custom_attribute":{"comparison":"exists"}}`, hook), "Bad Request",
		"audience.custom_attribute.custom_attribute_name is required"},
	{"audience comparison", with(`"broadcast":true,"audience":{"custom_attribute":{"custom_attribute_name":"a","comparison":"like","value":"x"}}`, hook), "Bad Request",
		`audience.custom_attribute.comparison must be one of "after", "before", "does_not_equal", "does_not_exist", "does_not_include_value", "does_not_match_regex", "equals", "exists", "greater_than", "greater_than_or_equal_to", "greater_than_x_days_ago", "greater_than_x_days_in_the_future", "includes_value", "less_than", "less_than_or_equal_to", "less_than_x_days_ago", "less_than_x_days_in_the_future", "matches_regex", "not_equal", not "like"`},
	{"audience equals no value", with(`"broadcast":true,"audience":{"custom_attribute":{"custom_attribute_name":"a","comparison":"equals"}}`, hook), "Bad Request",
		`audience.custom_attribute.value must be a string, number or boolean for comparison "equals"`},
	{"audience greater than string", with(`"broadcast":true,"audience":{"custom_attribute":{"custom_attribute_name":"a","comparison":"greater_than","value":"5"}}`, hook), "Bad Request",
		`audience.custom_attribute.value must be a number for comparison "greater_than"`},
	{"audience does_not_equal string", with(`"broadcast":true,"audience":{"custom_attribute":{"custom_attribute_name":"a","comparison":"does_not_equal","value":"x"}}`, hook), "Bad Request",
		`audience.custom_attribute.value must be a boolean for comparison "does_not_equal"`},
	{"audience regex type", with(`"broadcast":true,"audience":{"custom_attribute":{"custom_attribute_name":"a","comparison":"matches_regex","value":5}}`, hook), "Bad Request",
		`audience.custom_attribute.value must be a string (a regular expression) for comparison "matches_regex"`},
	{"audience regex invalid", with(`"broadcast":true,"audience":{"custom_attribute":{"custom_attribute_name":"a","comparison":"matches_regex","value":"(a"}}`, hook), "Bad Request",
		"audience.custom_attribute.value is not a valid regular expression: error parsing regexp: missing closing ): `(a`"},
	{"audience days negative", with(`"broadcast":true,"audience":{"custom_attribute":{"custom_attribute_name":"a","comparison":"less_than_x_days_ago","value":-1}}`, hook), "Bad Request",
		`audience.custom_attribute.value must be a number of days, not negative, for comparison "less_than_x_days_ago"`},
	{"audience after bad date", with(`"broadcast":true,"audience":{"custom_attribute":{"custom_attribute_name":"a","comparison":"after","value":"soon"}}`, hook), "Bad Request",
		`audience.custom_attribute.value must be an ISO 8601 date and time: "soon" is not a date in a format Braze accepts`},
	{"audience after missing", with(`"broadcast":true,"audience":{"custom_attribute":{"custom_attribute_name":"a","comparison":"before"}}`, hook), "Bad Request",
		`audience.custom_attribute.value must be an ISO 8601 date and time string for comparison "before"`},
	{"audience push value", with(`"broadcast":true,"audience":{"push_subscription_status":{"comparison":"is","value":"maybe"}}`, hook), "Bad Request",
		`audience.push_subscription_status.value must be one of "opted_in", "subscribed", "unsubscribed", not "maybe"`},
	{"audience email comparison", with(`"broadcast":true,"audience":{"email_subscription_status":{"comparison":"equals","value":"opted_in"}}`, hook), "Bad Request",
		`audience.email_subscription_status.comparison must be one of "is", "is_not", not "equals"`},
	{"audience last used no value", with(`"broadcast":true,"audience":{"last_used_app":{"comparison":"after"}}`, hook), "Bad Request",
		"audience.last_used_app.value is required"},
	{"audience last used comparison", with(`"broadcast":true,"audience":{"last_used_app":{"comparison":"on","value":"2026-01-01"}}`, hook), "Bad Request",
		`audience.last_used_app.comparison must be one of "after", "before", not "on"`},
	{"audience too deep", with(`"broadcast":true,"audience":`+nested(33), hook), "Bad Request",
		"audience" + strings.Repeat(".AND[0]", 32) + ": the audience is nested more than 32 levels deep"},
	{"audience too many filters", with(`"broadcast":true,"audience":{"OR":[`+strings.Repeat(`{"push_subscription_status":{"comparison":"is","value":"opted_in"}},`, 1000)+
		`{"push_subscription_status":{"comparison":"is","value":"opted_in"}}]}`, hook), "Bad Request", "audience holds more than 1000 filters"},
}

func TestParseFailures(t *testing.T) {
	for _, tt := range failures {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse([]byte(tt.body), now)
			if err == nil {
				t.Fatalf("Parse accepted the body: %+v", s)
			}
			var e *brazen.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %T %v, want *brazen.Error", err, err)
			}
			if e.Code != brazen.EINVALID {
				t.Errorf("code = %q, want %q", e.Code, brazen.EINVALID)
			}
			if e.Message != tt.message {
				t.Errorf("message = %q, want %q", e.Message, tt.message)
			}
			if len(e.Details) != 1 || e.Details[0] != tt.detail {
				t.Errorf("details = %q, want [%q]", e.Details, tt.detail)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// successes are bodies Parse accepts, with the Send it returns.
var successes = []struct {
	name, body string
	want       *Send
}{
	{"webhook to users", `{"api_key":"ignored","external_user_ids":["u1","u2","u1"],"user_aliases":[{"alias_name":"n","alias_label":"l"},{"alias_name":"n","alias_label":"l"}],` +
		`"messages":{"webhook":{"url":"https://example.com/hook?u={{${user_id}}}","request_method":"POST","request_headers":{"Content-Type":"application/json"},"body":"{\"a\":1}"}}}`,
		&Send{
			ExternalUserIDs:            []string{"u1", "u2"},
			UserAliases:                []brazen.Alias{{Name: "n", Label: "l"}},
			RecipientSubscriptionState: "subscribed",
			Messages: Messages{Webhook: &Webhook{URL: "https://example.com/hook?u={{${user_id}}}", RequestMethod: "POST",
				RequestHeaders: map[string]string{"Content-Type": "application/json"}, Body: `{"a":1}`}},
		}},
	{"liquid host", toUsers(`"webhook":{"url":"https://{{custom_attribute.${host}}}/x","request_method":"GET"}`),
		&Send{ExternalUserIDs: []string{"u1"}, RecipientSubscriptionState: "subscribed",
			Messages: Messages{Webhook: &Webhook{URL: "https://{{custom_attribute.${host}}}/x", RequestMethod: "GET"}}}},
	{"segment broadcast with campaign", `{"broadcast":true,"segment_id":"seg","campaign_id":"c","send_id":"s-1_x","override_frequency_capping":true,` +
		`"recipient_subscription_state":"all","messages":{"sms":{"message_variation_id":"v1","subscription_group_id":"g","body":"hi","app_id":"a",` +
		`"media_items":["https://x.com/a.png",{"url":"https://x.com/b.png"}],"link_shortening_enabled":true}}}`,
		&Send{Broadcast: true, SegmentID: "seg", CampaignID: "c", SendID: "s-1_x", OverrideFrequencyCapping: true, RecipientSubscriptionState: "all",
			Messages: Messages{SMS: &SMS{MessageVariationID: "v1", SubscriptionGroupID: "g", Body: "hi", AppID: "a",
				MediaItems: []string{"https://x.com/a.png", "https://x.com/b.png"}, LinkShorteningEnabled: true}}}},
	{"segment and users", with(`"segment_id":"seg","external_user_ids":["u"]`, hook),
		&Send{SegmentID: "seg", ExternalUserIDs: []string{"u"}, RecipientSubscriptionState: "subscribed",
			Messages: Messages{Webhook: &Webhook{URL: "https://example.com/hook", RequestMethod: "POST"}}}},
	{"audience and users", with(`"external_user_ids":["u"],"audience":{"push_subscription_status":{"comparison":"is_not","value":"unsubscribed"}}`, hook),
		&Send{ExternalUserIDs: []string{"u"}, RecipientSubscriptionState: "subscribed",
			Audience: &Audience{PushSubscription: &SubscriptionFilter{Comparison: "is_not", Value: "unsubscribed"}},
			Messages: Messages{Webhook: &Webhook{URL: "https://example.com/hook", RequestMethod: "POST"}}}},
	{"50 users", with(ids(25)+","+aliases(25), hook), nil},
	{"audience tree", with(`"broadcast":true,"audience":{"AND":[`+
		`{"custom_attribute":{"custom_attribute_name":"plan","comparison":"equals","value":"gold"}},`+
		`{"custom_attribute":{"custom_attribute_name":"age","comparison":"greater_than_or_equal_to","value":18}},`+
		`{"custom_attribute":{"custom_attribute_name":"vip","comparison":"equals","value":true}},`+
		`{"custom_attribute":{"custom_attribute_name":"beta","comparison":"does_not_equal","value":false}},`+
		`{"custom_attribute":{"custom_attribute_name":"name","comparison":"matches_regex","value":"^A"}},`+
		`{"custom_attribute":{"custom_attribute_name":"tags","comparison":"includes_value","value":"x"}},`+
		`{"custom_attribute":{"custom_attribute_name":"seen","comparison":"less_than_x_days_ago","value":7}},`+
		`{"custom_attribute":{"custom_attribute_name":"signup","comparison":"after","value":"2026-01-02T03:04:05+01:00"}},`+
		`{"custom_attribute":{"custom_attribute_name":"x","comparison":"exists","value":"ignored"}},`+
		`{"OR":[{"email_subscription_status":{"comparison":"is","value":"opted_in"}},{"last_used_app":{"comparison":"before","value":"2026-08-01"}}]}]}`, hook),
		&Send{Broadcast: true, RecipientSubscriptionState: "subscribed",
			Audience: &Audience{And: []*Audience{
				{CustomAttribute: &AttributeFilter{Name: "plan", Comparison: "equals", Value: "gold"}},
				{CustomAttribute: &AttributeFilter{Name: "age", Comparison: "greater_than_or_equal_to", Value: json.Number("18")}},
				{CustomAttribute: &AttributeFilter{Name: "vip", Comparison: "equals", Value: true}},
				{CustomAttribute: &AttributeFilter{Name: "beta", Comparison: "does_not_equal", Value: false}},
				{CustomAttribute: &AttributeFilter{Name: "name", Comparison: "matches_regex", Value: "^A"}},
				{CustomAttribute: &AttributeFilter{Name: "tags", Comparison: "includes_value", Value: "x"}},
				{CustomAttribute: &AttributeFilter{Name: "seen", Comparison: "less_than_x_days_ago", Value: json.Number("7")}},
				{CustomAttribute: &AttributeFilter{Name: "signup", Comparison: "after", Value: time.Date(2026, 1, 2, 2, 4, 5, 0, time.UTC)}},
				{CustomAttribute: &AttributeFilter{Name: "x", Comparison: "exists"}},
				{Or: []*Audience{
					{EmailSubscription: &SubscriptionFilter{Comparison: "is", Value: "opted_in"}},
					{LastUsedApp: &TimeFilter{Comparison: "before", Value: time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)}},
				}},
			}},
			Messages: Messages{Webhook: &Webhook{URL: "https://example.com/hook", RequestMethod: "POST"}}}},
	{"audience 32 deep", with(`"broadcast":true,"audience":`+nested(32), hook), nil},
	{"apple full", toUsers(`"apple_push":{"alert":{"title":"T","body":"B","loc_args":["a"]},"badge":0,"sound":"default","extra":{"k":"v","n":1.50},` +
		`"interruption_level":"time-sensitive","relevance_score":0.5,"expiry":"2026-09-02T00:00:00Z","custom_uri":"app://x","use_webview":false,` +
		`"notification_group_thread_id":"t","asset_url":"https://x.com/a.png","asset_file_type":"png","collapse_id":"c","category":"ab_cat_yes_no",` +
		`"send_to_most_recent_device_only":true,"buttons":[{"action_id":"y","action":"URI","uri":"https://x.com"},{"action_id":"n"}],"apns_priority":5}`),
		&Send{ExternalUserIDs: []string{"u1"}, RecipientSubscriptionState: "subscribed", Messages: Messages{ApplePush: &ApplePush{
			Alert: &AppleAlert{Title: "T", Body: "B", LocArgs: []string{"a"}}, Badge: ptr(int64(0)), Sound: "default",
			Extra: map[string]any{"k": "v", "n": json.Number("1.50")}, InterruptionLevel: "time-sensitive", RelevanceScore: ptr(0.5),
			Expiry: time.Date(2026, 9, 2, 0, 0, 0, 0, time.UTC), CustomURI: "app://x", ThreadID: "t",
			AssetURL: "https://x.com/a.png", AssetFileType: "png", CollapseID: "c", MutableContent: true, Category: "ab_cat_yes_no",
			SendToMostRecentDeviceOnly: true, APNsPriority: 5,
			Buttons: []AppleButton{{ActionID: "y", Action: "URI", URI: "https://x.com", UseWebview: true}, {ActionID: "n", Action: "OPEN_APP", UseWebview: true}},
		}}}},
	{"apple silent", toUsers(`"apple_push":{"content-available":true,"alert":null}`),
		&Send{ExternalUserIDs: []string{"u1"}, RecipientSubscriptionState: "subscribed", Messages: Messages{ApplePush: &ApplePush{
			ContentAvailable: true, UseWebview: true, APNsPriority: 5}}}},
	{"apple at the limit", toUsers(`"apple_push":{"alert":"` + strings.Repeat("x", 1892) + `"}`), nil},
	{"apple integral float badge", toUsers(`"apple_push":{"alert":"hi","badge":3.0}`), nil},
	{"android full", toUsers(`"android_push":{"alert":"A","title":"T","extra":{"appboy_image_url":"https://x.com/i.png"},"notification_channel_id":"ch",` +
		`"priority":-2,"android_priority":"high","collapse_key":"ck","sound":"s","custom_uri":"app://x","use_webview":true,"summary_text":"st",` +
		`"time_to_live":2419200,"notification_id":-7,"push_icon_image_url":"https://x.com/l.png","accent_color":16711680,` +
		`"send_to_most_recent_device_only":true,"buttons":[{"text":"Open","action":"URI","uri":"https://x.com"}],` +
		`"conversation_data":{"shortcut_id":"s","reply_person_id":"p1","persons":[{"id":"p1","name":"Ann"}],"messages":[{"text":"hi","timestamp":1700000000,"person_id":"p1"}]}}`),
		&Send{ExternalUserIDs: []string{"u1"}, RecipientSubscriptionState: "subscribed", Messages: Messages{AndroidPush: &AndroidPush{
			Alert: "A", Title: "T", Extra: map[string]any{"appboy_image_url": "https://x.com/i.png"}, NotificationChannelID: "ch",
			Priority: -2, AndroidPriority: "high", CollapseKey: "ck", Sound: "s", CustomURI: "app://x", UseWebview: true, SummaryText: "st",
			TimeToLive: ptr(int64(2419200)), NotificationID: ptr(int64(-7)), PushIconImageURL: "https://x.com/l.png", AccentColor: ptr(int64(16711680)),
			SendToMostRecentDeviceOnly: true, Buttons: []AndroidButton{{Text: "Open", Action: "URI", URI: "https://x.com", UseWebview: true}},
			ConversationData: &Conversation{ShortcutID: "s", ReplyPersonID: "p1", Persons: []ConversationPerson{{ID: "p1", Name: "Ann"}},
				Messages: []ConversationMessage{{Text: "hi", Timestamp: 1700000000, PersonID: "p1"}}},
		}}}},
	{"android sync", toUsers(`"android_push":{"send_to_sync":true,"extra":{"k":"v"}}`),
		&Send{ExternalUserIDs: []string{"u1"}, RecipientSubscriptionState: "subscribed", Messages: Messages{AndroidPush: &AndroidPush{
			SendToSync: true, Extra: map[string]any{"k": "v"}}}}},
	{"android at the limit", toUsers(`"android_push":{"title":"T","alert":"` + strings.Repeat("x", 3984) + `"}`), nil},
	{"kindle and web", toUsers(`"kindle_push":{"alert":"a","title":"t","priority":1,"collapse_key":"c","sound":"s","custom_uri":"u"},` +
		`"web_push":{"alert":"a","title":"t","custom_uri":"https://x.com","image_url":"https://x.com/i.png","large_image_url":"https://x.com/l.png",` +
		`"require_interaction":true,"time_to_live":60,"buttons":[{"text":"Close","action":"CLOSE"}]}`),
		&Send{ExternalUserIDs: []string{"u1"}, RecipientSubscriptionState: "subscribed", Messages: Messages{
			KindlePush: &KindlePush{Alert: "a", Title: "t", Priority: 1, CollapseKey: "c", Sound: "s", CustomURI: "u"},
			WebPush: &WebPush{Alert: "a", Title: "t", CustomURI: "https://x.com", ImageURL: "https://x.com/i.png", LargeImageURL: "https://x.com/l.png",
				RequireInteraction: true, TimeToLive: ptr(int64(60)), Buttons: []WebButton{{Text: "Close", Action: "CLOSE"}}},
		}}},
	{"email full", toUsers(`"email":{"app_id":"app","from":"Acme, Inc. <news@acme.example>","subject":"Hi {{${first_name}}}","reply_to":"Support <help@acme.example>",` +
		`"bcc":"archive@acme.example","body":"<p>Hi</p>","plaintext_body":"Hi","preheader":"p","extras":{"k":"v"},"headers":{"List-Unsubscribe":"<mailto:u@acme.example>"},` +
		`"should_inline_css":false,"attachments":[{"file_name":"invoice","url":"https://acme.example/i.pdf","basic_auth_credential":"cred"}]}`),
		&Send{ExternalUserIDs: []string{"u1"}, RecipientSubscriptionState: "subscribed", Messages: Messages{Email: &Email{
			AppID: "app", From: mail.Address{Name: "Acme, Inc.", Address: "news@acme.example"}, Subject: "Hi {{${first_name}}}",
			ReplyTo: &mail.Address{Name: "Support", Address: "help@acme.example"}, BCC: &mail.Address{Address: "archive@acme.example"},
			Body: "<p>Hi</p>", PlaintextBody: "Hi", Preheader: "p", Extras: map[string]string{"k": "v"},
			Headers: map[string]string{"List-Unsubscribe": "<mailto:u@acme.example>"}, ShouldInlineCSS: ptr(false),
			Attachments: []Attachment{{FileName: "invoice", URL: "https://acme.example/i.pdf", BasicAuthCredential: "cred"}},
		}}}},
	{"email template, no reply-to", toUsers(`"email":{"app_id":"app","from":"\"Café Ünï\" <a@example.com>","email_template_id":"tpl","reply_to":"NO_REPLY_TO"}`),
		&Send{ExternalUserIDs: []string{"u1"}, RecipientSubscriptionState: "subscribed", Messages: Messages{Email: &Email{
			AppID: "app", From: mail.Address{Name: "Café Ünï", Address: "a@example.com"}, EmailTemplateID: "tpl", NoReplyTo: true,
		}}}},
	{"content card ttl", toUsers(`"content_card":{"type":"CAPTIONED_IMAGE","title":"T","description":"D","pinned":true,"image_url":"https://x.com/i.png",` +
		`"time_to_live":2592000,"ios_uri":"app://i","android_uri":"app://a","web_uri":"https://x.com","ios_use_webview":false,"uri_text":"Go","extra":{"k":1}}`),
		&Send{ExternalUserIDs: []string{"u1"}, RecipientSubscriptionState: "subscribed", Messages: Messages{ContentCard: &ContentCard{
			Type: "CAPTIONED_IMAGE", Title: "T", Description: "D", Pinned: true, ImageURL: "https://x.com/i.png", TimeToLive: ptr(int64(2592000)),
			IOSURI: "app://i", AndroidURI: "app://a", WebURI: "https://x.com", AndroidUseWebview: true, URIText: "Go", Extra: map[string]any{"k": json.Number("1")},
		}}}},
	{"content card expire_at", toUsers(`"content_card":{"type":"CLASSIC","description":"D","expire_at":"2026-10-01T12:00:00Z"}`),
		&Send{ExternalUserIDs: []string{"u1"}, RecipientSubscriptionState: "subscribed", Messages: Messages{ContentCard: &ContentCard{
			Type: "CLASSIC", Description: "D", ExpireAt: time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC), IOSUseWebview: true, AndroidUseWebview: true,
		}}}},
	{"content card local expire_at", toUsers(`"content_card":{"type":"CLASSIC","description":"D","expire_at":"2026-09-01T00:00:01","expire_in_local_time":true}`), nil},
	{"whatsapp template", toUsers(`"whats_app":{"app_id":"a","subscription_group_id":"g","message_type":"template_message",` +
		`"message":{"template_name":"t","template_language_code":"en","body_variables":{"0":"x","1":"y"},"button_variables":{"0":"/p"}}}`),
		&Send{ExternalUserIDs: []string{"u1"}, RecipientSubscriptionState: "subscribed", Messages: Messages{WhatsApp: &WhatsApp{
			AppID: "a", SubscriptionGroupID: "g", MessageType: "template_message",
			Message: json.RawMessage(`{"template_name":"t","template_language_code":"en","body_variables":{"0":"x","1":"y"},"button_variables":{"0":"/p"}}`),
		}}}},
	{"whatsapp list", toUsers(`"whats_app":{"app_id":"a","subscription_group_id":"g","message_type":"list_response_message","message":{"body":"b","list":{"list_button_text":"x","list_sections":[` +
		`{"section_title":"s1","list_rows":[` + strings.Repeat(`{"row_title":"r"},`, 9) + `{"row_title":"r","row_description":"d"}]}]}}}`), nil},
	{"whatsapp flow", toUsers(`"whats_app":{"app_id":"a","subscription_group_id":"g","message_type":"flow_response_message","message":{"body":"b","flow_button":{"caption":"` + strings.Repeat("é", 20) + `","flow_id":"f"}}}`), nil},
	{"whatsapp quick reply", toUsers(`"whats_app":{"app_id":"a","subscription_group_id":"g","message_type":"quick_reply_response_message","message":{"body":"b","header_text":"h","buttons":[{"text":"y"},{"text":"n"}]}}`), nil},
	{"whatsapp text image", toUsers(`"whats_app":{"app_id":"a","subscription_group_id":"g","message_type":"text_image_response_message","message":{"image_uri":"https://x.com/i.png","caption":"c"}}`), nil},
	{"all channels with campaign", with(`"campaign_id":"c","external_user_ids":["u"]`,
		`"apple_push":{"message_variation_id":"v","alert":"a"},"android_push":{"message_variation_id":"v","alert":"a","title":"t"},`+
			`"kindle_push":{"message_variation_id":"v","alert":"a","title":"t"},"web_push":{"message_variation_id":"v","alert":"a","title":"t"},`+
			`"email":{"message_variation_id":"v","app_id":"a","from":"A <a@example.com>","body":"b"},`+
			`"content_card":{"message_variation_id":"v","type":"CLASSIC","description":"d","time_to_live":60},`+
			`"sms":{"message_variation_id":"v","subscription_group_id":"g","body":"b","app_id":"a"},`+
			`"webhook":{"message_variation_id":"v","url":"https://x.com","request_method":"PUT"},`+
			`"whats_app":{"message_variation_id":"v","app_id":"a","subscription_group_id":"g","message_type":"text_response_message","message":{"body":"b","preview_url":true}},`+
			`"in_app_message":null`), nil},
}

func TestParse(t *testing.T) {
	for _, tt := range successes {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.body), now)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if tt.want == nil {
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Send (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAllChannelsVariants(t *testing.T) {
	s, err := Parse([]byte(successes[len(successes)-1].body), now)
	if err != nil {
		t.Fatal(err)
	}
	m := s.Messages
	got := []string{m.ApplePush.MessageVariationID, m.AndroidPush.MessageVariationID, m.KindlePush.MessageVariationID,
		m.WebPush.MessageVariationID, m.Email.MessageVariationID, m.ContentCard.MessageVariationID, m.SMS.MessageVariationID,
		m.Webhook.MessageVariationID, m.WhatsApp.MessageVariationID}
	for i, v := range got {
		if v != "v" {
			t.Errorf("channel %s: message_variation_id %q, want \"v\"", messageKeys[i], v)
		}
	}
}

func TestPayloads(t *testing.T) {
	s, err := Parse([]byte(toUsers(`"apple_push":{"alert":{"body":"B","title":"T <x>"},"badge":2,"content-available":true,`+
		`"extra":{"n":1.50,"s":"&"},"custom_uri":"app://x","asset_url":"https://x.com/a.png","asset_file_type":"png"},`+
		`"android_push":{"alert":"A","title":"T","extra":{"k":"v"},"priority":1,"custom_uri":"app://x","buttons":[{"text":"Go","action":"URI","uri":"app://y"}]}`)), now)
	if err != nil {
		t.Fatal(err)
	}
	wantAPNs := `{"ab":{"att":{"type":"png","url":"https://x.com/a.png"}},"ab_uri":"app://x","ab_use_webview":true,` +
		`"aps":{"alert":{"body":"B","title":"T <x>"},"badge":2,"content-available":1,"mutable-content":1},"n":1.50,"s":"&"}`
	if got := string(s.Messages.ApplePush.APNsPayload()); got != wantAPNs {
		t.Errorf("APNs payload\n got %s\nwant %s", got, wantAPNs)
	}
	wantFCM := map[string]string{"t": "T", "a": "A", "extra": `{"k":"v"}`, "p": "1", "uri": "app://x", "ab_use_webview": "false",
		"ab_a0_t": "Go", "ab_a0_a": "ab_uri", "ab_a0_uri": "app://y", "ab_a0_use_webview": "false"}
	if diff := cmp.Diff(wantFCM, s.Messages.AndroidPush.FCMData()); diff != "" {
		t.Errorf("FCM data (-want +got):\n%s", diff)
	}
}

func TestAudienceKey(t *testing.T) {
	a := with(`"broadcast":true,"campaign_id":"c","segment_id":"s","audience":{"AND":[{"custom_attribute":{"comparison":"after","custom_attribute_name":"d","value":"2026-01-01"}},`+
		`{"custom_attribute":{"custom_attribute_name":"n","comparison":"equals","value":1}}]}`, `"webhook":{"message_variation_id":"v","url":"https://x.com","request_method":"POST"}`)
	b := with(`"segment_id":"s","campaign_id":"c","broadcast":true,"audience":{"AND":[{"custom_attribute":{"custom_attribute_name":"d","comparison":"after","value":"2026-01-01T00:00:00Z"}},`+
		`{"custom_attribute":{"custom_attribute_name":"n","value":1.0,"comparison":"equals"}}]}`, `"sms":{"message_variation_id":"w","subscription_group_id":"g","body":"b","app_id":"a"}`)
	c := with(`"segment_id":"s","campaign_id":"c","broadcast":true,"audience":{"AND":[{"custom_attribute":{"custom_attribute_name":"d","comparison":"after","value":"2026-01-02"}},`+
		`{"custom_attribute":{"custom_attribute_name":"n","value":1,"comparison":"equals"}}]}`, `"webhook":{"message_variation_id":"v","url":"https://x.com","request_method":"POST"}`)
	key := func(body string) string {
		s, err := Parse([]byte(body), now)
		if err != nil {
			t.Fatal(err)
		}
		return s.AudienceKey()
	}
	if ka, kb := key(a), key(b); ka != kb {
		t.Errorf("same audience, different keys:\n%q\n%q", ka, kb)
	}
	if ka, kc := key(a), key(strings.Replace(c, `"campaign_id":"c",`, `"campaign_id":"c","x":1,`, 1)); ka == kc {
		t.Errorf("different audiences, same key %q", ka)
	}
	want := "c\x00s\x00" + `{"AND":[{"custom_attribute":{"custom_attribute_name":"d","comparison":"after","value":"2026-01-01T00:00:00Z"}},` +
		`{"custom_attribute":{"custom_attribute_name":"n","comparison":"equals","value":1}}]}`
	if got := key(a); got != want {
		t.Errorf("key = %q, want %q", got, want)
	}
}

func TestParseSendIDCreate(t *testing.T) {
	tests := []struct {
		name, body, campaign, send, detail string
	}{
		{"both", `{"campaign_id":"c","send_id":"Spring-2026_a"}`, "c", "Spring-2026_a", ""},
		{"campaign only", `{"campaign_id":"c","send_id":null,"api_key":"k"}`, "c", "", ""},
		{"64 characters", `{"campaign_id":"c","send_id":"` + strings.Repeat("a", 64) + `"}`, "c", strings.Repeat("a", 64), ""},
		{"no campaign", `{"send_id":"s"}`, "", "", "campaign_id is required"},
		{"campaign type", `{"campaign_id":1}`, "", "", "campaign_id must be a string"},
		{"send_id type", `{"campaign_id":"c","send_id":1}`, "", "", "send_id must be a string"},
		{"send_id 65", `{"campaign_id":"c","send_id":"` + strings.Repeat("a", 65) + `"}`, "", "", "send_id must be at most 64 characters"},
		{"send_id control", `{"campaign_id":"c","send_id":"a\tb"}`, "", "", "send_id must hold only printable ASCII characters other than space"},
		{"not an object", `"c"`, "", "", "the request body must be an object, not string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, s, err := ParseSendIDCreate([]byte(tt.body))
			if tt.detail == "" {
				if err != nil || c != tt.campaign || s != tt.send {
					t.Fatalf("= %q, %q, %v; want %q, %q", c, s, err, tt.campaign, tt.send)
				}
				return
			}
			var e *brazen.Error
			if !errors.As(err, &e) || e.Code != brazen.EINVALID || e.Message != "Bad Request" || len(e.Details) != 1 || e.Details[0] != tt.detail {
				t.Fatalf("err = %#v, want Bad Request: %q", err, tt.detail)
			}
		})
	}
}

// FuzzParse: Parse never panics, and refuses a body only with an EINVALID
// *brazen.Error that has a message; an accepted send holds a message and
// recipients within the limits.
func FuzzParse(f *testing.F) {
	for _, tt := range failures {
		f.Add([]byte(tt.body))
	}
	for _, tt := range successes {
		f.Add([]byte(tt.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := Parse(body, now)
		if err != nil {
			var e *brazen.Error
			if !errors.As(err, &e) || e.Code != brazen.EINVALID || e.Message == "" {
				t.Fatalf("error %#v is not an EINVALID *brazen.Error with a message", err)
			}
			return
		}
		if n := len(s.ExternalUserIDs) + len(s.UserAliases); n > MaxRecipients || (n > 0) == s.Broadcast {
			t.Fatalf("accepted %d users with broadcast %v", n, s.Broadcast)
		}
		if s.Messages == (Messages{}) {
			t.Fatal("accepted a send without messages")
		}
		_ = s.AudienceKey()
		if _, _, err := ParseSendIDCreate(body); err != nil && brazen.ErrorCode(err) != brazen.EINVALID {
			t.Fatalf("ParseSendIDCreate: %v", err)
		}
	})
}

// BenchmarkParse parses a typical send: three users, a webhook and an email.
func BenchmarkParse(b *testing.B) {
	body := []byte(`{"external_user_ids":["user-1","user-2","user-3"],"campaign_id":"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",` +
		`"recipient_subscription_state":"subscribed","messages":{` +
		`"webhook":{"message_variation_id":"v-1","url":"https://api.example.com/notify/{{${user_id}}}","request_method":"POST",` +
		`"request_headers":{"Content-Type":"application/json","Authorization":"Bearer abc"},"body":"{\"event\":\"order_shipped\",\"user\":\"{{${user_id}}}\"}"},` +
		`"email":{"message_variation_id":"v-2","app_id":"app-1","from":"Example Shop <shop@example.com>","reply_to":"help@example.com",` +
		`"subject":"Your order has shipped, {{${first_name} | default: 'there'}}","body":"<html><body><p>Hi {{${first_name}}},</p>` +
		strings.Repeat(`<p>Your order is on its way. Track it at https://example.com/track.</p>`, 20) +
		`</body></html>","preheader":"It is on its way","headers":{"X-Campaign":"shipping"}}}}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(body, now); err != nil {
			b.Fatal(err)
		}
	}
}
