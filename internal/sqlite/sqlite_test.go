package sqlite_test

import (
	"database/sql"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/brazenhq/brazen/internal/auth"
	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/sqlite"
	"github.com/brazenhq/brazen/internal/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) brazen.Store {
		db, err := sqlite.Open(filepath.Join(t.TempDir(), "brazen.db"))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return db
	})
}

// prefixEqual compares allowlist entries, whose fields cmp cannot see.
var prefixEqual = cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })

// open opens the database at path and closes it when the test ends.
func open(t *testing.T, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// migrationVersions reads the versions from the migration files themselves,
// so the tests keep up when a migration is added.
func migrationVersions(t *testing.T) []int {
	t.Helper()
	entries, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, e := range entries {
		num, _, _ := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if err != nil {
			t.Fatalf("migration file %s: %v", e.Name(), err)
		}
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

func TestMigrate(t *testing.T) {
	ctx := t.Context()
	db := open(t, filepath.Join(t.TempDir(), "brazen.db"))
	all := migrationVersions(t)
	if len(all) == 0 || all[0] != 1 {
		t.Fatalf("migration versions = %v, want them to start at 1", all)
	}

	steps := []struct {
		name        string
		wantApplied []int
	}{
		{"First", all},
		{"Second", nil},
		{"Third", nil},
	}
	if v, err := db.SchemaVersion(ctx); err != nil || v != 0 {
		t.Errorf("SchemaVersion before Migrate = %d, %v; want 0, nil", v, err)
	}
	for _, step := range steps {
		applied, err := db.Migrate(ctx)
		if err != nil {
			t.Fatalf("%s Migrate: %v", step.name, err)
		}
		if diff := cmp.Diff(step.wantApplied, applied, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s Migrate applied (-want +got):\n%s", step.name, diff)
		}
		v, err := db.SchemaVersion(ctx)
		if err != nil {
			t.Fatalf("SchemaVersion: %v", err)
		}
		if want := all[len(all)-1]; v != want {
			t.Errorf("%s: SchemaVersion = %d, want %d", step.name, v, want)
		}
	}
}

// TestMigrateConcurrent is two processes (here two handles) starting on a new
// data directory at once: each migration must be applied exactly once and
// neither may fail.
func TestMigrateConcurrent(t *testing.T) {
	// Switching a new file to WAL takes an exclusive lock for which SQLite
	// does not call the busy handler; Open retries it. The new-file cases run
	// several rounds because the race is not hit every time.
	tests := []struct {
		name        string
		openInside  bool // open the handles concurrently too, not only migrate
		existing    bool // the file exists (already in WAL mode) but is not migrated
		concurrency int
		rounds      int
	}{
		{"TwoHandles", false, false, 2, 1},
		{"FourHandles", false, false, 4, 1},
		{"OpenExistingFileAtOnce", true, true, 4, 1},
		{"OpenNewFileAtOnce", true, false, 2, 10},
		{"OpenNewFileFourAtOnce", true, false, 4, 10},
	}
	for _, tt := range tests {
		for round := range tt.rounds {
			t.Run(fmt.Sprintf("%s/%d", tt.name, round), func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "brazen.db")
				if tt.existing {
					db, err := sqlite.Open(path)
					if err != nil {
						t.Fatal(err)
					}
					db.Close()
				}
				dbs := make([]*sqlite.DB, tt.concurrency)
				if !tt.openInside {
					for i := range dbs {
						dbs[i] = open(t, path)
					}
				}
				applied := make([][]int, tt.concurrency)
				errs := make([]error, tt.concurrency)
				var mu sync.Mutex // guards closers
				var closers []*sqlite.DB
				var wg sync.WaitGroup
				for i := range dbs {
					wg.Go(func() {
						db := dbs[i]
						if db == nil {
							var err error
							if db, err = sqlite.Open(path); err != nil {
								errs[i] = err
								return
							}
							mu.Lock()
							closers = append(closers, db)
							mu.Unlock()
						}
						applied[i], errs[i] = db.Migrate(t.Context())
					})
				}
				wg.Wait()
				for _, db := range closers {
					t.Cleanup(func() { db.Close() })
				}
				var union []int
				for i, err := range errs {
					if err != nil {
						t.Errorf("handle %d: %v", i, err)
					}
					union = append(union, applied[i]...)
				}
				slices.Sort(union)
				if diff := cmp.Diff(migrationVersions(t), union); diff != "" {
					t.Errorf("migrations applied across handles (-want +got):\n%s", diff)
				}
				db := open(t, path)
				if v, err := db.SchemaVersion(t.Context()); err != nil || v != slices.Max(migrationVersions(t)) {
					t.Errorf("SchemaVersion = %d, %v", v, err)
				}
			})
		}
	}
}

func TestWALMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "brazen.db")
	db := open(t, path)
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	// Through a connection of our own, which sets no pragmas: the mode must
	// be the file's, not a setting of Brazen's connections.
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var mode string
	if err := raw.QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatalf("PRAGMA journal_mode: %v", err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
}

func TestOpenCreatesDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "brazen.db")
	db := open(t, path)
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database file: %v", err)
	}
}

// TestOpenPathCharacters covers data directories whose names mean something
// in the file: URI that Open builds.
func TestOpenPathCharacters(t *testing.T) {
	tests := []struct {
		name string
		dir  string
	}{
		{"Space", "my data"},
		{"Percent", "100%41"},
		{"Hash", "data#1"},
		{"QuestionMark", "data?mode=ro"},
		{"Ampersand", "a&_pragma=query_only(1)"},
		{"NonASCII", "données"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tt.dir, "brazen.db")
			db := open(t, path)
			if _, err := db.Migrate(t.Context()); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			if _, _, err := db.DefaultWorkspace(t.Context(), "W"); err != nil {
				t.Fatalf("DefaultWorkspace: %v", err)
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("the database is not at the path given: %v", err)
			}
		})
	}
}

func TestPingAfterClose(t *testing.T) {
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "brazen.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := brazen.ErrorCode(db.Ping(t.Context())); got != brazen.EUNAVAILABLE {
		t.Errorf("Ping after Close: kind %q, want %q", got, brazen.EUNAVAILABLE)
	}
}

func TestReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "brazen.db")
	created := time.Date(2025, 6, 1, 12, 0, 0, 123_000_000, time.UTC)
	used := created.Add(time.Hour)

	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	ws, _, err := db.DefaultWorkspace(ctx, "Persisted")
	if err != nil {
		t.Fatalf("DefaultWorkspace: %v", err)
	}
	key, secret, err := auth.NewAPIKey(auth.KeyRequest{WorkspaceID: ws.ID, Name: "ci",
		Permissions: []string{"users.track"}, AllowedIPs: []string{"10.0.0.0/8", "2001:db8::/32"}}, created)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Bootstrap(ctx, ws.ID, key); err != nil {
		t.Fatalf("Bootstrap: %v", err)
	}
	if err := db.TouchKeys(ctx, map[string]time.Time{key.ID: used}); err != nil {
		t.Fatalf("TouchKeys: %v", err)
	}
	key.LastUsedAt = used
	tokenSecret := auth.NewAdminToken()
	token := &brazen.AdminToken{ID: brazen.NewID(), Name: "ops", Hash: brazen.HashSecret(tokenSecret), CreatedAt: created}
	if err := db.CreateAdminToken(ctx, token); err != nil {
		t.Fatalf("CreateAdminToken: %v", err)
	}
	ws.Bootstrapped = true
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	db = open(t, path)
	if applied, err := db.Migrate(ctx); err != nil || len(applied) != 0 {
		t.Errorf("Migrate after reopening = %v, %v; want nothing applied", applied, err)
	}
	gotWS, wasCreated, err := db.DefaultWorkspace(ctx, "Other")
	if err != nil {
		t.Fatalf("DefaultWorkspace: %v", err)
	}
	if wasCreated {
		t.Error("DefaultWorkspace after reopening created a new workspace")
	}
	if diff := cmp.Diff(ws, gotWS); diff != "" {
		t.Errorf("workspace after reopening (-want +got):\n%s", diff)
	}
	gotKey, err := db.KeyByHash(ctx, brazen.HashSecret(secret))
	if err != nil {
		t.Fatalf("KeyByHash: %v", err)
	}
	if diff := cmp.Diff(key, gotKey, prefixEqual); diff != "" {
		t.Errorf("key after reopening (-want +got):\n%s", diff)
	}
	gotToken, err := db.AdminTokenByHash(ctx, brazen.HashSecret(tokenSecret))
	if err != nil {
		t.Fatalf("AdminTokenByHash: %v", err)
	}
	if diff := cmp.Diff(token, gotToken); diff != "" {
		t.Errorf("admin token after reopening (-want +got):\n%s", diff)
	}
}
