package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"text/tabwriter"

	"github.com/brazenhq/brazen/internal/app"
	"github.com/brazenhq/brazen/internal/brazeapi"
	"github.com/brazenhq/brazen/internal/config"
)

func runMigrate(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "migrate", "migrate [--data DIR | --store URL]")
	flags := config.Bind(fs, "data", "store")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	cfg, err := flags.Load(env.Getenv)
	if err != nil {
		return err
	}
	store, applied, err := app.OpenStore(ctx, cfg.StoreURL())
	if err != nil {
		return err
	}
	defer store.Close()
	if len(applied) == 0 {
		fmt.Fprintln(env.Stdout, "the schema is up to date")
		return nil
	}
	for _, v := range applied {
		fmt.Fprintf(env.Stdout, "applied migration %04d\n", v)
	}
	return nil
}

func runRoutes(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "routes", "routes [--json | --markdown] [--rate-limit PATH_OR_GROUP=N/WINDOW …]")
	flags := config.Bind(fs, "rate-limit")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	markdown := fs.Bool("markdown", false, "print README.md's Markdown table (Braze's default limits)")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *markdown {
		_, err := fmt.Fprint(env.Stdout, brazeapi.RoutesMarkdown())
		return err
	}
	cfg, err := flags.Load(env.Getenv)
	if err != nil {
		return err
	}
	overrides, err := cfg.Limits()
	if err != nil {
		return err
	}
	limits, err := brazeapi.ResolveLimits(overrides)
	if err != nil {
		return &config.SettingError{Setting: "rate_limit", Reason: err.Error()}
	}
	routes := brazeapi.Routes(&limits)
	if *asJSON {
		type row struct {
			Method     string `json:"method"`
			Path       string `json:"path"`
			Permission string `json:"permission"`
			LimitGroup string `json:"rate_limit_group"`
			Limit      string `json:"rate_limit"`
			Status     string `json:"braze_status"`
			Built      bool   `json:"built"`
		}
		var rows []row
		for _, r := range routes {
			rows = append(rows, row{r.Method, r.Path, r.Permission, r.LimitGroup, r.Limit.String(), r.Status, r.Built})
		}
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "METHOD\tPATH\tPERMISSION\tRATE LIMIT\tGROUP\tBRAZE\tBUILT")
	built := 0
	for _, r := range routes {
		b := "not built"
		if r.Built {
			b, built = "built", built+1
		}
		perm := r.Permission
		if perm == "" {
			perm = "(SCIM token)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Method, r.Path, perm, r.Limit, r.LimitGroup, r.Status, b)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "\n%d endpoints, %d built\n", len(routes), built)
	return nil
}

func runVersion(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "version", "version")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "brazen %s (%s %s/%s)\n", app.BuildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
