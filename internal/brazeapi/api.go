// Package brazeapi is Brazen's Braze-compatible REST API: the route table
// (routes.go), authentication with REST API keys, permissions and IP
// allowlists, Braze's rate limits and headers, and Braze-shaped errors.
package brazeapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/brazenhq/brazen/internal/auth"
	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/dispatch"
	"github.com/brazenhq/brazen/internal/httpx"
	"github.com/brazenhq/brazen/internal/ingest"
	"github.com/brazenhq/brazen/internal/ratelimit"
)

// Endpoint status in Braze's documentation.
const (
	ga     = "ga"
	beta   = "beta"
	hidden = "hidden"
)

// endpoint is one row of the route table.
type endpoint struct {
	pattern    string // "METHOD /path", a net/http.ServeMux pattern
	permission string // Braze permission; "" for SCIM
	group      int    // rate-limit group
	status     string // ga, beta or hidden
	handler    func(*API, *Call) error
}

func (e *endpoint) method() string { m, _, _ := strings.Cut(e.pattern, " "); return m }
func (e *endpoint) path() string   { _, p, _ := strings.Cut(e.pattern, " "); return p }

// maxBody is the endpoint's request body limit and the error past it: 2 MB
// and 400 on /users/track/bulk, 4 MB and 413 elsewhere (Braze's limits).
func (e *endpoint) maxBody() (int64, *brazen.Error) {
	if e.pattern == "POST /users/track/bulk" {
		return 2 << 20, httpx.TooLarge(brazen.EINVALID, 2<<20)
	}
	return httpx.DefaultMaxBody, httpx.TooLarge(brazen.ETOOLARGE, httpx.DefaultMaxBody)
}

// Route describes an endpoint for `brazen routes` and the documentation.
type Route struct {
	Method     string
	Path       string
	Permission string
	LimitGroup string
	Limit      ratelimit.Limit
	Status     string
	Built      bool
}

// Routes lists the route table with the given limits (nil: Braze's defaults).
func Routes(limits *[numGroups]ratelimit.Limit) []Route {
	out := make([]Route, 0, len(endpointTable))
	for i := range endpointTable {
		e := &endpointTable[i]
		lim := limitGroups[e.group].Limit
		if limits != nil {
			lim = limits[e.group]
		}
		out = append(out, Route{
			Method: e.method(), Path: e.path(), Permission: e.permission,
			LimitGroup: limitGroups[e.group].Name, Limit: lim,
			Status: e.status, Built: e.handler != nil,
		})
	}
	return out
}

// Options configures an API.
type Options struct {
	Keys           *auth.Keyring
	Limiter        ratelimit.Limiter
	Limits         [numGroups]ratelimit.Limit // from ResolveLimits
	TrustedProxies []netip.Prefix
	Now            func() time.Time // nil: time.Now
	Logger         *slog.Logger
	Registerer     prometheus.Registerer // where brazen_rate_limited_total goes
	Users          *ingest.Service       // user data: track, identity, export
	Messages       *dispatch.Planner     // /messages/send; nil answers 501
	Bounces        brazen.BounceStore    // the hard-bounce list; nil answers 501
	Sends          brazen.MessageStore   // send ids; nil answers 501
}

// API serves the Braze REST surface.
type API struct {
	keys        *auth.Keyring
	limiter     ratelimit.Limiter
	limits      [numGroups]ratelimit.Limit
	trusted     []netip.Prefix
	now         func() time.Time
	logger      *slog.Logger
	rateLimited [numGroups]prometheus.Counter
	users       *ingest.Service
	messages    *dispatch.Planner
	bounces     brazen.BounceStore
	sends       brazen.MessageStore

	mux   *http.ServeMux // the routes
	paths *http.ServeMux // the same paths without methods, to tell 405 from 404
}

// New builds the API and its route table.
func New(o Options) *API {
	a := &API{
		keys: o.Keys, limiter: o.Limiter, limits: o.Limits, trusted: o.TrustedProxies,
		now: o.Now, logger: o.Logger, users: o.Users, messages: o.Messages, bounces: o.Bounces, sends: o.Sends,
		mux: http.NewServeMux(), paths: http.NewServeMux(),
	}
	if a.now == nil {
		a.now = time.Now
	}
	limited := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "brazen_rate_limited_total",
		Help: "REST API requests refused with 429, by rate-limit group.",
	}, []string{"group"})
	if o.Registerer != nil {
		o.Registerer.MustRegister(limited)
	}
	for i, g := range limitGroups {
		a.rateLimited[i] = limited.WithLabelValues(g.Name)
	}

	methods := make(map[string][]string) // path → methods, for 405 and Allow
	for i := range endpointTable {
		e := &endpointTable[i]
		a.mux.Handle(e.pattern, a.route(e))
		methods[e.path()] = append(methods[e.path()], e.method())
	}
	for path, ms := range methods {
		a.paths.Handle(path, a.methodNotAllowed(ms))
	}
	a.mux.HandleFunc("/", a.notFound)
	return a
}

