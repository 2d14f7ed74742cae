package email

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-message"
	"github.com/parleyhq/parley/internal/channel"
)

// State keys of an IMAP point of contact (channel.StateStore).
const (
	StateUIDValidity = "uidvalidity"
	StateLastUID     = "last_uid"
	StateMailbox     = "mailbox"
)

// runIMAP reads one point of contact's mailbox until ctx ends,
// reconnecting with exponential backoff after errors.
func (a *Adapter) runIMAP(ctx context.Context, env channel.RunEnv, poc *channel.PointOfContact) {
	log := env.Logger.With("point_of_contact", poc.ID)
	backoff := time.Second
	for ctx.Err() == nil {
		started := time.Now()
		err := a.imapSession(ctx, env, poc)
		if ctx.Err() != nil {
			return
		}
		if time.Since(started) > 2*time.Minute {
			backoff = time.Second
		}
		log.Warn("email: IMAP session ended, reconnecting", "err", err, "in", backoff)
		if !sleep(ctx, backoff) {
			return
		}
		backoff = min(backoff*2, a.opts.MaxBackoff)
	}
}

// imapSession is one connection: log in, examine the mailbox, ingest what
// is new, then wait for more (IDLE or polling) and repeat.
func (a *Adapter) imapSession(ctx context.Context, env channel.RunEnv, poc *channel.PointOfContact) error {
	c := readConfig(poc)
	notify := make(chan struct{}, 1)
	opts := &imapclient.Options{
		TLSConfig: a.tlsConfig(c.imapHost),
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					select {
					case notify <- struct{}{}:
					default:
					}
				}
			},
		},
	}
	cl, err := a.dialIMAP(ctx, c, opts)
	if err != nil {
		return err
	}
	defer cl.Close()
	stop := context.AfterFunc(ctx, func() { cl.Close() })
	defer stop()

	if err := cl.Login(c.imapUser, c.imapPass).Wait(); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	caps, err := cl.Capability().Wait()
	if err != nil {
		return err
	}
	sel, err := cl.Select(c.mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return fmt.Errorf("examine %s: %w", c.mailbox, err)
	}
	last, err := a.position(ctx, env, cl, c, sel)
	if err != nil {
		return err
	}
	useIdle := !a.opts.DisableIDLE && caps.Has(imap.CapIdle)
	for {
		if last, err = a.fetchNew(ctx, env, cl, poc, c, last); err != nil {
			return err
		}
		if useIdle {
			idle, err := cl.Idle()
			if err != nil {
				return fmt.Errorf("idle: %w", err)
			}
			t := time.NewTimer(a.opts.IdleRefresh)
			select {
			case <-notify:
			case <-t.C:
			case <-ctx.Done():
			case <-cl.Closed():
			}
			t.Stop()
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err := idle.Close(); err != nil {
				return fmt.Errorf("idle: %w", err)
			}
			if err := idle.Wait(); err != nil {
				return fmt.Errorf("idle: %w", err)
			}
		} else if !sleep(ctx, a.opts.PollInterval) {
			return ctx.Err()
		} else if err := cl.Noop().Wait(); err != nil {
			return err
		}
	}
}

