// Package app builds every component of Parley from its dependencies and
// runs them: the one place where the product is wired together.
package app

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
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/automation"
	"github.com/parleyhq/parley/internal/blob"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/apple"
	"github.com/parleyhq/parley/internal/channel/byoc"
	"github.com/parleyhq/parley/internal/channel/chat"
	"github.com/parleyhq/parley/internal/channel/email"
	"github.com/parleyhq/parley/internal/channel/gbm"
	"github.com/parleyhq/parley/internal/channel/instagram"
	"github.com/parleyhq/parley/internal/channel/line"
	"github.com/parleyhq/parley/internal/channel/messenger"
	"github.com/parleyhq/parley/internal/channel/slack"
	"github.com/parleyhq/parley/internal/channel/sms"
	"github.com/parleyhq/parley/internal/channel/teams"
	"github.com/parleyhq/parley/internal/channel/telegram"
	"github.com/parleyhq/parley/internal/channel/viber"
	"github.com/parleyhq/parley/internal/channel/whatsapp"
	"github.com/parleyhq/parley/internal/channel/xdm"
	"github.com/parleyhq/parley/internal/inbox"
	"github.com/parleyhq/parley/internal/ingress"
	"github.com/parleyhq/parley/internal/netguard"
	"github.com/parleyhq/parley/internal/outbox"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/routing"
	"github.com/parleyhq/parley/internal/script"
	"github.com/parleyhq/parley/internal/secret"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/ui"
	"github.com/parleyhq/parley/internal/web"
)

// Config is everything Parley can be told at start.
type Config struct {
	Addr          string // listen address, e.g. 127.0.0.1:8080 (":0" picks a port)
	DataDir       string // SQLite database, secret key, attachments
	DatabaseURL   string // postgres://… to use PostgreSQL
	PublicURL     string // how platforms reach us; default http://<addr>
	AdminEmail    string
	AdminPassword string
	Demo          bool
	// AllowPrivateFetch lets attachment URLs point at private addresses
	// (local testing and the sandbox only).
	AllowPrivateFetch bool
	// Outbox tuning.
	MaxAttempts int
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	Lease       time.Duration
	Poll        time.Duration
	// MaxBodyBytes bounds request bodies.
	MaxBodyBytes int64
	// MaxAttachmentBytes bounds one attachment from the API or the UI's
	// composer (0: 25 MiB).
	MaxAttachmentBytes int64
	// CallbackTimeout bounds one BYOC callback.
	CallbackTimeout time.Duration
	// ReplyKeepsStatus turns off "an agent reply moves the case to
	// pending" (the reference product's default).
	ReplyKeepsStatus bool
	// EmailSMTPAddr is where Parley's own SMTP receiver listens for
	// forwarded mail (empty: off).
	EmailSMTPAddr string
	// EmailPoll is how often mailboxes without IDLE are polled (default 30 s).
	EmailPoll time.Duration
	// Hostname names this server in SMTP greetings and Message-IDs.
	Hostname string
	// BcryptCost (tests lower it).
	BcryptCost int
	// RoutingTick is how often the router and the SLA checker look at
	// every workspace on their own (default 1 s).
	RoutingTick time.Duration
	Getenv      func(string) string
	Now         func() time.Time
}

// App is a running Parley.
type App struct {
	cfg        Config
	log        *slog.Logger
	DB         *store.DB
	Accounts   *account.Service
	Inbox      *inbox.Service
	Points     *channel.Points
	Skills     *routing.Skills
	Router     *routing.Router
	Scripts    *script.Store
	Automation *automation.Engine
	UI         *ui.Handler
	Templates  *channel.Templates
	Ingress    *ingress.Service
	Outbox     *outbox.Worker
	Hub        *realtime.Hub
	Web        *web.Server
	bridge     *realtime.PGBridge
	listener   net.Listener
	nodeID     string
	stdout     io.Writer
	sandbox    *sandbox
	closer     []func() error
	registry   *channel.Registry
	chat       *chat.Adapter
	flow       *flow
	tap        *automationTap
	demoChatID string
}