// Handle adds an operational handler (health, metrics) to the API's mux, so
// that unknown methods on it get the same JSON 405.
func (a *API) Handle(pattern string, h http.Handler) {
	a.mux.Handle(pattern, h)
	method, path, ok := strings.Cut(pattern, " ")
	if ok {
		ms := []string{method}
		if method == http.MethodGet {
			ms = append(ms, http.MethodHead)
		}
		a.paths.Handle(path, a.methodNotAllowed(ms))
	}
}

// ServeHTTP serves a request.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

func (a *API) notFound(w http.ResponseWriter, r *http.Request) {
	if _, pattern := a.paths.Handler(r); pattern != "" && pattern != "/" {
		a.paths.ServeHTTP(w, r)
		return
	}
	httpx.WriteError(w, r, a.logger, &brazen.Error{Code: brazen.ENOTFOUND, Message: "Not Found",
		Details: []string{fmt.Sprintf("%s %s is not a Braze REST API endpoint", r.Method, r.URL.Path)}})
}

func (a *API) methodNotAllowed(methods []string) http.Handler {
	ms := slices.Clone(methods)
	if slices.Contains(ms, http.MethodGet) && !slices.Contains(ms, http.MethodHead) {
		ms = append(ms, http.MethodHead)
	}
	slices.Sort(ms)
	allow := strings.Join(ms, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		httpx.WriteError(w, r, a.logger, &brazen.Error{Code: brazen.EMETHODNOTALLOWED, Message: "Method Not Allowed",
			Details: []string{fmt.Sprintf("%s does not accept %s; use %s", r.URL.Path, r.Method, allow)}})
	})
}

// Call is one authenticated request to an endpoint handler.
type Call struct {
	W   http.ResponseWriter
	R   *http.Request
	Key *auth.Key
	Now time.Time

	e        *endpoint
	body     []byte
	bodyErr  error
	bodyRead bool
}

// Body returns the request body, read once, within the endpoint's limit.
func (c *Call) Body() ([]byte, error) {
	if !c.bodyRead {
		max, tooLarge := c.e.maxBody()
		c.body, c.bodyErr = httpx.ReadBody(c.W, c.R, max, tooLarge)
		if c.bodyErr == nil && httpx.HasEscapedNUL(c.body) {
			c.body, c.bodyErr = nil, errNUL
		}
		c.bodyRead = true
	}
	return c.body, c.bodyErr
}

// Decode decodes the JSON body into v with Braze-shaped errors.
func (c *Call) Decode(v any) error {
	body, err := c.Body()
	if err != nil {
		return err
	}
	return httpx.DecodeJSON(body, v)
}

var (
	// errNUL refuses the NUL character anywhere in a body: PostgreSQL
	// cannot store it in text, and no identifier or name needs it.
	errNUL = &brazen.Error{Code: brazen.EINVALID, Message: "Bad Request",
		Details: []string{`the request contains the NUL character (\u0000), which Brazen does not accept in any string`}}
	errAccessDenied = &brazen.Error{Code: brazen.EFORBIDDEN, Message: "Access Denied"}
	errIPNotAllowed = &brazen.Error{Code: brazen.EFORBIDDEN, Message: "Invalid whitelisted IPs"}
	errRateLimited  = &brazen.Error{Code: brazen.ERATELIMITED, Message: "Rate Limited"}
	errNoKey        = &brazen.Error{Code: brazen.EUNAUTHORIZED, Message: "Unauthorized",
		Details: []string{"no API key: send 'Authorization: Bearer YOUR-REST-API-KEY'"}}
	errBadAuthHeader = &brazen.Error{Code: brazen.EUNAUTHORIZED, Message: "Unauthorized",
		Details: []string{"the Authorization header must be 'Bearer YOUR-REST-API-KEY'"}}
)

func (a *API) route(e *endpoint) http.Handler {
	if e.permission == "" {
		return a.scim(e)
	}
	perm := auth.MustPermission(e.permission)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &Call{W: w, R: r, Now: a.now(), e: e}
		if err := a.serve(c, perm); err != nil {
			httpx.WriteError(w, r, a.logger, err)
		}
	})
}

