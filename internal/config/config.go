// Package config builds Brazen's configuration once, in a fixed order —
// defaults, then an optional TOML file, then BRAZEN_* environment variables,
// then command-line flags — and validates it with messages that name the
// setting. The result is a plain value passed down; nothing here is global.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/brazenhq/brazen/internal/auth"
	"github.com/brazenhq/brazen/internal/ratelimit"
)

// Config is the whole configuration of a Brazen process.
type Config struct {
	Data            string            // data directory for the embedded store
	Store           string            // store URL; "" means sqlite in Data
	Addr            string            // REST API listen address
	ConsoleAddr     string            // console and admin API listen address; "" disables it
	PprofAddr       string            // Go profiling (net/http/pprof) listen address; "" (default) disables it
	Instance        string            // instance name, e.g. US-01
	LogFormat       string            // text or json
	LogLevel        string            // debug, info, warn or error
	TrustedProxies  []string          // CIDRs whose X-Forwarded-For is believed
	RateLimits      map[string]string // group or path → "N/WINDOW"
	ShutdownTimeout time.Duration     // bound on draining in-flight requests
	KeyRefresh      time.Duration     // how often API keys are reloaded from the store
	LeaseTTL        time.Duration     // how long an ingest log partition's lease lasts unrenewed
	SMTPURL         string            // smtp://user:pass@host:port for the email channel; "" disables it
	SMSURL          string            // https://SID:TOKEN@host?from=… for the SMS channel; "" disables it
	DeliveryLease   time.Duration     // how long a worker holds a delivery job before another may take it
	SendRates       map[string]string // channel → "N/WINDOW": deliveries per window, for the whole cluster
	APNsKeyFile     string            // .p8 token-auth key for APNs; "" disables iOS push
	APNsKeyID       string            // the key's id
	APNsTeamID      string            // the Apple developer team id
	APNsTopic       string            // the app's bundle id (apns-topic)
	APNsURL         string            // APNs base URL
	FCMCredentials  string            // Firebase service-account JSON file; "" disables Android push
	FCMURL          string            // FCM base URL
	PushApps        map[string]string // app id → "ios" or "android"
}

// Default returns the configuration `brazen serve` uses with no settings.
func Default() Config {
	return Config{
		Data:            "brazen-data",
		Addr:            "127.0.0.1:8080",
		ConsoleAddr:     "127.0.0.1:8081",
		Instance:        "LOCAL-01",
		LogFormat:       "text",
		LogLevel:        "info",
		RateLimits:      map[string]string{},
		SendRates:       map[string]string{},
		PushApps:        map[string]string{},
		APNsURL:         "https://api.push.apple.com",
		FCMURL:          "https://fcm.googleapis.com",
		ShutdownTimeout: 15 * time.Second,
		KeyRefresh:      5 * time.Second,
		LeaseTTL:        5 * time.Second,
		DeliveryLease:   time.Minute,
	}
}

// StoreURL returns the store URL, defaulting to the SQLite file in Data.
func (c *Config) StoreURL() string {
	if c.Store != "" {
		return c.Store
	}
	return "sqlite://" + filepath.ToSlash(filepath.Join(c.Data, "brazen.db"))
}

// SettingError is an invalid setting; the CLI exits with status 2 on it.
type SettingError struct {
	Setting string // the setting's name, as in the config file
	Source  string // where the value came from: flag, environment, file
	Value   string
	Reason  string
}

func (e *SettingError) Error() string {
	src := ""
	if e.Source != "" {
		src = " (from " + e.Source + ")"
	}
	if e.Value == "" {
		return fmt.Sprintf("invalid setting %s%s: %s", e.Setting, src, e.Reason)
	}
	return fmt.Sprintf("invalid setting %s%s: %q: %s", e.Setting, src, Redact(e.Value), e.Reason)
}

// setting is one configurable value: its flag is --Name, its environment
// variable BRAZEN_NAME (dashes as underscores) and its file key name with
// underscores.
type setting struct {
	name   string
	usage  string
	repeat bool // a flag that may be given several times, a list in the file
	set    func(c *Config, v string) error
}

