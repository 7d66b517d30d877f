package sqlite_test

import (
	"testing"

	"github.com/brazenhq/brazen/internal/sqlite/sqlitetest"
	"github.com/brazenhq/brazen/internal/storetest"
)

// BenchmarkEnqueueClaimComplete: see storetest.BenchmarkJobs.
func BenchmarkEnqueueClaimComplete(b *testing.B) {
	db := sqlitetest.Open(b)
	storetest.BenchmarkJobs(b, db)
}
