package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/channel"
	"github.com/brazenhq/brazen/internal/channel/apns"
	"github.com/brazenhq/brazen/internal/channel/fcm"
	"github.com/brazenhq/brazen/internal/liquid"
	"github.com/brazenhq/brazen/internal/message"
)

// Push platforms, as --push-app names them.
const (
	PlatformIOS     = "ios"
	PlatformAndroid = "android"
)

// pushToken is one of a profile's push tokens.
type pushToken struct{ AppID, Token, DeviceID string }

// tokenPlatform says which service a token belongs to: the platform
// configured for its app id, else its shape — APNs device tokens are 32
// bytes written as 64 hex digits, which FCM registration tokens never are.
func tokenPlatform(apps map[string]string, appID, token string) string {
	if p, ok := apps[appID]; ok {
		return p
	}
	if len(token) == 64 && isHex(token) {
		return PlatformIOS
	}
	return PlatformAndroid
}

func isHex(s string) bool {
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// pushTokensOf returns the profile's tokens for a platform, oldest first
// (push_tokens keeps the order they were registered in), or only the most
// recent one.
func pushTokensOf(u *brazen.Profile, apps map[string]string, platform string, mostRecentOnly bool) []pushToken {
	list, _ := u.Standard["push_tokens"].([]any)
	var out []pushToken
	for _, e := range list {
		m, _ := e.(map[string]any)
		t := pushToken{}
		t.AppID, _ = m["app_id"].(string)
		t.Token, _ = m["token"].(string)
		t.DeviceID, _ = m["device_id"].(string)
		if t.Token == "" || tokenPlatform(apps, t.AppID, t.Token) != platform {
			continue
		}
		if t.DeviceID == "" {
			t.DeviceID = t.Token
		}
		out = append(out, t)
	}
	if mostRecentOnly && len(out) > 1 {
		out = out[len(out)-1:]
	}
	return out
}

// ApplePushJob is an apple_push job's payload: one notification to one
// device.
type ApplePushJob struct {
	Token      string          `json:"token"`
	AppID      string          `json:"app_id,omitempty"`
	PushType   string          `json:"push_type"`
	Priority   int             `json:"priority,omitempty"`
	Expiration time.Time       `json:"expiration,omitzero"`
	CollapseID string          `json:"collapse_id,omitempty"`
	Payload    json.RawMessage `json:"payload"`
}

// AndroidPushJob is an android_push job's payload: one FCM message to one
// device.
type AndroidPushJob struct {
	Token       string            `json:"token"`
	AppID       string            `json:"app_id,omitempty"`
	Data        map[string]string `json:"data"`
	Priority    string            `json:"priority,omitempty"`
	TTL         *int64            `json:"ttl,omitempty"` // seconds
	CollapseKey string            `json:"collapse_key,omitempty"`
}

// TokenRemover takes a push token the service refused off its profile.
type TokenRemover interface {
	RemovePushToken(ctx context.Context, brazeID, token string) error
}

// removeRefused removes the token when err says the service refused it
// for good; err is returned either way (the job fails for good), unless
// the removal itself failed, which is retried.
func removeRefused(ctx context.Context, tokens TokenRemover, j brazen.Job, token string, err error) error {
	if tokens == nil || !errors.Is(err, channel.ErrInvalidToken) {
		return err
	}
	if rerr := tokens.RemovePushToken(ctx, j.BrazeID, token); rerr != nil {
		return channel.Transientf("removing the refused push token: %v (after: %v)", rerr, err)
	}
	return err
}

// APNsDeliverer delivers apple_push jobs. The job's idempotency key goes
// as the apns-id: APNs does not drop duplicates by it, but the device's
// logs and Apple's delivery log show it.
type APNsDeliverer struct {
	Client *apns.Client
	Tokens TokenRemover
}

func (d APNsDeliverer) Deliver(ctx context.Context, j brazen.Job) error {
	m, err := payload[ApplePushJob](j)
	if err != nil {
		return err
	}
	err = d.Client.Send(ctx, apns.Notification{Token: m.Token, ID: apns.UUIDFor(j.Key), PushType: m.PushType,
		Priority: m.Priority, Expiration: m.Expiration, CollapseID: m.CollapseID, Payload: m.Payload})
	return removeRefused(ctx, d.Tokens, j, m.Token, err)
}

// FCMDeliverer delivers android_push jobs through FCM HTTP v1.
type FCMDeliverer struct {
	Client *fcm.Client
	Tokens TokenRemover
}

func (d FCMDeliverer) Deliver(ctx context.Context, j brazen.Job) error {
	m, err := payload[AndroidPushJob](j)
	if err != nil {
		return err
	}
	msg := fcm.Message{Token: m.Token, Data: m.Data, Priority: m.Priority, CollapseKey: m.CollapseKey}
	if m.TTL != nil {
		ttl := time.Duration(*m.TTL) * time.Second
		msg.TTL = &ttl
	}
	return removeRefused(ctx, d.Tokens, j, m.Token, d.Client.Send(ctx, msg))
}

// textTemplates are the personalised strings of a push: Liquid in the
// alert, title, URI and string extras.
type textTemplates map[string]*liquid.Template

func (p *Planner) compileTexts(path string, texts map[string]string, extra map[string]any) (textTemplates, error) {
	t := textTemplates{}
	add := func(name, src string) error {
		if src == "" {
			return nil
		}
		c, err := p.engine.Compile(src)
		if err != nil {
			return badRequest("%s.%s: %v", path, name, err)
		}
		t[name] = c
		return nil
	}
	for name, src := range texts {
		if err := add(name, src); err != nil {
			return nil, err
		}
	}
	for k, v := range extra {
		if s, ok := v.(string); ok {
			if err := add("extra."+k, s); err != nil {
				return nil, err
			}
		}
	}
	return t, nil
}

// render renders one named text; "" when the message has none.
func (t textTemplates) render(name string, b liquid.Bindings) (string, error) {
	c := t[name]
	if c == nil {
		return "", nil
	}
	return c.Render(b)
}

// renderExtra returns extra with its string values rendered.
func (t textTemplates) renderExtra(extra map[string]any, b liquid.Bindings) (map[string]any, error) {
	if len(extra) == 0 {
		return extra, nil
	}
	out := maps.Clone(extra)
	for k := range extra {
		if c := t["extra."+k]; c != nil {
			s, err := c.Render(b)
			if err != nil {
				return nil, err
			}
			out[k] = s
		}
	}
	return out, nil
}

// errPushTooLong skips a user whose rendered push is over Braze's limit.
var errPushTooLong = errors.New("the rendered push is over the payload limit")

type appleTemplates struct {
	m     *message.ApplePush
	texts textTemplates
}

func (p *Planner) compileApple(m *message.ApplePush) (*appleTemplates, error) {
	texts := map[string]string{"custom_uri": m.CustomURI}
	if m.Alert != nil {
		texts["alert.body"], texts["alert.title"] = m.Alert.Body, m.Alert.Title
	}
	t, err := p.compileTexts("messages.apple_push", texts, m.Extra)
	return &appleTemplates{m: m, texts: t}, err
}

// render returns the user's notification, without a token.
func (t *appleTemplates) render(b liquid.Bindings) (ApplePushJob, error) {
	m := *t.m
	var err error
	if t.m.Alert != nil {
		a := *t.m.Alert
		if a.Body, err = t.texts.render("alert.body", b); err != nil {
			return ApplePushJob{}, err
		}
		if a.Title, err = t.texts.render("alert.title", b); err != nil {
			return ApplePushJob{}, err
		}
		m.Alert = &a
	}
	if m.CustomURI, err = t.texts.render("custom_uri", b); err != nil {
		return ApplePushJob{}, err
	}
	if m.Extra, err = t.texts.renderExtra(t.m.Extra, b); err != nil {
		return ApplePushJob{}, err
	}
	body := m.APNsPayload()
	if len(body) > message.MaxApplePayload {
		return ApplePushJob{}, errPushTooLong
	}
	pushType := "alert"
	if m.ContentAvailable && m.Alert == nil {
		pushType = "background"
	}
	return ApplePushJob{PushType: pushType, Priority: m.APNsPriority, Expiration: m.Expiry,
		CollapseID: m.CollapseID, Payload: body}, nil
}

type androidTemplates struct {
	m     *message.AndroidPush
	texts textTemplates
}

func (p *Planner) compileAndroid(m *message.AndroidPush) (*androidTemplates, error) {
	t, err := p.compileTexts("messages.android_push", map[string]string{
		"alert": m.Alert, "title": m.Title, "custom_uri": m.CustomURI, "summary_text": m.SummaryText}, m.Extra)
	return &androidTemplates{m: m, texts: t}, err
}

func (t *androidTemplates) render(b liquid.Bindings) (AndroidPushJob, error) {
	m := *t.m
	var err error
	for _, f := range []struct {
		name string
		dst  *string
	}{{"alert", &m.Alert}, {"title", &m.Title}, {"custom_uri", &m.CustomURI}, {"summary_text", &m.SummaryText}} {
		if *f.dst, err = t.texts.render(f.name, b); err != nil {
			return AndroidPushJob{}, err
		}
	}
	if m.Extra, err = t.texts.renderExtra(t.m.Extra, b); err != nil {
		return AndroidPushJob{}, err
	}
	data := m.FCMData()
	if n, _ := json.Marshal(data); len(n) > message.MaxAndroidPayload {
		return AndroidPushJob{}, errPushTooLong
	}
	return AndroidPushJob{Data: data, Priority: m.AndroidPriority, TTL: m.TimeToLive, CollapseKey: m.CollapseKey}, nil
}
