package cli

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/brazenhq/brazen/internal/bench"
	"github.com/brazenhq/brazen/internal/brazeapi"
)

const benchUsage = `Usage: brazen bench SCENARIO [flags]

Drives a Brazen server over HTTP on loopback and prints requests/s, latency
percentiles and the server's peak RSS. Without --url it starts its own
server (this binary, a fresh data directory, every rate limit raised out of
the way) and stops it afterwards.

Scenarios:
  http   one endpoint, one body, as fast as the connections allow: the cost
         of the shared request path (auth, permission, allowlist, rate limit,
         JSON checks, logging)
`

func runBench(ctx context.Context, env *Env, args []string) error {
	return dispatch(ctx, env, args, benchUsage, "scenario", map[string]runFunc{
		"http": benchHTTP,
	})
}

func benchHTTP(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "bench http", "bench http [flags]")
	url := fs.String("url", "", "base URL of a running server (default: start one)")
	key := fs.String("key", "", "REST API key for --url")
	endpoint := fs.String("endpoint", "POST /users/export/ids", "METHOD /path to call")
	body := fs.String("body", `{"external_ids":["user-1"]}`, "request body")
	conns := fs.Int("connections", 16, "concurrent connections")
	duration := fs.Duration("duration", 10*time.Second, "how long to drive the load")
	logLevel := fs.String("server-log-level", "info", "log level of the started server (its logs are read and dropped)")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	method, path, ok := strings.Cut(*endpoint, " ")
	if !ok || !strings.HasPrefix(path, "/") {
		return usageError("--endpoint must be METHOD /path, e.g. \"POST /users/export/ids\"")
	}
	if *conns < 1 || *duration <= 0 {
		return usageError("--connections and --duration must be positive")
	}
	if (*url == "") != (*key == "") {
		return usageError("give both --url and --key, or neither")
	}

	var srv *bench.Server
	if *url == "" {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		dir, err := os.MkdirTemp("", "brazen-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		var raise []string
		for _, g := range brazeapi.LimitGroups() {
			raise = append(raise, g.Name+"=1000000000000/hour")
		}
		srv, err = bench.StartServer(ctx, exe, dir, "--log-level", *logLevel, "--rate-limit", strings.Join(raise, ","))
		if err != nil {
			return fmt.Errorf("starting the server: %w", err)
		}
		defer srv.Stop()
		*url, *key = srv.URL, srv.Key
	}

	res, err := bench.Run(ctx, bench.Load{
		URL: strings.TrimSuffix(*url, "/"), Key: *key, Connections: *conns, Duration: *duration,
		Next: func(int, uint64) bench.Request {
			return bench.Request{Method: method, Path: path, Body: []byte(*body)}
		},
	})
	if err != nil {
		return err
	}
	w := env.Stdout
	fmt.Fprintf(w, "scenario     http %s %s\n", method, path)
	fmt.Fprintf(w, "connections  %d\n", *conns)
	fmt.Fprintf(w, "duration     %.1fs\n", res.Elapsed.Seconds())
	fmt.Fprintf(w, "requests     %d (%.0f/s)\n", res.Requests, res.Rate())
	var codes []int
	for c := range res.Statuses {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	var parts []string
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%d: %d", c, res.Statuses[c]))
	}
	fmt.Fprintf(w, "statuses     %s\n", strings.Join(parts, ", "))
	if res.Errors > 0 {
		fmt.Fprintf(w, "errors       %d (transport)\n", res.Errors)
	}
	fmt.Fprintf(w, "latency      p50 %s  p90 %s  p99 %s  max %s\n",
		ms(res.Percentile(50)), ms(res.Percentile(90)), ms(res.Percentile(99)), ms(res.Percentile(100)))
	if srv != nil {
		if rss, err := srv.PeakRSS(); err == nil {
			fmt.Fprintf(w, "server RSS   peak %.1f MiB\n", float64(rss)/(1<<20))
		}
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }
