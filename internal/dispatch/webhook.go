package dispatch

import (
	"context"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/channel/webhook"
)

// WebhookDeliverer delivers webhook jobs, whose payload is a rendered
// webhook.Request.
type WebhookDeliverer struct{ Sender *webhook.Sender }

func (d WebhookDeliverer) Deliver(ctx context.Context, j brazen.Job) error {
	r, err := payload[webhook.Request](j)
	if err != nil {
		return err
	}
	return d.Sender.Send(ctx, j.Key, r)
}
