// Package app is Brazen's composition root: it opens the store, builds every
// component from the configuration, serves the listeners and shuts them down
// in order. Tests start an App on port 0.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/brazenhq/brazen/internal/adminapi"
	"github.com/brazenhq/brazen/internal/auth"
	"github.com/brazenhq/brazen/internal/brazeapi"
	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/channel/apns"
	"github.com/brazenhq/brazen/internal/channel/email"
	"github.com/brazenhq/brazen/internal/channel/fcm"
	"github.com/brazenhq/brazen/internal/channel/sms"
	"github.com/brazenhq/brazen/internal/channel/webhook"
	"github.com/brazenhq/brazen/internal/config"
	"github.com/brazenhq/brazen/internal/console"
	"github.com/brazenhq/brazen/internal/dispatch"
	"github.com/brazenhq/brazen/internal/httpx"
	"github.com/brazenhq/brazen/internal/ingest"
	"github.com/brazenhq/brazen/internal/postgres"
	"github.com/brazenhq/brazen/internal/ratelimit"
	"github.com/brazenhq/brazen/internal/sqlite"
	"github.com/brazenhq/brazen/internal/usage"
)

// Version is the build's version, set with -ldflags "-X …/app.Version=v1.2.3";
// otherwise the module version from the build info.
var Version = ""

// BuildVersion returns the version string of this binary.
func BuildVersion() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// WorkspaceName is the name of the workspace a new store gets.
const WorkspaceName = "Default Workspace"

// OpenStore opens the store a URL names and applies pending migrations,
// returning the versions it applied.
func OpenStore(ctx context.Context, url string) (brazen.Store, []int, error) {
	scheme, loc, err := config.ParseStoreURL(url)
	if err != nil {
		return nil, nil, &config.SettingError{Setting: "store", Value: url, Reason: err.Error()}
	}
	var s brazen.Store
	switch scheme {
	case "sqlite":
		db, err := sqlite.Open(loc)
		if err != nil {
			return nil, nil, err
		}
		s = db
	case "postgres":
		db, err := postgres.Open(ctx, loc)
		if err != nil {
			var be *brazen.Error
			if errors.As(err, &be) && be.Code == brazen.EINVALID {
				return nil, nil, &config.SettingError{Setting: "store", Value: url, Reason: be.Error()}
			}
			return nil, nil, err
		}
		s = db
	}
	applied, err := s.Migrate(ctx)
	if err != nil {
		s.Close()
		return nil, nil, fmt.Errorf("migrating the store: %w", err)
	}
	return s, applied, nil
}

// Options are test hooks; the zero value is right for production.
type Options struct {
	Now func() time.Time // the clock for rate limits and key use; nil: time.Now
}

// App is a running Brazen instance.
type App struct {
	cfg    config.Config
	logger *slog.Logger
	store  brazen.Store
	keys   *auth.Keyring
	users  *ingest.Service
	// cluster counts rate limits with the other nodes; nil on one node.
	cluster *ratelimit.Cluster
	// workers deliver messages; nil if the store keeps no jobs.
	workers *dispatch.Workers
	// usage counts the REST API's requests for the console's charts.
	usage *usage.Recorder

	// Workspace is the instance's workspace.
	Workspace *brazen.Workspace
	// FirstKey is the secret of the admin key issued when this Open
	// bootstrapped a new workspace, "" otherwise. The caller shows it once.
	FirstKey string
	// SetupURL is the one-time link to create the first console account,
	// made when this Open found a store without accounts; "" otherwise.
	SetupURL string

	restLn, consoleLn, pprofLn    net.Listener
	restSrv, consoleSrv, pprofSrv *http.Server
	closeOnce                     sync.Once
}