func (a *Adapter) dialIMAP(ctx context.Context, c config, opts *imapclient.Options) (*imapclient.Client, error) {
	addr := net.JoinHostPort(strings.Trim(c.imapHost, "[]"), strconv.Itoa(c.imapPort))
	dctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	conn, err := a.opts.Dial(dctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	var cl *imapclient.Client
	switch c.imapTLS {
	case TLSNone:
		cl = imapclient.New(conn, opts)
	case TLSStart:
		cl, err = imapclient.NewStartTLS(conn, opts)
	default:
		tconn := tls.Client(conn, opts.TLSConfig)
		if err = tconn.HandshakeContext(dctx); err == nil {
			cl = imapclient.New(tconn, opts)
		}
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	if err := cl.WaitGreeting(); err != nil {
		cl.Close()
		return nil, err
	}
	return cl, nil
}

// position returns the last UID already ingested. A first run starts from
// the beginning of the mailbox; a changed UIDVALIDITY (or mailbox) starts
// from the current UIDNEXT, so old mail is never read again.
func (a *Adapter) position(ctx context.Context, env channel.RunEnv, cl *imapclient.Client, c config, sel *imap.SelectData) (imap.UID, error) {
	storedUV, err := env.State.Load(ctx, c.pocID, StateUIDValidity)
	if err != nil {
		return 0, err
	}
	storedMbox, err := env.State.Load(ctx, c.pocID, StateMailbox)
	if err != nil {
		return 0, err
	}
	lastStr, err := env.State.Load(ctx, c.pocID, StateLastUID)
	if err != nil {
		return 0, err
	}
	uv := strconv.FormatUint(uint64(sel.UIDValidity), 10)
	if storedUV == uv && (storedMbox == "" || storedMbox == c.mailbox) {
		last, _ := strconv.ParseUint(lastStr, 10, 32)
		return imap.UID(last), nil
	}
	var last imap.UID
	if storedUV != "" {
		next := sel.UIDNext
		if next == 0 {
			data, err := cl.Fetch(imap.UIDSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true}).Collect()
			if err != nil {
				return 0, err
			}
			for _, m := range data {
				next = max(next, m.UID+1)
			}
		}
		if next > 0 {
			last = next - 1
		}
		env.Logger.Warn("email: mailbox UIDVALIDITY changed; continuing with new mail only", "point_of_contact", c.pocID,
			"mailbox", c.mailbox, "old", storedUV, "new", uv)
	}
	if err := env.State.Save(ctx, c.pocID, StateLastUID, strconv.FormatUint(uint64(last), 10)); err != nil {
		return 0, err
	}
	if err := env.State.Save(ctx, c.pocID, StateMailbox, c.mailbox); err != nil {
		return 0, err
	}
	if err := env.State.Save(ctx, c.pocID, StateUIDValidity, uv); err != nil {
		return 0, err
	}
	return last, nil
}

// fetchNew ingests every message with a UID above last, in UID order,
// saving the position after each ingest.
func (a *Adapter) fetchNew(ctx context.Context, env channel.RunEnv, cl *imapclient.Client, poc *channel.PointOfContact, c config, last imap.UID) (imap.UID, error) {
	list, err := cl.Fetch(imap.UIDSet{{Start: last + 1, Stop: 0}}, &imap.FetchOptions{UID: true, RFC822Size: true}).Collect()
	if err != nil {
		return last, fmt.Errorf("fetch: %w", err)
	}
	// "n:*" always matches the last message, even below n.
	list = slices.DeleteFunc(list, func(m *imapclient.FetchMessageBuffer) bool { return m.UID <= last })
	slices.SortFunc(list, func(x, y *imapclient.FetchMessageBuffer) int { return int(x.UID) - int(y.UID) })
	for _, item := range list {
		if ctx.Err() != nil {
			return last, ctx.Err()
		}
		raw, err := a.fetchRaw(cl, item.UID, item.RFC822Size)
		if err != nil {
			return last, err
		}
		m, err := parseMIME(raw, a.opts.MaxMessageBytes)
		if err != nil {
			// Parsing is deterministic: retrying cannot help.
			env.Logger.Warn("email: skipping unreadable message", "point_of_contact", c.pocID, "uid", item.UID, "err", err)
		} else if err := a.ingest(ctx, env, poc, c, m, nil); err != nil {
			return last, fmt.Errorf("ingest uid %d: %w", item.UID, err)
		}
		last = item.UID
		if err := env.State.Save(ctx, c.pocID, StateLastUID, strconv.FormatUint(uint64(last), 10)); err != nil {
			return last, err
		}
	}
	return last, nil
}

// fetchRaw reads one message without marking it seen. A message over
// MaxMessageBytes is replaced by its header and a note.
func (a *Adapter) fetchRaw(cl *imapclient.Client, uid imap.UID, size int64) ([]byte, error) {
	section := &imap.FetchItemBodySection{Peek: true}
	tooLarge := size > a.opts.MaxMessageBytes
	if tooLarge {
		section.Specifier = imap.PartSpecifierHeader
	}
	data, err := cl.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		return nil, fmt.Errorf("fetch uid %d: %w", uid, err)
	}
	for _, m := range data {
		if m.UID != uid {
			continue
		}
		raw := m.FindBodySection(section)
		if raw == nil {
			return nil, fmt.Errorf("fetch uid %d: no body returned", uid)
		}
		if tooLarge {
			return headerWithNote(raw, fmt.Sprintf("(This message is %d MiB, more than Parley accepts: read it in the mailbox.)", size>>20)), nil
		}
		return raw, nil
	}
	return nil, fmt.Errorf("fetch uid %d: message not returned", uid)
}

// headerWithNote makes a text/plain message of a header and a note.
func headerWithNote(header []byte, note string) []byte {
	e, err := message.Read(bytes.NewReader(header))
	if e == nil {
		return append(header, []byte("\r\n"+note+"\r\n")...)
	}
	_ = err
	h := e.Header
	h.Del("Content-Transfer-Encoding")
	h.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
	var buf bytes.Buffer
	w, err := message.CreateWriter(&buf, h)
	if err != nil {
		return append(header, []byte("\r\n"+note+"\r\n")...)
	}
	_, _ = w.Write([]byte(note + "\r\n"))
	_ = w.Close()
	return buf.Bytes()
}
