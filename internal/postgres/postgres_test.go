package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/pgtest"
	"github.com/brazenhq/brazen/internal/postgres"
	"github.com/brazenhq/brazen/internal/storetest"
)

// TestStore runs the conformance suite, each test on a database of its own.
func TestStore(t *testing.T) {
	pgtest.DSN(t) // skips (or fails in CI) before the suite starts subtests
	storetest.Run(t, func(t *testing.T) brazen.Store {
		db, err := postgres.Open(t.Context(), pgtest.NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		return db
	})
}

// TestConcurrentMigrate: nodes starting at once migrate one after the
// other under the advisory lock; every migration is applied exactly once.
func TestConcurrentMigrate(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	const nodes = 5
	applied := make([][]int, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() {
			db, err := postgres.Open(t.Context(), dsn)
			if err != nil {
				errs[i] = err
				return
			}
			defer db.Close()
			applied[i], errs[i] = db.Migrate(t.Context())
		})
	}
	wg.Wait()
	total := 0
	for i := range nodes {
		if errs[i] != nil {
			t.Fatalf("node %d: Migrate: %v", i, errs[i])
		}
		total += len(applied[i])
	}
	db, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	v, err := db.SchemaVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if total != v {
		t.Errorf("%d migrations applied across %d nodes, want each of the %d once: %v", total, nodes, v, applied)
	}
}

func TestOpenRejectsBadDSN(t *testing.T) {
	_, err := postgres.Open(t.Context(), "postgres://host:notaport/db")
	if brazen.ErrorCode(err) != brazen.EINVALID {
		t.Errorf("Open with a bad port: %v, want EINVALID", err)
	}
}

// TestWatchLog: a node is told of another node's append.
func TestWatchLog(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	open := func() *postgres.DB {
		db, err := postgres.Open(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if _, err := db.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		return db
	}
	watcher, appender := open(), open()
	woken := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- watcher.WatchLog(ctx, func() {
			select {
			case woken <- struct{}{}:
			default:
			}
		})
	}()
	// The watch starts listening asynchronously: append until it hears.
	deadline := time.After(5 * time.Second)
	for heard := false; !heard; {
		if err := appender.AppendLog(t.Context(), []brazen.LogRecord{{Partition: 3, Data: []byte("x")}}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-woken:
			heard = true
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatal("the watcher was not woken by another node's append")
		}
	}
	cancel()
	if err := <-done; err == nil {
		t.Error("WatchLog returned nil after its context ended, want the context's error")
	}
}

// BenchmarkAppendLog is one group commit of the ingest log: 32 requests'
// records (one per partition each touches: 4 here), about 500 bytes each.
func BenchmarkAppendLog(b *testing.B) {
	db, err := postgres.Open(b.Context(), pgtest.NewDatabase(b))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(b.Context()); err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 500)
	const requests, perRequest = 32, 4
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		recs := make([]brazen.LogRecord, 0, requests*perRequest)
		for r := range requests * perRequest {
			recs = append(recs, brazen.LogRecord{Partition: (i + r) % db.Partitions(), Data: data})
		}
		if err := db.AppendLog(b.Context(), recs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*requests)/b.Elapsed().Seconds(), "requests/s")
}

// TestUnreachableIsUnavailable: when the database does not answer, the
// request path's calls fail with EUNAVAILABLE (the API's 503, which
// clients retry), not an internal error.
func TestUnreachableIsUnavailable(t *testing.T) {
	db, err := postgres.Open(t.Context(), "postgres://brazen@127.0.0.1:1/brazen?connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := t.Context()
	_, keyErr := db.KeyByHash(ctx, brazen.KeyHash{})
	_, headErr := db.LogHeads(ctx)
	_, refErr := db.ByExternalID(ctx, "x")
	for what, err := range map[string]error{
		"AppendLog":    db.AppendLog(ctx, []brazen.LogRecord{{Data: []byte("x")}}),
		"KeyByHash":    keyErr,
		"LogHeads":     headErr,
		"ByExternalID": refErr,
		"Ping":         db.Ping(ctx),
	} {
		if brazen.ErrorCode(err) != brazen.EUNAVAILABLE {
			t.Errorf("%s against a closed port: %v, want EUNAVAILABLE", what, err)
		}
	}
}