// New opens the database (applying migrations), bootstraps the first admin
// and builds every component. Nothing runs until Run.
func New(ctx context.Context, cfg Config, log *slog.Logger, stdout io.Writer) (*App, error) {
	if cfg.Getenv == nil {
		cfg.Getenv = os.Getenv
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.DataDir == "" {
		cfg.DataDir = "parley-data"
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:8080"
	}
	if cfg.Demo && cfg.EmailSMTPAddr == "" {
		// The sandbox's email point of contact receives through Parley's
		// own SMTP receiver, on a free loopback port.
		if ln, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
			cfg.EmailSMTPAddr = ln.Addr().String()
			ln.Close()
		}
	}
	if cfg.CallbackTimeout <= 0 {
		cfg.CallbackTimeout = 30 * time.Second
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	db, err := store.Open(ctx, store.Options{URL: cfg.DatabaseURL, DataDir: cfg.DataDir})
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: log, DB: db, nodeID: store.NewID()}
	if err := a.build(ctx, stdout); err != nil {
		db.Close()
		return nil, err
	}
	return a, nil
}

func (a *App) build(ctx context.Context, stdout io.Writer) error {
	cfg := a.cfg
	key, err := secret.LoadKey(cfg.Getenv, cfg.DataDir)
	if err != nil {
		return err
	}
	box, err := secret.NewBox(key)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Addr, err)
	}
	a.listener = ln
	if a.cfg.PublicURL == "" {
		a.cfg.PublicURL = "http://" + ln.Addr().String()
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	a.Accounts = account.New(a.DB, cfg.Now)
	if cfg.BcryptCost > 0 {
		a.Accounts.BcryptCost = cfg.BcryptCost
	}
	created, pw, err := a.Accounts.Bootstrap(ctx, cfg.AdminEmail, cfg.AdminPassword)
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	if created {
		email := cfg.AdminEmail
		if email == "" {
			email = "admin@localhost"
		}
		if cfg.AdminPassword == "" {
			fmt.Fprintf(stdout, "Created the first administrator: %s with password %s (shown once; change it).\n", email, pw)
		} else {
			fmt.Fprintf(stdout, "Created the first administrator: %s\n", email)
		}
	}

	a.Hub = realtime.NewHub(a.log)
	platformClient := &http.Client{Timeout: 30 * time.Second}
	a.chat = chat.New(chat.Options{Now: cfg.Now, Logger: a.log.With("channel", "chat"), History: chatHistory{a: a},
		Points: func(ctx context.Context, id string) (channel.PointOfContact, error) { return a.Points.Lookup(ctx, id) },
		State:  channel.DBState{DB: a.DB, Now: cfg.Now}, PublicURL: a.cfg.PublicURL, ContinueByEmail: chatEmail{a: a}, OnVisitor: a.rememberVisitor})
	// How soon a new or changed mailbox starts being read.
	pointsInterval := 10 * time.Second
	if cfg.EmailPoll > 0 && cfg.EmailPoll < pointsInterval {
		pointsInterval = cfg.EmailPoll
	}
	registry := channel.NewRegistry(
		byoc.New(&http.Client{Timeout: cfg.CallbackTimeout}, cfg.Now),
		messenger.New(platformClient, cfg.Now),
		instagram.New(platformClient, cfg.Now),
		whatsapp.New(platformClient, cfg.Now),
		a.chat,
		sms.New(platformClient, cfg.Now),
		telegram.New(platformClient, cfg.Now),
		viber.New(platformClient, cfg.Now),
		slack.New(platformClient, cfg.Now),
		xdm.New(platformClient, cfg.Now),
		gbm.New(platformClient, cfg.Now),
		teams.New(platformClient, cfg.Now),
		line.New(platformClient, cfg.Now),
		apple.New(platformClient, cfg.Now),
		email.New(email.Options{Now: cfg.Now, SMTPAddr: cfg.EmailSMTPAddr, Hostname: cfg.Hostname, PollInterval: cfg.EmailPoll, PointsInterval: pointsInterval}),
	)
	a.registry = registry
	a.Points = channel.NewPoints(a.DB, box, registry, cfg.Now)
	a.Skills = routing.NewSkills(a.DB, cfg.Now)
	a.Skills.Hours = validateHours
	a.tap = &automationTap{next: a.Hub, engine: func() *automation.Engine { return a.Automation }, wake: make(chan struct{}, 1)}
	a.Router = routing.New(routing.Options{DB: a.DB, Now: cfg.Now, Publisher: a.tap, Logger: a.log, Hours: businessClock, Tick: cfg.RoutingTick})
	a.flow = newFlow(a.DB, a.Points, a.Router, a.log, cfg.Now)
	engine := &script.Engine{Bots: &script.HTTPBots{Client: netguard.Client(10*time.Second, cfg.AllowPrivateFetch), Lookup: botDirectory, Now: cfg.Now}}
	a.Scripts = script.NewStore(a.DB, engine, cfg.Now)
	a.Templates = channel.NewTemplates(a.DB, registry, cfg.Now)
	a.Outbox = outbox.New(outbox.Options{DB: a.DB, Points: a.Points, Registry: registry, Logger: a.log, Now: cfg.Now, NodeID: a.nodeID,
		MaxAttempts: cfg.MaxAttempts, BaseBackoff: cfg.BaseBackoff, MaxBackoff: cfg.MaxBackoff, Lease: cfg.Lease, Poll: cfg.Poll, Registerer: reg})
	contentPolicy := newContentPolicy(registry)
	replySetsPending := !cfg.ReplyKeepsStatus
	a.Inbox = inbox.New(inbox.Options{DB: a.DB, Now: cfg.Now, Publisher: a.tap, Waker: a.Outbox, Content: contentPolicy, Logger: a.log, ReplySetsPending: &replySetsPending,
		Channels: registry, Templates: a.Templates, Flow: a.flow, Moderators: moderators{points: a.Points, registry: registry},
		GroupCommit: a.DB.Dialect() == store.SQLite, Registerer: reg})
	a.Outbox.SetMessages(a.Inbox)
	a.Automation = automation.New(automation.Options{DB: a.DB, Now: cfg.Now, Logger: a.log, Secrets: box,
		HTTP:     netguard.Client(10*time.Second, cfg.AllowPrivateFetch),
		Applier:  &automationApplier{inbox: a.Inbox, router: a.Router, engine: func() *automation.Engine { return a.Automation }, tap: a.tap},
		Notifier: emailNotifier{log: a.log, addr: cfg.Getenv("PARLEY_NOTIFY_SMTP_ADDR"), from: cfg.Getenv("PARLEY_NOTIFY_FROM")}})
	a.flow.scripts = &scriptRunner{db: a.DB, scripts: a.Scripts, engine: engine, inbox: a.Inbox, router: a.Router, log: a.log, now: cfg.Now}
	blobs := mustBlobs(cfg.DataDir)
	a.Ingress = ingress.New(ingress.Options{Inbox: a.Inbox, Registry: registry, Blobs: blobs,
		Fetch: netguard.Client(60*time.Second, cfg.AllowPrivateFetch), ValidateContent: true})
	a.Web = web.New(web.Deps{DB: a.DB, Accounts: a.Accounts, Inbox: a.Inbox, Points: a.Points, Registry: registry, Skills: a.Skills, Router: a.Router, Scripts: a.Scripts, ScriptEngine: engine, Automation: a.Automation, Templates: a.Templates, Hub: a.Hub,
		Blobs: blobs, Ingress: a.Ingress, Content: contentService(contentPolicy, cfg.AllowPrivateFetch),
		Metrics: reg, Gatherer: reg, Logger: a.log, Now: cfg.Now},
		web.Options{PublicURL: a.cfg.PublicURL, MaxBodyBytes: cfg.MaxBodyBytes, MaxAttachmentBytes: cfg.MaxAttachmentBytes, FileKey: box.DeriveKey("file-urls")})
	a.Inbox.SetAttachmentSigner(a.Web)
	if a.UI, err = ui.New(ui.Deps{DB: a.DB, Accounts: a.Accounts, Inbox: a.Inbox, Points: a.Points, Skills: a.Skills, Router: a.Router,
		Templates: a.Templates, Registry: registry, Scripts: a.Scripts, ScriptEngine: engine, Automation: a.Automation,
		Attachments: a.Ingress, MaxAttachmentBytes: cfg.MaxAttachmentBytes,
		Logger: a.log, Now: cfg.Now}, ui.Options{PublicURL: a.cfg.PublicURL}); err != nil {
		return err
	}
	a.chat.SetIngestor(a.Ingress)
	if a.DB.Dialect() == store.Postgres {
		a.bridge = realtime.NewPGBridge(a.DB.URL(), a.Hub, a.nodeID, a.log)
		a.Hub.SetBroadcaster(a.bridge)
	}
	a.stdout = stdout
	return nil
}

