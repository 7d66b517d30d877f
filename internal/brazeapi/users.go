package brazeapi

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/export"
	"github.com/brazenhq/brazen/internal/httpx"
	"github.com/brazenhq/brazen/internal/ingest"
)

// The user-data endpoints: writes are validated, appended to the ingest log
// (durably) and acknowledged; the applier applies them. Reads and writes
// whose checks need the current state first wait for the applier to pass
// every write acknowledged before them.

func (a *API) usersTrack(c *Call) error     { return a.track(c, ingest.TrackLimitsDefault) }
func (a *API) usersTrackBulk(c *Call) error { return a.track(c, ingest.TrackLimitsBulk) }

func (a *API) track(c *Call, lim ingest.TrackLimits) error {
	body, err := c.Body()
	if err != nil {
		return err
	}
	t, err := ingest.ParseTrack(body, lim, c.Now)
	if err != nil {
		return err
	}
	if len(t.Ops) > 0 {
		if _, err := a.users.Append(c.R.Context(), t.Ops); err != nil {
			return err
		}
	}
	httpx.WriteJSON(c.W, http.StatusCreated, trackResponse(t))
	return nil
}

func trackResponse(t *ingest.Track) map[string]any {
	resp := map[string]any{"message": "success"}
	if t.HasAttributes {
		resp["attributes_processed"] = t.Attributes
	}
	if t.HasEvents {
		resp["events_processed"] = t.Events
	}
	if t.HasPurchases {
		resp["purchases_processed"] = t.Purchases
	}
	if len(t.Errors) > 0 {
		resp["errors"] = t.Errors
	}
	return resp
}

// usersTrackSync applies one object and answers with the resulting profile.
func (a *API) usersTrackSync(c *Call) error {
	body, err := c.Body()
	if err != nil {
		return err
	}
	t, err := ingest.ParseTrack(body, ingest.TrackLimitsSync, c.Now)
	if err != nil {
		return err
	}
	users := []map[string]any{}
	if len(t.Ops) == 1 {
		ctx := c.R.Context()
		seq, err := a.users.Append(ctx, t.Ops)
		if err != nil {
			return err
		}
		if err := a.users.WaitFor(ctx, seq); err != nil {
			return err
		}
		op := t.Ops[0]
		p, err := a.users.Resolve(ctx, op.ID)
		if err != nil {
			return err
		}
		if p != nil {
			users = append(users, syncUser(p, &op))
		}
	}
	resp := trackResponse(t)
	resp["users"] = users
	httpx.WriteJSON(c.W, http.StatusCreated, resp)
	return nil
}

// syncUser echoes what the object touched: the identifier it used, the
// custom attributes, and the event's or product's summary.
func syncUser(p *brazen.Profile, op *ingest.Op) map[string]any {
	u := map[string]any{"braze_id": p.BrazeID}
	switch {
	case op.ID.ExternalID != "":
		u["external_id"] = p.ExternalID
	case op.ID.Alias != nil:
		u["user_alias"] = op.ID.Alias
	case op.ID.Email != "":
		u["email"] = p.Email
	case op.ID.Phone != "":
		u["phone"] = p.Phone
	}
	switch op.Kind {
	case ingest.KindAttributes:
		if op.Attrs != nil && len(op.Attrs.Custom) > 0 {
			touched := map[string]any{}
			for _, c := range op.Attrs.Custom {
				touched[c.Name] = p.Custom[c.Name] // nil (null) if the object unset it
			}
			u["custom_attributes"] = touched
		}
	case ingest.KindEvent:
		if s := p.Events[op.Event.Name]; s != nil {
			u["custom_events"] = []export.Summary{{Name: op.Event.Name, First: export.Time(s.First), Last: export.Time(s.Last), Count: s.Count}}
		}
	case ingest.KindPurchase:
		if s := p.Purchases[op.Purchase.ProductID]; s != nil {
			u["purchase_events"] = []map[string]any{{"product_id": op.Purchase.ProductID,
				"first": export.Time(s.First), "last": export.Time(s.Last), "count": s.Count}}
		}
	}
	return u
}

