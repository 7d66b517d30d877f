package brazeapi

import (
	"net/http"

	"github.com/brazenhq/brazen/internal/httpx"
	"github.com/brazenhq/brazen/internal/message"
)

// messagesSend is POST /messages/send: the body is validated whole
// (internal/message), every recipient's message rendered and stored as a
// delivery job, and only then answered with the dispatch id.
func (a *API) messagesSend(c *Call) error {
	if a.messages == nil {
		return notBuilt(c)
	}
	body, err := c.Body()
	if err != nil {
		return err
	}
	s, err := message.Parse(body, c.Now)
	if err != nil {
		return err
	}
	r, err := a.messages.Send(c.R.Context(), s)
	if err != nil {
		return err
	}
	httpx.WriteJSON(c.W, http.StatusCreated, map[string]any{"dispatch_id": r.DispatchID, "message": "success"})
	return nil
}