func (s *setting) fileKey() string { return strings.ReplaceAll(s.name, "-", "_") }
func (s *setting) envKey() string  { return "BRAZEN_" + strings.ToUpper(s.fileKey()) }

var settings = []*setting{
	{name: "data", usage: "data directory of the embedded store", set: func(c *Config, v string) error { c.Data = v; return nil }},
	{name: "store", usage: "store URL: sqlite:///path/to/file.db (default: brazen.db in --data)", set: func(c *Config, v string) error { c.Store = v; return nil }},
	{name: "addr", usage: "REST API listen address HOST:PORT", set: func(c *Config, v string) error { c.Addr = v; return nil }},
	{name: "console-addr", usage: "console and admin API listen address HOST:PORT; empty disables it", set: func(c *Config, v string) error { c.ConsoleAddr = v; return nil }},
	{name: "pprof-addr", usage: "serve Go's net/http/pprof profiles on this address (keep it private); empty disables it", set: func(c *Config, v string) error { c.PprofAddr = v; return nil }},
	{name: "instance", usage: "instance name, e.g. US-01 or EU-01", set: func(c *Config, v string) error { c.Instance = v; return nil }},
	{name: "log-format", usage: "log format: text or json", set: func(c *Config, v string) error { c.LogFormat = v; return nil }},
	{name: "log-level", usage: "log level: debug, info, warn or error", set: func(c *Config, v string) error { c.LogLevel = v; return nil }},
	{name: "trusted-proxy", repeat: true, usage: "address or CIDR of a proxy whose X-Forwarded-For is believed (repeatable)",
		set: func(c *Config, v string) error {
			c.TrustedProxies = append(c.TrustedProxies, splitList(v)...)
			return nil
		}},
	{name: "rate-limit", repeat: true, usage: "override a rate limit: PATH_OR_GROUP=N/WINDOW, e.g. /users/track=5/3s (repeatable)",
		set: func(c *Config, v string) error {
			for _, item := range splitList(v) {
				k, l, ok := strings.Cut(item, "=")
				if !ok || strings.TrimSpace(k) == "" {
					return errors.New("expected PATH_OR_GROUP=N/WINDOW, e.g. /users/track=5/3s")
				}
				c.RateLimits[strings.TrimSpace(k)] = strings.TrimSpace(l)
			}
			return nil
		}},
	{name: "shutdown-timeout", usage: "how long to wait for in-flight requests on shutdown", set: durationSetter(func(c *Config) *time.Duration { return &c.ShutdownTimeout })},
	{name: "key-refresh", usage: "how often API keys are reloaded from the store (bounds how long a key deleted elsewhere still works)", set: durationSetter(func(c *Config) *time.Duration { return &c.KeyRefresh })},
	{name: "smtp-url", usage: "SMTP server for the email channel: smtp://[user:password@]host[:port][?tls=required|none] or smtps://…; empty disables email", set: func(c *Config, v string) error { c.SMTPURL = v; return nil }},
	{name: "sms-url", usage: "Twilio-compatible Messages API for the SMS channel: https://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com?from=+15550001111 (or ?messaging_service_sid=MG…); empty disables SMS", set: func(c *Config, v string) error { c.SMSURL = v; return nil }},
	{name: "send-rate", repeat: true, usage: "cap a channel's deliveries for the whole cluster: CHANNEL=N/WINDOW, e.g. email=100/second (repeatable)",
		set: func(c *Config, v string) error {
			for _, item := range splitList(v) {
				k, l, ok := strings.Cut(item, "=")
				if !ok || strings.TrimSpace(k) == "" {
					return errors.New("expected CHANNEL=N/WINDOW, e.g. email=100/second")
				}
				c.SendRates[strings.TrimSpace(k)] = strings.TrimSpace(l)
			}
			return nil
		}},
	{name: "apns-key-file", usage: "APNs token-auth key (.p8 file) for iOS push; empty disables apple_push", set: func(c *Config, v string) error { c.APNsKeyFile = v; return nil }},
	{name: "apns-key-id", usage: "the APNs key's id (10 characters, from the Apple developer account)", set: func(c *Config, v string) error { c.APNsKeyID = v; return nil }},
	{name: "apns-team-id", usage: "the Apple developer team id that owns the APNs key", set: func(c *Config, v string) error { c.APNsTeamID = v; return nil }},
	{name: "apns-topic", usage: "the iOS app's bundle id, sent as apns-topic", set: func(c *Config, v string) error { c.APNsTopic = v; return nil }},
	{name: "apns-url", usage: "APNs base URL: https://api.push.apple.com, or https://api.sandbox.push.apple.com for development builds", set: func(c *Config, v string) error { c.APNsURL = v; return nil }},
	{name: "fcm-credentials-file", usage: "Firebase service-account JSON file for Android push (FCM HTTP v1); empty disables android_push", set: func(c *Config, v string) error { c.FCMCredentials = v; return nil }},
	{name: "fcm-url", usage: "FCM base URL", set: func(c *Config, v string) error { c.FCMURL = v; return nil }},
	{name: "push-app", repeat: true, usage: "the platform of an app's push tokens: APP_ID=ios or APP_ID=android (repeatable); tokens of other apps go by their shape (64 hex digits: iOS)",
		set: func(c *Config, v string) error {
			for _, item := range splitList(v) {
				k, p, ok := strings.Cut(item, "=")
				p = strings.TrimSpace(p)
				if !ok || strings.TrimSpace(k) == "" || (p != "ios" && p != "android") {
					return errors.New("expected APP_ID=ios or APP_ID=android")
				}
				c.PushApps[strings.TrimSpace(k)] = p
			}
			return nil
		}},
	{name: "delivery-lease", usage: "how long a worker holds a claimed delivery job (bounds an attempt, and how long the jobs of a crashed node wait)", set: durationSetter(func(c *Config) *time.Duration { return &c.DeliveryLease })},
	{name: "lease-ttl", usage: "how long a node's lease on an ingest log partition lasts unrenewed (bounds how long a dead node's writes wait to be applied)", set: durationSetter(func(c *Config) *time.Duration { return &c.LeaseTTL })},
}

