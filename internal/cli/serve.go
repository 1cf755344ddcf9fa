package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ramphq/ramp/internal/broker"
	"github.com/ramphq/ramp/internal/control"
	"github.com/ramphq/ramp/internal/httpapi"
	"github.com/ramphq/ramp/internal/store"
	"github.com/ramphq/ramp/internal/store/postgres"
	"github.com/ramphq/ramp/internal/store/sqlite"
)

func init() {
	subcommands = append(subcommands, newServeCmd)
}

// serveConfig is ramp serve's configuration. Each field comes from, in order of precedence, its command-line
// flag, its RAMP_* environment variable, the config file, and its default.
type serveConfig struct {
	Addr         string `yaml:"addr"`
	Data         string `yaml:"data"`
	DatabaseURL  string `yaml:"database-url"`
	MaxBody      int64  `yaml:"max-body"`
	LogFormat    string `yaml:"log-format"`
	LogLevel     string `yaml:"log-level"`
	AdminToken   string `yaml:"admin-token"`
	ShutdownWait string `yaml:"shutdown-timeout"`

	RateLimit float64 `yaml:"rate-limit"` // per key, on OFREP and /sdk/v1/flags (docs/delivery.md)
	RateBurst int     `yaml:"rate-burst"`
}

func newServeCmd(e *env) *cobra.Command {
	var configFile string
	cfg := serveConfig{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the ramp server: admin API, flag delivery and the control plane",
		Long: `serve runs ramp's server on --addr, keeping flags in embedded SQLite under --data
or in PostgreSQL (--database-url) when several replicas share one database.

Configuration precedence: command-line flags, then RAMP_* environment variables
(RAMP_ADDR, RAMP_DATA, RAMP_DATABASE_URL, RAMP_MAX_BODY, RAMP_LOG_FORMAT,
RAMP_LOG_LEVEL, RAMP_ADMIN_TOKEN, RAMP_SHUTDOWN_TIMEOUT, RAMP_RATE_LIMIT,
RAMP_RATE_BURST), then the YAML config
file (--config or RAMP_CONFIG), then the defaults.

On an empty store it creates project "default" with environments development,
staging and production, and a first admin token: RAMP_ADMIN_TOKEN if set,
otherwise a generated one written to DATA/admin-token (mode 0600).`,
		Example: `  ramp serve
  ramp serve --addr 127.0.0.1:9000 --data /var/lib/ramp
  RAMP_DATABASE_URL=postgres://ramp@db/ramp ramp serve --addr :8080`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := resolveConfig(cmd.Flags(), &cfg, configFile); err != nil {
				return err
			}
			return serve(e, cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Addr, "addr", "127.0.0.1:8080", "address to listen on (host:port; port 0 picks a free one)")
	f.StringVar(&cfg.Data, "data", "./ramp-data", "data directory: the SQLite database and the generated admin token")
	f.StringVar(&cfg.DatabaseURL, "database-url", "", "PostgreSQL URL (postgres://...); when set, flags live there instead of SQLite")
	f.Int64Var(&cfg.MaxBody, "max-body", httpapi.DefaultMaxBody, "largest request body accepted, in bytes")
	f.StringVar(&cfg.LogFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&cfg.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&cfg.AdminToken, "admin-token", "", "token for the first admin key on an empty store (prefer RAMP_ADMIN_TOKEN)")
	f.StringVar(&cfg.ShutdownWait, "shutdown-timeout", "10s", "how long to wait for requests in flight on shutdown")
	f.Float64Var(&cfg.RateLimit, "rate-limit", 0, "requests per second each server or client key may make to OFREP and /sdk/v1/flags (0: unlimited)")
	f.IntVar(&cfg.RateBurst, "rate-burst", 0, "requests a key may make at once above --rate-limit (0: the rate, at least 1)")
	f.StringVar(&configFile, "config", "", "YAML config file (keys as the long flag names)")
	return cmd
}

// resolveConfig applies environment variables and the config file to every flag the user did not set.
func resolveConfig(fs *pflag.FlagSet, cfg *serveConfig, file string) error {
	if file == "" {
		file = os.Getenv("RAMP_CONFIG")
	}
	fromFile := map[string]any{}
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("--config: %w", err)
		}
		if err := yaml.Unmarshal(data, &fromFile); err != nil {
			return fmt.Errorf("%s: %s", file, yaml.FormatError(err, false, true))
		}
		for k := range fromFile {
			if f := fs.Lookup(k); f == nil || k == "config" {
				return fmt.Errorf("%s: unknown setting %q", file, k)
			}
		}
	}
	var problems []string
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed || f.Name == "config" {
			return
		}
		envName := "RAMP_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(envName); ok {
			if err := f.Value.Set(v); err != nil {
				problems = append(problems, fmt.Sprintf("%s=%q: %v", envName, v, err))
			}
			return
		}
		if v, ok := fromFile[f.Name]; ok {
			if err := f.Value.Set(fmt.Sprint(v)); err != nil {
				problems = append(problems, fmt.Sprintf("%s: %s: %v", file, f.Name, err))
			}
		}
	})
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %q is not debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: %q is not text or json", format)
}

