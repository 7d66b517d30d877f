package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/config"
	"github.com/brazenhq/brazen/internal/export"
	"github.com/brazenhq/brazen/internal/ingest"
)

const usersUsage = `Usage: brazen users SUBCOMMAND [flags]

Subcommands:
  get   print a user profile in Braze's export shape (as /users/export/ids)

Reads the store directly: writes a running server has acknowledged but not
applied yet (normally a few milliseconds' worth) are not shown.
`

func runUsers(ctx context.Context, env *Env, args []string) error {
	return dispatch(ctx, env, args, usersUsage, "subcommand", map[string]runFunc{
		"get": usersGet,
	})
}

func usersGet(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "users get", "users get [--by external_id|braze_id|email|phone|alias] ID")
	flags := config.Bind(fs, "data", "store")
	by := fs.String("by", "external_id", "what ID is: external_id, braze_id, email, phone, or alias (ID is LABEL:NAME)")
	if err := parse(fs, args, 1); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError("give the user's id")
	}
	value := fs.Arg(0)
	var id brazen.Identifier
	switch *by {
	case "external_id":
		id.ExternalID = value
	case "braze_id":
		id.BrazeID = value
	case "email":
		id.Email = value
	case "phone":
		id.Phone = value
	case "alias":
		label, name, ok := strings.Cut(value, ":")
		if !ok {
			return usageError("with --by alias, ID is LABEL:NAME")
		}
		id.Alias = &brazen.Alias{Label: label, Name: name}
	default:
		return usageError("--by must be external_id, braze_id, email, phone or alias")
	}
	store, err := openStore(ctx, env, flags)
	if err != nil {
		return err
	}
	defer store.Close()
	profiles, err := ingest.Find(ctx, store, id)
	if err != nil {
		return err
	}
	if len(profiles) == 0 {
		return fmt.Errorf("no user with %s %q", *by, value)
	}
	enc := json.NewEncoder(env.Stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	for _, p := range profiles {
		if err := enc.Encode(export.NewUser(p, nil)); err != nil {
			return err
		}
	}
	return nil
}
