package email

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/parleyhq/parley/internal/channel"
)

// MaxRecipients bounds RCPT TO per message on the receiver.
const MaxRecipients = 50

// startReceiver starts Parley's SMTP receiver: it accepts mail for the
// address (and plus-addressed variants) of every point of contact that
// receives by SMTP, and answers 250 only once the message is ingested
// (451 otherwise, so the sending server retries).
func (a *Adapter) startReceiver(ctx context.Context, env channel.RunEnv, ps *pointSet) (*smtp.Server, error) {
	ln := a.opts.SMTPListener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", a.opts.SMTPAddr); err != nil {
			return nil, err
		}
	}
	srv := smtp.NewServer(&backend{a: a, env: env, ps: ps, ctx: ctx})
	srv.Domain = a.opts.Hostname
	if srv.Domain == "" {
		srv.Domain = "localhost"
	}
	srv.MaxMessageBytes = a.opts.MaxMessageBytes
	srv.MaxRecipients = MaxRecipients
	srv.ReadTimeout = 2 * time.Minute
	srv.WriteTimeout = time.Minute
	srv.TLSConfig = a.opts.SMTPTLSConfig
	srv.ErrorLog = slogLogger{env.Logger}
	env.Logger.Info("email: SMTP receiver listening", "addr", ln.Addr().String())
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, smtp.ErrServerClosed) && ctx.Err() == nil {
			env.Logger.Error("email: SMTP receiver stopped", "err", err)
		}
	}()
	return srv, nil
}

type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Printf(format string, v ...any) {
	s.l.Debug("email: smtp receiver", "msg", format, "args", v)
}
func (s slogLogger) Println(v ...any) { s.l.Debug("email: smtp receiver", "args", v) }

type backend struct {
	a   *Adapter
	env channel.RunEnv
	ps  *pointSet
	ctx context.Context
}

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{b: b}, nil
}

type session struct {
	b        *backend
	from     string
	hasFrom  bool
	rcpts    []string
	points   []channel.PointOfContact
	pointIDs map[string]bool
}

func (s *session) Reset() {
	s.from, s.hasFrom, s.rcpts, s.points, s.pointIDs = "", false, nil, nil, nil
}

func (s *session) Logout() error { return nil }

func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	s.Reset()
	s.from, s.hasFrom = strings.ToLower(from), true
	return nil
}

func (s *session) Rcpt(to string, opts *smtp.RcptOptions) error {
	to = strings.ToLower(strings.TrimSpace(to))
	for _, stale := range []bool{false, true} {
		for _, p := range s.b.ps.snapshot(s.b.ctx, stale) {
			c := readConfig(&p)
			if !c.receivesSMTP() || !matchesAddress(c, to) {
				continue
			}
			s.rcpts = append(s.rcpts, to)
			if s.pointIDs == nil {
				s.pointIDs = map[string]bool{}
			}
			if !s.pointIDs[p.ID] {
				s.pointIDs[p.ID] = true
				s.points = append(s.points, p)
			}
			return nil
		}
	}
	return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox here"}
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(io.LimitReader(r, s.b.a.opts.MaxMessageBytes+1))
	if err != nil {
		return err
	}
	if int64(len(raw)) > s.b.a.opts.MaxMessageBytes {
		return smtp.ErrDataTooLarge
	}
	if len(s.points) == 0 {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "no valid recipients"}
	}
	if s.hasFrom {
		// What a final delivery adds: the envelope sender ("<>" for bounces).
		raw = append([]byte("Return-Path: <"+s.from+">\r\n"), raw...)
	}
	m, err := parseMIME(raw, s.b.a.opts.MaxMessageBytes)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "message could not be parsed: " + err.Error()}
	}
	if s.hasFrom && s.from == "" {
		m.Event.Automated = true
	}
	ctx, cancel := context.WithTimeout(s.b.ctx, time.Minute)
	defer cancel()
	for i := range s.points {
		p := &s.points[i]
		if err := s.b.a.ingest(ctx, s.b.env, p, readConfig(p), m, s.rcpts); err != nil {
			s.b.env.Logger.Warn("email: SMTP receiver could not ingest; answering 451", "point_of_contact", p.ID,
				"message_id", m.Event.PlatformMessageID, "err", err)
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "temporarily unable to accept the message, try again later"}
		}
	}
	return nil
}
