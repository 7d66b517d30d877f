package fcm

import (
	"context"
	"crypto"
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
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brazenhq/brazen/internal/channel"
)

const (
	testProject = "brazen-test"
	testEmail   = "sender@brazen-test.iam.gserviceaccount.com"
	testKeyID   = "0123456789abcdef"
	testToken   = "fcm-token-1:APA91bH-example"
)

// testKey is generated once: RSA keys are slow to make under -race.
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func keyPEM(k any) string {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// serviceAccount is a key file as the Firebase console makes them.
func serviceAccount(tokenURI string) map[string]string {
	return map[string]string{
		"type":           "service_account",
		"project_id":     testProject,
		"private_key_id": testKeyID,
		"private_key":    keyPEM(testKey()),
		"client_email":   testEmail,
		"client_id":      "1234567890",
		"auth_uri":       "https://accounts.google.com/o/oauth2/auth",
		"token_uri":      tokenURI,
	}
}

func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// sent is one messages:send request as Google received it.
type sent struct {
	bearer string
	body   map[string]any
}

// google is a real HTTP server speaking the parts of Google's OAuth2 token
// endpoint and FCM's HTTP v1 API the client uses. It verifies the
// assertions' signatures and claims and honours only the access tokens it
// issued.
type google struct {
	t   testing.TB
	url string

	// expiresIn is the lifetime of the access tokens issued, in seconds.
	expiresIn int
	// iat, if set, is checked against each assertion's iat.
	iat func() int64
	// tokenAnswer, if set, overrides the token endpoint's answer to the
	// nth request (from 1) unless it returns 0.
	tokenAnswer func(n int) (status int, body string)
	// tokenDelay is how long the token endpoint takes.
	tokenDelay time.Duration
	// sendAnswer, if set, overrides messages:send's answer to the nth
	// request unless it returns 0.
	sendAnswer func(n int) (status int, body, retryAfter string)

	mu        sync.Mutex // guards the fields below
	tokenReqs int
	issued    map[string]bool
	sends     []sent
}

func newGoogle(t testing.TB) *google {
	g := &google{t: t, expiresIn: 3600, issued: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", g.token)
	mux.HandleFunc("POST /v1/projects/{project}/messages:send", g.send)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	g.url = srv.URL
	return g
}

func (g *google) client(t testing.TB) *Client {
	t.Helper()
	creds, err := LoadCredentials(marshal(serviceAccount(g.url + "/token")))
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{BaseURL: g.url, Credentials: creds, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (g *google) token(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	g.tokenReqs++
	n := g.tokenReqs
	g.mu.Unlock()
	time.Sleep(g.tokenDelay)
	if g.tokenAnswer != nil {
		if status, body := g.tokenAnswer(n); status != 0 {
			w.WriteHeader(status)
			fmt.Fprint(w, body)
			return
		}
	}
	if r.FormValue("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		g.t.Errorf("grant_type %q", r.FormValue("grant_type"))
	}
	if err := g.verify(r.FormValue("assertion")); err != nil {
		g.t.Errorf("assertion: %v", err)
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`)
		return
	}
	tok := fmt.Sprintf("ya29.token-%d", n)
	g.mu.Lock()
	g.issued[tok] = true
	g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"access_token":%q,"expires_in":%d,"token_type":"Bearer"}`, tok, g.expiresIn)
}

func (g *google) verify(jwt string) error {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return fmt.Errorf("%q is not a JWT", jwt)
	}
	var header struct{ Alg, Typ, Kid string }
	var claims struct {
		Iss, Scope, Aud string
		Iat, Exp        int64
	}
	for i, v := range []any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, v); err != nil {
			return err
		}
	}
	if header.Alg != "RS256" || header.Typ != "JWT" || header.Kid != testKeyID {
		return fmt.Errorf("header %+v", header)
	}
	if claims.Iss != testEmail || claims.Scope != Scope || claims.Aud != g.url+"/token" || claims.Exp != claims.Iat+3600 {
		return fmt.Errorf("claims %+v", claims)
	}
	if g.iat != nil && claims.Iat != g.iat() {
		return fmt.Errorf("iat %d, want %d", claims.Iat, g.iat())
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	return rsa.VerifyPKCS1v15(&testKey().PublicKey, crypto.SHA256, sum[:], sig)
}

func (g *google) send(w http.ResponseWriter, r *http.Request) {
	bearer, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	var body map[string]any
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&body); err != nil || r.Header.Get("Content-Type") != "application/json" {
		g.t.Errorf("body: %v, content type %q", err, r.Header.Get("Content-Type"))
	}
	if p := r.PathValue("project"); p != testProject {
		g.t.Errorf("project %q", p)
	}
	g.mu.Lock()
	ok := g.issued[bearer]
	g.sends = append(g.sends, sent{bearer, body})
	n := len(g.sends)
	g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if !ok {
		g.t.Errorf("access token %q was not issued", bearer)
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}`)
		return
	}
	if g.sendAnswer != nil {
		if status, b, ra := g.sendAnswer(n); status != 0 {
			if ra != "" {
				w.Header().Set("Retry-After", ra)
			}
			w.WriteHeader(status)
			fmt.Fprint(w, b)
			return
		}
	}
	fmt.Fprintf(w, `{"name":"projects/%s/messages/0:%d"}`, testProject, n)
}

func (g *google) state() (tokenReqs int, sends []sent) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.tokenReqs, append([]sent(nil), g.sends...)
}

// fcmErr is an FCM refusal body.
func fcmErr(code int, status, errorCode, message string) string {
	e := map[string]any{"code": code, "message": message, "status": status}
	if errorCode != "" {
		e["details"] = []map[string]string{{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": errorCode}}
	}
	return string(marshal(map[string]any{"error": e}))
}

func TestSend(t *testing.T) {
	for _, tt := range []struct {
		name         string
		status       int
		body         string
		retryAfter   string
		ok           bool
		permanent    bool
		invalidToken bool
		wantRetry    time.Duration
	}{
		{name: "accepted", ok: true},
		{name: "unregistered", status: 404, body: fcmErr(404, "NOT_FOUND", "UNREGISTERED", "Requested entity was not found."), permanent: true, invalidToken: true},
		{name: "not found without details", status: 404, body: fcmErr(404, "NOT_FOUND", "", "Requested entity was not found."), permanent: true, invalidToken: true},
		{name: "unregistered as a bad request", status: 400, body: fcmErr(400, "INVALID_ARGUMENT", "UNREGISTERED", "x"), permanent: true, invalidToken: true},
		{name: "not a registration token", status: 400, body: fcmErr(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "The registration token is not a valid FCM registration token"), permanent: true, invalidToken: true},
		{name: "token of another project", status: 403, body: fcmErr(403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH", "SenderId mismatch"), permanent: true, invalidToken: true},
		{name: "other invalid argument", status: 400, body: fcmErr(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "Invalid value at 'message.android.ttl'"), permanent: true},
		{name: "permission denied", status: 403, body: fcmErr(403, "PERMISSION_DENIED", "", "Permission 'cloudmessaging.messages.create' denied"), permanent: true},
		{name: "not JSON", status: 400, body: "<html>Bad Request</html>", permanent: true},
		{name: "quota exceeded", status: 429, body: fcmErr(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED", "Quota exceeded"), retryAfter: "60", wantRetry: time.Minute},
		{name: "unavailable", status: 503, body: fcmErr(503, "UNAVAILABLE", "UNAVAILABLE", "The service is currently unavailable."), retryAfter: "3", wantRetry: 3 * time.Second},
		{name: "internal", status: 500, body: fcmErr(500, "INTERNAL", "INTERNAL", "Internal error")},
		{name: "unauthenticated", status: 401, body: fcmErr(401, "UNAUTHENTICATED", "", "Request had invalid authentication credentials.")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := newGoogle(t)
			g.sendAnswer = func(int) (int, string, string) { return tt.status, tt.body, tt.retryAfter }
			err := g.client(t).Send(t.Context(), Message{Token: testToken, Data: map[string]string{"k": "v"}})
			if (err == nil) != tt.ok || channel.IsPermanent(err) != tt.permanent ||
				errors.Is(err, channel.ErrInvalidToken) != tt.invalidToken || channel.RetryAfter(err) != tt.wantRetry {
				t.Fatalf("Send = %v (permanent %v, invalid token %v, retry after %v)", err,
					channel.IsPermanent(err), errors.Is(err, channel.ErrInvalidToken), channel.RetryAfter(err))
			}
			if _, sends := g.state(); len(sends) != 1 {
				t.Errorf("%d requests, want 1", len(sends))
			}
		})
	}
}

func TestMessageBody(t *testing.T) {
	hour, zero, half := time.Hour, time.Duration(0), 1500*time.Millisecond
	for _, tt := range []struct {
		name string
		m    Message
		want string
	}{
		{"token only", Message{Token: testToken}, `{"message":{"token":"fcm-token-1:APA91bH-example"}}`},
		{"data", Message{Token: "t", Data: map[string]string{"b": "2", "a": "1"}}, `{"message":{"data":{"a":"1","b":"2"},"token":"t"}}`},
		{"android options", Message{Token: "t", Priority: "high", TTL: &hour, CollapseKey: "news"},
			`{"message":{"android":{"collapse_key":"news","priority":"HIGH","ttl":"3600s"},"token":"t"}}`},
		{"normal priority, now or never", Message{Token: "t", Priority: "normal", TTL: &zero},
			`{"message":{"android":{"priority":"NORMAL","ttl":"0s"},"token":"t"}}`},
		{"fractional ttl", Message{Token: "t", TTL: &half}, `{"message":{"android":{"ttl":"1.5s"},"token":"t"}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := newGoogle(t)
			if err := g.client(t).Send(t.Context(), tt.m); err != nil {
				t.Fatal(err)
			}
			_, sends := g.state()
			if got := string(marshal(sends[0].body)); got != tt.want {
				t.Errorf("body %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestRefusedBeforeSending(t *testing.T) {
	g := newGoogle(t)
	c := g.client(t)
	for _, m := range []Message{{}, {Token: "t", Priority: "urgent"}} {
		if err := c.Send(t.Context(), m); !channel.IsPermanent(err) || errors.Is(err, channel.ErrInvalidToken) {
			t.Errorf("Send(%+v) = %v, want a permanent failure", m, err)
		}
	}
	if tokens, sends := g.state(); tokens != 0 || len(sends) != 0 {
		t.Errorf("%d token requests and %d sends, want none", tokens, len(sends))
	}
}

// clock is a settable time for the token cache.
type clock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestAccessTokenCached(t *testing.T) {
	g := newGoogle(t)
	c := g.client(t)
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	c.now = clk.now
	g.iat = func() int64 { return clk.now().Unix() }
	send := func() {
		t.Helper()
		if err := c.Send(t.Context(), Message{Token: testToken}); err != nil {
			t.Fatal(err)
		}
	}
	send()
	clk.advance(30 * time.Minute)
	send()
	clk.advance(28*time.Minute + 59*time.Second)
	send()
	if tokens, _ := g.state(); tokens != 1 {
		t.Errorf("%d token requests within the token's life, want 1", tokens)
	}
	clk.advance(time.Second) // a minute before expiry
	send()
	send()
	tokens, sends := g.state()
	if tokens != 2 {
		t.Errorf("%d token requests, want 2: one more a minute before expiry", tokens)
	}
	for i, want := range []string{"ya29.token-1", "ya29.token-1", "ya29.token-1", "ya29.token-2", "ya29.token-2"} {
		if sends[i].bearer != want {
			t.Errorf("send %d used %s, want %s", i, sends[i].bearer, want)
		}
	}
}

func TestUnauthenticatedRefreshes(t *testing.T) {
	g := newGoogle(t)
	g.sendAnswer = func(n int) (int, string, string) {
		if n == 2 {
			return 401, fcmErr(401, "UNAUTHENTICATED", "", "Request had invalid authentication credentials."), ""
		}
		return 0, "", ""
	}
	c := g.client(t)
	for i := range 4 {
		err := c.Send(t.Context(), Message{Token: testToken})
		if (i == 1) != (err != nil) || channel.IsPermanent(err) {
			t.Errorf("send %d: %v", i, err)
		}
	}
	tokens, sends := g.state()
	if tokens != 2 {
		t.Errorf("%d token requests, want 2", tokens)
	}
	for i, want := range []string{"ya29.token-1", "ya29.token-1", "ya29.token-2", "ya29.token-2"} {
		if sends[i].bearer != want {
			t.Errorf("send %d used %s, want %s", i, sends[i].bearer, want)
		}
	}
}

func TestTokenEndpointFailures(t *testing.T) {
	for _, tt := range []struct {
		name      string
		status    int
		body      string
		permanent bool
		want      string
	}{
		{"invalid grant", 400, `{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`, true, "refused the service account credentials"},
		{"unauthorized client", 401, `{"error":"unauthorized_client"}`, true, "refused"},
		{"unavailable", 503, `{"error":"temporarily_unavailable"}`, false, "503"},
		{"rate limited", 429, `{}`, false, "429"},
		{"no token in the answer", 200, `{"token_type":"Bearer"}`, false, "no access_token"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := newGoogle(t)
			g.tokenAnswer = func(int) (int, string) { return tt.status, tt.body }
			err := g.client(t).Send(t.Context(), Message{Token: testToken})
			if err == nil || channel.IsPermanent(err) != tt.permanent || errors.Is(err, channel.ErrInvalidToken) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Send = %v (permanent %v), want permanent %v saying %q", err, channel.IsPermanent(err), tt.permanent, tt.want)
			}
			if _, sends := g.state(); len(sends) != 0 {
				t.Errorf("%d sends without an access token", len(sends))
			}
		})
	}
}

func TestNetworkErrors(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := "http://" + l.Addr().String()
	l.Close()
	creds, err := LoadCredentials(marshal(serviceAccount(closed + "/token")))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := New(Config{BaseURL: closed, Credentials: creds})
	if err := c.Send(t.Context(), Message{Token: testToken}); err == nil || channel.IsPermanent(err) {
		t.Errorf("the token endpoint down: %v, want a transient failure", err)
	}

	g := newGoogle(t)
	creds, _ = LoadCredentials(marshal(serviceAccount(g.url + "/token")))
	c, _ = New(Config{BaseURL: closed, Credentials: creds})
	if err := c.Send(t.Context(), Message{Token: testToken}); err == nil || channel.IsPermanent(err) {
		t.Errorf("FCM down: %v, want a transient failure", err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := g.client(t).Send(ctx, Message{Token: testToken}); err != context.Canceled {
		t.Errorf("a canceled context: %v, want context.Canceled", err)
	}
}

func TestWaitingForTheTokenHonoursContext(t *testing.T) {
	g := newGoogle(t)
	g.tokenDelay = 500 * time.Millisecond
	c := g.client(t)
	done := make(chan error)
	go func() { done <- c.Send(t.Context(), Message{Token: testToken}) }()
	time.Sleep(50 * time.Millisecond) // the first Send is fetching the token
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := c.Send(ctx, Message{Token: testToken}); err != context.DeadlineExceeded {
		t.Errorf("waiting for another Send's token past the deadline: %v, want context.DeadlineExceeded", err)
	}
	if err := <-done; err != nil {
		t.Error(err)
	}
}

func TestConcurrentSends(t *testing.T) {
	g := newGoogle(t)
	g.tokenDelay = 50 * time.Millisecond // long enough for every Send to want a token
	c := g.client(t)
	const workers, each = 50, 4
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if err := c.Send(t.Context(), Message{Token: fmt.Sprintf("token-%d-%d", w, i), Data: map[string]string{"i": fmt.Sprint(i)}}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	tokens, sends := g.state()
	if tokens != 1 || len(sends) != workers*each {
		t.Errorf("%d token requests and %d sends, want 1 and %d", tokens, len(sends), workers*each)
	}
}

func TestLoadCredentials(t *testing.T) {
	good := serviceAccount("https://oauth2.example.com/token")
	c, err := LoadCredentials(marshal(good))
	if err != nil {
		t.Fatal(err)
	}
	if c.ProjectID != testProject || c.ClientEmail != testEmail || c.PrivateKeyID != testKeyID ||
		c.TokenURI != "https://oauth2.example.com/token" || !c.Key.Equal(testKey()) {
		t.Errorf("got %+v", c)
	}
	with := func(k, v string) []byte {
		m := serviceAccount("https://oauth2.example.com/token")
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return marshal(m)
	}
	if c, err := LoadCredentials(with("token_uri", "")); err != nil || c.TokenURI != DefaultTokenURI {
		t.Errorf("no token_uri: %v, %v, want the default", c, err)
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pkcs1 := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(testKey())}))
	for _, tt := range []struct {
		name string
		json []byte
		want string
	}{
		{"not JSON", []byte("project_id: x"), "not a service account JSON file"},
		{"a JSON array", []byte(`[]`), "not a service account JSON file"},
		{"an OAuth client file", with("type", "authorized_user"), `"authorized_user"`},
		{"no type", with("type", ""), `type is ""`},
		{"no project", with("project_id", ""), "missing project_id"},
		{"no email and key", marshal(map[string]string{"type": "service_account", "project_id": "p"}), "missing client_email, private_key"},
		{"key not PEM", with("private_key", "MIIEvQIBADANBg"), "not a PEM block"},
		{"EC key", with("private_key", keyPEM(ec)), "want an RSA key"},
		{"PKCS#1 key", with("private_key", pkcs1), `"RSA PRIVATE KEY"`},
		{"corrupt key", with("private_key", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("junk")}))), "private_key:"},
		{"bad token_uri", with("token_uri", "oauth2.googleapis.com/token"), "token_uri"},
	} {
		if _, err := LoadCredentials(tt.json); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error saying %q", tt.name, err, tt.want)
		}
	}
}

