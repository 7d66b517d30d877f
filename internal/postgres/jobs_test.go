package postgres_test

import (
	"testing"

	"github.com/brazenhq/brazen/internal/pgtest"
	"github.com/brazenhq/brazen/internal/postgres"
	"github.com/brazenhq/brazen/internal/storetest"
)

// BenchmarkEnqueueClaimComplete: see storetest.BenchmarkJobs.
func BenchmarkEnqueueClaimComplete(b *testing.B) {
	db, err := postgres.Open(b.Context(), pgtest.NewDatabase(b))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(b.Context()); err != nil {
		b.Fatal(err)
	}
	storetest.BenchmarkJobs(b, db)
}
