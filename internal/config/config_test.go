package config_test

import (
	"errors"
	"flag"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/brazenhq/brazen/internal/config"
	"github.com/brazenhq/brazen/internal/ratelimit"
)

// load parses args with every setting bound, as `brazen serve` does, and
// loads the configuration with env as the environment.
func load(t *testing.T, args []string, env map[string]string) (config.Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := config.Bind(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parsing %q: %v", args, err)
	}
	return f.Load(func(k string) string { return env[k] })
}

func mustLoad(t *testing.T, args []string, env map[string]string) config.Config {
	t.Helper()
	cfg, err := load(t, args, env)
	if err != nil {
		t.Fatalf("Load(%q, %v) = %v", args, env, err)
	}
	return cfg
}

// writeFile writes a TOML config file and returns its path.
func writeFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "brazen.toml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDefaults(t *testing.T) {
	cfg := mustLoad(t, nil, nil)
	want := config.Config{
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
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("Load() = %+v\nwant %+v", cfg, want)
	}
	if !reflect.DeepEqual(config.Default(), want) {
		t.Errorf("Default() = %+v\nwant %+v", config.Default(), want)
	}
	// Both listeners default to loopback: a fresh install is not reachable
	// from the network until someone says so.
	for _, a := range []string{cfg.Addr, cfg.ConsoleAddr} {
		if !strings.HasPrefix(a, "127.0.0.1:") {
			t.Errorf("default listen address %q is not loopback", a)
		}
	}
	if err := want.Validate(); err != nil {
		t.Errorf("Default().Validate() = %v", err)
	}
}

