// Package fcm sends push notifications through Firebase Cloud Messaging's
// HTTP v1 API: one POST {base}/v1/projects/{project}/messages:send per
// device, authorized by an OAuth2 access token the client gets for a
// service account with the JWT bearer grant (RFC 7523) and caches.
//
// Data messages only: the app renders them, as Braze's SDK does.
package fcm

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/brazenhq/brazen/internal/channel"
)

const (
	// DefaultBaseURL is FCM's endpoint.
	DefaultBaseURL = "https://fcm.googleapis.com"
	// DefaultTokenURI is Google's OAuth2 token endpoint, used when the
	// service account file names none.
	DefaultTokenURI = "https://oauth2.googleapis.com/token"
	// Scope is the OAuth2 scope sending needs.
	Scope = "https://www.googleapis.com/auth/firebase.messaging"
)

// Credentials is a Google service account: who signs, with which key, for
// which Firebase project.
type Credentials struct {
	ProjectID    string
	ClientEmail  string
	PrivateKeyID string // the JWT "kid"; optional
	TokenURI     string // where the signed assertion is exchanged for an access token
	Key          *rsa.PrivateKey
}

// LoadCredentials parses a service account key file as the Firebase
// console hands them out: JSON with "type": "service_account", project_id,
// client_email, private_key (an RSA key in a PKCS#8 "PRIVATE KEY" PEM
// block), private_key_id and token_uri.
func LoadCredentials(jsonBytes []byte) (*Credentials, error) {
	var f struct {
		Type         string `json:"type"`
		ProjectID    string `json:"project_id"`
		ClientEmail  string `json:"client_email"`
		PrivateKey   string `json:"private_key"`
		PrivateKeyID string `json:"private_key_id"`
		TokenURI     string `json:"token_uri"`
	}
	if err := json.Unmarshal(jsonBytes, &f); err != nil {
		return nil, fmt.Errorf("fcm credentials: not a service account JSON file: %v", err)
	}
	if f.Type != "service_account" {
		return nil, fmt.Errorf("fcm credentials: type is %q, want \"service_account\" (a service account key file from the Firebase console)", f.Type)
	}
	var missing []string
	for _, kv := range [][2]string{{"project_id", f.ProjectID}, {"client_email", f.ClientEmail}, {"private_key", f.PrivateKey}} {
		if strings.TrimSpace(kv[1]) == "" {
			missing = append(missing, kv[0])
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("fcm credentials: missing %s", strings.Join(missing, ", "))
	}
	if f.TokenURI == "" {
		f.TokenURI = DefaultTokenURI
	}
	if u, err := url.Parse(f.TokenURI); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("fcm credentials: token_uri %q is not an http(s) URL", f.TokenURI)
	}
	key, err := parseKey(f.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("fcm credentials: private_key: %v", err)
	}
	return &Credentials{ProjectID: f.ProjectID, ClientEmail: f.ClientEmail, PrivateKeyID: f.PrivateKeyID, TokenURI: f.TokenURI, Key: key}, nil
}

func parseKey(s string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("not a PEM block (want -----BEGIN PRIVATE KEY-----)")
	}
	if block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("PEM block is %q, want \"PRIVATE KEY\" (PKCS#8)", block.Type)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("a %T, want an RSA key", k)
	}
	return rk, nil
}

// Config is how to reach FCM.
type Config struct {
	// BaseURL defaults to DefaultBaseURL.
	BaseURL     string
	Credentials *Credentials
	// Timeout bounds each request, to FCM or to the token endpoint; 10s
	// if zero.
	Timeout time.Duration
	// RootCAs verifies the servers; nil means the system's roots.
	RootCAs *x509.CertPool
}

// Client sends messages for one project. It is safe for concurrent use.
type Client struct {
	endpoint string // …/v1/projects/{project}/messages:send
	creds    Credentials
	client   *http.Client
	now      func() time.Time // tests move the clock

	refresh chan struct{} // held by the one Send fetching an access token

	mu      sync.Mutex // guards access and expires
	access  string
	expires time.Time
}

