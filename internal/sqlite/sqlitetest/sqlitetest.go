// Package sqlitetest gives tests of other packages a real, migrated SQLite
// store in the test's temporary directory.
package sqlitetest

import (
	"path/filepath"
	"testing"

	"github.com/brazenhq/brazen/internal/sqlite"
)

// Open opens a migrated store in a new file, closed when the test ends.
func Open(t testing.TB) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "brazen.db"))
	if err != nil {
		t.Fatalf("opening the SQLite store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatalf("migrating the SQLite store: %v", err)
	}
	return db
}
