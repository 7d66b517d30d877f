package ingest_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/ingest"
	"github.com/brazenhq/brazen/internal/sqlite/sqlitetest"
)

// The scenarios of the write path (tracking, ordering, identity edge cases,
// several nodes) are part of the store conformance suite, so that they run
// on every backend: see internal/storetest/ingest.go.

// TestBacklogPushesBack: when the applier falls too far behind, appends are
// refused with ERATELIMITED (a 429) instead of piling up.
func TestBacklogPushesBack(t *testing.T) {
	db := sqlitetest.Open(t)
	svc, err := ingest.Open(t.Context(), db, slog.New(slog.NewTextHandler(io.Discard, nil)), ingest.ApplierOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.MaxLag = 5
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { svc.Log().Run(ctx); close(done) }() // the log runs, the applier does not
	defer func() { cancel(); <-done }()
	op := ingest.Op{Kind: ingest.KindEvent, ID: brazen.Identifier{ExternalID: "u"},
		Event: &ingest.Event{Name: "e", Time: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}}
	for i := range 6 {
		if _, err := svc.Append(t.Context(), []ingest.Op{op}); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	_, err = svc.Append(t.Context(), []ingest.Op{op})
	if brazen.ErrorCode(err) != brazen.ERATELIMITED {
		t.Fatalf("append over the backlog: %v, want ERATELIMITED", err)
	}
	// A read that must see the backlog gives up after ReadWait with 503.
	svc.ReadWait = 50 * time.Millisecond
	if err := svc.Sync(t.Context()); brazen.ErrorCode(err) != brazen.EUNAVAILABLE {
		t.Fatalf("sync behind a stalled applier: %v, want EUNAVAILABLE", err)
	}
}