// New validates c and returns a Client.
func New(c Config) (*Client, error) {
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.RawQuery != "" {
		return nil, fmt.Errorf("fcm BaseURL %q: want https://host[:port]", c.BaseURL)
	}
	cr := c.Credentials
	switch {
	case cr == nil:
		return nil, errors.New("fcm Credentials: missing (see LoadCredentials)")
	case cr.Key == nil:
		return nil, errors.New("fcm Credentials: no private key")
	case cr.ProjectID == "":
		return nil, errors.New("fcm Credentials: no project id")
	case cr.ClientEmail == "":
		return nil, errors.New("fcm Credentials: no client email")
	case c.Timeout < 0:
		return nil, errors.New("fcm Timeout: negative")
	}
	creds := *cr
	if creds.TokenURI == "" {
		creds.TokenURI = DefaultTokenURI
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ForceAttemptHTTP2 = true
	tr.TLSClientConfig = &tls.Config{RootCAs: c.RootCAs, MinVersion: tls.VersionTLS12}
	tr.MaxIdleConnsPerHost = 64 // if FCM speaks HTTP/1.1 (a proxy, a test server)
	base := strings.TrimSuffix(u.Scheme+"://"+u.Host+u.Path, "/")
	return &Client{
		endpoint: base + "/v1/projects/" + url.PathEscape(creds.ProjectID) + "/messages:send",
		creds:    creds,
		client:   &http.Client{Transport: tr, Timeout: c.Timeout},
		now:      time.Now,
		refresh:  make(chan struct{}, 1),
	}, nil
}

// Message is one data message to one device.
type Message struct {
	Token string
	Data  map[string]string
	// Priority is "" (FCM's default), "normal" or "high".
	Priority string
	// TTL is how long FCM keeps the message for an offline device; nil
	// is FCM's default (4 weeks), 0 is now or never.
	TTL         *time.Duration
	CollapseKey string
}

type sendRequest struct {
	Message message `json:"message"`
}

type message struct {
	Token   string            `json:"token"`
	Data    map[string]string `json:"data,omitempty"`
	Android *android          `json:"android,omitempty"`
}

type android struct {
	Priority    string `json:"priority,omitempty"`
	TTL         string `json:"ttl,omitempty"`
	CollapseKey string `json:"collapse_key,omitempty"`
}

// Send delivers m to FCM. A 200 is accepted. A device token FCM no longer
// accepts (UNREGISTERED, NOT_FOUND, SENDER_ID_MISMATCH, or INVALID_ARGUMENT
// about the registration token) is a permanent failure wrapping
// channel.ErrInvalidToken. A 401 drops the cached access token and is
// transient, as are 429, 5xx and network errors; other refusals are
// permanent, and so is the token endpoint refusing the credentials.
func (c *Client) Send(ctx context.Context, m Message) error {
	if m.Token == "" {
		return channel.Permanentf("FCM: no registration token")
	}
	msg := message{Token: m.Token, Data: m.Data}
	var a android
	switch m.Priority {
	case "":
	case "normal", "high":
		a.Priority = strings.ToUpper(m.Priority)
	default:
		return channel.Permanentf("FCM: priority %q, want \"normal\" or \"high\"", m.Priority)
	}
	if m.TTL != nil {
		a.TTL = strconv.FormatFloat(max(*m.TTL, 0).Seconds(), 'f', -1, 64) + "s"
	}
	a.CollapseKey = m.CollapseKey
	if a != (android{}) {
		msg.Android = &a
	}
	body, err := json.Marshal(sendRequest{msg})
	if err != nil {
		return channel.Permanentf("FCM: encoding the message: %v", err)
	}
	access, err := c.accessToken(ctx)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", c.endpoint, bytes.NewReader(body))
	if err != nil {
		return channel.Permanentf("FCM: building the request: %v", err)
	}
	req.Header.Set("Authorization", "Bearer "+access)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return channel.Transientf("FCM: %v", err)
	}
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<10))
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	if resp.StatusCode == http.StatusUnauthorized {
		c.dropToken(access)
	}
	return classify(resp.StatusCode, answer, resp.Header.Get("Retry-After"))
}

// fcmError is the body of FCM's refusals, a google.rpc.Status.
type fcmError struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
		Details []struct {
			Type      string `json:"@type"`
			ErrorCode string `json:"errorCode"`
		} `json:"details"`
	} `json:"error"`
}

