package cli

import (
	"bufio"
	"context"
	"fmt"
	"net/mail"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/config"
	"github.com/brazenhq/brazen/internal/console"
)

const adminsUsage = `Usage: brazen admins SUBCOMMAND [flags]

Console accounts log in to the developer console (on --console-addr) with
an email and a password. The first one can also be made with the one-time
setup link 'brazen serve' prints when the store has no account.

Subcommands:
  create   create an account: --email E --password-stdin (the password is
           read from the first line of standard input, never from a flag)
  list     list accounts
  password set an account's password: --email E --password-stdin (for a
           forgotten one; the account's sessions end)
  delete   delete an account by email, ending its sessions
`

func runAdmins(ctx context.Context, env *Env, args []string) error {
	return dispatch(ctx, env, args, adminsUsage, "subcommand", map[string]runFunc{
		"create":   adminsCreate,
		"list":     adminsList,
		"password": adminsPassword,
		"delete":   adminsDelete,
	})
}

func adminsCreate(ctx context.Context, env *Env, args []string) error {
	return withNewPassword(ctx, env, "create", args, func(store brazen.Store, email, hash string) error {
		a := &brazen.Admin{ID: brazen.NewID(), Email: email, PasswordHash: hash, CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
		if err := store.CreateAdmin(ctx, a); err != nil {
			return err
		}
		fmt.Fprintf(env.Stderr, "created console account %s (%s)\n", a.Email, a.ID)
		return nil
	})
}

func adminsPassword(ctx context.Context, env *Env, args []string) error {
	return withNewPassword(ctx, env, "password", args, func(store brazen.Store, email, hash string) error {
		a, err := store.AdminByEmail(ctx, email)
		if err != nil {
			return err
		}
		if err := store.SetAdminPassword(ctx, a.ID, hash); err != nil {
			return err
		}
		fmt.Fprintf(env.Stderr, "set the password of console account %s; its sessions have ended\n", a.Email)
		return nil
	})
}

// withNewPassword runs an admins subcommand that takes --email and a new
// password on standard input (its first line, never a flag): it checks and
// hashes the password, opens the store and calls fn.
func withNewPassword(ctx context.Context, env *Env, sub string, args []string, fn func(store brazen.Store, email, hash string) error) error {
	fs := newFlagSet(env, "admins "+sub, "admins "+sub+" --email EMAIL --password-stdin")
	flags := config.Bind(fs, "data", "store")
	email := fs.String("email", "", "the account's email (required)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from standard input (required)")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	addr := strings.ToLower(strings.TrimSpace(*email))
	if a, err := mail.ParseAddress(addr); err != nil || a.Address != addr {
		return usageError("--email must be an email address such as you@example.com")
	}
	if !*fromStdin {
		return usageError("--password-stdin is required: pass the password on standard input, e.g. from a password manager")
	}
	line, err := bufio.NewReader(env.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return usageError("no password on standard input")
	}
	password := strings.TrimRight(line, "\r\n")
	if err := console.CheckPassword(password); err != nil {
		return usageError(err.Error())
	}
	hash, err := console.HashPassword(password)
	if err != nil {
		return err
	}
	store, err := openStore(ctx, env, flags)
	if err != nil {
		return err
	}
	defer store.Close()
	return fn(store, addr, hash)
}

func adminsList(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "admins list", "admins list")
	flags := config.Bind(fs, "data", "store")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	store, err := openStore(ctx, env, flags)
	if err != nil {
		return err
	}
	defer store.Close()
	admins, err := store.Admins(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEMAIL\tCREATED\tLAST LOGIN")
	for _, a := range admins {
		last := "never"
		if !a.LastLoginAt.IsZero() {
			last = a.LastLoginAt.UTC().Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.ID, a.Email, a.CreatedAt.UTC().Format(time.DateTime), last)
	}
	return tw.Flush()
}

func adminsDelete(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "admins delete", "admins delete --email EMAIL")
	flags := config.Bind(fs, "data", "store")
	email := fs.String("email", "", "the account's email (required)")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *email == "" {
		return usageError("--email is required")
	}
	store, err := openStore(ctx, env, flags)
	if err != nil {
		return err
	}
	defer store.Close()
	a, err := store.AdminByEmail(ctx, *email)
	if err != nil {
		return err
	}
	if err := store.DeleteAdmin(ctx, a.ID); err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "deleted console account %s\n", a.Email)
	return nil
}
