package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/app"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/loadtest"
	"github.com/parleyhq/parley/internal/store"
)

const usage = `Usage: parley [command] [flags]

Commands:
  serve         run Parley (the default): API, webhooks, workers
  migrate       apply database migrations and exit
  create-user   add a user:   parley create-user --email E --password P [--role admin|supervisor|agent]
  create-token  make an API token for a user: parley create-token --email E
  load          load-test BYOC ingest (see parley load --help)
  sandbox       with --demo running: play a customer on a fake platform
                  parley sandbox send --channel messenger --from alice --text "Hello"
                  parley sandbox send --channel messenger --from alice --tap <option id>
                  parley sandbox phone --channel messenger --to alice

Run 'parley serve --help' for the server's flags. Every flag has an
environment variable (PARLEY_ADDR, PARLEY_DATA_DIR, PARLEY_DATABASE_URL, …).
`

// run is main without the process: tests call it directly.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cmd := "serve"
	rest := args[1:]
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		cmd, rest = rest[0], rest[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		return migrate(ctx, rest, getenv, stdout, stderr)
	case "create-user":
		return createUser(ctx, rest, getenv, stdout, stderr)
	case "create-token":
		return createToken(ctx, rest, getenv, stdout, stderr)
	case "sandbox":
		return sandboxCommand(ctx, rest, getenv, stdout, stderr)
	case "load":
		return loadtest.Command(ctx, rest, stdout, stderr, loadTarget(getenv, stderr))
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "parley: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
}

func env(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	if f := getenv(name + "_FILE"); f != "" {
		if b, err := os.ReadFile(f); err == nil {
			return strings.TrimSpace(string(b))
		}
	}
	return def
}

func envInt(getenv func(string) string, name string, def int) int {
	if n, err := strconv.Atoi(getenv(name)); err == nil {
		return n
	}
	return def
}

func envDuration(getenv func(string) string, name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(getenv(name)); err == nil {
		return d
	}
	return def
}

// commonFlags are the flags every command that opens the database shares.
func commonFlags(fs *flag.FlagSet, getenv func(string) string, cfg *app.Config) {
	fs.StringVar(&cfg.DataDir, "data", env(getenv, "PARLEY_DATA_DIR", "parley-data"), "data directory: SQLite database, secret key, attachments (PARLEY_DATA_DIR)")
	fs.StringVar(&cfg.DatabaseURL, "database-url", env(getenv, "PARLEY_DATABASE_URL", ""), "postgres://… to use PostgreSQL instead of SQLite (PARLEY_DATABASE_URL)")
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg app.Config
	commonFlags(fs, getenv, &cfg)
	fs.StringVar(&cfg.Addr, "addr", env(getenv, "PARLEY_ADDR", "127.0.0.1:8080"), "listen address (PARLEY_ADDR)")
	fs.StringVar(&cfg.PublicURL, "public-url", env(getenv, "PARLEY_PUBLIC_URL", ""), "URL platforms use to reach this server; default http://<addr> (PARLEY_PUBLIC_URL)")
	fs.BoolVar(&cfg.Demo, "demo", env(getenv, "PARLEY_DEMO", "") == "true", "fill an empty database with a demo workspace and turn on the sandbox (PARLEY_DEMO=true)")
	fs.BoolVar(&cfg.AllowPrivateFetch, "allow-private-fetch", env(getenv, "PARLEY_ALLOW_PRIVATE_FETCH", "") == "true",
		"let attachment URLs point at private or loopback addresses (local testing only) (PARLEY_ALLOW_PRIVATE_FETCH=true)")
	fs.BoolVar(&cfg.ReplyKeepsStatus, "reply-keeps-status", env(getenv, "PARLEY_REPLY_KEEPS_STATUS", "") == "true",
		"an agent reply leaves the case's status alone instead of moving it to pending (PARLEY_REPLY_KEEPS_STATUS=true)")
	logLevel := fs.String("log-level", env(getenv, "PARLEY_LOG_LEVEL", "info"), "debug, info, warn or error (PARLEY_LOG_LEVEL)")
	fs.IntVar(&cfg.MaxAttempts, "send-attempts", envInt(getenv, "PARLEY_SEND_ATTEMPTS", 8), "delivery attempts before an outbound message fails (PARLEY_SEND_ATTEMPTS)")
	fs.DurationVar(&cfg.BaseBackoff, "send-backoff", envDuration(getenv, "PARLEY_SEND_BACKOFF", 2*time.Second), "first retry delay, doubled per attempt with jitter (PARLEY_SEND_BACKOFF)")
	fs.DurationVar(&cfg.MaxBackoff, "send-max-backoff", envDuration(getenv, "PARLEY_SEND_MAX_BACKOFF", 10*time.Minute), "largest retry delay (PARLEY_SEND_MAX_BACKOFF)")
	fs.DurationVar(&cfg.Lease, "send-lease", envDuration(getenv, "PARLEY_SEND_LEASE", 2*time.Minute), "how long a node holds a delivery before another may retry it (PARLEY_SEND_LEASE)")
	fs.DurationVar(&cfg.Poll, "send-poll", envDuration(getenv, "PARLEY_SEND_POLL", time.Second), "how often to look for due deliveries (PARLEY_SEND_POLL)")
	fs.DurationVar(&cfg.RoutingTick, "routing-tick", envDuration(getenv, "PARLEY_ROUTING_TICK", time.Second), "how often the router and SLA checker look at every workspace on their own; new cases, rejects and freed capacity wake them at once (PARLEY_ROUTING_TICK)")
	fs.DurationVar(&cfg.CallbackTimeout, "callback-timeout", envDuration(getenv, "PARLEY_CALLBACK_TIMEOUT", 30*time.Second), "timeout of one BYOC callback (PARLEY_CALLBACK_TIMEOUT)")
	fs.StringVar(&cfg.EmailSMTPAddr, "email-smtp-addr", env(getenv, "PARLEY_EMAIL_SMTP_ADDR", ""), "listen address of the SMTP receiver for email points of contact that receive by SMTP, e.g. :2525 (PARLEY_EMAIL_SMTP_ADDR; empty: off)")
	fs.StringVar(&cfg.Hostname, "hostname", env(getenv, "PARLEY_HOSTNAME", ""), "this server's host name in SMTP greetings (PARLEY_HOSTNAME)")
	debugAddr := fs.String("debug-addr", env(getenv, "PARLEY_DEBUG_ADDR", ""), "serve Go's pprof profiles on this separate address, e.g. 127.0.0.1:6060 (PARLEY_DEBUG_ADDR)")
	maxBody := fs.Int64("max-body", int64(envInt(getenv, "PARLEY_MAX_BODY_BYTES", 32<<20)), "largest request body in bytes (PARLEY_MAX_BODY_BYTES)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	cfg.MaxBodyBytes = *maxBody
	cfg.AdminEmail = env(getenv, "PARLEY_ADMIN_EMAIL", "")
	cfg.AdminPassword = env(getenv, "PARLEY_ADMIN_PASSWORD", "")
	cfg.Getenv = getenv
	log := newLogger(stderr, *logLevel)
	a, err := app.New(ctx, cfg, log, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "parley: %v\n", err)
		return 1
	}
	if *debugAddr != "" {
		go servePprof(*debugAddr, log)
	}
	fmt.Fprintf(stdout, "Parley is listening on %s\n", a.URL())
	if err := a.Run(ctx); err != nil {
		fmt.Fprintf(stderr, "parley: %v\n", err)
		return 1
	}
	return 0
}

