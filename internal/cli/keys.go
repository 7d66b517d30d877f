package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/brazenhq/brazen/internal/adminapi"
	"github.com/brazenhq/brazen/internal/app"
	"github.com/brazenhq/brazen/internal/auth"
	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/config"
)

const keysUsage = `Usage: brazen keys SUBCOMMAND [flags]

Subcommands:
  create   create a REST API key; prints the key alone on stdout, its id on stderr
  list     list keys: id, name, permissions, allowlist, created, last used (never the key)
  delete   delete a key by id

A key's permissions and IP allowlist cannot be changed, as in Braze: create a
new key and delete the old one. Run 'brazen keys SUBCOMMAND --help' for flags.
`

func runKeys(ctx context.Context, env *Env, args []string) error {
	return dispatch(ctx, env, args, keysUsage, "subcommand", map[string]runFunc{
		"create": keysCreate,
		"list":   keysList,
		"delete": keysDelete,
	})
}

// openWorkspace loads the store settings, opens (and migrates) the store and
// returns it with its workspace.
func openWorkspace(ctx context.Context, env *Env, flags *config.Flags) (brazen.Store, *brazen.Workspace, error) {
	cfg, err := flags.Load(env.Getenv)
	if err != nil {
		return nil, nil, err
	}
	store, _, err := app.OpenStore(ctx, cfg.StoreURL())
	if err != nil {
		return nil, nil, err
	}
	ws, _, err := store.DefaultWorkspace(ctx, app.WorkspaceName)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return store, ws, nil
}

// listFlag collects a repeatable flag whose values may also be comma-separated.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

func keysCreate(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "keys create", "keys create --name NAME (--permissions P1,P2,… | --all-permissions) [--allow-ip CIDR_OR_IP …]")
	flags := config.Bind(fs, "data", "store")
	name := fs.String("name", "", "the key's name (required)")
	var perms, ips listFlag
	fs.Var(&perms, "permissions", "Braze permission names, comma-separated (e.g. users.track,users.export.ids)")
	all := fs.Bool("all-permissions", false, "grant every permission")
	fs.Var(&ips, "allow-ip", "allow only this IPv4/IPv6 address or CIDR subnet (repeatable or comma-separated; default: any address)")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *name == "" {
		return usageError("--name is required")
	}
	if len(perms) == 0 && !*all {
		return usageError("give --permissions P1,P2,… or --all-permissions")
	}
	if len(perms) > 0 && *all {
		return usageError("give either --permissions or --all-permissions, not both")
	}
	store, ws, err := openWorkspace(ctx, env, flags)
	if err != nil {
		return err
	}
	defer store.Close()
	k, secret, err := auth.NewAPIKey(auth.KeyRequest{
		WorkspaceID: ws.ID, Name: *name, Permissions: perms, AllPermissions: *all, AllowedIPs: ips,
	}, time.Now())
	if err != nil {
		return err
	}
	if err := store.CreateKey(ctx, k); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, secret)
	fmt.Fprintf(env.Stderr, "created API key %s (%q) with %d permission(s)\n", k.ID, k.Name, len(k.Permissions))
	return nil
}

func keysList(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "keys list", "keys list [--json]")
	flags := config.Bind(fs, "data", "store")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	store, ws, err := openWorkspace(ctx, env, flags)
	if err != nil {
		return err
	}
	defer store.Close()
	keys, err := store.Keys(ctx, ws.ID)
	if err != nil {
		return err
	}
	if *asJSON {
		rows := []adminapi.KeyJSON{}
		for _, k := range keys {
			rows = append(rows, adminapi.NewKeyJSON(k))
		}
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tPERMISSIONS\tALLOWED IPS\tCREATED\tLAST USED")
	for _, k := range keys {
		ips := strings.Join(prefixes(k), ",")
		if ips == "" {
			ips = "any"
		}
		last := "never"
		if !k.LastUsedAt.IsZero() {
			last = k.LastUsedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, permissionSummary(k.Permissions), ips,
			k.CreatedAt.UTC().Format(time.RFC3339), last)
	}
	return tw.Flush()
}

func prefixes(k *brazen.APIKey) []string {
	out := []string{}
	for _, p := range k.AllowedIPs {
		out = append(out, p.String())
	}
	return out
}

// permissionSummary keeps a table row readable: every permission is "all".
func permissionSummary(perms []string) string {
	if len(perms) == len(auth.PermissionNames()) {
		return fmt.Sprintf("all (%d)", len(perms))
	}
	if len(perms) > 4 {
		return strings.Join(perms[:3], ",") + fmt.Sprintf(",… (%d)", len(perms))
	}
	return strings.Join(perms, ",")
}

func keysDelete(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "keys delete", "keys delete [flags] ID")
	flags := config.Bind(fs, "data", "store")
	if err := parse(fs, args, 1); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError("give the id of the key to delete (see 'brazen keys list')")
	}
	store, ws, err := openWorkspace(ctx, env, flags)
	if err != nil {
		return err
	}
	defer store.Close()
	id := fs.Arg(0)
	k, err := store.Key(ctx, id)
	if err == nil && k.WorkspaceID != ws.ID {
		err = brazen.Errorf(brazen.ENOTFOUND, "API key not found")
	}
	if err == nil {
		err = store.DeleteKey(ctx, id)
	}
	if brazen.IsNotFound(err) {
		return fmt.Errorf("no API key with id %q", id)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "deleted API key %s (%q); running servers stop accepting it within their key refresh interval\n", id, k.Name)
	return nil
}
