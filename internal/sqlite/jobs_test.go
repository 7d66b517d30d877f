package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/brazenhq/brazen/internal/sqlite"
	"github.com/brazenhq/brazen/internal/storetest"
)

// BenchmarkEnqueueClaimComplete: see storetest.BenchmarkJobs.
func BenchmarkEnqueueClaimComplete(b *testing.B) {
	db, err := sqlite.Open(filepath.Join(b.TempDir(), "brazen.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(b.Context()); err != nil {
		b.Fatal(err)
	}
	storetest.BenchmarkJobs(b, db)
}