func openStore(ctx context.Context, cfg serveConfig) (store.Store, string, error) {
	if cfg.DatabaseURL != "" {
		st, err := postgres.Open(ctx, cfg.DatabaseURL)
		if err != nil {
			return nil, "", fmt.Errorf("--database-url: %w", err)
		}
		return st, "postgres", nil
	}
	st, err := sqlite.Open(ctx, cfg.Data)
	if err != nil {
		return nil, "", fmt.Errorf("--data %s: %w", cfg.Data, err)
	}
	return st, "sqlite " + filepath.Join(cfg.Data, "ramp.db"), nil
}

func serve(e *env, cfg serveConfig) error {
	log, err := newLogger(e.stderr, cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		return err
	}
	wait, err := time.ParseDuration(cfg.ShutdownWait)
	if err != nil || wait < 0 {
		return fmt.Errorf("--shutdown-timeout: %q is not a duration", cfg.ShutdownWait)
	}
	if cfg.MaxBody < 1024 {
		return fmt.Errorf("--max-body: %d bytes is too small (at least 1024)", cfg.MaxBody)
	}
	ctx := e.ctx
	st, where, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()

	ctl := control.New(control.Options{Store: st, Broker: broker.New(64), Logger: log})
	if err := bootstrap(ctx, e, log, ctl, cfg); err != nil {
		return err
	}

	if cfg.RateLimit < 0 || cfg.RateBurst < 0 {
		return fmt.Errorf("--rate-limit and --rate-burst cannot be negative")
	}
	api := httpapi.New(httpapi.Options{Control: ctl, Logger: log, MaxBody: cfg.MaxBody, Version: Version,
		Delivery: httpapi.DeliveryOptions{RateLimit: cfg.RateLimit, RateBurst: cfg.RateBurst},
		Ready: func() error {
			c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			return st.View(c, func(tx store.Tx) error { _, err := tx.Projects(); return err })
		}})
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	srv := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(api.CloseStreams) // SDK streams never go idle: end them so Shutdown can finish
	url := "http://" + ln.Addr().String()
	log.Info("ramp serving", "url", url, "store", where, "version", Version)
	fmt.Fprintf(e.stdout, "ramp serving on %s (store: %s)\n", url, where)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", wait.String())
	sctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown incomplete", "err", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// bootstrap seeds an empty store. A generated admin token is written to DATA/admin-token before it is
// registered, so a crash in between can never leave a key that nobody has.
func bootstrap(ctx context.Context, e *env, log *slog.Logger, ctl *control.Service, cfg serveConfig) error {
	token, path := cfg.AdminToken, ""
	if token == "" {
		secret := control.NewAdminSecret()
		var err error
		if path, err = writeAdminToken(cfg.Data, secret); err != nil {
			return fmt.Errorf("writing the admin token: %w", err)
		}
		token = secret
	}
	_, created, err := ctl.Bootstrap(ctx, token)
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	switch {
	case path != "" && created:
		log.Info("created the first admin token", "file", path)
		fmt.Fprintf(e.stderr, "ramp: created the first admin token; it is in %s (keep it safe)\n", path)
	case path != "":
		os.Remove(path + ".new")
	case created:
		log.Info("registered RAMP_ADMIN_TOKEN as the first admin token")
	}
	return nil
}

// writeAdminToken stores a generated admin token in DATA/admin-token, readable by the owner only.
func writeAdminToken(dir, secret string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "admin-token")
	if _, err := os.Stat(path); err == nil {
		path += ".new" // never overwrite a token an operator may still rely on
	}
	tmp := path + ".tmp." + strconv.Itoa(os.Getpid())
	if err := os.WriteFile(tmp, []byte(secret+"\n"), 0o600); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return "", err
	}
	return path, nil
}