func TestPrecedence(t *testing.T) {
	file := writeFile(t, `addr = ":9001"`)
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{name: "default", want: "127.0.0.1:8080"},
		{name: "file", args: []string{"--config", file}, want: ":9001"},
		{name: "env", env: map[string]string{"BRAZEN_ADDR": ":9002"}, want: ":9002"},
		{name: "flag", args: []string{"--addr", ":9003"}, want: ":9003"},
		{name: "env over file", args: []string{"--config", file}, env: map[string]string{"BRAZEN_ADDR": ":9002"}, want: ":9002"},
		{name: "flag over file", args: []string{"--config", file, "--addr=:9003"}, want: ":9003"},
		{name: "flag over env", args: []string{"--addr=:9003"}, env: map[string]string{"BRAZEN_ADDR": ":9002"}, want: ":9003"},
		{name: "flag over env over file", args: []string{"--config", file, "--addr=:9003"}, env: map[string]string{"BRAZEN_ADDR": ":9002"}, want: ":9003"},
		{name: "last flag wins", args: []string{"--addr=:9003", "--addr=:9004"}, want: ":9004"},
		// getenv cannot tell unset from empty, so an empty variable is unset.
		{name: "empty env is unset", args: []string{"--config", file}, env: map[string]string{"BRAZEN_ADDR": ""}, want: ":9001"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustLoad(t, tt.args, tt.env).Addr; got != tt.want {
				t.Errorf("Addr = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFile(t *testing.T) {
	file := writeFile(t, `
# A full configuration, as an operator would write it.
data = "/var/lib/brazen"
addr = "0.0.0.0:8080"
console_addr = ""
instance = "EU-01"
log_format = "json"
log_level = "debug"
trusted_proxy = ["10.0.0.0/8", "192.168.1.1"]
shutdown_timeout = "30s"
key_refresh = "1s"

[rate_limit]
"/users/track" = "5/3s"
"users.export" = "10/minute"
`)
	cfg := mustLoad(t, []string{"--config", file}, nil)
	want := config.Config{
		Data:            "/var/lib/brazen",
		Addr:            "0.0.0.0:8080",
		ConsoleAddr:     "", // disabled
		Instance:        "EU-01",
		LogFormat:       "json",
		LogLevel:        "debug",
		TrustedProxies:  []string{"10.0.0.0/8", "192.168.1.1"},
		RateLimits:      map[string]string{"/users/track": "5/3s", "users.export": "10/minute"},
		SendRates:       map[string]string{},
		PushApps:        map[string]string{},
		APNsURL:         "https://api.push.apple.com",
		FCMURL:          "https://fcm.googleapis.com",
		ShutdownTimeout: 30 * time.Second,
		KeyRefresh:      time.Second,
		LeaseTTL:        5 * time.Second,
		DeliveryLease:   time.Minute,
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("Load(file) = %+v\nwant %+v", cfg, want)
	}
	limits, err := cfg.Limits()
	if err != nil {
		t.Fatal(err)
	}
	wantLimits := map[string]ratelimit.Limit{
		"/users/track": {N: 5, Window: 3 * time.Second},
		"users.export": {N: 10, Window: time.Minute},
	}
	if !maps.Equal(limits, wantLimits) {
		t.Errorf("Limits() = %v, want %v", limits, wantLimits)
	}
}

func TestFileValueForms(t *testing.T) {
	for _, tt := range []struct {
		name string
		body string
		get  func(config.Config) any
		want any
	}{
		{name: "list as one comma string", body: `trusted_proxy = "10.0.0.0/8, 172.16.0.0/12"`,
			get: func(c config.Config) any { return c.TrustedProxies }, want: []string{"10.0.0.0/8", "172.16.0.0/12"}},
		{name: "comma strings inside a list", body: `trusted_proxy = ["10.0.0.0/8,172.16.0.0/12", "::1"]`,
			get: func(c config.Config) any { return c.TrustedProxies }, want: []string{"10.0.0.0/8", "172.16.0.0/12", "::1"}},
		{name: "rate_limit as strings", body: `rate_limit = ["/users/track=5/3s", "users.export=1/s"]`,
			get: func(c config.Config) any { return c.RateLimits }, want: map[string]string{"/users/track": "5/3s", "users.export": "1/s"}},
		{name: "scalar in a one-element list", body: `addr = [":9000"]`,
			get: func(c config.Config) any { return c.Addr }, want: ":9000"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, []string{"--config", writeFile(t, tt.body)}, nil)
			if got := tt.get(cfg); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestLists(t *testing.T) {
	file := writeFile(t, `
trusted_proxy = ["10.0.0.0/8"]
[rate_limit]
"/users/track" = "5/3s"
`)
	for _, tt := range []struct {
		name        string
		args        []string
		env         map[string]string
		wantProxies []string
		wantLimits  map[string]string
	}{
		{
			name:        "repeated flags with comma lists",
			args:        []string{"--trusted-proxy", "10.0.0.1, 10.0.0.2", "--trusted-proxy=::1"},
			wantProxies: []string{"10.0.0.1", "10.0.0.2", "::1"},
			wantLimits:  map[string]string{},
		},
		{
			name:       "repeated rate limits with comma lists",
			args:       []string{"--rate-limit", "/users/track=5/3s, /users/delete=1/s", "--rate-limit", "users.export = 10/minute"},
			wantLimits: map[string]string{"/users/track": "5/3s", "/users/delete": "1/s", "users.export": "10/minute"},
		},
		{
			name:       "later rate-limit flag for the same key wins",
			args:       []string{"--rate-limit", "/users/track=5/3s", "--rate-limit", "/users/track=7/3s"},
			wantLimits: map[string]string{"/users/track": "7/3s"},
		},
		{
			name:        "env list",
			env:         map[string]string{"BRAZEN_TRUSTED_PROXY": "10.0.0.1,10.0.0.2", "BRAZEN_RATE_LIMIT": "/users/track=5/3s,default=1/s"},
			wantProxies: []string{"10.0.0.1", "10.0.0.2"},
			wantLimits:  map[string]string{"/users/track": "5/3s", "default": "1/s"},
		},
		{
			// A flag list is the whole list: appending would make it
			// impossible to trust fewer proxies than the file does.
			name:        "flags replace the file's lists",
			args:        []string{"--config", file, "--trusted-proxy", "192.168.0.0/16", "--rate-limit", "/users/delete=1/s"},
			wantProxies: []string{"192.168.0.0/16"},
			wantLimits:  map[string]string{"/users/delete": "1/s"},
		},
		{
			name:        "flags replace env lists",
			args:        []string{"--trusted-proxy", "192.168.0.0/16", "--rate-limit", "/users/delete=1/s"},
			env:         map[string]string{"BRAZEN_TRUSTED_PROXY": "10.0.0.1", "BRAZEN_RATE_LIMIT": "/users/track=5/3s"},
			wantProxies: []string{"192.168.0.0/16"},
			wantLimits:  map[string]string{"/users/delete": "1/s"},
		},
		{
			name:        "a flag for one list leaves the other",
			args:        []string{"--config", file, "--trusted-proxy", "192.168.0.0/16"},
			wantProxies: []string{"192.168.0.0/16"},
			wantLimits:  map[string]string{"/users/track": "5/3s"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, tt.args, tt.env)
			if !slices.Equal(cfg.TrustedProxies, tt.wantProxies) {
				t.Errorf("TrustedProxies = %q, want %q", cfg.TrustedProxies, tt.wantProxies)
			}
			if !maps.Equal(cfg.RateLimits, tt.wantLimits) {
				t.Errorf("RateLimits = %v, want %v", cfg.RateLimits, tt.wantLimits)
			}
		})
	}
}

// By the documented order (file, then environment) a list from the
// environment should replace the file's, as a flag's does.
func TestEnvReplacesFileList(t *testing.T) {
	file := writeFile(t, `trusted_proxy = ["10.0.0.0/8"]`)
	cfg := mustLoad(t, []string{"--config", file}, map[string]string{"BRAZEN_TRUSTED_PROXY": "10.1.2.3"})
	if want := []string{"10.1.2.3"}; !slices.Equal(cfg.TrustedProxies, want) {
		t.Errorf("TrustedProxies = %q, want %q", cfg.TrustedProxies, want)
	}
}

func TestConfigFileLocation(t *testing.T) {
	fromEnv := writeFile(t, `instance = "ENV-01"`)
	fromFlag := writeFile(t, `instance = "FLAG-01"`)
	if got := mustLoad(t, nil, map[string]string{"BRAZEN_CONFIG": fromEnv}).Instance; got != "ENV-01" {
		t.Errorf("with BRAZEN_CONFIG: Instance = %q, want ENV-01", got)
	}
	if got := mustLoad(t, []string{"--config", fromFlag}, map[string]string{"BRAZEN_CONFIG": fromEnv}).Instance; got != "FLAG-01" {
		t.Errorf("with --config and BRAZEN_CONFIG: Instance = %q, want FLAG-01 (the flag)", got)
	}

	missing := filepath.Join(t.TempDir(), "nope.toml")
	for _, tt := range []struct {
		name       string
		args       []string
		env        map[string]string
		wantSource string
	}{
		{name: "missing via env", env: map[string]string{"BRAZEN_CONFIG": missing}, wantSource: "BRAZEN_CONFIG"},
		{name: "missing via flag", args: []string{"--config", missing}, wantSource: "flag --config"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.args, tt.env)
			se := settingError(t, err, "config")
			if se.Source != tt.wantSource || se.Value != missing {
				t.Errorf("SettingError = %+v, want source %q and value %q", se, tt.wantSource, missing)
			}
		})
	}
}

func TestFileErrors(t *testing.T) {
	for _, tt := range []struct {
		name        string
		body        string
		wantSetting string
		wantText    string // a fragment of the message
	}{
		{name: "unknown key", body: `adress = ":8080"`, wantSetting: "config", wantText: `unknown setting "adress"`},
		// Flags are spelled with dashes, file keys with underscores; mixing
		// them up is a typo like any other.
		{name: "flag spelling", body: `log-level = "debug"`, wantSetting: "config", wantText: `unknown setting "log-level"`},
		{name: "config is not a file key", body: `config = "other.toml"`, wantSetting: "config", wantText: `unknown setting "config"`},
		{name: "unknown table", body: "[server]\naddr = \":1\"", wantSetting: "config", wantText: `unknown setting "server"`},
		{name: "TOML syntax", body: `addr = `, wantSetting: "config"},
		{name: "two values for a scalar", body: `addr = [":1", ":2"]`, wantSetting: "addr", wantText: "takes one value"},
		{name: "boolean", body: `log_level = true`, wantSetting: "log_level", wantText: "unsupported value"},
		{name: "number list", body: `trusted_proxy = [1, 2]`, wantSetting: "trusted_proxy", wantText: "list of strings"},
		{name: "rate limit not a string", body: "[rate_limit]\n\"/users/track\" = 5", wantSetting: "rate_limit", wantText: "/users/track"},
		{name: "bare number duration", body: `shutdown_timeout = 30`, wantSetting: "shutdown_timeout", wantText: "duration"},
		{name: "bad value in file", body: `log_level = "loud"`, wantSetting: "log_level", wantText: "loud"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, []string{"--config", writeFile(t, tt.body)}, nil)
			settingError(t, err, tt.wantSetting)
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not contain %q", err, tt.wantText)
			}
		})
	}
}

