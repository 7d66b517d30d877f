// Package console is Brazen's developer console: server-rendered pages
// (html/template, assets embedded) on the console listener, for API keys,
// users, message activity, API usage and the instance. Accounts log in
// with a password (Argon2id); a session is an HttpOnly, SameSite=Strict
// cookie whose secret the store keeps only hashed; every state-changing
// form is guarded by http.CrossOriginProtection.
package console

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/brazenhq/brazen/internal/auth"
	"github.com/brazenhq/brazen/internal/brazen"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Store is what the console reads and writes.
type Store interface {
	brazen.ConsoleStore
	brazen.CounterStore
	brazen.KeyStore
	brazen.JobStore
	brazen.MessageStore
	brazen.UsageStore
}

// KeyCache is told about keys created and deleted, so the REST API sees
// the change at once.
type KeyCache interface {
	Add(*brazen.APIKey)
	Forget(id string)
}

// Users finds profiles.
type Users interface {
	Resolve(ctx context.Context, id brazen.Identifier) (*brazen.Profile, error)
}

// Instance describes the running instance, for the pages.
type Instance struct {
	Name         string
	Workspace    string
	WorkspaceID  string
	RESTURL      string // e.g. http://127.0.0.1:8080
	DataLocation string // the data directory, or the store URL without its password
	StoreKind    string // sqlite or postgres
	Version      string
}

// Options configure the console.
type Options struct {
	Store    Store
	Keys     KeyCache
	Users    Users
	Instance Instance
	Logger   *slog.Logger
	Now      func() time.Time // default time.Now
	// TrustedProxies are the proxies whose X-Forwarded-For names the
	// client (--trusted-proxy, as for the REST API).
	TrustedProxies []netip.Prefix
	SessionTTL     time.Duration // default 12h
}

// Handler serves the console's pages.
type Handler struct {
	o       Options
	mux     *http.ServeMux
	pages   map[string]*template.Template
	handler http.Handler
}

// cookieName is the session cookie.
const cookieName = "brazen_console"

// New returns the console handler.
func New(o Options) (*Handler, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	h := &Handler{o: o, mux: http.NewServeMux(), pages: map[string]*template.Template{}}
	funcs := template.FuncMap{
		"iso":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	}
	for _, name := range []string{"login", "setup", "keys", "key_new", "key_created", "key_delete", "users", "messages", "usage", "instance", "account", "error"} {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		h.pages[name] = t
	}
	static, _ := fs.Sub(staticFS, "static")
	h.mux.Handle("GET /static/", http.StripPrefix("/static/", cacheFor(time.Hour, http.FileServerFS(static))))
	h.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/keys", http.StatusFound) })
	h.mux.HandleFunc("GET /login", h.loginPage)
	h.mux.HandleFunc("POST /login", h.login)
	h.mux.HandleFunc("POST /logout", h.logout)
	h.mux.HandleFunc("GET /setup", h.setupPage)
	h.mux.HandleFunc("POST /setup", h.setup)
	h.page("GET /keys", h.keysPage)
	h.page("GET /keys/new", h.newKeyPage)
	h.page("POST /keys", h.createKey)
	h.page("GET /keys/{id}/delete", h.deleteKeyPage)
	h.page("POST /keys/{id}/delete", h.deleteKey)
	h.page("GET /users", h.usersPage)
	h.page("GET /messages", h.messagesPage)
	h.page("GET /usage", h.usagePage)
	h.page("GET /instance", h.instancePage)
	h.page("GET /account", h.accountPage)
	h.page("POST /account/password", h.changePassword)
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.render(w, r, http.StatusNotFound, "error", view{Title: "Page not found"})
	})
	// Forms post only from the console's own pages: a cross-origin POST
	// (a forged form on another site) is refused with 403.
	cop := http.NewCrossOriginProtection()
	h.handler = securityHeaders(cop.Handler(limitForms(h.mux)))
	return h, nil
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.handler.ServeHTTP(w, r) }

// securityHeaders keeps pages out of frames and scripts to the console's
// own, and pages out of caches.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			hd.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// Form bodies: URL-encoded only (no multipart, whose files would spill to
// disk), and small.
const (
	maxForm    = 16 << 10
	maxKeyForm = 256 << 10 // every permission's name, and an allowlist
)

// limitForms bounds what a POST may send before anything reads it.
func limitForms(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
				http.Error(w, "forms are sent as application/x-www-form-urlencoded", http.StatusUnsupportedMediaType)
				return
			}
			limit := int64(maxForm)
			if r.URL.Path == "/keys" {
				limit = maxKeyForm
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
			if err := r.ParseForm(); err != nil {
				http.Error(w, "the form is too large or malformed", http.StatusRequestEntityTooLarge)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func cacheFor(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "private, max-age="+strconv.Itoa(int(d.Seconds())))
		next.ServeHTTP(w, r)
	})
}

