package adminapi

import (
	"encoding/json"
	"net/http"
	"strconv"
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

// listMessages is GET /admin/v1/messages?dispatch_id=&channel=&state=&braze_id=&limit=
// (limit 1–1,000, default 100): recent deliveries, newest first.
func (h *Handler) listMessages(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := brazen.JobFilter{DispatchID: q.Get("dispatch_id"), Channel: q.Get("channel"), State: q.Get("state"), BrazeID: q.Get("braze_id")}
	limit := 100
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return &brazen.Error{Code: brazen.EINVALID, Message: "Bad Request", Details: []string{"limit must be a whole number from 1 to 1000"}}
		}
		limit = n
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