func mustBlobs(dataDir string) *blob.FileStore {
	b, err := blob.NewFileStore(filepath.Join(dataDir, "blobs"))
	if err != nil {
		panic(err) // the data directory was just created writable
	}
	return b
}

// Handler is the whole HTTP surface: the API; the chat widget's endpoints
// (outside the API's cross-origin protection: they are called from the
// business's website and check allowed origins themselves); with --demo,
// the sandbox and the demo website.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	chatHandler := a.chat.Handler()
	mux.Handle("/chat/", chatHandler)
	mux.Handle("/widget.js", chatHandler)
	if a.cfg.Demo {
		mux.HandleFunc("POST /sandbox/byoc", a.sandboxBYOC)
		mux.HandleFunc("POST /sandbox/{channel}/customer", a.sandboxCustomer)
		mux.HandleFunc("GET /sandbox/{channel}/phone", a.sandboxPhone)
		mux.Handle("/demo/site", a.demoSite())
	}
	mux.Handle("/ui/", a.UI)
	mux.Handle("GET /{$}", http.RedirectHandler("/ui/", http.StatusSeeOther))
	mux.Handle("/", a.Web.Handler())
	return mux
}

// Addr is the address the server listens on.
func (a *App) Addr() string { return a.listener.Addr().String() }

