// Package web serves the station's touchscreen UI: the embedded static
// files, /healthz, /metrics and one websocket endpoint carrying typed JSON
// messages in a versioned envelope.
//
// Every request must name an allowed Host (a guard against DNS rebinding,
// since the UI listens on loopback) and a websocket upgrade must come from an
// allowed Origin; anything else gets 403.
package web

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/kortstation/kortstation/kiosk/bus"
	"github.com/kortstation/kortstation/kiosk/metrics"
)

// Station is what the web layer needs of the station behind it.
type Station interface {
	// Snapshot is the full UI state as client may see it, sent on connect:
	// personal data only to the connection that holds the operator's
	// session.
	Snapshot(ctx context.Context, client string) any
	// Handle answers one request from a client. A *problem.Problem error
	// is shown to the user as it is; any other error is logged and shown as
	// an internal error.
	Handle(ctx context.Context, client string, typ string, payload json.RawMessage) (any, error)
	// Health reports the station's health for /healthz.
	Health(ctx context.Context) (ok bool, detail any)
}

// Config configures the server.
type Config struct {
	AllowedHosts   []string
	AllowedOrigins []string
	MaxMessage     int64         // largest websocket message accepted
	PingInterval   time.Duration // websocket keep-alive
	Static         fs.FS         // the UI files
	// Token, when set, is the per-boot secret every websocket must present
	// (as the subprotocol "kortstation.token.<token>"): only the kiosk
	// browser, which was handed it, may use the UI channel. Empty means no
	// token is asked for (development only; config refuses it otherwise).
	Token string
}

// Subprotocol is the websocket subprotocol of the UI channel; the token,
// when required, travels as a second one: TokenPrefix + token.
const (
	Subprotocol = "kortstation.v1"
	TokenPrefix = "kortstation.token."
)

// Server is the HTTP side of the station.
type Server struct {
	cfg     Config
	station Station
	bus     *bus.Bus
	log     *slog.Logger
	hosts   map[string]bool
	origins map[string]bool
	up      websocket.Upgrader

	mu      sync.Mutex
	clients map[*client]struct{}
	closing bool
	wg      sync.WaitGroup

	msgsIn, msgsOut, rejected atomic.Uint64
}

// New returns a server for station, forwarding every event on b to every
// connected UI.
func New(cfg Config, station Station, b *bus.Bus, log *slog.Logger, reg *metrics.Registry) *Server {
	s := &Server{
		cfg: cfg, station: station, bus: b, log: log.With("component", "web"),
		hosts: map[string]bool{}, origins: map[string]bool{}, clients: map[*client]struct{}{},
	}
	for _, h := range cfg.AllowedHosts {
		s.hosts[h] = true
	}
	for _, o := range cfg.AllowedOrigins {
		s.origins[o] = true
	}
	s.up = websocket.Upgrader{
		HandshakeTimeout: 5 * time.Second,
		CheckOrigin:      func(r *http.Request) bool { return s.origins[r.Header.Get("Origin")] },
		Subprotocols:     []string{Subprotocol},
	}
	if reg != nil {
		reg.Register("kiosk_ws_clients", "Connected UI websockets.", metrics.Gauge, metrics.Value(func() float64 {
			s.mu.Lock()
			defer s.mu.Unlock()
			return float64(len(s.clients))
		}))
		reg.Register("kiosk_ws_messages_in_total", "Websocket messages received.", metrics.Counter, metrics.Value(func() float64 { return float64(s.msgsIn.Load()) }))
		reg.Register("kiosk_ws_messages_out_total", "Websocket messages sent.", metrics.Counter, metrics.Value(func() float64 { return float64(s.msgsOut.Load()) }))
		reg.Register("kiosk_http_rejected_total", "Requests refused for a foreign Host or Origin.", metrics.Counter, metrics.Value(func() float64 { return float64(s.rejected.Load()) }))
	}
	return s
}

// Handler is the station's HTTP handler.
func (s *Server) Handler(reg *metrics.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /", staticHandler(s.cfg.Static))
	mux.HandleFunc("GET /healthz", s.healthz)
	if reg != nil {
		mux.Handle("GET /metrics", reg.Handler())
	}
	mux.HandleFunc("GET /ws", s.serveWS)
	return s.guardHost(securityHeaders(mux))
}

func (s *Server) guardHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.hosts[r.Host] {
			s.rejected.Add(1)
			s.log.Warn("refused request for a foreign Host", "host", r.Host, "path", r.URL.Path, "remote", r.RemoteAddr)
			http.Error(w, "forbidden: unknown Host", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

func staticHandler(files fs.FS) http.Handler {
	if files == nil {
		return http.NotFoundHandler()
	}
	return http.FileServer(http.FS(files))
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	ok, detail := s.station.Health(ctx)
	w.Header().Set("Content-Type", "application/json")
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": ok, "detail": detail})
}

// Shutdown closes every websocket with a "going away" reason and waits for
// their handlers to finish.
func (s *Server) Shutdown(ctx context.Context, reason string) error {
	s.mu.Lock()
	s.closing = true
	cs := make([]*client, 0, len(s.clients))
	for c := range s.clients {
		cs = append(cs, c)
	}
	s.mu.Unlock()
	for _, c := range cs {
		c.close(websocket.CloseGoingAway, reason)
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return errors.New("web: websockets still open at shutdown deadline")
	}
}
