// Package sms sends SMS and MMS through a Twilio-compatible Messages API:
// POST {base}/2010-04-01/Accounts/{sid}/Messages.json with a form body and
// the account's SID and token as basic authentication. The base URL is
// configuration, so tests (and Twilio-compatible providers) use their own.
package sms

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/brazenhq/brazen/internal/channel"
)

// Message is one rendered SMS.
type Message struct {
	To    string   `json:"to"`
	Body  string   `json:"body"`
	Media []string `json:"media,omitempty"`
}

// Sender sends through one account.
type Sender struct {
	endpoint   string // …/Messages.json
	sid, token string
	from       string // a phone number, or
	service    string // a messaging service SID
	client     *http.Client
}

// NewSender parses https://SID:TOKEN@host[/base]?from=+15550001111 (or
// ?messaging_service_sid=MG…).
func NewSender(rawURL string, timeout time.Duration) (*Sender, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.User == nil {
		return nil, fmt.Errorf("must be https://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com?from=+15550001111")
	}
	token, _ := u.User.Password()
	s := &Sender{sid: u.User.Username(), token: token, from: u.Query().Get("from"),
		service: u.Query().Get("messaging_service_sid"), client: &http.Client{Timeout: timeout}}
	if s.sid == "" || s.token == "" || (s.from == "") == (s.service == "") {
		return nil, fmt.Errorf("needs the account SID and token as user:password, and exactly one of ?from= or ?messaging_service_sid=")
	}
	base := strings.TrimSuffix(u.Scheme+"://"+u.Host+u.Path, "/")
	s.endpoint = base + "/2010-04-01/Accounts/" + url.PathEscape(s.sid) + "/Messages.json"
	return s, nil
}

// Send sends m. 2xx is accepted by the provider; 429 and 5xx are
// transient; other answers (an invalid or unsubscribed number, …) are
// permanent. Twilio's Messages API takes no idempotency key, so a copy sent
// again after a crash reaches the phone twice: the window is documented.
func (s *Sender) Send(ctx context.Context, m Message) error {
	form := url.Values{"To": {m.To}, "Body": {m.Body}}
	if s.service != "" {
		form.Set("MessagingServiceSid", s.service)
	} else {
		form.Set("From", s.from)
	}
	for _, media := range m.Media {
		form.Add("MediaUrl", media)
	}
	req, err := http.NewRequestWithContext(ctx, "POST", s.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return channel.Permanentf("building the request: %v", err)
	}
	req.SetBasicAuth(s.sid, s.token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return channel.Transientf("%v", err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusTooManyRequests || code >= 500:
		return channel.Transientf("HTTP %d: %s", code, strings.TrimSpace(string(body)))
	default:
		return channel.Permanentf("HTTP %d: %s", code, strings.TrimSpace(string(body)))
	}
}
