// Package webhook delivers webhook messages: one HTTP request per
// recipient, with the method, URL, headers and body the message gives,
// and the job's idempotency key in an Idempotency-Key header so that a
// receiver can drop the copy a crash may cause.
package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/brazenhq/brazen/internal/channel"
)

// Request is one rendered webhook message.
type Request struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body,omitempty"`
}

// Sender sends webhook requests.
type Sender struct {
	client *http.Client
}

// maxRedirects bounds the redirects a delivery follows; a redirect of a
// POST or PUT is followed only when it keeps the method and body (307,
// 308), as Go's client does.
const maxRedirects = 3

// NewSender returns a Sender whose requests time out after timeout.
func NewSender(timeout time.Duration) *Sender {
	// Deliveries go out many at a time, often to one host: keep enough
	// idle connections per host that they are reused rather than redialled
	// (Go's default keeps 2).
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 1024
	tr.MaxIdleConnsPerHost = 256
	return &Sender{client: &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > maxRedirects {
				return fmt.Errorf("more than %d redirects", maxRedirects)
			}
			return nil
		},
	}}
}

// Send makes the request. A 2xx answer is a delivery; 408, 429 and 5xx
// answers and network errors are transient; other answers are permanent.
func (s *Sender) Send(ctx context.Context, key string, r Request) error {
	var body io.Reader
	if r.Body != "" {
		body = strings.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, body)
	if err != nil {
		return channel.Permanentf("building the request: %v", err)
	}
	for k, v := range r.Headers {
		req.Header.Set(k, v)
	}
	if req.Header.Get("Content-Type") == "" && r.Body != "" {
		req.Header.Set("Content-Type", inferContentType(r.Body))
	}
	req.Header.Set("Idempotency-Key", key)
	req.Header.Set("User-Agent", "Brazen-Webhook/1")
	resp, err := s.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ue interface{ Timeout() bool }
		if errors.As(err, &ue) && ue.Timeout() {
			return channel.Transientf("no answer within the timeout: %v", err)
		}
		return channel.Transientf("%v", err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return &channel.Error{Err: fmt.Errorf("HTTP %d from %s", code, req.URL.Host), RetryAfter: channel.ParseRetryAfter(resp.Header.Get("Retry-After"))}
	default:
		return channel.Permanentf("HTTP %d from %s", code, req.URL.Host)
	}
}

// inferContentType guesses a body's type as Braze does when the message
// sets none: JSON if it looks like JSON, else form data.
func inferContentType(body string) string {
	if t := strings.TrimSpace(body); strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
		return "application/json"
	}
	return "application/x-www-form-urlencoded"
}
