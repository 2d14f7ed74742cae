// Command byoc-wechat connects a WeChat Official Account to Parley through
// BYOC ("bring your own channel"). It receives the account's messages at
// /wechat (the server URL set in WeChat's console) and posts them to Parley's
// BYOC API; it receives Parley's signed callbacks at /parley and sends them
// with WeChat's customer-service message API, refusing (with a reason Parley
// shows the agent) what WeChat would refuse: replies more than 48 hours after
// the customer's last message, or more than 5 per customer message.
//
// It uses only the Go standard library. Configuration is by flags or
// environment; run it with -h for the list, and see README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/parleyhq/parley/examples/byoc-wechat/bridge"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run starts the middleware and blocks until ctx is cancelled. Logs go to
// stdout; configuration errors and usage to stderr. It returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := bridge.LoadConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stderr, "byoc-wechat: %s\n", line)
		}
		return 2
	}
	log := slog.New(slog.NewTextHandler(stdout, nil))
	b, err := bridge.New(cfg, bridge.Options{Log: log})
	if err != nil {
		fmt.Fprintf(stderr, "byoc-wechat: %v\n", err)
		return 2
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		fmt.Fprintf(stderr, "byoc-wechat: %v\n", err)
		return 1
	}
	base := "http://" + ln.Addr().String()
	log.Info("listening", "addr", ln.Addr().String(),
		"wechat_server_url", base+bridge.WeChatPath, "parley_callback_url", base+bridge.CallbackPath,
		"parley", cfg.ParleyURL, "point_of_contact_id", cfg.PointOfContactID, "wechat_api", cfg.WeChatAPIURL,
		"encrypted_mode", cfg.EncodingAESKey != "", "reply_window", cfg.ReplyWindow, "reply_limit", cfg.ReplyLimit,
		"enforce_policy", cfg.EnforcePolicy)
	if err := b.Serve(ctx, ln); err != nil {
		log.Error("server stopped", "err", err)
		return 1
	}
	log.Info("stopped")
	return 0
}
