package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/channel/webhook"
	"github.com/brazenhq/brazen/internal/liquid"
	"github.com/brazenhq/brazen/internal/message"
)

// Users is what a send needs of user data: every write acknowledged before
// it applied (a track then a send must reach the tracked user), and a
// profile per identifier.
type Users interface {
	Sync(ctx context.Context) error
	Resolve(ctx context.Context, id brazen.Identifier) (*brazen.Profile, error)
	ScanProfiles(ctx context.Context, after string, limit int) ([]*brazen.Profile, error)
}

// Planner turns a validated send into delivery jobs, one per (user,
// channel), each message rendered for its user, and stores them before
// the API answers.
type Planner struct {
	// PushApps maps app ids to their platform (PlatformIOS or
	// PlatformAndroid), for push tokens; a token of an app not listed is
	// classified by its shape.
	PushApps map[string]string

	users   Users
	jobs    Queue
	engine  *liquid.Engine
	workers *Workers
	logger  *slog.Logger
}

// Queue is where a send's jobs go, the hard-bounce list it checks and
// where its dispatch and aborts are recorded.
type Queue interface {
	brazen.JobStore
	brazen.BounceStore
	brazen.MessageStore
}

// hardBounced reports whether an address is on the hard-bounce list; a
// failed lookup counts as not bounced.
func (p *Planner) hardBounced(ctx context.Context, addr string) bool {
	b, err := p.jobs.Bounced(ctx, []string{addr})
	return err == nil && b[strings.ToLower(addr)]
}

// NewPlanner returns a Planner; workers (may be nil) are woken after
// every send.
func NewPlanner(users Users, jobs Queue, workers *Workers, logger *slog.Logger) *Planner {
	return &Planner{users: users, jobs: jobs, engine: liquid.NewEngine(), workers: workers, logger: logger}
}

// Result says what a send queued.
type Result struct {
	DispatchID string
	SendID     string         // the request's, or one made for a tracked broadcast
	Queued     int            // jobs stored
	Skipped    map[string]int // users or messages left out, by reason
}

// Channels lists the channels the planner can send through, for the
// handler's check.
func (p *Planner) Channels() []string {
	if p.workers == nil {
		return nil
	}
	var out []string
	for c := range p.workers.deliverers {
		out = append(out, c)
	}
	return out
}

func badRequest(format string, args ...any) error {
	return &brazen.Error{Code: brazen.EINVALID, Message: "Bad Request", Details: []string{fmt.Sprintf(format, args...)}}
}

