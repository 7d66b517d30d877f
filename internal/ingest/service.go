package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
)

// Service is what the API's user-data endpoints use: append operations,
// wait for them to be applied, and read profiles by identifier.
type Service struct {
	store   brazen.UserStore
	log     *Log
	applier *Applier
	// MaxLag is how many log records may wait for the applier before
	// writes are refused with 429, so a backlog pushes back on clients
	// instead of growing without bound.
	MaxLag int64
	// ReadWait bounds how long a read waits for the applier to reach the
	// writes made before it.
	ReadWait time.Duration
}

// NewService returns a Service; Run its Log and Applier.
func NewService(store brazen.UserStore, log *Log, applier *Applier) *Service {
	return &Service{store: store, log: log, applier: applier, MaxLag: 50_000, ReadWait: 10 * time.Second}
}

// Log returns the service's ingest log.
func (s *Service) Log() *Log { return s.log }

// Applier returns the service's applier.
func (s *Service) Applier() *Applier { return s.applier }

var errBacklog = &brazen.Error{Code: brazen.ERATELIMITED, Message: "Rate Limited",
	Details: []string{"the server is applying earlier writes; retry with backoff"}}

// Append durably logs ops (one request's accepted objects) and returns the
// record's sequence number.
func (s *Service) Append(ctx context.Context, ops []Op) (int64, error) {
	if s.log.Head()-s.applier.Position() > s.MaxLag {
		return 0, errBacklog
	}
	return s.log.Append(ctx, ops)
}

// Sync waits until every write acknowledged before now is applied, so a
// read sees them. It gives up after ReadWait with 503.
func (s *Service) Sync(ctx context.Context) error { return s.WaitFor(ctx, s.log.Head()) }

// WaitFor waits until the record seq is applied, at most ReadWait.
func (s *Service) WaitFor(ctx context.Context, seq int64) error {
	ctx, cancel := context.WithTimeout(ctx, s.ReadWait)
	defer cancel()
	if err := s.applier.WaitFor(ctx, seq); err != nil {
		if ctx.Err() != nil && context.Cause(ctx) == context.DeadlineExceeded {
			return &brazen.Error{Code: brazen.EUNAVAILABLE, Message: "Service Unavailable",
				Details: []string{fmt.Sprintf("earlier writes are still being applied after %s; retry", s.ReadWait)}}
		}
		return err
	}
	return nil
}

// Find returns every profile an identifier names (several for an email or
// phone shared by several profiles; see Resolve for Braze's choice among
// them). A profile found through a deprecated external id is included.
func (s *Service) Find(ctx context.Context, id brazen.Identifier) ([]*brazen.Profile, error) {
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

// Resolve returns the one profile an identifier names, applying Braze's
// prioritization to a shared email or phone; nil if none.
func (s *Service) Resolve(ctx context.Context, id brazen.Identifier) (*brazen.Profile, error) {
	ps, err := s.Find(ctx, id)
	if err != nil {
		return nil, err
	}
	return choose(ps, id.Prioritization), nil
}

// Open builds the ingest log, the applier and the service over store.
func Open(ctx context.Context, store brazen.UserStore, logger *slog.Logger, o ApplierOptions) (*Service, error) {
	head, err := store.LogHead(ctx)
	if err != nil {
		return nil, err
	}
	applier, err := NewApplier(ctx, store, logger, o)
	if err != nil {
		return nil, err
	}
	return NewService(store, NewLog(store, head, applier.Wake), applier), nil
}

// Run runs the log's group commits and the applier until ctx ends; records
// queued by then are still committed.
func (s *Service) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { s.log.Run(ctx) })
	wg.Go(func() { s.applier.Run(ctx) })
	wg.Wait()
}