func durationSetter(field func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return errors.New("expected a duration such as 15s or 1m")
		}
		*field(c) = d
		return nil
	}
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func lookupSetting(name string) *setting {
	for _, s := range settings {
		if s.name == name {
			return s
		}
	}
	return nil
}

// Flags holds the settings a subcommand accepts and what its flags said.
type Flags struct {
	names  []string
	given  map[string][]string // flag name → values, in order
	config string              // --config
}

// Bind registers --config and the named settings on fs. Pass no names for
// every setting.
func Bind(fs *flag.FlagSet, names ...string) *Flags {
	f := &Flags{given: map[string][]string{}}
	if len(names) == 0 {
		for _, s := range settings {
			names = append(names, s.name)
		}
	}
	f.names = names
	fs.StringVar(&f.config, "config", "", "TOML configuration file (also BRAZEN_CONFIG)")
	for _, n := range names {
		s := lookupSetting(n)
		if s == nil {
			panic("config: unknown setting " + n)
		}
		usage := s.usage + " (" + s.envKey() + ")"
		fs.Func(s.name, usage, func(v string) error {
			f.given[s.name] = append(f.given[s.name], v)
			return nil
		})
	}
	return f
}

// Load builds the configuration from defaults, the file, the environment
// (through getenv) and the flags, and validates it.
func (f *Flags) Load(getenv func(string) string) (Config, error) {
	c := Default()
	sources := map[string]string{} // setting → where its value came from, for Validate's errors
	path := f.config
	source := "flag --config"
	if path == "" {
		path, source = getenv("BRAZEN_CONFIG"), "BRAZEN_CONFIG"
	}
	if path != "" {
		keys, err := f.loadFile(&c, path)
		for _, k := range keys {
			sources[k] = "file " + path
		}
		if err != nil {
			var se *SettingError
			if errors.As(err, &se) {
				return c, err
			}
			return c, &SettingError{Setting: "config", Source: source, Value: path, Reason: err.Error()}
		}
	}
	for _, n := range f.names {
		s := lookupSetting(n)
		if v := getenv(s.envKey()); v != "" {
			if s.repeat {
				resetList(&c, n) // the environment replaces a list from the file
			}
			if err := s.set(&c, v); err != nil {
				return c, &SettingError{Setting: s.fileKey(), Source: "environment " + s.envKey(), Value: v, Reason: err.Error()}
			}
			sources[s.fileKey()] = "environment " + s.envKey()
		}
	}
	for _, n := range f.names {
		s := lookupSetting(n)
		vals, ok := f.given[n]
		if !ok {
			continue
		}
		if s.repeat {
			resetList(&c, n) // flags replace a list from the file or environment
		}
		for _, v := range vals {
			if err := s.set(&c, v); err != nil {
				return c, &SettingError{Setting: s.fileKey(), Source: "flag --" + s.name, Value: v, Reason: err.Error()}
			}
		}
		sources[s.fileKey()] = "flag --" + s.name
	}
	err := c.Validate()
	if se, ok := err.(*SettingError); ok && se.Source == "" {
		se.Source = sources[se.Setting]
	}
	return c, err
}

