package apns

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brazenhq/brazen/internal/channel"
)

const (
	testKeyID  = "ABC123DEFG"
	testTeamID = "TEAM123456"
	testTopic  = "com.example.app"
	testToken  = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
)

// keyPEM returns a fresh P-256 key as a .p8 file.
func keyPEM(t testing.TB) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// seen is one request as the provider API received it.
type seen struct {
	proto  int
	path   string
	header http.Header
	body   string
	jwt    string
	iat    int64
}

// answer is what the fake provider API says to the nth request (from 1).
type answer func(n int) (status int, reason string, retryAfter string)

// provider is a real HTTP/2 server speaking the parts of the APNs provider
// API the client uses: it checks every request's JWT against the public
// key and records what it got.
type provider struct {
	t      testing.TB
	pub    *ecdsa.PublicKey
	answer answer

	mu    sync.Mutex // guards reqs and conns
	reqs  []seen
	conns int
}

func (p *provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	jwt, iat, err := verifyJWT(p.pub, strings.TrimPrefix(r.Header.Get("Authorization"), "bearer "))
	if err != nil {
		p.t.Errorf("provider token: %v", err)
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"reason":"InvalidProviderToken"}`)
		return
	}
	if r.Method != "POST" || r.ProtoMajor != 2 || !strings.HasPrefix(r.URL.Path, "/3/device/") {
		p.t.Errorf("got %s %s over HTTP/%d, want POST /3/device/… over HTTP/2", r.Method, r.URL.Path, r.ProtoMajor)
	}
	p.mu.Lock()
	p.reqs = append(p.reqs, seen{r.ProtoMajor, r.URL.Path, r.Header.Clone(), string(body), jwt, iat})
	n := len(p.reqs)
	p.mu.Unlock()
	status, reason, ra := 200, "", ""
	if p.answer != nil {
		status, reason, ra = p.answer(n)
	}
	w.Header().Set("apns-id", r.Header.Get("apns-id"))
	if ra != "" {
		w.Header().Set("Retry-After", ra)
	}
	w.WriteHeader(status)
	if status != 200 {
		json.NewEncoder(w).Encode(map[string]any{"reason": reason, "timestamp": time.Now().UnixMilli()})
	}
}

func (p *provider) requests() []seen {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]seen(nil), p.reqs...)
}

func (p *provider) connState(_ net.Conn, s http.ConnState) {
	if s == http.StateNew {
		p.mu.Lock()
		p.conns++
		p.mu.Unlock()
	}
}

func (p *provider) connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conns
}

// verifyJWT checks an ES256 provider token and returns it and its iat.
func verifyJWT(pub *ecdsa.PublicKey, jwt string) (string, int64, error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return "", 0, fmt.Errorf("%q is not a JWT", jwt)
	}
	var header struct{ Alg, Kid, Typ string }
	var claims struct {
		Iss string
		Iat int64
	}
	for i, v := range []any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return "", 0, err
		}
		if err := json.Unmarshal(b, v); err != nil {
			return "", 0, err
		}
	}
	if header.Alg != "ES256" || header.Kid != testKeyID || claims.Iss != testTeamID || claims.Iat <= 0 {
		return "", 0, fmt.Errorf("header %+v, claims %+v", header, claims)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return "", 0, fmt.Errorf("signature of %d bytes (%v), want 64", len(sig), err)
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pub, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return "", 0, errors.New("bad signature")
	}
	return jwt, claims.Iat, nil
}

// start runs p over TLS with HTTP/2 negotiated by ALPN ("tls") or over
// HTTP/2 without TLS ("h2c") and returns a Client for it.
func start(t testing.TB, transport string, p *provider) *Client {
	t.Helper()
	key, err := LoadKey(keyPEM(t))
	if err != nil {
		t.Fatal(err)
	}
	p.t, p.pub = t, &key.PublicKey
	cfg := Config{KeyID: testKeyID, TeamID: testTeamID, Key: key, Topic: testTopic, Timeout: 5 * time.Second}
	switch transport {
	case "tls":
		srv := httptest.NewUnstartedServer(p)
		srv.EnableHTTP2 = true
		srv.Config.ConnState = p.connState
		srv.StartTLS()
		t.Cleanup(srv.Close)
		cfg.BaseURL = srv.URL
		cfg.RootCAs = x509.NewCertPool()
		cfg.RootCAs.AddCert(srv.Certificate())
	case "h2c":
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var protos http.Protocols
		protos.SetUnencryptedHTTP2(true)
		srv := &http.Server{Handler: p, Protocols: &protos, ConnState: p.connState}
		go srv.Serve(l)
		t.Cleanup(func() { srv.Close() })
		cfg.BaseURL = "http://" + l.Addr().String()
	default:
		t.Fatalf("transport %q", transport)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var transports = []string{"tls", "h2c"}

func TestSend(t *testing.T) {
	for _, tr := range transports {
		for _, tt := range []struct {
			name         string
			status       int
			reason       string
			retryAfter   string
			ok           bool
			permanent    bool
			invalidToken bool
			wantRetry    time.Duration
		}{
			{name: "accepted", status: 200, ok: true},
			{name: "unregistered", status: 410, reason: "Unregistered", permanent: true, invalidToken: true},
			{name: "expired token", status: 410, reason: "ExpiredToken", permanent: true, invalidToken: true},
			{name: "bad device token", status: 400, reason: "BadDeviceToken", permanent: true, invalidToken: true},
			{name: "token for another app", status: 400, reason: "DeviceTokenNotForTopic", permanent: true, invalidToken: true},
			{name: "bad topic", status: 400, reason: "BadTopic", permanent: true},
			{name: "payload too large", status: 413, reason: "PayloadTooLarge", permanent: true},
			{name: "invalid provider token", status: 403, reason: "InvalidProviderToken", permanent: true},
			{name: "unavailable", status: 503, reason: "ServiceUnavailable"},
			{name: "internal error", status: 500, reason: "InternalServerError"},
			{name: "too many requests", status: 429, reason: "TooManyRequests", retryAfter: "30", wantRetry: 30 * time.Second},
			{name: "unavailable with retry-after", status: 503, reason: "Shutdown", retryAfter: "5", wantRetry: 5 * time.Second},
		} {
			t.Run(tr+"/"+tt.name, func(t *testing.T) {
				p := &provider{answer: func(int) (int, string, string) { return tt.status, tt.reason, tt.retryAfter }}
				c := start(t, tr, p)
				err := c.Send(t.Context(), Notification{Token: testToken, Payload: []byte(`{"aps":{"alert":"hi"}}`)})
				if (err == nil) != tt.ok || channel.IsPermanent(err) != tt.permanent ||
					errors.Is(err, channel.ErrInvalidToken) != tt.invalidToken || channel.RetryAfter(err) != tt.wantRetry {
					t.Fatalf("Send = %v (permanent %v, invalid token %v, retry after %v)", err,
						channel.IsPermanent(err), errors.Is(err, channel.ErrInvalidToken), channel.RetryAfter(err))
				}
				if tt.reason != "" && !strings.Contains(err.Error(), tt.reason) {
					t.Errorf("error %q does not name the reason %s", err, tt.reason)
				}
				if got := p.requests(); len(got) != 1 || got[0].proto != 2 {
					t.Errorf("the server got %+v, want one HTTP/2 request", got)
				}
			})
		}
	}
}

func TestHeaders(t *testing.T) {
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tt := range []struct {
		name string
		n    Notification
		want map[string]string // "" means absent
	}{
		{"defaults", Notification{Token: testToken, Payload: []byte(`{"aps":{}}`)}, map[string]string{
			"apns-topic": testTopic, "apns-push-type": "alert", "apns-id": "", "apns-priority": "",
			"apns-expiration": "", "apns-collapse-id": "", "content-type": "application/json",
		}},
		{"everything", Notification{Token: testToken, ID: UUIDFor("job-1"), Topic: "com.example.other",
			PushType: "background", Priority: 5, Expiration: exp, CollapseID: "news", Payload: []byte(`{"aps":{"content-available":1}}`)},
			map[string]string{
				"apns-topic": "com.example.other", "apns-push-type": "background", "apns-id": UUIDFor("job-1"),
				"apns-priority": "5", "apns-expiration": "1893553445", "apns-collapse-id": "news",
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := &provider{}
			c := start(t, "h2c", p)
			if err := c.Send(t.Context(), tt.n); err != nil {
				t.Fatal(err)
			}
			r := p.requests()[0]
			if r.path != "/3/device/"+testToken || r.body != string(tt.n.Payload) {
				t.Errorf("got path %s body %s", r.path, r.body)
			}
			for k, v := range tt.want {
				if got := r.header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestRefusedBeforeSending(t *testing.T) {
	p := &provider{}
	c := start(t, "h2c", p)
	for _, tt := range []struct {
		name         string
		n            Notification
		invalidToken bool
	}{
		{"no token", Notification{Payload: []byte(`{}`)}, false},
		{"token not hex", Notification{Token: "not-a-token", Payload: []byte(`{}`)}, true},
		{"token with a slash", Notification{Token: "ab/../cd", Payload: []byte(`{}`)}, true},
		{"no payload", Notification{Token: testToken}, false},
	} {
		err := c.Send(t.Context(), tt.n)
		if !channel.IsPermanent(err) || errors.Is(err, channel.ErrInvalidToken) != tt.invalidToken {
			t.Errorf("%s: %v, want a permanent failure (invalid token %v)", tt.name, err, tt.invalidToken)
		}
	}
	c.topic = ""
	if err := c.Send(t.Context(), Notification{Token: testToken, Payload: []byte(`{}`)}); !channel.IsPermanent(err) {
		t.Errorf("no topic: %v, want a permanent failure", err)
	}
	if got := p.requests(); len(got) != 0 {
		t.Errorf("the server got %d requests, want none", len(got))
	}
}

// clock is a settable time for the token cache.
type clock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestProviderTokenCached(t *testing.T) {
	p := &provider{}
	c := start(t, "h2c", p)
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	c.now = clk.now
	send := func() {
		t.Helper()
		if err := c.Send(t.Context(), Notification{Token: testToken, Payload: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	send()
	clk.advance(20 * time.Minute)
	send()
	clk.advance(29*time.Minute + 59*time.Second)
	send()
	clk.advance(time.Second) // 50 minutes
	send()
	r := p.requests()
	if r[0].jwt != r[1].jwt || r[1].jwt != r[2].jwt {
		t.Errorf("the token changed within 50 minutes")
	}
	if r[0].iat != 1_700_000_000 {
		t.Errorf("iat %d, want the clock's 1700000000", r[0].iat)
	}
	if r[3].jwt == r[2].jwt || r[3].iat != 1_700_000_000+50*60 {
		t.Errorf("after 50 minutes: iat %d (same token %v), want a new token issued now", r[3].iat, r[3].jwt == r[2].jwt)
	}
}

func TestExpiredProviderToken(t *testing.T) {
	// APNs may call a token expired before our 50 minutes are up (its
	// clock is not ours): renew then, and retry with the new one.
	p := &provider{answer: func(n int) (int, string, string) {
		if n == 2 {
			return 403, "ExpiredProviderToken", ""
		}
		return 200, "", ""
	}}
	c := start(t, "tls", p)
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	c.now = clk.now
	n := Notification{Token: testToken, Payload: []byte(`{}`)}
	if err := c.Send(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	clk.advance(30 * time.Minute)
	err := c.Send(t.Context(), n)
	if err == nil || channel.IsPermanent(err) {
		t.Fatalf("ExpiredProviderToken: %v, want a transient failure", err)
	}
	clk.advance(time.Second)
	for range 2 {
		if err := c.Send(t.Context(), n); err != nil {
			t.Fatal(err)
		}
	}
	r := p.requests()
	if r[1].jwt != r[0].jwt {
		t.Errorf("the token changed within 50 minutes")
	}
	if r[2].jwt == r[1].jwt || r[2].iat != 1_700_000_000+30*60 {
		t.Errorf("the retry used iat %d (same token %v), want a new token issued when APNs refused the old one", r[2].iat, r[2].jwt == r[1].jwt)
	}
	if r[3].jwt != r[2].jwt {
		t.Errorf("the renewed token was not kept")
	}
}

func TestExpiredProviderTokenRenewedOnce(t *testing.T) {
	// Many requests in flight with one token all hear it expired: one
	// renewal, or Apple answers TooManyProviderTokenUpdates.
	p := &provider{}
	c := start(t, "h2c", p)
	old, _ := c.providerToken()
	c.renew(old)
	renewed, _ := c.providerToken()
	c.renew(old)
	if again, _ := c.providerToken(); renewed == old || again != renewed {
		t.Errorf("renewing twice for one expired token made two tokens")
	}
}

func TestNetworkErrors(t *testing.T) {
	key, _ := LoadKey(keyPEM(t))
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	c, err := New(Config{BaseURL: "http://" + addr, KeyID: testKeyID, TeamID: testTeamID, Key: key, Topic: testTopic})
	if err != nil {
		t.Fatal(err)
	}
	n := Notification{Token: testToken, Payload: []byte(`{}`)}
	if err := c.Send(t.Context(), n); err == nil || channel.IsPermanent(err) {
		t.Errorf("a closed port: %v, want a transient failure", err)
	}

	release := make(chan struct{})
	p := &provider{answer: func(int) (int, string, string) { <-release; return 200, "", "" }}
	c = start(t, "h2c", p)
	t.Cleanup(func() { close(release) })
	c.client.Timeout = 100 * time.Millisecond
	if err := c.Send(t.Context(), n); err == nil || channel.IsPermanent(err) {
		t.Errorf("no answer within the timeout: %v, want a transient failure", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := c.Send(ctx, n); err != context.Canceled {
		t.Errorf("a canceled context: %v, want context.Canceled", err)
	}
}

func TestConcurrentSends(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			var failed atomic.Int32
			p := &provider{answer: func(n int) (int, string, string) {
				if n%10 == 0 {
					failed.Add(1)
					return 503, "ServiceUnavailable", ""
				}
				return 200, "", ""
			}}
			c := start(t, tr, p)
			// One request first, so that the rest find the connection made.
			if err := c.Send(t.Context(), Notification{Token: testToken, Payload: []byte(`{}`)}); err != nil {
				t.Fatal(err)
			}
			const workers, each = 50, 4
			var wg sync.WaitGroup
			var errs atomic.Int32
			for w := range workers {
				wg.Go(func() {
					for i := range each {
						n := Notification{Token: fmt.Sprintf("%064x", w*each+i), ID: UUIDFor(fmt.Sprint(w, i)), Payload: []byte(fmt.Sprintf(`{"n":%d}`, w*each+i))}
						if err := c.Send(t.Context(), n); err != nil {
							if channel.IsPermanent(err) {
								t.Errorf("Send: %v", err)
							}
							errs.Add(1)
						}
					}
				})
			}
			wg.Wait()
			got := p.requests()
			if len(got) != 1+workers*each || errs.Load() != failed.Load() {
				t.Errorf("the server got %d requests and failed %d, the client saw %d failures", len(got), failed.Load(), errs.Load())
			}
			tokens := map[string]bool{}
			for _, r := range got {
				tokens[r.jwt] = true
				if r.proto != 2 {
					t.Errorf("HTTP/%d", r.proto)
				}
			}
			if len(tokens) != 1 {
				t.Errorf("%d provider tokens used, want 1", len(tokens))
			}
			if n := p.connections(); n != 1 {
				t.Errorf("%d connections, want the one multiplexed", n)
			}
		})
	}
}

func TestLoadKey(t *testing.T) {
	if _, err := LoadKey(keyPEM(t)); err != nil {
		t.Fatalf("a P-256 .p8 key: %v", err)
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaDER, _ := x509.MarshalPKCS8PrivateKey(rsaKey)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384DER, _ := x509.MarshalPKCS8PrivateKey(p384)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sec1, _ := x509.MarshalECPrivateKey(p256)
	for _, tt := range []struct {
		name, pem, want string
	}{
		{"garbage", "not a key", "not a PEM file"},
		{"empty", "", "not a PEM file"},
		{"RSA", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: rsaDER})), "want an ECDSA P-256 key"},
		{"P-384", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p384DER})), "want P-256"},
		{"SEC1", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})), `"EC PRIVATE KEY"`},
		{"corrupt", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("junk")})), "apns key:"},
	} {
		if _, err := LoadKey([]byte(tt.pem)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error saying %q", tt.name, err, tt.want)
		}
	}
}

func TestNew(t *testing.T) {
	key, _ := LoadKey(keyPEM(t))
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ok := Config{KeyID: testKeyID, TeamID: testTeamID, Key: key}
	for _, tt := range []struct {
		name string
		edit func(*Config)
		want string // "" for no error
	}{
		{"defaults", func(*Config) {}, ""},
		{"sandbox", func(c *Config) { c.BaseURL = "https://api.sandbox.push.apple.com/" }, ""},
		{"no key", func(c *Config) { c.Key = nil }, "Key"},
		{"P-384 key", func(c *Config) { c.Key = p384 }, "P-256"},
		{"no key id", func(c *Config) { c.KeyID = "" }, "KeyID"},
		{"no team id", func(c *Config) { c.TeamID = "" }, "TeamID"},
		{"ftp URL", func(c *Config) { c.BaseURL = "ftp://example.com" }, "BaseURL"},
		{"no host", func(c *Config) { c.BaseURL = "https://" }, "BaseURL"},
		{"negative timeout", func(c *Config) { c.Timeout = -1 }, "Timeout"},
	} {
		cfg := ok
		tt.edit(&cfg)
		c, err := New(cfg)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: %v, want an error naming %q", tt.name, err, tt.want)
		}
		if tt.name == "sandbox" && c.base != "https://api.sandbox.push.apple.com" {
			t.Errorf("base %q", c.base)
		}
		if tt.name == "defaults" && (c.base != DefaultBaseURL || c.client.Timeout != 10*time.Second) {
			t.Errorf("defaults: base %q, timeout %v", c.base, c.client.Timeout)
		}
	}
}

func TestUUIDFor(t *testing.T) {
	canonical := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]string{}
	for _, key := range []string{"", "d1/u1/push", "d1/u2/push", "d2/u1/push", strings.Repeat("x", 1000)} {
		u := UUIDFor(key)
		if !canonical.MatchString(u) {
			t.Errorf("UUIDFor(%q) = %s, not a canonical version 8 UUID", key, u)
		}
		if UUIDFor(key) != u {
			t.Errorf("UUIDFor(%q) is not deterministic", key)
		}
		if other, dup := seen[u]; dup {
			t.Errorf("UUIDFor(%q) = UUIDFor(%q)", key, other)
		}
		seen[u] = key
	}
}

func BenchmarkSend(b *testing.B) {
	c := start(b, "h2c", &provider{})
	n := Notification{Token: testToken, Payload: []byte(`{"aps":{"alert":"hi"}}`)}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := c.Send(context.Background(), n); err != nil {
				b.Error(err)
			}
		}
	})
}

func FuzzLoadKey(f *testing.F) {
	f.Add(keyPEM(f))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if k, err := LoadKey(b); err == nil && k.Curve != elliptic.P256() {
			t.Errorf("accepted a key on %s", k.Curve.Params().Name)
		}
	})
}