// Open builds the instance and binds its listeners; Run serves them.
func Open(ctx context.Context, cfg config.Config, logger *slog.Logger, opts Options) (_ *App, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	overrides, err := cfg.Limits()
	if err != nil {
		return nil, err
	}
	limits, err := brazeapi.ResolveLimits(overrides)
	if err != nil {
		return nil, &config.SettingError{Setting: "rate_limit", Reason: err.Error()}
	}
	trusted, err := auth.ParsePrefixes(cfg.TrustedProxies)
	if err != nil {
		return nil, &config.SettingError{Setting: "trusted_proxy", Reason: err.Error()}
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}

	a := &App{cfg: cfg, logger: logger}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	if a.store, _, err = OpenStore(ctx, cfg.StoreURL()); err != nil {
		return nil, err
	}
	if err := a.bootstrap(ctx, now()); err != nil {
		return nil, err
	}
	a.keys = auth.NewKeyring(a.store, logger)
	if err := a.keys.Refresh(ctx); err != nil {
		return nil, fmt.Errorf("loading API keys: %w", err)
	}

	if a.users, err = ingest.Open(ctx, a.store, logger, ingest.ApplierOptions{
		Node: cfg.Instance + "-" + brazen.NewID()[:8], LeaseTTL: cfg.LeaseTTL,
	}); err != nil {
		return nil, fmt.Errorf("opening the ingest log: %w", err)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := httpx.NewMetrics(reg)
	a.usage = usage.New(a.store, logger)
	metrics.OnRequest = a.usage.Count
	commitSeconds := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "brazen_ingest_commit_seconds",
		Help:    "Time to make one group commit of the ingest log durable.",
		Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1}})
	commitRecords := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "brazen_ingest_commit_records",
		Help:    "Requests (log records) acknowledged by one group commit.",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}})
	a.users.Log().Observe = func(d time.Duration, n int) {
		commitSeconds.Observe(d.Seconds())
		commitRecords.Observe(float64(n))
	}
	reg.MustRegister(commitSeconds, commitRecords,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "brazen_ingest_log_head",
			Help: "Sequence number of the newest record appended to the ingest log."},
			func() float64 { return float64(a.users.Head()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "brazen_ingest_applied_position",
			Help: "Sequence number of the newest ingest log record applied to profiles."},
			func() float64 { return float64(a.users.Position()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "brazen_ingest_applied_operations_total",
			Help: "User-data operations (attributes, events, purchases, identity changes) applied."},
			func() float64 { return float64(a.users.Applied()) }),
	)
	ids := httpx.NewIDs()

	// One node counts rate limits in memory; nodes sharing a PostgreSQL
	// store count them together (ratelimit.Cluster documents the tolerance).
	var limiter ratelimit.Limiter = ratelimit.NewLocal(len(brazeapi.LimitGroups()))
	if storeKind(cfg) == "postgres" {
		a.cluster = ratelimit.NewCluster(a.store, len(brazeapi.LimitGroups()), logger)
		limiter = a.cluster
	}
	// Messaging: delivery workers on every node, and the planner behind
	// /messages/send.
	deliverers := map[string]dispatch.Deliverer{
		"webhook": dispatch.WebhookDeliverer{Sender: webhook.NewSender(10 * time.Second)},
	}
	if cfg.SMTPURL != "" {
		s, err := email.NewSender(cfg.SMTPURL, 30*time.Second)
		if err != nil {
			return nil, &config.SettingError{Setting: "smtp_url", Value: cfg.SMTPURL, Reason: err.Error()}
		}
		deliverers["email"] = dispatch.EmailDeliverer{Sender: s, Bounces: a.store}
	}
	deliverers["content_card"] = dispatch.CardDeliverer{Store: a.store}
	if cfg.SMSURL != "" {
		s, err := sms.NewSender(cfg.SMSURL, 15*time.Second)
		if err != nil {
			return nil, &config.SettingError{Setting: "sms_url", Value: cfg.SMSURL, Reason: err.Error()}
		}
		deliverers["sms"] = dispatch.SMSDeliverer{Sender: s}
	}
	if err := a.pushDeliverers(cfg, deliverers); err != nil {
		return nil, err
	}
	rates, err := cfg.SendLimits()
	if err != nil {
		return nil, err
	}
	a.workers = dispatch.NewWorkers(a.store, deliverers, logger, dispatch.WorkerOptions{
		Node: cfg.Instance + "-" + brazen.NewID()[:8], LeaseTTL: cfg.DeliveryLease, Rates: rates, Limiter: limiter})
	planner := dispatch.NewPlanner(a.users, a.store, a.workers, logger)
	planner.PushApps = cfg.PushApps

	api := brazeapi.New(brazeapi.Options{
		Keys: a.keys, Limiter: limiter, Limits: limits,
		TrustedProxies: trusted, Now: now, Logger: logger, Registerer: reg, Users: a.users, Messages: planner, Bounces: a.store, Sends: a.store,
	})
	api.Handle("GET /healthz", http.HandlerFunc(a.healthz))
	api.Handle("GET /readyz", http.HandlerFunc(a.readyz))
	api.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	openapi := brazeapi.OpenAPI(BuildVersion())
	api.Handle("GET /openapi.json", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, openapi)
	}))

	if a.restLn, err = net.Listen("tcp", cfg.Addr); err != nil {
		return nil, &config.SettingError{Setting: "addr", Value: cfg.Addr, Reason: err.Error()}
	}
	a.restSrv = newServer(httpx.Observe("rest", api, logger, metrics, ids), logger)

	if cfg.ConsoleAddr != "" {
		admin := adminapi.New(a.store, a.keys, adminapi.Instance{
			Name: cfg.Instance, WorkspaceID: a.Workspace.ID, Workspace: a.Workspace.Name,
			Version: BuildVersion(), RESTAddr: a.restLn.Addr().String(), Store: storeKind(cfg),
		}, logger)
		if a.consoleLn, err = net.Listen("tcp", cfg.ConsoleAddr); err != nil {
			return nil, &config.SettingError{Setting: "console_addr", Value: cfg.ConsoleAddr, Reason: err.Error()}
		}
		restURL := "http://" + a.restLn.Addr().String()
		pages, err := console.New(console.Options{Store: a.store, Keys: a.keys, Users: a.users, Logger: logger, TrustedProxies: trusted,
			Instance: console.Instance{Name: cfg.Instance, Workspace: a.Workspace.Name, WorkspaceID: a.Workspace.ID,
				RESTURL: restURL, DataLocation: dataLocation(cfg), StoreKind: storeKind(cfg), Version: BuildVersion()}})
		if err != nil {
			return nil, err
		}
		mux := http.NewServeMux()
		mux.Handle("/admin/v1/", admin)
		mux.Handle("/", pages)
		a.consoleSrv = newServer(httpx.Observe("console", mux, logger, metrics, ids), logger)
		if a.SetupURL, err = a.setupLink(ctx, now()); err != nil {
			return nil, err
		}
	}
	if cfg.PprofAddr != "" {
		if a.pprofLn, err = net.Listen("tcp", cfg.PprofAddr); err != nil {
			return nil, &config.SettingError{Setting: "pprof_addr", Value: cfg.PprofAddr, Reason: err.Error()}
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		a.pprofSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	}
	return a, nil
}

func newServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

func storeKind(cfg config.Config) string {
	scheme, _, _ := config.ParseStoreURL(cfg.StoreURL())
	return scheme
}

// pushDeliverers adds the push channels the settings configure: APNs with
// a token-auth key, FCM with a service account. A token either service
// refuses for good comes off its profile.
func (a *App) pushDeliverers(cfg config.Config, deliverers map[string]dispatch.Deliverer) error {
	if cfg.APNsKeyFile != "" {
		pem, err := os.ReadFile(cfg.APNsKeyFile)
		if err != nil {
			return &config.SettingError{Setting: "apns_key_file", Value: cfg.APNsKeyFile, Reason: err.Error()}
		}
		key, err := apns.LoadKey(pem)
		if err != nil {
			return &config.SettingError{Setting: "apns_key_file", Value: cfg.APNsKeyFile, Reason: err.Error()}
		}
		c, err := apns.New(apns.Config{BaseURL: cfg.APNsURL, KeyID: cfg.APNsKeyID, TeamID: cfg.APNsTeamID, Key: key, Topic: cfg.APNsTopic})
		if err != nil {
			return &config.SettingError{Setting: "apns_url", Value: cfg.APNsURL, Reason: err.Error()}
		}
		deliverers["apple_push"] = dispatch.APNsDeliverer{Client: c, Tokens: a.users}
	}
	if cfg.FCMCredentials != "" {
		js, err := os.ReadFile(cfg.FCMCredentials)
		if err != nil {
			return &config.SettingError{Setting: "fcm_credentials_file", Value: cfg.FCMCredentials, Reason: err.Error()}
		}
		creds, err := fcm.LoadCredentials(js)
		if err != nil {
			return &config.SettingError{Setting: "fcm_credentials_file", Value: cfg.FCMCredentials, Reason: err.Error()}
		}
		c, err := fcm.New(fcm.Config{BaseURL: cfg.FCMURL, Credentials: creds})
		if err != nil {
			return &config.SettingError{Setting: "fcm_url", Value: cfg.FCMURL, Reason: err.Error()}
		}
		deliverers["android_push"] = dispatch.FCMDeliverer{Client: c, Tokens: a.users}
	}
	return nil
}

// setupLinkTTL is how long a setup link works.
const setupLinkTTL = 24 * time.Hour

// setupLink makes a one-time link to create the first console account
// when the store has none; "" when it has.
func (a *App) setupLink(ctx context.Context, now time.Time) (string, error) {
	admins, err := a.store.Admins(ctx)
	if err != nil || len(admins) > 0 {
		return "", err
	}
	secret := console.NewSecret()
	if err := a.store.CreateConsoleToken(ctx, brazen.ConsoleToken{Hash: brazen.HashSecret(secret), Kind: brazen.TokenSetup,
		CreatedAt: now, ExpiresAt: now.Add(setupLinkTTL)}); err != nil {
		return "", fmt.Errorf("making the console setup link: %w", err)
	}
	return "http://" + a.ConsoleAddr() + "/setup?token=" + secret, nil
}

