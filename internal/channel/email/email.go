// Package email delivers email messages over SMTP (github.com/wneessen/
// go-mail): STARTTLS when the server offers it (smtp://), or TLS from the
// first byte (smtps://), with authentication when the URL carries a user.
package email

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/brazenhq/brazen/internal/channel"
)

// ErrHardBounce marks a permanent refusal of the recipient (a 5xx answer
// to RCPT TO): the address goes on the hard-bounce list.
var ErrHardBounce = errors.New("hard bounce")

// Message is one rendered email.
type Message struct {
	From        string            `json:"from"` // "Display Name <addr@domain>"
	To          string            `json:"to"`
	ReplyTo     string            `json:"reply_to,omitempty"`
	Subject     string            `json:"subject,omitempty"`
	HTML        string            `json:"html,omitempty"`
	Text        string            `json:"text,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	Unsubscribe string            `json:"unsubscribe,omitempty"` // List-Unsubscribe URL
}

// Sender sends email through one SMTP server.
type Sender struct {
	host string
	opts []mail.Option
	// idle holds connections to the server between messages: a message
	// sent on an open connection costs MAIL, RCPT, DATA and RSET, not a
	// dial, a greeting, EHLO, STARTTLS and AUTH.
	idle chan *mail.Client
}

// maxIdle bounds the connections kept open between messages.
const maxIdle = 32

// NewSender parses an SMTP URL: smtp://[user:password@]host[:port] (port
// 587 by default; STARTTLS if offered, required with ?tls=required) or
// smtps://…:465 (implicit TLS).
func NewSender(rawURL string, timeout time.Duration) (*Sender, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("must be smtp://[user:password@]host[:port] or smtps://…")
	}
	opts := []mail.Option{mail.WithTimeout(timeout)}
	port := 587
	switch u.Scheme {
	case "smtp":
		policy := mail.TLSOpportunistic
		switch u.Query().Get("tls") {
		case "required":
			policy = mail.TLSMandatory
		case "none":
			policy = mail.NoTLS
		case "":
		default:
			return nil, fmt.Errorf("tls must be required or none")
		}
		opts = append(opts, mail.WithTLSPolicy(policy))
	case "smtps":
		port = 465
		opts = append(opts, mail.WithSSL())
	default:
		return nil, fmt.Errorf("unknown scheme %q: use smtp:// or smtps://", u.Scheme)
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("invalid port %q", p)
		}
	}
	opts = append(opts, mail.WithPort(port))
	if u.User != nil {
		pw, _ := u.User.Password()
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover),
			mail.WithUsername(u.User.Username()), mail.WithPassword(pw))
	}
	return &Sender{host: u.Hostname(), opts: opts, idle: make(chan *mail.Client, maxIdle)}, nil
}

// Send delivers m. The job's key becomes the Message-ID's local part, so
// a copy sent again after a crash carries the same Message-ID, which mail
// systems use to drop duplicates. A 5xx answer is permanent (a hard
// bounce when it refuses the recipient); 4xx answers and network errors
// are transient.
func (s *Sender) Send(ctx context.Context, key string, m Message) error {
	msg := mail.NewMsg()
	if err := msg.From(m.From); err != nil {
		return channel.Permanentf("from %q: %v", m.From, err)
	}
	if err := msg.To(m.To); err != nil {
		return channel.Permanentf("to %q: %v", m.To, err)
	}
	if m.ReplyTo != "" {
		if err := msg.ReplyTo(m.ReplyTo); err != nil {
			return channel.Permanentf("reply_to %q: %v", m.ReplyTo, err)
		}
	}
	msg.Subject(m.Subject)
	msg.SetHeader(mail.HeaderMessageID, "<"+strings.ReplaceAll(key, "/", ".")+"@brazen>")
	for k, v := range m.Headers {
		msg.SetGenHeader(mail.Header(k), v)
	}
	if m.Unsubscribe != "" {
		msg.SetGenHeader("List-Unsubscribe", "<"+m.Unsubscribe+">")
		msg.SetGenHeader("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
	}
	switch {
	case m.HTML != "" && m.Text != "":
		msg.SetBodyString(mail.TypeTextPlain, m.Text)
		msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	case m.HTML != "":
		msg.SetBodyString(mail.TypeTextHTML, m.HTML)
	default:
		msg.SetBodyString(mail.TypeTextPlain, m.Text)
	}
	c, reused, err := s.client(ctx)
	if err != nil {
		return classify(ctx, err)
	}
	err = c.Send(msg)
	if err != nil && reused && connectionLost(err) {
		// The server closed the idle connection (a timeout, a restart):
		// the message never reached it. Try once on a new connection.
		c.Close()
		if c, err = s.dial(ctx); err != nil {
			return classify(ctx, err)
		}
		err = c.Send(msg)
	}
	var se *mail.SendError
	if errors.As(err, &se) && se.Reason == mail.ErrSMTPReset {
		// The server accepted the message (250 after DATA); only the RSET
		// that readies the connection for the next one failed. Sending
		// it again would deliver it twice.
		c.Close()
		return nil
	}
	if err != nil {
		c.Close()
		return classify(ctx, err)
	}
	select {
	case s.idle <- c:
	default:
		c.Close()
	}
	return nil
}

// client returns an idle connection, or a new one.
func (s *Sender) client(ctx context.Context) (c *mail.Client, reused bool, err error) {
	select {
	case c := <-s.idle:
		return c, true, nil
	default:
	}
	c, err = s.dial(ctx)
	return c, false, err
}

func (s *Sender) dial(ctx context.Context) (*mail.Client, error) {
	c, err := mail.NewClient(s.host, s.opts...)
	if err != nil {
		return nil, channel.Permanentf("SMTP client: %v", err)
	}
	if err := c.DialWithContext(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// connectionLost reports whether a send failed before the server took the
// message, for want of a live connection.
func connectionLost(err error) bool {
	var se *mail.SendError
	if !errors.As(err, &se) {
		return true
	}
	return se.Reason == mail.ErrConnCheck
}

// classify turns a failed send into a delivery error: a 5xx answer is
// permanent (a hard bounce when it refuses the recipient); 4xx answers
// and network errors are transient.
func classify(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ce *channel.Error
	if errors.As(err, &ce) {
		return err
	}
	var se *mail.SendError
	if errors.As(err, &se) && !se.IsTemp() && se.Reason == mail.ErrSMTPRcptTo {
		return channel.Permanentf("%w: %v", ErrHardBounce, err)
	}
	if errors.As(err, &se) && !se.IsTemp() && se.Reason != mail.ErrConnCheck && se.Reason != mail.ErrSMTPReset {
		return channel.Permanentf("%v", err)
	}
	return channel.Transientf("%v", err)
}
