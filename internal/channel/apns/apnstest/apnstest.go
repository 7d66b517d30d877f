// Package apnstest runs a local APNs provider API for end-to-end tests: a
// real HTTP/2 server (without TLS, h2c) on 127.0.0.1 that checks each
// request's ES256 provider token against a key pair of its own, validates
// the path, headers and payload as APNs does, and records what it
// accepts. It answers with APNs's statuses and {"reason": …} bodies.
package apnstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Received is a notification the server accepted.
type Received struct {
	Token      string // the device token from the path
	ID         string // apns-id as sent, "" if none
	Topic      string // apns-topic
	PushType   string // apns-push-type
	Priority   string // apns-priority, "" if none
	Expiration string // apns-expiration, "" if none
	CollapseID string // apns-collapse-id, "" if none
	Body       json.RawMessage
}

// Server is a running APNs provider API. Its methods are safe for
// concurrent use.
type Server struct {
	// KeyPEM is the .p8 signing key (PKCS#8 PEM) the server accepts
	// tokens signed with, for apns.LoadKey.
	KeyPEM []byte
	// KeyID and TeamID are the JWT "kid" and "iss" the server accepts.
	KeyID, TeamID string

	url string
	pub *ecdsa.PublicKey

	mu           sync.Mutex // guards the fields below
	received     []Received
	unregistered map[string]time.Time
	failN        int
	failStatus   int
	failReason   string
}

// NewServer starts a server on 127.0.0.1; it stops when the test ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{
		KeyPEM:       pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		KeyID:        "BRAZENKEY1",
		TeamID:       "BRAZENTEAM",
		url:          "http://" + l.Addr().String(),
		pub:          &key.PublicKey,
		unregistered: map[string]time.Time{},
	}
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	srv := &http.Server{Handler: s, Protocols: &protos, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return s
}

// URL is the base URL for apns.Config.BaseURL, http://127.0.0.1:port.
func (s *Server) URL() string { return s.url }

// Notifications returns the notifications accepted so far, in order.
func (s *Server) Notifications() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.received...)
}

// Unregister makes the server answer 410 Unregistered for token from now
// on, as APNs does once the app is uninstalled.
func (s *Server) Unregister(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unregistered[strings.ToLower(token)] = time.Now()
}

// FailNext makes the next n requests with a valid provider token fail with
// status, and the reason APNs gives with it (503 ServiceUnavailable, 500
// InternalServerError, 429 TooManyRequests, 403 ExpiredProviderToken, 410
// Unregistered, 413 PayloadTooLarge, 400 BadDeviceToken, …).
func (s *Server) FailNext(n int, status int) {
	s.FailNextReason(n, status, defaultReasons[status])
}

// FailNextReason is FailNext with the reason given.
func (s *Server) FailNextReason(n int, status int, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failN, s.failStatus, s.failReason = n, status, reason
}

var defaultReasons = map[int]string{
	400: "BadDeviceToken",
	403: "ExpiredProviderToken",
	404: "BadPath",
	405: "MethodNotAllowed",
	410: "Unregistered",
	413: "PayloadTooLarge",
	429: "TooManyRequests",
	500: "InternalServerError",
	503: "ServiceUnavailable",
}

var (
	canonicalUUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	pushTypes     = map[string]bool{"alert": true, "background": true, "location": true, "voip": true,
		"complication": true, "fileprovider": true, "mdm": true, "liveactivity": true, "pushtotalk": true}
)