// dataLocation is where the instance keeps its data, for the console: the
// data directory, or the store URL without its password.
func dataLocation(cfg config.Config) string {
	if cfg.Store != "" {
		return config.Redact(cfg.Store)
	}
	if abs, err := filepath.Abs(cfg.Data); err == nil {
		return abs
	}
	return cfg.Data
}

// bootstrap finds or creates the workspace and, the first time, issues an
// admin key holding every permission.
func (a *App) bootstrap(ctx context.Context, now time.Time) error {
	ws, _, err := a.store.DefaultWorkspace(ctx, WorkspaceName)
	if err != nil {
		return fmt.Errorf("opening the workspace: %w", err)
	}
	a.Workspace = ws
	if ws.Bootstrapped {
		return nil
	}
	k, secret, err := auth.NewAPIKey(auth.KeyRequest{WorkspaceID: ws.ID, Name: "admin", AllPermissions: true}, now)
	if err != nil {
		return err
	}
	switch err := a.store.Bootstrap(ctx, ws.ID, k); {
	case brazen.ErrorCode(err) == brazen.ECONFLICT:
		return nil // another process bootstrapped it first and printed its key
	case err != nil:
		return fmt.Errorf("issuing the first admin key: %w", err)
	}
	ws.Bootstrapped = true
	a.FirstKey = secret
	a.logger.Info("issued the first admin API key", "key_id", k.ID)
	return nil
}

// Addr returns the REST API's listen address.
func (a *App) Addr() string { return a.restLn.Addr().String() }

// ConsoleAddr returns the console listener's address, "" if disabled.
func (a *App) ConsoleAddr() string {
	if a.consoleLn == nil {
		return ""
	}
	return a.consoleLn.Addr().String()
}

// Users returns the user-data service (for tests and benchmarks).
func (a *App) Users() *ingest.Service { return a.users }

// Store returns the app's store (for tests and the CLI).
func (a *App) Store() brazen.Store { return a.store }

// usageFlush is how often request counts go to the store.
const usageFlush = 5 * time.Second

// Run serves until ctx is done, then shuts down in order: stop accepting and
// drain in-flight requests (bounded by the shutdown timeout), commit what
// the ingest log has queued, stop the applier, flush key usage, close the
// store.
func (a *App) Run(ctx context.Context) error {
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { a.keys.Run(bg, a.cfg.KeyRefresh) })
	wg.Go(func() { a.users.Run(bg) })
	wg.Go(func() { a.usage.Run(bg, usageFlush) })
	if a.cluster != nil {
		wg.Go(func() { a.cluster.Run(bg) })
	}
	if a.workers != nil {
		wg.Go(func() { a.workers.Run(bg) })
	}

	errc := make(chan error, 2)
	serve := func(srv *http.Server, ln net.Listener) {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}
	go serve(a.restSrv, a.restLn)
	if a.consoleSrv != nil {
		go serve(a.consoleSrv, a.consoleLn)
	}
	if a.pprofSrv != nil {
		go serve(a.pprofSrv, a.pprofLn)
	}
	a.logger.Info("serving", "instance", a.cfg.Instance, "addr", a.Addr(), "console_addr", a.ConsoleAddr(),
		"store", storeKind(a.cfg), "version", BuildVersion())

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	a.logger.Info("shutting down", "timeout", a.cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	for _, srv := range []*http.Server{a.restSrv, a.consoleSrv, a.pprofSrv} {
		if srv == nil {
			continue
		}
		if err := srv.Shutdown(sctx); err != nil {
			errs = append(errs, fmt.Errorf("draining requests: %w", err))
			srv.Close()
		}
	}
	stopBG()
	wg.Wait()
	errs = append(errs, a.Close())
	a.logger.Info("stopped")
	return errors.Join(append([]error{runErr}, errs...)...)
}

// Close releases everything without draining; Run calls it at the end.
func (a *App) Close() error {
	var err error
	a.closeOnce.Do(func() {
		for _, ln := range []net.Listener{a.restLn, a.consoleLn, a.pprofLn} {
			if ln != nil {
				ln.Close()
			}
		}
		if a.store != nil {
			err = a.store.Close()
		}
	})
	return err
}

func (a *App) healthz(w http.ResponseWriter, r *http.Request) {
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok", "instance": a.cfg.Instance, "version": BuildVersion()})
}

func (a *App) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	body := map[string]string{"status": "ready", "instance": a.cfg.Instance, "store": storeKind(a.cfg)}
	status := http.StatusOK
	if err := a.store.Ping(ctx); err != nil {
		status = http.StatusServiceUnavailable
		body["status"] = "unavailable"
		body["error"] = "the store does not answer"
		a.logger.Warn("readiness check failed", "err", err)
	}
	httpx.WriteJSON(w, status, body)
}
