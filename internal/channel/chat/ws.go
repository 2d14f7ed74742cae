package chat

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/parleyhq/parley/internal/channel"
)

const (
	writeTimeout       = 10 * time.Second
	pingInterval       = 25 * time.Second
	ingestTimeout      = 15 * time.Second
	maxConnsPerVisitor = 20
	maxKnownIDs        = 2000
)

// wsConn is one widget's WebSocket with what it may mark read.
type wsConn struct {
	*conn
	mu    sync.Mutex
	known map[string]bool // outbound message ids shown to it → read sent
}

func (c *wsConn) markKnown(ids ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.known)+len(ids) > maxKnownIDs {
		c.known = map[string]bool{}
	}
	for _, id := range ids {
		if _, ok := c.known[id]; !ok {
			c.known[id] = false
		}
	}
}

// readOnce reports whether id was shown to this widget and not yet marked read.
func (c *wsConn) readOnce(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	read, ok := c.known[id]
	if !ok || read {
		return false
	}
	c.known[id] = true
	return true
}

func (a *Adapter) serveWS(w http.ResponseWriter, r *http.Request, p *point) {
	s, ok := a.visitorSession(r, p)
	if !ok {
		writeError(w, http.StatusUnauthorized, "session expired")
		return
	}
	if a.hub.count(p.poc.ID, s.VisitorID) >= maxConnsPerVisitor {
		writeError(w, http.StatusTooManyRequests, "too many open chats for this visitor")
		return
	}
	// The Origin was checked by withPoint against the allowed origins.
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	ws.SetReadLimit(MaxFrameBytes)
	c := &wsConn{conn: &conn{send: make(chan []byte, connBuffer), done: make(chan struct{})}, known: map[string]bool{}}
	c.conn.onPush = c.markKnown
	if !a.hub.attach(p.poc, s, c.conn) {
		ws.Close(websocket.StatusTryAgainLater, "busy")
		return
	}
	defer a.hub.detach(p.poc.ID, s.VisitorID, c.conn)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()

	// History first: the widget merges it by id with what it has.
	hist, err := a.loadHistory(ctx, p.poc.ID, s.VisitorID, historyLimit)
	if err == nil {
		ids := make([]string, 0, len(hist))
		for _, m := range hist {
			if m.Direction != "inbound" {
				ids = append(ids, m.ID)
			}
		}
		c.markKnown(ids...)
		c.push(encodeFrame(outFrame{Type: "history", Messages: hist}))
	}

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.writeLoop(ctx, ws, c.conn)
		cancel()
	}()
	a.readLoop(ctx, ws, p, s, c, r)
	c.close("closed")
	wg.Wait()
}

func (a *Adapter) writeLoop(ctx context.Context, ws *websocket.Conn, c *conn) {
	ping := time.NewTicker(pingInterval)
	defer ping.Stop()
	for {
		select {
		case <-c.done:
			code := websocket.StatusNormalClosure
			if c.reason == "too slow" {
				code = websocket.StatusPolicyViolation
			}
			ws.Close(code, c.reason)
			return
		case <-ctx.Done():
			ws.CloseNow()
			return
		case b := <-c.send:
			wctx, cancel := context.WithTimeout(ctx, writeTimeout)
			err := ws.Write(wctx, websocket.MessageText, b)
			cancel()
			if err != nil {
				c.close("write failed")
				ws.CloseNow()
				return
			}
		case <-ping.C:
			pctx, cancel := context.WithTimeout(ctx, writeTimeout)
			err := ws.Ping(pctx)
			cancel()
			if err != nil {
				c.close("ping failed")
				ws.CloseNow()
				return
			}
		}
	}
}

func (a *Adapter) readLoop(ctx context.Context, ws *websocket.Conn, p *point, s session, c *wsConn, r *http.Request) {
	ip := a.clientIP(r)
	vkey := p.poc.ID + "\x00" + s.VisitorID
	typingOn := false
	var lastTyping time.Time
	for {
		typ, data, err := ws.Read(ctx)
		if err != nil {
			return
		}
		if typ != websocket.MessageText {
			c.close("text frames only")
			return
		}
		f, err := ParseFrame(data, p.s.MaxMessageLength)
		if err != nil {
			c.push(encodeFrame(outFrame{Type: "error", Error: err.Error()}))
			continue
		}
		switch f.Type {
		case "message", "form":
			if !a.visitorMsgs.allow(vkey) || !a.ipMsgs.allow(ip) {
				c.push(encodeFrame(outFrame{Type: "error", ClientID: f.ClientID, Error: "rate_limited"}))
				continue
			}
			a.receive(ctx, p, s, c, f)
		case "typing":
			now := a.now()
			if a.onTyping == nil || (f.On == typingOn && now.Sub(lastTyping) < 3*time.Second) {
				continue
			}
			if !a.visitorMsgs.allow(vkey + "\x00typing") {
				continue
			}
			typingOn, lastTyping = f.On, now
			a.onTyping(ctx, p.poc, s.VisitorID, f.On)
		case "read":
			if !c.readOnce(f.MessageID) {
				continue
			}
			ing := a.ingestor()
			if ing == nil {
				continue
			}
			ictx, cancel := context.WithTimeout(ctx, ingestTimeout)
			_, err := ing.Ingest(ictx, p.poc, []channel.InboundEvent{{Kind: channel.EventStatus, ThreadID: s.VisitorID, StatusMessageID: f.MessageID, Status: "read"}})
			cancel()
			if err != nil && !errors.Is(err, context.Canceled) {
				a.log.Warn("chat: read receipt", "point_of_contact", p.poc.ID, "err", err)
			}
		}
	}
}

// receive stores a visitor message or form, acknowledges it, and shows it
// in the visitor's other tabs.
func (a *Adapter) receive(ctx context.Context, p *point, s session, c *wsConn, f Frame) {
	ing := a.ingestor()
	if ing == nil {
		c.push(encodeFrame(outFrame{Type: "error", ClientID: f.ClientID, Error: "unavailable"}))
		return
	}
	now := a.now()
	ev := inboundEvent(f, s, now)
	ictx, cancel := context.WithTimeout(ctx, ingestTimeout)
	res, err := ing.Ingest(ictx, p.poc, []channel.InboundEvent{ev})
	cancel()
	if err == nil && (len(res) != 1 || res[0].Err != nil) {
		err = errors.Join(errors.New("chat: ingest result"), firstErr(res))
	}
	if err != nil {
		a.log.Warn("chat: ingest", "point_of_contact", p.poc.ID, "err", err)
		c.push(encodeFrame(outFrame{Type: "error", ClientID: f.ClientID, Error: "not_stored"}))
		return
	}
	c.push(encodeFrame(outFrame{Type: "ack", ClientID: f.ClientID, MessageID: res[0].MessageID}))
	if res[0].Duplicate {
		return
	}
	mf := messageFrame{ID: res[0].MessageID, ClientID: f.ClientID, Direction: "inbound", AuthorType: "contact",
		Text: ev.Text, ChoiceID: ev.ChoiceID, Status: "received", CreatedAt: now.UTC()}
	a.hub.broadcast(p.poc.ID, s.VisitorID, encodeMessage(mf), c.conn)
}