// Send plans s under a new dispatch id.
func (p *Planner) Send(ctx context.Context, s *message.Send) (*Result, error) {
	if s.SegmentID != "" {
		return nil, badRequest("segment_id: Brazen has no segments yet; name the users with external_user_ids or user_aliases")
	}
	if err := p.checkChannels(s.Messages); err != nil {
		return nil, err
	}
	// Compile every template first: a template that cannot be parsed is
	// the caller's error, answered before anything is queued.
	var webhookT *webhookTemplates
	if w := s.Messages.Webhook; w != nil {
		t, err := p.compileWebhook(w)
		if err != nil {
			return nil, err
		}
		webhookT = t
	}
	var emailT *emailTemplates
	if m := s.Messages.Email; m != nil {
		if m.EmailTemplateID != "" {
			return nil, badRequest("messages.email.email_template_id: Brazen has no email templates yet; give the body")
		}
		t, err := p.compileEmail(m)
		if err != nil {
			return nil, err
		}
		emailT = t
	}
	var cardT *cardTemplates
	if m := s.Messages.ContentCard; m != nil {
		t, err := p.compileCard(m)
		if err != nil {
			return nil, err
		}
		cardT = t
	}
	var smsT *smsTemplates
	if m := s.Messages.SMS; m != nil {
		t, err := p.compileSMS(m)
		if err != nil {
			return nil, err
		}
		smsT = t
	}
	var appleT *appleTemplates
	if m := s.Messages.ApplePush; m != nil {
		t, err := p.compileApple(m)
		if err != nil {
			return nil, err
		}
		appleT = t
	}
	var androidT *androidTemplates
	if m := s.Messages.AndroidPush; m != nil {
		t, err := p.compileAndroid(m)
		if err != nil {
			return nil, err
		}
		androidT = t
	}
	if err := p.users.Sync(ctx); err != nil {
		return nil, err
	}
	r := &Result{DispatchID: brazen.NewID(), SendID: s.SendID, Skipped: map[string]int{}}
	if s.Broadcast && s.CampaignID != "" && r.SendID == "" {
		// Braze tracks a campaign's broadcasts under a send id of their own.
		r.SendID = brazen.NewID()
	}
	if err := p.jobs.CreateDispatch(ctx, brazen.Dispatch{ID: r.DispatchID, CampaignID: s.CampaignID, SendID: r.SendID}); err != nil {
		return nil, err
	}
	// aborted holds the abort events of the users planned since the last
	// store write; they are recorded with the jobs.
	var aborted []brazen.MessageEvent
	skip := func(err error, u *brazen.Profile, ch string) string {
		reason := p.skipReason(err, r.DispatchID, u.BrazeID, ch)
		var ab *liquid.AbortError
		if errors.As(err, &ab) {
			aborted = append(aborted, brazen.MessageEvent{DispatchID: r.DispatchID, Channel: ch, BrazeID: u.BrazeID,
				Outcome: brazen.OutcomeAborted, Detail: ab.Reason})
		}
		return reason
	}
	// store stores a page's jobs, then the aborts planned with them.
	store := func(jobs []brazen.Job, aborts []brazen.MessageEvent) error {
		n, err := p.jobs.EnqueueJobs(ctx, jobs)
		if err != nil {
			return err
		}
		if err := p.jobs.RecordMessageEvents(ctx, aborts); err != nil {
			return err
		}
		r.Queued += n
		if p.workers != nil && n > 0 {
			p.workers.Wake()
		}
		return nil
	}
	// takeAborted hands over the aborts planned since the last call.
	takeAborted := func() []brazen.MessageEvent {
		a := aborted
		aborted = nil
		return a
	}
	plan := func(u *brazen.Profile) []brazen.Job {
		var jobs []brazen.Job
		bind := liquid.UserBindings(u, liquid.Context{Campaign: map[string]any{
			"dispatch_id": r.DispatchID, "api_id": s.CampaignID,
		}})
		if emailT != nil {
			switch {
			case u.Email == "":
				r.Skipped["no email address"]++
			case !subscribed(u, "email_subscribe", s.RecipientSubscriptionState):
				r.Skipped["not subscribed to email"]++
			case p.hardBounced(ctx, u.Email):
				r.Skipped["hard bounced"]++
			default:
				m, err := emailT.render(u, bind)
				if reason := skip(err, u, "email"); reason != "" {
					r.Skipped[reason]++
				} else {
					payload, _ := json.Marshal(m)
					jobs = append(jobs, brazen.Job{Key: r.DispatchID + "/" + u.BrazeID + "/email", DispatchID: r.DispatchID,
						Channel: "email", BrazeID: u.BrazeID, Payload: payload})
				}
			}
		}
		if cardT != nil {
			if c, err := cardT.render(bind, time.Now()); err != nil {
				r.Skipped[skip(err, u, "content_card")]++
			} else {
				payload, _ := json.Marshal(c)
				jobs = append(jobs, brazen.Job{Key: r.DispatchID + "/" + u.BrazeID + "/content_card", DispatchID: r.DispatchID,
					Channel: "content_card", BrazeID: u.BrazeID, Payload: payload})
			}
		}
		if smsT != nil {
			if u.Phone == "" {
				r.Skipped["no phone number"]++
			} else if !inSubscriptionGroup(u, smsT.m.SubscriptionGroupID) {
				r.Skipped["not subscribed to the SMS subscription group"]++
			} else if m, err := smsT.render(u, bind); err != nil {
				r.Skipped[skip(err, u, "sms")]++
			} else {
				payload, _ := json.Marshal(m)
				jobs = append(jobs, brazen.Job{Key: r.DispatchID + "/" + u.BrazeID + "/sms", DispatchID: r.DispatchID,
					Channel: "sms", BrazeID: u.BrazeID, Payload: payload})
			}
		}
		// push plans one job per device: a retry for one device must not
		// repeat the notification on the others.
		push := func(ch, platform string, mostRecent bool, render func() (func(pushToken) any, error)) {
			if !subscribed(u, "push_subscribe", s.RecipientSubscriptionState) {
				r.Skipped["not subscribed to push"]++
				return
			}
			tokens := pushTokensOf(u, p.PushApps, platform, mostRecent)
			if len(tokens) == 0 {
				r.Skipped["no "+platform+" push token"]++
				return
			}
			withToken, err := render()
			if errors.Is(err, errPushTooLong) {
				p.logger.Warn("push not sent: over the payload limit once rendered", "dispatch_id", r.DispatchID,
					"braze_id", u.BrazeID, "channel", ch)
				r.Skipped["push payload too long"]++
				return
			}
			if reason := skip(err, u, ch); reason != "" {
				r.Skipped[reason]++
				return
			}
			for _, t := range tokens {
				payload, _ := json.Marshal(withToken(t))
				jobs = append(jobs, brazen.Job{Key: r.DispatchID + "/" + u.BrazeID + "/" + ch + "/" + t.DeviceID,
					DispatchID: r.DispatchID, Channel: ch, BrazeID: u.BrazeID, Payload: payload})
			}
		}
		if appleT != nil {
			push("apple_push", PlatformIOS, appleT.m.SendToMostRecentDeviceOnly, func() (func(pushToken) any, error) {
				n, err := appleT.render(bind)
				return func(t pushToken) any { n.Token, n.AppID = t.Token, t.AppID; return n }, err
			})
		}
		if androidT != nil {
			push("android_push", PlatformAndroid, androidT.m.SendToMostRecentDeviceOnly, func() (func(pushToken) any, error) {
				n, err := androidT.render(bind)
				return func(t pushToken) any { n.Token, n.AppID = t.Token, t.AppID; return n }, err
			})
		}
		if webhookT != nil {
			req, err := webhookT.render(bind)
			if reason := skip(err, u, "webhook"); reason != "" {
				r.Skipped[reason]++
			} else {
				payload, _ := json.Marshal(req)
				jobs = append(jobs, brazen.Job{Key: r.DispatchID + "/" + u.BrazeID + "/webhook", DispatchID: r.DispatchID,
					Channel: "webhook", BrazeID: u.BrazeID, Payload: payload})
			}
		}
		return jobs
	}
	if s.Broadcast {
		if err := p.broadcast(ctx, s, plan, takeAborted, store); err != nil {
			return nil, err
		}
		p.logPlanned(r)
		return r, nil
	}
	var ids []brazen.Identifier
	for _, e := range s.ExternalUserIDs {
		ids = append(ids, brazen.Identifier{ExternalID: e})
	}
	for _, a := range s.UserAliases {
		ids = append(ids, brazen.Identifier{Alias: &a})
	}
	var match *matcher
	if s.Audience != nil {
		match = newMatcher(time.Now())
	}
	seen := map[string]bool{}
	var jobs []brazen.Job
	for _, id := range ids {
		u, err := p.users.Resolve(ctx, id)
		if err != nil {
			return nil, err
		}
		if u == nil {
			r.Skipped["no such user"]++
			continue
		}
		if seen[u.BrazeID] { // an external id and an alias of one user: one message
			continue
		}
		seen[u.BrazeID] = true
		if match != nil && !match.match(s.Audience, u) {
			r.Skipped["not in the audience"]++
			continue
		}
		jobs = append(jobs, plan(u)...)
	}
	if err := store(jobs, takeAborted()); err != nil {
		return nil, err
	}
	p.logPlanned(r)
	return r, nil
}

