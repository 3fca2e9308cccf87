package registry

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/kortstation/kortstation/kiosk/metrics"
)

// Observability for load balancers and Prometheus (issue 17): readiness
// that checks the database, per-endpoint latency histograms, and each
// station's last-seen age. Nothing here carries personal data: stations
// are named by their IDs.

// PathReady is the station API's readiness check: 200 while the database
// answers, 503 otherwise (for a load balancer; /v1/health is liveness).
const PathReady = "/v1/ready"

// readyTimeout bounds the database check of a readiness probe.
const readyTimeout = 2 * time.Second

// observer keeps the registry's request metrics.
type observer struct {
	reg     *metrics.Registry
	latency *metrics.Histogram

	mu     sync.Mutex
	errors map[[2]string]float64 // (endpoint, status) → 5xx answers
}

func newObserver(s *Server) *observer {
	o := &observer{reg: metrics.NewRegistry(), errors: map[[2]string]float64{}}
	o.latency = o.reg.RegisterHistogram("registry_request_duration_seconds",
		"Station API request latency by endpoint (control is a long poll: its time is mostly waiting).", "endpoint", metrics.DefaultLatencyBuckets)
	o.reg.Register("registry_request_errors_total", "Station API answers with a 5xx status, by endpoint and status.", metrics.Counter, func() []metrics.Sample {
		o.mu.Lock()
		defer o.mu.Unlock()
		out := make([]metrics.Sample, 0, len(o.errors))
		for k, n := range o.errors {
			out = append(out, metrics.Sample{Labels: map[string]string{"endpoint": k[0], "status": k[1]}, Value: n})
		}
		return out
	})
	o.reg.Register("registry_up", "1 while the registry's database answers.", metrics.Gauge, metrics.Value(func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
		defer cancel()
		if s.Ready(ctx) != nil {
			return 0
		}
		return 1
	}))
	o.reg.Register("registry_station_last_seen_age_seconds", "Seconds since each station last pushed or pulled.", metrics.Gauge, func() []metrics.Sample {
		ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
		defer cancel()
		seen, err := s.lastSeen(ctx)
		if err != nil {
			s.log.Warn("metrics: stations' last seen", "err", err)
			return nil
		}
		now := s.now()
		out := make([]metrics.Sample, 0, len(seen))
		for id, at := range seen {
			out = append(out, metrics.Sample{Labels: map[string]string{"station": id}, Value: now.Sub(at).Seconds()})
		}
		return out
	})
	return o
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(c int) {
	if w.code == 0 {
		w.code = c
	}
	w.ResponseWriter.WriteHeader(c)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// instrument times h as endpoint.
func (o *observer) instrument(endpoint string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		o.latency.Observe(endpoint, time.Since(start).Seconds())
		if sw.code >= 500 {
			o.mu.Lock()
			o.errors[[2]string{endpoint, strconv.Itoa(sw.code)}]++
			o.mu.Unlock()
		}
	})
}

// Ready reports whether the registry can serve: its database answers a
// read and takes a write lock.
func (s *Server) Ready(ctx context.Context) error {
	var one int
	if err := s.db.reader.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return err
	}
	return s.db.writer.PingContext(ctx)
}

// lastSeen is when each station last pushed or pulled: the database's
// record, or the newer one kept in memory between writes.
func (s *Server) lastSeen(ctx context.Context) (map[string]time.Time, error) {
	rows, err := s.db.reader.QueryContext(ctx, `SELECT id, coalesce(last_seen, '') FROM stations`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var id, at string
		if err := rows.Scan(&id, &at); err != nil {
			return nil, err
		}
		if t, err := time.Parse(time.RFC3339Nano, at); err == nil {
			out[id] = t
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	s.liveMu.Lock()
	for id, st := range s.recent {
		if st.at.After(out[id]) {
			out[id] = st.at
		}
	}
	s.liveMu.Unlock()
	return out, nil
}

// MetricsHandler serves /metrics (Prometheus text format), /readyz and
// /livez, for a separate plain-HTTP listener on the operations network.
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.obs.reg.Handler())
	mux.HandleFunc("GET /readyz", s.handleReady)
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}

// ServeMetrics serves MetricsHandler on ln (plain HTTP) until ctx ends.
func (s *Server) ServeMetrics(ctx context.Context, ln net.Listener) error {
	return serveHTTP(ctx, ln, s.MetricsHandler(), s.log)
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain")
	if err := s.Ready(ctx); err != nil {
		s.log.Warn("not ready: the database does not answer", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("database unavailable\n"))
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}
