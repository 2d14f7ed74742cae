// Command byoc-echo is a minimal Parley BYOC ("bring your own channel")
// middleware. Parley POSTs every outbound message of a BYOC point of contact
// to its callback URL; byoc-echo verifies the signature, answers with its own
// message id, reports the message delivered and sends "echo: <text>" back to
// Parley as if the customer had answered, on the same thread.
//
// It uses only the Go standard library; copy it and replace the echo with
// calls to your platform. See docs/byoc.md.
//
// Configuration (environment):
//
//	PARLEY_URL          Parley's base URL, e.g. http://127.0.0.1:8080
//	PARLEY_POC_ID       the BYOC point of contact's id
//	PARLEY_BYOC_TOKEN   its token ("byoc_…"), to call Parley
//	PARLEY_BYOC_SECRET  its secret ("whsec_…"), to verify Parley's callbacks
//	ECHO_ADDR           where to listen (default 127.0.0.1:9090); the callback is POST /parley
//
// PARLEY_BYOC_TOKEN_FILE and PARLEY_BYOC_SECRET_FILE may name files holding
// the secrets instead.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

type config struct {
	parleyURL string
	pocID     string
	token     string
	secret    string
	addr      string
}

func loadConfig(getenv func(string) string) (config, error) {
	c := config{
		parleyURL: strings.TrimRight(strings.TrimSpace(getenv("PARLEY_URL")), "/"),
		pocID:     strings.TrimSpace(getenv("PARLEY_POC_ID")),
		addr:      strings.TrimSpace(getenv("ECHO_ADDR")),
	}
	if c.addr == "" {
		c.addr = "127.0.0.1:9090"
	}
	var errs []error
	var err error
	if c.token, err = secretSetting(getenv, "PARLEY_BYOC_TOKEN"); err != nil {
		errs = append(errs, err)
	}
	if c.secret, err = secretSetting(getenv, "PARLEY_BYOC_SECRET"); err != nil {
		errs = append(errs, err)
	}
	if c.parleyURL == "" {
		errs = append(errs, errors.New("PARLEY_URL is required (e.g. http://127.0.0.1:8080)"))
	} else if u, err := url.Parse(c.parleyURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("PARLEY_URL %q is not an http(s) URL", c.parleyURL))
	}
	if c.pocID == "" {
		errs = append(errs, errors.New("PARLEY_POC_ID is required"))
	}
	return c, errors.Join(errs...)
}

// secretSetting reads NAME, or the file named by NAME_FILE.
func secretSetting(getenv func(string) string, name string) (string, error) {
	if v := strings.TrimSpace(getenv(name)); v != "" {
		return v, nil
	}
	if f := strings.TrimSpace(getenv(name + "_FILE")); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("%s_FILE: %w", name, err)
		}
		if v := strings.TrimSpace(string(b)); v != "" {
			return v, nil
		}
		return "", fmt.Errorf("%s_FILE: %s is empty", name, f)
	}
	return "", fmt.Errorf("%s (or %s_FILE) is required", name, name)
}

// run starts the middleware and blocks until ctx is cancelled. Logs go to
// stdout; configuration errors to stderr. It returns the process exit code.
func run(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := loadConfig(getenv)
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stderr, "byoc-echo: %s\n", line)
		}
		return 2
	}
	log := slog.New(slog.NewTextHandler(stdout, nil))

	parley := &ParleyClient{
		BaseURL:          cfg.parleyURL,
		PointOfContactID: cfg.pocID,
		Token:            cfg.token,
		HTTP:             &http.Client{Timeout: 30 * time.Second},
		Log:              log,
	}
	work := make(chan Callback, 1024)
	mux := http.NewServeMux()
	mux.Handle("POST /parley", &CallbackHandler{
		Secret: []byte(cfg.secret),
		Seen:   NewSeenSet(10_000),
		Work:   work,
		Log:    log,
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		fmt.Fprintf(stderr, "byoc-echo: %v\n", err)
		return 1
	}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}

	// The echoes are sent by one worker with its own context, so that on
	// shutdown it can finish what was already acknowledged to Parley.
	workerCtx, cancelWorker := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWorker()
	stopping := make(chan struct{})
	workerDone := make(chan struct{})
	go func() {
		defer close(workerDone)
		(&Echoer{Parley: parley, Log: log}).Run(workerCtx, work, stopping)
	}()

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "callback", "http://"+ln.Addr().String()+"/parley",
		"parley", cfg.parleyURL, "point_of_contact_id", cfg.pocID)

	code := 0
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		log.Error("server stopped", "err", err)
		code = 1
	}

	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Error("shutdown", "err", err)
		code = 1
	}
	close(stopping)
	select {
	case <-workerDone:
	case <-shutdownCtx.Done():
		cancelWorker() // give up on the rest of the queue
		<-workerDone
	}
	log.Info("stopped")
	return code
}
