// Package pgtest gives tests a real PostgreSQL: a fresh, empty database per
// call, dropped when the test ends.
//
// The server comes from BRAZEN_TEST_POSTGRES_DSN (`bash scripts/pg.sh start
// DIR` starts a throwaway one and prints its DSN). Without it the tests that
// need PostgreSQL skip, saying how to run them — except in CI (CI is set),
// where they fail, so that a missing server can never pass for a green run.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvDSN names the environment variable holding the server's DSN.
const EnvDSN = "BRAZEN_TEST_POSTGRES_DSN"

// timeout bounds each administrative step (connect, create, drop), so that
// an unreachable server makes a test skip or fail instead of hang.
const timeout = 30 * time.Second

// DSN returns the DSN of the test server. Without one it skips the test, or
// fails it when the CI environment variable is set.
func DSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		if os.Getenv("CI") != "" {
			t.Fatal(EnvDSN + " is not set: CI must run the PostgreSQL tests; .ci/run starts a server")
		}
		t.Skip("PostgreSQL tests skipped: set " + EnvDSN + "=postgres://… (bash scripts/pg.sh start prints one)")
	}
	return dsn
}

// NewDatabase creates an empty database on the test server, registers its
// removal with t.Cleanup, and returns a DSN for it: DSN(t) with only the
// database name replaced.
func NewDatabase(t testing.TB) string {
	t.Helper()
	admin := DSN(t)
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("pgtest: random database name: %v", err)
	}
	name := "brazen_test_" + hex.EncodeToString(b[:])
	dsn, err := withDatabase(admin, name)
	if err != nil {
		t.Fatalf("pgtest: %s: %v", EnvDSN, err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		unavailable(t, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}

	t.Cleanup(func() {
		// t.Context() is already canceled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		// FORCE ends the connections a test left open (PostgreSQL 13+).
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return dsn
}

// unavailable reports a server that does not answer: a skip on a developer's
// machine, a failure in CI.
func unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("pgtest: cannot connect to %s: %v (CI must run the PostgreSQL tests)", EnvDSN, err)
	}
	t.Skipf("PostgreSQL tests skipped: cannot connect to %s: %v", EnvDSN, err)
}

// withDatabase returns dsn with its database replaced by name. It takes both
// forms pgx accepts: a URL (postgres://user@host:port/db?params) and
// keyword/value pairs (host=… dbname=…).
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", errors.New("not a valid URL") // url's error would repeat the password
		}
		u.Path, u.RawPath = "/"+name, ""
		q := u.Query()
		if q.Has("dbname") {
			q.Del("dbname")
			u.RawQuery = q.Encode()
		}
		return u.String(), nil
	}
	if _, err := pgx.ParseConfig(dsn); err != nil {
		return "", errors.New("not a postgres:// URL nor keyword/value settings")
	}
	// Keyword/value: a later dbname overrides an earlier one.
	return strings.TrimSpace(dsn) + " dbname=" + name, nil
}