func TestInvalidSettings(t *testing.T) {
	for _, tt := range []struct {
		name        string
		args        []string
		env         map[string]string
		wantSetting string
	}{
		{name: "addr without port", args: []string{"--addr", "localhost"}, wantSetting: "addr"},
		{name: "addr bad port", args: []string{"--addr", ":99999"}, wantSetting: "addr"},
		{name: "addr named port", args: []string{"--addr", ":http"}, wantSetting: "addr"},
		{name: "addr empty", args: []string{"--addr="}, wantSetting: "addr"},
		{name: "console_addr bad", args: []string{"--console-addr", "nope"}, wantSetting: "console_addr"},
		{name: "console_addr bad port", env: map[string]string{"BRAZEN_CONSOLE_ADDR": "127.0.0.1:-1"}, wantSetting: "console_addr"},
		{name: "instance with space", args: []string{"--instance", "bad name!"}, wantSetting: "instance"},
		{name: "instance empty", args: []string{"--instance="}, wantSetting: "instance"},
		{name: "instance leading dash", args: []string{"--instance", "-US-01"}, wantSetting: "instance"},
		{name: "log_format xml", args: []string{"--log-format", "xml"}, wantSetting: "log_format"},
		{name: "log_level loud", env: map[string]string{"BRAZEN_LOG_LEVEL": "loud"}, wantSetting: "log_level"},
		{name: "log_level case", args: []string{"--log-level", "INFO"}, wantSetting: "log_level"},
		{name: "trusted_proxy garbage", args: []string{"--trusted-proxy", "10.0.0.0/8,garbage"}, wantSetting: "trusted_proxy"},
		{name: "trusted_proxy host bits", env: map[string]string{"BRAZEN_TRUSTED_PROXY": "10.0.0.1/8"}, wantSetting: "trusted_proxy"},
		{name: "rate_limit without =", args: []string{"--rate-limit", "x"}, wantSetting: "rate_limit"},
		{name: "rate_limit without key", args: []string{"--rate-limit", "=5/3s"}, wantSetting: "rate_limit"},
		{name: "rate_limit zero", args: []string{"--rate-limit", "/users/track=0/1s"}, wantSetting: "rate_limit"},
		{name: "rate_limit from env", env: map[string]string{"BRAZEN_RATE_LIMIT": "x"}, wantSetting: "rate_limit"},
		{name: "shutdown_timeout zero", args: []string{"--shutdown-timeout", "0"}, wantSetting: "shutdown_timeout"},
		{name: "shutdown_timeout negative", args: []string{"--shutdown-timeout", "-1s"}, wantSetting: "shutdown_timeout"},
		{name: "shutdown_timeout no unit", args: []string{"--shutdown-timeout", "15"}, wantSetting: "shutdown_timeout"},
		{name: "key_refresh too short", args: []string{"--key-refresh", "1ms"}, wantSetting: "key_refresh"},
		{name: "key_refresh bad", env: map[string]string{"BRAZEN_KEY_REFRESH": "often"}, wantSetting: "key_refresh"},
		{name: "store mysql", args: []string{"--store", "mysql://x"}, wantSetting: "store"},
		{name: "store sqlite without path", args: []string{"--store", "sqlite://"}, wantSetting: "store"},
		{name: "store bare path", args: []string{"--store", "/var/lib/brazen.db"}, wantSetting: "store"},
		{name: "data empty", args: []string{"--data="}, wantSetting: "data"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.args, tt.env)
			se := settingError(t, err, tt.wantSetting)
			// The message names the setting, so the operator knows what to fix.
			if !strings.Contains(se.Error(), tt.wantSetting) {
				t.Errorf("message %q does not name %s", se, tt.wantSetting)
			}
		})
	}
}

