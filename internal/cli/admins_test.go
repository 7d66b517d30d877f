package cli_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/cli"
	"github.com/brazenhq/brazen/internal/console"
)

// runStdin runs the brazen command with stdin as its standard input.
func runStdin(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := &cli.Env{Stdin: strings.NewReader(stdin), Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}
	code := cli.Run(t.Context(), env, args)
	return result{code, stdout.String(), stderr.String()}
}

// TestAdmins: console accounts made, listed, given a new password (which
// ends their sessions) and deleted from the command line, with the
// password only ever on standard input.
func TestAdmins(t *testing.T) {
	dir := t.TempDir()
	r := runStdin(t, "first password 1\n", "admins", "create", "--data", dir, "--email", "Ops@Example.com", "--password-stdin")
	wantExit(t, r, 0)
	if !strings.Contains(r.stderr, "created console account ops@example.com") {
		t.Errorf("create said %q", r.stderr)
	}
	for _, c := range []struct {
		stdin string
		args  []string
		says  string
	}{
		{"first password 1\n", []string{"--email", "ops@example.com", "--password-stdin"}, "already"},
		{"short\n", []string{"--email", "dev@example.com", "--password-stdin"}, "at least"},
		{"", []string{"--email", "dev@example.com", "--password-stdin"}, "no password"},
		{"first password 1\n", []string{"--email", "dev@example.com"}, "--password-stdin is required"},
		{"first password 1\n", []string{"--email", "not an email", "--password-stdin"}, "--email must be"},
	} {
		r := runStdin(t, c.stdin, append([]string{"admins", "create", "--data", dir}, c.args...)...)
		if r.code == 0 || !strings.Contains(r.stderr, c.says) {
			t.Errorf("admins create %q with %q: exit %d, stderr %q; want a failure saying %q", c.args, c.stdin, r.code, r.stderr, c.says)
		}
	}
	r = mustRun(t, "admins", "list", "--data", dir)
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(lines) != 2 || !strings.Contains(lines[1], "ops@example.com") || !strings.Contains(lines[1], "never") {
		t.Errorf("admins list:\n%s", r.stdout)
	}

	store, _ := openStore(t, dir)
	a, err := store.AdminByEmail(t.Context(), "ops@example.com")
	if err != nil {
		t.Fatal(err)
	}
	session := brazen.ConsoleToken{Hash: brazen.HashSecret("a session"), Kind: brazen.TokenSession, AdminID: a.ID,
		CreatedAt: a.CreatedAt, ExpiresAt: a.CreatedAt.Add(time.Hour)}
	if err := store.CreateConsoleToken(t.Context(), session); err != nil {
		t.Fatal(err)
	}
	r = runStdin(t, "second password 2\r\n", "admins", "password", "--data", dir, "--email", "ops@example.com", "--password-stdin")
	wantExit(t, r, 0)
	a, err = store.AdminByEmail(t.Context(), "ops@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := console.VerifyPassword(a.PasswordHash, "second password 2"); !ok {
		t.Error("the new password does not verify")
	}
	if ok, _ := console.VerifyPassword(a.PasswordHash, "first password 1"); ok {
		t.Error("the old password still verifies")
	}
	if _, err := store.ConsoleToken(t.Context(), session.Hash, brazen.TokenSession, a.CreatedAt); !brazen.IsNotFound(err) {
		t.Errorf("the account's session after a new password: %v, want it gone", err)
	}
	r = runStdin(t, "third password 3\n", "admins", "password", "--data", dir, "--email", "nobody@example.com", "--password-stdin")
	if r.code == 0 || !strings.Contains(r.stderr, "not found") {
		t.Errorf("password of an unknown account: exit %d, %q", r.code, r.stderr)
	}
	wantExit(t, runStdin(t, "weak\n", "admins", "password", "--data", dir, "--email", "ops@example.com", "--password-stdin"), cli.ExitUsage)

	mustRun(t, "admins", "delete", "--data", dir, "--email", "ops@example.com")
	if _, err := store.AdminByEmail(t.Context(), "ops@example.com"); !brazen.IsNotFound(err) {
		t.Errorf("after delete: %v", err)
	}
}
