// Package adminapi is Brazen's own JSON API for operating an instance: REST
// API key management today, the developer console's data later. It is served
// on the console listener, never on the REST API's, and it takes admin
// tokens, which live apart from REST API keys: a REST API key never opens it.
package adminapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/brazenhq/brazen/internal/auth"
	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/httpx"
)

// Store is what the admin API needs of the store.
type Store interface {
	brazen.KeyStore
	brazen.AdminTokenStore
	brazen.JobStore
	brazen.CardStore
	brazen.MessageStore
}

// KeyCache is told about keys created and deleted here, so the REST API
// sees the change at once.
type KeyCache interface {
	Add(*brazen.APIKey)
	Forget(id string)
}

// Instance describes the running instance.
type Instance struct {
	Name        string `json:"instance"`
	WorkspaceID string `json:"workspace_id"`
	Workspace   string `json:"workspace_name"`
	Version     string `json:"version"`
	RESTAddr    string `json:"rest_addr"`
	Store       string `json:"store"`
}

// Handler serves the admin API.
type Handler struct {
	store    Store
	cache    KeyCache
	instance Instance
	now      func() time.Time
	logger   *slog.Logger
	mux      *http.ServeMux
}

// New returns the admin API handler.
func New(store Store, cache KeyCache, instance Instance, logger *slog.Logger) *Handler {
	h := &Handler{store: store, cache: cache, instance: instance, now: time.Now, logger: logger, mux: http.NewServeMux()}
	h.handle("GET /admin/v1/instance", h.getInstance)
	h.handle("GET /admin/v1/permissions", h.listPermissions)
	h.handle("GET /admin/v1/keys", h.listKeys)
	h.handle("POST /admin/v1/keys", h.createKey)
	h.handle("GET /admin/v1/keys/{id}", h.getKey)
	h.handle("DELETE /admin/v1/keys/{id}", h.deleteKey)
	h.handle("GET /admin/v1/messages", h.listMessages)
	h.handle("GET /admin/v1/messages/events", h.listMessageEvents)
	h.handle("GET /admin/v1/messages/stats", h.messageStats)
	h.handle("GET /admin/v1/users/{braze_id}/cards", h.listCards)
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteError(w, r, logger, &brazen.Error{Code: brazen.ENOTFOUND, Message: "Not Found"})
	})
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *Handler) handle(pattern string, fn func(w http.ResponseWriter, r *http.Request) error) {
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		err := h.authenticate(r.Context(), r)
		if err == nil {
			err = fn(w, r)
		}
		if err != nil {
			httpx.WriteError(w, r, h.logger, err)
		}
	})
}

var errAdminAuth = &brazen.Error{Code: brazen.EUNAUTHORIZED, Message: "Unauthorized",
	Details: []string{"send 'Authorization: Bearer ADMIN-TOKEN' with a token from 'brazen tokens create'; REST API keys do not open the admin API"}}

func (h *Handler) authenticate(ctx context.Context, r *http.Request) error {
	secret, ok := auth.BearerToken(r.Header.Get("Authorization"))
	if !ok {
		return errAdminAuth
	}
	t, err := h.store.AdminTokenByHash(ctx, brazen.HashSecret(secret))
	if brazen.IsNotFound(err) {
		return errAdminAuth
	}
	if err != nil {
		return err
	}
	if err := h.store.TouchAdminToken(ctx, t.ID, h.now()); err != nil {
		h.logger.Warn("recording admin token use", "token_id", t.ID, "err", err)
	}
	return nil
}

func (h *Handler) getInstance(w http.ResponseWriter, r *http.Request) error {
	httpx.WriteJSON(w, http.StatusOK, h.instance)
	return nil
}

