// Package apns sends push notifications through Apple's Push Notification
// service: the HTTP/2 provider API with token-based authentication, one
// POST {base}/3/device/{token} per notification, signed by an ES256 JWT
// made from the team's .p8 key. Requests are multiplexed over long-lived
// HTTP/2 connections, which Apple asks providers to keep open.
//
// An http:// base URL is spoken as HTTP/2 without TLS (h2c), so that tests
// and local relays need no certificates; see package apnstest.
package apns

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
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

// DefaultBaseURL is Apple's production endpoint. The development
// (sandbox) one is https://api.sandbox.push.apple.com.
const DefaultBaseURL = "https://api.push.apple.com"

// tokenLifetime is how long a provider token is used. Apple refuses tokens
// older than an hour (ExpiredProviderToken) and refuses renewals more often
// than every 20 minutes (TooManyProviderTokenUpdates).
const tokenLifetime = 50 * time.Minute

// Config is how to reach APNs and sign for a team.
type Config struct {
	// BaseURL defaults to DefaultBaseURL. An http:// URL is spoken as
	// HTTP/2 without TLS (h2c): for tests and local relays.
	BaseURL string
	// KeyID is the .p8 key's id (the JWT's "kid"); TeamID the Apple
	// developer team's (the JWT's "iss").
	KeyID, TeamID string
	// Key is the .p8 signing key, see LoadKey.
	Key *ecdsa.PrivateKey
	// Topic is the default apns-topic, the app's bundle id.
	Topic string
	// Timeout bounds each request; 10s if zero.
	Timeout time.Duration
	// RootCAs verifies the server; nil means the system's roots.
	RootCAs *x509.CertPool
}

// LoadKey parses a .p8 file: a PKCS#8 "PRIVATE KEY" PEM block holding a
// P-256 ECDSA key, as Apple's developer site hands them out.
func LoadKey(pemBytes []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("apns key: not a PEM file (want the .p8 file from Apple, -----BEGIN PRIVATE KEY-----)")
	}
	if block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("apns key: PEM block is %q, want \"PRIVATE KEY\" (PKCS#8, the .p8 file from Apple)", block.Type)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("apns key: %v", err)
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("apns key: a %T, want an ECDSA P-256 key", k)
	}
	if ek.Curve != elliptic.P256() {
		return nil, fmt.Errorf("apns key: ECDSA on %s, want P-256", ek.Curve.Params().Name)
	}
	return ek, nil
}

// Client sends notifications. It is safe for concurrent use; concurrent
// Sends share HTTP/2 connections.
type Client struct {
	base   string // no trailing slash
	keyID  string
	teamID string
	key    *ecdsa.PrivateKey
	topic  string
	client *http.Client
	now    func() time.Time // tests move the clock

	mu  sync.Mutex // guards jwt and iat
	jwt string     // the provider token, "" until first needed
	iat time.Time  // when jwt was issued
}