func TestNew(t *testing.T) {
	creds, _ := LoadCredentials(marshal(serviceAccount("")))
	for _, tt := range []struct {
		name string
		cfg  Config
		want string // "" for no error
	}{
		{"defaults", Config{Credentials: creds}, ""},
		{"no credentials", Config{}, "Credentials"},
		{"no key", Config{Credentials: &Credentials{ProjectID: "p", ClientEmail: "e"}}, "private key"},
		{"no project", Config{Credentials: &Credentials{ClientEmail: "e", Key: testKey()}}, "project"},
		{"bad URL", Config{BaseURL: "fcm.googleapis.com", Credentials: creds}, "BaseURL"},
		{"negative timeout", Config{Credentials: creds, Timeout: -time.Second}, "Timeout"},
	} {
		c, err := New(tt.cfg)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: %v, want an error naming %q", tt.name, err, tt.want)
		}
		if tt.name == "defaults" && (c.endpoint != "https://fcm.googleapis.com/v1/projects/brazen-test/messages:send" ||
			c.creds.TokenURI != DefaultTokenURI || c.client.Timeout != 10*time.Second) {
			t.Errorf("defaults: %s, %s, %v", c.endpoint, c.creds.TokenURI, c.client.Timeout)
		}
	}
}

func FuzzLoadCredentials(f *testing.F) {
	f.Add(marshal(serviceAccount("https://oauth2.googleapis.com/token")))
	f.Add([]byte(`{"type":"service_account","project_id":"p","client_email":"e","private_key":"-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := LoadCredentials(b)
		if err == nil && (c.Key == nil || c.ProjectID == "" || c.ClientEmail == "" || c.TokenURI == "") {
			t.Errorf("accepted incomplete credentials %+v", c)
		}
	})
}

func FuzzClassify(f *testing.F) {
	f.Add(404, []byte(fcmErr(404, "NOT_FOUND", "UNREGISTERED", "")), "")
	f.Add(503, []byte(`{"error":`), "Wed, 21 Oct 2015 07:28:00 GMT")
	f.Fuzz(func(t *testing.T, code int, body []byte, ra string) {
		err := classify(code, body, ra)
		if err == nil {
			t.Fatal("a refusal classified as success")
		}
		if errors.Is(err, channel.ErrInvalidToken) && !channel.IsPermanent(err) {
			t.Errorf("an invalid token that is not permanent: %v", err)
		}
		if d := channel.RetryAfter(err); d < 0 || d > time.Hour {
			t.Errorf("retry after %v", d)
		}
	})
}

func BenchmarkSend(b *testing.B) {
	g := newGoogle(b)
	c := g.client(b)
	m := Message{Token: testToken, Data: map[string]string{"k": "v"}, Priority: "high"}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := c.Send(context.Background(), m); err != nil {
				b.Error(err)
			}
		}
	})
}
