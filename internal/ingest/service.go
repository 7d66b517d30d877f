package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
)

// Service is what the API's user-data endpoints use: append operations,
// wait for them to be applied, and read profiles by identifier.
type Service struct {
	store brazen.UserStore
	log   *Log
	pos   *positions
	coord *coordinator

	// MaxLag is how many log records may wait for the appliers before
	// writes are refused with 429, so a backlog pushes back on clients
	// instead of growing without bound.
	MaxLag int64
	// ReadWait bounds how long a read waits for the appliers to reach the
	// writes made before it.
	ReadWait time.Duration

	applied atomic.Int64 // operations applied by this node
}

// Log returns the service's ingest log.
func (s *Service) Log() *Log { return s.log }

// Head returns the sum of the partitions' newest sequence numbers and
// Position the sum of their applied positions, as far as this node knows:
// they are equal when every known write is applied.
func (s *Service) Head() int64 { h, _ := s.pos.sums(); return h }

// Position: see Head.
func (s *Service) Position() int64 { _, a := s.pos.sums(); return a }

// Applied returns how many operations this node's appliers applied.
func (s *Service) Applied() int64 { return s.applied.Load() }

// Node returns the name under which this node holds leases.
func (s *Service) Node() string { return s.coord.node }

var errBacklog = &brazen.Error{Code: brazen.ERATELIMITED, Message: "Rate Limited",
	Details: []string{"the server is applying earlier writes; retry with backoff"}}

// Append durably logs ops (one request's accepted objects) and returns
// where they went.
func (s *Service) Append(ctx context.Context, ops []Op) ([]Pos, error) {
	if s.pos.lag() > s.MaxLag {
		return nil, errBacklog
	}
	return s.log.Append(ctx, ops)
}

// RemovePushToken takes a push token off a user's profile, through the
// log like any write.
func (s *Service) RemovePushToken(ctx context.Context, brazeID, token string) error {
	_, err := s.log.Append(ctx, []Op{{Kind: KindTokenRemove, ID: brazen.Identifier{BrazeID: brazeID}, Token: token}})
	return err
}

// Sync waits until every write acknowledged before now, by any node, is
// applied, so a read sees them. It gives up after ReadWait with 503.
func (s *Service) Sync(ctx context.Context) error {
	heads, err := s.store.LogHeads(ctx)
	if err != nil {
		return err
	}
	need := make([]Pos, len(heads))
	for p, h := range heads {
		need[p] = Pos{Partition: p, Seq: max(h, s.pos.heads[p].Load())}
	}
	return s.WaitFor(ctx, need)
}

// WaitFor waits until the records at need are applied, at most ReadWait.
func (s *Service) WaitFor(ctx context.Context, need []Pos) error {
	ctx, cancel := context.WithTimeout(ctx, s.ReadWait)
	defer cancel()
	if err := s.wait(ctx, need); err != nil {
		if ctx.Err() != nil && context.Cause(ctx) == context.DeadlineExceeded {
			return &brazen.Error{Code: brazen.EUNAVAILABLE, Message: "Service Unavailable",
				Details: []string{fmt.Sprintf("earlier writes are still being applied after %s; retry", s.ReadWait)}}
		}
		return err
	}
	return nil
}

// remotePoll is how often a read waiting for a partition that another node
// applies asks the store how far it got.
const remotePoll = 5 * time.Millisecond