// appendOps logs ops (if any) and answers with status and body.
func (a *API) appendOps(c *Call, ops []ingest.Op, status int, body map[string]any) error {
	if len(ops) > 0 {
		if _, err := a.users.Append(c.R.Context(), ops); err != nil {
			return err
		}
	}
	body["message"] = "success"
	httpx.WriteJSON(c.W, status, body)
	return nil
}

func (a *API) usersAliasNew(c *Call) error {
	return a.identityOps(c, ingest.AliasNew, http.StatusCreated, func(n int) map[string]any { return map[string]any{"aliases_processed": n} })
}

func (a *API) usersAliasUpdate(c *Call) error {
	return a.identityOps(c, ingest.AliasUpdate, http.StatusCreated, func(int) map[string]any { return map[string]any{} })
}

func (a *API) usersIdentify(c *Call) error {
	return a.identityOps(c, ingest.Identify, http.StatusCreated, func(n int) map[string]any { return map[string]any{"aliases_processed": n} })
}

func (a *API) usersMerge(c *Call) error {
	return a.identityOps(c, ingest.Merge, http.StatusAccepted, func(int) map[string]any { return map[string]any{} })
}

func (a *API) usersDelete(c *Call) error {
	return a.identityOps(c, ingest.Delete, http.StatusAccepted, func(n int) map[string]any { return map[string]any{"deleted": n} })
}

func (a *API) identityOps(c *Call, parse func([]byte) ([]ingest.Op, error), status int, body func(n int) map[string]any) error {
	raw, err := c.Body()
	if err != nil {
		return err
	}
	ops, err := parse(raw)
	if err != nil {
		return err
	}
	return a.appendOps(c, ops, status, body(len(ops)))
}

// itemError is one entry of rename_errors / removal_errors: [index, message].
type itemError [2]any

func (a *API) usersRename(c *Call) error {
	raw, err := c.Body()
	if err != nil {
		return err
	}
	renames, perr, err := ingest.ParseRenames(raw)
	if err != nil {
		return err
	}
	ctx := c.R.Context()
	if err := a.users.Sync(ctx); err != nil {
		return err
	}
	var ops []ingest.Op
	renamed, errs := []string{}, []itemError{}
	seen := map[string]bool{}
	for i, r := range renames {
		msg := ""
		switch {
		case perr[i] != nil:
			msg = perr[i].Error()
		case r.Current == r.New:
			msg = "'current_external_id' and 'new_external_id' must differ"
		case seen[r.Current] || seen[r.New]:
			msg = "an external id may appear in one rename per request"
		}
		if msg == "" {
			cur, err := a.users.Resolve(ctx, brazen.Identifier{ExternalID: r.Current})
			if err != nil {
				return err
			}
			taken, err := a.users.Resolve(ctx, brazen.Identifier{ExternalID: r.New})
			if err != nil {
				return err
			}
			switch {
			case cur == nil || cur.ExternalID != r.Current:
				msg = fmt.Sprintf("'%s' is not the primary external id of any user", r.Current)
			case taken != nil:
				msg = fmt.Sprintf("'%s' is already in use", r.New)
			}
		}
		if msg != "" {
			errs = append(errs, itemError{i, msg})
			continue
		}
		seen[r.Current], seen[r.New] = true, true
		ops = append(ops, ingest.Op{Kind: ingest.KindRename, ID: brazen.Identifier{ExternalID: r.Current}, NewExternalID: r.New})
		renamed = append(renamed, r.Current)
	}
	body := map[string]any{"external_ids": renamed, "rename_errors": errs}
	return a.appendOps(c, ops, http.StatusOK, body)
}

