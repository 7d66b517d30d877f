package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/brazenhq/brazen/internal/app"
	"github.com/brazenhq/brazen/internal/auth"
	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/config"
)

const tokensUsage = `Usage: brazen tokens SUBCOMMAND [flags]

Admin API tokens open Brazen's own admin API (on --console-addr), which
manages REST API keys. They are not REST API keys and do not open the Braze
REST API; REST API keys do not open the admin API.

Subcommands:
  create   create a token; prints it alone on stdout, its id on stderr
  list     list tokens (never the token itself)
  delete   delete a token by id
`

func runTokens(ctx context.Context, env *Env, args []string) error {
	return dispatch(ctx, env, args, tokensUsage, "subcommand", map[string]runFunc{
		"create": tokensCreate,
		"list":   tokensList,
		"delete": tokensDelete,
	})
}

func openStore(ctx context.Context, env *Env, flags *config.Flags) (brazen.Store, error) {
	cfg, err := flags.Load(env.Getenv)
	if err != nil {
		return nil, err
	}
	store, _, err := app.OpenStore(ctx, cfg.StoreURL())
	return store, err
}

func tokensCreate(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "tokens create", "tokens create --name NAME")
	flags := config.Bind(fs, "data", "store")
	name := fs.String("name", "", "the token's name (required)")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *name == "" {
		return usageError("--name is required")
	}
	store, err := openStore(ctx, env, flags)
	if err != nil {
		return err
	}
	defer store.Close()
	secret := auth.NewAdminToken()
	t := &brazen.AdminToken{ID: brazen.NewID(), Name: *name, Hash: brazen.HashSecret(secret),
		CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
	if err := store.CreateAdminToken(ctx, t); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, secret)
	fmt.Fprintf(env.Stderr, "created admin token %s (%q)\n", t.ID, t.Name)
	return nil
}

func tokensList(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "tokens list", "tokens list")
	flags := config.Bind(fs, "data", "store")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	store, err := openStore(ctx, env, flags)
	if err != nil {
		return err
	}
	defer store.Close()
	tokens, err := store.AdminTokens(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tCREATED\tLAST USED")
	for _, t := range tokens {
		last := "never"
		if !t.LastUsedAt.IsZero() {
			last = t.LastUsedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.ID, t.Name, t.CreatedAt.UTC().Format(time.RFC3339), last)
	}
	return tw.Flush()
}

func tokensDelete(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "tokens delete", "tokens delete [flags] ID")
	flags := config.Bind(fs, "data", "store")
	if err := parse(fs, args, 1); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError("give the id of the token to delete (see 'brazen tokens list')")
	}
	store, err := openStore(ctx, env, flags)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.DeleteAdminToken(ctx, fs.Arg(0)); err != nil {
		if brazen.IsNotFound(err) {
			return fmt.Errorf("no admin token with id %q", fs.Arg(0))
		}
		return err
	}
	fmt.Fprintf(env.Stderr, "deleted admin token %s\n", fs.Arg(0))
	return nil
}