func (s *Service) wait(ctx context.Context, need []Pos) error {
	for {
		ch := s.pos.changed()
		done, remote := true, false
		for _, n := range need {
			if s.pos.appliedAt(n.Partition) < n.Seq {
				done = false
				remote = remote || s.pos.owned[n.Partition].Load() == nil
			}
		}
		if done {
			return nil
		}
		var poll <-chan time.Time
		if remote {
			poll = time.After(remotePoll)
		}
		select {
		case <-ch:
		case <-poll:
			applied, err := s.store.AppliedPositions(ctx)
			if err != nil {
				return err
			}
			s.pos.merge(nil, applied)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Find returns every profile an identifier names (several for an email or
// phone shared by several profiles; see Resolve for Braze's choice among
// them). A profile found through a deprecated external id is included.
func (s *Service) Find(ctx context.Context, id brazen.Identifier) ([]*brazen.Profile, error) {
	return Find(ctx, s.store, id)
}

// Find is Service.Find over a store, for readers without a service (the
// CLI).
func Find(ctx context.Context, store brazen.UserReader, id brazen.Identifier) ([]*brazen.Profile, error) {
	s := struct{ store brazen.UserReader }{store}
	var refs []brazen.ProfileRef
	var err error
	switch {
	case id.BrazeID != "":
		refs = []brazen.ProfileRef{{BrazeID: id.BrazeID}}
	case id.ExternalID != "":
		var r brazen.ProfileRef
		r, err = s.store.ByExternalID(ctx, id.ExternalID)
		refs = []brazen.ProfileRef{r}
	case id.Alias != nil:
		var r brazen.ProfileRef
		r, err = s.store.ByAlias(ctx, *id.Alias)
		refs = []brazen.ProfileRef{r}
	case id.Email != "":
		refs, err = s.store.ByEmail(ctx, strings.ToLower(id.Email))
	case id.Phone != "":
		refs, err = s.store.ByPhone(ctx, id.Phone)
	}
	if brazen.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*brazen.Profile
	for _, r := range refs {
		p, err := s.store.Profile(ctx, r.BrazeID)
		if brazen.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// ScanProfiles returns a page of profiles in braze id order (a broadcast's
// walk over every user).
func (s *Service) ScanProfiles(ctx context.Context, after string, limit int) ([]*brazen.Profile, error) {
	return s.store.ScanProfiles(ctx, after, limit)
}

// Resolve returns the one profile an identifier names, applying Braze's
// prioritization to a shared email or phone; nil if none.
func (s *Service) Resolve(ctx context.Context, id brazen.Identifier) (*brazen.Profile, error) {
	ps, err := s.Find(ctx, id)
	if err != nil {
		return nil, err
	}
	return choose(ps, id.Prioritization), nil
}

// Open builds the ingest log, the coordinator of the appliers and the
// service over store.
func Open(ctx context.Context, store brazen.UserStore, logger *slog.Logger, o ApplierOptions) (*Service, error) {
	heads, err := store.LogHeads(ctx)
	if err != nil {
		return nil, err
	}
	applied, err := store.AppliedPositions(ctx)
	if err != nil {
		return nil, err
	}
	parts := store.Partitions()
	if len(heads) != parts || len(applied) != parts {
		return nil, fmt.Errorf("the store reports %d partitions but %d heads and %d positions", parts, len(heads), len(applied))
	}
	if o.CacheSize == 0 {
		o.CacheSize = 20_000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Node == "" {
		o.Node = randomNode()
	}
	if o.LeaseTTL == 0 {
		o.LeaseTTL = 5 * time.Second
	}
	pos := newPositions(parts)
	pos.merge(heads, applied)
	s := &Service{store: store, pos: pos, log: newLog(store, pos), MaxLag: 50_000, ReadWait: 10 * time.Second}
	// Each applier keeps its share of the node's profile cache.
	cache := max(o.CacheSize/parts, 1024)
	s.coord = &coordinator{store: store, logger: logger, node: o.Node, ttl: o.LeaseTTL, pos: pos,
		start: func(l brazen.Lease) *Applier {
			return &Applier{store: store, logger: logger, now: o.Now, cache: newProfileCache(cache),
				lease: l, pos: pos, wake: make(chan struct{}, 1), applied: &s.applied}
		}}
	return s, nil
}

// Run runs the log's group commits and the appliers of the partitions this
// node holds until ctx ends; records queued by then are still committed,
// and the partitions are handed back.
func (s *Service) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { s.log.Run(ctx) })
	wg.Go(func() { s.coord.Run(ctx) })
	if w, ok := s.store.(brazen.LogWatcher); ok {
		wg.Go(func() { s.watch(ctx, w) })
	}
	wg.Wait()
}

// watch wakes this node's appliers when another node appends, so that
// they do not wait for their next poll; if the watch fails, the polls
// carry on alone until it is back.
func (s *Service) watch(ctx context.Context, w brazen.LogWatcher) {
	for ctx.Err() == nil {
		err := w.WatchLog(ctx, s.pos.wakeAppliers)
		if ctx.Err() != nil {
			return
		}
		s.coord.logger.Warn("watching the ingest log for other nodes' appends; retrying", "err", err)
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
		}
	}
}
