package console

import (
	"errors"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
)

type loginData struct{ Next, Email string }

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	if a, _ := h.session(r); a != nil {
		http.Redirect(w, r, localPath(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	v := view{Title: "Log in", Data: loginData{Next: r.URL.Query().Get("next")}}
	if r.URL.Query().Get("done") == "password" {
		v.Flash = "The password is changed. Log in with the new one."
	}
	h.render(w, r, http.StatusOK, "login", v)
}

// dummyHash is verified against when the email is unknown, so that a
// login takes as long whether or not the account exists.
var dummyHash, _ = HashPassword("brazen-console-no-such-account")

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	email := strings.ToLower(strings.TrimSpace(r.PostFormValue("email")))
	password := r.PostFormValue("password")
	next := r.PostFormValue("next")
	v := view{Title: "Log in", Data: loginData{Next: next, Email: email}}
	if len(email) > maxEmail || len(password) > MaxPasswordLength {
		v.Error, v.Data = "The email or password is not right.", loginData{Next: next}
		h.render(w, r, http.StatusUnauthorized, "login", v)
		return
	}
	if !h.allow(w, r, "login/"+email, "login", v) {
		return
	}
	a, err := h.o.Store.AdminByEmail(r.Context(), email)
	if err != nil && !brazen.IsNotFound(err) {
		h.fail(w, r, "login", v, err)
		return
	}
	hash := dummyHash
	if a != nil {
		hash = a.PasswordHash
	}
	ok, verr := VerifyPassword(hash, password)
	if verr != nil && a != nil {
		h.o.Logger.Error("a console account's password hash is unreadable", "admin_id", a.ID, "err", verr)
	}
	if a == nil || !ok {
		h.o.Logger.Info("console login refused", "remote", h.clientAddr(r))
		v.Error = "The email or password is not right."
		h.render(w, r, http.StatusUnauthorized, "login", v)
		return
	}
	if err := h.startSession(w, r, a); errors.Is(err, errPasswordChanged) {
		v.Error = "The email or password is not right."
		h.render(w, r, http.StatusUnauthorized, "login", v)
		return
	} else if err != nil {
		h.fail(w, r, "login", v, err)
		return
	}
	h.o.Logger.Info("console login", "admin_id", a.ID, "remote", h.clientAddr(r))
	http.Redirect(w, r, localPath(next), http.StatusSeeOther)
}

// maxEmail is the longest email address (RFC 5321's path limit).
const maxEmail = 254

// allow counts an attempt against the client's address and against key.
// When either is spent it answers 429 with Retry-After on the form's page
// (v); when the store cannot count the attempt it answers 503, as every
// login would fail then anyway. It reports whether the attempt may go on.
func (h *Handler) allow(w http.ResponseWriter, r *http.Request, key, page string, v view) bool {
	now := h.o.Now()
	ok, until, err := takeAttempt(r.Context(), h.o.Store, now, attemptKeys(h.clientAddr(r), key)...)
	if err != nil {
		h.o.Logger.Warn("counting a console login attempt", "err", err)
		h.fail(w, r, page, v, &brazen.Error{Code: brazen.EUNAVAILABLE, Message: "counting a login attempt", Err: err})
		return false
	}
	if !ok {
		w.Header().Set("Retry-After", strconv.FormatInt(max(int64(until.Sub(now).Seconds()), 1), 10))
		v.Error = "Too many attempts. Wait a few minutes and try again."
		h.render(w, r, http.StatusTooManyRequests, page, v)
	}
	return ok
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(cookieName); err == nil && c.Value != "" {
		if err := h.o.Store.DeleteConsoleToken(r.Context(), brazen.HashSecret(c.Value)); err != nil {
			h.o.Logger.Warn("ending a console session", "err", err)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: secureRequest(r), SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

type setupData struct {
	Valid     bool
	Token     string
	Email     string
	MinLength int
}

func (h *Handler) setupPage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	_, err := h.o.Store.ConsoleToken(r.Context(), brazen.HashSecret(token), brazen.TokenSetup, h.o.Now())
	if err != nil && !brazen.IsNotFound(err) {
		h.fail(w, r, "error", view{Title: "Unavailable"}, err)
		return
	}
	d := setupData{Valid: token != "" && err == nil, Token: token, MinLength: MinPasswordLength}
	if d.Valid { // a link makes the first account only
		admins, err := h.o.Store.Admins(r.Context())
		if err != nil {
			h.fail(w, r, "error", view{Title: "Unavailable"}, err)
			return
		}
		d.Valid = len(admins) == 0
	}
	status := http.StatusOK
	if !d.Valid {
		status = http.StatusNotFound
	}
	h.render(w, r, status, "setup", view{Title: "Set up the console", Data: d})
}

func (h *Handler) setup(w http.ResponseWriter, r *http.Request) {
	token := r.PostFormValue("token")
	email := strings.ToLower(strings.TrimSpace(r.PostFormValue("email")))
	password := r.PostFormValue("password")
	v := view{Title: "Set up the console", Data: setupData{Valid: true, Token: token, Email: email, MinLength: MinPasswordLength}}
	// Counted by link, so that nobody without the link can use up its
	// attempts.
	if !h.allow(w, r, "setup/"+token, "setup", v) {
		return
	}
	// The link first: hashing a password costs 19 MiB and tens of
	// milliseconds, not to be spent on a request without one.
	if _, err := h.o.Store.ConsoleToken(r.Context(), brazen.HashSecret(token), brazen.TokenSetup, h.o.Now()); brazen.IsNotFound(err) {
		h.render(w, r, http.StatusNotFound, "setup", view{Title: "Set up the console", Data: setupData{}})
		return
	} else if err != nil {
		h.fail(w, r, "setup", v, err)
		return
	}
	if addr, err := mail.ParseAddress(email); err != nil || addr.Address != email || len(email) > maxEmail {
		v.Error = "Enter an email address such as you@example.com."
		h.render(w, r, http.StatusBadRequest, "setup", v)
		return
	}
	if err := CheckPassword(password); err != nil {
		v.Error = "The password is too weak: " + err.Error() + "."
		h.render(w, r, http.StatusBadRequest, "setup", v)
		return
	}
	if password != r.PostFormValue("confirm") {
		v.Error = "The two passwords differ."
		h.render(w, r, http.StatusBadRequest, "setup", v)
		return
	}
	hash, err := HashPassword(password)
	if err != nil {
		h.fail(w, r, "setup", v, err)
		return
	}
	now := h.o.Now()
	a := &brazen.Admin{ID: brazen.NewID(), Email: email, PasswordHash: hash, CreatedAt: now.UTC().Truncate(time.Millisecond)}
	switch err := h.o.Store.ConsumeSetupToken(r.Context(), brazen.HashSecret(token), now, a); {
	case brazen.IsNotFound(err):
		h.render(w, r, http.StatusNotFound, "setup", view{Title: "Set up the console", Data: setupData{}})
		return
	case err != nil:
		h.fail(w, r, "setup", v, err)
		return
	}
	h.o.Logger.Info("console account created with the setup link", "admin_id", a.ID)
	if err := h.startSession(w, r, a); err != nil {
		h.fail(w, r, "setup", v, err)
		return
	}
	http.Redirect(w, r, "/keys", http.StatusSeeOther)
}

type accountData struct{ MinLength int }

func (h *Handler) accountPage(w http.ResponseWriter, r *http.Request) {
	v := view{Title: "Account", Nav: "account", Data: accountData{MinLength: MinPasswordLength}}
	if r.URL.Query().Get("done") == "password" {
		v.Flash = "The password is changed. Every other session of this account has ended."
	}
	h.render(w, r, http.StatusOK, "account", v)
}

// changePassword replaces the logged-in account's password once its
// current one is given. The store ends every session of the account, and
// this browser gets a new one.
func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request) {
	a := adminFrom(r.Context())
	current, password := r.PostFormValue("current"), r.PostFormValue("password")
	v := view{Title: "Account", Nav: "account", Data: accountData{MinLength: MinPasswordLength}}
	refuse := func(status int, field, msg string) {
		v.Error, v.Field = msg, field
		h.render(w, r, status, "account", v)
	}
	// Guesses at the current password count as login attempts do.
	if !h.allow(w, r, "login/"+a.Email, "account", v) {
		return
	}
	if len(current) > MaxPasswordLength {
		refuse(http.StatusUnauthorized, "current", "The current password is not right.")
		return
	}
	if ok, err := VerifyPassword(a.PasswordHash, current); err != nil || !ok {
		if err != nil {
			h.o.Logger.Error("a console account's password hash is unreadable", "admin_id", a.ID, "err", err)
		}
		refuse(http.StatusUnauthorized, "current", "The current password is not right.")
		return
	}
	if err := CheckPassword(password); err != nil {
		refuse(http.StatusBadRequest, "password", "The new password is too weak: "+err.Error()+".")
		return
	}
	if password != r.PostFormValue("confirm") {
		refuse(http.StatusBadRequest, "confirm", "The two new passwords differ.")
		return
	}
	hash, err := HashPassword(password)
	if err != nil {
		h.fail(w, r, "account", v, err)
		return
	}
	if err := h.o.Store.SetAdminPassword(r.Context(), a.ID, hash); err != nil {
		h.fail(w, r, "account", v, err)
		return
	}
	h.o.Logger.Info("console password changed", "admin_id", a.ID, "remote", h.clientAddr(r))
	changed := *a
	changed.PasswordHash = hash
	if err := h.startSession(w, r, &changed); err != nil {
		// The password is changed and this browser's session has ended
		// with the others: say so on the login page.
		h.o.Logger.Warn("starting a session after a password change", "admin_id", a.ID, "err", err)
		http.Redirect(w, r, "/login?done=password", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/account?done=password", http.StatusSeeOther)
}
