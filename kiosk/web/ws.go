package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"

	"github.com/kortstation/kortstation/kiosk/problem"
)

const (
	writeWait   = 5 * time.Second
	sendBacklog = 64
)

type client struct {
	id   string
	conn *websocket.Conn
	out  chan []byte
	once sync.Once
	done chan struct{}
	// closeMsg is the close frame to send when done closes.
	closeMu  sync.Mutex
	closeMsg []byte
}

// send queues b; a client whose queue is full is disconnected (it reconnects
// and resumes from a snapshot).
func (c *client) send(b []byte) {
	select {
	case c.out <- b:
	case <-c.done:
	default:
		c.close(websocket.CloseTryAgainLater, "too slow; reconnect")
	}
}

func (c *client) close(code int, reason string) {
	c.once.Do(func() {
		c.closeMu.Lock()
		c.closeMsg = websocket.FormatCloseMessage(code, reason)
		c.closeMu.Unlock()
		close(c.done)
	})
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	if !s.origins[r.Header.Get("Origin")] {
		s.rejected.Add(1)
		s.log.Warn("refused websocket from a foreign Origin", "origin", r.Header.Get("Origin"), "remote", r.RemoteAddr)
		http.Error(w, "forbidden: unknown Origin", http.StatusForbidden)
		return
	}
	if !s.tokenOK(r) {
		s.rejected.Add(1)
		s.log.Warn("refused websocket without the kiosk's token", "remote", r.RemoteAddr)
		http.Error(w, "forbidden: this screen is not the station's kiosk", http.StatusForbidden)
		return
	}
	s.mu.Lock()
	closing := s.closing
	s.mu.Unlock()
	if closing {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	conn, err := s.up.Upgrade(w, r, nil)
	if err != nil {
		s.log.Warn("websocket upgrade failed", "err", err)
		return
	}
	c := &client{id: uuid.NewString()[:8], conn: conn, out: make(chan []byte, sendBacklog), done: make(chan struct{})}
	conn.SetReadLimit(s.cfg.MaxMessage)
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "shutting down"), time.Now().Add(writeWait))
		conn.Close()
		return
	}
	s.clients[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	log := s.log.With("client", c.id)
	log.Info("ui connected", "remote", r.RemoteAddr)

	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer func() {
		cancel()
		s.mu.Lock()
		delete(s.clients, c)
		s.mu.Unlock()
		s.wg.Done()
	}()

	sub := s.bus.Subscribe(256)
	defer sub.Close()

	hello, err := encode(TypeHello, "", s.station.Snapshot(ctx, c.id))
	if err != nil {
		log.Error("encode hello", "err", err)
		conn.Close()
		return
	}
	c.out <- hello

	var writerDone sync.WaitGroup
	writerDone.Add(1)
	go func() {
		defer writerDone.Done()
		s.writeLoop(c)
	}()
	// Forward bus events.
	go func() {
		for {
			select {
			case ev, ok := <-sub.C:
				if !ok {
					c.close(websocket.CloseTryAgainLater, "event backlog overflow; reconnect")
					return
				}
				b, err := encode(TypeEvent, "", map[string]any{"seq": ev.Seq, "topic": ev.Topic, "at": ev.At, "data": ev.Data})
				if err != nil {
					log.Error("encode event", "topic", ev.Topic, "err", err)
					continue
				}
				c.send(b)
			case <-c.done:
				return
			}
		}
	}()

	s.readLoop(ctx, c, log)
	c.close(websocket.CloseNormalClosure, "")
	writerDone.Wait()
	log.Info("ui disconnected")
}

// tokenOK reports whether the upgrade request presents the kiosk's token
// (or none is required). The comparison takes the same time whatever the
// guess.
func (s *Server) tokenOK(r *http.Request) bool {
	if s.cfg.Token == "" {
		return true
	}
	want := []byte(TokenPrefix + s.cfg.Token)
	ok := false
	for _, p := range websocket.Subprotocols(r) {
		if subtle.ConstantTimeCompare([]byte(p), want) == 1 {
			ok = true
		}
	}
	return ok
}

func (s *Server) readLoop(ctx context.Context, c *client, log interface {
	Warn(string, ...any)
	Error(string, ...any)
}) {
	pongWait := 2*s.cfg.PingInterval + writeWait
	_ = c.conn.SetReadDeadline(time.Now().Add(pongWait))
	c.conn.SetPongHandler(func(string) error { return c.conn.SetReadDeadline(time.Now().Add(pongWait)) })
	for {
		_, data, err := c.conn.ReadMessage()
		if err != nil {
			switch {
			case errors.Is(err, websocket.ErrReadLimit):
				log.Warn("websocket message over the size limit; closing", "limit", s.cfg.MaxMessage)
				c.close(websocket.CloseMessageTooBig, fmt.Sprintf("message larger than %d bytes", s.cfg.MaxMessage))
			case websocket.IsUnexpectedCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived):
				log.Warn("websocket read", "err", err)
			}
			return
		}
		_ = c.conn.SetReadDeadline(time.Now().Add(pongWait))
		s.msgsIn.Add(1)
		env, err := decodeEnvelope(data)
		if err != nil {
			log.Warn("refused websocket message", "err", err)
			s.reply(c, TypeError, env.ID, err)
			continue
		}
		res, err := s.station.Handle(ctx, c.id, env.Type, env.Payload)
		if err != nil {
			var p *problem.Problem
			if !errors.As(err, &p) {
				log.Error("request failed", "type", env.Type, "err", err)
			}
			s.reply(c, TypeError, env.ID, err)
			continue
		}
		s.reply(c, TypeReply, env.ID, res)
	}
}

// reply sends a reply or an error. An error that is not a *problem.Problem
// (or does not wrap one) is shown as a generic internal error; its text
// stays in the log.
func (s *Server) reply(c *client, typ, id string, v any) {
	if err, ok := v.(error); ok {
		var p *problem.Problem
		if !errors.As(err, &p) {
			p = problem.Internal
		}
		v = p
	}
	b, err := encode(typ, id, v)
	if err != nil {
		s.log.Error("encode reply", "err", err)
		return
	}
	c.send(b)
}

func (s *Server) writeLoop(c *client) {
	ping := time.NewTicker(s.cfg.PingInterval)
	defer ping.Stop()
	defer c.conn.Close()
	for {
		select {
		case b := <-c.out:
			_ = c.conn.SetWriteDeadline(time.Now().Add(writeWait))
			if err := c.conn.WriteMessage(websocket.TextMessage, b); err != nil {
				c.close(websocket.CloseAbnormalClosure, "")
				return
			}
			s.msgsOut.Add(1)
		case <-ping.C:
			if err := c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				c.close(websocket.CloseAbnormalClosure, "")
				return
			}
		case <-c.done:
			c.closeMu.Lock()
			msg := c.closeMsg
			c.closeMu.Unlock()
			_ = c.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(writeWait))
			return
		}
	}
}
