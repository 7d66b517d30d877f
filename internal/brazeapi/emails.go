package brazeapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/httpx"
)

func badRequestf(format string, args ...any) error {
	return &brazen.Error{Code: brazen.EINVALID, Message: "Bad Request", Details: []string{fmt.Sprintf(format, args...)}}
}

// emailHardBounces is GET /email/hard_bounces: the addresses mail to which
// failed for good, newest first, by email or by date range.
func (a *API) emailHardBounces(c *Call) error {
	if a.bounces == nil {
		return notBuilt(c)
	}
	q := c.R.URL.Query()
	day := func(name string) (time.Time, error) {
		v := q.Get(name)
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return t, badRequestf("%s must be a date, YYYY-MM-DD; got %q", name, v)
		}
		return t, nil
	}
	if q.Get("end_date") == "" {
		return badRequestf("end_date is required (YYYY-MM-DD)")
	}
	end, err := day("end_date")
	if err != nil {
		return err
	}
	bq := brazen.BounceQuery{End: end.AddDate(0, 0, 1), Limit: 100, Email: strings.TrimSpace(q.Get("email"))}
	if bq.Email == "" {
		if q.Get("start_date") == "" {
			return badRequestf("give start_date (YYYY-MM-DD) or email")
		}
		if bq.Start, err = day("start_date"); err != nil {
			return err
		}
		if bq.Start.After(end) {
			return badRequestf("start_date must not be after end_date")
		}
	}
	if v := q.Get("limit"); v != "" {
		if bq.Limit, err = strconv.Atoi(v); err != nil || bq.Limit < 1 || bq.Limit > 500 {
			return badRequestf("limit must be a whole number from 1 to 500")
		}
	}
	if v := q.Get("offset"); v != "" {
		if bq.Offset, err = strconv.Atoi(v); err != nil || bq.Offset < 0 {
			return badRequestf("offset must be a whole number, 0 or more")
		}
	}
	bounces, err := a.bounces.Bounces(c.R.Context(), bq)
	if err != nil {
		return err
	}
	type entry struct {
		Email         string `json:"email"`
		HardBouncedAt string `json:"hard_bounced_at"`
	}
	out := []entry{}
	for _, b := range bounces {
		out = append(out, entry{b.Email, b.BouncedAt.UTC().Format(time.RFC3339)})
	}
	httpx.WriteJSON(c.W, http.StatusOK, map[string]any{"emails": out, "message": "success"})
	return nil
}

// emailBounceRemove is POST /email/bounce/remove: addresses off the
// hard-bounce list, so that mail goes to them again.
func (a *API) emailBounceRemove(c *Call) error {
	if a.bounces == nil {
		return notBuilt(c)
	}
	var body struct {
		Email json.RawMessage `json:"email"`
	}
	if err := c.Decode(&body); err != nil {
		return err
	}
	var emails []string
	if err := json.Unmarshal(body.Email, &emails); err != nil {
		var one string
		if err := json.Unmarshal(body.Email, &one); err != nil || len(body.Email) == 0 {
			return badRequestf("email must be an address or an array of at most 50 addresses")
		}
		emails = []string{one}
	}
	if len(emails) == 0 || len(emails) > 50 {
		return badRequestf("email must name 1 to 50 addresses; got %d", len(emails))
	}
	for i, e := range emails {
		if _, err := mail.ParseAddress(e); err != nil || strings.ContainsAny(e, "<> ") {
			return badRequestf("email[%d] is not an email address: %q", i, e)
		}
	}
	if err := a.bounces.RemoveBounces(c.R.Context(), emails); err != nil {
		return err
	}
	httpx.WriteJSON(c.W, http.StatusOK, map[string]any{"message": "success"})
	return nil
}