func resetList(c *Config, name string) {
	switch name {
	case "trusted-proxy":
		c.TrustedProxies = nil
	case "rate-limit":
		c.RateLimits = map[string]string{}
	case "send-rate":
		c.SendRates = map[string]string{}
	case "push-app":
		c.PushApps = map[string]string{}
	}
}

// loadFile applies a TOML file. Its keys are the settings' names with
// underscores; trusted_proxy takes a list and rate_limit a table. An unknown
// key is an error, so a typo is not silently ignored.
func (f *Flags) loadFile(c *Config, path string) (keys []string, err error) {
	var raw map[string]any
	if _, err := toml.DecodeFile(path, &raw); err != nil {
		return nil, err
	}
	keys = make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s := lookupSetting(strings.ReplaceAll(k, "_", "-"))
		if s == nil || s.fileKey() != k {
			return keys, fmt.Errorf("unknown setting %q in %s", k, path)
		}
		vals, err := fileValues(raw[k])
		if err != nil {
			return keys, &SettingError{Setting: k, Source: "file " + path, Value: fmt.Sprint(raw[k]), Reason: err.Error()}
		}
		if len(vals) > 1 && !s.repeat {
			return keys, &SettingError{Setting: k, Source: "file " + path, Value: fmt.Sprint(raw[k]), Reason: "takes one value"}
		}
		for _, v := range vals {
			if err := s.set(c, v); err != nil {
				return keys, &SettingError{Setting: k, Source: "file " + path, Value: v, Reason: err.Error()}
			}
		}
	}
	return keys, nil
}

