package cli

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/brazenhq/brazen/internal/bench"
	"github.com/brazenhq/brazen/internal/brazeapi"
)

const benchUsage = `Usage: brazen bench SCENARIO [flags]

Drives a Brazen server over HTTP on loopback and prints requests/s, latency
percentiles and the server's peak RSS. Without --url it starts its own
server (this binary, a fresh data directory, every rate limit raised out of
the way) and stops it afterwards; with --store postgres://… that server
runs on that database (give it a throwaway one: the benchmark makes a key
of its own there and fills it with generated users).

Scenarios:
  http   one endpoint, one body, as fast as the connections allow: the cost
         of the shared request path (auth, permission, allowlist, rate limit,
         JSON checks, logging)
  track  /users/track with generated payloads (--mix a: one user per request,
         10 attributes + 3 events; --mix b: 75 objects per request, 25 users),
         paced (--rate) or as fast as possible; waits for the applier to
         catch up and reports objects accepted and applied per second.
         --preload N first creates N profiles with 20 attributes each.
  send   creates --users users, sends them a webhook message with Liquid in
         requests of 50 recipients, delivers to an HTTP endpoint in this
         process and reports deliveries/s, end to end, and duplicates.
`

func runBench(ctx context.Context, env *Env, args []string) error {
	return dispatch(ctx, env, args, benchUsage, "scenario", map[string]runFunc{
		"http":  benchHTTP,
		"track": benchTrack,
		"send":  benchSend,
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
	store := fs.String("store", "", "store URL for the started server, e.g. postgres://… (default: SQLite in a fresh directory)")
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

	stop, srv, err := benchServer(ctx, url, key, *store, *logLevel)
	if err != nil {
		return err
	}
	defer stop()

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

// benchServer starts a server for a benchmark unless url is given, with
// every rate limit raised out of the way.
func benchServer(ctx context.Context, url, key *string, store, logLevel string, extra ...string) (stop func(), srv *bench.Server, err error) {
	if (*url == "") != (*key == "") {
		return nil, nil, usageError("give both --url and --key, or neither")
	}
	if *url != "" {
		if store != "" {
			return nil, nil, usageError("--store is for the server the benchmark starts; not with --url")
		}
		return func() {}, nil, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	dir, err := os.MkdirTemp("", "brazen-bench-")
	if err != nil {
		return nil, nil, err
	}
	var raise []string
	for _, g := range brazeapi.LimitGroups() {
		raise = append(raise, g.Name+"=1000000000000/hour")
	}
	args := append([]string{"--log-level", logLevel, "--rate-limit", strings.Join(raise, ",")}, extra...)
	benchKey := ""
	if store != "" {
		// The store may hold data already (a PostgreSQL database): make
		// the benchmark a key of its own rather than wait for a first one.
		if benchKey, err = createBenchKey(ctx, exe, store); err != nil {
			os.RemoveAll(dir)
			return nil, nil, err
		}
		args = append(args, "--store", store)
	}
	srv, err = bench.StartServer(ctx, exe, dir, benchKey, args...)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, fmt.Errorf("starting the server: %w", err)
	}
	*url, *key = srv.URL, srv.Key
	return func() { srv.Stop(); os.RemoveAll(dir) }, srv, nil
}

var secretLine = regexp.MustCompile(`(?m)^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)

// createBenchKey makes a key holding every permission in store, with
// `brazen keys create`, and returns its secret.
func createBenchKey(ctx context.Context, exe, store string) (string, error) {
	out, err := exec.CommandContext(ctx, exe, "keys", "create", "--store", store, "--all-permissions",
		"--name", "bench "+time.Now().UTC().Format(time.RFC3339)).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("creating a key for the benchmark: %v: %s", err, out)
	}
	m := secretLine.FindStringSubmatch(string(out))
	if m == nil {
		return "", fmt.Errorf("creating a key for the benchmark: no key in %q", out)
	}
	return m[1], nil
}

func benchTrack(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "bench track", "bench track [flags]")
	url := fs.String("url", "", "base URL of a running server (default: start one)")
	key := fs.String("key", "", "REST API key for --url (needs users.track)")
	mixName := fs.String("mix", "a", "workload: a (1 user, 10 attributes + 3 events per request) or b (75 objects per request)")
	users := fs.Int("users", 1_000_000, "distinct users the load draws from")
	rate := fs.Float64("rate", 0, "requests per second in total (0: as fast as the connections allow)")
	conns := fs.Int("connections", 32, "concurrent connections")
	duration := fs.Duration("duration", 60*time.Second, "how long to drive the load")
	preload := fs.Int("preload", 0, "create this many profiles (20 attributes each) before the measured run")
	logLevel := fs.String("server-log-level", "warn", "log level of the started server")
	store := fs.String("store", "", "store URL for the started server, e.g. postgres://… (default: SQLite in a fresh directory)")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	var mix bench.Mix
	switch *mixName {
	case "a", "A":
		mix = bench.MixA(*users)
	case "b", "B":
		mix = bench.MixB(*users)
	default:
		return usageError("--mix must be a or b")
	}
	stop, srv, err := benchServer(ctx, url, key, *store, *logLevel)
	if err != nil {
		return err
	}
	defer stop()
	base := strings.TrimSuffix(*url, "/")
	w := env.Stdout

	if *preload > 0 {
		pre := bench.Preload(20)
		start := time.Now()
		res, err := bench.Run(ctx, bench.Load{URL: base, Key: *key, Connections: *conns, Duration: 24 * time.Hour,
			Total: uint64((*preload + 74) / 75),
			Next: func(_ int, n uint64) bench.Request {
				return bench.Request{Method: "POST", Path: "/users/track", Body: pre.Seq(n)}
			}})
		if err != nil {
			return err
		}
		done, err := bench.WaitApplied(ctx, base, 30*time.Minute)
		if err != nil {
			return err
		}
		el := done.Sub(start).Seconds()
		fmt.Fprintf(w, "preload      %d profiles × 20 attributes in %.1fs (%.0f profiles/s applied); statuses %v\n",
			*preload, el, float64(*preload)/el, res.Statuses)
		if srv != nil {
			if rss, err := srv.PeakRSS(); err == nil {
				fmt.Fprintf(w, "server RSS   peak %.1f MiB after preload\n", float64(rss)/(1<<20))
			}
		}
	}

	applied0, err := bench.Metric(ctx, base, "brazen_ingest_applied_operations_total")
	if err != nil {
		return err
	}
	var seeds atomic.Uint64
	rngs := make([]*rand.Rand, *conns)
	for i := range rngs {
		rngs[i] = rand.New(rand.NewPCG(seeds.Add(1), uint64(time.Now().UnixNano())))
	}
	start := time.Now()
	res, err := bench.Run(ctx, bench.Load{URL: base, Key: *key, Connections: *conns, Duration: *duration, Rate: *rate,
		Next: func(worker int, _ uint64) bench.Request {
			return bench.Request{Method: "POST", Path: "/users/track", Body: mix.Body(rngs[worker])}
		}})
	if err != nil {
		return err
	}
	done, err := bench.WaitApplied(ctx, base, 30*time.Minute)
	if err != nil {
		return err
	}
	applied1, err := bench.Metric(ctx, base, "brazen_ingest_applied_operations_total")
	if err != nil {
		return err
	}
	ok := res.Statuses[201]
	fmt.Fprintf(w, "scenario     track mix %s (%d objects/request, %d users)\n", mix.Name, mix.Objects, *users)
	fmt.Fprintf(w, "connections  %d", *conns)
	if *rate > 0 {
		fmt.Fprintf(w, ", paced at %.0f requests/s", *rate)
	}
	fmt.Fprintf(w, "\nduration     %.1fs\n", res.Elapsed.Seconds())
	fmt.Fprintf(w, "requests     %d (%.0f/s); statuses %v", res.Requests, res.Rate(), res.Statuses)
	if res.Errors > 0 {
		fmt.Fprintf(w, "; transport errors %d", res.Errors)
	}
	fmt.Fprintf(w, "\nlatency      p50 %s  p90 %s  p99 %s  max %s\n",
		ms(res.Percentile(50)), ms(res.Percentile(90)), ms(res.Percentile(99)), ms(res.Percentile(100)))
	fmt.Fprintf(w, "accepted     %.0f objects/s\n", float64(ok*mix.Objects)/res.Elapsed.Seconds())
	appliedSecs := done.Sub(start).Seconds()
	fmt.Fprintf(w, "applied      %.0f objects in %.1fs after the start = %.0f objects/s end to end (caught up %.1fs after the load)\n",
		applied1-applied0, appliedSecs, (applied1-applied0)/appliedSecs, appliedSecs-res.Elapsed.Seconds())
	if srv != nil {
		if rss, err := srv.PeakRSS(); err == nil {
			fmt.Fprintf(w, "server RSS   peak %.1f MiB\n", float64(rss)/(1<<20))
		}
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }
