package brazen

import (
	"context"
	"slices"
	"time"
)

// Dispatch is one transmission: one /messages/send request, under the
// campaign and send it names.
type Dispatch struct {
	ID         string
	CampaignID string // "" for an untracked send
	SendID     string
	CreatedAt  time.Time
}

// MessageEvent is one outcome of one message to one user, on the user's
// message history.
type MessageEvent struct {
	ID         int64 // assigned by the store, increasing
	At         time.Time
	DispatchID string
	Channel    string
	BrazeID    string
	Outcome    string // one of the Outcome constants
	Detail     string // why, for failures, bounces and aborts
}

// Message outcomes. A message is "sent" when the provider accepted it
// (an SMTP relay, APNs, FCM, an SMS gateway) and "delivered" when the
// final recipient did (a webhook's receiver answered 2xx; a content card
// was stored on the user's feed).
const (
	OutcomeSent      = "sent"
	OutcomeDelivered = "delivered"
	OutcomeBounced   = "bounced" // email refused for good by the recipient's server
	OutcomeFailed    = "failed"  // a permanent failure, or retries exhausted
	OutcomeAborted   = "aborted" // abort_message in the template
)

// Outcomes lists the outcomes, in the order statistics show them.
var Outcomes = []string{OutcomeSent, OutcomeDelivered, OutcomeBounced, OutcomeFailed, OutcomeAborted}

// DeliveredChannels are the channels whose accepted messages are
// delivered, not only sent: their provider is the final recipient.
var DeliveredChannels = []string{"webhook", "content_card"}

// AcceptedOutcome is the outcome a completed job of a channel records.
func AcceptedOutcome(channel string) string {
	if slices.Contains(DeliveredChannels, channel) {
		return OutcomeDelivered
	}
	return OutcomeSent
}

// MessageEventFilter selects message events; zero fields match anything.
// BeforeID pages backwards (events with a lower ID).
type MessageEventFilter struct {
	BrazeID, DispatchID, Channel, Outcome string
	Since                                 time.Time
	BeforeID                              int64
}

// MessageStat counts a dispatch's outcomes on one channel on one UTC day.
type MessageStat struct {
	DispatchID string
	Channel    string
	Outcome    string
	Day        time.Time // midnight UTC
	Count      int64
}

// SendIDQuota is how many send ids /sends/id/create may create a day.
const SendIDQuota = 100

// MessageStore keeps what messaging leaves behind: the dispatches, each
// user's message history and the per-day outcome counters the send
// statistics read. Job outcomes are recorded by the JobStore as the jobs
// finish, in the same transaction (CompleteJobs and FailJob); the events
// that have no job (aborts) come through RecordMessageEvents.
type MessageStore interface {
	// CreateDispatch records a dispatch (a dispatch id stored already is
	// left as it is).
	CreateDispatch(ctx context.Context, d Dispatch) error
	// Dispatches lists up to limit dispatches, newest first.
	Dispatches(ctx context.Context, limit int) ([]Dispatch, error)
	// RecordMessageEvents stores events and counts them, in one
	// transaction; At zero means now.
	RecordMessageEvents(ctx context.Context, events []MessageEvent) error
	// MessageEvents lists up to limit events matching f, newest first.
	MessageEvents(ctx context.Context, f MessageEventFilter, limit int) ([]MessageEvent, error)
	// MessageStats returns the counters of the dispatches of a campaign
	// and send ("" send id: all of the campaign's), or of one dispatch
	// when dispatchID is set, from the day of since on, by day.
	MessageStats(ctx context.Context, dispatchID, campaignID, sendID string, since time.Time) ([]MessageStat, error)
	// CreateSendID records a campaign's send id. It is ECONFLICT when the
	// pair exists, and ERATELIMITED when SendIDQuota send ids were created in
	// the last 24 hours.
	CreateSendID(ctx context.Context, campaignID, sendID string, now time.Time) error
}