// URL is the server's base URL.
func (a *App) URL() string { return "http://" + a.Addr() }

// Run serves until ctx ends, then shuts down gracefully: stops accepting
// requests, lets requests in flight finish, stops the workers.
func (a *App) Run(ctx context.Context) error {
	defer a.DB.Close()
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second,
		ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelWarn)}
	workCtx, stopWork := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	run := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(workCtx); err != nil && !errors.Is(err, context.Canceled) {
				a.log.Error(name+" stopped", "err", err)
			}
		}()
	}
	run("checkpointer", func(ctx context.Context) error { return a.DB.RunCheckpointer(ctx, 500*time.Millisecond) })
	run("inbox", a.Inbox.Run)
	run("search indexer", func(ctx context.Context) error { return a.Inbox.RunSearchIndexer(ctx, 500*time.Millisecond) })
	run("router", a.Router.Run)
	run("flow", a.flow.Run)
	run("sla", a.runSLA)
	run("automation", a.Automation.Run)
	run("automation-events", a.tap.run)
	run("automation-rules", func(ctx context.Context) error { return a.tap.watchRules(ctx, a.DB) })
	for _, typ := range a.registry.Types() {
		adapter, _ := a.registry.Get(typ)
		runner, ok := adapter.(channel.Runner)
		if !ok {
			continue
		}
		typ := typ
		env := channel.RunEnv{
			Points:  func(ctx context.Context) ([]channel.PointOfContact, error) { return a.Points.ListByType(ctx, typ) },
			Ingest:  a.Ingress,
			State:   channel.DBState{DB: a.DB, Now: a.cfg.Now},
			Threads: a.Inbox,
			Logger:  a.log.With("channel", typ),
		}
		run(typ+" receiver", func(ctx context.Context) error { return runner.Run(ctx, env) })
	}
	run("outbox", a.Outbox.Run)
	if a.bridge != nil {
		run("realtime bridge", a.bridge.Run)
	}
	if a.cfg.Demo {
		// After the inbox loop started: demo data goes through the same
		// ingest path as real traffic.
		err := a.SeedDemo(ctx, a.stdout)
		if err == nil {
			var admin *account.User
			if admin, err = a.firstAdmin(ctx); err == nil {
				if err = a.startSandbox(ctx, admin.WorkspaceID, admin.ID); err == nil {
					err = a.startChatDemo(ctx, admin.WorkspaceID, admin.ID)
				}
			}
		}
		if err != nil {
			stopWork()
			wg.Wait()
			return fmt.Errorf("demo data: %w", err)
		}
		fmt.Fprintf(a.stdout, "Sandbox: chat as a website visitor at %s/demo/site, or play the customer on WhatsApp, Messenger, Instagram, SMS, email, Telegram, LINE, Viber, Slack, Teams, X, Apple Messages or Google Business Messages with 'parley sandbox send' (see README).\n", a.PublicURL())
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(a.listener) }()
	a.log.Info("parley serving", "addr", a.Addr(), "public_url", a.cfg.PublicURL, "database", string(a.DB.Dialect()), "data", a.cfg.DataDir)
	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	a.Hub.Close() // ends event streams so Shutdown need not wait for them
	_ = srv.Shutdown(shutdownCtx)
	stopWork()
	wg.Wait()
	if a.bridge != nil {
		_ = a.bridge.Close()
	}
	a.chat.Close()
	for _, c := range a.closer {
		_ = c()
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// PublicURL is the configured public base URL.
func (a *App) PublicURL() string { return strings.TrimRight(a.cfg.PublicURL, "/") }