func fileValues(v any) ([]string, error) {
	switch v := v.(type) {
	case string:
		return []string{v}, nil
	case int64:
		return []string{strconv.FormatInt(v, 10)}, nil
	case []any:
		var out []string
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, errors.New("expected a list of strings")
			}
			out = append(out, s)
		}
		return out, nil
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var out []string
		for _, k := range keys {
			s, ok := v[k].(string)
			if !ok {
				return nil, fmt.Errorf("%s: expected a string such as \"5/3s\"", k)
			}
			out = append(out, k+"="+s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported value of type %T", v)
}

var instanceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$`)

// Validate checks every setting and reports the first bad one by name.
func (c *Config) Validate() error {
	bad := func(setting, value, reason string) error {
		return &SettingError{Setting: setting, Value: value, Reason: reason}
	}
	if c.Data == "" {
		return bad("data", c.Data, "must not be empty")
	}
	if c.APNsKeyFile != "" {
		for _, f := range []struct{ name, v string }{{"apns_key_id", c.APNsKeyID}, {"apns_team_id", c.APNsTeamID}, {"apns_topic", c.APNsTopic}} {
			if f.v == "" {
				return bad(f.name, "", "is required with apns_key_file")
			}
		}
	}
	if err := checkAddr(c.Addr); err != nil {
		return bad("addr", c.Addr, err.Error())
	}
	if c.ConsoleAddr != "" {
		if err := checkAddr(c.ConsoleAddr); err != nil {
			return bad("console_addr", c.ConsoleAddr, err.Error())
		}
	}
	if c.PprofAddr != "" {
		if err := checkAddr(c.PprofAddr); err != nil {
			return bad("pprof_addr", c.PprofAddr, err.Error())
		}
	}
	if _, _, err := ParseStoreURL(c.StoreURL()); err != nil {
		return bad("store", c.Store, err.Error())
	}
	if !instanceName.MatchString(c.Instance) {
		return bad("instance", c.Instance, "must be letters, digits, '-' or '_', starting with a letter or digit, e.g. US-01")
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return bad("log_format", c.LogFormat, "must be text or json")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return bad("log_level", c.LogLevel, "must be debug, info, warn or error")
	}
	if _, err := auth.ParsePrefixes(c.TrustedProxies); err != nil {
		return bad("trusted_proxy", strings.Join(c.TrustedProxies, ","), err.Error())
	}
	if _, err := c.Limits(); err != nil {
		return err
	}
	if _, err := c.SendLimits(); err != nil {
		return err
	}
	if c.ShutdownTimeout <= 0 {
		return bad("shutdown_timeout", c.ShutdownTimeout.String(), "must be positive")
	}
	if c.KeyRefresh < 100*time.Millisecond {
		return bad("key_refresh", c.KeyRefresh.String(), "must be at least 100ms")
	}
	if c.DeliveryLease < time.Second {
		return bad("delivery_lease", c.DeliveryLease.String(), "must be at least 1s")
	}
	if c.LeaseTTL < 500*time.Millisecond {
		return bad("lease_ttl", c.LeaseTTL.String(), "must be at least 500ms")
	}
	return nil
}

// SendChannels are the channels a send rate can cap.
var SendChannels = []string{"email", "webhook", "sms", "apple_push", "android_push", "content_card"}

// SendLimits parses the per-channel send rates.
func (c *Config) SendLimits() (map[string]ratelimit.Limit, error) {
	out := make(map[string]ratelimit.Limit, len(c.SendRates))
	for k, v := range c.SendRates {
		if !slices.Contains(SendChannels, k) {
			return nil, &SettingError{Setting: "send_rate", Value: k + "=" + v, Reason: "unknown channel; use one of " + strings.Join(SendChannels, ", ")}
		}
		l, err := ratelimit.ParseLimit(v)
		if err != nil {
			return nil, &SettingError{Setting: "send_rate", Value: k + "=" + v, Reason: err.Error()}
		}
		out[k] = l
	}
	return out, nil
}

// Limits parses the rate-limit overrides.
func (c *Config) Limits() (map[string]ratelimit.Limit, error) {
	out := make(map[string]ratelimit.Limit, len(c.RateLimits))
	for k, v := range c.RateLimits {
		l, err := ratelimit.ParseLimit(v)
		if err != nil {
			return nil, &SettingError{Setting: "rate_limit", Value: k + "=" + v, Reason: err.Error()}
		}
		out[k] = l
	}
	return out, nil
}

func checkAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("must be HOST:PORT, e.g. 127.0.0.1:8080 or :8080")
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return errors.New("the port must be a number from 0 to 65535")
	}
	return nil
}

// Redact hides the password of a URL (a store URL may hold one), for
// messages and logs; other values come back as they are. It works on the
// text, so that a URL too malformed to parse is hidden as well.
func Redact(s string) string {
	s = userinfoPassword.ReplaceAllString(s, "${1}xxxxx@")
	// Connection strings also take passwords as query parameters (pgx's
	// password= and sslpassword=).
	return queryPassword.ReplaceAllString(s, "${1}xxxxx")
}

var queryPassword = regexp.MustCompile(`(?i)([?&](?:ssl)?password=)[^&#]*`)

var userinfoPassword = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*://[^:/@]*:)[^/]*@`)

// ParseStoreURL splits a store URL into its scheme and location:
// sqlite:///abs/path.db, sqlite://relative/path.db, or postgres://… .
func ParseStoreURL(u string) (scheme, location string, err error) {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return "", "", errors.New("must be a URL such as sqlite:///var/lib/brazen/brazen.db")
	}
	switch scheme {
	case "sqlite":
		if rest == "" {
			return "", "", errors.New("sqlite:// needs a file path, e.g. sqlite:///var/lib/brazen/brazen.db")
		}
		return scheme, rest, nil
	case "postgres", "postgresql":
		return "postgres", u, nil
	}
	return "", "", fmt.Errorf("unknown store scheme %q: use sqlite:// or postgres://", scheme)
}
