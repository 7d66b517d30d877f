package dispatch

import (
	"context"
	"errors"
	"html"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/channel"
	"github.com/brazenhq/brazen/internal/channel/email"
	"github.com/brazenhq/brazen/internal/liquid"
	"github.com/brazenhq/brazen/internal/message"
)

// EmailDeliverer delivers email jobs, whose payload is a rendered
// email.Message, and puts an address the server refuses for good on the
// hard-bounce list (Bounces, if set).
type EmailDeliverer struct {
	Sender  *email.Sender
	Bounces brazen.BounceStore
}

func (d EmailDeliverer) Deliver(ctx context.Context, j brazen.Job) error {
	m, err := payload[email.Message](j)
	if err != nil {
		return err
	}
	err = d.Sender.Send(ctx, j.Key, m)
	if errors.Is(err, email.ErrHardBounce) && d.Bounces != nil {
		if berr := d.Bounces.AddBounces(ctx, []brazen.Bounce{{Email: m.To, BouncedAt: time.Now(), Reason: err.Error()}}); berr != nil {
			return channel.Transientf("recording the hard bounce of %s: %v", m.To, berr)
		}
	}
	return err
}

// emailTemplates are an email message's compiled parts.
type emailTemplates struct {
	m       *message.Email
	subject *liquid.Template
	body    *liquid.Template
	text    *liquid.Template // nil: generated from the body
	headers map[string]*liquid.Template
}

func (p *Planner) compileEmail(m *message.Email) (*emailTemplates, error) {
	t := &emailTemplates{m: m, headers: map[string]*liquid.Template{}}
	var err error
	if t.subject, err = p.engine.Compile(m.Subject); err != nil {
		return nil, badRequest("messages.email.subject: %v", err)
	}
	if t.body, err = p.engine.Compile(m.Body); err != nil {
		return nil, badRequest("messages.email.body: %v", err)
	}
	if m.PlaintextBody != "" {
		if t.text, err = p.engine.Compile(m.PlaintextBody); err != nil {
			return nil, badRequest("messages.email.plaintext_body: %v", err)
		}
	}
	for k, v := range m.Headers {
		if t.headers[k], err = p.engine.Compile(v); err != nil {
			return nil, badRequest("messages.email.headers[%q]: %v", k, err)
		}
	}
	return t, nil
}

func (t *emailTemplates) render(u *brazen.Profile, b liquid.Bindings) (email.Message, error) {
	m := email.Message{From: t.m.From.String(), To: u.Email, Headers: map[string]string{},
		Unsubscribe: "mailto:" + t.m.From.Address + "?subject=unsubscribe"}
	if t.m.ReplyTo != nil && !t.m.NoReplyTo {
		m.ReplyTo = t.m.ReplyTo.String()
	}
	var err error
	if m.Subject, err = t.subject.Render(b); err != nil {
		return m, err
	}
	if m.HTML, err = t.body.Render(b); err != nil {
		return m, err
	}
	if t.text != nil {
		if m.Text, err = t.text.Render(b); err != nil {
			return m, err
		}
	} else {
		m.Text = plainText(m.HTML)
	}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range t.headers {
			if !yield(k) {
				return
			}
		}
	}) {
		if m.Headers[k], err = t.headers[k].Render(b); err != nil {
			return m, err
		}
	}
	return m, nil
}

var (
	htmlBreaks = regexp.MustCompile(`(?i)<(br|/p|/div|/h[1-6]|/li|/tr)\b[^>]*>`)
	htmlTags   = regexp.MustCompile(`<[^>]*>`)
	blankLines = regexp.MustCompile(`\n[ \t]*\n([ \t]*\n)+`)
)

// plainText is the plain-text part Braze generates when a message gives
// none: the HTML without its tags, line breaks kept.
func plainText(h string) string {
	s := htmlBreaks.ReplaceAllString(h, "$0\n")
	s = htmlTags.ReplaceAllString(s, "")
	s = html.UnescapeString(s)
	s = blankLines.ReplaceAllString(s, "\n\n")
	return strings.TrimSpace(s)
}

// subscribed applies recipient_subscription_state to a profile's
// subscription attribute (email_subscribe or push_subscribe; absent means
// subscribed, Braze's default).
func subscribed(u *brazen.Profile, attr, state string) bool {
	s, _ := u.Standard[attr].(string)
	if s == "" {
		s = "subscribed"
	}
	switch state {
	case message.SubscriptionAll:
		return true
	case message.SubscriptionOptedIn:
		return s == "opted_in"
	}
	return s != "unsubscribed"
}