func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg app.Config
	commonFlags(fs, getenv, &cfg)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	db, err := store.Open(ctx, store.Options{URL: cfg.DatabaseURL, DataDir: cfg.DataDir})
	if err != nil {
		fmt.Fprintf(stderr, "parley: %v\n", err)
		return 1
	}
	db.Close()
	fmt.Fprintln(stdout, "migrations applied")
	return 0
}

func withAccounts(ctx context.Context, cfg app.Config, stderr io.Writer, f func(*account.Service, *store.DB) error) int {
	db, err := store.Open(ctx, store.Options{URL: cfg.DatabaseURL, DataDir: cfg.DataDir})
	if err != nil {
		fmt.Fprintf(stderr, "parley: %v\n", err)
		return 1
	}
	defer db.Close()
	if err := f(account.New(db, time.Now), db); err != nil {
		fmt.Fprintf(stderr, "parley: %v\n", err)
		return 1
	}
	return 0
}

func createUser(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("create-user", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg app.Config
	commonFlags(fs, getenv, &cfg)
	email := fs.String("email", "", "email (login)")
	name := fs.String("name", "", "display name")
	role := fs.String("role", "agent", "admin, supervisor or agent")
	password := fs.String("password", env(getenv, "PARLEY_NEW_USER_PASSWORD", ""), "password, at least 8 characters (or PARLEY_NEW_USER_PASSWORD)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	return withAccounts(ctx, cfg, stderr, func(acc *account.Service, db *store.DB) error {
		if _, _, err := acc.Bootstrap(ctx, *email, *password); err != nil {
			return err
		}
		ws, err := acc.FirstWorkspace(ctx)
		if err != nil {
			return err
		}
		u, err := acc.CreateUser(ctx, db, ws.ID, account.NewUser{Email: *email, Name: *name, Role: account.Role(*role), Password: *password})
		if errors.Is(err, account.ErrEmailTaken) {
			// Bootstrap just made this user the first admin.
			fmt.Fprintf(stdout, "user %s exists\n", *email)
			return nil
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created %s %s (%s)\n", u.Role, u.Email, u.ID)
		return nil
	})
}

func createToken(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("create-token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg app.Config
	commonFlags(fs, getenv, &cfg)
	email := fs.String("email", "", "the user's email")
	name := fs.String("name", "cli", "token name")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	return withAccounts(ctx, cfg, stderr, func(acc *account.Service, db *store.DB) error {
		var id, ws string
		if err := db.QueryRowContext(ctx, `SELECT id, workspace_id FROM users WHERE email = ?`, strings.ToLower(*email)).Scan(&id, &ws); err != nil {
			return fmt.Errorf("no user %s", *email)
		}
		u, err := acc.GetUser(ctx, ws, id)
		if err != nil {
			return err
		}
		token, _, err := acc.CreateToken(ctx, &u, *name, 0)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, token)
		return nil
	})
}

// servePprof exposes profiles on a separate (normally loopback) address,
// never on the public listener.
func servePprof(addr string, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		log.Error("debug listener", "err", err)
	}
}