// New validates c and returns a Client.
func New(c Config) (*Client, error) {
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.RawQuery != "" {
		return nil, fmt.Errorf("apns BaseURL %q: want https://host[:port] (or http:// for HTTP/2 without TLS)", c.BaseURL)
	}
	switch {
	case c.Key == nil:
		return nil, errors.New("apns Key: missing (see LoadKey)")
	case c.Key.Curve != elliptic.P256():
		return nil, errors.New("apns Key: want an ECDSA P-256 key")
	case c.KeyID == "":
		return nil, errors.New("apns KeyID: missing (the id of the .p8 key)")
	case c.TeamID == "":
		return nil, errors.New("apns TeamID: missing (the Apple developer team id)")
	case c.Timeout < 0:
		return nil, errors.New("apns Timeout: negative")
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// A ping after a minute of silence finds connections a middlebox has
	// dropped before a notification is lost on them.
	tr.HTTP2 = &http.HTTP2Config{SendPingTimeout: time.Minute, PingTimeout: 15 * time.Second}
	if u.Scheme == "https" {
		tr.ForceAttemptHTTP2 = true
		tr.TLSClientConfig = &tls.Config{RootCAs: c.RootCAs, MinVersion: tls.VersionTLS12}
	} else {
		var p http.Protocols
		p.SetUnencryptedHTTP2(true)
		tr.Protocols = &p
	}
	return &Client{
		base:   strings.TrimSuffix(u.Scheme+"://"+u.Host+u.Path, "/"),
		keyID:  c.KeyID,
		teamID: c.TeamID,
		key:    c.Key,
		topic:  c.Topic,
		client: &http.Client{Transport: tr, Timeout: c.Timeout},
		now:    time.Now,
	}, nil
}

// Notification is one push to one device.
type Notification struct {
	// Token is the device token, in hex.
	Token string
	// ID is the apns-id, a canonical lower-case UUID (see UUIDFor);
	// optional, APNs makes one up otherwise.
	ID string
	// Topic overrides Config.Topic.
	Topic string
	// PushType is the apns-push-type: "alert" (the default) or
	// "background", or another type Apple defines.
	PushType string
	// Priority is the apns-priority (10 at once, 5 when convenient, 1
	// lowest); 0 omits the header and APNs takes 10.
	Priority int
	// Expiration is until when APNs keeps retrying an offline device; zero
	// omits the header and APNs tries once.
	Expiration time.Time
	// CollapseID makes a later notification replace an earlier one.
	CollapseID string
	// Payload is the JSON body, {"aps":{…},…}.
	Payload []byte
}

// Send delivers n to APNs. A 200 is accepted. A device token APNs no longer
// accepts (410 Unregistered, 400 BadDeviceToken or DeviceTokenNotForTopic)
// is a permanent failure wrapping channel.ErrInvalidToken; 429, 5xx and
// network errors are transient; other refusals are permanent. An expired
// provider token is renewed and the failure is transient, so the retry
// goes out with the new one.
func (c *Client) Send(ctx context.Context, n Notification) error {
	if n.Token == "" {
		return channel.Permanentf("APNs: no device token")
	}
	if !isHex(n.Token) {
		return &channel.Error{Permanent: true, Err: fmt.Errorf("APNs device token %.16q… is not hex: %w", n.Token, channel.ErrInvalidToken)}
	}
	topic := n.Topic
	if topic == "" {
		topic = c.topic
	}
	if topic == "" {
		return channel.Permanentf("APNs: no topic (the app's bundle id) in the notification or the configuration")
	}
	if len(n.Payload) == 0 {
		return channel.Permanentf("APNs: empty payload")
	}
	jwt, err := c.providerToken()
	if err != nil {
		return channel.Permanentf("APNs: signing the provider token: %v", err)
	}
	req, err := http.NewRequestWithContext(ctx, "POST", c.base+"/3/device/"+n.Token, bytes.NewReader(n.Payload))
	if err != nil {
		return channel.Permanentf("APNs: building the request: %v", err)
	}
	h := req.Header
	h.Set("authorization", "bearer "+jwt)
	h.Set("content-type", "application/json")
	h.Set("apns-topic", topic)
	pushType := n.PushType
	if pushType == "" {
		pushType = "alert"
	}
	h.Set("apns-push-type", pushType)
	if n.ID != "" {
		h.Set("apns-id", n.ID)
	}
	if n.Priority != 0 {
		h.Set("apns-priority", strconv.Itoa(n.Priority))
	}
	if !n.Expiration.IsZero() {
		h.Set("apns-expiration", strconv.FormatInt(max(n.Expiration.Unix(), 0), 10))
	}
	if n.CollapseID != "" {
		h.Set("apns-collapse-id", n.CollapseID)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return channel.Transientf("APNs: %v", err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	code := resp.StatusCode
	if code == http.StatusOK {
		return nil
	}
	var answer struct {
		Reason string `json:"reason"`
	}
	json.Unmarshal(body, &answer)
	reason := answer.Reason
	if reason == "" {
		reason = http.StatusText(code)
	}
	switch {
	case code == http.StatusGone,
		code == http.StatusBadRequest && (reason == "BadDeviceToken" || reason == "DeviceTokenNotForTopic"):
		return &channel.Error{Permanent: true, Err: fmt.Errorf("APNs %d %s: %w", code, reason, channel.ErrInvalidToken)}
	case code == http.StatusForbidden && reason == "ExpiredProviderToken":
		c.renew(jwt)
		return channel.Transientf("APNs %d %s: renewed the provider token", code, reason)
	case code == http.StatusTooManyRequests || code >= 500:
		return &channel.Error{Err: fmt.Errorf("APNs %d %s", code, reason), RetryAfter: channel.ParseRetryAfter(resp.Header.Get("Retry-After"))}
	default:
		return channel.Permanentf("APNs %d %s", code, reason)
	}
}

// providerToken returns the cached JWT, signing a new one when it is
// missing or older than tokenLifetime.
func (c *Client) providerToken() (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.jwt != "" && now.Sub(c.iat) < tokenLifetime && !now.Before(c.iat) {
		return c.jwt, nil
	}
	return c.signLocked(now)
}

// renew replaces the provider token APNs called expired, unless another
// Send has already replaced it: many requests in flight may get the same
// answer, and Apple refuses renewals in quick succession.
func (c *Client) renew(expired string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.jwt == expired {
		c.signLocked(c.now())
	}
}

// signLocked makes an ES256 JWT: {"alg":"ES256","kid":…}.{"iss":…,"iat":…}
// signed with the raw 64-byte r||s form JWS uses (RFC 7518 §3.4), not
// ASN.1. c.mu must be held.
func (c *Client) signLocked(now time.Time) (string, error) {
	header, _ := json.Marshal(map[string]string{"alg": "ES256", "kid": c.keyID})
	claims, _ := json.Marshal(struct {
		Iss string `json:"iss"`
		Iat int64  `json:"iat"`
	}{c.teamID, now.Unix()})
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signing))
	r, s, err := ecdsa.Sign(rand.Reader, c.key, sum[:])
	if err != nil {
		c.jwt = ""
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	c.jwt, c.iat = signing+"."+enc.EncodeToString(sig), now
	return c.jwt, nil
}

// UUIDFor returns a UUID derived from key, for the apns-id of a delivery
// job's notification: every retry of the job carries the same id, so APNs'
// answers and Apple's delivery logs name one notification. It is a
// name-based UUID (RFC 9562 version 8) made from SHA-256, in the canonical
// lower-case 8-4-4-4-12 form APNs requires.
func UUIDFor(key string) string {
	sum := sha256.Sum256([]byte("brazen/apns-id\x00" + key))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x80 // version 8
	b[8] = b[8]&0x3f | 0x80 // variant 10
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