func TestSettingSources(t *testing.T) {
	for _, tt := range []struct {
		name       string
		args       []string
		env        map[string]string
		wantSource string
	}{
		{name: "flag", args: []string{"--shutdown-timeout", "soon"}, wantSource: "flag --shutdown-timeout"},
		{name: "env", env: map[string]string{"BRAZEN_SHUTDOWN_TIMEOUT": "soon"}, wantSource: "environment BRAZEN_SHUTDOWN_TIMEOUT"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.args, tt.env)
			se := settingError(t, err, "shutdown_timeout")
			if se.Source != tt.wantSource || se.Value != "soon" {
				t.Errorf("SettingError = %+v, want source %q, value soon", se, tt.wantSource)
			}
			if !strings.Contains(se.Error(), tt.wantSource) {
				t.Errorf("message %q does not say where the value came from", se)
			}
		})
	}
}

func TestValidSettings(t *testing.T) {
	for _, tt := range []struct {
		name  string
		args  []string
		check func(config.Config) bool
	}{
		{name: "empty console_addr disables it", args: []string{"--console-addr="}, check: func(c config.Config) bool { return c.ConsoleAddr == "" }},
		{name: "port 0", args: []string{"--addr", ":0"}, check: func(c config.Config) bool { return c.Addr == ":0" }},
		{name: "IPv6 addr", args: []string{"--addr", "[::1]:8080"}, check: func(c config.Config) bool { return c.Addr == "[::1]:8080" }},
		{name: "instance with dash and underscore", args: []string{"--instance", "us_east-01"}, check: func(c config.Config) bool { return c.Instance == "us_east-01" }},
		{name: "key_refresh at the minimum", args: []string{"--key-refresh", "100ms"}, check: func(c config.Config) bool { return c.KeyRefresh == 100*time.Millisecond }},
		{name: "lease_ttl", args: []string{"--lease-ttl", "2s"}, check: func(c config.Config) bool { return c.LeaseTTL == 2*time.Second }},
		{name: "postgres store", args: []string{"--store", "postgres://u@db/brazen"}, check: func(c config.Config) bool { return c.Store == "postgres://u@db/brazen" }},
		{name: "IPv6 trusted proxy", args: []string{"--trusted-proxy", "2001:db8::/32"}, check: func(c config.Config) bool { return slices.Equal(c.TrustedProxies, []string{"2001:db8::/32"}) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, tt.args, nil)
			if !tt.check(cfg) {
				t.Errorf("Load(%q) = %+v", tt.args, cfg)
			}
		})
	}
}