// classify turns an FCM refusal into a delivery failure.
func classify(code int, body []byte, retryAfterHeader string) error {
	var e fcmError
	json.Unmarshal(body, &e)
	status, errorCode := e.Error.Status, ""
	for _, d := range e.Error.Details {
		if d.ErrorCode != "" {
			errorCode = d.ErrorCode
			break
		}
	}
	desc := fmt.Sprintf("FCM %d", code)
	for _, s := range []string{status, errorCode, e.Error.Message} {
		if s != "" && !strings.Contains(desc, s) {
			desc += " " + s
		}
	}
	switch {
	case errorCode == "UNREGISTERED",
		errorCode == "SENDER_ID_MISMATCH", // a token of another Firebase project's app
		code == http.StatusNotFound && status == "NOT_FOUND",
		code == http.StatusBadRequest && status == "INVALID_ARGUMENT" &&
			strings.Contains(strings.ToLower(e.Error.Message), "registration token"):
		return &channel.Error{Permanent: true, Err: fmt.Errorf("%s: %w", desc, channel.ErrInvalidToken)}
	case code == http.StatusUnauthorized:
		return channel.Transientf("%s (the access token was refused; a new one will be fetched)", desc)
	case code == http.StatusTooManyRequests || code >= 500:
		return &channel.Error{Err: errors.New(desc), RetryAfter: channel.ParseRetryAfter(retryAfterHeader)}
	default:
		return channel.Permanentf("%s", desc)
	}
}

// accessToken returns a cached access token, or fetches one if there is
// none valid for another minute. One Send fetches at a time; the others
// wait for its token rather than asking for their own.
func (c *Client) accessToken(ctx context.Context) (string, error) {
	if tok := c.cached(); tok != "" {
		return tok, nil
	}
	select {
	case c.refresh <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-c.refresh }()
	if tok := c.cached(); tok != "" {
		return tok, nil
	}
	tok, expiresIn, err := c.fetchToken(ctx)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	c.access, c.expires = tok, c.now().Add(expiresIn)
	c.mu.Unlock()
	return tok, nil
}

func (c *Client) cached() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.access != "" && c.now().Before(c.expires.Add(-time.Minute)) {
		return c.access
	}
	return ""
}

// dropToken forgets the access token FCM refused, unless it has already
// been replaced.
func (c *Client) dropToken(refused string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.access == refused {
		c.access = ""
	}
}

// fetchToken exchanges a signed assertion for an access token.
func (c *Client) fetchToken(ctx context.Context) (string, time.Duration, error) {
	assertion, err := c.assertion()
	if err != nil {
		return "", 0, channel.Permanentf("FCM: signing the token request: %v", err)
	}
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {assertion}}
	req, err := http.NewRequestWithContext(ctx, "POST", c.creds.TokenURI, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, channel.Permanentf("FCM: building the token request: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "", 0, ctx.Err()
		}
		return "", 0, channel.Transientf("FCM token endpoint: %v", err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<10))
	resp.Body.Close()
	var answer struct {
		AccessToken      string `json:"access_token"`
		ExpiresIn        int64  `json:"expires_in"`
		TokenType        string `json:"token_type"`
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}
	json.Unmarshal(body, &answer)
	switch code := resp.StatusCode; {
	case code == http.StatusOK && answer.AccessToken != "":
		// A token without a lifetime is used once and not cached.
		return answer.AccessToken, time.Duration(max(answer.ExpiresIn, 0)) * time.Second, nil
	case code == http.StatusOK:
		return "", 0, channel.Transientf("FCM token endpoint: no access_token in the answer")
	case code == http.StatusTooManyRequests || code >= 500:
		return "", 0, &channel.Error{Err: fmt.Errorf("FCM token endpoint: HTTP %d %s", code, answer.Error),
			RetryAfter: channel.ParseRetryAfter(resp.Header.Get("Retry-After"))}
	default:
		return "", 0, channel.Permanentf("FCM: the token endpoint refused the service account credentials of %s: HTTP %d %s %s",
			c.creds.ClientEmail, code, answer.Error, answer.ErrorDescription)
	}
}

// assertion makes the RS256 JWT Google's token endpoint takes for a
// service account.
func (c *Client) assertion() (string, error) {
	header := map[string]string{"alg": "RS256", "typ": "JWT"}
	if c.creds.PrivateKeyID != "" {
		header["kid"] = c.creds.PrivateKeyID
	}
	h, _ := json.Marshal(header)
	now := c.now().Unix()
	claims, _ := json.Marshal(struct {
		Iss   string `json:"iss"`
		Scope string `json:"scope"`
		Aud   string `json:"aud"`
		Iat   int64  `json:"iat"`
		Exp   int64  `json:"exp"`
	}{c.creds.ClientEmail, Scope, c.creds.TokenURI, now, now + 3600})
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString(h) + "." + enc.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, c.creds.Key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return signing + "." + enc.EncodeToString(sig), nil
}