func (a *API) usersRemove(c *Call) error {
	raw, err := c.Body()
	if err != nil {
		return err
	}
	ids, err := ingest.ParseRemovals(raw)
	if err != nil {
		return err
	}
	ctx := c.R.Context()
	if err := a.users.Sync(ctx); err != nil {
		return err
	}
	var ops []ingest.Op
	removed, errs := []string{}, []itemError{}
	for i, id := range ids {
		p, err := a.users.Resolve(ctx, brazen.Identifier{ExternalID: id})
		if err != nil {
			return err
		}
		switch {
		case id == "":
			errs = append(errs, itemError{i, "an external id must be a non-empty string"})
		case p == nil:
			errs = append(errs, itemError{i, fmt.Sprintf("'%s' is not a deprecated external id of any user", id)})
		case p.ExternalID == id:
			errs = append(errs, itemError{i, fmt.Sprintf("'%s' is a primary external id; only deprecated ids can be removed", id)})
		case slices.Contains(removed, id):
			errs = append(errs, itemError{i, fmt.Sprintf("'%s' appears more than once", id)})
		default:
			ops = append(ops, ingest.Op{Kind: ingest.KindRemove, ID: brazen.Identifier{ExternalID: id}})
			removed = append(removed, id)
		}
	}
	body := map[string]any{"removed_ids": removed, "removal_errors": errs}
	return a.appendOps(c, ops, http.StatusOK, body)
}

// exportRequest is the body of /users/export/ids.
type exportRequest struct {
	ExternalIDs    []string       `json:"external_ids"`
	UserAliases    []brazen.Alias `json:"user_aliases"`
	DeviceID       string         `json:"device_id"`
	BrazeID        string         `json:"braze_id"`
	EmailAddress   string         `json:"email_address"`
	Phone          string         `json:"phone"`
	FieldsToExport []string       `json:"fields_to_export"`
}

func (a *API) usersExportIDs(c *Call) error {
	var req exportRequest
	if err := c.Decode(&req); err != nil {
		return err
	}
	bad := func(msg string, details ...string) error {
		return &brazen.Error{Code: brazen.EINVALID, Message: msg, Details: details}
	}
	if len(req.ExternalIDs)+len(req.UserAliases) > ingest.MaxItems {
		return bad("The max number of external_ids and aliases per request was exceeded",
			fmt.Sprintf("at most %d external_ids and user_aliases together", ingest.MaxItems))
	}
	singles := 0
	for _, s := range []string{req.DeviceID, req.BrazeID, req.EmailAddress, req.Phone} {
		if s != "" {
			singles++
		}
	}
	lists := len(req.ExternalIDs)+len(req.UserAliases) > 0
	switch {
	case !lists && singles == 0:
		return bad("Bad Request", "give 'external_ids' and/or 'user_aliases', or one of 'braze_id', 'email_address', 'phone', 'device_id'")
	case singles > 1 || (lists && singles > 0):
		return bad("Bad Request", "'braze_id', 'email_address', 'phone' and 'device_id' are each used alone, not with other identifiers")
	}
	for i, al := range req.UserAliases {
		if al.Name == "" || al.Label == "" {
			return bad("Bad Request", fmt.Sprintf("user_aliases[%d] needs 'alias_name' and 'alias_label'", i))
		}
	}
	fields, err := export.ParseFields(req.FieldsToExport)
	if err != nil {
		return bad("Bad Request", err.Error())
	}
	ctx := c.R.Context()
	if err := a.users.Sync(ctx); err != nil {
		return err
	}
	users := []*export.User{}
	var invalid []string
	add := func(ps []*brazen.Profile) {
		for _, p := range ps {
			users = append(users, export.NewUser(p, fields))
		}
	}
	for _, id := range req.ExternalIDs {
		ps, err := a.users.Find(ctx, brazen.Identifier{ExternalID: id})
		if err != nil {
			return err
		}
		if len(ps) == 0 {
			invalid = append(invalid, id)
		}
		add(ps)
	}
	for _, al := range req.UserAliases {
		ps, err := a.users.Find(ctx, brazen.Identifier{Alias: &al})
		if err != nil {
			return err
		}
		add(ps)
	}
	var single brazen.Identifier
	hasSingle := singles > 0 && req.DeviceID == "" // no SDK devices: a device_id finds nobody
	switch {
	case req.BrazeID != "":
		single.BrazeID = req.BrazeID
	case req.EmailAddress != "":
		single.Email = req.EmailAddress
	case req.Phone != "":
		single.Phone = req.Phone
	}
	if hasSingle {
		ps, err := a.users.Find(ctx, single)
		if err != nil {
			return err
		}
		add(ps)
	}
	resp := map[string]any{"message": "success", "users": users}
	if len(invalid) > 0 {
		resp["invalid_user_ids"] = invalid
	}
	httpx.WriteJSON(c.W, http.StatusOK, resp)
	return nil
}