// view is what every page template gets.
type view struct {
	Title    string
	Nav      string
	Admin    *brazen.Admin
	Instance Instance
	Flash    string
	Error    string
	Details  []string
	Field    string // the form field the error is about, marked aria-invalid
	Data     any
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	v.Instance = h.o.Instance
	if v.Admin == nil {
		v.Admin = adminFrom(r.Context())
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := h.pages[name].ExecuteTemplate(w, "layout", v); err != nil {
		h.o.Logger.Error("rendering a console page", "page", name, "err", err)
	}
}

// fail renders err: a Brazen error's message and details with its status,
// anything else as a 500 that names no internals.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, name string, v view, err error) {
	status := http.StatusInternalServerError
	var be *brazen.Error
	switch {
	case errors.As(err, &be) && be.Code == brazen.EINVALID:
		status, v.Error, v.Details = http.StatusBadRequest, be.Message, be.Details
	case errors.As(err, &be) && be.Code == brazen.ENOTFOUND:
		status, v.Error = http.StatusNotFound, be.Message
	case errors.As(err, &be) && be.Code == brazen.EUNAVAILABLE:
		status, v.Error = http.StatusServiceUnavailable, "The store is unavailable; try again shortly."
	default:
		h.o.Logger.Error("console request failed", "path", r.URL.Path, "err", err)
		v.Error = "Something went wrong; the server's log has the details."
	}
	h.render(w, r, status, name, v)
}

type adminKey struct{}

func adminFrom(ctx context.Context) *brazen.Admin {
	a, _ := ctx.Value(adminKey{}).(*brazen.Admin)
	return a
}

// page registers a handler that needs a logged-in account.
func (h *Handler) page(pattern string, fn func(w http.ResponseWriter, r *http.Request)) {
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		a, err := h.session(r)
		if err != nil {
			h.fail(w, r, "error", view{Title: "Unavailable"}, err)
			return
		}
		if a == nil {
			next := ""
			if r.Method == http.MethodGet {
				next = r.URL.RequestURI()
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
			return
		}
		fn(w, r.WithContext(context.WithValue(r.Context(), adminKey{}, a)))
	})
}

// session returns the request's logged-in account, nil if none.
func (h *Handler) session(r *http.Request) (*brazen.Admin, error) {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	t, err := h.o.Store.ConsoleToken(r.Context(), brazen.HashSecret(c.Value), brazen.TokenSession, h.o.Now())
	if brazen.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	a, err := h.o.Store.AdminByID(r.Context(), t.AdminID)
	if brazen.IsNotFound(err) {
		return nil, nil
	}
	return a, err
}

// NewSecret returns 256 random bits, URL-safe: a session or setup link
// secret.
func NewSecret() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// errPasswordChanged: the account's password changed while a login
// checked the old one.
var errPasswordChanged = errors.New("the password changed during the login")

// startSession stores a session for a and sets its cookie. a's password
// hash is the one the caller checked: if the account's has changed since
// (a password change that ended every session committed meanwhile), the
// session is removed again and errPasswordChanged returned.
func (h *Handler) startSession(w http.ResponseWriter, r *http.Request, a *brazen.Admin) error {
	secret := NewSecret()
	now := h.o.Now()
	tok := brazen.HashSecret(secret)
	if err := h.o.Store.CreateConsoleToken(r.Context(), brazen.ConsoleToken{Hash: tok,
		Kind: brazen.TokenSession, AdminID: a.ID, CreatedAt: now, ExpiresAt: now.Add(h.o.SessionTTL)}); err != nil {
		return err
	}
	if cur, err := h.o.Store.AdminByID(r.Context(), a.ID); err != nil || cur.PasswordHash != a.PasswordHash {
		if derr := h.o.Store.DeleteConsoleToken(r.Context(), tok); derr != nil {
			h.o.Logger.Warn("removing a session started as the password changed", "admin_id", a.ID, "err", derr)
		}
		if err != nil {
			return err
		}
		return errPasswordChanged
	}
	if err := h.o.Store.TouchAdminLogin(r.Context(), a.ID, now); err != nil {
		h.o.Logger.Warn("recording a console login", "admin_id", a.ID, "err", err)
	}
	// The browser's previous session ends, and expired ones are swept:
	// the table holds live sessions only.
	if c, err := r.Cookie(cookieName); err == nil && c.Value != "" {
		if err := h.o.Store.DeleteConsoleToken(r.Context(), brazen.HashSecret(c.Value)); err != nil {
			h.o.Logger.Warn("ending the previous console session", "err", err)
		}
	}
	if err := h.o.Store.DeleteExpiredConsoleTokens(r.Context(), now); err != nil {
		h.o.Logger.Warn("removing expired console sessions", "err", err)
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: secret, Path: "/", MaxAge: int(h.o.SessionTTL.Seconds()),
		HttpOnly: true, Secure: secureRequest(r), SameSite: http.SameSiteStrictMode})
	return nil
}

// secureRequest: the cookie is Secure when the console is reached over
// TLS (directly or through a proxy that says so). Over plain HTTP — the
// default loopback listener — a Secure cookie would never come back.
func secureRequest(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// clientAddr is the client's address, for login limits and logs: the TCP
// peer's, or behind a trusted proxy the address it forwarded for, as the
// REST API reads it.
func (h *Handler) clientAddr(r *http.Request) netip.Addr {
	return auth.ClientIP(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), h.o.TrustedProxies)
}

// localPath keeps a ?next= redirect on this site: a path of its own, with
// no scheme or host, nothing a browser would read as another site once it
// drops tabs and newlines and turns backslashes into slashes.
func localPath(next string) string {
	const home = "/keys"
	if strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return home
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		return home
	}
	return next
}
