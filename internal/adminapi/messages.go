package adminapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/httpx"
)

// MessageJSON is one delivery job as the admin API shows it: no payload
// (it holds the rendered message, personal data).
type MessageJSON struct {
	ID         int64     `json:"id"`
	Key        string    `json:"key"`
	DispatchID string    `json:"dispatch_id"`
	Channel    string    `json:"channel"`
	BrazeID    string    `json:"braze_id"`
	State      string    `json:"state"`
	Attempts   int       `json:"attempts"`
	LastError  string    `json:"last_error,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

func badRequest(format string, args ...any) error {
	return &brazen.Error{Code: brazen.EINVALID, Message: "Bad Request", Details: []string{fmt.Sprintf(format, args...)}}
}

// queryLimit reads ?limit= (1–1,000, default 100).
func queryLimit(r *http.Request) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return 100, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 1000 {
		return 0, badRequest("limit must be a whole number from 1 to 1000")
	}
	return n, nil
}

// MessageEventJSON is one outcome on a user's message history.
type MessageEventJSON struct {
	ID         int64     `json:"id"`
	At         time.Time `json:"at"`
	DispatchID string    `json:"dispatch_id"`
	Channel    string    `json:"channel"`
	BrazeID    string    `json:"braze_id"`
	Outcome    string    `json:"outcome"`
	Detail     string    `json:"detail,omitempty"`
}

// listMessageEvents is GET /admin/v1/messages/events?braze_id=&dispatch_id=
// &channel=&outcome=&since=RFC3339&before_id=&limit=: message outcomes,
// newest first; next_before_id pages on.
func (h *Handler) listMessageEvents(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := brazen.MessageEventFilter{BrazeID: q.Get("braze_id"), DispatchID: q.Get("dispatch_id"), Channel: q.Get("channel"), Outcome: q.Get("outcome")}
	if f.Outcome != "" && !slices.Contains(brazen.Outcomes, f.Outcome) {
		return badRequest("outcome must be one of %s", strings.Join(brazen.Outcomes, ", "))
	}
	if s := q.Get("since"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return badRequest("since must be an RFC 3339 time, e.g. 2026-11-26T00:00:00Z")
		}
		f.Since = t
	}
	if s := q.Get("before_id"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			return badRequest("before_id must be a positive whole number")
		}
		f.BeforeID = n
	}
	limit, err := queryLimit(r)
	if err != nil {
		return err
	}
	events, err := h.store.MessageEvents(r.Context(), f, limit)
	if err != nil {
		return err
	}
	out := struct {
		Events       []MessageEventJSON `json:"events"`
		NextBeforeID int64              `json:"next_before_id,omitempty"`
	}{Events: []MessageEventJSON{}}
	for _, e := range events {
		out.Events = append(out.Events, MessageEventJSON{e.ID, e.At, e.DispatchID, e.Channel, e.BrazeID, e.Outcome, e.Detail})
	}
	if len(events) == limit {
		out.NextBeforeID = events[len(events)-1].ID
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

// messageStats is GET /admin/v1/messages/stats?dispatch_id= or
// ?campaign_id=[&send_id=], with since=YYYY-MM-DD (default: 14 days ago):
// outcome counts by day and channel.
func (h *Handler) messageStats(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	dispatchID, campaignID, sendID := q.Get("dispatch_id"), q.Get("campaign_id"), q.Get("send_id")
	if (dispatchID == "") == (campaignID == "") {
		return badRequest("give dispatch_id, or campaign_id (with send_id or not)")
	}
	since := h.now().UTC().AddDate(0, 0, -14)
	if s := q.Get("since"); s != "" {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return badRequest("since must be a date, YYYY-MM-DD")
		}
		since = t
	}
	stats, err := h.store.MessageStats(r.Context(), dispatchID, campaignID, sendID, since)
	if err != nil {
		return err
	}
	type statJSON struct {
		Day        string `json:"day"`
		DispatchID string `json:"dispatch_id"`
		Channel    string `json:"channel"`
		Outcome    string `json:"outcome"`
		Count      int64  `json:"count"`
	}
	out := struct {
		Stats []statJSON `json:"stats"`
	}{Stats: []statJSON{}}
	for _, s := range stats {
		out.Stats = append(out.Stats, statJSON{s.Day.Format(time.DateOnly), s.DispatchID, s.Channel, s.Outcome, s.Count})
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

// listMessages is GET /admin/v1/messages?dispatch_id=&channel=&state=&braze_id=&limit=
// (limit 1–1,000, default 100): recent deliveries, newest first.
func (h *Handler) listMessages(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := brazen.JobFilter{DispatchID: q.Get("dispatch_id"), Channel: q.Get("channel"), State: q.Get("state"), BrazeID: q.Get("braze_id")}
	limit, err := queryLimit(r)
	if err != nil {
		return err
	}
	jobs, err := h.store.Jobs(r.Context(), f, limit)
	if err != nil {
		return err
	}
	out := struct {
		Messages []MessageJSON `json:"messages"`
	}{Messages: []MessageJSON{}}
	for _, j := range jobs {
		out.Messages = append(out.Messages, MessageJSON{ID: j.ID, Key: j.Key, DispatchID: j.DispatchID, Channel: j.Channel,
			BrazeID: j.BrazeID, State: j.State, Attempts: j.Attempts, LastError: j.LastError, CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt})
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

// listCards is GET /admin/v1/users/{braze_id}/cards: the user's content
// cards that have not expired, newest first.
func (h *Handler) listCards(w http.ResponseWriter, r *http.Request) error {
	cards, err := h.store.Cards(r.Context(), r.PathValue("braze_id"), h.now())
	if err != nil {
		return err
	}
	type cardJSON struct {
		ID         string          `json:"id"`
		DispatchID string          `json:"dispatch_id"`
		Card       json.RawMessage `json:"card"`
		ExpiresAt  time.Time       `json:"expires_at"`
		CreatedAt  time.Time       `json:"created_at"`
	}
	out := struct {
		Cards []cardJSON `json:"cards"`
	}{Cards: []cardJSON{}}
	for _, c := range cards {
		out.Cards = append(out.Cards, cardJSON{c.ID, c.DispatchID, c.Card, c.ExpiresAt, c.CreatedAt})
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}
