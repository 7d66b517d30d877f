package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/config"
)

const messagesUsage = `Usage: brazen messages SUBCOMMAND [flags]

Subcommands:
  log     the recent deliveries, newest first: dispatch, user, channel, state,
          attempts and the last error (the dead-letter record of a job that
          failed for good)
  events  the message history, newest first: each outcome (sent,
          delivered, bounced, failed, aborted) of each message to each user

Reads the store directly, so it works while the server runs.
`

func runMessages(ctx context.Context, env *Env, args []string) error {
	return dispatch(ctx, env, args, messagesUsage, "subcommand", map[string]runFunc{
		"log":    messagesLog,
		"events": messagesEvents,
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

func messagesEvents(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "messages events", "messages events [--user BRAZE_ID] [--dispatch ID] [--channel C] [--outcome O] [--limit N] [--json]")
	flags := config.Bind(fs, "data", "store")
	var f brazen.MessageEventFilter
	fs.StringVar(&f.BrazeID, "user", "", "only this user's (braze_id)")
	fs.StringVar(&f.DispatchID, "dispatch", "", "only this dispatch_id")
	fs.StringVar(&f.Channel, "channel", "", "only this channel: email, webhook, apple_push, …")
	fs.StringVar(&f.Outcome, "outcome", "", "only this outcome: "+strings.Join(brazen.Outcomes, ", "))
	limit := fs.Int("limit", 50, "at most this many")
	asJSON := fs.Bool("json", false, "print JSON, one object per line")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if f.Outcome != "" && !slices.Contains(brazen.Outcomes, f.Outcome) {
		return usageError("--outcome must be one of " + strings.Join(brazen.Outcomes, ", "))
	}
	store, err := openStore(ctx, env, flags)
	if err != nil {
		return err
	}
	defer store.Close()
	events, err := store.MessageEvents(ctx, f, *limit)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		for _, e := range events {
			if err := enc.Encode(map[string]any{"id": e.ID, "at": e.At, "dispatch_id": e.DispatchID, "channel": e.Channel,
				"braze_id": e.BrazeID, "outcome": e.Outcome, "detail": e.Detail}); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tDISPATCH\tUSER\tCHANNEL\tOUTCOME\tDETAIL")
	for _, e := range events {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.At.UTC().Format(time.DateTime), e.DispatchID, e.BrazeID, e.Channel, e.Outcome, e.Detail)
	}
	return tw.Flush()
}
