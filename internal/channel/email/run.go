package email

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/channel"
)

// Run serves every email point of contact until ctx ends: one IMAP reader
// per point of contact receiving by IMAP, and, when Options.SMTPAddr (or
// SMTPListener) is set, one SMTP receiver for all those receiving by SMTP.
// The points of contact are re-read every PointsInterval: new ones start,
// deleted ones stop, changed ones restart. It returns nil when ctx ends, or
// an error when the SMTP receiver cannot listen.
func (a *Adapter) Run(ctx context.Context, env channel.RunEnv) error {
	if env.Points == nil || env.Ingest == nil || env.State == nil {
		return errors.New("email: RunEnv needs Points, Ingest and State")
	}
	if env.Logger == nil {
		env.Logger = slog.New(slog.DiscardHandler)
	}
	env.Logger = env.Logger.With("channel", Type)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ps := &pointSet{load: env.Points}

	var wg sync.WaitGroup
	if a.opts.SMTPListener != nil || a.opts.SMTPAddr != "" {
		srv, err := a.startReceiver(ctx, env, ps)
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-ctx.Done()
			sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer scancel()
			if err := srv.Shutdown(sctx); err != nil {
				srv.Close()
			}
		}()
	}

	type worker struct {
		fingerprint string
		cancel      context.CancelFunc
		done        chan struct{}
	}
	workers := map[string]*worker{}
	stop := func(id string) {
		w := workers[id]
		w.cancel()
		<-w.done
		delete(workers, id)
	}
	ticker := time.NewTicker(a.opts.PointsInterval)
	defer ticker.Stop()
	for {
		pts, err := ps.refresh(ctx)
		if err != nil && ctx.Err() == nil {
			env.Logger.Warn("email: listing points of contact", "err", err)
		}
		if err == nil {
			seen := map[string]bool{}
			for i := range pts {
				poc := pts[i]
				c := readConfig(&poc)
				if !c.receivesIMAP() || c.imapHost == "" {
					continue
				}
				seen[poc.ID] = true
				fp := fingerprint(c)
				if w, ok := workers[poc.ID]; ok {
					if w.fingerprint == fp {
						continue
					}
					stop(poc.ID)
				}
				wctx, wcancel := context.WithCancel(ctx)
				w := &worker{fingerprint: fp, cancel: wcancel, done: make(chan struct{})}
				workers[poc.ID] = w
				go func() {
					defer close(w.done)
					a.runIMAP(wctx, env, &poc)
				}()
			}
			for id := range workers {
				if !seen[id] {
					stop(id)
				}
			}
		}
		select {
		case <-ctx.Done():
			for id := range workers {
				stop(id)
			}
			wg.Wait()
			return nil
		case <-ticker.C:
		}
	}
}

func fingerprint(c config) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%#v", c)))
	return string(sum[:])
}

// pointSet is the runner's current list of points of contact, shared with
// the SMTP receiver (which refreshes it early when a recipient is unknown).
type pointSet struct {
	load func(ctx context.Context) ([]channel.PointOfContact, error)

	mu     sync.Mutex
	points []channel.PointOfContact
	at     time.Time
}

func (ps *pointSet) refresh(ctx context.Context) ([]channel.PointOfContact, error) {
	pts, err := ps.load(ctx)
	if err != nil {
		return nil, err
	}
	var mine []channel.PointOfContact
	for _, p := range pts {
		if p.Type == "" || p.Type == Type {
			mine = append(mine, p)
		}
	}
	ps.mu.Lock()
	ps.points, ps.at = mine, time.Now()
	ps.mu.Unlock()
	return mine, nil
}

// snapshot returns the points; stale asks for a refresh first when the
// list is older than two seconds.
func (ps *pointSet) snapshot(ctx context.Context, stale bool) []channel.PointOfContact {
	ps.mu.Lock()
	pts, at := ps.points, ps.at
	ps.mu.Unlock()
	// Mail for an unknown address re-reads the points of contact (a mailbox
	// created a moment ago), at most four times a second so spam to
	// unknown addresses cannot hammer the database.
	if stale && time.Since(at) > 250*time.Millisecond {
		if fresh, err := ps.refresh(ctx); err == nil {
			return fresh
		}
	}
	return pts
}

// ingest threads a parsed message for one point of contact and hands it
// to the core. Mail from the point of contact's own address (its sent
// copies) is skipped.
func (a *Adapter) ingest(ctx context.Context, env channel.RunEnv, poc *channel.PointOfContact, c config, m *Message, envelope []string) error {
	if matchesAddress(c, m.Event.AuthorID) {
		env.Logger.Debug("email: skipping mail from our own address", "point_of_contact", poc.ID, "message_id", m.Event.PlatformMessageID)
		return nil
	}
	tid, err := a.resolveThread(ctx, env.Threads, c, m, envelope)
	if err != nil {
		return fmt.Errorf("email: threading: %w", err)
	}
	ev := m.Event
	ev.ThreadID = tid
	ev.Attachments = append([]channel.InboundAttachment(nil), ev.Attachments...)
	var refused []string
	for {
		_, err := env.Ingest.Ingest(ctx, poc, []channel.InboundEvent{ev})
		if err == nil {
			return nil
		}
		// The core refused a file (executable, too large, empty): the
		// message goes in without it, named in the text, rather than
		// being refused for ever. Any other error is returned, and the
		// message is tried again later, whole.
		i, ok := refusedAttachment(err, len(ev.Attachments))
		if !ok {
			return err
		}
		if i < 0 {
			for _, at := range ev.Attachments {
				refused = append(refused, at.Name)
			}
			ev.Attachments = nil
		} else {
			refused = append(refused, ev.Attachments[i].Name)
			ev.Attachments = append(ev.Attachments[:i:i], ev.Attachments[i+1:]...)
		}
		env.Logger.Warn("email: an attachment was refused; ingesting without it", "point_of_contact", poc.ID,
			"message_id", ev.PlatformMessageID, "err", err)
		ev.Text = strings.TrimSpace(m.Event.Text + "\n\n[Attachments not kept: " + strings.Join(refused, ", ") + "]")
	}
}

var attachmentFieldRE = regexp.MustCompile(`^attachments\[(\d+)\]`)

// refusedAttachment tells whether the core refused one of n attachments:
// its index, or -1 when it cannot tell which (a size limit).
func refusedAttachment(err error, n int) (int, bool) {
	if n == 0 {
		return 0, false
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return -1, true
	}
	if sub := attachmentFieldRE.FindStringSubmatch(err.Error()); sub != nil {
		if i, e := strconv.Atoi(sub[1]); e == nil && i < n {
			return i, true
		}
	}
	return 0, false
}

// sleep waits d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
