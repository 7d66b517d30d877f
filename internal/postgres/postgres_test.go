package postgres_test

import (
	"sync"
	"testing"

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
