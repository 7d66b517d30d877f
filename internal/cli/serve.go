package cli

import (
	"context"
	"fmt"

	"github.com/brazenhq/brazen/internal/app"
	"github.com/brazenhq/brazen/internal/config"
)

func runServe(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "serve", "serve [flags]")
	flags := config.Bind(fs)
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	cfg, err := flags.Load(env.Getenv)
	if err != nil {
		return err
	}
	logger := newLogger(env.Stderr, cfg.LogFormat, cfg.LogLevel)
	a, err := app.Open(ctx, cfg, logger, app.Options{})
	if err != nil {
		return err
	}
	if a.FirstKey != "" {
		// Straight to stderr, not through the logger: the key must never
		// reach a log file or a log pipeline.
		fmt.Fprintf(env.Stderr, `
================================================================================
Brazen created workspace %q and its first REST API key, which holds
every permission. It is shown this once and never again: store it now.

    %s

Try it:
    curl -X POST http://%s/users/export/ids \
      -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' \
      -d '{"external_ids":["user-1"]}'
================================================================================

`, a.Workspace.Name, a.FirstKey, a.Addr(), a.FirstKey)
	}
	if a.SetupURL != "" {
		// Like the key: the link makes an account, so it goes to stderr
		// only, never through the logger.
		fmt.Fprintf(env.Stderr, `
Developer console: no account yet. Open this link once, within 24 hours,
to create the first one (or run 'brazen admins create'):

    %s

`, a.SetupURL)
	}
	return a.Run(ctx)
}
