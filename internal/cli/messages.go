package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/config"
)

const messagesUsage = `Usage: brazen messages SUBCOMMAND [flags]

Subcommands:
  log   the recent deliveries, newest first: dispatch, user, channel, state,
        attempts and the last error (the dead-letter record of a job that
        failed for good)

Reads the store directly, so it works while the server runs.
`

func runMessages(ctx context.Context, env *Env, args []string) error {
	return dispatch(ctx, env, args, messagesUsage, "subcommand", map[string]runFunc{
		"log": messagesLog,
	})
}

func messagesLog(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "messages log", "messages log [--dispatch ID] [--channel C] [--state S] [--user BRAZE_ID] [--limit N] [--json]")
	flags := config.Bind(fs, "data", "store")
	var f brazen.JobFilter
	fs.StringVar(&f.DispatchID, "dispatch", "", "only this dispatch_id")
	fs.StringVar(&f.Channel, "channel", "", "only this channel: email, webhook, …")
	fs.StringVar(&f.State, "state", "", "only this state: pending, leased, done or dead")
	fs.StringVar(&f.BrazeID, "user", "", "only this user's (braze_id)")
	limit := fs.Int("limit", 50, "at most this many")
	asJSON := fs.Bool("json", false, "print JSON, one object per line")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	store, err := openStore(ctx, env, flags)
	if err != nil {
		return err
	}
	defer store.Close()
	jobs, err := store.Jobs(ctx, f, *limit)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		for _, j := range jobs {
			if err := enc.Encode(map[string]any{"id": j.ID, "key": j.Key, "dispatch_id": j.DispatchID, "channel": j.Channel,
				"braze_id": j.BrazeID, "state": j.State, "attempts": j.Attempts, "last_error": j.LastError,
				"created_at": j.CreatedAt, "updated_at": j.UpdatedAt}); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "UPDATED\tDISPATCH\tUSER\tCHANNEL\tSTATE\tATTEMPTS\tLAST ERROR")
	for _, j := range jobs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", j.UpdatedAt.UTC().Format(time.DateTime), j.DispatchID, j.BrazeID,
			j.Channel, j.State, j.Attempts, j.LastError)
	}
	return tw.Flush()
}
