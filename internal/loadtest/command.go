package loadtest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

// Target is a running server to load.
type Target struct {
	// InboundURL is its BYOC inbound endpoint and Token a valid bearer
	// token for it.
	InboundURL, Token string
	// Close stops the server; nil if there is nothing to stop.
	Close func() error
}

// TargetStarter starts a Parley server with its data in dataDir (a fresh,
// empty directory) and a BYOC point of contact to post to.
type TargetStarter func(ctx context.Context, dataDir string) (Target, error)

const usageText = `Usage: parley load [flags]

Posts BYOC inbound messages to Parley with concurrent clients and reports the
acknowledged messages per second, acknowledgement latency (p50, p90, p99,
max) and errors by kind. Only 2xx answers count as acknowledged.

Without --url it starts its own Parley on a fresh temporary data directory
(SQLite), creates a BYOC point of contact, loads it, and removes the
directory afterwards.

Flags:
  --url URL          BYOC inbound endpoint of an already running server,
                     e.g. http://127.0.0.1:8080/api/v1/byoc/<id>/messages
                     (needs --token)
  --token TOKEN      bearer token of that point of contact
  --clients N        concurrent clients, each with one request in flight
                     (default 16)
  --duration D       how long to post, e.g. 10s, 1m; 0 = until --messages
                     (default 10s)
  --messages N       stop after N messages; 0 = no limit (default 0)
  --threads N        distinct threads (one author each) the messages are
                     spread over (default 1000)
  --warmup D         post for D first, on the same threads, without
                     counting it (default 1s; 0 = none)
  --text TEXT        the text of every message
  --baseline         also load a bare baseline in the same run: a minimal
                     net/http server that inserts each body into SQLite (same
                     settings as Parley) in its own transaction; same
                     clients, duration and warm-up, its own temporary
                     directory. Prints both reports and
                     "ratio parley/baseline: R" (msgs/s over msgs/s)
  -h, --help         show this help

Exit status: 0 on success, 1 if a run failed (for example nothing was
acknowledged), 2 for bad flags.
`

type commandFlags struct {
	url, token string
	clients    int
	duration   time.Duration
	messages   int
	threads    int
	warmup     time.Duration
	text       string
	baseline   bool
}

// Command runs `parley load` with args (the flags, without the command
// name) and returns the exit status. startParley starts the server to load
// when --url is not given.
func Command(ctx context.Context, args []string, stdout, stderr io.Writer, startParley TargetStarter) int {
	f, err := parseFlags(args)
	if errors.Is(err, flag.ErrHelp) {
		io.WriteString(stdout, usageText)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "parley load: %v\n\n%s", err, usageText)
		return 2
	}

	fmt.Fprintf(stdout, "parley load: %d clients, %s, %s, %d threads, warm-up %s\n",
		f.clients, describeDuration(f.duration), describeMessages(f.messages), f.threads, f.warmup)

	target := Target{InboundURL: f.url, Token: f.token}
	name := "parley"
	if f.url == "" {
		if startParley == nil {
			fmt.Fprintln(stderr, "parley load: no server to start here; give --url and --token")
			return 1
		}
		dir, err := os.MkdirTemp("", "parley-load-*")
		if err != nil {
			fmt.Fprintf(stderr, "parley load: %v\n", err)
			return 1
		}
		defer os.RemoveAll(dir)
		target, err = startParley(ctx, dir)
		if err != nil {
			fmt.Fprintf(stderr, "parley load: starting parley: %v\n", err)
			return 1
		}
	}
	rep, runErr := measure(ctx, f, target.InboundURL, target.Token)
	if target.Close != nil {
		if err := target.Close(); err != nil {
			fmt.Fprintf(stderr, "parley load: stopping parley: %v\n", err)
		}
	}
	fmt.Fprintf(stdout, "\n== %s ==\n%s", name, rep)
	if err := runFailed(rep, runErr); err != nil {
		fmt.Fprintf(stderr, "parley load: %s: %v\n", name, err)
		return 1
	}
	if !f.baseline {
		return 0
	}

	base, baseErr := runBaseline(ctx, f)
	fmt.Fprintf(stdout, "\n== baseline (net/http + SQLite, one transaction per message) ==\n%s", base)
	if err := runFailed(base, baseErr); err != nil {
		fmt.Fprintf(stderr, "parley load: baseline: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "\nratio parley/baseline: %.2f\n", rep.MsgsPerSec/base.MsgsPerSec)
	return 0
}

func parseFlags(args []string) (commandFlags, error) {
	var f commandFlags
	fs := flag.NewFlagSet("parley load", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // Command prints the errors and the usage
	fs.StringVar(&f.url, "url", "", "")
	fs.StringVar(&f.token, "token", "", "")
	fs.IntVar(&f.clients, "clients", 16, "")
	fs.DurationVar(&f.duration, "duration", 10*time.Second, "")
	fs.IntVar(&f.messages, "messages", 0, "")
	fs.IntVar(&f.threads, "threads", DefaultThreads, "")
	fs.DurationVar(&f.warmup, "warmup", time.Second, "")
	fs.StringVar(&f.text, "text", DefaultBodyText, "")
	fs.BoolVar(&f.baseline, "baseline", false, "")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	switch {
	case fs.NArg() > 0:
		return f, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case f.clients < 1:
		return f, errors.New("--clients must be at least 1")
	case f.duration < 0, f.messages < 0, f.warmup < 0:
		return f, errors.New("--duration, --messages and --warmup cannot be negative")
	case f.duration == 0 && f.messages == 0:
		return f, errors.New("give a --duration or a number of --messages")
	case f.threads < 1:
		return f, errors.New("--threads must be at least 1")
	case f.url != "" && f.token == "":
		return f, errors.New("--url needs --token")
	case f.url == "" && f.token != "":
		return f, errors.New("--token needs --url")
	case f.text == "":
		return f, errors.New("--text cannot be empty")
	}
	return f, nil
}

// measure warms the target up, then runs the measured load on the same
// threads.
func measure(ctx context.Context, f commandFlags, url, token string) (Report, error) {
	opts := Options{
		InboundURL:  url,
		Token:       token,
		Clients:     f.clients,
		Duration:    f.duration,
		MaxMessages: f.messages,
		Threads:     f.threads,
		BodyText:    f.text,
		RunID:       randomID(),
	}
	if f.warmup > 0 {
		w := opts
		w.Duration, w.MaxMessages = f.warmup, 0
		if _, err := Run(ctx, w); err != nil {
			return Report{Target: url, Clients: f.clients}, fmt.Errorf("warm-up: %w", err)
		}
	}
	return Run(ctx, opts)
}

func runBaseline(ctx context.Context, f commandFlags) (Report, error) {
	dir, err := os.MkdirTemp("", "parley-load-baseline-*")
	if err != nil {
		return Report{}, err
	}
	defer os.RemoveAll(dir)
	b, err := StartBaseline(ctx, dir)
	if err != nil {
		return Report{}, err
	}
	rep, err := measure(ctx, f, b.URL, b.Token)
	return rep, errors.Join(err, b.Close())
}

func runFailed(r Report, err error) error {
	switch {
	case err != nil:
		return err
	case r.Acked == 0:
		return errors.New("no message was acknowledged")
	}
	return nil
}

func describeDuration(d time.Duration) string {
	if d == 0 {
		return "no time limit"
	}
	return d.String()
}

func describeMessages(n int) string {
	if n == 0 {
		return "no message limit"
	}
	return fmt.Sprintf("at most %d messages", n)
}