// loadTarget starts a real Parley (SQLite in a temporary directory) with a
// BYOC point of contact for `parley load`.
func loadTarget(getenv func(string) string, stderr io.Writer) loadtest.TargetStarter {
	return func(ctx context.Context, dataDir string) (loadtest.Target, error) {
		cfg := app.Config{Addr: "127.0.0.1:0", DataDir: dataDir, DatabaseURL: getenv("PARLEY_LOAD_DATABASE_URL"),
			AdminEmail: "load@localhost", AdminPassword: "load-test-password", Getenv: func(string) string { return "" }}
		runCtx, cancel := context.WithCancel(context.Background())
		a, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), io.Discard)
		if err != nil {
			cancel()
			return loadtest.Target{}, err
		}
		ws, err := a.Accounts.FirstWorkspace(ctx)
		if err != nil {
			cancel()
			return loadtest.Target{}, err
		}
		poc, gen, err := a.Points.Create(ctx, ws.ID, "", channel.NewPointOfContact{Type: "byoc", Name: "load",
			Settings: map[string]any{"callback_url": "http://127.0.0.1:9/unused"}})
		if err != nil {
			cancel()
			return loadtest.Target{}, err
		}
		done := make(chan error, 1)
		go func() { done <- a.Run(runCtx) }()
		return loadtest.Target{InboundURL: a.URL() + "/api/v1/byoc/" + poc.ID + "/messages", Token: gen["token"],
			Close: func() error { cancel(); return <-done }}, nil
	}
}

// sandboxCommand talks to a Parley running with --demo: it makes the local
// fake platform deliver a customer's message, or shows what the customer
// has received.
func sandboxCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "send" && args[0] != "phone") {
		fmt.Fprintln(stderr, "usage: parley sandbox send|phone --channel C (--from ID --text T [--tap OPTION] | --to ID) [--url URL]")
		return 2
	}
	verb := args[0]
	fs := flag.NewFlagSet("sandbox "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", env(getenv, "PARLEY_URL", "http://127.0.0.1:8080"), "the running Parley (PARLEY_URL)")
	ch := fs.String("channel", "whatsapp", "the channel type: whatsapp, messenger, instagram_direct, telegram, viber, slack, teams, x_dm, google_business_messages, line, apple_messages, sms or email")
	from := fs.String("from", "", "send: the customer's id on the platform (a phone number on WhatsApp)")
	name := fs.String("name", "", "send: the customer's display name")
	text := fs.String("text", "", "send: what the customer writes")
	tap := fs.String("tap", "", "send: the id of a button or list row the customer taps")
	to := fs.String("to", "", "phone: the customer whose received messages to show")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	client := &http.Client{Timeout: 30 * time.Second}
	var req *http.Request
	if verb == "send" {
		if *from == "" || (*text == "" && *tap == "") {
			fmt.Fprintln(stderr, "parley sandbox send needs --from and --text or --tap")
			return 2
		}
		body, _ := json.Marshal(map[string]string{"from": *from, "name": *name, "text": *text, "choice_id": *tap})
		req, _ = http.NewRequestWithContext(ctx, "POST", strings.TrimRight(*base, "/")+"/sandbox/"+*ch+"/customer", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
	} else {
		if *to == "" {
			fmt.Fprintln(stderr, "parley sandbox phone needs --to")
			return 2
		}
		req, _ = http.NewRequestWithContext(ctx, "GET", strings.TrimRight(*base, "/")+"/sandbox/"+*ch+"/phone?to="+url.QueryEscape(*to), nil)
	}
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "parley sandbox: %v (is Parley running with --demo?)\n", err)
		return 1
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	var pretty bytes.Buffer
	if json.Indent(&pretty, out, "", "  ") == nil {
		out = pretty.Bytes()
	}
	fmt.Fprintln(stdout, strings.TrimSpace(string(out)))
	if resp.StatusCode/100 != 2 {
		return 1
	}
	return 0
}
