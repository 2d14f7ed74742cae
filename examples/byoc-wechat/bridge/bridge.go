// Package bridge is a Parley BYOC middleware for WeChat Official Accounts:
// it receives the account's messages (signed XML pushes) and posts them to
// Parley's BYOC API, and it receives Parley's signed callbacks and sends them
// with WeChat's customer-service message API, within WeChat's reply window.
// The command in the parent directory runs it; see README.md there.
package bridge

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Paths the middleware serves.
const (
	WeChatPath   = "/wechat" // the server URL to set in WeChat's console
	CallbackPath = "/parley" // the BYOC point of contact's callback_url
	HealthPath   = "/healthz"
)

// Options are the parts of a Bridge tests replace.
type Options struct {
	Log *slog.Logger
	// Now is the clock of the WeChat side: the reply window, the freshness
	// of WeChat's signed timestamps and the access token's expiry (tests
	// give it the fake WeChat's clock). nil means time.Now.
	Now func() time.Time
	// ParleyNow is the clock for checking Parley's callback signatures; nil
	// means time.Now.
	ParleyNow func() time.Time
	// Policy replaces the reply-window policy made from the config.
	Policy *Policy
	// HTTP calls WeChat and Parley; nil means a client with a 30 s timeout.
	HTTP *http.Client
	// RetryAfter is what Parley is asked to wait on temporary failures
	// (see CallbackHandler.RetryAfter).
	RetryAfter time.Duration
	// QueueSize bounds the messages waiting to be posted to Parley
	// (default 1024).
	QueueSize int
}

// Bridge is the middleware, ready to serve.
type Bridge struct {
	WeChat *WeChatClient
	Parley *ParleyClient
	Policy *Policy

	cfg     Config
	log     *slog.Logger
	work    chan Message
	handler http.Handler
}

// New builds the middleware. Nothing runs until Serve (or, when the caller
// serves Handler itself, RunForwarder).
func New(cfg Config, opts Options) (*Bridge, error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	parleyNow := opts.ParleyNow
	if parleyNow == nil {
		parleyNow = time.Now
	}
	hc := opts.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	var crypto *Crypto
	if cfg.EncodingAESKey != "" {
		var err error
		if crypto, err = NewCrypto(cfg.EncodingAESKey, cfg.AppID); err != nil {
			return nil, err
		}
	}
	policy := opts.Policy
	if policy == nil {
		policy = NewPolicy(cfg.ReplyWindow, cfg.ReplyLimit, now)
		policy.Disabled = !cfg.EnforcePolicy
	}
	queue := opts.QueueSize
	if queue <= 0 {
		queue = 1024
	}
	b := &Bridge{
		WeChat: NewWeChatClient(cfg.WeChatAPIURL, cfg.AppID, cfg.AppSecret, hc, now, log),
		// Ten tries span about a minute and a half of Parley being away.
		Parley: &ParleyClient{BaseURL: cfg.ParleyURL, PointOfContactID: cfg.PointOfContactID, Token: cfg.ParleyToken, HTTP: hc, Log: log,
			MaxAttempts: 10},
		Policy: policy,
		cfg:    cfg,
		log:    log,
		work:   make(chan Message, queue),
	}
	mux := http.NewServeMux()
	mux.Handle(WeChatPath, &WeChatHandler{
		Token:  cfg.WeChatToken,
		Crypto: crypto,
		Now:    now,
		Seen:   NewSeenSet(10_000),
		Policy: policy,
		Work:   b.work,
		Log:    log,
	})
	mux.Handle("POST "+CallbackPath, &CallbackHandler{
		Secret: []byte(cfg.ParleySecret),
		Now:    parleyNow,
		Ledger: NewLedger(10_000),
		Sender: &Sender{WeChat: b.WeChat, Policy: policy, Files: hc},
		Parley: b.Parley,
		Log:    log,
		// Parley waits 30 s for a callback by default.
		SendTimeout: cfg.SendTimeout,
		RetryAfter:  opts.RetryAfter,
	})
	mux.HandleFunc("GET "+HealthPath, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	b.handler = mux
	return b, nil
}

// Handler serves WeChatPath, CallbackPath and HealthPath.
func (b *Bridge) Handler() http.Handler { return b.handler }

// RunForwarder posts queued WeChat messages to Parley until stopping is
// closed (it then finishes the queue) or ctx ends (it abandons it).
func (b *Bridge) RunForwarder(ctx context.Context, stopping <-chan struct{}) {
	(&Forwarder{Parley: b.Parley, Log: b.log}).Run(ctx, b.work, stopping)
}

// Serve serves on ln until ctx ends, then stops cleanly: it finishes the
// requests in progress and posts what is queued for Parley (for up to
// 10 seconds).
func (b *Bridge) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           b.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      b.cfg.SendTimeout + 30*time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	workerCtx, cancelWorker := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWorker()
	stopping := make(chan struct{})
	workerDone := make(chan struct{})
	go func() {
		defer close(workerDone)
		b.RunForwarder(workerCtx, stopping)
	}()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
	}
	b.log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if serr := srv.Shutdown(shutdownCtx); serr != nil && err == nil {
		err = serr
	}
	close(stopping)
	select {
	case <-workerDone:
	case <-shutdownCtx.Done():
		cancelWorker() // give up on the rest of the queue
		<-workerDone
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
