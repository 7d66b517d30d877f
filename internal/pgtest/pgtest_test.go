package pgtest

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestWithDatabase(t *testing.T) {
	tests := []struct {
		name, dsn, want string
	}{
		{
			name: "url",
			dsn:  "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable",
			want: "postgres://postgres@127.0.0.1:5432/brazen_test_x?sslmode=disable",
		},
		{
			name: "url without database",
			dsn:  "postgresql://u:p%40ss@db:5433?sslmode=verify-full&pool_max_conns=4",
			want: "postgresql://u:p%40ss@db:5433/brazen_test_x?sslmode=verify-full&pool_max_conns=4",
		},
		{
			name: "url with dbname parameter",
			dsn:  "postgres://u@db/postgres?dbname=other&sslmode=disable",
			want: "postgres://u@db/brazen_test_x?sslmode=disable",
		},
		{
			name: "keyword/value",
			dsn:  "host=127.0.0.1 port=5432 user=postgres dbname=postgres sslmode=disable",
			want: "host=127.0.0.1 port=5432 user=postgres dbname=postgres sslmode=disable dbname=brazen_test_x",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := withDatabase(tt.dsn, "brazen_test_x")
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("withDatabase(%q) = %q, want %q", tt.dsn, got, tt.want)
			}
			cfg, err := pgx.ParseConfig(got)
			if err != nil {
				t.Fatalf("pgx cannot parse %q: %v", got, err)
			}
			if cfg.Database != "brazen_test_x" {
				t.Errorf("pgx reads database %q from %q, want brazen_test_x", cfg.Database, got)
			}
		})
	}
}

func TestNewDatabase(t *testing.T) {
	var name string
	t.Run("use", func(t *testing.T) {
		dsn := NewDatabase(t)
		conn, err := pgx.Connect(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		// Left open on purpose: the drop must end it.
		if err := conn.QueryRow(t.Context(), "SELECT current_database()").Scan(&name); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(name, "brazen_test_") || len(name) != len("brazen_test_")+16 {
			t.Errorf("database %q, want brazen_test_ and 16 hex digits", name)
		}
		if _, err := conn.Exec(t.Context(), "CREATE TABLE t (id int PRIMARY KEY)"); err != nil {
			t.Fatal(err)
		}
	})
	if name == "" {
		return // the subtest skipped or failed
	}

	conn, err := pgx.Connect(t.Context(), DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var n int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("database %s still exists after the test that created it ended", name)
	}
}