func TestBindSubset(t *testing.T) {
	// Subcommands such as `brazen keys create` take only the store settings.
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	config.Bind(fs, "data", "store")
	if err := fs.Parse([]string{"--addr", ":1"}); err == nil {
		t.Error("a subset flag set accepted --addr")
	}
	fs = flag.NewFlagSet("t", flag.ContinueOnError)
	f := config.Bind(fs, "data", "store")
	if err := fs.Parse([]string{"--data", "/srv/brazen"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := f.Load(func(k string) string {
		return map[string]string{"BRAZEN_ADDR": "not an address", "BRAZEN_DATA": "/ignored"}[k]
	})
	if err != nil {
		t.Fatalf("Load = %v; the environment of an unbound setting must not be read", err)
	}
	if cfg.Data != "/srv/brazen" || cfg.Addr != config.Default().Addr {
		t.Errorf("Load = %+v, want data from the flag and the default addr", cfg)
	}

	defer func() {
		if recover() == nil {
			t.Error("Bind with an unknown setting did not panic")
		}
	}()
	config.Bind(flag.NewFlagSet("t", flag.ContinueOnError), "adress")
}

func TestStoreURL(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{name: "default", want: "sqlite://brazen-data/brazen.db"},
		{name: "absolute data dir", args: []string{"--data", "/var/lib/brazen"}, want: "sqlite:///var/lib/brazen/brazen.db"},
		{name: "data dir cleaned", args: []string{"--data", "./x//y/"}, want: "sqlite://x/y/brazen.db"},
		{name: "store wins over data", args: []string{"--data", "/var/lib/brazen", "--store", "sqlite:///tmp/b.db"}, want: "sqlite:///tmp/b.db"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, tt.args, nil)
			if got := cfg.StoreURL(); got != tt.want {
				t.Errorf("StoreURL() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseStoreURL(t *testing.T) {
	for _, tt := range []struct {
		in                  string
		wantScheme, wantLoc string
		wantErr             string
	}{
		{in: "sqlite:///var/lib/brazen/brazen.db", wantScheme: "sqlite", wantLoc: "/var/lib/brazen/brazen.db"},
		{in: "sqlite://brazen-data/brazen.db", wantScheme: "sqlite", wantLoc: "brazen-data/brazen.db"},
		{in: "postgres://u:p@db:5432/brazen?sslmode=disable", wantScheme: "postgres", wantLoc: "postgres://u:p@db:5432/brazen?sslmode=disable"},
		{in: "postgresql://db/brazen", wantScheme: "postgres", wantLoc: "postgresql://db/brazen"},
		{in: "sqlite://", wantErr: "needs a file path"},
		{in: "mysql://x", wantErr: `unknown store scheme "mysql"`},
		{in: "brazen.db", wantErr: "must be a URL"},
		{in: "", wantErr: "must be a URL"},
		{in: "sqlite:/x.db", wantErr: "must be a URL"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			scheme, loc, err := config.ParseStoreURL(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseStoreURL(%q) = %q, %q, %v; want an error containing %q", tt.in, scheme, loc, err, tt.wantErr)
				}
				return
			}
			if err != nil || scheme != tt.wantScheme || loc != tt.wantLoc {
				t.Fatalf("ParseStoreURL(%q) = %q, %q, %v; want %q, %q", tt.in, scheme, loc, err, tt.wantScheme, tt.wantLoc)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	c := config.Default()
	c.RateLimits = map[string]string{"/users/track": "5/3s", "default": "oops"}
	_, err := c.Limits()
	se := settingError(t, err, "rate_limit")
	if se.Value != "default=oops" {
		t.Errorf("Value = %q, want the bad entry default=oops", se.Value)
	}
}

// settingError asserts err is a *config.SettingError for setting.
func settingError(t *testing.T, err error, setting string) *config.SettingError {
	t.Helper()
	var se *config.SettingError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v (%T), want *config.SettingError for %s", err, err, setting)
	}
	if se.Setting != setting {
		t.Fatalf("SettingError for %q (%v), want %q", se.Setting, se, setting)
	}
	return se
}

// A config file is outside input; decoding it must fail cleanly, never panic,
// and anything it accepts must validate.
func FuzzLoadFile(f *testing.F) {
	for _, s := range []string{
		`addr = ":9001"`,
		"trusted_proxy = [\"10.0.0.0/8\"]\n[rate_limit]\n\"/users/track\" = \"5/3s\"",
		`rate_limit = "a=1/s,b=2/m"`,
		`addr = [":1", ":2"]`,
		`shutdown_timeout = 30`,
		`log_level = 1.5`,
		"[rate_limit.x]\ny = 1",
		`trusted_proxy = [[1]]`,
		`x = 1`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		path := filepath.Join(t.TempDir(), "f.toml")
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fl := config.Bind(fs)
		if err := fs.Parse([]string{"--config", path}); err != nil {
			t.Fatal(err)
		}
		cfg, err := fl.Load(func(string) string { return "" })
		if err != nil {
			var se *config.SettingError
			if !errors.As(err, &se) {
				t.Fatalf("Load = %v (%T), want a *SettingError", err, err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("Load accepted a config that Validate rejects: %v", err)
		}
	})
}

// TestValidateNamesTheSource: a value that parses but is invalid is
// reported with where it came from.
func TestValidateNamesTheSource(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "brazen.toml")
	if err := os.WriteFile(file, []byte("log_format = \"xml\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		setting string
		source  string
	}{
		{"flag", []string{"--addr", "bad"}, nil, "addr", "flag --addr"},
		{"environment", nil, map[string]string{"BRAZEN_ADDR": "bad"}, "addr", "environment BRAZEN_ADDR"},
		{"file", []string{"--config", file}, nil, "log_format", "file " + file},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			f := config.Bind(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			_, err := f.Load(func(k string) string { return tt.env[k] })
			se, ok := err.(*config.SettingError)
			if !ok || se.Setting != tt.setting || se.Source != tt.source {
				t.Fatalf("err = %#v, want setting %s from %s", err, tt.setting, tt.source)
			}
		})
	}
}

// TestSettingErrorHidesPassword: a store URL's password never reaches an
// error message (they go to stderr and logs).
func TestSettingErrorHidesPassword(t *testing.T) {
	e := &config.SettingError{Setting: "store", Value: "postgres://brazen:s3cret@db/brazen", Reason: "bad"}
	if msg := e.Error(); strings.Contains(msg, "s3cret") || !strings.Contains(msg, "brazen:xxxxx@db") {
		t.Errorf("SettingError = %q, want the password hidden", msg)
	}
	if got := config.Redact("sqlite:///var/lib/brazen.db"); got != "sqlite:///var/lib/brazen.db" {
		t.Errorf("Redact changed a URL without a password: %q", got)
	}
	got := config.Redact("postgres://brazen@db/brazen?sslmode=require&password=s3cret&sslpassword=k3y&pool_max_conns=8")
	if want := "postgres://brazen@db/brazen?sslmode=require&password=xxxxx&sslpassword=xxxxx&pool_max_conns=8"; got != want {
		t.Errorf("Redact(password in the query) = %q, want %q", got, want)
	}
}

func TestSendRates(t *testing.T) {
	cfg := mustLoad(t, []string{"--send-rate", "email=100/second", "--send-rate", "webhook=5/minute"}, nil)
	limits, err := cfg.SendLimits()
	if err != nil || len(limits) != 2 || limits["email"].N != 100 || limits["webhook"].Window != time.Minute {
		t.Fatalf("SendLimits = %v, %v", limits, err)
	}
	for _, bad := range []string{"fax=1/second", "email=0/second", "email"} {
		cfg, err := load(t, []string{"--send-rate", bad}, nil)
		if err == nil {
			err = cfg.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), "send") {
			t.Errorf("--send-rate %s: %v, want an error naming the setting", bad, err)
		}
	}
}

// TestPushSettings: an APNs key needs its id, team and topic; push-app
// takes APP_ID=ios|android, from flags or a file's table.
func TestPushSettings(t *testing.T) {
	dir := t.TempDir()
	load := func(args ...string) (config.Config, error) {
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		f := config.Bind(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return f.Load(func(string) string { return "" })
	}
	if _, err := load("--data", dir, "--apns-key-file", "k.p8"); err == nil || !strings.Contains(err.Error(), "apns_key_id") {
		t.Errorf("a key without its id: %v", err)
	}
	if _, err := load("--data", dir, "--apns-key-file", "k.p8", "--apns-key-id", "K", "--apns-team-id", "T"); err == nil || !strings.Contains(err.Error(), "apns_topic") {
		t.Errorf("a key without a topic: %v", err)
	}
	c, err := load("--data", dir, "--push-app", "app1=ios", "--push-app", "app2=android")
	if err != nil || c.PushApps["app1"] != "ios" || c.PushApps["app2"] != "android" {
		t.Errorf("push-app: %v %v", c.PushApps, err)
	}
	if _, err := load("--data", dir, "--push-app", "app1=windows"); err == nil {
		t.Error("push-app accepted a platform Brazen does not push to")
	}
}