// serve runs the checks every endpoint shares, in Braze's order: the key
// (401), its permission (403 Access Denied), its IP allowlist (403), the
// workspace's rate limit (429); then the handler.
func (a *API) serve(c *Call, perm auth.Permission) error {
	secret, err := a.credential(c)
	if err != nil {
		return err
	}
	key, err := a.keys.Authenticate(c.R.Context(), secret, c.Now)
	if err != nil {
		return err
	}
	c.Key = key
	lim := a.limits[c.e.group]
	if !key.Allows(perm) {
		setRateHeaders(c.W, a.limiter.Peek(key.WorkspaceID, c.e.group, lim, c.Now))
		return errAccessDenied
	}
	if !key.AllowsAddr(auth.ClientIP(c.R.RemoteAddr, c.R.Header["X-Forwarded-For"], a.trusted)) {
		setRateHeaders(c.W, a.limiter.Peek(key.WorkspaceID, c.e.group, lim, c.Now))
		return errIPNotAllowed
	}
	d := a.limiter.Take(key.WorkspaceID, c.e.group, lim, c.Now)
	setRateHeaders(c.W, d)
	if !d.Allowed {
		a.rateLimited[c.e.group].Inc()
		return errRateLimited
	}
	if c.e.handler == nil {
		return notBuilt(c)
	}
	return c.e.handler(a, c)
}

// credential finds the REST API key: the Authorization header, else the
// legacy api_key query parameter, else the legacy api_key field of a JSON
// body.
func (a *API) credential(c *Call) (string, error) {
	if h := c.R.Header.Get("Authorization"); h != "" {
		token, ok := auth.BearerToken(h)
		if !ok {
			return "", errBadAuthHeader
		}
		return token, nil
	}
	if c.R.URL.RawQuery != "" {
		if k := c.R.URL.Query().Get("api_key"); k != "" {
			return k, nil
		}
	}
	body, err := c.Body()
	if err != nil {
		return "", err
	}
	if k := bodyAPIKey(body); k != "" {
		return k, nil
	}
	return "", errNoKey
}

// bodyAPIKey returns the top-level "api_key" string of a JSON object body,
// or "" if there is none.
func bodyAPIKey(body []byte) string {
	if !bytes.Contains(body, []byte(`"api_key"`)) {
		return ""
	}
	var v struct {
		APIKey string `json:"api_key"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	return v.APIKey
}

func setRateHeaders(w http.ResponseWriter, d ratelimit.Decision) {
	h := w.Header()
	h.Set("X-Ratelimit-Limit", strconv.FormatInt(d.Limit, 10))
	h.Set("X-Ratelimit-Remaining", strconv.FormatInt(d.Remaining, 10))
	h.Set("X-Ratelimit-Reset", strconv.FormatInt(d.Reset, 10))
}

// notBuilt answers an endpoint Brazen does not serve yet: a body is still
// held to the endpoint's size limit and must be JSON, so a client sees the
// same 413 and 400 it will see once the endpoint exists.
func notBuilt(c *Call) error {
	body, err := c.Body()
	if err != nil {
		return err
	}
	if len(body) > 0 && c.R.Method != http.MethodGet {
		if err := httpx.CheckJSON(body); err != nil {
			return err
		}
	}
	return &brazen.Error{Code: brazen.ENOTIMPLEMENTED,
		Message: fmt.Sprintf("%s is not implemented by Brazen yet", c.e.pattern),
		Details: []string{"run 'brazen routes' to list the endpoints this server implements"}}
}

// scimError is the error body of SCIM endpoints (RFC 7644 §3.12), as Braze
// sends it.
type scimError struct {
	Schemas []string `json:"schemas"`
	Detail  string   `json:"detail"`
	Status  int      `json:"status"`
}

// scim answers the SCIM endpoints. They authenticate with a company-level
// SCIM token and an X-Request-Origin header, not a REST API key, and Brazen
// has no dashboard users or SCIM tokens yet, so a well-formed request gets
// 501 and a malformed one the SCIM error it would get anyway.
func (a *API) scim(e *endpoint) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := scimError{Schemas: []string{"urn:ietf:params:scim:api:messages:2.0:Error"}}
		switch _, ok := auth.BearerToken(r.Header.Get("Authorization")); {
		case !ok:
			body.Status, body.Detail = http.StatusUnauthorized, "a SCIM token is required: send 'Authorization: Bearer YOUR-SCIM-TOKEN'"
		case r.Header.Get("X-Request-Origin") == "":
			body.Status, body.Detail = http.StatusUnauthorized, "the X-Request-Origin header is required"
		default:
			body.Status, body.Detail = http.StatusNotImplemented, e.pattern+" is not implemented by Brazen yet: Brazen has no SCIM tokens"
		}
		w.Header().Set("Content-Type", "application/scim+json")
		httpx.WriteJSON(w, body.Status, body)
	})
}

// RoutesMarkdown renders the route table with Braze's default limits as the
// Markdown table README.md carries.
func RoutesMarkdown() string {
	var b strings.Builder
	b.WriteString("| Method | Path | Permission | Rate limit (group) | Braze | Brazen |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	for _, r := range Routes(nil) {
		perm := "`" + r.Permission + "`"
		if r.Permission == "" {
			perm = "SCIM token"
		}
		built := "not built (501)"
		if r.Built {
			built = "built"
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s (`%s`) | %s | %s |\n", r.Method, r.Path, perm, r.Limit, r.LimitGroup, r.Status, built)
	}
	return b.String()
}
