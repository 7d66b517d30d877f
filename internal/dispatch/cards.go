package dispatch

import (
	"context"
	"encoding/json"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/channel"
	"github.com/brazenhq/brazen/internal/liquid"
	"github.com/brazenhq/brazen/internal/message"
)

// CardDeliverer "delivers" a content card by storing it for its user,
// where the SDKs' card feed (and the admin API) read it. The job's key is
// the card's id, so a delivery repeated after a crash stores it once.
type CardDeliverer struct{ Store brazen.CardStore }

// cardPayload is a rendered card as a job carries it.
type cardPayload struct {
	Card      map[string]any `json:"card"`
	ExpiresAt time.Time      `json:"expires_at"`
}

func (d CardDeliverer) Deliver(ctx context.Context, j brazen.Job) error {
	p, err := payload[cardPayload](j)
	if err != nil {
		return err
	}
	card, _ := json.Marshal(p.Card)
	if err := d.Store.PutCard(ctx, brazen.Card{ID: j.Key, DispatchID: j.DispatchID, BrazeID: j.BrazeID,
		Card: card, ExpiresAt: p.ExpiresAt}); err != nil {
		return channel.Transientf("storing the card: %v", err)
	}
	return nil
}

type cardTemplates struct {
	m                  *message.ContentCard
	title, description *liquid.Template
}

func (p *Planner) compileCard(m *message.ContentCard) (*cardTemplates, error) {
	t := &cardTemplates{m: m}
	var err error
	if t.title, err = p.engine.Compile(m.Title); err != nil {
		return nil, badRequest("messages.content_card.title: %v", err)
	}
	if t.description, err = p.engine.Compile(m.Description); err != nil {
		return nil, badRequest("messages.content_card.description: %v", err)
	}
	return t, nil
}

func (t *cardTemplates) render(b liquid.Bindings, now time.Time) (cardPayload, error) {
	title, err := t.title.Render(b)
	if err != nil {
		return cardPayload{}, err
	}
	desc, err := t.description.Render(b)
	if err != nil {
		return cardPayload{}, err
	}
	m := t.m
	expires := m.ExpireAt
	if m.TimeToLive != nil {
		expires = now.Add(time.Duration(*m.TimeToLive) * time.Second)
	}
	card := map[string]any{"type": m.Type, "title": title, "description": desc, "pinned": m.Pinned}
	for k, v := range map[string]string{"image_url": m.ImageURL, "ios_uri": m.IOSURI, "android_uri": m.AndroidURI,
		"web_uri": m.WebURI, "uri_text": m.URIText} {
		if v != "" {
			card[k] = v
		}
	}
	if len(m.Extra) > 0 {
		card["extra"] = m.Extra
	}
	return cardPayload{Card: card, ExpiresAt: expires.UTC()}, nil
}
