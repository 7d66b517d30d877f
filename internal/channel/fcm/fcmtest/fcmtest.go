// Package fcmtest runs a local Firebase Cloud Messaging HTTP v1 API for
// end-to-end tests: a real HTTP server on 127.0.0.1 serving both Google's
// OAuth2 token endpoint (the JWT bearer grant, checked against a service
// account key of its own) and messages:send (checked against the access
// tokens it issued), answering with Google's statuses and error bodies.
package fcmtest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	// ProjectID is the Firebase project of the server's service account.
	ProjectID = "brazen-test"
	// ClientEmail is the service account's.
	ClientEmail = "brazen-sender@brazen-test.iam.gserviceaccount.com"

	scope     = "https://www.googleapis.com/auth/firebase.messaging"
	grantType = "urn:ietf:params:oauth:grant-type:jwt-bearer"
)

// Android is the android part of a message.
type Android struct {
	Priority    string `json:"priority,omitempty"` // "NORMAL" or "HIGH"
	TTL         string `json:"ttl,omitempty"`      // "3600s"
	CollapseKey string `json:"collapse_key,omitempty"`
}

// Received is a message the server accepted.
type Received struct {
	Token   string
	Data    map[string]string
	Android Android
}

// Server is a running FCM and token endpoint. Its methods are safe for
// concurrent use.
type Server struct {
	url   string
	key   *rsa.PrivateKey
	keyID string

	mu            sync.Mutex // guards the fields below
	tokens        map[string]time.Time
	tokenRequests int
	messages      []Received
	unregistered  map[string]bool
	failN         int
	failStatus    int
}

// NewServer starts a server on 127.0.0.1; it stops when the test ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 20)
	rand.Read(id)
	s := &Server{key: key, keyID: hex.EncodeToString(id), tokens: map[string]time.Time{}, unregistered: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", s.token)
	mux.HandleFunc("POST /v1/projects/{project}/messages:send", s.send)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

// URL is FCM's base URL for fcm.Config.BaseURL, http://127.0.0.1:port.
func (s *Server) URL() string { return s.url }

// CredentialsJSON returns a service account key file for ProjectID whose
// token_uri is this server's token endpoint.
func (s *Server) CredentialsJSON() []byte {
	der, err := x509.MarshalPKCS8PrivateKey(s.key)
	if err != nil {
		panic(err)
	}
	b, _ := json.MarshalIndent(map[string]string{
		"type":                        "service_account",
		"project_id":                  ProjectID,
		"private_key_id":              s.keyID,
		"private_key":                 string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":                ClientEmail,
		"client_id":                   "100000000000000000001",
		"auth_uri":                    "https://accounts.google.com/o/oauth2/auth",
		"token_uri":                   s.url + "/token",
		"auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
	}, "", "  ")
	return b
}

// Messages returns the messages accepted so far, in order.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.messages...)
}

// Unregister makes messages:send answer 404 UNREGISTERED for token from
// now on, as FCM does once the app is uninstalled.
func (s *Server) Unregister(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unregistered[token] = true
}

// FailNext makes the next n authorized messages:send requests fail with
// status and the error FCM gives with it (503 UNAVAILABLE, 500 INTERNAL,
// 429 QUOTA_EXCEEDED, 401 UNAUTHENTICATED, 404 UNREGISTERED, 400
// INVALID_ARGUMENT, 403 PERMISSION_DENIED, …). The token endpoint is not
// affected.
func (s *Server) FailNext(n int, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failN, s.failStatus = n, status
}

// TokenRequests is how many times the token endpoint was asked.
func (s *Server) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenRequests
}

// ExpireTokens revokes the access tokens issued so far: requests bearing
// them get 401 UNAUTHENTICATED.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.tokenRequests++
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != grantType {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":"unsupported_grant_type","error_description":"Invalid grant_type."}`)
		return
	}
	if desc := s.verify(r.PostForm.Get("assertion")); desc != "" {
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant", "error_description": desc})
		return
	}
	b := make([]byte, 24)
	rand.Read(b)
	tok := "ya29." + base64.RawURLEncoding.EncodeToString(b)
	s.mu.Lock()
	s.tokens[tok] = time.Now().Add(time.Hour)
	s.mu.Unlock()
	fmt.Fprintf(w, `{"access_token":%q,"expires_in":3599,"token_type":"Bearer"}`, tok)
}

