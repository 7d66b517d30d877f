package brazeapi

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/httpx"
	"github.com/brazenhq/brazen/internal/message"
	"github.com/brazenhq/brazen/internal/ratelimit"
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
	if s.Broadcast {
		if err := a.takeBroadcast(c, s); err != nil {
			return err
		}
	}
	r, err := a.messages.Send(c.R.Context(), s)
	if err != nil {
		return err
	}
	out := map[string]any{"dispatch_id": r.DispatchID, "message": "success"}
	if s.Broadcast && r.SendID != "" {
		out["send_id"] = r.SendID
	}
	httpx.WriteJSON(c.W, http.StatusCreated, out)
	return nil
}

// sendsIDCreate is POST /sends/id/create: a send id for a campaign, given
// or made, under which /messages/send requests are counted together.
func (a *API) sendsIDCreate(c *Call) error {
	if a.sends == nil {
		return notBuilt(c)
	}
	body, err := c.Body()
	if err != nil {
		return err
	}
	campaignID, sendID, err := message.ParseSendIDCreate(body)
	if err != nil {
		return err
	}
	if sendID == "" {
		sendID = brazen.NewID()
	}
	switch err := a.sends.CreateSendID(c.R.Context(), campaignID, sendID, c.Now); {
	case brazen.ErrorCode(err) == brazen.ECONFLICT:
		// Creating a pair that exists gives it back: a retried request
		// succeeds.
	case err != nil:
		return err
	}
	httpx.WriteJSON(c.W, http.StatusCreated, map[string]any{"message": "success", "send_id": sendID})
	return nil
}

// Braze limits broadcasts apart from other sends: 250 a minute for the
// workspace, and 10 a minute for each "same unique audience" (the same
// campaign, segment and connected audience).
var (
	broadcastLimit         = ratelimit.Limit{N: 250, Window: time.Minute}
	broadcastAudienceLimit = ratelimit.Limit{N: 10, Window: time.Minute}
)

// takeBroadcast counts a broadcast against both limits; the headers then
// show the audience's count, the tighter of the two.
func (a *API) takeBroadcast(c *Call, s *message.Send) error {
	ws := c.Key.WorkspaceID
	sum := sha256.Sum256([]byte(s.AudienceKey()))
	for _, b := range []struct {
		scope string
		lim   ratelimit.Limit
	}{
		{ws + "/broadcast", broadcastLimit},
		{ws + "/broadcast/" + hex.EncodeToString(sum[:12]), broadcastAudienceLimit},
	} {
		d := a.limiter.Take(b.scope, c.e.group, b.lim, c.Now)
		setRateHeaders(c.W, d)
		if !d.Allowed {
			a.rateLimited[c.e.group].Inc()
			return errRateLimited
		}
	}
	return nil
}
