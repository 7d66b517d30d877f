package console

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/brazenhq/brazen/internal/auth"
	"github.com/brazenhq/brazen/internal/brazen"
)

type keyRow struct {
	*brazen.APIKey
	Summary    string
	AllowedIPs []string
}

// permissionSummary says which groups a key's permissions come from.
func permissionSummary(perms []string) string {
	if len(perms) == len(auth.PermissionNames()) {
		return fmt.Sprintf("All permissions (%d)", len(perms))
	}
	var parts []string
	for _, g := range auth.Groups {
		n := 0
		for _, p := range g.Permissions {
			if slices.Contains(perms, p) {
				n++
			}
		}
		switch {
		case n == len(g.Permissions):
			parts = append(parts, g.Name+" (all)")
		case n > 0:
			parts = append(parts, fmt.Sprintf("%s (%d)", g.Name, n))
		}
	}
	noun := "permissions"
	if len(perms) == 1 {
		noun = "permission"
	}
	return fmt.Sprintf("%d %s: %s", len(perms), noun, strings.Join(parts, ", "))
}

func (h *Handler) keysPage(w http.ResponseWriter, r *http.Request) {
	v := view{Title: "API Keys", Nav: "keys"}
	keys, err := h.o.Store.Keys(r.Context(), h.o.Instance.WorkspaceID)
	if err != nil {
		h.fail(w, r, "keys", v, err)
		return
	}
	var rows []keyRow
	for _, k := range keys {
		row := keyRow{APIKey: k, Summary: permissionSummary(k.Permissions)}
		for _, p := range k.AllowedIPs {
			row.AllowedIPs = append(row.AllowedIPs, p.String())
		}
		rows = append(rows, row)
	}
	switch r.URL.Query().Get("done") {
	case "deleted":
		v.Flash = "The API key was deleted. Requests with it are refused."
	case "exists":
		v.Flash = "That form was sent already: the key it created is listed below. Its secret was shown once."
	}
	v.Data = struct{ Keys []keyRow }{rows}
	h.render(w, r, http.StatusOK, "keys", v)
}

type permBox struct {
	Name    string
	Checked bool
}

type permGroup struct {
	Name        string
	Permissions []permBox
}

type keyForm struct {
	FormID     string // makes a resubmitted form (reload, Back) create nothing
	Name       string
	AllowedIPs string
	Groups     []permGroup
}

func newKeyForm(formID, name, ips string, checked []string) keyForm {
	if formID == "" {
		formID = NewSecret()
	}
	f := keyForm{FormID: formID, Name: name, AllowedIPs: ips}
	for _, g := range auth.Groups {
		pg := permGroup{Name: g.Name}
		for _, p := range g.Permissions {
			pg.Permissions = append(pg.Permissions, permBox{p, slices.Contains(checked, p)})
		}
		f.Groups = append(f.Groups, pg)
	}
	return f
}

func (h *Handler) newKeyPage(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "key_new", view{Title: "Create New API Key", Nav: "keys", Data: newKeyForm("", "", "", nil)})
}

// splitIPs reads the allowlist field: entries separated by lines, commas
// or spaces.
func splitIPs(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' || r == ' ' || r == '\t' })
}

func (h *Handler) createKey(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, "key_new", view{Title: "Create New API Key", Nav: "keys", Data: newKeyForm("", "", "", nil)},
			&brazen.Error{Code: brazen.EINVALID, Message: "The form could not be read"})
		return
	}
	name, ips, perms, formID := r.PostForm.Get("name"), r.PostForm.Get("allowed_ips"), r.PostForm["permissions"], r.PostForm.Get("form_id")
	v := view{Title: "Create New API Key", Nav: "keys", Data: newKeyForm(formID, name, ips, perms)}
	k, secret, err := auth.NewAPIKey(auth.KeyRequest{WorkspaceID: h.o.Instance.WorkspaceID, Name: name,
		Permissions: perms, AllowedIPs: splitIPs(ips)}, h.o.Now())
	if err != nil {
		// Which field the error is about, in the order NewAPIKey checks.
		switch {
		case strings.TrimSpace(name) == "" || utf8.RuneCountInString(strings.TrimSpace(name)) > auth.MaxKeyNameLength:
			v.Field = "name"
		case len(perms) == 0:
			v.Field = "permissions"
		default:
			v.Field = "allowed_ips"
		}
		h.fail(w, r, "key_new", v, err) // the form comes back with its id: corrected, it may be sent again
		return
	}
	if formID != "" {
		first, err := firstSend(r.Context(), h.o.Store, formID, h.o.Now())
		if err != nil {
			h.o.Logger.Warn("recording a key form's id", "err", err)
			h.fail(w, r, "key_new", v, &brazen.Error{Code: brazen.EUNAVAILABLE, Message: "recording the form", Err: err})
			return
		}
		if !first {
			// This form made a key already (a reload of the result page):
			// the key is listed, and its secret is not shown again.
			http.Redirect(w, r, "/keys?done=exists", http.StatusSeeOther)
			return
		}
	}
	if err := h.o.Store.CreateKey(r.Context(), k); err != nil {
		// The form's id is spent; the form comes back with a new one, so
		// that sending it again creates the key rather than being taken
		// for a reload.
		v.Data = newKeyForm("", name, ips, perms)
		h.fail(w, r, "key_new", v, err)
		return
	}
	h.o.Keys.Add(k)
	h.o.Logger.Info("API key created", "key_id", k.ID, "name", k.Name, "via", "console", "admin_id", adminFrom(r.Context()).ID)
	var allowed []string
	for _, p := range k.AllowedIPs {
		allowed = append(allowed, p.String())
	}
	h.render(w, r, http.StatusCreated, "key_created", view{Title: "API key created", Nav: "keys", Data: struct {
		ID, Name, Secret        string
		Permissions, AllowedIPs []string
	}{k.ID, k.Name, secret, k.Permissions, allowed}})
}

// workspaceKey finds the key of the path's id in this workspace.
func (h *Handler) workspaceKey(r *http.Request) (*brazen.APIKey, error) {
	k, err := h.o.Store.Key(r.Context(), r.PathValue("id"))
	if err == nil && k.WorkspaceID != h.o.Instance.WorkspaceID {
		err = brazen.Errorf(brazen.ENOTFOUND, "No such API key")
	}
	if brazen.IsNotFound(err) {
		return nil, brazen.Errorf(brazen.ENOTFOUND, "No such API key: it may have been deleted already.")
	}
	return k, err
}

func (h *Handler) deleteKeyPage(w http.ResponseWriter, r *http.Request) {
	v := view{Title: "Delete API key", Nav: "keys"}
	k, err := h.workspaceKey(r)
	if err != nil {
		h.fail(w, r, "error", v, err)
		return
	}
	v.Data = k
	h.render(w, r, http.StatusOK, "key_delete", v)
}

func (h *Handler) deleteKey(w http.ResponseWriter, r *http.Request) {
	v := view{Title: "Delete API key", Nav: "keys"}
	k, err := h.workspaceKey(r)
	if err != nil {
		h.fail(w, r, "error", v, err)
		return
	}
	if err := h.o.Store.DeleteKey(r.Context(), k.ID); err != nil {
		h.fail(w, r, "error", v, err)
		return
	}
	h.o.Keys.Forget(k.ID)
	h.o.Logger.Info("API key deleted", "key_id", k.ID, "via", "console", "admin_id", adminFrom(r.Context()).ID)
	http.Redirect(w, r, "/keys?done=deleted", http.StatusSeeOther)
}