// verify checks a JWT bearer grant assertion as Google does and returns
// the error_description of a refusal, "" if it is accepted.
func (s *Server) verify(jwt string) string {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return "Invalid JWT: not a JWT."
	}
	var header struct{ Alg, Kid string }
	var claims struct {
		Iss, Scope, Aud string
		Iat, Exp        int64
	}
	for i, v := range []any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(b, v) != nil {
			return "Invalid JWT: malformed."
		}
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err != nil || header.Alg != "RS256" || rsa.VerifyPKCS1v15(&s.key.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		return "Invalid JWT Signature."
	}
	now := time.Now().Unix()
	switch {
	case header.Kid != "" && header.Kid != s.keyID:
		return "Invalid JWT Signature: unknown key id."
	case claims.Iss != ClientEmail:
		return "Invalid JWT: iss is not the service account."
	case claims.Aud != s.url+"/token":
		return "Invalid JWT: aud is not the token endpoint."
	case !slices.Contains(strings.Fields(claims.Scope), scope):
		return "Invalid JWT: no firebase.messaging scope."
	case claims.Exp <= now || claims.Iat > now+60 || claims.Exp-claims.Iat > 3600:
		return "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe."
	}
	return ""
}

var ttlFormat = regexp.MustCompile(`^[0-9]+(\.[0-9]{1,9})?s$`)

func (s *Server) send(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	bearer, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	exp, ok := s.tokens[bearer]
	s.mu.Unlock()
	if !ok || time.Now().After(exp) {
		refuse(w, 401, "UNAUTHENTICATED", "", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
		return
	}
	if r.PathValue("project") != ProjectID {
		refuse(w, 403, "PERMISSION_DENIED", "", "Permission 'cloudmessaging.messages.create' denied on resource (or it may not exist).")
		return
	}
	s.mu.Lock()
	if s.failN > 0 {
		s.failN--
		status := s.failStatus
		s.mu.Unlock()
		f := failures[status]
		if f.status == "" {
			f = failure{"UNKNOWN", "", http.StatusText(status)}
		}
		refuse(w, status, f.status, f.errorCode, f.message)
		return
	}
	s.mu.Unlock()
	var req struct {
		Message struct {
			Token   string            `json:"token"`
			Data    map[string]string `json:"data"`
			Android *Android          `json:"android"`
		} `json:"message"`
		ValidateOnly bool `json:"validate_only"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		refuse(w, 400, "INVALID_ARGUMENT", "", "Invalid JSON payload received. "+err.Error())
		return
	}
	m := req.Message
	var a Android
	if m.Android != nil {
		a = *m.Android
	}
	invalid := func(msg string) { refuse(w, 400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", msg) }
	switch {
	case m.Token == "":
		invalid("Recipient of the message is not set.")
		return
	case strings.ContainsAny(m.Token, " /") || len(m.Token) > 4096:
		invalid("The registration token is not a valid FCM registration token")
		return
	case a.Priority != "" && a.Priority != "NORMAL" && a.Priority != "HIGH":
		invalid("Invalid value at 'message.android.priority'")
		return
	case a.TTL != "" && !ttlFormat.MatchString(a.TTL):
		invalid("Invalid value at 'message.android.ttl' (type.googleapis.com/google.protobuf.Duration), Field 'ttl', Illegal duration format")
		return
	}
	for k := range m.Data {
		if k == "from" || k == "notification" || k == "message_type" || strings.HasPrefix(k, "google.") || strings.HasPrefix(k, "gcm.") {
			invalid(fmt.Sprintf("Invalid data payload key: %s", k))
			return
		}
	}
	s.mu.Lock()
	gone := s.unregistered[m.Token]
	if !gone && !req.ValidateOnly {
		s.messages = append(s.messages, Received{Token: m.Token, Data: m.Data, Android: a})
	}
	n := len(s.messages)
	s.mu.Unlock()
	if gone {
		refuse(w, 404, "NOT_FOUND", "UNREGISTERED", "Requested entity was not found.")
		return
	}
	fmt.Fprintf(w, `{"name":"projects/%s/messages/0:%d"}`, ProjectID, n)
}

type failure struct{ status, errorCode, message string }

var failures = map[int]failure{
	400: {"INVALID_ARGUMENT", "INVALID_ARGUMENT", "Request contains an invalid argument."},
	401: {"UNAUTHENTICATED", "", "Request had invalid authentication credentials."},
	403: {"PERMISSION_DENIED", "", "Permission 'cloudmessaging.messages.create' denied."},
	404: {"NOT_FOUND", "UNREGISTERED", "Requested entity was not found."},
	429: {"RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED", "Quota exceeded for quota metric 'Send requests'."},
	500: {"INTERNAL", "INTERNAL", "Internal error encountered."},
	503: {"UNAVAILABLE", "UNAVAILABLE", "The service is currently unavailable."},
}

// refuse writes a google.rpc.Status error body as FCM does.
func refuse(w http.ResponseWriter, code int, status, errorCode, message string) {
	e := map[string]any{"code": code, "message": message, "status": status}
	if errorCode != "" {
		e["details"] = []map[string]string{{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": errorCode}}
	}
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"error": e})
}