// ServeHTTP answers one request the way APNs does.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	if r.Method != "POST" {
		refuse(w, http.StatusMethodNotAllowed, "MethodNotAllowed")
		return
	}
	token, ok := strings.CutPrefix(r.URL.Path, "/3/device/")
	if !ok || strings.Contains(token, "/") {
		refuse(w, http.StatusNotFound, "BadPath")
		return
	}
	if reason := s.checkJWT(r.Header.Get("authorization")); reason != "" {
		refuse(w, http.StatusForbidden, reason)
		return
	}
	h := r.Header
	for _, k := range []string{"apns-id", "apns-topic", "apns-push-type", "apns-priority", "apns-expiration", "apns-collapse-id"} {
		if len(h.Values(k)) > 1 {
			refuse(w, http.StatusBadRequest, "DuplicateHeaders")
			return
		}
	}
	id := h.Get("apns-id")
	s.mu.Lock()
	if s.failN > 0 {
		s.failN--
		status, reason := s.failStatus, s.failReason
		s.mu.Unlock()
		refuse(w, status, reason)
		return
	}
	s.mu.Unlock()
	maxPayload := 4096
	if h.Get("apns-push-type") == "voip" {
		maxPayload = 5120
	}
	var reason string
	status := http.StatusBadRequest
	switch {
	case token == "":
		reason = "MissingDeviceToken"
	case !isHex(token):
		reason = "BadDeviceToken"
	case h.Get("apns-topic") == "":
		reason = "MissingTopic"
	case h.Get("apns-push-type") != "" && !pushTypes[h.Get("apns-push-type")]:
		reason = "InvalidPushType"
	case id != "" && !canonicalUUID.MatchString(id):
		reason = "BadMessageId"
	case h.Get("apns-priority") != "" && !slices.Contains([]string{"1", "5", "10"}, h.Get("apns-priority")):
		reason = "BadPriority"
	case h.Get("apns-expiration") != "" && !isUint(h.Get("apns-expiration")):
		reason = "BadExpirationDate"
	case len(h.Get("apns-collapse-id")) > 64:
		reason = "BadCollapseId"
	case len(body) == 0:
		reason = "PayloadEmpty"
	case len(body) > maxPayload:
		status, reason = http.StatusRequestEntityTooLarge, "PayloadTooLarge"
	case !isJSONObject(body):
		// APNs documents no reason for a malformed payload; this one is
		// the test server's own.
		reason = "BadPayload"
	}
	if reason != "" {
		refuse(w, status, reason)
		return
	}
	s.mu.Lock()
	since, gone := s.unregistered[strings.ToLower(token)]
	if !gone {
		s.received = append(s.received, Received{
			Token: token, ID: id, Topic: h.Get("apns-topic"), PushType: h.Get("apns-push-type"),
			Priority: h.Get("apns-priority"), Expiration: h.Get("apns-expiration"),
			CollapseID: h.Get("apns-collapse-id"), Body: json.RawMessage(body),
		})
	}
	s.mu.Unlock()
	if id == "" {
		id = newUUID()
	}
	w.Header().Set("apns-id", id)
	if gone {
		w.Header().Set("content-type", "application/json")
		w.WriteHeader(http.StatusGone)
		json.NewEncoder(w).Encode(map[string]any{"reason": "Unregistered", "timestamp": since.UnixMilli()})
		return
	}
	w.WriteHeader(http.StatusOK)
}

// checkJWT returns the reason APNs gives for a bad provider token, or "".
func (s *Server) checkJWT(authorization string) string {
	if authorization == "" {
		return "MissingProviderToken"
	}
	jwt, ok := strings.CutPrefix(authorization, "bearer ")
	if !ok {
		return "InvalidProviderToken"
	}
	iat, err := verify(s.pub, s.KeyID, s.TeamID, jwt)
	if err != nil {
		return "InvalidProviderToken"
	}
	if age := time.Since(time.Unix(iat, 0)); age > time.Hour {
		return "ExpiredProviderToken"
	} else if age < -time.Minute {
		return "InvalidProviderToken"
	}
	return ""
}

// verify checks an ES256 JWT's header, claims and signature and returns
// its iat.
func verify(pub *ecdsa.PublicKey, kid, iss, jwt string) (int64, error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return 0, errors.New("not a JWT")
	}
	var header struct{ Alg, Kid string }
	var claims struct {
		Iss string
		Iat int64
	}
	for i, v := range []any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return 0, err
		}
		if err := json.Unmarshal(b, v); err != nil {
			return 0, err
		}
	}
	if header.Alg != "ES256" || header.Kid != kid || claims.Iss != iss || claims.Iat == 0 {
		return 0, errors.New("wrong header or claims")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return 0, errors.New("bad signature encoding")
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pub, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return 0, errors.New("bad signature")
	}
	return claims.Iat, nil
}

func refuse(w http.ResponseWriter, status int, reason string) {
	w.Header().Set("content-type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"reason": reason})
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

func isUint(s string) bool {
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil
}

func isJSONObject(b []byte) bool {
	var v map[string]json.RawMessage
	return json.Unmarshal(b, &v) == nil
}

func newUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
