// Package mailtest runs real mail servers on loopback for tests and the
// demo: an SMTP server (go-smtp) that records what it is sent, and an IMAP
// server (go-imap's imapmemserver) holding mailboxes messages are appended
// to. Both optionally speak TLS with a throw-away self-signed certificate.
package mailtest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Cert is a self-signed certificate for 127.0.0.1, ::1 and localhost.
type Cert struct {
	// Server serves with the certificate.
	Server *tls.Config
	// Client trusts only the certificate.
	Client *tls.Config
}

// NewCert makes a fresh certificate valid for a day.
func NewCert() (*Cert, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "mailtest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return &Cert{
		Server: &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}}, MinVersion: tls.VersionTLS12},
		Client: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
	}, nil
}

// Received is one message an SMTPServer accepted.
type Received struct {
	From     string
	To       []string
	Data     []byte
	Username string // who authenticated, "" if nobody
}

// SMTPOptions configure an SMTPServer.
type SMTPOptions struct {
	// Addr to listen on (default 127.0.0.1:0).
	Addr string
	// TLS, when set, enables STARTTLS; with Implicit the listener is TLS.
	TLS      *tls.Config
	Implicit bool
	// Username and Password, when set, are required (AUTH PLAIN).
	Username, Password string
	// Reject, when set, may refuse a message at DATA (e.g. a 451 or 550).
	Reject func(r Received) *smtp.SMTPError
}

// SMTPServer records what it is sent.
type SMTPServer struct {
	Addr string
	opts SMTPOptions
	srv  *smtp.Server

	mu       sync.Mutex
	messages []Received
	notify   chan struct{}
}

// StartSMTP starts an SMTP server on loopback.
func StartSMTP(opts SMTPOptions) (*SMTPServer, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, err
	}
	if opts.Implicit && opts.TLS != nil {
		ln = tls.NewListener(ln, opts.TLS)
	}
	s := &SMTPServer{Addr: ln.Addr().String(), opts: opts, notify: make(chan struct{})}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &smtpSession{s: s}, nil }))
	s.srv.Domain = "mailtest.local"
	s.srv.AllowInsecureAuth = true
	s.srv.MaxMessageBytes = 50 << 20
	if !opts.Implicit {
		s.srv.TLSConfig = opts.TLS
	}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the server.
func (s *SMTPServer) Close() error { return s.srv.Close() }

// Messages returns what was received so far.
func (s *SMTPServer) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.messages...)
}

// Wait returns once at least n messages were received, or ctx ends.
func (s *SMTPServer) Wait(ctx context.Context, n int) ([]Received, error) {
	for {
		s.mu.Lock()
		msgs, ch := append([]Received(nil), s.messages...), s.notify
		s.mu.Unlock()
		if len(msgs) >= n {
			return msgs, nil
		}
		select {
		case <-ctx.Done():
			return msgs, ctx.Err()
		case <-ch:
		}
	}
}

type smtpSession struct {
	s    *SMTPServer
	cur  Received
	user string
}

func (ss *smtpSession) AuthMechanisms() []string {
	if ss.s.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *smtpSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != ss.s.opts.Username || password != ss.s.opts.Password {
			return smtp.ErrAuthFailed
		}
		ss.user = username
		return nil
	}), nil
}

func (ss *smtpSession) Mail(from string, opts *smtp.MailOptions) error {
	if ss.s.opts.Username != "" && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	ss.cur = Received{From: from, Username: ss.user}
	return nil
}

func (ss *smtpSession) Rcpt(to string, opts *smtp.RcptOptions) error {
	ss.cur.To = append(ss.cur.To, to)
	return nil
}

func (ss *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.cur.Data = b
	if ss.s.opts.Reject != nil {
		if e := ss.s.opts.Reject(ss.cur); e != nil {
			return e
		}
	}
	ss.s.mu.Lock()
	ss.s.messages = append(ss.s.messages, ss.cur)
	close(ss.s.notify)
	ss.s.notify = make(chan struct{})
	ss.s.mu.Unlock()
	return nil
}

func (ss *smtpSession) Reset()        { ss.cur = Received{} }
func (ss *smtpSession) Logout() error { return nil }

// IMAPOptions configure an IMAPServer.
type IMAPOptions struct {
	// Addr to listen on (default 127.0.0.1:0).
	Addr string
	// Username and Password of the one user (defaults "user", "password").
	Username, Password string
	// Mailboxes to create (default INBOX).
	Mailboxes []string
	// TLS, when set, enables STARTTLS; with Implicit the listener is TLS.
	TLS      *tls.Config
	Implicit bool
}

// IMAPServer is an in-memory IMAP server with one user.
type IMAPServer struct {
	Addr     string
	Username string
	Password string

	user *imapmemserver.User
	srv  *imapserver.Server
	ln   net.Listener
}

// StartIMAP starts an IMAP server on loopback.
func StartIMAP(opts IMAPOptions) (*IMAPServer, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.Username == "" {
		opts.Username, opts.Password = "user", "password"
	}
	if len(opts.Mailboxes) == 0 {
		opts.Mailboxes = []string{"INBOX"}
	}
	mem := imapmemserver.New()
	user := imapmemserver.NewUser(opts.Username, opts.Password)
	for _, m := range opts.Mailboxes {
		if err := user.Create(m, nil); err != nil {
			return nil, err
		}
	}
	mem.AddUser(user)
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, err
	}
	sopts := &imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		InsecureAuth: true,
		Logger:       discardLogger{},
	}
	if opts.TLS != nil {
		if opts.Implicit {
			ln = tls.NewListener(ln, opts.TLS)
		} else {
			sopts.TLSConfig = opts.TLS
		}
	}
	s := &IMAPServer{Addr: ln.Addr().String(), Username: opts.Username, Password: opts.Password, user: user, srv: imapserver.New(sopts), ln: ln}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}

// Append adds a message to a mailbox and returns its UID.
func (s *IMAPServer) Append(mailbox string, raw []byte) (imap.UID, error) {
	raw = bytes.ReplaceAll(bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
	data, err := s.user.Append(mailbox, literal{bytes.NewReader(raw), int64(len(raw))}, &imap.AppendOptions{Time: time.Now()})
	if err != nil {
		return 0, err
	}
	return data.UID, nil
}

// Recreate deletes and creates a mailbox again: it is empty, and its
// UIDVALIDITY changes.
func (s *IMAPServer) Recreate(mailbox string) error {
	if err := s.user.Delete(mailbox); err != nil && !strings.Contains(err.Error(), "No such mailbox") {
		return err
	}
	return s.user.Create(mailbox, nil)
}

// UIDValidity returns a mailbox's UIDVALIDITY.
func (s *IMAPServer) UIDValidity(mailbox string) (uint32, error) {
	st, err := s.user.Status(mailbox, &imap.StatusOptions{UIDValidity: true})
	if err != nil {
		return 0, err
	}
	return st.UIDValidity, nil
}

// Close stops the server.
func (s *IMAPServer) Close() error {
	err := s.srv.Close()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

type literal struct {
	*bytes.Reader
	size int64
}

func (l literal) Size() int64 { return l.size }
