package dispatch

import (
	"context"
	"encoding/json"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/channel"
	"github.com/brazenhq/brazen/internal/channel/webhook"
)

// WebhookDeliverer delivers webhook jobs, whose payload is a rendered
// webhook.Request.
type WebhookDeliverer struct{ Sender *webhook.Sender }

func (d WebhookDeliverer) Deliver(ctx context.Context, j brazen.Job) error {
	var r webhook.Request
	if err := json.Unmarshal(j.Payload, &r); err != nil {
		return channel.Permanentf("decoding the job's payload: %v", err)
	}
	return d.Sender.Send(ctx, j.Key, r)
}