func (h *Handler) listPermissions(w http.ResponseWriter, r *http.Request) error {
	type group struct {
		Name        string   `json:"name"`
		Permissions []string `json:"permissions"`
	}
	var out struct {
		Groups []group `json:"groups"`
	}
	for _, g := range auth.Groups {
		out.Groups = append(out.Groups, group{g.Name, g.Permissions})
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

// KeyJSON is a key as Brazen shows it to operators (admin API, `brazen keys
// list --json`): never its secret.
type KeyJSON struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Permissions []string   `json:"permissions"`
	AllowedIPs  []string   `json:"allowed_ips"`
	CreatedAt   time.Time  `json:"created_at"`
	LastUsedAt  *time.Time `json:"last_used_at"`
	Key         string     `json:"key,omitempty"` // only in the answer to a create
}

// NewKeyJSON returns k's operator view.
func NewKeyJSON(k *brazen.APIKey) KeyJSON {
	out := KeyJSON{ID: k.ID, Name: k.Name, Permissions: k.Permissions, AllowedIPs: []string{}, CreatedAt: k.CreatedAt}
	for _, p := range k.AllowedIPs {
		out.AllowedIPs = append(out.AllowedIPs, p.String())
	}
	if !k.LastUsedAt.IsZero() {
		t := k.LastUsedAt
		out.LastUsedAt = &t
	}
	return out
}

func (h *Handler) listKeys(w http.ResponseWriter, r *http.Request) error {
	keys, err := h.store.Keys(r.Context(), h.instance.WorkspaceID)
	if err != nil {
		return err
	}
	out := struct {
		Keys []KeyJSON `json:"keys"`
	}{Keys: []KeyJSON{}}
	for _, k := range keys {
		out.Keys = append(out.Keys, NewKeyJSON(k))
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) getKey(w http.ResponseWriter, r *http.Request) error {
	k, err := h.workspaceKey(r)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, NewKeyJSON(k))
	return nil
}

func (h *Handler) workspaceKey(r *http.Request) (*brazen.APIKey, error) {
	k, err := h.store.Key(r.Context(), r.PathValue("id"))
	if err == nil && k.WorkspaceID != h.instance.WorkspaceID {
		err = brazen.Errorf(brazen.ENOTFOUND, "API key not found")
	}
	if brazen.IsNotFound(err) {
		return nil, &brazen.Error{Code: brazen.ENOTFOUND, Message: "Not Found", Details: []string{"no API key with id " + r.PathValue("id")}}
	}
	return k, err
}

func (h *Handler) createKey(w http.ResponseWriter, r *http.Request) error {
	body, err := httpx.ReadBody(w, r, 1<<20, httpx.TooLarge(brazen.ETOOLARGE, 1<<20))
	if err != nil {
		return err
	}
	var req struct {
		Name           string   `json:"name"`
		Permissions    []string `json:"permissions"`
		AllPermissions bool     `json:"all_permissions"`
		AllowedIPs     []string `json:"allowed_ips"`
	}
	if err := httpx.DecodeJSON(body, &req); err != nil {
		return err
	}
	k, secret, err := auth.NewAPIKey(auth.KeyRequest{
		WorkspaceID: h.instance.WorkspaceID, Name: req.Name, Permissions: req.Permissions,
		AllPermissions: req.AllPermissions, AllowedIPs: req.AllowedIPs,
	}, h.now())
	if err != nil {
		return err
	}
	if err := h.store.CreateKey(r.Context(), k); err != nil {
		return err
	}
	h.cache.Add(k)
	h.logger.Info("API key created", "key_id", k.ID, "name", k.Name, "via", "admin API")
	out := NewKeyJSON(k)
	out.Key = secret
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusCreated, out)
	return nil
}

func (h *Handler) deleteKey(w http.ResponseWriter, r *http.Request) error {
	k, err := h.workspaceKey(r)
	if err != nil {
		return err
	}
	if err := h.store.DeleteKey(r.Context(), k.ID); err != nil {
		return err
	}
	h.cache.Forget(k.ID)
	h.logger.Info("API key deleted", "key_id", k.ID, "via", "admin API")
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"message": "success"})
	return nil
}
