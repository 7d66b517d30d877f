package dispatch

import (
	"context"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/channel/sms"
	"github.com/brazenhq/brazen/internal/liquid"
	"github.com/brazenhq/brazen/internal/message"
)

// SMSDeliverer delivers SMS jobs, whose payload is a rendered sms.Message.
type SMSDeliverer struct{ Sender *sms.Sender }

func (d SMSDeliverer) Deliver(ctx context.Context, j brazen.Job) error {
	m, err := payload[sms.Message](j)
	if err != nil {
		return err
	}
	return d.Sender.Send(ctx, m)
}

type smsTemplates struct {
	m    *message.SMS
	body *liquid.Template
}

func (p *Planner) compileSMS(m *message.SMS) (*smsTemplates, error) {
	t, err := p.engine.Compile(m.Body)
	if err != nil {
		return nil, badRequest("messages.sms.body: %v", err)
	}
	return &smsTemplates{m: m, body: t}, nil
}

func (t *smsTemplates) render(u *brazen.Profile, b liquid.Bindings) (sms.Message, error) {
	body, err := t.body.Render(b)
	return sms.Message{To: u.Phone, Body: body, Media: t.m.MediaItems}, err
}

// inSubscriptionGroup reports whether the profile's subscription_groups
// (set through /users/track) has the user subscribed to group. As with
// Braze, an SMS goes only to the group's subscribers: a user never
// subscribed, or unsubscribed, is skipped, whatever the send's
// recipient_subscription_state (which is about email and push).
func inSubscriptionGroup(u *brazen.Profile, group string) bool {
	groups, _ := u.Standard["subscription_groups"].(map[string]any)
	return groups[group] == "subscribed"
}