// logPlanned logs what a send queued and why users were left out; a send
// that queued nothing although it had recipients is a warning, since its
// reasons (no address, unsubscribed, not in the SMS subscription group, …)
// are then the only sign of it.
func (p *Planner) logPlanned(r *Result) {
	level := slog.LevelInfo
	if r.Queued == 0 && len(r.Skipped) > 0 {
		level = slog.LevelWarn
	}
	args := []any{"dispatch_id", r.DispatchID, "queued", r.Queued}
	for _, reason := range slices.Sorted(maps.Keys(r.Skipped)) {
		args = append(args, "skipped: "+reason, r.Skipped[reason])
	}
	p.logger.Log(context.Background(), level, "send planned", args...)
}

// broadcastPage is how many profiles a broadcast reads, renders and
// stores at a time.
const broadcastPage = 1000

// broadcast sends to every user in the audience, walking the profiles in
// pages. Planning (reading, matching, rendering) and storing run in two
// goroutines, a page apart: the next page renders while the last one's
// jobs are written. Memory stays bounded whatever the audience's size.
func (p *Planner) broadcast(ctx context.Context, s *message.Send, plan func(*brazen.Profile) []brazen.Job,
	takeAborted func() []brazen.MessageEvent, store func([]brazen.Job, []brazen.MessageEvent) error) error {
	type planned struct {
		jobs   []brazen.Job
		aborts []brazen.MessageEvent
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pages := make(chan planned, 1)
	errc := make(chan error, 1)
	go func() {
		defer close(pages)
		match := newMatcher(time.Now())
		after := ""
		for {
			page, err := p.users.ScanProfiles(ctx, after, broadcastPage)
			if err != nil {
				errc <- err
				return
			}
			var jobs []brazen.Job
			for _, u := range page {
				if s.Audience != nil && !match.match(s.Audience, u) {
					continue
				}
				jobs = append(jobs, plan(u)...)
			}
			select {
			case pages <- planned{jobs, takeAborted()}:
			case <-ctx.Done():
				return
			}
			if len(page) < broadcastPage {
				return
			}
			after = page[len(page)-1].BrazeID
		}
	}()
	for pg := range pages {
		if err := store(pg.jobs, pg.aborts); err != nil {
			cancel()
			for range pages { // let the planner see the cancel and stop
			}
			return err
		}
	}
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// checkChannels refuses a message for a channel this server cannot send
// through, rather than queue jobs nobody delivers.
func (p *Planner) checkChannels(m message.Messages) error {
	have := map[string]bool{}
	for _, c := range p.Channels() {
		have[c] = true
	}
	for name, set := range map[string]bool{
		"apple_push": m.ApplePush != nil, "android_push": m.AndroidPush != nil, "kindle_push": m.KindlePush != nil,
		"web_push": m.WebPush != nil, "email": m.Email != nil, "content_card": m.ContentCard != nil,
		"sms": m.SMS != nil, "webhook": m.Webhook != nil, "whats_app": m.WhatsApp != nil,
	} {
		if set && !have[name] {
			return badRequest("messages.%s: this server has no %s channel configured", name, name)
		}
	}
	return nil
}

// skipReason logs and names why a user's message is not sent, "" if it is.
func (p *Planner) skipReason(err error, dispatchID, brazeID, ch string) string {
	if err == nil {
		return ""
	}
	var ab *liquid.AbortError
	if errors.As(err, &ab) {
		p.logger.Info("message aborted by abort_message", "dispatch_id", dispatchID, "braze_id", brazeID,
			"channel", ch, "reason", ab.Reason)
		return "aborted"
	}
	p.logger.Warn("message not rendered; user skipped", "dispatch_id", dispatchID, "braze_id", brazeID,
		"channel", ch, "err", err)
	return "render error"
}

// webhookTemplates are a webhook message's compiled parts: the URL, the
// body and the header values may all be personalised.
type webhookTemplates struct {
	method  string
	url     *liquid.Template
	body    *liquid.Template
	headers map[string]*liquid.Template
}

func (p *Planner) compileWebhook(w *message.Webhook) (*webhookTemplates, error) {
	t := &webhookTemplates{method: w.RequestMethod, headers: map[string]*liquid.Template{}}
	var err error
	if t.url, err = p.engine.Compile(w.URL); err != nil {
		return nil, badRequest("messages.webhook.url: %v", err)
	}
	if t.body, err = p.engine.Compile(w.Body); err != nil {
		return nil, badRequest("messages.webhook.body: %v", err)
	}
	for k, v := range w.RequestHeaders {
		if t.headers[k], err = p.engine.Compile(v); err != nil {
			return nil, badRequest("messages.webhook.request_headers[%q]: %v", k, err)
		}
	}
	return t, nil
}

func (t *webhookTemplates) render(b liquid.Bindings) (webhook.Request, error) {
	r := webhook.Request{Method: t.method, Headers: map[string]string{}}
	var err error
	if r.URL, err = t.url.Render(b); err != nil {
		return r, err
	}
	if r.Body, err = t.body.Render(b); err != nil {
		return r, err
	}
	for _, k := range slices.Sorted(maps.Keys(t.headers)) {
		if r.Headers[k], err = t.headers[k].Render(b); err != nil {
			return r, err
		}
	}
	return r, nil
}
